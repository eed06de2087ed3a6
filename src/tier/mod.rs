//! Tiering: which tier each function runs in, and moving it up.
//!
//! Every function starts in the interpreter (tier 0). Every counting tier spends the function's
//! budget on calls and loop back-edges ([`tuning`]); when it runs out, the tier calls `on_hot`
//! (compiled code through `VmCtx::hot`), which decides here whether and where the function goes
//! next, asks that tier's `Compiler` (`compiler.rs`) for code (on a compile thread, or at
//! once with [`TierUpMode::Sync`]), installs the result by swapping the function's entry in its
//! module's function table (`state.rs`), and hands the running code the new entry: at a call,
//! the function's entry; at a loop back-edge, the entry of that loop's header (on-stack
//! replacement). A tier never names another tier's compiler: it only reports hotness here.
//!
//! ```text
//! budget runs out --> on_hot --> compile (queue or now) --> install: entry swap
//!                        ^                                      |
//!                        +-- next call / back-edge takes it <---+
//! ```

pub(crate) mod compiler;
pub mod jitdump;
pub mod perfmap;
pub(crate) mod queue;
pub(crate) mod state;
pub mod tuning;

pub use compiler::CompileError;
pub use state::{CompileState, TierTimeline};

use crate::interp::InterpFunc;
use crate::module::{Module, ModuleInner};
use crate::vm::vmctx::{FuncEntry, HOT_AT_ENTRY, HOT_CONTINUE, VmCtx};
use compiler::Compiler;
use state::{ModuleTiers, Slot};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// An execution tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Tier 0: the bytecode interpreter. Every function starts here; it defines the reference semantics.
    Interp,
    /// Tier 1: the template JIT (every WebAssembly 2.0 instruction but SIMD).
    Baseline,
    /// Tier 2: the optimizing tier (the SSA pass pipeline, then regalloc2 and its own lowering).
    Optimized,
}

impl Tier {
    /// The tier's lowercase name (`interp`, `baseline`, `optimized`), as `--tier` takes it and
    /// backtraces show it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimized",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Tier, String> {
        match s {
            "interp" => Ok(Tier::Interp),
            "baseline" => Ok(Tier::Baseline),
            "optimized" => Ok(Tier::Optimized),
            "2" => Ok(Tier::Optimized),
            "0" => Ok(Tier::Interp),
            "1" => Ok(Tier::Baseline),
            _ => Err(format!("unknown tier `{s}` (expected: interp, baseline or optimized)")),
        }
    }
}

/// How functions are assigned to tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tiering {
    /// Every function runs in this tier from its first call. [`Tier::Baseline`] compiles every
    /// function when the module is created; a function tier 1 refuses (SIMD) is interpreted.
    Pinned(Tier),
    /// Functions start in the interpreter and move to tier 1 when hot (see [`tuning`]).
    Auto,
}

impl Tiering {
    /// The name `--tier` takes: a tier's name, or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Tiering::Pinned(tier) => tier.name(),
            Tiering::Auto => "auto",
        }
    }
}

impl From<Tier> for Tiering {
    fn from(tier: Tier) -> Tiering {
        Tiering::Pinned(tier)
    }
}

impl fmt::Display for Tiering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tiering {
    type Err = String;
    fn from_str(s: &str) -> Result<Tiering, String> {
        match s {
            "auto" => Ok(Tiering::Auto),
            "interp" | "baseline" | "optimized" => s.parse::<Tier>().map(Tiering::Pinned),
            _ => Err(format!("unknown tier `{s}` (expected: interp, baseline, optimized or auto)")),
        }
    }
}

/// Whether tier-up compiles in the background or on the thread that asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TierUpMode {
    /// Requests go to compile threads; the requesting code keeps running in its tier and takes
    /// the new code at its next call or loop back-edge.
    #[default]
    Background,
    /// The thread whose budget ran out compiles at once and continues in the new code: the
    /// moments of every tier change are deterministic (for experiments and tests). Results never
    /// depend on the mode.
    Sync,
}

impl FromStr for TierUpMode {
    type Err = String;
    fn from_str(s: &str) -> Result<TierUpMode, String> {
        match s {
            "background" => Ok(TierUpMode::Background),
            "sync" => Ok(TierUpMode::Sync),
            _ => Err(format!("unknown tier-up mode `{s}` (expected: background or sync)")),
        }
    }
}

/// When compiled code spends the tier-up budget as it counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BudgetChecks {
    /// Only where a higher tier is enabled to move to: code in the top tier only counts.
    #[default]
    WhenUseful,
    /// Everywhere tier-1 code counts, whether or not anything can come of it: to measure what the
    /// checks cost. Results never depend on it.
    Always,
}

impl FromStr for BudgetChecks {
    type Err = String;
    fn from_str(s: &str) -> Result<BudgetChecks, String> {
        match s {
            "useful" => Ok(BudgetChecks::WhenUseful),
            "always" => Ok(BudgetChecks::Always),
            _ => Err(format!("unknown budget-check mode `{s}` (expected: useful or always)")),
        }
    }
}

/// Whether code compiled by `tier` under `config` spends the tier-up budget (see
/// [`BudgetChecks`]).
pub(crate) fn budget_checks_in(config: &crate::Config, tier: Tier) -> bool {
    next_tier(config, tier).is_some() || config.budget_checks == BudgetChecks::Always
}

/// Why a function was asked to move up a tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierUpEvent {
    /// Its call count at that moment.
    pub calls: u64,
    /// Its back-edge count at that moment.
    pub back_edges: u64,
    /// Time since its module was created.
    pub elapsed: Duration,
    /// Whether its budget ran out in a running loop (so it moves up by on-stack replacement)
    /// rather than at a call.
    pub osr: bool,
}

/// Profiling counters of one function, shared by every instance of its module.
///
/// Counted on function entry and on loop back-edges only (never per instruction), by every tier
/// that counts: the interpreter and tier 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FuncProfile {
    /// Number of times the function was entered.
    pub calls: u64,
    /// Number of taken branches back to a loop header.
    pub back_edges: u64,
    /// When the function was asked to move up to tier 1, if it was.
    pub tiered_up: Option<TierUpEvent>,
}

/// A row of `tierup run --stats`: one defined function's counters and current tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncStats {
    /// Index in the module's function index space.
    pub func_index: u32,
    /// The function's name from the name section, else its first export name; `None` if it has
    /// neither.
    pub name: Option<String>,
    /// Its profiling counters (calls and loop back-edges).
    pub profile: FuncProfile,
    /// The tier it currently runs in (its newest installed code).
    pub tier: Tier,
    /// Its tier-1 code's compile time and size in bytes, when it has tier-1 code.
    pub compiled: Option<(Duration, usize)>,
    /// Its tier-1 compilation: where it stands and when it was requested, started and installed.
    pub baseline: TierTimeline,
    /// Its tier-2 code's compile time and size in bytes, when it has tier-2 code.
    pub optimized_code: Option<(Duration, usize)>,
    /// Its tier-2 compilation, as `baseline` for tier 1.
    pub optimized: TierTimeline,
    /// Tier 2's numbers about its compile (IR sizes before and after the pipeline, calls
    /// inlined, spills, ...), by name; empty without tier-2 code.
    pub optimizer_stats: Vec<(&'static str, u64)>,
}

/// The hotness a function starts with, and is given again after moving to `tier`: the
/// threshold for leaving `tier` when a higher tier is enabled, else a budget that never runs out.
fn budget_for(config: &crate::Config, tier: Tier) -> i64 {
    match next_tier(config, tier) {
        Some(Tier::Optimized) => config.tier_up.opt_budget(),
        Some(_) => config.tier_up.initial_budget(),
        None => i64::MAX,
    }
}

/// The tier a function running in `tier` moves to when hot, if any.
fn next_tier(config: &crate::Config, tier: Tier) -> Option<Tier> {
    match (config.tier, tier) {
        (Tiering::Auto, Tier::Interp) => Some(Tier::Baseline),
        (Tiering::Auto, Tier::Baseline) => Some(Tier::Optimized),
        _ => None,
    }
}

/// The compiler of compiled tier `tier`.
fn compiler(tier: Tier) -> Option<&'static dyn Compiler> {
    match tier {
        Tier::Baseline => Some(&crate::jit::BASELINE),
        Tier::Optimized => Some(&crate::opt::OPTIMIZED),
        Tier::Interp => None,
    }
}

/// The tier state of a new module with `num_defined` functions under `config`: every function
/// entered through the interpreter, with its first budget.
pub(crate) fn new_module_tiers(config: &crate::Config, num_defined: usize) -> ModuleTiers {
    ModuleTiers::new(num_defined, crate::interp::ENTRY, budget_for(config, Tier::Interp))
}

/// What a module needs before its first instance: with tier 1 or 2 pinned, every function
/// compiled (refusals recorded; tier 2's refused run in tier 1 when it takes them, else in the
/// interpreter). A compiler bug is an error.
pub(crate) fn prepare(module: &Module) -> crate::Result<()> {
    let m = &module.inner;
    let Tiering::Pinned(tier @ (Tier::Baseline | Tier::Optimized)) = m.config.tier else {
        return Ok(());
    };
    compile_up_front(m, tier);
    let refused_internally = |def: u32, tier: Tier| match m.tiers.timeline(def, tier).state {
        CompileState::Refused(reason) => reason.starts_with("internal").then_some(reason),
        _ => None,
    };
    for def in 0..m.tiers.len() as u32 {
        if let Some(reason) = refused_internally(def, tier) {
            return Err(crate::Error::Internal(reason));
        }
        // A function tier 2 refuses (SIMD) runs in the best tier that takes it.
        if tier == Tier::Optimized && m.tiers.best_tier(def) == Tier::Interp {
            compile_and_install(module, def, Tier::Baseline);
        }
    }
    Ok(())
}

/// Compiles every defined function of `m` in `tier` as one batch (the compiler places all their
/// code in one mapping) and installs the code; code loaded from an artifact or the cache goes
/// into a mapping of its own the same way. Tier 1 without fuel never passes a frame to tier 0, so
/// its layouts come from what validation recorded, without translating bodies for tier 0 (which
/// fuel segments need); tier 2 lays its frames out as tier 0 does.
fn compile_up_front(m: &ModuleInner, tier: Tier) {
    let compiler = compiler(tier).expect("a compiling tier");
    let started = m.tiers.elapsed();
    let scanned: Vec<_> = if tier == Tier::Baseline && !m.config.consume_fuel {
        (0..m.tiers.len() as u32).map(|def| crate::vm::frame::compact_layout(m, def)).collect()
    } else {
        Vec::new()
    };
    let mut jobs = Vec::with_capacity(m.tiers.len());
    let mut loaded = Vec::new();
    for def in 0..m.tiers.len() as u32 {
        m.tiers.update_timeline(def, tier, |t| {
            t.state = CompileState::Compiling;
            t.compile_started = Some(started);
        });
        match m.tiers.take_precompiled(Slot { def, tier, osr: None }) {
            Some(Ok(parts)) => {
                loaded.push((def, parts));
                continue;
            }
            Some(Err(reason)) => {
                finish_compile(m, def, tier, Err(CompileError::Unsupported(reason)));
                continue;
            }
            None => {}
        }
        let layout = match scanned.get(def as usize) {
            Some(scanned) => scanned.as_ref().map_err(|e| e.to_string()),
            None => interp_code(m, def).map(|code| &code.layout).map_err(str::to_string),
        };
        match layout {
            Ok(layout) => jobs.push((def, layout, profile(m, def))),
            Err(e) => {
                let outcome = Err(CompileError::Internal(format!("translation failed: {e}")));
                finish_compile(m, def, tier, outcome);
            }
        }
    }
    let (defs, parts): (Vec<u32>, Vec<_>) = loaded.into_iter().unzip();
    if !parts.is_empty() {
        match compiler.place_loaded(m, parts) {
            Ok(code) => {
                defs.into_iter().zip(code).for_each(|(def, c)| finish_compile(m, def, tier, Ok(c)))
            }
            Err(e) => {
                for def in defs {
                    finish_compile(m, def, tier, Err(CompileError::Internal(e.to_string())));
                }
            }
        }
    }
    if jobs.is_empty() {
        return;
    }
    let outcomes = compiler.compile_batch(m, &jobs);
    m.tiers.mark_compiled_here();
    for ((def, _, _), outcome) in jobs.iter().zip(outcomes) {
        finish_compile(m, *def, tier, outcome);
    }
}

/// Code loaded for a compile in `tier` (or its stored refusal), mapped as the compile's outcome.
fn loaded_outcome(
    m: &ModuleInner,
    tier: Tier,
    loaded: Result<crate::code::CompiledParts, String>,
) -> Result<crate::code::CompiledFunc, CompileError> {
    let parts = loaded.map_err(CompileError::Unsupported)?;
    let compiler =
        compiler(tier).ok_or_else(|| CompileError::Internal(format!("no tier {tier}")))?;
    let mut placed =
        compiler.place_loaded(m, vec![parts]).map_err(|e| CompileError::Internal(e.to_string()))?;
    Ok(placed.pop().expect("one placed function"))
}

/// Tier 0's code of defined function `def`, translating it the first time.
#[inline]
pub(crate) fn interp_code(module: &ModuleInner, def: u32) -> Result<&InterpFunc, &str> {
    module.tiers.interp_code(def, || {
        let func_index = module.num_imported_funcs + def;
        crate::interp::translate_function(module, func_index, &module.function_body(def))
            .map_err(|e| e.to_string())
    })
}

/// Tier 0's debug translation of defined function `def` (a hook before every wasm
/// instruction, `interp::debug`), translating it the first time.
pub(crate) fn debug_code(module: &ModuleInner, def: u32) -> Result<&InterpFunc, &str> {
    module.tiers.debug_code(def, || {
        let func_index = module.num_imported_funcs + def;
        crate::interp::translate_for_debugging(module, func_index, &module.function_body(def))
            .map_err(|e| e.to_string())
    })
}

/// Keeps defined function `def` in its debug translation from its next call on (one more
/// reason: see [`ModuleTiers::add_debug_mark`]); tiering leaves it alone until the last reason
/// goes. A frame of it running in a compiled tier finishes there.
pub(crate) fn add_debug_mark(module: &ModuleInner, def: u32) -> Result<(), String> {
    debug_code(module, def).map_err(str::to_string)?;
    module.tiers.add_debug_mark(def, crate::interp::DEBUG_ENTRY);
    Ok(())
}

/// Drops one reason [`add_debug_mark`] added; after the last, `def` runs its best code again
/// and may tier up.
pub(crate) fn remove_debug_mark(module: &ModuleInner, def: u32) {
    module.tiers.remove_debug_mark(def, crate::interp::ENTRY);
    if !module.tiers.is_debug_marked(def) {
        let best = module.tiers.best_tier(def);
        module
            .tiers
            .counters(def)
            .budget
            .store(budget_for(&module.config, best), Ordering::Relaxed);
    }
}

/// Where a function's budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site {
    /// At a call (its entry).
    Entry,
    /// At a back-edge to the header of its loop with this ordinal.
    Loop(usize),
}

/// Defined function `def`, running in `running`, has spent its budget at `site`: decides what
/// happens next. Returns the entry to continue in, when newer code is installed (at a loop, that
/// loop header's on-stack-replacement entry); otherwise the caller carries on where it is, with a
/// fresh budget.
pub(crate) fn on_hot(module: &Module, def: u32, running: Tier, site: Site) -> Option<FuncEntry> {
    let m = &module.inner;
    let counters = m.tiers.counters(def);
    if m.tiers.is_debug_marked(def) {
        // A debugger keeps it in tier 0 (`remove_debug_mark` gives it a budget again).
        counters.budget.store(i64::MAX, Ordering::Relaxed);
        return None;
    }
    let best = m.tiers.best_tier(def);
    if best > running {
        let code = m.tiers.compiled(def, best)?;
        let entry = match site {
            Site::Entry => Some(code.entry()),
            Site::Loop(ordinal) => match code.osr_entry(ordinal) {
                Some(entry) => Some(entry),
                None => {
                    let budget = budget_for(&m.config, best);
                    return osr_variant(module, def, best, ordinal as u32, budget);
                }
            },
        };
        counters.budget.store(budget_for(&m.config, best), Ordering::Relaxed);
        return entry;
    }
    let Some(next) = next_tier(&m.config, running) else {
        counters.budget.store(i64::MAX, Ordering::Relaxed);
        return None;
    };
    if let Site::Loop(ordinal) = site
        && moves_up_by_loop_entry_first(m, def, ordinal, next)
    {
        // Once this loop has moved up, the function's next hot moment in this tier (a later
        // call, by then called more often than `loop_entry_first_calls`) comes after a poll
        // interval, not a whole budget: it asks for the whole function and takes a ready entry.
        let budget = m.config.tier_up.poll_interval(next);
        return osr_variant(module, def, next, ordinal as u32, budget);
    }
    if let Site::Loop(ordinal) = site
        && let Some(state::OsrVariant::Ready(code)) = m.tiers.osr_variant(def, ordinal as u32)
    {
        // An earlier call moved up by this loop's entry: this one takes it at once, and its
        // hot moment asks for the whole function's compile below, for the calls still to come
        // (waiting for that compile kept deflate's `compress_inner` in tier 1 for the first
        // 100,000 back-edges of its second call, and longer while the queue was busy).
        request_compile(module, def, next, site);
        counters.budget.store(m.config.tier_up.poll_interval(next), Ordering::Relaxed);
        return Some(code.entry());
    }
    if let CompileState::Refused(_) = request_compile(module, def, next, site) {
        counters.budget.store(i64::MAX, Ordering::Relaxed);
        return None;
    }
    if m.tiers.best_tier(def) > running {
        return on_hot(module, def, running, site);
    }
    counters.budget.store(m.config.tier_up.poll_interval(next), Ordering::Relaxed);
    None
}

/// Asks for `def`'s compile into `next` (hot at `site`) unless it was asked for before: queued
/// for a compile thread, or compiled here when tier-up is synchronous or no thread runs. Returns
/// the compile's state before this request.
fn request_compile(module: &Module, def: u32, next: Tier, site: Site) -> CompileState {
    let m = &module.inner;
    let counters = m.tiers.counters(def);
    let event = TierUpEvent {
        calls: counters.calls.load(Ordering::Relaxed),
        back_edges: counters.back_edges.load(Ordering::Relaxed),
        elapsed: m.tiers.elapsed(),
        osr: matches!(site, Site::Loop(_)),
    };
    let background = m.config.tier_up_mode == TierUpMode::Background;
    let state = m.tiers.update_timeline(def, next, |t| {
        let state = t.state.clone();
        if state == CompileState::NotRequested {
            t.requested = Some(event);
            t.state = if background { CompileState::Queued } else { CompileState::Compiling };
        }
        state
    });
    if state == CompileState::NotRequested {
        let job = background.then(|| queue::Job::new(module, def, next, None));
        if !job.is_some_and(|job| m.engine.compile_queue().submit(job)) {
            // Synchronous, or no compile thread: compile here rather than never.
            compile_and_install(module, def, next);
        }
    }
    state
}

/// Whether `def`, hot at loop `ordinal`, moves into `next` by that loop's entry alone, without
/// the whole function's compile first (see `TierUpPolicy::loop_entry_first_calls`); not once
/// the tier refused the entry (then the whole function is its way up).
fn moves_up_by_loop_entry_first(m: &ModuleInner, def: u32, ordinal: usize, next: Tier) -> bool {
    let calls = m.tiers.counters(def).calls.load(Ordering::Relaxed);
    calls <= m.config.tier_up.loop_entry_first_calls
        && compiler(next).is_some_and(|c| c.separate_osr_entries())
        && !matches!(m.tiers.osr_variant(def, ordinal as u32), Some(state::OsrVariant::Refused(_)))
}

/// A running loop of `def` wants into `tier`, whose code has no entry inside for it: the entry
/// compiled on its own, when ready; otherwise it is requested (once) and the loop looks again
/// after a poll interval, or, when the tier cannot make one, never again in this tier. Once the
/// entry is ready (or refused), the function's budget is `budget`.
fn osr_variant(
    module: &Module,
    def: u32,
    tier: Tier,
    ordinal: u32,
    budget: i64,
) -> Option<FuncEntry> {
    let m = &module.inner;
    let counters = m.tiers.counters(def);
    match m.tiers.osr_variant(def, ordinal) {
        Some(state::OsrVariant::Ready(code)) => {
            counters.budget.store(budget, Ordering::Relaxed);
            return Some(code.entry());
        }
        Some(state::OsrVariant::Refused(_)) => {
            counters.budget.store(budget, Ordering::Relaxed);
            return None;
        }
        Some(state::OsrVariant::Pending) => {}
        waiting @ (None | Some(state::OsrVariant::Deferred(_))) => {
            let now = m.tiers.elapsed();
            let hot_since =
                if let Some(state::OsrVariant::Deferred(since)) = waiting { since } else { now };
            let sync = m.config.tier_up_mode == TierUpMode::Sync;
            if !sync && now.saturating_sub(hot_since) < expected_loop_entry_compile(m, def) {
                m.tiers.defer_osr_variant(def, ordinal, hot_since);
            } else if m.tiers.request_osr_variant(def, ordinal) {
                let job = queue::Job::new(module, def, tier, Some(ordinal));
                if sync || !m.engine.compile_queue().submit(job) {
                    compile_osr_and_install(module, def, tier, ordinal);
                    return osr_variant(module, def, tier, ordinal, budget);
                }
            }
        }
    }
    counters.budget.store(m.config.tier_up.poll_interval(tier), Ordering::Relaxed);
    None
}

/// How long compiling a loop entry of `def` apart is expected to take: `def`'s tier-1 compile
/// time scaled by `tuning::TIER2_COMPILE_OVER_TIER1` (zero for code tier 1 did not compile
/// here).
///
/// A background request waits until the loop has been hot that long, as a skier rents until
/// the rent paid equals the price of the skis: a loop that ends sooner was not worth the compile
/// (and would have kept the compile thread from other functions: rust-regex-json's `main`,
/// called once, had ten loop entries compiled in one run, 20-60 ms each, most of them ready
/// after `main` had left their loop), and one that runs on loses at most that long in the lower
/// tier again.
fn expected_loop_entry_compile(m: &ModuleInner, def: u32) -> Duration {
    m.tiers
        .compiled(def, Tier::Baseline)
        .map_or(Duration::ZERO, |code| code.compile_time() * tuning::TIER2_COMPILE_OVER_TIER1)
}

/// Compiles the on-stack-replacement entry of loop `ordinal` of `def` in `tier` and records it.
pub(crate) fn compile_osr_and_install(module: &Module, def: u32, tier: Tier, ordinal: u32) {
    let m = &module.inner;
    if let Some(loaded) = m.tiers.take_precompiled(Slot { def, tier, osr: Some(ordinal) }) {
        let code = loaded_outcome(m, tier, loaded).map_err(|e| refusal_reason(m, def, tier, e));
        if let Ok(code) = &code {
            announce(m, def, code);
        }
        return m.tiers.install_osr_variant(def, ordinal, code);
    }
    let code = match (compiler(tier), interp_code(m, def)) {
        (None, _) => Err(format!("tier {tier} does not exist yet")),
        (_, Err(e)) => Err(format!("translation failed: {e}")),
        (Some(compiler), Ok(code)) => compiler
            .compile_osr(m, def, &code.layout, ordinal)
            .map_err(|e| refusal_reason(m, def, tier, e)),
    };
    m.tiers.mark_compiled_here();
    if let Ok(code) = &code {
        announce(m, def, code);
    }
    m.tiers.install_osr_variant(def, ordinal, code);
}

/// Compiles defined function `def` of `module` in `tier` and installs the code; a refusal is
/// recorded and never retried.
pub(crate) fn compile_and_install(module: &Module, def: u32, tier: Tier) {
    let m = &module.inner;
    let started = m.tiers.elapsed();
    m.tiers.update_timeline(def, tier, |t| {
        t.state = CompileState::Compiling;
        t.compile_started = Some(started);
    });
    // Code loaded from an artifact or the cache stands in for the compile: tiering still
    // decided when it is needed.
    if let Some(loaded) = m.tiers.take_precompiled(Slot { def, tier, osr: None }) {
        return finish_compile(m, def, tier, loaded_outcome(m, tier, loaded));
    }
    let outcome = match (compiler(tier), interp_code(m, def)) {
        (None, _) => Err(CompileError::Unsupported(format!("tier {tier} does not exist yet"))),
        (_, Err(e)) => Err(CompileError::Internal(format!("translation failed: {e}"))),
        (Some(compiler), Ok(code)) => {
            debug_assert_eq!(compiler.tier(), tier);
            let profile = profile(m, def);
            compiler.compile(m, def, &code.layout, &profile)
        }
    };
    // Marked once the compile is done, so a cache write never waits for one in flight.
    m.tiers.mark_compiled_here();
    finish_compile(m, def, tier, outcome);
}

/// Installs the code a compile of defined function `def` in `tier` produced, or records its
/// refusal (never retried).
fn finish_compile(
    m: &ModuleInner,
    def: u32,
    tier: Tier,
    outcome: Result<crate::code::CompiledFunc, CompileError>,
) {
    match outcome {
        Ok(code) => {
            announce(m, def, &code);
            m.tiers.install(def, code);
        }
        Err(e) => {
            let reason = refusal_reason(m, def, tier, e);
            m.tiers.update_timeline(def, tier, |t| t.state = CompileState::Refused(reason));
        }
    }
}

/// The recorded reason of a refusal; an internal error (a compiler bug, not a limit) is also
/// reported on stderr.
fn refusal_reason(m: &ModuleInner, def: u32, tier: Tier, e: CompileError) -> String {
    match e {
        CompileError::Unsupported(reason) => reason,
        CompileError::Internal(msg) => {
            eprintln!(
                "tierup: tier {tier} failed on function {}: {msg}",
                m.num_imported_funcs + def
            );
            format!("internal error: {msg}")
        }
    }
}

/// Tells the profiler the engine was asked to inform (a perf map, a jitdump) about new code.
fn announce(m: &ModuleInner, def: u32, code: &crate::code::CompiledFunc) {
    let strategy = m.config.profiling_strategy;
    if matches!(strategy, crate::ProfilingStrategy::None | crate::ProfilingStrategy::Guest) {
        return;
    }
    let func_index = m.num_imported_funcs + def;
    let module = m.names.module.as_deref().or(m.names.file.as_deref());
    let name = perfmap::symbol(module, func_index, m.display_name(func_index), code.tier());
    match strategy {
        crate::ProfilingStrategy::PerfMap => {
            perfmap::record(code.address(), code.code_size(), &name)
        }
        crate::ProfilingStrategy::JitDump => {
            // The file perf names as the lines' source: the offsets are the binary module's.
            let source = format!("{}.wasm", module.unwrap_or("module"));
            jitdump::record(code.address(), code.bytes(), &name, code.wasm_offsets(), &source)
        }
        crate::ProfilingStrategy::None | crate::ProfilingStrategy::Guest => {}
    }
}

/// The profile of defined function `def` as of now.
fn profile(m: &ModuleInner, def: u32) -> FuncProfile {
    let counters = m.tiers.counters(def);
    FuncProfile {
        calls: counters.calls.load(Ordering::Relaxed),
        back_edges: counters.back_edges.load(Ordering::Relaxed),
        tiered_up: m.tiers.timeline(def, Tier::Baseline).requested,
    }
}

/// `VmCtx::hot`: compiled code of tier `tier` spent function `func`'s budget at `site`.
///
/// # Safety
/// `ctx` must be a live instance context of a store lent to wasm, `func` a function its module
/// defines, and `fp` that function's frame with every value in its canonical slot.
pub(crate) unsafe extern "C" fn hot_from_compiled(
    ctx: *mut VmCtx,
    fp: *mut u128,
    func: u32,
    site: u32,
    tier: u32,
) -> u32 {
    // SAFETY: guaranteed by the caller; the module is held by its instance for the store's life.
    let module = unsafe { (&(*(*ctx).store).instances)[(*ctx).instance as usize].module.clone() };
    let def = func - module.inner.num_imported_funcs;
    let running = if tier == 2 { Tier::Optimized } else { Tier::Baseline };
    let site = if site == HOT_AT_ENTRY { Site::Entry } else { Site::Loop(site as usize) };
    match on_hot(&module, def, running, site) {
        // SAFETY: the newer code runs the same function on the same frame, whose values are where
        // every tier expects them at this site.
        Some(entry) => unsafe { entry(ctx, fp, func) },
        None => HOT_CONTINUE,
    }
}

/// Counters and tier of every defined function of `module`.
pub(crate) fn func_stats(module: &ModuleInner) -> Vec<FuncStats> {
    (0..module.tiers.len() as u32)
        .map(|def| {
            let func_index = module.num_imported_funcs + def;
            let baseline = module.tiers.compiled(def, Tier::Baseline);
            let optimized = module.tiers.compiled(def, Tier::Optimized);
            FuncStats {
                func_index,
                name: module.display_name(func_index).map(str::to_string),
                profile: profile(module, def),
                tier: module.tiers.best_tier(def),
                compiled: baseline.map(|c| (c.compile_time(), c.code_size())),
                baseline: module.tiers.timeline(def, Tier::Baseline),
                optimized_code: optimized.map(|c| (c.compile_time(), c.code_size())),
                optimized: module.tiers.timeline(def, Tier::Optimized),
                optimizer_stats: optimized.map(|c| c.stats().to_vec()).unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{Config, Engine, Linker, Module, Store, Tier, TierUpMode, TierUpPolicy, Tiering};
    use crate::{Val, vm::vmctx::FuncCounters};
    use std::sync::atomic::Ordering;

    /// `sum(n)`, the sum of 0..n in one loop, tiering up synchronously under `tier_up`: the
    /// module, and a way to call `sum`.
    fn sum_tiering_up(tier_up: TierUpPolicy) -> (Module, impl FnMut(i32) -> Val) {
        let wat = r#"(module (func (export "sum") (param i32) (result i32) (local i32 i32)
            (loop $l
              (local.set 2 (i32.add (local.get 2) (local.get 1)))
              (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1)))
                                  (local.get 0))))
            (local.get 2)))"#;
        let engine = Engine::new(Config {
            tier: Tiering::Auto,
            tier_up,
            tier_up_mode: TierUpMode::Sync,
            ..Config::default()
        });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let sum = instance.get_func(&store, "sum").unwrap();
        let call = move |n: i32| {
            let mut out = [Val::I32(0)];
            sum.call(&mut store, &[Val::I32(n)], &mut out).unwrap();
            out[0]
        };
        (module, call)
    }

    /// Tier-1 code whose budget runs out, at its entry or at a back-edge, calls tiering through
    /// `VmCtx::hot`, which moves it to tier 2: at the entry, the call runs in tier 2's code; at a
    /// back-edge, the rest of the loop runs in an on-stack-replacement entry compiled for it.
    #[test]
    fn tier_1_code_that_spends_its_budget_moves_to_tier_2_at_calls_and_in_loops() {
        for (budget, at_loop) in [(5, false), (12, true)] {
            let (module, mut call) = sum_tiering_up(TierUpPolicy {
                threshold: 1,
                call_weight: 10,
                back_edge_weight: 1,
                opt_threshold: 1 << 40,
                // Hot at a loop, it gets the whole function's compile first.
                loop_entry_first_calls: 0,
            });
            let counters: &FuncCounters = module.inner.tiers.counters(0);
            assert_eq!(call(10), Val::I32(45), "tiered up at the first call");
            assert_eq!(module.inner.tiers.best_tier(0), Tier::Baseline);
            // The call spends 10: out at the entry (5), or at the second back-edge (12).
            counters.budget.store(budget, Ordering::Relaxed);
            assert_eq!(call(100), Val::I32(4950));
            assert_eq!(module.inner.tiers.best_tier(0), Tier::Optimized);
            let osr = module.inner.tiers.osr_variant(0, 0);
            assert_eq!(matches!(osr, Some(super::state::OsrVariant::Ready(_))), at_loop);
            assert_eq!(call(7), Val::I32(21), "tier 2 runs the next call");
            let stats = &module.func_stats()[0];
            assert_eq!(stats.profile.calls, 3, "each call counted once, in whichever tier");
        }
    }

    /// A function hot at a loop after few calls moves up by that loop's entry alone; once it has
    /// been called more often than `loop_entry_first_calls`, its next hot moment compiles the
    /// whole function.
    #[test]
    fn a_rarely_called_function_hot_in_a_loop_gets_the_loop_entry_alone() {
        let (module, mut call) = sum_tiering_up(TierUpPolicy {
            threshold: 1,
            call_weight: 0,
            back_edge_weight: 1,
            opt_threshold: 50,
            loop_entry_first_calls: 2,
        });
        let entered_by_loop = |module: &Module| {
            matches!(module.inner.tiers.osr_variant(0, 0), Some(super::state::OsrVariant::Ready(_)))
        };
        // Tier 1 from the first back-edge; 50 back-edges later, tier 2 by the loop's entry.
        assert_eq!(call(200), Val::I32(19900));
        assert!(entered_by_loop(&module), "the loop's entry was compiled");
        assert_eq!(module.inner.tiers.best_tier(0), Tier::Baseline, "the function was not");
        // The entry's compile is counted apart from the functions' (`--stats`' code line).
        let stats = module.compile_stats();
        assert_eq!((stats.tier2_functions, stats.tier2_osr_entries), (0, 1));
        let Some((func_index, 0, slowest)) = stats.tier2_osr_slowest else {
            panic!("the entry is the slowest: {stats:?}")
        };
        assert_eq!(func_index, module.inner.num_imported_funcs);
        assert!(slowest > std::time::Duration::ZERO && slowest == stats.tier2_osr_time);
        assert_eq!(call(200), Val::I32(19900));
        assert_eq!(module.inner.tiers.best_tier(0), Tier::Baseline, "two calls: still not");
        assert_eq!(call(200), Val::I32(19900));
        assert_eq!(module.inner.tiers.best_tier(0), Tier::Optimized, "a third: the function too");
    }

    /// After a loop moved up by its entry alone, the function's next call looks again within a
    /// poll interval (an eighth of the budget), not a whole budget: a second call with a loop
    /// shorter than the budget still earns the whole function's compile.
    #[test]
    fn a_call_after_a_loop_entry_moved_up_asks_for_the_whole_function_soon() {
        let (module, mut call) = sum_tiering_up(TierUpPolicy {
            threshold: 1,
            call_weight: 0,
            back_edge_weight: 1,
            opt_threshold: 80,
            loop_entry_first_calls: 1,
        });
        assert_eq!(call(200), Val::I32(19900));
        assert_eq!(module.inner.tiers.best_tier(0), Tier::Baseline, "by the loop's entry");
        // 15 back-edges: more than the poll interval (10), fewer than the budget (80).
        assert_eq!(call(15), Val::I32(105));
        assert_eq!(module.inner.tiers.best_tier(0), Tier::Optimized);
    }
}
