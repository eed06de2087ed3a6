//! Instruction counts per tier, under Valgrind's Callgrind, with gungraun (formerly
//! iai-callgrind): deterministic numbers that show a change of a few instructions per operator
//! where wall time would drown it in noise.
//!
//! One library benchmark per corpus program (at its small size, output discarded) per implemented
//! tier (`common::TIER_NAMES`, the list the criterion benches use), plus `fib(25)`. Compiling and
//! instantiating happen in the setup and are not counted: only the `_start` (or `fib`) call is.
//! Gungraun numbers the cases (`corpus_0`, `corpus_1`, ...); the legend printed first says which
//! program and tier each is.
//!
//! Needs `valgrind` and `gungraun-runner` at exactly the gungraun version in Cargo.toml (both
//! installed by `scripts/setup`). `cargo bench --bench instructions`; filter as gungraun does,
//! e.g. `cargo bench --bench instructions -- corpus_1`.

mod common;

use common::Program;
use gungraun::{LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main};
use std::hint::black_box;
use tierup::wasi::WasiCtx;
use tierup::{Func, Module, Store, Tier, Val};

/// Every corpus program on every implemented tier, programs first: the order gungraun numbers.
fn corpus_cases() -> Vec<(Program, Tier)> {
    let corpus = common::corpus();
    corpus.iter().flat_map(|p| common::tiers().into_iter().map(|t| (p.clone(), t))).collect()
}

/// Compiles and instantiates a case, ready to call `_start`.
fn prepare_program((program, tier): (Program, Tier)) -> (Store<WasiCtx>, Func) {
    let engine = common::engine(tier, true);
    let module = Module::new(&engine, &program.wasm).expect("compile");
    let mut store = common::store(&engine, &program.name, &program.args);
    let start = common::instantiate(&mut store, &module);
    (store, start)
}

#[library_benchmark]
#[benches::corpus(iter = corpus_cases(), setup = prepare_program)]
fn program((mut store, start): (Store<WasiCtx>, Func)) -> Store<WasiCtx> {
    common::run(&mut store, start);
    store
}

/// `fib` compiled and instantiated on `tier`.
fn prepare_fib(tier: Tier) -> (Store<()>, Func) {
    common::export(&common::engine(tier, true), common::FIB_WAT, "fib")
}

#[library_benchmark]
#[benches::fib(iter = common::tiers(), setup = prepare_fib)]
fn fib((mut store, fib): (Store<()>, Func)) -> Val {
    common::call_i32(&mut store, fib, black_box(common::FIB_N))
}

library_benchmark_group!(name = instructions, benchmarks = [program, fib]);

/// The configuration, after printing which case is which: gungraun evaluates it once, in the
/// process `cargo bench` starts, before running the cases under Valgrind.
fn config_with_legend() -> LibraryBenchmarkConfig {
    eprintln!("instructions: the cases, as gungraun numbers them:");
    for (i, (program, tier)) in corpus_cases().iter().enumerate() {
        eprintln!("  corpus_{i:<3} {} {} on {tier}", program.name, program.args.join(" "));
    }
    for (i, tier) in common::tiers().iter().enumerate() {
        eprintln!("  fib_{i:<6} fib({}) on {tier}", common::FIB_N);
    }
    LibraryBenchmarkConfig::default()
}

main!(config = config_with_legend(); library_benchmark_groups = instructions);
