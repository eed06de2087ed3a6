//! Value-carrying branches on every tier (issue #10): `tests/data/branch-values.wast` holds one
//! function per shape (each branch form to each kind of label, carrying pending local reads,
//! constants and multi-value call results over stale temporaries), with the taken and the untaken
//! outcome asserted. The tiers are set up as in `tests/spec.rs`.

use tierup::wast::run_wast;
use tierup::{Config, Tier, TierUpPolicy, Tiering};

const SCRIPT: &str = "tests/data/branch-values.wast";

fn run_script(mode: &str, config: Config) {
    let source = std::fs::read_to_string(SCRIPT).expect("the script is readable");
    let report = run_wast(&config, SCRIPT, &source);
    println!("{SCRIPT} on {mode}: {} passed, {} failed", report.passed, report.failed);
    assert!(report.passed > 0, "the script ran no directive");
    assert!(report.failures.is_empty(), "on {mode}:\n{}", report.failures.join("\n"));
    let refused: Vec<&str> = report.refusals.iter().map(|(what, _)| what.as_str()).collect();
    assert!(refused.is_empty(), "refused on {mode}:\n{}", refused.join("\n"));
}

#[test]
fn branch_values_interp() {
    run_script("interp", Config { tier: Tier::Interp.into(), ..Config::default() });
}

/// Tier 1 compiles every function up front.
#[test]
fn branch_values_baseline() {
    run_script("baseline", Config { tier: Tier::Baseline.into(), ..Config::default() });
}

/// `auto` compiling every function on its first call.
#[test]
fn branch_values_auto() {
    let tier_up = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    run_script("auto, first call", Config { tier: Tiering::Auto, tier_up, ..Config::default() });
}

/// `auto` where only loops count: the loop shapes enter tier 1 at their header on the first
/// back-edge (on-stack replacement), with the values the interpreter's frame holds.
#[test]
fn branch_values_on_stack_replacement() {
    let tier_up =
        TierUpPolicy { threshold: 1, call_weight: 0, back_edge_weight: 1, ..Default::default() };
    run_script(
        "auto, first back-edge",
        Config { tier: Tiering::Auto, tier_up, ..Config::default() },
    );
}

/// Tier 2 compiles every function up front.
#[test]
fn branch_values_optimized() {
    run_script("optimized", Config { tier: Tier::Optimized.into(), ..Config::default() });
}

/// `auto` through all three tiers: tier 1 at the first call, tier 2 at the next.
#[test]
fn branch_values_three_tiers() {
    let tier_up = TierUpPolicy { threshold: 1, opt_threshold: 1, ..TierUpPolicy::default() };
    run_script("auto, three tiers", Config { tier: Tiering::Auto, tier_up, ..Config::default() });
}

/// `auto` where only loops count, into tier 2 by on-stack replacement at the second back-edge.
#[test]
fn branch_values_on_stack_replacement_into_tier_2() {
    let tier_up =
        TierUpPolicy { threshold: 1, call_weight: 0, opt_threshold: 1, ..TierUpPolicy::default() };
    run_script(
        "auto, first back-edges into tiers 1 and 2",
        Config { tier: Tiering::Auto, tier_up, ..Config::default() },
    );
}
