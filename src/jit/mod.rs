//! Tier 1: the template JIT. One pass over a function's wasm operators, a virtual value stack
//! (constant | local | register | slot), and calls into an ISA's [`MacroAssembler`](masm).
//!
//! - `codegen.rs`: the operator walk, ISA-free, over the ISA layer's `MacroAssembler`
//!   (`crate::isa`: the vocabulary and its implementations, the only code that knows encodings);
//! - `backend.rs`: the walk over each ISA's assembler, for the host or any ISA;
//! - this file: the [`Compiler`] tiering calls ([`BASELINE`]).
//!
//! Tier-1 code runs on the shared slot frame (`vm::frame`, laid out by tier 0) with the instance
//! context (`vm::vmctx`), entered like every tier, so tiers hand frames to each other freely. It
//! counts calls and loop back-edges into the module's profile counters, as tier 0 does, and calls
//! tiering through `VmCtx::hot` when a budget runs out. It compiles every WebAssembly 2.0 instruction except
//! SIMD: integers, floats (a second register class), references (64-bit integers with the
//! interpreter's bits), locals, globals, linear memory (guard pages or explicit bounds checks, `memory.size`/`grow`),
//! direct and indirect calls, all structured control flow, and table instructions, bulk memory and
//! `ref.func` through the runtime helper `VmCtx::runtime`. A function touching SIMD is refused
//! and stays in the interpreter; so is one using `ceil`/`floor`/`trunc`/`nearest` on a machine
//! without SSE4.1. Modules record each refusal (`Module::tier1_refusals`).
//! It must never produce code for a function it does not fully understand: refusing is always safe.

mod backend;
mod codegen;
mod reg_cache;

pub use crate::isa::Isa;
pub use crate::isa::masm;

use crate::code::{CompiledFunc, CompiledParts};
use crate::module::ModuleInner;
use crate::tier::compiler::{CompileError, Compiler};
use crate::tier::{FuncProfile, Tier};
use crate::vm::frame::FrameLayout;
use masm::HeapBounds;

/// Tier 1, as tiering sees it.
pub(crate) struct Baseline;

/// The one instance tiering calls.
pub(crate) static BASELINE: Baseline = Baseline;

impl Compiler for Baseline {
    fn tier(&self) -> Tier {
        Tier::Baseline
    }

    fn compile(
        &self,
        module: &ModuleInner,
        def: u32,
        layout: &FrameLayout,
        _profile: &FuncProfile,
    ) -> Result<CompiledFunc, CompileError> {
        let started = crate::code::CompileClock::start();
        let mut parts = compile_parts(module, def, layout, run_options(&module.config))?;
        parts.compile_time = started.elapsed();
        CompiledFunc::new(parts).map_err(|e| CompileError::Internal(e.to_string()))
    }

    fn compile_batch(
        &self,
        module: &ModuleInner,
        jobs: &[(u32, &FrameLayout, FuncProfile)],
    ) -> Vec<Result<CompiledFunc, CompileError>> {
        let options = run_options(&module.config);
        // In runs of neighbours on several threads (`parallel`), back in order.
        let threads = crate::parallel::threads(&module.config);
        let weight =
            |(def, _, _): &&(u32, &FrameLayout, FuncProfile)| module.bodies[*def as usize].len();
        let runs = crate::parallel::in_runs(jobs.iter().collect(), threads, weight, |run| {
            let mut clock = crate::code::RunClock::start();
            let mut compiled = Vec::with_capacity(run.len());
            for (def, layout, _) in run {
                compiled.push(compile_parts(module, *def, layout, options));
                clock.lap();
            }
            for (parts, time) in compiled.iter_mut().zip(clock.shares()) {
                if let Ok(parts) = parts {
                    parts.compile_time = time;
                }
            }
            compiled
        });
        // All the code in one mapping.
        crate::tier::compiler::place_outcomes(runs.into_iter().flatten(), CompiledFunc::new_batch)
    }
}

/// Compiles defined function `def` for the host: the code and what the runtime must know of it
/// (untimed: the caller sets `compile_time`).
fn compile_parts(
    module: &ModuleInner,
    def: u32,
    layout: &FrameLayout,
    options: Options,
) -> Result<CompiledParts, CompileError> {
    let func_index = module.num_imported_funcs + def;
    let body = module.function_body(def);
    let assembled = backend::compile_host(module, func_index, &body, layout, options)?;
    Ok(CompiledParts {
        code: assembled.code,
        tier: Tier::Baseline,
        func_index,
        heap_accesses: assembled.heap_accesses,
        heap_access_wasm: assembled.heap_access_wasm,
        oob_landing: assembled.oob_landing,
        osr_entries: assembled.osr_entries,
        register_entry: None,
        compile_time: std::time::Duration::ZERO,
        stats: Vec::new(),
        // Empty unless `options.record_offsets`.
        wasm_offsets: assembled.code_map.ops.iter().map(|&(wasm, code)| (code, wasm)).collect(),
        sig_sites: assembled.sig_sites,
        direct_calls: assembled.direct_calls,
        loaded: false,
    })
}

/// The options of code compiled to run: operators' code offsets recorded only for a profiler
/// that writes them as line information.
fn run_options(config: &crate::Config) -> Options {
    options(config, config.profiling_strategy == crate::ProfilingStrategy::JitDump)
}

/// What tier-1 code is compiled for, besides the function: derived from the engine's
/// configuration.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How memory accesses stay in bounds.
    pub bounds: HeapBounds,
    /// Whether the code counts calls and back-edges into the module's profile counters
    /// (`Config::profile_counters`).
    pub counting: bool,
    /// Whether counting also spends the tier-up budget and calls tiering when it runs out: when
    /// a tier above tier 1 is enabled (or `Config::budget_checks` asks for them anyway, to
    /// measure what they cost).
    pub budget_checks: bool,
    /// Hotness a call and a back-edge spend (`TierUpPolicy`).
    pub call_weight: u32,
    pub back_edge_weight: u32,
    /// Back-edges tallied in a register between updates of the counters (see
    /// `MacroAssembler::tally_back_edges`): small enough, with budget checks, that a hot loop
    /// moves up within a fraction of the work that made it hot.
    pub back_edge_chunk: u32,
    /// Whether to record every operator's code offset (for `tierup explore`, and for the jitdump's
    /// line information).
    pub record_offsets: bool,
    /// Whether the code keeps the guest profiler's profile stack (`vm::profile`): an entry
    /// pushed after the prologue's counting, named loops at their headers, popped on return.
    pub guest_profile: bool,
}

/// The options code compiled now under `config` gets; guard pages when the engine allows
/// signal-based traps and the fault handler is installed (or can be now), explicit checks
/// otherwise.
fn options(config: &crate::Config, record_offsets: bool) -> Options {
    let bounds = crate::isa::heap_bounds(config.signals_based_traps);
    let weight = |w: u64| w.min(i32::MAX as u64) as u32;
    let budget_checks = crate::tier::budget_checks_in(config, Tier::Baseline);
    let back_edge_weight = weight(config.tier_up.back_edge_weight);
    let back_edge_chunk = if budget_checks {
        // A quarter of the back-edges the threshold allows, so the tally delays a tier-up by at
        // most that much.
        let allowed = config.tier_up.threshold / back_edge_weight.max(1) as u64;
        (allowed / 4).clamp(1, 1 << 20) as u32
    } else {
        1 << 30
    };
    Options {
        bounds,
        counting: config.profile_counters,
        budget_checks,
        call_weight: weight(config.tier_up.call_weight),
        back_edge_weight,
        back_edge_chunk,
        record_offsets,
        guest_profile: config.profiling_strategy == crate::ProfilingStrategy::Guest,
    }
}

/// Compiles defined function `func_index` for reading rather than running, for `isa` (whatever
/// the host): the machine code with every operator's code offset recorded, and how long compiling
/// took. Nothing is mapped executable.
pub fn compile_for_explore(
    isa: Isa,
    module: &ModuleInner,
    func_index: u32,
    layout: &FrameLayout,
) -> Result<(masm::Assembled, std::time::Duration), CompileError> {
    let started = crate::code::CompileClock::start();
    let body = module.function_body(func_index - module.num_imported_funcs);
    let options = options(&module.config, true);
    let assembled = backend::compile_for(isa, module, func_index, &body, layout, options)?;
    Ok((assembled, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Error, Linker, Module, Store, Tier, TrapCode, Val};

    fn baseline() -> Engine {
        Engine::new(Config { tier: Tier::Baseline.into(), ..Config::default() })
    }

    /// Compiles `wat`, checks which functions tier 1 took, and calls export `name`.
    fn run(wat: &str, compiled: &[bool], name: &str, args: &[Val]) -> Result<Val, Error> {
        let engine = baseline();
        let module = Module::new(&engine, wat)?;
        let taken: Vec<bool> = (0..module.inner.tiers.len() as u32)
            .map(|d| module.inner.tiers.compiled(d, Tier::Baseline).is_some())
            .collect();
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

    /// Runs export `name` under `auto` with `policy` and returns its result and the profile of
    /// every defined function.
    fn run_auto(
        wat: &str,
        policy: crate::TierUpPolicy,
        name: &str,
        args: &[Val],
    ) -> (Result<Val, Error>, Vec<crate::FuncStats>) {
        let engine = Engine::new(Config {
            tier: crate::Tiering::Auto,
            tier_up: policy,
            tier_up_mode: crate::TierUpMode::Sync,
            ..Config::default()
        });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let func = instance.get_func(&store, name).unwrap();
        let mut out = [Val::I32(0)];
        let n = func.ty(&store).results().len();
        let result = func.call(&mut store, args, &mut out[..n]).map(|()| out[0]);
        (result, instance.func_stats(&store))
    }

    /// Only back-edges count, and the first one tiers up: every loop is entered by OSR.
    fn osr_at_first_back_edge() -> crate::TierUpPolicy {
        crate::TierUpPolicy {
            threshold: 1,
            call_weight: 0,
            back_edge_weight: 1,
            ..Default::default()
        }
    }

    #[test]
    fn a_hot_loop_moves_into_tier_1_at_its_header() {
        // A constant and a computed value wait below the loop; the loop carries a parameter.
        let wat = r#"(module
            (type $carry (func (param i64) (result i64)))
            (func (export "sum") (param i32) (result i64) (local i64)
              (i64.const 1000)
              (i64.extend_i32_u (local.get 0))
              (i64.const 0)
              (loop $l (type $carry)
                (i64.add (i64.extend_i32_u (local.get 0)))
                (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
              (i64.add)
              (i64.add)))"#;
        let (result, stats) = run_auto(wat, osr_at_first_back_edge(), "sum", &[Val::I32(100)]);
        assert_eq!(result.unwrap(), Val::I64(1000 + 100 + 5050));
        let event = stats[0].profile.tiered_up.expect("the function tiered up");
        assert!(event.osr, "at a back-edge");
        assert_eq!(event.back_edges, 1, "at the first one");
        // Tier 1 counts the rest of the loop's back-edges.
        assert_eq!(stats[0].profile.back_edges, 99);
        assert_eq!(stats[0].tier, Tier::Baseline);
    }

    #[test]
    fn on_stack_replacement_inside_a_callee_returns_to_the_interpreted_caller() {
        let wat = r#"(module
            (func $count (param i32) (result i32) (local i32)
              (loop $l
                (local.set 1 (i32.add (local.get 1) (i32.const 3)))
                (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
              (local.get 1))
            (func (export "caller") (param i32) (result i32)
              (i32.add (i32.const 1) (call $count (local.get 0)))))"#;
        let (result, stats) = run_auto(wat, osr_at_first_back_edge(), "caller", &[Val::I32(10)]);
        assert_eq!(result.unwrap(), Val::I32(31));
        assert!(stats[0].profile.tiered_up.is_some_and(|e| e.osr));
        assert!(stats[1].profile.tiered_up.is_none(), "the caller has no loop");
    }

    #[test]
    fn calls_tier_up_when_hot_and_traps_after_osr_keep_their_backtrace() {
        let wat = r#"(module
            (func $leaf (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
            (func (export "run") (param i32) (result i32) (local i32)
              (loop $l
                (local.set 1 (i32.add (local.get 1) (call $leaf (local.get 0))))
                (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
              (call $leaf (local.get 0))))"#;
        let policy = crate::TierUpPolicy {
            threshold: 20,
            call_weight: 10,
            back_edge_weight: 1,
            ..Default::default()
        };
        let (result, stats) = run_auto(wat, policy, "run", &[Val::I32(50)]);
        let Err(Error::Trap(trap)) = result else { panic!("expected a trap: {result:?}") };
        assert_eq!(trap.code, TrapCode::IntegerDivideByZero);
        let frames: Vec<_> = trap.backtrace.iter().map(|f| (f.func_index, f.tier)).collect();
        assert_eq!(frames, [(0, Tier::Baseline), (1, Tier::Baseline)]);
        let leaf = stats[0].profile.tiered_up.expect("leaf tiered up");
        assert!(!leaf.osr && leaf.calls == 1, "at its second call, one counted: {leaf:?}");
        assert!(stats[1].profile.tiered_up.is_some_and(|e| e.osr));
    }

    /// Calls export `name` of `wat` on the interpreter and on tier 1 (which must compile every
    /// function), checks that both agree bit for bit, and returns the result or the trap.
    fn both(wat: &str, name: &str, args: &[Val]) -> Result<Val, TrapCode> {
        let outcome = |tier: Tier| {
            let engine = Engine::new(Config { tier: tier.into(), ..Config::default() });
            let module = Module::new(&engine, wat).unwrap();
            if tier == Tier::Baseline {
                assert_eq!(module.tier1_refusals(), [], "tier 1 compiles every function");
            }
            let mut store = Store::new(&engine, ());
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            let func = instance.get_func(&store, name).unwrap();
            let mut out = [Val::I32(0)];
            let n = func.ty(&store).results().len();
            match func.call(&mut store, args, &mut out[..n]) {
                Ok(()) => Ok(out[0]),
                Err(Error::Trap(trap)) => Err(trap.code),
                Err(other) => panic!("{name}: {other}"),
            }
        };
        let (interp, baseline) = (outcome(Tier::Interp), outcome(Tier::Baseline));
        assert_eq!(baseline, interp, "{name}{args:?}: tier 1 differs from the interpreter");
        baseline
    }

    const F32_NAN: u32 = 0x7fc0_0000;
    const F64_NAN: u64 = 0x7ff8_0000_0000_0000;
    const F32_SNAN_PAYLOAD: u32 = 0x7fa0_0001;

    #[test]
    fn float_min_max_propagate_nan_and_order_signed_zeros() {
        let wat = r#"(module
            (func (export "min32") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
            (func (export "max32") (param f32 f32) (result f32) (f32.max (local.get 0) (local.get 1)))
            (func (export "min64") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
            (func (export "max64") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1))))"#;
        let f32s = |a: f32, b: f32| [Val::F32(a.to_bits()), Val::F32(b.to_bits())];
        let f64s = |a: f64, b: f64| [Val::F64(a.to_bits()), Val::F64(b.to_bits())];
        let neg0 = (-0.0f32).to_bits();
        assert_eq!(both(wat, "min32", &f32s(0.0, -0.0)), Ok(Val::F32(neg0)));
        assert_eq!(both(wat, "min32", &f32s(-0.0, 0.0)), Ok(Val::F32(neg0)));
        assert_eq!(both(wat, "max32", &f32s(-0.0, 0.0)), Ok(Val::F32(0)));
        assert_eq!(both(wat, "max32", &f32s(0.0, -0.0)), Ok(Val::F32(0)));
        assert_eq!(both(wat, "min64", &f64s(1.0, -2.5)), Ok(Val::F64((-2.5f64).to_bits())));
        assert_eq!(both(wat, "max64", &f64s(1.0, -2.5)), Ok(Val::F64(1.0f64.to_bits())));
        // A NaN operand, on either side, gives a quiet NaN with its payload.
        let snan = Val::F32(F32_SNAN_PAYLOAD);
        let quieted = Ok(Val::F32(F32_SNAN_PAYLOAD | 0x0040_0000));
        assert_eq!(both(wat, "min32", &[snan, Val::F32(1.0f32.to_bits())]), quieted);
        assert_eq!(both(wat, "max32", &[Val::F32(1.0f32.to_bits()), snan]), quieted);
        let nan64 = both(wat, "max64", &f64s(f64::NEG_INFINITY, f64::NAN)).unwrap();
        assert_eq!(nan64, Val::F64(F64_NAN));
    }

    #[test]
    fn float_bit_operations_keep_nan_payloads() {
        let wat = r#"(module
            (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
            (func (export "abs") (param f64) (result f64) (f64.abs (local.get 0)))
            (func (export "copysign") (param f64 f64) (result f64)
              (f64.copysign (local.get 0) (local.get 1)))
            (func (export "nan_const") (result f32) (f32.const nan:0x200001))
            (func (export "stored") (param f32) (result i32)
              (f32.store (i32.const 4) (local.get 0)) (i32.load (i32.const 4)))
            (memory 1))"#;
        let snan = Val::F32(F32_SNAN_PAYLOAD);
        assert_eq!(both(wat, "neg", &[snan]), Ok(Val::F32(F32_SNAN_PAYLOAD | 0x8000_0000)));
        assert_eq!(both(wat, "abs", &[Val::F64(!0)]), Ok(Val::F64(!0 >> 1)));
        let copysign = both(wat, "copysign", &[Val::F64(F64_NAN), Val::F64((-1.0f64).to_bits())]);
        assert_eq!(copysign, Ok(Val::F64(F64_NAN | 1 << 63)));
        assert_eq!(both(wat, "nan_const", &[]), Ok(Val::F32(0x7fa0_0001)));
        assert_eq!(both(wat, "stored", &[snan]), Ok(Val::I32(F32_SNAN_PAYLOAD as i32)));
    }

    #[test]
    fn float_comparisons_are_false_on_nan_except_ne() {
        let wat = r#"(module
            (func (export "cmp") (param f64 f64) (result i32)
              (i32.or (i32.or (i32.shl (f64.eq (local.get 0) (local.get 1)) (i32.const 0))
                              (i32.shl (f64.ne (local.get 0) (local.get 1)) (i32.const 1)))
                (i32.or (i32.or (i32.shl (f64.lt (local.get 0) (local.get 1)) (i32.const 2))
                                (i32.shl (f64.gt (local.get 0) (local.get 1)) (i32.const 3)))
                        (i32.or (i32.shl (f64.le (local.get 0) (local.get 1)) (i32.const 4))
                                (i32.shl (f64.ge (local.get 0) (local.get 1)) (i32.const 5)))))))"#;
        let cmp =
            |a: f64, b: f64| both(wat, "cmp", &[Val::F64(a.to_bits()), Val::F64(b.to_bits())]);
        // Bits: eq, ne, lt, gt, le, ge.
        assert_eq!(cmp(1.0, 2.0), Ok(Val::I32(0b010110)));
        assert_eq!(cmp(2.0, 1.0), Ok(Val::I32(0b101010)));
        assert_eq!(cmp(-0.0, 0.0), Ok(Val::I32(0b110001)));
        assert_eq!(cmp(f64::NAN, 1.0), Ok(Val::I32(0b000010)));
        assert_eq!(cmp(1.0, f64::NAN), Ok(Val::I32(0b000010)));
        assert_eq!(cmp(f64::NAN, f64::NAN), Ok(Val::I32(0b000010)));
    }

    #[test]
    fn trapping_truncations_check_the_exact_range() {
        let wat = r#"(module
            (func (export "i32_f32_s") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
            (func (export "i32_f64_u") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
            (func (export "i64_f64_u") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
            (func (export "i64_f32_s") (param f32) (result i64) (i64.trunc_f32_s (local.get 0))))"#;
        let f32v = |x: f32| [Val::F32(x.to_bits())];
        let f64v = |x: f64| [Val::F64(x.to_bits())];
        assert_eq!(both(wat, "i32_f32_s", &f32v(-2147483648.0)), Ok(Val::I32(i32::MIN)));
        assert_eq!(both(wat, "i32_f32_s", &f32v(2147483648.0)), Err(TrapCode::IntegerOverflow));
        assert_eq!(both(wat, "i32_f32_s", &f32v(-1.9)), Ok(Val::I32(-1)));
        let nan = both(wat, "i32_f32_s", &f32v(f32::NAN));
        assert_eq!(nan, Err(TrapCode::BadConversionToInteger));
        assert_eq!(both(wat, "i32_f64_u", &f64v(-0.99)), Ok(Val::I32(0)));
        assert_eq!(both(wat, "i32_f64_u", &f64v(-1.0)), Err(TrapCode::IntegerOverflow));
        assert_eq!(both(wat, "i32_f64_u", &f64v(4294967295.9)), Ok(Val::I32(-1)));
        assert_eq!(both(wat, "i32_f64_u", &f64v(4294967296.0)), Err(TrapCode::IntegerOverflow));
        // At and above 2^63 the unsigned 64-bit truncation takes its other path.
        let big = 18446744073709549568.0;
        assert_eq!(both(wat, "i64_f64_u", &f64v(big)), Ok(Val::I64(big as u64 as i64)));
        let two63 = 9223372036854775808.0;
        assert_eq!(both(wat, "i64_f64_u", &f64v(two63)), Ok(Val::I64(i64::MIN)));
        let overflow = both(wat, "i64_f64_u", &f64v(18446744073709551616.0));
        assert_eq!(overflow, Err(TrapCode::IntegerOverflow));
        let inf = both(wat, "i64_f32_s", &f32v(f32::INFINITY));
        assert_eq!(inf, Err(TrapCode::IntegerOverflow));
        assert_eq!(both(wat, "i64_f32_s", &f32v(-9223372036854775808.0)), Ok(Val::I64(i64::MIN)));
    }

    #[test]
    fn saturating_truncations_clamp_and_map_nan_to_zero() {
        let wat = r#"(module
            (func (export "i32_s") (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0)))
            (func (export "i32_u") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
            (func (export "i64_s") (param f64) (result i64) (i64.trunc_sat_f64_s (local.get 0)))
            (func (export "i64_u") (param f32) (result i64) (i64.trunc_sat_f32_u (local.get 0))))"#;
        let f32v = |x: f32| [Val::F32(x.to_bits())];
        let f64v = |x: f64| [Val::F64(x.to_bits())];
        assert_eq!(both(wat, "i32_s", &f32v(f32::NAN)), Ok(Val::I32(0)));
        assert_eq!(both(wat, "i32_s", &f32v(3e9)), Ok(Val::I32(i32::MAX)));
        assert_eq!(both(wat, "i32_s", &f32v(-3e9)), Ok(Val::I32(i32::MIN)));
        assert_eq!(both(wat, "i32_u", &f64v(-5.0)), Ok(Val::I32(0)));
        assert_eq!(both(wat, "i32_u", &f64v(5e9)), Ok(Val::I32(-1)));
        assert_eq!(both(wat, "i32_u", &f64v(4294967295.5)), Ok(Val::I32(-1)));
        assert_eq!(both(wat, "i64_s", &f64v(f64::INFINITY)), Ok(Val::I64(i64::MAX)));
        assert_eq!(both(wat, "i64_s", &f64v(-1e300)), Ok(Val::I64(i64::MIN)));
        assert_eq!(both(wat, "i64_u", &f32v(f32::INFINITY)), Ok(Val::I64(-1)));
        assert_eq!(both(wat, "i64_u", &f32v(1.8e19)), Ok(Val::I64(1.8e19f32 as u64 as i64)));
        assert_eq!(both(wat, "i64_u", &f32v(-0.5)), Ok(Val::I64(0)));
    }

    #[test]
    fn unsigned_64_bit_conversions_round_correctly() {
        let wat = r#"(module
            (func (export "f32") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
            (func (export "f64") (param i64) (result f64) (f64.convert_i64_u (local.get 0)))
            (func (export "f32_u32") (param i32) (result f32) (f32.convert_i32_u (local.get 0))))"#;
        for x in [
            0u64,
            1,
            u64::MAX,
            1 << 63,
            (1 << 63) + 1,
            0x8000_0080_0000_0001,
            0xffff_ff7f_ffff_ffff,
        ] {
            let arg = [Val::I64(x as i64)];
            assert_eq!(both(wat, "f32", &arg), Ok(Val::F32((x as f32).to_bits())), "{x:#x}");
            assert_eq!(both(wat, "f64", &arg), Ok(Val::F64((x as f64).to_bits())), "{x:#x}");
        }
        let u32_max = both(wat, "f32_u32", &[Val::I32(-1)]);
        assert_eq!(u32_max, Ok(Val::F32(4294967296.0f32.to_bits())));
    }

    #[test]
    fn roundings_and_conversions_between_widths() {
        let wat = r#"(module
            (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
            (func (export "floor") (param f32) (result f32) (f32.floor (local.get 0)))
            (func (export "ceil") (param f32) (result f32) (f32.ceil (local.get 0)))
            (func (export "trunc") (param f64) (result f64) (f64.trunc (local.get 0)))
            (func (export "demote") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
            (func (export "promote") (param f32) (result f64) (f64.promote_f32 (local.get 0)))
            (func (export "sqrt") (param f64) (result f64) (f64.sqrt (local.get 0))))"#;
        let f64v = |x: f64| [Val::F64(x.to_bits())];
        let f32v = |x: f32| [Val::F32(x.to_bits())];
        assert_eq!(both(wat, "nearest", &f64v(2.5)), Ok(Val::F64(2.0f64.to_bits())));
        assert_eq!(both(wat, "nearest", &f64v(-0.4)), Ok(Val::F64((-0.0f64).to_bits())));
        assert_eq!(both(wat, "floor", &f32v(-1.5)), Ok(Val::F32((-2.0f32).to_bits())));
        assert_eq!(both(wat, "ceil", &f32v(-0.5)), Ok(Val::F32((-0.0f32).to_bits())));
        assert_eq!(both(wat, "trunc", &f64v(-7.9)), Ok(Val::F64((-7.0f64).to_bits())));
        // NaNs come out quiet, payload kept.
        let snan = [Val::F32(F32_SNAN_PAYLOAD)];
        assert_eq!(both(wat, "floor", &snan), Ok(Val::F32(F32_SNAN_PAYLOAD | 0x0040_0000)));
        assert_eq!(both(wat, "demote", &f64v(1e300)), Ok(Val::F32(f32::INFINITY.to_bits())));
        assert_eq!(both(wat, "promote", &f32v(-0.0)), Ok(Val::F64((-0.0f64).to_bits())));
        let nan = both(wat, "sqrt", &f64v(-1.0)).unwrap();
        let Val::F64(bits) = nan else { panic!("{nan:?}") };
        assert_eq!(bits & !(1 << 63), F64_NAN, "a canonical NaN");
        let promoted = both(wat, "promote", &[Val::F32(F32_NAN)]);
        assert_eq!(promoted, Ok(Val::F64(F64_NAN)));
    }

    #[test]
    fn floats_cross_blocks_calls_selects_and_globals() {
        // Multi-value blocks and calls with float and reference values go through canonical
        // slots; register pressure beyond the float registers spills.
        let wat = r#"(module
            (global $g (mut f64) (f64.const 0.5))
            (func $pair (param f32 f64) (result f64 f32)
              (local.get 1) (local.get 0))
            (func (export "run") (param f32) (result f64) (local f64)
              (local.get 0)
              (block (param f32) (result f64 f32)
                (f64.const 1.25) (call $pair) (f32.add (f32.const 1)))
              (local.set 1 (f64.promote_f32))
              (global.set $g (f64.add (global.get $g) (local.get 1)))
              (select (global.get $g) (f64.const -1) (f64.lt (local.get 1) (f64.const 100)))
              (f64.add)))"#;
        // pair(2, 1.25) = (1.25, 2); 2 + 1 = 3; g = 0.5 + 3; 3 < 100 picks g; 1.25 + 3.5.
        let run = both(wat, "run", &[Val::F32(2.0f32.to_bits())]);
        assert_eq!(run, Ok(Val::F64(4.75f64.to_bits())));
        // 21 negated copies live in float registers at once: more than there are.
        let mut deep = "(f64.neg (local.get 0))".to_string();
        for _ in 0..20 {
            deep = format!("(f64.mul (f64.neg (local.get 0)) {deep})");
        }
        let wat = format!(r#"(module (func (export "pressure") (param f64) (result f64) {deep}))"#);
        let pressure = both(&wat, "pressure", &[Val::F64(2.0f64.to_bits())]);
        assert_eq!(pressure, Ok(Val::F64((-(2.0f64.powi(21))).to_bits())));
    }

    #[test]
    fn tables_and_references_run_in_tier_1() {
        let wat = r#"(module
            (type $unary (func (param i32) (result i32)))
            (table $t 2 funcref)
            (table $ext 1 externref)
            (elem $seg func $inc $double)
            (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
            (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
            (func (export "init_and_call") (param i32 i32) (result i32)
              (table.init $t $seg (i32.const 0) (i32.const 0) (i32.const 2))
              (call_indirect (type $unary) (local.get 1) (local.get 0)))
            (func (export "grow") (param i32) (result i32)
              (drop (table.grow $t (ref.func $double) (local.get 0)))
              (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))
              (table.copy $t $t (i32.const 1) (i32.const 2) (i32.const 1))
              (i32.add (table.size $t)
                (i32.add (i32.mul (ref.is_null (table.get $t (i32.const 0))) (i32.const 100))
                  (call_indirect (type $unary) (i32.const 7) (i32.const 1)))))
            (func (export "oob") (result i32)
              (table.set $t (i32.const 5) (ref.null func)) (i32.const 0))
            (func (export "dropped") (result i32)
              (elem.drop $seg)
              (table.init $t $seg (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 0))
            (func $swap (param externref funcref) (result funcref externref)
              (local.get 1) (local.get 0))
            (func (export "refs") (param externref) (result i32) (local i32)
              (block (result funcref externref)
                (call $swap (local.get 0) (ref.func $inc)))
              (local.set 1 (ref.is_null))
              (ref.is_null)
              (i32.const 10) (i32.mul)
              (local.get 1) (i32.add))
            (func (export "extern") (param externref) (result i32)
              (table.set $ext (i32.const 0) (local.get 0))
              (select (result externref) (table.get $ext (i32.const 0)) (ref.null extern)
                (i32.const 1))
              (ref.is_null)))"#;
        let args = |f: i32, x: i32| [Val::I32(f), Val::I32(x)];
        assert_eq!(both(wat, "init_and_call", &args(0, 20)), Ok(Val::I32(21)));
        assert_eq!(both(wat, "init_and_call", &args(1, 20)), Ok(Val::I32(40)));
        // Three slots of $double, slot 0 nulled, slot 1 copied from 2: 3 + 100 + 14.
        assert_eq!(both(wat, "grow", &[Val::I32(1)]), Ok(Val::I32(117)));
        assert_eq!(both(wat, "oob", &[]), Err(TrapCode::TableOutOfBounds));
        assert_eq!(both(wat, "dropped", &[]), Err(TrapCode::TableOutOfBounds));
        assert_eq!(both(wat, "extern", &[Val::ExternRef(None)]), Ok(Val::I32(1)));
        let some = [Val::ExternRef(Some(crate::ExternRef(7)))];
        assert_eq!(both(wat, "extern", &some), Ok(Val::I32(0)));
        // References through a multi-value call and block.
        assert_eq!(both(wat, "refs", &[Val::ExternRef(None)]), Ok(Val::I32(1)));
        assert_eq!(both(wat, "refs", &some), Ok(Val::I32(0)));
    }

    #[test]
    fn bulk_memory_runs_in_tier_1() {
        let wat = r#"(module
            (memory 1)
            (data $d "\01\02\03\04")
            (func (export "run") (result i64)
              (memory.fill (i32.const 8) (i32.const 0xaa) (i32.const 4))
              (memory.init $d (i32.const 10) (i32.const 1) (i32.const 3))
              (memory.copy (i32.const 11) (i32.const 8) (i32.const 4))
              (i64.load (i32.const 8)))
            (func (export "dropped") (result i32)
              (data.drop $d) (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 0))
            (func (export "empty_at_end") (result i32)
              (memory.fill (i32.const 65536) (i32.const 0) (i32.const 0)) (i32.const 1))
            (func (export "oob") (result i32)
              (memory.copy (i32.const 65535) (i32.const 0) (i32.const 2)) (i32.const 0)))"#;
        // fill: aa aa aa aa at 8; init: 02 03 04 at 10; copy 8..12 -> 11..15: aa aa 02 aa aa 02 03.
        let expected = u64::from_le_bytes([0xaa, 0xaa, 0x02, 0xaa, 0xaa, 0x02, 0x03, 0]);
        assert_eq!(both(wat, "run", &[]), Ok(Val::I64(expected as i64)));
        assert_eq!(both(wat, "dropped", &[]), Err(TrapCode::MemoryOutOfBounds));
        assert_eq!(both(wat, "empty_at_end", &[]), Ok(Val::I32(1)));
        assert_eq!(both(wat, "oob", &[]), Err(TrapCode::MemoryOutOfBounds));
    }

    #[test]
    fn simd_refusals_are_recorded_as_simd() {
        let wat = r#"(module
            (func (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4)))
            (func (param v128))
            (func (result f32) (f32.const 1)))"#;
        let module = Module::new(&baseline(), wat).unwrap();
        let refused: Vec<_> =
            module.tier1_refusals().iter().map(|r| (r.func_index, r.touches_simd)).collect();
        assert_eq!(refused, [(0, true), (1, true)]);
    }

    #[test]
    fn functions_with_simd_stay_in_the_interpreter() {
        let wat = r#"(module
            (func $leaf (result i32) (i32.const 1))
            (func (export "caller") (result i32) (call $leaf))
            (func (export "simd") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))"#;
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
        let engine = Engine::new(Config { tier: Tier::Baseline.into(), ..config.clone() });
        let (wat, num_loads, num_stores) = memory_module(offset);
        let module = Module::new(&engine, &wat).unwrap();
        assert!(
            (0..module.inner.tiers.len() as u32).all(|d| module
                .inner
                .tiers
                .compiled(d, Tier::Baseline)
                .is_some()),
            "tier 1 compiles everything"
        );
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

    /// Even/odd by mutual tail recursion, a million calls deep: `$even` tail-calls `$odd`
    /// directly and `$odd` tail-calls `$even` through the table. `$odd` touches SIMD, so tier 1
    /// never takes it: under `baseline` the chain alternates between tier 1 and the interpreter at
    /// every call. At 500_000, `$even` tail-calls the import `$hop`, which is `$odd` of another
    /// instance of the module, where the chain goes on; both functions end by tail-calling the
    /// host function `$host`.
    const TAIL_RECURSION: &str = r#"(module
        (import "other" "hop" (func $hop (param i64) (result i32)))
        (import "env" "host" (func $host (param i64) (result i32)))
        (type $t (func (param i64) (result i32)))
        (table 1 funcref)
        (elem (i32.const 0) $even)
        (func $even (export "even") (param i64) (result i32)
          (if (i64.eqz (local.get 0)) (then (return_call $host (i64.const 1))))
          (if (i64.eq (local.get 0) (i64.const 500000))
            (then (return_call $hop (i64.sub (local.get 0) (i64.const 1)))))
          (return_call $odd (i64.sub (local.get 0) (i64.const 1))))
        (func $odd (export "odd") (param i64) (result i32)
          (drop (v128.const i64x2 0 0))
          (if (i64.eqz (local.get 0)) (then (return_call $host (i64.const 0))))
          (return_call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1)) (i32.const 0))))"#;

    /// Runs [`TAIL_RECURSION`] from `even(n)` under `config`, with a wasm stack far too small for
    /// a million frames: every tail call must reuse its caller's frame, in every tier, across
    /// instances and into the host.
    fn run_tail_recursion(config: Config, n: i64) -> Result<Val, Error> {
        let engine = Engine::new(Config { max_wasm_stack: 64 << 10, ..config });
        let module = Module::new(&engine, TAIL_RECURSION)?;
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new();
        linker.func_wrap("env", "host", |_: crate::Caller<'_, ()>, x: i64| Ok(x as i32 + 700));
        // The other instance is the same module, with its own host function; its `hop` is never
        // reached (the chain enters it below 500_000).
        let mut first_linker = Linker::new();
        first_linker.func_wrap(
            "env",
            "host",
            |_: crate::Caller<'_, ()>, x: i64| Ok(x as i32 + 300),
        );
        first_linker.func_wrap("other", "hop", |_: crate::Caller<'_, ()>, _: i64| Ok(-1i32));
        let other = first_linker.instantiate(&mut store, &module)?;
        let odd = other.get_func(&store, "odd").unwrap();
        linker.define("other", "hop", crate::Extern::Func(odd));
        let instance = linker.instantiate(&mut store, &module)?;
        let mut out = [Val::I32(0)];
        let even = instance.get_func(&store, "even").unwrap();
        even.call(&mut store, &[Val::I64(n)], &mut out)?;
        Ok(out[0])
    }

    #[test]
    fn a_million_tail_calls_between_tiers_keep_both_stacks_constant() {
        let pinned = |tier: Tier| Config { tier: tier.into(), ..Config::default() };
        let auto = |threshold| Config {
            tier: crate::Tiering::Auto,
            tier_up: crate::TierUpPolicy { threshold, ..Default::default() },
            tier_up_mode: crate::TierUpMode::Sync,
            ..Config::default()
        };
        // An even `n` hops to the other instance at 500_000 and ends in its `host(1)` (301); an
        // odd one stays and ends in `odd(0)`, then this instance's `host(0)` (700).
        for (name, config) in [
            ("interp", pinned(Tier::Interp)),
            ("baseline", pinned(Tier::Baseline)),
            ("auto, tier 1 at once", auto(1)),
            ("auto, tier 1 midway", auto(200_000)),
        ] {
            let result = run_tail_recursion(config.clone(), 1_000_000);
            assert_eq!(result.unwrap(), Val::I32(301), "{name}");
            let result = run_tail_recursion(config, 1_000_001);
            assert_eq!(result.unwrap(), Val::I32(700), "{name}");
        }
    }

    /// A module without tail calls (whose direct calls of its own functions skip the check for
    /// a pending tail call: `MacroAssembler::set_module_tail_calls`) gets the results of an
    /// imported function that leaves chains pending, called directly or through its table, in
    /// every tier. Those chains come back through the runtime's import and table helpers, which
    /// run them: this guards that path; it does not fail if the call sites' stubs are dropped
    /// for imports or `call_indirect` (tried), and the stub a module with tail calls needs is
    /// what the own tail-call wast tests check.
    #[test]
    fn a_module_without_tail_calls_runs_the_tail_calls_its_imports_leave() {
        // `f` tail-calls an interpreted function (SIMD) and a host function: chains no tier
        // runs within the callee, which leaves them pending for the caller.
        let tail = r#"(module
            (import "env" "host" (func $host (param i32) (result i32)))
            (func $g (param i32) (result i32)
              (drop (v128.const i64x2 0 0))
              (return_call $host (i32.add (local.get 0) (i32.const 1))))
            (func (export "f") (param i32) (result i32) (return_call $g (local.get 0))))"#;
        let caller = r#"(module
            (import "tail" "f" (func $f (param i32) (result i32)))
            (type $t (func (param i32) (result i32)))
            (table 2 funcref)
            (elem (i32.const 0) $f $own)
            (func $own (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
            (func (export "run") (param i32) (result i32)
              (i32.add
                (i32.add (call $f (local.get 0)) (call $own (local.get 0)))
                (i32.add
                  (call_indirect (type $t) (local.get 0) (i32.const 0))
                  (call_indirect (type $t) (local.get 0) (i32.const 1))))))"#;
        for tier in [Tier::Interp, Tier::Baseline, Tier::Optimized] {
            let engine = Engine::new(Config { tier: tier.into(), ..Config::default() });
            let (tail, caller) = (Module::new(&engine, tail), Module::new(&engine, caller));
            let (tail, caller) = (tail.unwrap(), caller.unwrap());
            assert!(tail.inner.tail_calls && !caller.inner.tail_calls);
            let mut store = Store::new(&engine, ());
            let mut tail_linker = Linker::new();
            tail_linker.func_wrap("env", "host", |_: crate::Caller<'_, ()>, x: i32| Ok(x));
            let tail = tail_linker.instantiate(&mut store, &tail).unwrap();
            let mut linker = Linker::new();
            linker.define("tail", "f", crate::Extern::Func(tail.get_func(&store, "f").unwrap()));
            let instance = linker.instantiate(&mut store, &caller).unwrap();
            let run = instance.get_func(&store, "run").unwrap();
            let mut out = [Val::I32(0)];
            run.call(&mut store, &[Val::I32(20)], &mut out).unwrap();
            // f(20) = 21 twice, own(20) = 40 twice.
            assert_eq!(out[0], Val::I32(122), "{tier:?}");
        }
    }

    #[test]
    fn ordinary_recursion_still_exhausts_the_small_stack() {
        // The same depth with a `call` instead of the tail call traps: the test above would
        // catch a tail call that grew a stack.
        let wat = TAIL_RECURSION.replace("(return_call $odd", "(call $odd");
        let engine = Engine::new(Config {
            max_wasm_stack: 64 << 10,
            tier: Tier::Baseline.into(),
            ..Config::default()
        });
        let module = Module::new(&engine, wat.as_str()).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new();
        linker.func_wrap("env", "host", |_: crate::Caller<'_, ()>, x: i64| Ok(x as i32));
        linker.func_wrap("other", "hop", |_: crate::Caller<'_, ()>, _: i64| Ok(-1i32));
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let even = instance.get_func(&store, "even").unwrap();
        let err = even.call(&mut store, &[Val::I64(99_999)], &mut [Val::I32(0)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::StackOverflow);
    }

    /// A loop of tail calls that counts down, between a tier-1 function and an interpreted one
    /// (SIMD), with fuel: returns the fuel it consumed.
    fn tail_loop_fuel(tier: Tier, profiling: crate::ProfilingStrategy) -> u64 {
        let wat = r#"(module
            (type $t (func (param i32 i32) (result i32)))
            (table 1 funcref)
            (elem (i32.const 0) $b)
            (func $a (export "a") (param i32 i32) (result i32)
              (if (i32.eqz (local.get 0)) (then (return (local.get 1))))
              (return_call_indirect (type $t)
                (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (i32.const 2))
                (i32.const 0)))
            (func $b (param i32 i32) (result i32)
              (drop (v128.const i64x2 0 0))
              (return_call $a (local.get 0) (i32.add (local.get 1) (i32.const 1)))))"#;
        let engine = Engine::new(Config {
            tier: tier.into(),
            consume_fuel: true,
            profiling_strategy: profiling,
            guest_profile_interval: std::time::Duration::ZERO,
            ..Config::default()
        });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(1 << 40).unwrap();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let mut out = [Val::I32(0)];
        let a = instance.get_func(&store, "a").unwrap();
        a.call(&mut store, &[Val::I32(1000), Val::I32(0)], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(3000));
        (1 << 40) - store.fuel()
    }

    #[test]
    fn tail_calls_cost_the_same_fuel_in_every_tier_and_keep_the_guest_profile_balanced() {
        use crate::ProfilingStrategy::{Guest, None as NoProfiling};
        let interp = tail_loop_fuel(Tier::Interp, NoProfiling);
        assert!(interp > 2000, "a tail call costs fuel: {interp}");
        assert_eq!(tail_loop_fuel(Tier::Baseline, NoProfiling), interp, "baseline");
        // Under guest profiling every frame pushes an entry and a tail call pops its caller's:
        // `vm::call` asserts the profile stack is balanced after the call (debug builds).
        assert_eq!(tail_loop_fuel(Tier::Interp, Guest), interp, "interp, guest profiled");
        assert_eq!(tail_loop_fuel(Tier::Baseline, Guest), interp, "baseline, guest profiled");
    }

    #[test]
    fn a_frame_replaced_by_a_tail_call_leaves_the_backtrace() {
        // top calls mid, which tail-calls leaf (interpreted: SIMD), which traps: mid is gone.
        let wat = r#"(module
            (func $leaf (param i32) (result i32)
              (drop (v128.const i64x2 0 0))
              (i32.div_u (i32.const 1) (local.get 0)))
            (func $mid (param i32) (result i32) (return_call $leaf (local.get 0)))
            (func (export "top") (param i32) (result i32)
              (i32.add (call $mid (local.get 0)) (i32.const 1))))"#;
        let err = run(wat, &[false, true, true], "top", &[Val::I32(0)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::IntegerDivideByZero);
        let frames: Vec<_> = trap.backtrace.iter().map(|f| (f.func_index, f.tier)).collect();
        assert_eq!(frames, [(0, Tier::Interp), (2, Tier::Baseline)]);
        assert_eq!(run(wat, &[false, true, true], "top", &[Val::I32(1)]).unwrap(), Val::I32(2));
    }
}
