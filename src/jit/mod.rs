//! Tier 1: the template JIT. One pass over a function's wasm operators, a virtual value stack
//! (constant | local | register | slot), and calls into an ISA's [`MacroAssembler`](masm).
//!
//! - `masm.rs`: the ISA-free assembler vocabulary; `isa/<arch>/`: its implementations, the only
//!   code that knows encodings;
//! - `codegen.rs`: the operator walk, ISA-free.
//!
//! - `signals.rs`: the SIGSEGV/SIGBUS handler and the registry of JIT code it consults, which turn
//!   a fault on a recorded heap access into a `MemoryOutOfBounds` trap.
//!
//! Tier-1 code runs on the interpreter's frames (same slot layout, same value stack), so the two
//! tiers hand frames to each other freely. This first slice compiles functions over integer
//! operations, locals, globals, linear memory (guard pages or explicit bounds checks,
//! `memory.size`/`grow`), direct and indirect calls and all structured control flow; a function
//! using anything else is refused and stays in the interpreter.
//! It must never produce code for a function it does not fully understand: refusing is always safe.

mod codegen;
mod isa;
pub mod masm;
pub(crate) mod signals;

use crate::code::ExecutableCode;
use crate::module::ModuleInner;
use crate::vm::TrapCode;
use masm::{Assembled, HeapBounds};
use std::sync::Arc;

/// The entry of every function in a `JitCtx::funcs` table: runs function `func` (module index
/// space) on the frame at `callee_fp` (arguments in place) and returns 0 or a trap status. Tier-1
/// code is entered this way directly; every other function (interpreted, imported) has the
/// runtime's call helper as its entry, which picks the callee's tier.
pub type FuncEntry = unsafe extern "C" fn(ctx: *mut JitCtx, callee_fp: *mut u128, func: u32) -> u32;

/// Calls through table `table` with the signature `ty` (module type index) on the frame at
/// `callee_fp`; returns 0, or a trap status.
pub type CallIndirectHelper =
    unsafe extern "C" fn(ctx: *mut JitCtx, callee_fp: *mut u128, ty: u32, table: u32) -> u32;

/// Grows memory 0 by `delta` pages.
pub type MemoryGrowHelper = unsafe extern "C" fn(ctx: *mut JitCtx, delta: u32) -> u32;

/// Records that a trap with `status` passes through tier-1 function `func` (module index space)
/// on its way out; returns [`TRAP_PENDING`]. Every tier-1 function calls it on its trap exit, so
/// backtraces name tier-1 frames without the runtime tracking direct calls.
pub type UnwindHelper = unsafe extern "C" fn(ctx: *mut JitCtx, status: u32, func: u32) -> u32;

/// What tier-1 code reads at run time. `#[repr(C)]`: the generated code addresses its fields.
/// One context serves a whole chain of direct tier-1 calls inside one instance.
#[repr(C)]
#[derive(Debug)]
pub struct JitCtx {
    /// Base of linear memory 0 (dangling when there is none).
    pub mem_base: *mut u8,
    /// Accessible bytes of linear memory 0 (read by `memory.size`, and by accesses only under
    /// explicit bounds checks: with guard pages, the page protections are the bounds).
    pub mem_len: u64,
    /// The instance's global cells, by global index.
    pub globals: *const *mut u128,
    /// The instance's function table (module index space): where a direct `call` goes. Tier-up
    /// swaps one entry.
    pub funcs: *const FuncEntry,
    /// `call_indirect`: like a call, with the type index and table instead of a function; the
    /// table index is in the slot after the arguments.
    pub call_indirect: CallIndirectHelper,
    /// `memory.grow`: returns the old size in pages or `u32::MAX`, and refreshes the memory fields.
    pub memory_grow: MemoryGrowHelper,
    /// The trap exit's helper (see [`UnwindHelper`]).
    pub unwind: UnwindHelper,
    /// One past the last slot of the value stack: a prologue traps if its frame would reach it.
    pub stack_end: *const u128,
    /// The lowest host stack address tier-1 code may call below; prologues compare the stack
    /// pointer against it (tier-1 calls recurse on the host stack).
    pub native_stack_limit: usize,
    /// The execution `call` works on (opaque to generated code).
    pub executor: *mut std::ffi::c_void,
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

/// A compiled function. Cheap to clone.
#[derive(Clone, Debug)]
pub struct JitFunc {
    inner: Arc<JitCode>,
}

#[derive(Debug)]
struct JitCode {
    /// Declared first, so dropped first: the code leaves the fault handler's registry before it is
    /// unmapped.
    _registration: signals::Registration,
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
        let entry = self.entry();
        // SAFETY: the caller guarantees the frame and context; tier-1 code stays inside both
        // (slot offsets below the frame size; memory accesses either checked against `ctx` or
        // confined to the memory's reservation, where the registered fault handler turns a guard
        // page hit into a trap). The function index is only read by the runtime's entries, never
        // by tier-1 code.
        unsafe { entry(ctx, fp, u32::MAX) }
    }

    /// The function's entry, as a `JitCtx::funcs` table holds it.
    pub fn entry(&self) -> FuncEntry {
        // SAFETY: offset 0 is the entry of the function `compile` assembled with the `FuncEntry`
        // convention.
        unsafe { self.inner.code.entry(0) }
    }

    /// Maps assembled code of function `func_index` (module index space) and registers it with
    /// the fault handler.
    fn new(func_index: u32, assembled: Assembled) -> Result<JitFunc, CompileError> {
        let code = ExecutableCode::new(&assembled.code)
            .map_err(|e| CompileError::Internal(e.to_string()))?;
        let range = code.range();
        let registration = signals::register(
            range.start,
            range.len(),
            func_index,
            assembled.heap_accesses,
            assembled.oob_landing,
        );
        Ok(JitFunc { inner: Arc::new(JitCode { _registration: registration, code }) })
    }
}

/// How code compiled now keeps memory accesses in bounds: guard pages when the engine allows
/// signal-based traps and the fault handler is installed (or can be now), explicit checks
/// otherwise.
fn heap_bounds(config: &crate::Config) -> HeapBounds {
    if config.signals_based_traps && signals::install() {
        HeapBounds::GuardPages
    } else {
        HeapBounds::Explicit
    }
}

/// Compiles defined function `func_index` (validated already) for the host ISA.
pub fn compile(
    config: &crate::Config,
    module: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    layout: &crate::interp::code::InterpFunc,
) -> Result<JitFunc, CompileError> {
    let assembled = isa::compile_host(module, func_index, body, layout, heap_bounds(config))?;
    JitFunc::new(func_index, assembled)
}

/// The status tier-1 code returns for a trap.
pub(crate) fn trap_status(code: &TrapCode) -> u32 {
    match code {
        TrapCode::Unreachable => 1,
        TrapCode::IntegerDivideByZero => 2,
        TrapCode::IntegerOverflow => 3,
        TrapCode::MemoryOutOfBounds => 4,
        TrapCode::StackOverflow => 5,
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
        5 => TrapCode::StackOverflow,
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
        // fib runs in tier 1 and calls itself; `half` uses floats, so it stays interpreted and
        // is called from tier-1 code, which then carries on with its result.
        let wat = r#"(module
            (func $fib (export "fib") (param i32) (result i32)
              (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
                (then (local.get 0))
                (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                               (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
            (func $half (param i32) (result i32)
              (i32.trunc_f32_s (f32.div (f32.convert_i32_s (local.get 0)) (f32.const 2))))
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
    fn backtraces_cross_tiers_in_both_directions() {
        // top (tier 1) -> mid (interpreted: it uses SIMD) -> leaf (tier 1), which traps.
        let wat = r#"(module
            (func $leaf (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
            (func $mid (param i32) (result i32)
              (drop (v128.const i64x2 0 0))
              (call $leaf (local.get 0)))
            (func (export "top") (param i32) (result i32) (call $mid (local.get 0))))"#;
        let err = run(wat, &[true, false, true], "top", &[Val::I32(0)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        let frames: Vec<_> = trap.backtrace.iter().map(|f| (f.func_index, f.tier)).collect();
        assert_eq!(frames, [(0, Tier::Baseline), (1, Tier::Interp), (2, Tier::Baseline)]);
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
    fn functions_with_floats_stay_in_the_interpreter() {
        let wat = r#"(module
            (func $leaf (result i32) (i32.const 1))
            (func (export "caller") (result i32) (call $leaf))
            (func (export "float") (result f32) (f32.const 1)))"#;
        assert_eq!(run(wat, &[true, true, false], "caller", &[]).unwrap(), Val::I32(1));
    }

    /// Every load and store, at `offset`, exported as `l<i>` (returning an `i64`) and `s<i>`
    /// (storing `-1`), with `outer` calling `l1` (`i64.load`), `grow` and `size`.
    fn memory_module(offset: u32) -> (String, usize, usize) {
        let loads = [
            "i32.load",
            "i64.load",
            "i32.load8_s",
            "i32.load8_u",
            "i32.load16_s",
            "i32.load16_u",
            "i64.load8_s",
            "i64.load8_u",
            "i64.load16_s",
            "i64.load16_u",
            "i64.load32_s",
            "i64.load32_u",
        ];
        let stores = [
            "i32.store8",
            "i32.store16",
            "i32.store",
            "i64.store8",
            "i64.store16",
            "i64.store32",
            "i64.store",
        ];
        let mut wat = String::from("(module (memory 1 3)\n");
        for (i, op) in loads.iter().enumerate() {
            let load = format!("({op} offset={offset} (local.get 0))");
            let load =
                if op.starts_with("i32") { format!("(i64.extend_i32_u {load})") } else { load };
            wat += &format!("(func (export \"l{i}\") (param i32) (result i64) {load})\n");
        }
        for (i, op) in stores.iter().enumerate() {
            let value = if op.starts_with("i32") { "(i32.const -1)" } else { "(i64.const -1)" };
            wat += &format!(
                "(func (export \"s{i}\") (param i32) ({op} offset={offset} (local.get 0) {value}))\n"
            );
        }
        wat += "(func (export \"outer\") (param i32) (result i64) (call 1 (local.get 0)))\n";
        wat += "(func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))\n";
        wat += "(func (export \"size\") (result i32) (memory.size)))";
        (wat, loads.len(), stores.len())
    }

    /// Bytes accessed by load `l<i>` and store `s<i>` of [`memory_module`].
    const LOAD_BYTES: [u32; 12] = [4, 8, 1, 1, 2, 2, 1, 1, 2, 2, 4, 4];
    const STORE_BYTES: [u32; 7] = [1, 2, 4, 1, 2, 4, 8];

    /// Runs the bounds checks of every load and store with `offset` in one instance.
    fn check_memory_bounds(config: Config, offset: u32) {
        let engine = Engine::new(Config { tier: Tier::Baseline, ..config });
        let (wat, num_loads, num_stores) = memory_module(offset);
        let module = Module::new(&engine, &wat).unwrap();
        assert!(module.inner.jit.iter().all(Option::is_some), "tier 1 compiles everything");
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let mut call = |name: &str, arg: Option<u32>| {
            let func = instance.get_func(&store, name).unwrap();
            let mut out = [Val::I32(0)];
            let n = func.ty(&store).results().len();
            let args: Vec<Val> = arg.map(|a| Val::I32(a as i32)).into_iter().collect();
            func.call(&mut store, &args, &mut out[..n]).map(|()| out[0])
        };
        let oob = |result: Result<Val, Error>, func: u32, what: &str| match result {
            Err(Error::Trap(trap)) => {
                assert_eq!(trap.code, TrapCode::MemoryOutOfBounds, "{what}");
                assert_eq!(trap.code.message(), "out of bounds memory access");
                assert_eq!(trap.backtrace[0].func_index, func, "{what}");
                assert_eq!(trap.backtrace[0].tier, Tier::Baseline, "{what}");
            }
            other => panic!("{what}: expected an out-of-bounds trap, got {other:?}"),
        };
        for grown in [false, true] {
            let len = if grown { 2 * 65536 } else { 65536 };
            let accesses =
                (0..num_loads).map(|i| (format!("l{i}"), i as u32, LOAD_BYTES[i])).chain(
                    (0..num_stores)
                        .map(|i| (format!("s{i}"), (num_loads + i) as u32, STORE_BYTES[i])),
                );
            for (name, func, bytes) in accesses {
                let what =
                    |addr: u64| format!("{name} at {addr} + {offset} ({len} bytes, {config:?})");
                // The last in-bounds address, if any, then the first out-of-bounds one.
                let first_oob = (len + 1 - bytes as u64).saturating_sub(offset as u64);
                if let Some(last) =
                    first_oob.checked_sub(1).filter(|_| offset as u64 + bytes as u64 <= len)
                {
                    call(&name, Some(last as u32))
                        .unwrap_or_else(|e| panic!("{}: {e}", what(last)));
                }
                for addr in [first_oob, first_oob + 1, u32::MAX as u64 - 7, u32::MAX as u64] {
                    if addr <= u32::MAX as u64 {
                        oob(call(&name, Some(addr as u32)), func, &what(addr));
                    }
                }
            }
            if offset == 0 {
                // A store straddling the end writes nothing.
                assert_eq!(call("l3", Some(len as u32 - 1)).unwrap(), Val::I64(0xff));
                call("s0", Some(len as u32 - 1)).unwrap();
                call("l0", Some(len as u32 - 4)).unwrap();
                // The outer frame is in the backtrace too.
                let Err(Error::Trap(trap)) = call("outer", Some(len as u32 - 7)) else {
                    panic!("outer: expected a trap")
                };
                let frames: Vec<_> =
                    trap.backtrace.iter().map(|f| (f.func_index, f.tier)).collect();
                let outer = (num_loads + num_stores) as u32;
                assert_eq!(frames, [(1, Tier::Baseline), (outer, Tier::Baseline)]);
            }
            if !grown {
                assert_eq!(call("size", None).unwrap(), Val::I32(1));
                assert_eq!(call("grow", Some(1)).unwrap(), Val::I32(1));
                assert_eq!(call("size", None).unwrap(), Val::I32(2));
            }
        }
    }

    #[test]
    fn out_of_bounds_accesses_trap_at_every_width_and_boundary_in_tier_1() {
        for offset in [0, 1, 65535, 65536, i32::MAX as u32, 1 << 31, u32::MAX - 8, u32::MAX] {
            check_memory_bounds(Config::default(), offset);
        }
    }

    #[test]
    fn explicit_bounds_checks_agree_with_guard_pages() {
        for offset in [0, 65535, u32::MAX] {
            check_memory_bounds(Config { signals_based_traps: false, ..Config::default() }, offset);
        }
    }

    #[test]
    fn an_empty_memory_traps_on_every_access() {
        let wat = r#"(module (memory 0)
            (func (export "f") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;
        for addr in [0, 1, -1] {
            let err = run(wat, &[true], "f", &[Val::I32(addr)]).unwrap_err();
            let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
            assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
        }
    }
}
