//! What the interpreter's profile counters cost (`Config::profile_counters`): the same workloads
//! with counting on and off, side by side in one group, `counters/<workload>/<on|off>`.
//!
//! - `fib`: call-heavy (recursive Fibonacci, every call counts an entry);
//! - `loop`: loop-heavy (a tight summing loop, every iteration counts a back-edge);
//! - a loop-heavy corpus program at its small size, the first of [`CORPUS_LOOP_PROGRAMS`] present.
//!
//! `cargo bench --bench counters`; compare the `on` and `off` medians of each workload.

mod common;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tierup::{Module, Tier, Val};

/// A loop-heavy workload: `sum(n)` adds `0 + 1 + ... + n-1` in an i64, one back-edge per number.
const LOOP_WAT: &str = r#"
(module
  (func (export "sum") (param $n i32) (result i64)
    (local $i i32) (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum)))
"#;

/// Iterations of `sum`.
const LOOP_N: i32 = 1_000_000;

/// Corpus programs dominated by loops, by preference; the first one present is measured.
const CORPUS_LOOP_PROGRAMS: [&str; 3] = ["c-sieve", "c-matmul", "rust-mandel"];

/// Whether counting is on, as the bench id shows it.
const SETTINGS: [(bool, &str); 2] = [(true, "on"), (false, "off")];

fn counters(c: &mut Criterion) {
    let mut group = c.benchmark_group("counters");
    let inline =
        [("fib", common::FIB_WAT, "fib", common::FIB_N), ("loop", LOOP_WAT, "sum", LOOP_N)];
    for (workload, wat, export, arg) in inline {
        for (profile_counters, setting) in SETTINGS {
            let engine = common::engine(Tier::Interp, profile_counters);
            let (mut store, func) = common::export(&engine, wat, export);
            group.bench_function(BenchmarkId::new(workload, setting), |b| {
                b.iter(|| common::call_i32(&mut store, func, black_box(arg)))
            });
        }
    }
    let program = CORPUS_LOOP_PROGRAMS
        .iter()
        .filter(|name| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name).is_dir()
        })
        .find_map(|name| common::program_named(name));
    if let Some(program) = program {
        for (profile_counters, setting) in SETTINGS {
            let engine = common::engine(Tier::Interp, profile_counters);
            let module = Module::new(&engine, &program.wasm).expect("compile");
            group.bench_function(BenchmarkId::new(&program.name, setting), |b| {
                common::bench_start(b, &engine, &module, &program)
            });
        }
    }
    group.finish();
}

/// Sanity: both settings compute the same results.
fn check() {
    for (profile_counters, _) in SETTINGS {
        let engine = common::engine(Tier::Interp, profile_counters);
        let (mut store, fib) = common::export(&engine, common::FIB_WAT, "fib");
        assert_eq!(common::call_i32(&mut store, fib, 10), Val::I32(55));
        let (mut store, sum) = common::export(&engine, LOOP_WAT, "sum");
        assert_eq!(common::call_i32(&mut store, sum, 10), Val::I64(45));
    }
}

fn benches(c: &mut Criterion) {
    check();
    counters(c);
}

criterion_group! {
    name = group;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(group);
