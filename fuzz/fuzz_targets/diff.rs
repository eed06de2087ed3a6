//! Fuzz target `diff`: every tier must agree with the interpreter.
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
use tierup::{Config, Engine, Error, Extern, Instance, Module, Store, Tier, TrapCode, Val};

#[path = "common.rs"]
mod common;

/// Loop iterations and calls a generated module may spend before its own budget traps.
const BUDGET: u32 = 10_000;
/// Tiers compared against the interpreter.
const TIERS: [Tier; 1] = [Tier::Baseline];

fuzz_target!(|data: &[u8]| {
    let instrument = |m: &mut wasm_smith::Module| {
        m.ensure_termination(BUDGET).map(drop).map_err(|_| arbitrary::Error::IncorrectFormat)
    };
    let Ok(wasm) = generate(data, instrument) else { return };
    let Some(reference) = outcomes(&wasm, Tier::Interp) else { return };
    for tier in TIERS {
        let observed = outcomes(&wasm, tier).expect("a module the interpreter runs compiles");
        // How deep recursion may go is the one thing tiers legitimately differ in: tier-1 calls
        // also use the host stack (and far more of it under ASan). Runs that exhaust the stack
        // on either side are not compared.
        if exhausted(&observed) || exhausted(&reference) {
            continue;
        }
        assert_eq!(observed, reference, "{tier} disagrees with the interpreter");
    }
});

/// What a run observably did: per call, results or trap; then exported memories and globals.
#[derive(Debug, PartialEq)]
struct Observed {
    calls: Vec<(String, Result<Vec<Val>, Option<TrapCode>>)>,
    memories: Vec<Vec<u8>>,
    globals: Vec<Val>,
}

fn outcomes(wasm: &[u8], tier: Tier) -> Option<Observed> {
    let engine = Engine::new(Config { tier, max_memory_size: Some(64 << 20), ..Config::default() });
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
