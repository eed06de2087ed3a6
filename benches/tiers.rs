//! Wall time of the engine's phases on the benchmark corpus, phase x workload x tier, like wasmi's
//! benches:
//!
//! - `compile/<program>`: `Module::new` on the `.wasm` bytes (decode, validate, translate);
//! - `instantiate/<program>`: a store, a WASI linker and the instance, from a compiled module;
//! - `execute/<program>/<tier>`: `_start` at the program's `small_args`, output discarded, on
//!   every implemented tier (see `common::TIER_NAMES`).
//!
//! The programs are `corpus/suite.txt`'s (programs whose files are missing are skipped). Few
//! samples and short measurement times keep a whole run within minutes; pass a filter as usual
//! with criterion: `cargo bench --bench tiers -- rust-mandel`, `-- execute/`, `-- /interp`.

mod common;

use common::Program;
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tierup::{Module, Tier};

fn compile(c: &mut Criterion, corpus: &[Program]) {
    let engine = common::engine(Tier::Interp, true);
    let mut group = c.benchmark_group("compile");
    for program in corpus {
        group.bench_function(&program.name, |b| {
            b.iter(|| Module::new(&engine, black_box(&program.wasm)).expect("compile"))
        });
    }
    group.finish();
}

fn instantiate(c: &mut Criterion, corpus: &[Program]) {
    let engine = common::engine(Tier::Interp, true);
    let mut group = c.benchmark_group("instantiate");
    for program in corpus {
        let module = Module::new(&engine, &program.wasm).expect("compile");
        group.bench_function(&program.name, |b| {
            b.iter_batched(
                || common::store(&engine, &program.name, &program.args),
                |mut store| {
                    common::instantiate(&mut store, &module);
                    store
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn execute(c: &mut Criterion, corpus: &[Program]) {
    let mut group = c.benchmark_group("execute");
    // Each run takes up to about a second on the interpreter: one run per sample.
    group.sampling_mode(SamplingMode::Flat);
    for tier in common::tiers() {
        let engine = common::engine(tier, true);
        for program in corpus {
            let module = Module::new(&engine, &program.wasm).expect("compile");
            group.bench_function(format!("{}/{tier}", program.name), |b| {
                common::bench_start(b, &engine, &module, program)
            });
        }
    }
    group.finish();
}

fn phases(c: &mut Criterion) {
    let corpus = common::corpus();
    compile(c, &corpus);
    instantiate(c, &corpus);
    execute(c, &corpus);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = phases
}
criterion_main!(benches);
