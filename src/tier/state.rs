//! The tier state of a module: one record per defined function, shared by every instance.
//!
//! For each defined function the module keeps
//! - its profile counters ([`FuncCounters`]: calls, back-edges, the tier-up budget), which every
//!   counting tier updates in place;
//! - its current entry (the module-wide function table the instances' contexts point at): the
//!   newest installed code, or the interpreter. Tier-up is one store into this table, so every
//!   instance of the module, in any store on any thread, takes the new code at its next call;
//! - its register entry, once tier-2 code with one is installed (0 before): what tier-2 callers
//!   call with arguments in registers (`VmCtx::register_entries`). Published like the entry, and
//!   cleared while a debugger holds the function in its debug translation, so that callers
//!   then take the function table to the debug entry;
//! - per tier, the code it produced (translated or compiled lazily, at most once) and where its
//!   compilation stands ([`CompileState`]), with the moments that matter to `--stats`.
//!
//! Memory ordering of an install ([`ModuleTiers::install`]): the compiled code is made executable
//! and stored in its `OnceLock` (a release), then its entry is stored into the table with
//! `Release`. A reader that loads the new entry (`Acquire` in Rust; a plain load in compiled code,
//! which has acquire semantics on x86-64, and on aarch64 an address dependency to the call) sees
//! the finished code. On aarch64 the instruction caches of every core are synchronized before the
//! entry is published (`code::ExecutableCode::publish`).

use super::{Tier, TierUpEvent};
use crate::code::CompiledFunc;
use crate::interp::InterpFunc;
use crate::vm::vmctx::{FuncCounters, FuncEntry};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where a function's compilation for one tier stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CompileState {
    /// Nobody asked for it.
    #[default]
    NotRequested,
    /// Waiting for a compile thread.
    Queued,
    /// Being compiled.
    Compiling,
    /// Compiled, and its entry is in the function table.
    Installed,
    /// The tier does not compile this function (the reason); it stays where it is and is never
    /// retried.
    Refused(String),
}

/// What happened to one function in one tier, and when (times since the module was created).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierTimeline {
    /// Where its compilation stands.
    pub state: CompileState,
    /// Why it was requested: the counters at that moment, and whether at a loop back-edge.
    pub requested: Option<TierUpEvent>,
    /// When a compile thread (or the requesting thread) started compiling it.
    pub compile_started: Option<Duration>,
    /// When its entry went into the function table.
    pub installed: Option<Duration>,
}

/// Tier 0's translation of a function, made the first time it is needed. `Err` holds why the
/// translator gave up (never for a validated body, but the interpreter reports it as a trap
/// rather than trusting that).
type InterpCell = OnceLock<Result<InterpFunc, String>>;

/// One defined function's compiled code and compile state.
#[derive(Default)]
pub(crate) struct FuncRecord {
    /// The code of each compiled tier (index `tier as usize - 1`), once installed.
    compiled: [OnceLock<CompiledFunc>; 2],
    /// Per compiled tier, where compilation stands.
    timelines: Mutex<[TierTimeline; 2]>,
}

/// The tier state of every defined function of one module.
pub(crate) struct ModuleTiers {
    counters: Box<[FuncCounters]>,
    entries: Box<[AtomicUsize]>,
    register_entries: Box<[AtomicUsize]>,
    /// Apart from `records`, densely: the interpreter looks its code up on every call.
    interp: Box<[InterpCell]>,
    records: Box<[FuncRecord]>,
    created: Instant,
    /// Per-module data a compiler derives once (tier 2's IR environment), opaque here.
    compiler_data: OnceLock<Box<dyn std::any::Any + Send + Sync>>,
    /// On-stack-replacement entries compiled apart from their function's code (tier 2's), by
    /// `(defined function, loop ordinal)`.
    osr: Mutex<std::collections::HashMap<(u32, u32), OsrVariant>>,
    /// Code loaded from an artifact or the code cache, not installed yet, by the compile it
    /// stands for: tiering takes it (once) instead of compiling (`Err`: a stored refusal).
    precompiled: Mutex<std::collections::HashMap<Slot, crate::artifact::Loaded>>,
    /// Whether this process compiled (or had a compiler refuse) anything for the module: code a
    /// cache entry does not hold yet.
    compiled_here: AtomicBool,
    /// What a debugger keeps per function, made the first time one needs it (a module nobody
    /// debugs allocates nothing for it).
    debug: OnceLock<DebugTiers>,
    /// Serializes the entry stores that must respect `debug_marks`: a debug mark's own, and an
    /// install's, which must not put compiled code back under a mark.
    entry_lock: Mutex<()>,
}

/// The debug state of every defined function of one module.
struct DebugTiers {
    /// Tier 0's debug translation of each function (`interp::debug`), made the first time a
    /// debugger needs it.
    code: Box<[InterpCell]>,
    /// Per function, how many reasons a debugger has to keep it in its debug translation
    /// (armed breakpoints and stepping); while non-zero its entry is the interpreter's debug
    /// entry and tiering leaves it alone.
    marks: Box<[AtomicU32]>,
}

/// What an artifact record stands for: see `artifact::Slot`.
pub(crate) type Slot = crate::artifact::Slot;

/// An on-stack-replacement entry compiled on its own.
#[derive(Clone, Debug)]
pub(crate) enum OsrVariant {
    /// Its loop is hot, it is not requested yet: it will be once the loop has run for as long
    /// as compiling it is expected to take. Holds when the loop got hot (`ModuleTiers::elapsed`).
    Deferred(Duration),
    /// Requested, not ready yet.
    Pending,
    Ready(CompiledFunc),
    /// The compiler could not make it, for this reason (the loop keeps running where it is).
    Refused(String),
}

fn slot(tier: Tier) -> usize {
    match tier {
        Tier::Interp => unreachable!("tier 0 has no compiled code"),
        Tier::Baseline => 0,
        Tier::Optimized => 1,
    }
}

impl ModuleTiers {
    /// State for `num_defined` functions, each entered through `initial_entry` with
    /// `initial_budget` hotness to spend.
    pub fn new(num_defined: usize, initial_entry: FuncEntry, initial_budget: i64) -> ModuleTiers {
        let counters = (0..num_defined)
            .map(|_| {
                let c = FuncCounters::default();
                c.budget.store(initial_budget, Ordering::Relaxed);
                c
            })
            .collect();
        let entries = (0..num_defined).map(|_| AtomicUsize::new(initial_entry as usize)).collect();
        let register_entries = (0..num_defined).map(|_| AtomicUsize::new(0)).collect();
        let interp = (0..num_defined).map(|_| InterpCell::new()).collect();
        let records = (0..num_defined).map(|_| FuncRecord::default()).collect();
        ModuleTiers {
            counters,
            entries,
            register_entries,
            interp,
            records,
            created: Instant::now(),
            compiler_data: OnceLock::new(),
            osr: Mutex::default(),
            precompiled: Mutex::default(),
            compiled_here: AtomicBool::new(false),
            debug: OnceLock::new(),
            entry_lock: Mutex::new(()),
        }
    }

    /// Time since the module was created: the clock of every tier event.
    pub fn elapsed(&self) -> Duration {
        self.created.elapsed()
    }

    /// The counters of defined function `def`.
    pub fn counters(&self, def: u32) -> &FuncCounters {
        &self.counters[def as usize]
    }

    /// The counters array, for instance contexts (`VmCtx::counters`).
    pub fn counters_ptr(&self) -> *const FuncCounters {
        self.counters.as_ptr()
    }

    /// The function table, for instance contexts (`VmCtx::funcs`): `AtomicUsize` has the layout
    /// of a function pointer, and compiled code reads the entries with plain loads.
    pub fn entries_ptr(&self) -> *const FuncEntry {
        self.entries.as_ptr().cast()
    }

    /// The register entries, for instance contexts (`VmCtx::register_entries`): an address or 0
    /// each, read by compiled code with plain loads.
    pub fn register_entries_ptr(&self) -> *const usize {
        self.register_entries.as_ptr().cast()
    }

    /// The address of defined function `def`'s register entry (tier-2 code's, see
    /// `opt::abi`), if tier-2 code with one is installed and no debugger holds the function.
    pub fn register_entry(&self, def: u32) -> Option<usize> {
        let address = self.register_entries.get(def as usize)?.load(Ordering::Acquire);
        (address != 0).then_some(address)
    }

    /// The current entry of defined function `def`.
    pub fn entry(&self, def: u32) -> FuncEntry {
        let raw = self.entries[def as usize].load(Ordering::Acquire);
        // SAFETY: the table only ever holds `FuncEntry` values (`new`, `install`).
        unsafe { std::mem::transmute::<usize, FuncEntry>(raw) }
    }

    /// Whether defined function `def` is entered through `entry` (cheaper than [`Self::entry`]
    /// when the caller only needs to recognize its own entry).
    pub fn is_entered_through(&self, def: u32, entry: FuncEntry) -> bool {
        self.entries[def as usize].load(Ordering::Relaxed) == entry as usize
    }

    /// Tier 0's code of `def` if it has been translated (the interpreter's fast path).
    #[inline(always)]
    pub fn interp_ready(&self, def: u32) -> Option<&InterpFunc> {
        match self.interp[def as usize].get() {
            Some(Ok(code)) => Some(code),
            _ => None,
        }
    }

    /// Tier 0's code of `def` if the function is entered through `entry` and translated: the
    /// interpreter's call path, in one look-up without bounds checks.
    ///
    /// # Safety
    /// `def` must be below [`Self::len`].
    #[inline(always)]
    pub unsafe fn interp_callee(&self, def: u32, entry: FuncEntry) -> Option<&InterpFunc> {
        // SAFETY: guaranteed by the caller: both tables have one entry per defined function.
        let (current, cell) = unsafe {
            (self.entries.get_unchecked(def as usize), self.interp.get_unchecked(def as usize))
        };
        if current.load(Ordering::Relaxed) != entry as usize {
            return None;
        }
        match cell.get() {
            Some(Ok(code)) => Some(code),
            _ => None,
        }
    }

    /// Tier 0's code of `def`, translating it with `translate` the first time.
    #[inline]
    pub fn interp_code(
        &self,
        def: u32,
        translate: impl FnOnce() -> Result<InterpFunc, String>,
    ) -> Result<&InterpFunc, &str> {
        let cell = &self.interp[def as usize];
        match cell.get() {
            Some(code) => code.as_ref().map_err(String::as_str),
            None => cell.get_or_init(translate).as_ref().map_err(String::as_str),
        }
    }

    /// The installed code of `def` in compiled tier `tier`.
    pub fn compiled(&self, def: u32, tier: Tier) -> Option<&CompiledFunc> {
        if tier == Tier::Interp {
            return None;
        }
        self.records[def as usize].compiled[slot(tier)].get()
    }

    /// The highest tier `def` has installed code in (the interpreter if none).
    pub fn best_tier(&self, def: u32) -> Tier {
        [Tier::Optimized, Tier::Baseline]
            .into_iter()
            .find(|&t| self.compiled(def, t).is_some())
            .unwrap_or(Tier::Interp)
    }

    /// A copy of `def`'s timeline in compiled tier `tier`.
    pub fn timeline(&self, def: u32, tier: Tier) -> TierTimeline {
        self.timelines(def)[slot(tier)].clone()
    }

    /// Runs `f` on `def`'s timeline in `tier`, under the record's lock.
    pub fn update_timeline<R>(
        &self,
        def: u32,
        tier: Tier,
        f: impl FnOnce(&mut TierTimeline) -> R,
    ) -> R {
        f(&mut self.timelines(def)[slot(tier)])
    }

    fn timelines(&self, def: u32) -> std::sync::MutexGuard<'_, [TierTimeline; 2]> {
        // A panic while holding the lock leaves a timeline half-updated at worst.
        self.records[def as usize].timelines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs `code` as `def`'s code in its tier and makes it the function's entry (see the
    /// module doc for the ordering). A tier installs at most once; a second install is ignored.
    pub fn install(&self, def: u32, code: CompiledFunc) {
        let tier = code.tier();
        let record = &self.records[def as usize];
        if record.compiled[slot(tier)].set(code).is_err() {
            return;
        }
        let installed = record.compiled[slot(tier)].get().expect("just set");
        installed.publish();
        // Only move up: a lower tier finishing after a higher one does not replace it. A
        // function a debugger marked keeps its debug entry (the code waits for the unmark).
        if self.best_tier(def) == tier {
            let _entries = self.entry_lock.lock().unwrap_or_else(|e| e.into_inner());
            if !self.is_debug_marked(def) {
                self.entries[def as usize].store(installed.entry() as usize, Ordering::Release);
                self.publish_register_entry(def, Some(installed));
            }
        }
        let now = self.elapsed();
        self.update_timeline(def, tier, |t| {
            t.state = CompileState::Installed;
            t.installed = Some(now);
        });
    }

    /// The module's compiler data, made by `init` the first time.
    pub fn compiler_data<T: std::any::Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> &T {
        self.compiler_data
            .get_or_init(|| Box::new(init()))
            .downcast_ref()
            .expect("one kind of compiler data per module")
    }

    /// The separately compiled on-stack-replacement entry of loop `ordinal` of `def`: `None` if
    /// never requested.
    pub fn osr_variant(&self, def: u32, ordinal: u32) -> Option<OsrVariant> {
        self.osr.lock().unwrap_or_else(|e| e.into_inner()).get(&(def, ordinal)).cloned()
    }

    /// Marks the variant requested; `false` if it already was (or is ready, or refused).
    pub fn request_osr_variant(&self, def: u32, ordinal: u32) -> bool {
        let mut osr = self.osr.lock().unwrap_or_else(|e| e.into_inner());
        if osr.get(&(def, ordinal)).is_some_and(|v| !matches!(v, OsrVariant::Deferred(_))) {
            return false;
        }
        osr.insert((def, ordinal), OsrVariant::Pending);
        true
    }

    /// Records that the variant's loop has been hot since `since` without a request yet, unless
    /// the variant got further meanwhile.
    pub fn defer_osr_variant(&self, def: u32, ordinal: u32, since: Duration) {
        let mut osr = self.osr.lock().unwrap_or_else(|e| e.into_inner());
        osr.entry((def, ordinal)).or_insert(OsrVariant::Deferred(since));
    }

    /// Records a compiled variant, or the reason it was refused.
    pub fn install_osr_variant(&self, def: u32, ordinal: u32, code: Result<CompiledFunc, String>) {
        let variant = match code {
            Ok(code) => {
                code.publish();
                OsrVariant::Ready(code)
            }
            Err(reason) => OsrVariant::Refused(reason),
        };
        self.osr.lock().unwrap_or_else(|e| e.into_inner()).insert((def, ordinal), variant);
    }

    /// Every refused on-stack-replacement variant: defined function, loop ordinal, reason.
    pub fn osr_refusals(&self) -> Vec<(u32, u32, String)> {
        let osr = self.osr.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = osr
            .iter()
            .filter_map(|(&(def, ordinal), v)| match v {
                OsrVariant::Refused(reason) => Some((def, ordinal, reason.clone())),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    /// Every separately compiled on-stack-replacement entry that is ready or refused: defined
    /// function, loop ordinal, code or reason.
    pub fn osr_variants(&self) -> Vec<(u32, u32, Result<CompiledFunc, String>)> {
        let osr = self.osr.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = osr
            .iter()
            .filter_map(|(&(def, ordinal), v)| match v {
                OsrVariant::Ready(code) => Some((def, ordinal, Ok(code.clone()))),
                OsrVariant::Refused(reason) => Some((def, ordinal, Err(reason.clone()))),
                OsrVariant::Deferred(_) | OsrVariant::Pending => None,
            })
            .collect();
        out.sort_by_key(|&(def, ordinal, _)| (def, ordinal));
        out
    }

    /// Keeps loaded code (checked and relocated already) for tiering to install instead of
    /// compiling.
    pub fn set_precompiled(&self, code: Vec<(Slot, crate::artifact::Loaded)>) {
        self.precompiled.lock().unwrap_or_else(|e| e.into_inner()).extend(code);
    }

    /// The loaded code (or stored refusal) for `slot`, if any; taken, so at most once.
    pub fn take_precompiled(&self, slot: Slot) -> Option<crate::artifact::Loaded> {
        let mut precompiled = self.precompiled.lock().unwrap_or_else(|e| e.into_inner());
        if precompiled.is_empty() {
            return None;
        }
        precompiled.remove(&slot)
    }

    /// The loaded code (and stored refusals) nothing has taken yet, so rewriting a cache entry
    /// keeps what this run did not need.
    pub fn untaken_precompiled(&self) -> Vec<(Slot, crate::artifact::Loaded)> {
        let precompiled = self.precompiled.lock().unwrap_or_else(|e| e.into_inner());
        precompiled.iter().map(|(slot, loaded)| (*slot, loaded.clone())).collect()
    }

    /// Records that this process compiled something for the module (or a compiler refused it).
    pub fn mark_compiled_here(&self) {
        self.compiled_here.store(true, Ordering::Relaxed);
    }

    /// Whether this process compiled anything for the module (see `mark_compiled_here`).
    pub fn compiled_here(&self) -> bool {
        self.compiled_here.load(Ordering::Relaxed)
    }

    /// The debug state, made the first time.
    fn debug(&self) -> &DebugTiers {
        self.debug.get_or_init(|| DebugTiers {
            code: (0..self.len()).map(|_| InterpCell::new()).collect(),
            marks: (0..self.len()).map(|_| AtomicU32::new(0)).collect(),
        })
    }

    /// Tier 0's debug translation of `def`, made with `translate` the first time.
    pub fn debug_code(
        &self,
        def: u32,
        translate: impl FnOnce() -> Result<InterpFunc, String>,
    ) -> Result<&InterpFunc, &str> {
        self.debug().code[def as usize].get_or_init(translate).as_ref().map_err(String::as_str)
    }

    /// Tier 0's debug translation of `def`, if made.
    pub fn debug_ready(&self, def: u32) -> Option<&InterpFunc> {
        match self.debug.get()?.code[def as usize].get() {
            Some(Ok(code)) => Some(code),
            _ => None,
        }
    }

    /// Whether a debugger keeps `def` in its debug translation.
    pub fn is_debug_marked(&self, def: u32) -> bool {
        self.debug.get().is_some_and(|d| d.marks[def as usize].load(Ordering::Acquire) != 0)
    }

    /// Adds a reason to keep `def` in its debug translation; the first makes `debug_entry` its
    /// entry, so its next call runs there (a frame running now finishes where it runs).
    pub fn add_debug_mark(&self, def: u32, debug_entry: FuncEntry) {
        let _entries = self.entry_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.debug().marks[def as usize].fetch_add(1, Ordering::AcqRel) == 0 {
            self.entries[def as usize].store(debug_entry as usize, Ordering::Release);
            self.publish_register_entry(def, None);
        }
    }

    /// Drops a reason added by [`Self::add_debug_mark`]; the last gives `def` back its best
    /// code: its highest compiled tier's entry, else `interp_entry`.
    pub fn remove_debug_mark(&self, def: u32, interp_entry: FuncEntry) {
        let _entries = self.entry_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(debug) = self.debug.get() else { return };
        let marks = &debug.marks[def as usize];
        if marks.load(Ordering::Acquire) == 0 {
            return;
        }
        if marks.fetch_sub(1, Ordering::AcqRel) == 1 {
            let best = self.best_tier(def);
            let code = self.compiled(def, best);
            let entry = code.map_or(interp_entry, |code| code.entry());
            self.entries[def as usize].store(entry as usize, Ordering::Release);
            self.publish_register_entry(def, code);
        }
    }

    /// Makes `code`'s register entry (if it has one) `def`'s, or clears it (`None`).
    fn publish_register_entry(&self, def: u32, code: Option<&CompiledFunc>) {
        let address = code.and_then(CompiledFunc::register_entry).unwrap_or(0);
        self.register_entries[def as usize].store(address, Ordering::Release);
    }

    /// Number of defined functions.
    pub fn len(&self) -> usize {
        self.records.len()
    }
}
