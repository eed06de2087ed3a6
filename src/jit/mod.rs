//! Tier 1: the template JIT. One pass over a function's wasm operators, a virtual value stack
//! (constant | local | register | slot), and calls into an ISA's [`MacroAssembler`](masm).
//!
//! - `masm.rs`: the ISA-free assembler vocabulary; `isa/<arch>/`: its implementations, the only
//!   code that knows encodings;
//! - `codegen.rs`: the operator walk, ISA-free.
//!
//! Tier-1 code runs on the interpreter's frames (same slot layout, same value stack), so the two
//! tiers hand frames to each other freely. This first slice compiles *leaf* functions over integer
//! operations, locals, globals, linear memory (bounds-checked) and all structured control flow;
//! a function using anything else is refused and stays in the interpreter.
//! It must never produce code for a function it does not fully understand: refusing is always safe.

mod codegen;
mod isa;
pub mod masm;

use crate::code::{ExecutableCode, JitEntry};
use crate::module::ModuleInner;
use crate::vm::TrapCode;

/// What tier-1 code reads at run time. `#[repr(C)]`: the generated code addresses its fields.
#[repr(C)]
#[derive(Debug)]
pub struct JitCtx {
    /// Base of linear memory 0 (dangling when there is none).
    pub mem_base: *mut u8,
    /// Accessible bytes of linear memory 0.
    pub mem_len: u64,
    /// The instance's global cells, by global index.
    pub globals: *const *mut u128,
}

/// Why a function was not compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The function uses something tier 1 does not compile yet; it stays in the interpreter.
    #[error("unsupported by tier 1: {0}")]
    Unsupported(String),
    /// A compiler bug.
    #[error("tier-1 internal error: {0}")]
    Internal(String),
}

/// A compiled function.
#[derive(Clone, Debug)]
pub struct JitFunc {
    code: ExecutableCode,
}

impl JitFunc {
    /// Runs the function on the frame at `fp` (parameters in place, locals and constants
    /// initialized as the interpreter does); returns the trap it raised, if any.
    ///
    /// # Safety
    /// `fp` must point at a frame of this function that lies inside a live value stack, and `ctx`
    /// must describe the calling instance's memory and globals.
    pub unsafe fn call(&self, ctx: &JitCtx, fp: *mut u128) -> Result<(), TrapCode> {
        // SAFETY: offset 0 is the entry of the function `compile` assembled with the `JitEntry`
        // convention.
        let entry: JitEntry = unsafe { self.code.entry(0) };
        // SAFETY: the caller guarantees the frame and context; tier-1 code stays inside both
        // (slot offsets below the frame size, memory accesses bounds-checked against `ctx`).
        let status = unsafe { entry(ctx, fp) };
        match status {
            0 => Ok(()),
            s => Err(trap_code(s)),
        }
    }
}

/// Compiles defined function `func_index` (validated already) for the host ISA.
pub fn compile(
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &crate::interp::code::InterpFunc,
) -> Result<JitFunc, CompileError> {
    let bytes = isa::compile_host(module, func_index, body, layout)?;
    let code = ExecutableCode::new(&bytes).map_err(|e| CompileError::Internal(e.to_string()))?;
    Ok(JitFunc { code })
}

/// The status tier-1 code returns for a trap.
pub(crate) fn trap_status(code: &TrapCode) -> u32 {
    match code {
        TrapCode::Unreachable => 1,
        TrapCode::IntegerDivideByZero => 2,
        TrapCode::IntegerOverflow => 3,
        TrapCode::MemoryOutOfBounds => 4,
        other => unreachable!("tier 1 never raises {other:?}"),
    }
}

fn trap_code(status: u32) -> TrapCode {
    match status {
        1 => TrapCode::Unreachable,
        2 => TrapCode::IntegerDivideByZero,
        3 => TrapCode::IntegerOverflow,
        4 => TrapCode::MemoryOutOfBounds,
        other => TrapCode::Host(format!("tier-1 code returned unknown status {other}")),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Error, Linker, Module, Store, Tier, TrapCode, Val};

    fn baseline() -> Engine {
        Engine::new(Config { tier: Tier::Baseline, ..Config::default() })
    }

    /// Compiles `wat`, checks which functions tier 1 took, and calls export `name`.
    fn run(wat: &str, compiled: &[bool], name: &str, args: &[Val]) -> Result<Val, Error> {
        let engine = baseline();
        let module = Module::new(&engine, wat)?;
        let taken: Vec<bool> = module.inner.jit.iter().map(Option::is_some).collect();
        assert_eq!(taken, compiled, "which functions tier 1 compiled");
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module)?;
        let mut out = [Val::I32(0)];
        let func = instance.get_func(&store, name).unwrap();
        let n = func.ty(&store).results().len();
        func.call(&mut store, args, &mut out[..n])?;
        Ok(out[0])
    }

    #[test]
    fn leaf_integer_functions_run_in_tier_1() {
        let wat = r#"(module (memory 1)
            (func (export "sum") (param i32) (result i64) (local i64)
              (loop $l
                (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.extend_i32_u (local.get 0))))
                (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
              (i64.load (i32.const 8))))"#;
        assert_eq!(run(wat, &[true], "sum", &[Val::I32(100)]).unwrap(), Val::I64(5050));
    }

    #[test]
    fn traps_in_tier_1_carry_the_tier_in_the_backtrace() {
        let wat = r#"(module (func (export "div") (param i32 i32) (result i32)
            (i32.div_s (local.get 0) (local.get 1))))"#;
        let err = run(wat, &[true], "div", &[Val::I32(i32::MIN), Val::I32(-1)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::IntegerOverflow);
        assert_eq!(trap.backtrace[0].tier, Tier::Baseline);
    }

    #[test]
    fn functions_with_calls_or_floats_stay_in_the_interpreter() {
        let wat = r#"(module
            (func $leaf (result i32) (i32.const 1))
            (func (export "caller") (result i32) (call $leaf))
            (func (export "float") (result f32) (f32.const 1)))"#;
        assert_eq!(run(wat, &[true, false, false], "caller", &[]).unwrap(), Val::I32(1));
    }
}
