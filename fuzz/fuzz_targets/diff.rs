//! Fuzz target `diff`: every tier, and mixed mode, must agree with the interpreter.
//!
//! The input drives `wasm_smith` to generate a WebAssembly 2.0 module whose loops and calls are
//! instrumented to terminate (a global budget that traps when spent), so no fuel is needed and
//! tier 1 compiles everything it supports. The module runs once per tier in a fresh store with
//! identical dummy imports; every exported function is called with default arguments. For each
//! call the outcome (results bit for bit, or the trap code) must match the interpreter's, and so
//! must every exported memory and global at the end. Runs where a tier exhausts the call stack are
//! skipped: the maximum recursion depth is allowed to differ between tiers.

#![no_main]

use common::{dummy_import, generate};
use libfuzzer_sys::fuzz_target;
use tierup::{
    Config, Engine, Error, Extern, Instance, Module, Store, Tier, TierUpPolicy, Tiering, TrapCode,
    Val,
};

#[path = "common.rs"]
mod common;

/// Loop iterations and calls a generated module may spend before its own budget traps.
const BUDGET: u32 = 10_000;
/// The configurations compared against the interpreter: tier 1 up front; `auto` tiering up on
/// the first call; `auto` tiering up on the first loop back-edge only (on-stack replacement).
fn modes() -> [(&'static str, Tiering, TierUpPolicy); 3] {
    let first_call = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    let first_back_edge = TierUpPolicy { threshold: 1, call_weight: 0, back_edge_weight: 1 };
    [
        ("baseline", Tier::Baseline.into(), TierUpPolicy::default()),
        ("auto", Tiering::Auto, first_call),
        ("osr", Tiering::Auto, first_back_edge),
    ]
}

fuzz_target!(|data: &[u8]| {
    let instrument = |m: &mut wasm_smith::Module| {
        m.ensure_termination(BUDGET).map(drop).map_err(|_| arbitrary::Error::IncorrectFormat)
    };
    let Ok(wasm) = generate(data, instrument) else { return };
    let Some(reference) = outcomes(&wasm, Tier::Interp.into(), TierUpPolicy::default()) else {
        return;
    };
    for (mode, tier, policy) in modes() {
        let observed =
            outcomes(&wasm, tier, policy).expect("a module the interpreter runs compiles");
        // How deep recursion may go is the one thing tiers legitimately differ in: tier-1 calls
        // also use the host stack (and far more of it under ASan). Runs that exhaust the stack
        // on either side are not compared.
        if exhausted(&observed) || exhausted(&reference) {
            continue;
        }
        assert_eq!(observed, reference, "{mode} disagrees with the interpreter");
    }
});

/// What a run observably did: per call, results or trap; then exported memories and globals.
#[derive(Debug, PartialEq)]
struct Observed {
    calls: Vec<(String, Result<Vec<Val>, Option<TrapCode>>)>,
    memories: Vec<Vec<u8>>,
    globals: Vec<Val>,
}

fn outcomes(wasm: &[u8], tier: Tiering, tier_up: TierUpPolicy) -> Option<Observed> {
    let config = Config { tier, tier_up, max_memory_size: Some(64 << 20), ..Config::default() };
    let engine = Engine::new(config);
    let module = Module::new(&engine, wasm).ok()?;
    let mut store = Store::new(&engine, ());
    let mut imports = Vec::new();
    for (_, _, ty) in module.imports() {
        imports.push(dummy_import(&mut store, ty)?);
    }
    let instance = match Instance::new(&mut store, &module, &imports) {
        Ok(instance) => instance,
        // The start function may trap: compare that too, with no calls after it.
        Err(e) => {
            return Some(Observed {
                calls: vec![("<start>".into(), Err(trap_code(&e)))],
                memories: Vec::new(),
                globals: Vec::new(),
            });
        }
    };
    let mut calls = Vec::new();
    for (name, ext) in instance.exports(&store) {
        let Extern::Func(func) = ext else { continue };
        let ty = func.ty(&store);
        let args: Vec<Val> = ty.params().iter().map(|t| Val::default_for(*t)).collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        let outcome = match func.call(&mut store, &args, &mut results) {
            Ok(()) => Ok(results.into_iter().map(canonical_nan).collect()),
            Err(e) => Err(trap_code(&e)),
        };
        calls.push((name, outcome));
    }
    let mut memories = Vec::new();
    let mut globals = Vec::new();
    for (_, ext) in instance.exports(&store) {
        match ext {
            Extern::Memory(m) => memories.push(m.data(&store).to_vec()),
            Extern::Global(g) => globals.push(canonical_nan(g.get(&store))),
            _ => {}
        }
    }
    Some(Observed { calls, memories, globals })
}

fn exhausted(observed: &Observed) -> bool {
    observed.calls.iter().any(|(_, outcome)| *outcome == Err(Some(TrapCode::StackOverflow)))
}

fn trap_code(e: &Error) -> Option<TrapCode> {
    e.as_trap().map(|t| t.code.clone())
}

/// Wasm lets any NaN result have any payload; tiers may differ there and still be right.
fn canonical_nan(v: Val) -> Val {
    match v {
        Val::F32(b) if f32::from_bits(b).is_nan() => Val::F32(0x7fc0_0000),
        Val::F64(b) if f64::from_bits(b).is_nan() => Val::F64(0x7ff8_0000_0000_0000),
        other => other,
    }
}
