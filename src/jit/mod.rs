//! Tier 1: the template JIT. One pass over a function's wasm operators, a virtual value stack
//! (constant | local | register | slot), and calls into an ISA's [`MacroAssembler`](masm).
//!
//! - `masm.rs`: the ISA-free assembler vocabulary; `isa/<arch>/`: its implementations, the only
//!   code that knows encodings;
//! - `codegen.rs`: the operator walk, ISA-free.
//!
//! Tier-1 code runs on the interpreter's frames (same slot layout, same value stack), so the two
//! tiers hand frames to each other freely. This first slice compiles functions over integer
//! operations, locals, globals, linear memory (bounds-checked, `memory.size`/`grow`), direct and
//! indirect calls and all structured control flow; a function using anything else is refused and
//! stays in the interpreter.
//! It must never produce code for a function it does not fully understand: refusing is always safe.

mod codegen;
mod isa;
pub mod masm;

use crate::code::{ExecutableCode, JitEntry};
use crate::module::ModuleInner;
use crate::vm::TrapCode;

/// Calls function `func` (module index space) of the calling instance on the frame at `callee_fp`
/// (arguments in place); returns 0, or a trap status. Refreshes the context's memory fields.
pub type CallHelper =
    unsafe extern "C" fn(ctx: *mut JitCtx, callee_fp: *mut u128, func: u32) -> u32;

/// Calls through table `table` with the signature `ty` (module type index) on the frame at
/// `callee_fp`; returns 0, or a trap status.
pub type CallIndirectHelper =
    unsafe extern "C" fn(ctx: *mut JitCtx, callee_fp: *mut u128, ty: u32, table: u32) -> u32;

/// Grows memory 0 by `delta` pages.
pub type MemoryGrowHelper = unsafe extern "C" fn(ctx: *mut JitCtx, delta: u32) -> u32;

/// Runs a [`RuntimeOp`](masm::RuntimeOp) (numbered by its discriminant) with immediates `a` and
/// `b` on the operands in the slots from `args` on (a result replaces the first); returns 0, or a
/// trap status.
pub type RuntimeHelper =
    unsafe extern "C" fn(ctx: *mut JitCtx, op: u32, a: u32, b: u32, args: *mut u128) -> u32;

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
    /// How calls leave tier-1 code: into the runtime, which picks the callee's tier.
    pub call: CallHelper,
    /// `call_indirect`: like `call`, with the type index and table instead of a function; the
    /// table index is in the slot after the arguments.
    pub call_indirect: CallIndirectHelper,
    /// `memory.grow`: returns the old size in pages or `u32::MAX`, and refreshes the memory fields.
    pub memory_grow: MemoryGrowHelper,
    /// The execution `call` works on (opaque to generated code).
    pub executor: *mut std::ffi::c_void,
    /// Table instructions, bulk memory and `ref.func`: the executor's own implementation.
    pub runtime: RuntimeHelper,
}

/// The status a call returns when the trap it raised is stored in the executor (it carries a
/// backtrace a status cannot).
pub const TRAP_PENDING: u32 = u32::MAX;

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
    /// initialized as the interpreter does); returns its status: 0, [`TRAP_PENDING`], or a trap
    /// number ([`trap_code`]).
    ///
    /// # Safety
    /// `fp` must point at a frame of this function that lies inside a live value stack, and `ctx`
    /// must describe the calling instance's memory and globals and a live executor.
    pub unsafe fn call(&self, ctx: &mut JitCtx, fp: *mut u128) -> u32 {
        // SAFETY: offset 0 is the entry of the function `compile` assembled with the `JitEntry`
        // convention.
        let entry: JitEntry = unsafe { self.code.entry(0) };
        // SAFETY: the caller guarantees the frame and context; tier-1 code stays inside both
        // (slot offsets below the frame size, memory accesses bounds-checked against `ctx`).
        unsafe { entry(ctx, fp) }
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
        TrapCode::TableOutOfBounds => 5,
        TrapCode::BadConversionToInteger => 6,
        other => unreachable!("tier 1 never raises {other:?}"),
    }
}

/// The trap a status other than 0 and [`TRAP_PENDING`] stands for.
pub(crate) fn trap_code(status: u32) -> TrapCode {
    match status {
        1 => TrapCode::Unreachable,
        2 => TrapCode::IntegerDivideByZero,
        3 => TrapCode::IntegerOverflow,
        4 => TrapCode::MemoryOutOfBounds,
        5 => TrapCode::TableOutOfBounds,
        6 => TrapCode::BadConversionToInteger,
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
    fn calls_cross_tiers_both_ways() {
        // fib runs in tier 1 and calls itself; `half` uses SIMD, so it stays interpreted and is
        // called from tier-1 code, which then carries on with its result.
        let wat = r#"(module
            (func $fib (export "fib") (param i32) (result i32)
              (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
                (then (local.get 0))
                (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                               (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
            (func $half (param i32) (result i32)
              (i32x4.extract_lane 0 (i32x4.splat (i32.shr_s (local.get 0) (i32.const 1)))))
            (func (export "mixed") (param i32) (result i32)
              (i32.add (call $half (local.get 0)) (call $fib (local.get 0)))))"#;
        assert_eq!(run(wat, &[true, false, true], "fib", &[Val::I32(20)]).unwrap(), Val::I32(6765));
        assert_eq!(run(wat, &[true, false, true], "mixed", &[Val::I32(10)]).unwrap(), Val::I32(60));
    }

    #[test]
    fn traps_below_tier_1_callers_keep_every_frame() {
        let wat = r#"(module
            (func $div (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
            (func $mid (param i32) (result i32) (call $div (local.get 0)))
            (func (export "top") (param i32) (result i32) (call $mid (local.get 0))))"#;
        let err = run(wat, &[true, true, true], "top", &[Val::I32(0)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::IntegerDivideByZero);
        let frames: Vec<_> = trap.backtrace.iter().map(|f| (f.func_index, f.tier)).collect();
        assert_eq!(frames, [(0, Tier::Baseline), (1, Tier::Baseline), (2, Tier::Baseline)]);
    }

    #[test]
    fn unbounded_recursion_in_tier_1_exhausts_the_stack_without_crashing() {
        let wat = r#"(module (func $f (export "f") (param i32) (result i32)
            (i32.add (call $f (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"#;
        let err = run(wat, &[true], "f", &[Val::I32(0)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::StackOverflow);
    }

    #[test]
    fn indirect_calls_and_memory_growth_run_in_tier_1() {
        let wat = r#"(module
            (type $unary (func (param i32) (result i32)))
            (table 3 funcref)
            (elem (i32.const 0) $double $grow)
            (memory 1)
            (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
            (func $grow (type $unary) (memory.grow (local.get 0)))
            (func (export "dispatch") (param i32 i32) (result i32)
              (call_indirect (type $unary) (local.get 1) (local.get 0)))
            (func (export "grown") (result i32)
              (drop (call_indirect (type $unary) (i32.const 2) (i32.const 1)))
              (i32.store (i32.const 131072) (i32.const 7))
              (i32.add (memory.size) (i32.load (i32.const 131072)))))"#;
        let compiled = [true, true, true, true];
        let dispatch = |args: [i32; 2]| run(wat, &compiled, "dispatch", &args.map(Val::I32));
        assert_eq!(dispatch([0, 21]).unwrap(), Val::I32(42));
        // Memory grown by a callee is visible to the tier-1 caller right after the call.
        assert_eq!(run(wat, &compiled, "grown", &[]).unwrap(), Val::I32(3 + 7));
        let trap = |args| match dispatch(args).unwrap_err() {
            Error::Trap(t) => t.code,
            other => panic!("expected a trap, got {other}"),
        };
        assert_eq!(trap([2, 0]), TrapCode::IndirectCallToNull);
        assert_eq!(trap([9, 0]), TrapCode::TableOutOfBounds);
    }

    #[test]
    fn functions_with_simd_stay_in_the_interpreter() {
        let wat = r#"(module
            (func $leaf (result i32) (i32.const 1))
            (func (export "caller") (result i32) (call $leaf))
            (func (export "simd") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))"#;
        assert_eq!(run(wat, &[true, true, false], "caller", &[]).unwrap(), Val::I32(1));
    }
}
