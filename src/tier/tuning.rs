//! Every tier-up knob in one place, with the reason for its default. Knobs decide *when* code
//! moves between tiers, never *what* it computes: any setting gives the same results.

/// When the interpreter hands a function to tier 1.
///
/// A function's hotness is `calls * call_weight + back_edges * back_edge_weight`; it is compiled
/// once hotness reaches `threshold`. The countdown lives in the function's profile, so the check
/// on the interpreter's hot paths is one decrement and one sign test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierUpPolicy {
    /// Hotness at which a function is compiled (`--tier-up-threshold`); 1 compiles on the first
    /// call.
    pub threshold: u64,
    /// Hotness one call adds.
    pub call_weight: u64,
    /// Hotness one loop back-edge adds.
    pub back_edge_weight: u64,
    /// Hotness in tier 1 at which a function is compiled by tier 2 (`--opt-threshold`), counted
    /// with the same weights from its move to tier 1.
    pub opt_threshold: u64,
    /// A function that gets hot at a loop having been called at most this many times moves up
    /// by that loop's on-stack-replacement entry alone, where the tier compiles those apart
    /// (tier 2): the whole function's compile, which a hot loop otherwise gets first, helps only
    /// calls still to come. Once: rust-regex-json's `main` took the compile thread for 56 ms
    /// before its loop's entry was even queued, while the functions of its JSON phase waited;
    /// at 10, deflate's `compress_inner` (3 calls, its loops hot in each) ran its second and
    /// third calls in tier 1 until their loops were hot again (its tier-1 `perf` samples, one run
    /// each: 125 at 10, 69 before this knob). A function called more often than this gets its
    /// whole compile at its next hot moment.
    pub loop_entry_first_calls: u64,
}

impl Default for TierUpPolicy {
    /// JavaScriptCore moves a function to its wasm baseline JIT (BBQ) after roughly 150 calls'
    /// worth of execution counter, and V8 tiers up from Liftoff by a budget spent per call and per
    /// loop iteration. Tier 1 compiles about 19 MB of wasm per second (`tierup bench`, record
    /// `results/2026-11-26-8311d27.json`: about 5 us per KB of function body), so a function pays
    /// back after a few hundred interpreted iterations: 1000 hotness with a call worth 10
    /// back-edges compiles after 100 calls or 1000 iterations.
    ///
    /// Tier 2 compiles 10-50x slower than tier 1 and pays back only on code that keeps running:
    /// a hundred times tier 1's threshold (10,000 calls or 100,000 iterations in tier 1), as
    /// JavaScriptCore waits about a hundred times longer before its optimizing wasm tier than
    /// before its baseline one.
    fn default() -> TierUpPolicy {
        TierUpPolicy {
            threshold: 1000,
            call_weight: 10,
            back_edge_weight: 1,
            opt_threshold: 100_000,
            loop_entry_first_calls: 1,
        }
    }
}

impl TierUpPolicy {
    /// The budget a fresh profile starts with.
    pub(crate) fn initial_budget(&self) -> i64 {
        self.threshold.min(i64::MAX as u64) as i64
    }

    /// The budget a function gets in tier 1 when tier 2 is enabled.
    pub(crate) fn opt_budget(&self) -> i64 {
        self.opt_threshold.clamp(1, i64::MAX as u64) as i64
    }

    /// The budget a function gets while its compile into `awaited` is pending: how often (in
    /// hotness) the running code looks again whether the new code is ready. An eighth of the
    /// budget that made it hot for that tier: a loop that asked for tier 1 moves into it within
    /// an eighth of the work that made it hot, and each look is one cold call. Scaled by the
    /// awaited tier because tier-2 compiles take tens of milliseconds (more when the compile
    /// thread waits for a core): polling at tier 1's interval meanwhile made rust-regex-json's
    /// tier-1 code leave for the runtime every dozen calls, 14% slower than without tier 2.
    pub(crate) fn poll_interval(&self, awaited: super::Tier) -> i64 {
        let budget = match awaited {
            super::Tier::Optimized => self.opt_budget(),
            super::Tier::Interp | super::Tier::Baseline => self.initial_budget(),
        };
        (budget / 8).max(1)
    }
}

/// How many times longer tier 2 takes than tier 1 to compile the same function, for guessing
/// a tier-2 compile's time before making it: tier 1 alone compiles 34.6 MB of wasm per second,
/// tier 2 1.63 MB/s, pipeline included (record `results/2026-12-06-e46cb7e.json`).
pub(crate) const TIER2_COMPILE_OVER_TIER1: u32 = 20;

/// Compile threads a background tier-up uses by default: one per core but the one the program
/// runs on, at least one.
pub fn default_compile_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).max(1)
}
