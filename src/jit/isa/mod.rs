//! The ISA backends of tier 1. Each folder implements `MacroAssembler` for one architecture and
//! is the only code that knows its encodings. Every backend is built on every host (`dynasm!`
//! assembles for any architecture), so code for another ISA can be produced and inspected
//! anywhere; only the host's can run.

mod aarch64;
mod x64;

use super::Options;
use super::masm::Assembled;
use crate::module::ModuleInner;
use crate::tier::compiler::CompileError;
use crate::vm::frame::FrameLayout;

/// An instruction set tier 1 compiles for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 (System V).
    X64,
    /// AArch64 (AAPCS64).
    Aarch64,
}

impl Isa {
    /// The ISA's name, as `std::env::consts::ARCH` spells it (`tierup explore --target` takes
    /// it).
    pub fn name(self) -> &'static str {
        match self {
            Isa::X64 => "x86_64",
            Isa::Aarch64 => "aarch64",
        }
    }

    /// The ISA named `name`: [`Isa::name`], or `x64`/`arm64`.
    pub fn from_name(name: &str) -> Option<Isa> {
        match name {
            "x86_64" | "x64" => Some(Isa::X64),
            "aarch64" | "arm64" => Some(Isa::Aarch64),
            _ => None,
        }
    }

    /// The machine tierup runs on, when tier 1 has a backend for it.
    pub fn host() -> Option<Isa> {
        if cfg!(target_arch = "x86_64") {
            Some(Isa::X64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Isa::Aarch64)
        } else {
            None
        }
    }
}

/// Compiles a function for `isa`, whatever the host: the code runs only on that ISA.
pub fn compile_for(
    isa: Isa,
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &FrameLayout,
    options: Options,
) -> Result<Assembled, CompileError> {
    use super::codegen::compile;
    match isa {
        Isa::X64 => {
            let masm = x64::X64Masm::new(options.bounds);
            compile(masm, module, func_index, body, layout, options)
        }
        Isa::Aarch64 => aarch64::compile(module, func_index, body, layout, options),
    }
}

/// Compiles a function for the machine tierup runs on.
pub fn compile_host(
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &FrameLayout,
    options: Options,
) -> Result<Assembled, CompileError> {
    match Isa::host() {
        Some(isa) => compile_for(isa, module, func_index, body, layout, options),
        None => Err(CompileError::Unsupported(format!("tier 1 on {}", std::env::consts::ARCH))),
    }
}

/// The out-of-line trap stubs a function needs, one label per trap code, made on first use and
/// emitted by the backend's `finish` (each loads its status and jumps to the trap exit). Shared
/// bookkeeping of both backends' `MacroAssembler::trap_label`.
#[derive(Debug, Default)]
pub(super) struct TrapStubs(Vec<(crate::vm::TrapCode, dynasmrt::DynamicLabel)>);

impl TrapStubs {
    /// The label of `code`'s stub, making it with `new_label` the first time.
    pub(super) fn label(
        &mut self,
        code: crate::vm::TrapCode,
        new_label: impl FnOnce() -> dynasmrt::DynamicLabel,
    ) -> dynasmrt::DynamicLabel {
        if let Some((_, label)) = self.0.iter().find(|(c, _)| *c == code) {
            return *label;
        }
        let label = new_label();
        self.0.push((code, label));
        label
    }

    /// Every stub made, in order of first use; the table is left empty.
    pub(super) fn take(&mut self) -> Vec<(crate::vm::TrapCode, dynasmrt::DynamicLabel)> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::masm::HeapBounds;
    use crate::{Engine, Module};

    /// Explicit bounds checks, no counting: the code golden tests expect.
    pub(crate) fn test_options() -> Options {
        Options {
            bounds: HeapBounds::Explicit,
            counting: false,
            budget_checks: false,
            call_weight: 10,
            back_edge_weight: 1,
            back_edge_chunk: 1,
            record_offsets: false,
        }
    }

    /// Every defined function of `wat` compiled for `isa`, whatever the host.
    fn compile_all(isa: Isa, wat: &str) -> Vec<Vec<u8>> {
        let module = Module::new(&Engine::default(), wat).unwrap();
        let inner = &module.inner;
        let binary = wat::parse_str(wat).unwrap();
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&binary) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let defined = out.len();
                let func_index = inner.num_imported_funcs + defined as u32;
                let layout = &crate::tier::interp_code(inner, defined as u32).unwrap().layout;
                out.push(
                    compile_for(isa, inner, func_index, &body, layout, test_options())
                        .unwrap()
                        .code,
                );
            }
        }
        out
    }

    const MIXED: &str = r#"(module (memory 1) (global $g (mut i64) (i64.const 0))
        (func $fib (param i32) (result i32)
          (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
            (then (local.get 0))
            (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                           (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
        (func (param i32 i64) (result i64)
          (global.set $g (i64.popcnt (local.get 1)))
          (block $a (block $b (block $c
            (br_table $a $b $c (local.get 0)))
            (return (i64.rem_s (local.get 1) (i64.const -1))))
            (return (i64.div_u (local.get 1) (i64.extend_i32_u (local.get 0)))))
          (i64.store offset=70000 (local.get 0) (i64.const 0x123456789))
          (i64.load32_s (local.get 0))))"#;

    #[test]
    fn the_aarch64_backend_compiles_whole_functions_on_any_host() {
        let code = compile_all(Isa::Aarch64, MIXED);
        let text: String =
            code.iter().map(|f| aarch64::tests::disassemble_bytes(f)).collect::<Vec<_>>().join("");
        assert!(!text.contains('<'), "undecodable words:\n{text}");
        for expected in ["blr x16", "sdiv", "msub", "udiv", "cnt v31.8b", "br x16", "ldursw"] {
            assert!(text.contains(expected), "no `{expected}` in:\n{text}");
        }
    }

    #[test]
    fn an_increment_compiles_to_this_aarch64_code() {
        let code = compile_all(
            Isa::Aarch64,
            "(module (func (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))",
        );
        let text = aarch64::tests::disassemble_bytes(&code[0]);
        let body: Vec<&str> = text.lines().skip(17).take(4).collect();
        assert_eq!(body, ["ldr w9, [x20]", "add w9, w9, #0x1", "str x9, [x20]", "mov w0, wzr"]);
    }

    #[test]
    fn aarch64_functions_beyond_the_reach_of_conditional_branches_compile_with_far_ones() {
        // A forward `br_if` over more than 1 MiB of code: `cbnz` cannot reach its target.
        let step = "(local.set 0 (i32.add (local.get 0) (i32.const 1)))";
        let wat = format!(
            "(module (func (param i32) (result i32) (block (br_if 0 (local.get 0)) {}) (local.get 0)))",
            step.repeat(100_000)
        );
        let code = compile_all(Isa::Aarch64, &wat);
        assert!(code[0].len() > 1 << 20, "{} bytes", code[0].len());
        // The near form is refused by the assembler, not silently truncated.
        let module = Module::new(&Engine::default(), &wat).unwrap();
        let binary = wat::parse_str(&wat).unwrap();
        let body = wasmparser::Parser::new(0)
            .parse_all(&binary)
            .find_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(body) => Some(body),
                _ => None,
            })
            .unwrap();
        let near = aarch64::Aarch64Masm::new(false);
        let layout = &crate::tier::interp_code(&module.inner, 0).unwrap().layout;
        let result =
            super::super::codegen::compile(near, &module.inner, 0, &body, layout, test_options());
        let result = result.map(|c| c.code.len());
        assert!(matches!(result, Err(CompileError::Internal(_))), "{result:?}");
    }

    #[test]
    fn the_x64_backend_compiles_whole_functions_on_any_host() {
        let code = compile_all(Isa::X64, MIXED);
        assert!(code.iter().all(|f| !f.is_empty()));
    }
}
