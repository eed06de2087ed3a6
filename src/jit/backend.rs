//! Tier 1's backends: the code generator over each ISA's `MacroAssembler`, for the host or, for
//! reading (`tierup explore`), any ISA.

use super::Options;
use super::codegen::compile;
use crate::isa::Isa;
use crate::isa::aarch64::Aarch64Masm;
use crate::isa::masm::Assembled;
use crate::isa::x64::X64Masm;
use crate::module::ModuleInner;
use crate::tier::compiler::CompileError;
use crate::vm::frame::FrameLayout;

/// Compiles a function for `isa`, whatever the host: the code runs only on that ISA.
pub fn compile_for(
    isa: Isa,
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &FrameLayout,
    options: Options,
) -> Result<Assembled, CompileError> {
    match isa {
        Isa::X64 => {
            let masm = X64Masm::new(options.bounds);
            compile(masm, module, func_index, body, layout, options)
        }
        Isa::Aarch64 => compile_aarch64(module, func_index, body, layout, options),
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

/// Compiles a function for aarch64 (on any host). Conditional branches reach +-1 MiB; a function
/// whose code outgrows that fails to assemble and is compiled again with every conditional branch
/// made far. Stores are always checked explicitly, whatever `options.bounds` asks (see the
/// backend's module documentation).
fn compile_aarch64(
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &FrameLayout,
    options: Options,
) -> Result<Assembled, CompileError> {
    let near = Aarch64Masm::with_bounds(false, options.bounds);
    compile(near, module, func_index, body, layout, options).or_else(|near| match near {
        CompileError::Internal(_) => {
            let far = Aarch64Masm::with_bounds(true, options.bounds);
            compile(far, module, func_index, body, layout, options)
        }
        unsupported => Err(unsupported),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::aarch64;
    use crate::isa::masm::HeapBounds;
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
            guest_profile: false,
        }
    }

    /// Every defined function of `wat` compiled for `isa`, whatever the host.
    fn compile_all(isa: Isa, wat: &str) -> Vec<Vec<u8>> {
        compile_all_with(isa, wat, test_options())
    }

    /// [`compile_all`] with `options`.
    fn compile_all_with(isa: Isa, wat: &str, options: Options) -> Vec<Vec<u8>> {
        let module = Module::new(&Engine::default(), wat).unwrap();
        let inner = &module.inner;
        let binary = wat::parse_str(wat).unwrap();
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&binary) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let defined = out.len();
                let func_index = inner.num_imported_funcs + defined as u32;
                let layout = &crate::tier::interp_code(inner, defined as u32).unwrap().layout;
                out.push(compile_for(isa, inner, func_index, &body, layout, options).unwrap().code);
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

    /// The guest profiler's bookkeeping (`vm::profile`) is in the code only when asked for: a push
    /// after the prologue, the loop header's rewrite of the top entry, a pop before the return.
    #[test]
    fn guest_profiling_code_is_emitted_only_when_asked() {
        const LOOP: &str = "(module (func (param i32) (result i32)
            (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
            (local.get 0)))";
        let profiled = Options { guest_profile: true, ..test_options() };
        let x64 = |options| {
            let code = compile_all_with(Isa::X64, LOOP, options).remove(0);
            let mut decoder = iced_x86::Decoder::new(64, &code, iced_x86::DecoderOptions::NONE);
            let mut text = String::new();
            let mut formatter = iced_x86::IntelFormatter::new();
            for instruction in &mut decoder {
                iced_x86::Formatter::format(&mut formatter, &instruction, &mut text);
                text.push('\n');
            }
            text
        };
        let (plain, with) = (x64(test_options()), x64(profiled));
        let entry_offset = crate::vm::profile::PROFILE_ENTRIES_OFFSET;
        let entry_writes = format!("[rax+rcx*8+{entry_offset}]");
        // Two halves of the pushed entry; the loop header's upper half at `+0Ch`.
        assert_eq!(with.matches(&entry_writes).count(), 1, "{with}");
        assert_eq!(with.matches("[rax+rcx*8+").count(), 3, "{with}");
        assert!(with.contains("sub qword ptr [rax],1"), "no pop in:\n{with}");
        assert!(!plain.contains("rcx*8"), "profiling code without profiling:\n{plain}");
        let a64 = |options| {
            let code = compile_all_with(Isa::Aarch64, LOOP, options).remove(0);
            aarch64::tests::disassemble_bytes(&code)
        };
        let (plain, with) = (a64(test_options()), a64(profiled));
        assert!(!with.contains('<'), "undecodable words:\n{with}");
        assert_eq!(with.matches("stlr x17, [x16]").count(), 1, "{with}");
        assert!(with.contains("str w17, [x16, #0xc]"), "no loop header rewrite in:\n{with}");
        assert!(!plain.contains("stlr"), "profiling code without profiling:\n{plain}");
    }

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
        let body: Vec<&str> = text.lines().skip(13).take(4).collect();
        assert_eq!(body, ["ldr w9, [x20]", "add w9, w9, #0x1", "str x9, [x20]", "mov w0, wzr"]);
    }

    #[test]
    fn aarch64_functions_beyond_the_reach_of_conditional_branches_compile_with_far_ones() {
        // A forward `br_if` over more than 1 MiB of code: `cbnz` cannot reach its target.
        let step = "(local.set 0 (i32.add (local.get 0) (i32.const 1)))";
        let wat = format!(
            "(module (func (param i32) (result i32) (block (br_if 0 (local.get 0)) {}) (local.get 0)))",
            step.repeat(200_000)
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
