//! `Engine` and `Config`: the settings shared by every module and store, and the signature registry.

use crate::tier::queue::CompileQueue;
use crate::tier::tuning::TierUpPolicy;
use crate::tier::{BudgetChecks, TierUpMode, Tiering};
use crate::types::FuncType;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Engine-wide settings. Tiers are a configuration choice; nothing else changes between tiers.
#[derive(Clone, Debug)]
pub struct Config {
    /// Which WebAssembly features modules may use (default: WebAssembly 3.0 without GC;
    /// [`WasmFeatures::WASM2`](crate::WasmFeatures::WASM2) for the 2.0 standard).
    pub features: crate::WasmFeatures,
    /// Which tier functions run in: pinned to one, or [`Tiering::Auto`] (the default): start in
    /// the interpreter, move hot functions to tier 1.
    pub tier: Tiering,
    /// When [`Tiering::Auto`] moves a function up.
    pub tier_up: TierUpPolicy,
    /// Whether tier-up compiles on compile threads (the default) or at once on the thread that
    /// asked.
    pub tier_up_mode: TierUpMode,
    /// How many compile threads background tier-up uses (default: one per core but one, at
    /// least one).
    pub compile_threads: usize,
    /// Maximum bytes of wasm stack (value slots and call frames) before `call stack exhausted`
    /// (at most 1 GiB; larger values are clamped).
    pub max_wasm_stack: usize,
    /// Maximum size in bytes of any linear memory (`None`: the 4 GiB the wasm32 address space allows).
    pub max_memory_size: Option<u64>,
    /// Maximum number of elements of any table.
    pub max_table_elements: u64,
    /// Whether execution consumes fuel (one unit per wasm operator); the amount is set on the store.
    pub consume_fuel: bool,
    /// Whether code counts calls and loop back-edges ([`crate::FuncProfile`]). On by default;
    /// turning it off exists to measure what counting costs (the tier policy reads them, so
    /// nothing tiers up without them).
    pub profile_counters: bool,
    /// Whether compiled code in the top enabled tier spends the tier-up budget anyway (to
    /// measure what the checks cost); by default only code that can move up does.
    pub budget_checks: BudgetChecks,
    /// Tier 2's pass pipeline (`tierup-passes` syntax: `-O`, `inline,constfold,dce`,
    /// `fix(..)`; `none` for no passes).
    pub opt_pipeline: String,
    /// Tier 2's register allocator.
    pub regalloc: crate::opt::RegallocAlgorithm,
    /// Which profiler is told about generated code, or the built-in guest profiler (off by
    /// default).
    pub profiling_strategy: ProfilingStrategy,
    /// How often the guest profiler samples (`ProfilingStrategy::Guest`; default 1 ms, see
    /// `vm::profile`). Zero keeps the shadow stack of running frames without sampling it: what
    /// a [`Debugger`](crate::debug::Debugger) needs for backtraces that span every tier.
    pub guest_profile_interval: std::time::Duration,
    /// Whether JIT code may rely on guard pages and a SIGSEGV/SIGBUS handler (installed once per
    /// process, chaining to any previous one) for linear-memory bounds instead of checking every
    /// access. On by default where the handler is supported (Linux on x86-64 and aarch64);
    /// turning it off gives explicit checks, for embedders that own those signals themselves.
    /// Results never depend on it.
    pub signals_based_traps: bool,
    /// Whether code is placed for a [`Debugger`](crate::debug::Debugger): tier-2 code then
    /// calls every defined function through the module's tables, as the other tiers do, so a
    /// breakpoint stops every call of its function. Off (the default), tier-2 code calls
    /// directly the functions placed with it (compiled up front as one batch, or itself) and
    /// those whose tier-2 code was installed before it, which a debugger does not see
    /// (`debug`'s module doc names the limits).
    pub guest_debug: bool,
}

/// How tierup tells a native profiler where its generated code is (named as in wasmtime).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProfilingStrategy {
    /// Nothing is written.
    #[default]
    None,
    /// Each tier-1 function is appended to `/tmp/perf-<pid>.map` as it is compiled, the symbol
    /// map Linux `perf` reads for JIT code. The interpreter needs no entry: its dispatch loop is
    /// tierup's own code, which perf already symbolizes.
    PerfMap,
    /// Each compiled function's name and machine code (tiers 1 and 2) is appended to
    /// `jit-<pid>.dump` in the current directory, Linux perf's jitdump format: after
    /// `perf record -k 1`, `perf inject --jit` makes the code readable to `perf report` and
    /// `perf annotate`, with each operator's module offset as its line (see `tier::jitdump`).
    JitDump,
    /// The built-in guest profiler: every tier keeps a shadow stack of the running wasm frames
    /// (function, tier, innermost loop) that a thread samples every
    /// [`Config::guest_profile_interval`]; `Store::guest_profile` returns what it saw. Code is
    /// compiled with the bookkeeping only under this strategy, so without it profiling costs
    /// nothing. Tier 2 counts inlined callees as their caller, and names a loop only for code
    /// entered by on-stack replacement.
    Guest,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            features: crate::WasmFeatures::default(),
            tier: Tiering::Auto,
            tier_up: TierUpPolicy::default(),
            tier_up_mode: TierUpMode::Background,
            compile_threads: crate::tier::tuning::default_compile_threads(),
            max_wasm_stack: 1 << 20,
            max_memory_size: None,
            max_table_elements: 10_000_000,
            consume_fuel: false,
            profile_counters: true,
            budget_checks: BudgetChecks::WhenUseful,
            opt_pipeline: "-O".to_string(),
            regalloc: crate::opt::RegallocAlgorithm::Backtracking,
            profiling_strategy: ProfilingStrategy::None,
            guest_profile_interval: crate::vm::profile::DEFAULT_INTERVAL,
            signals_based_traps: true,
            guest_debug: false,
        }
    }
}

/// An interned function signature: two signatures of one engine are equal iff their ids are
/// (what `call_indirect` compares, and what concrete reference types name: [`crate::HeapType`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SigId(pub(crate) u32);

/// The root object: holds the configuration and the signature registry. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

#[derive(Debug, Default)]
struct EngineInner {
    config: Config,
    signatures: RwLock<HashMap<FuncType, SigId>>,
    /// Background tier-up's compile threads, started on the first request.
    compile_queue: OnceLock<CompileQueue>,
}

impl Engine {
    /// An engine with `config`, which is fixed for the engine's lifetime and shared by its clones.
    pub fn new(config: Config) -> Engine {
        let inner =
            EngineInner { config, signatures: RwLock::default(), compile_queue: OnceLock::new() };
        Engine { inner: Arc::new(inner) }
    }

    /// The configuration the engine was created with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The compile threads, started now if they were not.
    pub(crate) fn compile_queue(&self) -> &CompileQueue {
        self.inner
            .compile_queue
            .get_or_init(|| CompileQueue::start(self.inner.config.compile_threads))
    }

    /// The interned id of a signature, registering it on first sight.
    pub(crate) fn intern(&self, ty: &FuncType) -> SigId {
        if let Some(id) = self.inner.signatures.read().expect("signature lock poisoned").get(ty) {
            return *id;
        }
        let mut map = self.inner.signatures.write().expect("signature lock poisoned");
        let next = SigId(map.len() as u32);
        *map.entry(ty.clone()).or_insert(next)
    }
}
