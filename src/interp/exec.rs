//! The interpreter's entry and executor: runs translated code until the entered function returns.
//!
//! The interpreter is entered like every tier, through its [`ENTRY`] (`vmctx::FuncEntry`), which
//! runs one function of one instance on a frame its caller prepared. Execution is a chain of
//! handlers (`handlers.rs`), one per instruction, each continuing with the next through
//! [`dispatch!`]: with tail dispatch (`cfg(tierup_tail_dispatch)`, chosen by `build.rs` for
//! optimized x86-64 and aarch64 builds) a handler ends in a call to the next handler that the
//! compiler emits as a jump, so the handlers form threaded code with `ip`, `fp` and memory 0 in
//! argument registers; otherwise a handler returns to the loop in [`Executor::run`], which calls
//! the next. A guard bounds the host stack should the compiler not turn a tail call into a jump:
//! calls and loop back-edges compare the stack pointer against a limit and, past it, return to
//! that loop, which unwinds the chain.
//!
//! Calls between interpreted functions of the entered instance never recurse on the host stack:
//! each pushes a [`Frame`] record and switches `ip`/`fp`. Any other callee (code of another tier,
//! another instance, an import, the host) is called through its entry, which returns a status.
//! Tail calls reuse the caller's frame: an interpreted callee of the instance takes it over in
//! the loop; any other callee is left pending for the entry's caller (`vmctx::TAIL_CALL_PENDING`)
//! when the caller is the function this entry was called for, else called from here (one level
//! up the host stack, the chain it starts finished in [`Executor::call_out`]'s loop).
//!
//! Tier 0 counts calls and loop back-edges into its module's profile counters and, when a
//! function's budget runs out, reports to tiering (`tier::on_hot`), which may hand it newer code
//! to continue in: at a call, the callee's entry; at a back-edge, the entry of that loop's header
//! (on-stack replacement). It never names a compiler.
//!
//! Safety rests on invariants the translator establishes from validated code:
//! - every slot operand is below the function's `frame_size`, and every frame is checked to fit in
//!   the stack before it is entered;
//! - every instruction's handler matches its operands, every branch target is an instruction of
//!   the same code, and the code never falls off its end;
//! - memory accesses are bounds-checked by the handlers against the current memory length.
//!
//! This module must never let a guest address reach memory without a bounds check, nor allocate on
//! the path of an instruction (frame records reuse their vector's capacity).

use super::code::{Flow, Fp, InterpFunc, Ip, Mem};
use super::debug::DebugPoint;
use super::handlers::{BACK_BUDGET, BACK_COUNT, BACK_QUIET};
use crate::module::ModuleInner;
use crate::tier::state::ModuleTiers;
use crate::tier::{self, Site, Tier};
use crate::vm::call::{self as runtime, native_stack_exhausted};
use crate::vm::exception;
use crate::vm::ops;
use crate::vm::profile::{ProfileStack, encode_entry};
use crate::vm::store::FuncIdx;
use crate::vm::store::{FuncKind, StoreInner};
use crate::vm::vmctx::{
    FuncCounters, FuncEntry, STATUS_OK, TAIL_CALL_PENDING, TRAP_PENDING, VmCtx,
};
use crate::vm::{Trap, TrapCode};
use std::mem::size_of;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The interpreter's entry, as function tables hold it.
pub(crate) const ENTRY: FuncEntry = entry;

/// The interpreter's entry for a function a debugger marked (`crate::debug`): runs its debug
/// translation (`super::debug`). Calls from interpreted code of the same instance to a function
/// entered through it stay in the interpreter's loop, as for [`ENTRY`].
pub(crate) const DEBUG_ENTRY: FuncEntry = debug_entry;

/// Continues with the instruction at `$ip`: with tail dispatch, by calling its handler in tail
/// position (a jump); otherwise by returning to [`Executor::run`] with the state in
/// [`Executor::resume`]. Every handler ends in it (or returns a final [`Flow`]).
macro_rules! dispatch {
    ($ip:expr, $fp:expr, $mem:expr, $len:expr, $ex:expr, $acc:expr) => {{
        let (ip, fp, mem, len): ($crate::interp::code::Ip, _, _, usize) = ($ip, $fp, $mem, $len);
        let (ex, acc): (&mut $crate::interp::exec::Executor, u64) = ($ex, $acc);
        #[cfg(tierup_tail_dispatch)]
        {
            // SAFETY: `ip` is an instruction of the running function's code: the instruction
            // after one that falls through, or a branch target (translator invariants).
            let handler = unsafe { ip.handler() };
            return handler(ip, fp, mem, len, ex, acc);
        }
        #[cfg(not(tierup_tail_dispatch))]
        {
            ex.resume = $crate::interp::exec::Resume { ip, fp, mem, len, acc };
            return $crate::interp::code::Flow::Continue;
        }
    }};
}

/// [`dispatch!`] at a point every loop iteration and call passes (back-edges, calls): with tail
/// dispatch, first returns to [`Executor::run`] if the host stack has grown past its guard, which
/// only happens where the compiler did not turn a handler's tail call into a jump.
macro_rules! dispatch_guarded {
    ($ip:expr, $fp:expr, $mem:expr, $len:expr, $ex:expr, $acc:expr) => {{
        let (ip, fp, mem, len): ($crate::interp::code::Ip, _, _, usize) = ($ip, $fp, $mem, $len);
        let (ex, acc): (&mut $crate::interp::exec::Executor, u64) = ($ex, $acc);
        #[cfg(tierup_tail_dispatch)]
        if $crate::interp::exec::stack_pointer() < ex.sp_limit {
            ex.resume = $crate::interp::exec::Resume { ip, fp, mem, len, acc };
            return $crate::interp::code::Flow::Continue;
        }
        dispatch!(ip, fp, mem, len, ex, acc)
    }};
}

/// How far below [`Executor::run`]'s frame a chain of handlers may reach before the guard of
/// [`dispatch_guarded!`] returns to it.
#[cfg(tierup_tail_dispatch)]
const GUARD_BYTES: usize = 64 * 1024;

/// The host stack pointer.
#[cfg(tierup_tail_dispatch)]
#[inline(always)]
pub(super) fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer register; touches no memory and no flags.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// Runs function `func` (module index space) of the instance of `ctx` in the interpreter, on the
/// frame at `fp`.
///
/// # Safety
/// `ctx` must be a live instance context of a store lent to wasm, `func` a function its module
/// defines, and `fp` a frame on the store's stack with the arguments in place.
unsafe extern "C" fn entry(ctx: *mut VmCtx, fp: *mut u128, func: u32) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe { run_entry::<false>(ctx, fp, func) }
}

/// [`entry`] for [`DEBUG_ENTRY`].
///
/// # Safety
/// As for [`entry`].
unsafe extern "C" fn debug_entry(ctx: *mut VmCtx, fp: *mut u128, func: u32) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe { run_entry::<true>(ctx, fp, func) }
}

/// Runs function `func` as [`entry`] says, in its debug translation when `DEBUG`.
///
/// # Safety
/// As for [`entry`].
#[inline(always)]
unsafe fn run_entry<const DEBUG: bool>(ctx: *mut VmCtx, fp: *mut u128, func: u32) -> u32 {
    // SAFETY: guaranteed by the caller.
    let store = unsafe { (*ctx).store };
    // SAFETY: as above. Entries may be called from compiled code, which recurses on the host
    // stack: the check keeps deep mixed recursion from overflowing it.
    if native_stack_exhausted(unsafe { (*ctx).native_stack_limit }) {
        // SAFETY: as above.
        unsafe { (*store).pending_trap = Some(Trap::new(TrapCode::StackOverflow)) };
        return TRAP_PENDING;
    }
    // SAFETY: as above.
    let mut ex = unsafe { Executor::new(ctx) };
    let def = func - ex.num_imported_funcs;
    let fp = Fp::new(fp);
    let flow = match ex.enter(def, fp, DEBUG) {
        Entered::Code(ip) => ex.run(ip, fp),
        Entered::Done => Flow::Return,
        Entered::Trap => Flow::Trap,
    };
    match flow {
        Flow::Return => STATUS_OK,
        Flow::TailCall => TAIL_CALL_PENDING,
        Flow::Trap | Flow::Continue => {
            let trap = ex.trap.take().expect("a trapping handler stored its trap");
            ex.store().pending_trap = Some(trap);
            TRAP_PENDING
        }
    }
}

/// Where in its code a frame is, for its backtrace entry.
#[derive(Clone, Copy)]
enum Position {
    /// At the instruction starting at this pointer.
    At(Ip),
    /// At the call instruction that ends right before this return address.
    After(Ip),
    /// Entering the function, before its first instruction.
    Entry,
    /// Nowhere in particular (its code could not be translated).
    Unknown,
}

/// A suspended interpreted caller.
#[derive(Clone, Copy)]
struct Frame {
    ret: Ip,
    fp: Fp,
    /// The caller's profile counters, which also say which function it is (`Executor::def_of`).
    current: *const FuncCounters,
}

/// The state [`dispatch!`] hands to [`Executor::run`] when a handler returns `Flow::Continue`.
#[derive(Clone, Copy)]
pub(super) struct Resume {
    pub ip: Ip,
    pub fp: Fp,
    pub mem: Mem,
    pub len: usize,
    pub acc: u64,
}

/// What entering a function (at the interpreter's entry, or by a call) led to.
pub(super) enum Entered {
    /// Its frame is set up: run its code from here.
    Code(Ip),
    /// It already ran to completion elsewhere (newer code, another instance, an import, the
    /// host); its results are in place.
    Done,
    /// It trapped (the trap waits in the executor).
    Trap,
}

/// What a tail call (`return_call`, `return_call_indirect`) led to: the running function is
/// gone either way.
pub(super) enum TailCalled {
    /// The callee's frame is set up in place of the caller's: run its code from here.
    Code(Ip),
    /// The callee ran elsewhere and returned, its results in place: return to the caller.
    Returned,
    /// The callee waits in the store for the caller of this interpreter's entry, which the
    /// function was entered from (`vmctx::TAIL_CALL_PENDING`): leave the loop.
    Pending,
    /// It trapped (the trap waits in the executor).
    Trap,
}

/// Adds one to a counter. Not an atomic increment: concurrent updates may lose a count, which only
/// delays a tier-up decision, and a plain load and store keeps the hot path free of locked
/// instructions.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Spends `weight` of a budget; `true` when it has run out (as in [`bump`], not atomically).
#[inline(always)]
fn spend(budget: &AtomicI64, weight: i64) -> bool {
    let left = budget.load(Ordering::Relaxed).saturating_sub(weight);
    budget.store(left, Ordering::Relaxed);
    left <= 0
}

/// The state of one interpreter entry: one instance's cached pointers and the frame stack.
pub(crate) struct Executor {
    /// Where the next instruction's state waits when a handler returns `Flow::Continue`.
    pub(super) resume: Resume,
    /// With tail dispatch: the host stack pointer below which [`dispatch_guarded!`] returns.
    #[cfg(tierup_tail_dispatch)]
    pub(super) sp_limit: usize,
    /// Whether to count calls and back-edges (`Config::profile_counters`).
    pub(super) profiling: bool,
    /// Whether counting also spends the tier-up budget: only when a higher tier could take the
    /// function, or `Config::budget_checks` asks for it always (as for tier-1 code).
    budget_checks: bool,
    /// What the module's back-edges do (`back_edge_kind`), for branches whose direction is only
    /// known when taken (`br_table`).
    pub(super) back_kind: u8,
    /// The profile counters of every defined function, by index.
    counters: *const FuncCounters,
    /// The running function's counters: where back-edges count, and which function runs
    /// (`Executor::def`).
    current: *const FuncCounters,
    /// Hotness a call and a back-edge spend from a function's tier-up budget.
    call_weight: i64,
    back_edge_weight: i64,
    frames: Vec<Frame>,
    /// [`Self::call_fast`] pushes a frame only below this length: within `frames`' capacity (no
    /// allocation), and one below `max_depth`, so the fast path traps exactly where
    /// [`Self::begin`] does.
    frames_limit: usize,
    max_depth: usize,
    stack_end: *mut u8,
    /// The instance's module, which the instance keeps alive for the store's lifetime.
    module: *const ModuleInner,
    pub(super) num_imported_funcs: u32,
    pub(super) globals: *const *mut u128,
    pub(super) fuel: *mut u64,
    /// The store lent to wasm; reached only through short-lived references ([`Executor::store`]),
    /// since entries called from here reach it too.
    store: *mut StoreInner,
    ctx: *mut VmCtx,
    pub(super) instance: u32,
    /// The store's guest profile stack (`vm::profile`), null unless the engine profiles guests:
    /// frames entered through [`Self::begin`] push their entry (calls then always take
    /// [`Self::call_slow`]), and the translator emits returns that pop it and loop headers
    /// that name their loop.
    profile: *const ProfileStack,
    /// The trap a handler raised, on its way out.
    trap: Option<Trap>,
    /// When `trap` is an exception (`vm::exception`) still to unwind: the running function's
    /// position and frame where it arose (`None`: the running function is already gone, ended
    /// by newer code or a tail call). [`Self::run`] unwinds it frame by frame, each frame's
    /// catch clauses first.
    thrown: Option<Option<(Position, Fp)>>,
}

impl Executor {
    /// An executor for the instance of `ctx`.
    ///
    /// # Safety
    /// As for [`entry`].
    unsafe fn new(ctx: *mut VmCtx) -> Executor {
        // SAFETY: guaranteed by the caller; the module outlives the store's instances.
        let (store, instance, module) = unsafe {
            let store = (*ctx).store;
            let instance = (*ctx).instance;
            let module: *const ModuleInner =
                &*(&(*store).instances)[instance as usize].module.inner;
            (store, instance, module)
        };
        // SAFETY: as above.
        let (m, s) = unsafe { (&*module, &*store) };
        let weight = |w: u64| w.min(i64::MAX as u64) as i64;
        Executor {
            resume: Resume {
                ip: Ip::dangling(),
                fp: Fp::new(std::ptr::null_mut()),
                mem: std::ptr::null_mut(),
                len: 0,
                acc: 0,
            },
            #[cfg(tierup_tail_dispatch)]
            sp_limit: 0,
            profiling: m.config.profile_counters,
            budget_checks: tier::budget_checks_in(&m.config, Tier::Interp),
            back_kind: back_edge_kind(&m.config),
            counters: m.tiers.counters_ptr(),
            current: m.tiers.counters_ptr(),
            call_weight: weight(m.config.tier_up.call_weight),
            back_edge_weight: weight(m.config.tier_up.back_edge_weight),
            frames: Vec::new(),
            frames_limit: 0,
            max_depth: s.stack.max_depth.saturating_sub(s.stack.depth),
            stack_end: s.stack.end_ptr().cast(),
            module,
            num_imported_funcs: m.num_imported_funcs,
            // SAFETY: as above.
            globals: unsafe { (*ctx).globals },
            fuel: s.fuel_ptr(),
            store,
            ctx,
            instance,
            // SAFETY: as above.
            profile: unsafe { (*ctx).profile_stack },
            trap: None,
            thrown: None,
        }
    }

    /// Runs from `ip` in the frame at `fp` until the entered function returns or traps.
    fn run(&mut self, ip: Ip, fp: Fp) -> Flow {
        let (mem, len) = self.memory();
        self.resume = Resume { ip, fp, mem, len, acc: 0 };
        #[cfg(tierup_tail_dispatch)]
        {
            self.sp_limit = stack_pointer().saturating_sub(GUARD_BYTES);
        }
        loop {
            let Resume { ip, fp, mem, len, acc } = self.resume;
            // SAFETY: `ip` is an instruction of live code (see `dispatch!`).
            let handler = unsafe { ip.handler() };
            match handler(ip, fp, mem, len, self, acc) {
                Flow::Continue => continue,
                Flow::Trap if self.thrown.is_some() => match self.unwind_exception() {
                    Flow::Continue => continue,
                    done => return done,
                },
                done => return done,
            }
        }
    }

    /// The store, for one access: no reference obtained here may live across a call out.
    #[allow(clippy::mut_from_ref)] // A raw pointer shared with the entries this executor calls.
    pub(super) fn store(&self) -> &mut StoreInner {
        // SAFETY: the store outlives the execution; the executor never holds two of these
        // references at once, nor one across a call that may reach the store.
        unsafe { &mut *self.store }
    }

    /// The module's tier state, not tied to a borrow of the executor (the module outlives it).
    fn tiers<'m>(&self) -> &'m ModuleTiers {
        // SAFETY: the instance keeps its module alive for the store's lifetime, which outlasts
        // the execution.
        unsafe { &(*self.module).tiers }
    }

    /// The profile counters of defined function `def`.
    #[inline(always)]
    fn counters<'m>(&self, def: u32) -> &'m FuncCounters {
        // SAFETY: `counters` has one entry per defined function of the module, which outlives
        // the execution.
        unsafe { &*self.counters.add(def as usize) }
    }

    /// The running function's defined-function index.
    fn def(&self) -> u32 {
        self.def_of(self.current)
    }

    /// The defined-function index of the function whose counters are at `counters`.
    fn def_of(&self, counters: *const FuncCounters) -> u32 {
        ((counters as usize - self.counters as usize) / size_of::<FuncCounters>()) as u32
    }

    /// Makes defined function `def` the running one.
    #[inline(always)]
    fn set_def(&mut self, def: u32) {
        self.current = self.counters(def);
    }

    /// Memory 0's base and accessible length, as the runtime keeps them in the context.
    #[inline(always)]
    pub(super) fn memory(&self) -> (Mem, usize) {
        // SAFETY: the context is live for the execution.
        unsafe { ((*self.ctx).mem_base, (*self.ctx).mem_len as usize) }
    }

    /// Memory `memory`'s base and accessible length (multi-memory; memory 0 as [`Self::memory`]).
    #[inline(always)]
    pub(super) fn memory_view(&self, memory: u32) -> (Mem, usize) {
        if memory == 0 {
            return self.memory();
        }
        // SAFETY: the context is live for the execution, and `memories` has an entry for every
        // memory index validation admitted.
        let view = unsafe { (*self.ctx).memories.add(memory as usize).read() };
        (view.base, view.len as usize)
    }

    /// Raises `code` at the instruction at `at`: stores the trap with this execution's
    /// backtrace.
    #[cold]
    #[inline(never)]
    pub(super) fn trap(&mut self, code: TrapCode, at: Ip) -> Flow {
        self.trap_in_frame(code, Position::At(at))
    }

    /// [`Self::trap`] with the running function's position given any way.
    fn trap_in_frame(&mut self, code: TrapCode, position: Position) -> Flow {
        let mut trap = Trap::new(code);
        trap.push_frame(|| self.frame_info(self.def(), position));
        self.push_caller_frames(&mut trap);
        self.trap = Some(trap);
        Flow::Trap
    }

    /// The translation of defined function `def` that `ip` is in: its ordinary one, or the debug
    /// translation a debugger runs it in (a frame's position must be read against the code it
    /// runs: the two translations are separate allocations).
    fn code_at<'m>(&self, def: u32, ip: Ip) -> Option<&'m InterpFunc> {
        let in_it = |code: &&InterpFunc| code.contains(ip);
        let tiers = self.tiers();
        tiers.interp_ready(def).filter(in_it).or_else(|| tiers.debug_ready(def).filter(in_it))
    }

    /// The code of defined function `def` if tier 0 has translated it.
    #[inline(always)]
    fn ready_code<'m>(&self, def: u32) -> Option<&'m InterpFunc> {
        self.tiers().interp_ready(def)
    }

    /// Translates defined function `def` (or finds why it cannot be).
    #[cold]
    #[inline(never)]
    fn translate<'m>(&mut self, def: u32) -> Result<&'m InterpFunc, ()> {
        // SAFETY: as for `tiers`.
        let module: &'m ModuleInner = unsafe { &*self.module };
        match tier::interp_code(module, def) {
            Ok(code) => Ok(code),
            Err(e) => {
                let code = TrapCode::Host(format!("tier 0 cannot run function {def}: {e}"));
                self.trap_in_frame(code, Position::Unknown);
                Err(())
            }
        }
    }

    /// The code of `def`, translating it the first time.
    #[inline(always)]
    fn code<'m>(&mut self, def: u32) -> Result<&'m InterpFunc, ()> {
        match self.ready_code(def) {
            Some(code) => Ok(code),
            None => self.translate(def),
        }
    }

    /// The debug translation of defined function `def` (`super::debug`), translating it the
    /// first time.
    #[cold]
    #[inline(never)]
    fn debug_code<'m>(&mut self, def: u32) -> Result<&'m InterpFunc, ()> {
        // SAFETY: as for `tiers`.
        let module: &'m ModuleInner = unsafe { &*self.module };
        match tier::debug_code(module, def) {
            Ok(code) => Ok(code),
            Err(e) => {
                let code = TrapCode::Host(format!("tier 0 cannot debug function {def}: {e}"));
                self.trap_in_frame(code, Position::Unknown);
                Err(())
            }
        }
    }

    /// Enters defined function `def` at the interpreter's entry, on the frame at `fp`; in its
    /// debug translation when `debug`.
    fn enter(&mut self, def: u32, fp: Fp, debug: bool) -> Entered {
        let code = if debug { self.debug_code(def) } else { self.code(def) };
        match code {
            Ok(f) => self.begin(def, f, fp),
            Err(()) => Entered::Trap,
        }
    }

    /// Calls defined function `def` of this instance on the frame at `callee` from the
    /// instruction before `ret` in the frame at `fp`, in the common case: an interpreted,
    /// translated callee whose frame fits, with budget left. Returns its first instruction, or
    /// `None` (nothing done) for [`Self::call_slow`], so the caller's fast path makes no call
    /// that is not a tail call.
    #[inline(always)]
    /// `K` is the module's back-edge kind (`back_edge_kind`), which says how calls count too.
    pub(super) fn call_fast<const K: u8>(
        &mut self,
        def: u32,
        ret: Ip,
        fp: Fp,
        callee: Fp,
    ) -> Option<Ip> {
        // SAFETY: `def` is a defined function of this module: a validated call target.
        let f = unsafe { self.tiers().interp_callee(def, ENTRY) }?;
        if callee.end(f.frame_bytes) > self.stack_end || self.frames.len() >= self.frames_limit {
            return None;
        }
        if K != BACK_QUIET {
            let counters = self.counters(def);
            if K == BACK_BUDGET {
                let budget = counters.budget.load(Ordering::Relaxed);
                if budget <= self.call_weight {
                    return None;
                }
                counters.budget.store(budget - self.call_weight, Ordering::Relaxed);
            }
            bump(&counters.calls);
        }
        let len = self.frames.len();
        // SAFETY: `len < frames_limit <= capacity` (checked above), so the write stays inside
        // the vector's allocation, and the new length covers only initialized frames.
        unsafe {
            self.frames.as_mut_ptr().add(len).write(Frame { ret, fp, current: self.current });
            self.frames.set_len(len + 1);
        }
        self.set_def(def);
        Self::zero_locals(f, callee);
        Some(f.start())
    }

    /// Calls defined function `def` of this instance, in any case (see [`Self::call_fast`]).
    #[inline(always)]
    pub(super) fn call(&mut self, def: u32, ret: Ip, fp: Fp, callee: Fp) -> Entered {
        let fast = match self.back_kind {
            BACK_QUIET => self.call_fast::<BACK_QUIET>(def, ret, fp, callee),
            BACK_COUNT => self.call_fast::<BACK_COUNT>(def, ret, fp, callee),
            _ => self.call_fast::<BACK_BUDGET>(def, ret, fp, callee),
        };
        match fast {
            Some(start) => Entered::Code(start),
            None => self.call_slow(def, ret, fp, callee),
        }
    }

    /// [`Self::call`] for every case but the common one: a callee running elsewhere or not
    /// translated yet, a full frame vector, a frame that does not fit, a spent budget.
    #[cold]
    #[inline(never)]
    pub(super) fn call_slow(&mut self, def: u32, ret: Ip, fp: Fp, callee: Fp) -> Entered {
        // A debugger's mark keeps the callee in this loop, in its debug translation.
        let debug = self.tiers().is_entered_through(def, DEBUG_ENTRY);
        if !debug && !self.tiers().is_entered_through(def, ENTRY) {
            return self.call_entry(def, ret, fp, callee);
        }
        let code = if debug { self.debug_code(def) } else { self.code(def) };
        let f = match code {
            Ok(f) => f,
            Err(()) => return Entered::Trap,
        };
        self.frames.push(Frame { ret, fp, current: self.current });
        // Under guest profiling every call comes here, which pushes its profile entry.
        self.frames_limit = if self.profile.is_null() {
            self.frames.capacity().min(self.max_depth.saturating_sub(1))
        } else {
            0
        };
        match self.begin(def, f, callee) {
            Entered::Done => {
                self.pop_frame();
                Entered::Done
            }
            entered => entered,
        }
    }

    /// Calls defined function `def`, which newer code runs, through its entry, from the call
    /// before `ret`.
    #[inline(never)]
    fn call_entry(&mut self, def: u32, ret: Ip, fp: Fp, callee: Fp) -> Entered {
        let (entry, func) = (self.tiers().entry(def), self.num_imported_funcs + def);
        // SAFETY: the callee's entry, on the frame at `callee` (arguments in place).
        self.call_out(|ctx| unsafe { entry(ctx, callee.as_ptr(), func) }, callee, Some(ret), fp)
    }

    /// Sets up the frame of `def` (code `f`) at `fp`, counting the call; or, when tiering hands
    /// over newer code at this call, runs the function there.
    #[inline(always)]
    fn begin(&mut self, def: u32, f: &InterpFunc, fp: Fp) -> Entered {
        if fp.end(f.frame_bytes) > self.stack_end || self.frames.len() >= self.max_depth {
            self.set_def(def);
            self.trap_in_frame(TrapCode::StackOverflow, Position::Entry);
            return Entered::Trap;
        }
        if self.profiling {
            let counters = self.counters(def);
            if self.budget_checks
                && spend(&counters.budget, self.call_weight)
                && let Some(entered) = self.hot_at_call(def, fp)
            {
                return entered;
            }
            bump(&counters.calls);
        }
        if !self.profile.is_null() {
            self.profile_push(def);
        }
        self.set_def(def);
        Self::zero_locals(f, fp);
        Entered::Code(f.start())
    }

    /// The guest profile stack, when the engine profiles guests.
    pub(super) fn profile_stack(&self) -> Option<&ProfileStack> {
        // SAFETY: a non-null profile stack belongs to the store, which outlives the execution.
        unsafe { self.profile.as_ref() }
    }

    /// Pushes the profile entry of interpreted function `def` (entered, no loop yet).
    #[cold]
    #[inline(never)]
    fn profile_push(&self, def: u32) {
        let entry = encode_entry(self.num_imported_funcs + def, Tier::Interp, None);
        self.profile_stack().expect("profiling").push(entry);
    }

    /// Zeroes the declared locals and the result padding of the frame of `f` at `fp`.
    #[inline(always)]
    fn zero_locals(f: &InterpFunc, fp: Fp) {
        // SAFETY: `[fp, fp + frame_bytes)` lies inside the stack (checked by the callers), and
        // the zeroed slots `zero_from / 16 .. + zero_slots` lie inside the frame (translator
        // invariant). Volatile stores: a handful of them beats the `memset` call the optimizer
        // would turn a plain loop into.
        unsafe {
            let mut slot = fp.as_ptr().byte_add(f.zero_from as usize);
            for _ in 0..f.zero_slots {
                slot.write_volatile(0);
                slot = slot.add(1);
            }
        }
    }

    /// `def` spent its budget at a call: tiering may answer with newer code, which then runs the
    /// function here (`Some`); `None` to interpret it.
    #[cold]
    #[inline(never)]
    fn hot_at_call(&mut self, def: u32, fp: Fp) -> Option<Entered> {
        let newer = self.on_hot(def, Site::Entry)?;
        // The newer code counts this call itself, and names its own frame if it traps; the
        // callers follow.
        let func = self.num_imported_funcs + def;
        // SAFETY: the entry runs this very function on its frame, which the caller prepared.
        Some(self.call_out(|ctx| unsafe { newer(ctx, fp.as_ptr(), func) }, fp, None, fp))
    }

    /// Reports that `def` spent its budget at `site`; tiering may answer with newer code.
    #[cold]
    #[inline(never)]
    fn on_hot(&self, def: u32, site: Site) -> Option<FuncEntry> {
        let module = self.store().instances[self.instance as usize].module.clone();
        tier::on_hot(&module, def, Tier::Interp, site)
    }

    /// Calls out of the interpreter (an entry, the runtime): the frames of this execution count
    /// against the stack's depth for whatever runs below. A trap coming back gets this
    /// execution's frames appended: the current function's, at the call instruction before
    /// `ret`, unless `ret` is `None` (the callee was newer code running the current function
    /// itself, which named it).
    /// A callee that leaves a tail call pending (`vmctx::TAIL_CALL_PENDING`) has it run here, on
    /// its frame at `callee`, to the end of the chain.
    /// `fp` is the running function's frame (where an exception coming back may be caught).
    fn call_out(
        &mut self,
        call: impl FnOnce(*mut VmCtx) -> u32,
        callee: Fp,
        ret: Option<Ip>,
        fp: Fp,
    ) -> Entered {
        let depth = self.frames.len() + 1;
        self.store().stack.depth += depth;
        let mut status = call(self.ctx);
        if status == TAIL_CALL_PENDING {
            // SAFETY: the context is this execution's and `callee` the frame the entry ran on,
            // where the chain's callees find their arguments.
            status = unsafe { runtime::tail_calls(self.ctx, callee.as_ptr()) };
        }
        self.store().stack.depth -= depth;
        if status == STATUS_OK {
            return Entered::Done;
        }
        let mut trap = match status {
            TRAP_PENDING => self.store().pending_trap.take().expect("a pending trap was stored"),
            code => Trap::new(crate::vm::trap_code(code)),
        };
        if exception::exception_of(self.store(), &trap).is_some() {
            self.trap = Some(trap);
            self.thrown = Some(ret.map(|ret| (Position::After(ret), fp)));
            return Entered::Trap;
        }
        if let Some(ret) = ret {
            trap.push_frame(|| self.frame_info(self.def(), Position::After(ret)));
        }
        self.push_caller_frames(&mut trap);
        self.trap = Some(trap);
        Entered::Trap
    }

    /// Calls imported function `func` on the frame at `callee`.
    #[inline(never)]
    pub(super) fn call_import(&mut self, func: u32, ret: Ip, fp: Fp, callee: Fp) -> Entered {
        // SAFETY: the context is live for the execution.
        let call_import = unsafe { (*self.ctx).call_import };
        // SAFETY: the runtime's import entry, on the frame at `callee`.
        let call = |ctx| unsafe { call_import(ctx, callee.as_ptr(), func) };
        self.call_out(call, callee, Some(ret), fp)
    }

    /// The defined function of this instance that a `call_indirect` with interned signature
    /// `sig` through `table[index]` reaches, read from the table's dispatch array (`vm::table`,
    /// which the runtime keeps in step with every table write); `None` for
    /// [`Self::call_indirect`] to decide (out of bounds, null, another signature, a host
    /// function, another instance).
    #[inline(always)]
    pub(super) fn own_indirect_target(&self, table: u32, sig: u32, index: u32) -> Option<u32> {
        // SAFETY: the context is live for the execution and `tables` has one dispatch head per
        // table of the instance, at a stable address; `table` is a validated table index.
        let dispatch = unsafe { &**(*self.ctx).tables.add(table as usize) };
        if index as u64 >= dispatch.len {
            return None;
        }
        // SAFETY: `index < len`, the entries the dispatch array holds.
        let entry = unsafe { &*dispatch.entries.add(index as usize) };
        // Host functions and null elements have `NO_SIG`, which no call's signature is; an
        // element with this instance's context is one of its module's functions, defined ones
        // only (an imported function's element carries its own instance's context).
        (entry.sig == sig && entry.ctx == self.ctx)
            .then(|| entry.func_index - self.num_imported_funcs)
    }

    /// `call_indirect` through `table[index]` with module type `ty`, like [`Self::call`], where
    /// [`Self::own_indirect_target`] declined (or the fast call did): checks the element.
    #[cold]
    #[inline(never)]
    pub(super) fn call_indirect(
        &mut self,
        ty: u32,
        table: u32,
        index: u32,
        ret: Ip,
        fp: Fp,
        callee: Fp,
    ) -> Entered {
        let Some(func) = self.checked_indirect_target(ty, table, index, Position::After(ret))
        else {
            return Entered::Trap;
        };
        self.call_func(func, ret, fp, callee)
    }

    /// `return_call` of defined function `def` of this instance from the running function,
    /// whose frame at `fp` now holds the callee's arguments in its first slots. An interpreted
    /// callee takes over the frame in this loop (no frame record: the caller's caller is the
    /// callee's); any other runs through its entry ([`Self::tail_call_out`]).
    pub(super) fn tail_call(&mut self, def: u32, fp: Fp) -> TailCalled {
        // A debugger's mark keeps the callee in this loop, in its debug translation.
        let debug = self.tiers().is_entered_through(def, DEBUG_ENTRY);
        if !debug && !self.tiers().is_entered_through(def, ENTRY) {
            let func = self.store().instances[self.instance as usize].funcs
                [(self.num_imported_funcs + def) as usize];
            return self.tail_call_out(FuncIdx(func), fp);
        }
        let code = if debug { self.debug_code(def) } else { self.code(def) };
        let Ok(f) = code else { return TailCalled::Trap };
        self.leave_for_tail_call();
        // `begin` counts the call and checks the frame as for any call; the frame vector does
        // not grow.
        match self.begin(def, f, fp) {
            Entered::Code(start) => TailCalled::Code(start),
            Entered::Done => TailCalled::Returned,
            Entered::Trap => TailCalled::Trap,
        }
    }

    /// `return_call` of imported function `import`, as [`Self::tail_call`].
    #[cold]
    #[inline(never)]
    pub(super) fn tail_call_import(&mut self, import: u32, fp: Fp) -> TailCalled {
        let func = self.store().instances[self.instance as usize].funcs[import as usize];
        self.tail_call_out(FuncIdx(func), fp)
    }

    /// `return_call_indirect` through `table[index]` with module type `ty`, at the instruction at
    /// `at`, where [`Self::own_indirect_target`] declined: checks the element (a trap names the
    /// running function, which is still there), then calls as [`Self::tail_call`].
    #[cold]
    #[inline(never)]
    pub(super) fn tail_call_indirect(
        &mut self,
        ty: u32,
        table: u32,
        index: u32,
        at: Ip,
        fp: Fp,
    ) -> TailCalled {
        let Some(func) = self.checked_indirect_target(ty, table, index, Position::At(at)) else {
            return TailCalled::Trap;
        };
        self.tail_call_func(func, fp)
    }

    /// A tail call of store function `func`: one of this instance's as [`Self::tail_call`],
    /// any other through [`Self::tail_call_out`].
    fn tail_call_func(&mut self, func: FuncIdx, fp: Fp) -> TailCalled {
        match self.store().func(func).kind {
            FuncKind::Wasm { instance, def_index } if instance == self.instance => {
                self.tail_call(def_index, fp)
            }
            _ => self.tail_call_out(func, fp),
        }
    }

    /// A tail call of store function `func` that runs outside this loop (newer code, another
    /// instance, the host). The function this entry was called for leaves it pending for the
    /// entry's caller, so chains of tail calls between tiers never nest on the host stack; a
    /// function called from this loop calls it here, on the host stack above this loop only, and
    /// then returns (the chain that follows runs in [`Self::call_out`]'s loop).
    #[cold]
    #[inline(never)]
    fn tail_call_out(&mut self, func: FuncIdx, fp: Fp) -> TailCalled {
        self.leave_for_tail_call();
        if self.frames.is_empty() {
            // SAFETY: the context is this execution's, of a store lent to wasm.
            unsafe { runtime::pend_tail_call(self.ctx, func) };
            return TailCalled::Pending;
        }
        // SAFETY: the context is this execution's; the arguments are at `fp`. The running
        // function is gone: a trap names only its callers.
        let call = |ctx| unsafe { runtime::call_func(ctx, func, fp.as_ptr()) };
        match self.call_out(call, fp, None, fp) {
            Entered::Trap => TailCalled::Trap,
            _ => TailCalled::Returned,
        }
    }

    /// The running function leaves by a tail call: under guest profiling its entry goes (the
    /// callee pushes its own, as after any call).
    fn leave_for_tail_call(&self) {
        if let Some(profile) = self.profile_stack() {
            profile.pop();
        }
    }

    /// The function `table[index]` holds if it has module type `ty`; otherwise raises the trap
    /// (null element, out of bounds, other signature) in the running frame at `position`.
    fn checked_indirect_target(
        &mut self,
        ty: u32,
        table: u32,
        index: u32,
        position: Position,
    ) -> Option<FuncIdx> {
        let checked = ops::table_get(self.store(), self.instance, table, index)
            .and_then(|raw| ops::check_func_ref(self.store(), self.instance, ty, raw));
        match checked {
            Ok(found) => Some(found),
            Err(code) => {
                self.trap_in_frame(code, position);
                None
            }
        }
    }

    /// `call_ref` of the function reference `raw` (the slot bits: 0 for null), like
    /// [`Self::call`]: a function of this instance stays in this loop, any other is called
    /// through the runtime. Validation guarantees the function has the instruction's type.
    #[inline(never)]
    pub(super) fn call_ref(&mut self, raw: u64, ret: Ip, fp: Fp, callee: Fp) -> Entered {
        let Some(func) = crate::vm::decode_func_ref(raw) else {
            self.trap_in_frame(TrapCode::NullReference, Position::After(ret));
            return Entered::Trap;
        };
        self.call_func(func, ret, fp, callee)
    }

    /// A call of store function `func`: one of this instance's as [`Self::call`], any other
    /// through the runtime.
    fn call_func(&mut self, func: FuncIdx, ret: Ip, fp: Fp, callee: Fp) -> Entered {
        if let FuncKind::Wasm { instance, def_index } = self.store().func(func).kind
            && instance == self.instance
        {
            return self.call(def_index, ret, fp, callee);
        }
        // SAFETY: the context is this execution's; the arguments are at `callee`.
        let call = |ctx| unsafe { runtime::call_func(ctx, func, callee.as_ptr()) };
        self.call_out(call, callee, Some(ret), fp)
    }

    /// `return_call_ref` of the function reference `raw` at the instruction at `at`, as
    /// [`Self::tail_call`]: a null reference traps in the running function, which is still there.
    #[cold]
    #[inline(never)]
    pub(super) fn tail_call_ref(&mut self, raw: u64, at: Ip, fp: Fp) -> TailCalled {
        let Some(func) = crate::vm::decode_func_ref(raw) else {
            self.trap_in_frame(TrapCode::NullReference, Position::At(at));
            return TailCalled::Trap;
        };
        self.tail_call_func(func, fp)
    }

    /// Pops the caller's frame after a callee finished; `None` when the entered function
    /// returned.
    #[inline(always)]
    pub(super) fn pop_frame(&mut self) -> Option<(Ip, Fp)> {
        let frame = self.frames.pop()?;
        self.current = frame.current;
        Some((frame.ret, frame.fp))
    }

    /// The budget ran out on a back-edge to the loop header at `header`: if tiering has newer
    /// code with an entry for that loop, runs the rest of the function there, then continues in
    /// the caller; else continues at the header. Guarded: back-edges that are hot one after
    /// another (tiering polling a compile in progress) each enter this call, whose dispatch the
    /// compiler need not turn into a jump (an ASan build does not), so the stack grows with
    /// every one until the guard sends it back to `run`.
    #[cold]
    #[inline(never)]
    fn loop_hot(&mut self, header: Ip, fp: Fp, mem: Mem, len: usize) -> Flow {
        match self.on_stack_replace(header, fp) {
            None => dispatch_guarded!(header, fp, mem, len, self, 0),
            Some(Entered::Trap) => Flow::Trap,
            Some(_) => match self.pop_frame() {
                None => Flow::Return,
                Some((ret, caller)) => {
                    let (mem, len) = self.memory();
                    dispatch_guarded!(ret, caller, mem, len, self, 0)
                }
            },
        }
    }

    /// Runs the rest of the current function in newer code from the loop header at `header`, if
    /// tiering has an entry for it (`None`: carry on interpreting).
    fn on_stack_replace(&mut self, header: Ip, fp: Fp) -> Option<Entered> {
        let def = self.def();
        // The header is in the function's plain translation or in its debug one (a function a
        // debugger no longer marks may tier up from a frame running the latter).
        let code = [self.ready_code(def), self.tiers().debug_ready(def)]
            .into_iter()
            .flatten()
            .find(|code| code.contains(header))
            .expect("the running function is translated");
        let offset = header.offset_from(code.start()) as u32;
        let ordinal = code.loop_headers.iter().position(|&h| h == offset)?;
        let newer = self.on_hot(def, Site::Loop(ordinal))?;
        let func = self.num_imported_funcs + def;
        // SAFETY: the interpreter is at the loop's header, where every tier keeps every value
        // in its canonical slot or as a constant, on a frame checked at entry.
        Some(self.call_out(|ctx| unsafe { newer(ctx, fp.as_ptr(), func) }, fp, None, fp))
    }

    /// `throw` of module tag `tag` at the instruction at `at` in the frame at `fp`, the payload in
    /// the slots from `args` on.
    #[cold]
    #[inline(never)]
    pub(super) fn throw(&mut self, tag: u32, args: Fp, at: Ip, fp: Fp) -> Flow {
        // SAFETY: the translator put the tag's payload in the slots from `args` on.
        let trap = unsafe { exception::throw(self.store(), self.instance, tag, args.as_ptr()) };
        self.raise_exception(trap, at, fp)
    }

    /// `throw_ref` of the `exnref` `raw` at the instruction at `at` in the frame at `fp`.
    #[cold]
    #[inline(never)]
    pub(super) fn throw_ref(&mut self, raw: u64, at: Ip, fp: Fp) -> Flow {
        let trap = exception::throw_ref(self.store(), raw);
        if exception::exception_of(self.store(), &trap).is_none() {
            return self.trap(trap.code, at);
        }
        self.raise_exception(trap, at, fp)
    }

    /// Leaves the handler chain with exception `trap`, raised at `at` in the frame at `fp`, for
    /// [`Self::run`] to unwind.
    fn raise_exception(&mut self, trap: Trap, at: Ip, fp: Fp) -> Flow {
        self.trap = Some(trap);
        self.thrown = Some(Some((Position::At(at), fp)));
        Flow::Trap
    }

    /// Unwinds the exception waiting in `trap` (see `thrown`): the running function's catch
    /// clauses in scope where it arose, then its interpreted callers' at their calls, each frame
    /// that has none popped (with its profile entry) and named in the backtrace. Returns
    /// `Flow::Continue` with the executor resuming at the pad of the clause that caught it, or
    /// `Flow::Trap` when it leaves this entry (the trap then carries every frame it left).
    #[cold]
    #[inline(never)]
    fn unwind_exception(&mut self) -> Flow {
        let mut at = self.thrown.take().expect("an exception to unwind");
        let mut trap = self.trap.take().expect("the exception waits in `trap`");
        let exn = exception::exception_of(self.store(), &trap).expect("an exception");
        loop {
            if let Some((position, fp)) = at {
                let def = self.def();
                if let Some(pad) = self.catch_in_frame(def, position, fp, exn) {
                    let (mem, len) = self.memory();
                    self.resume = Resume { ip: pad, fp, mem, len, acc: 0 };
                    return Flow::Continue;
                }
                trap.push_frame(|| self.frame_info(def, position));
                if let Some(profile) = self.profile_stack() {
                    profile.pop();
                }
            }
            match self.pop_frame() {
                Some((ret, caller)) => at = Some((Position::After(ret), caller)),
                None => {
                    self.trap = Some(trap);
                    return Flow::Trap;
                }
            }
        }
    }

    /// Whether a catch clause of defined function `def` in scope at `position` catches exception
    /// `exn` (store index): if so, its values are in place in the frame at `fp` and the result is
    /// the clause's pad.
    fn catch_in_frame(&self, def: u32, position: Position, fp: Fp, exn: u32) -> Option<Ip> {
        let (code, pos) = match position {
            Position::At(ip) => {
                let code = self.code_at(def, ip)?;
                (code, ip.offset_from(code.start()) as u32)
            }
            Position::After(ret) => {
                let code = self.code_at(def, ret)?;
                (code, (ret.offset_from(code.start()) as u32).checked_sub(1)?)
            }
            Position::Entry | Position::Unknown => return None,
        };
        let store = self.store();
        let catch = code
            .catches_at(pos)
            .find(|c| exception::clause_matches(store, self.instance, c.tag, exn))?;
        // SAFETY: the clause's values fit in the frame's temporaries from `dest` (translator
        // invariant: the pad reads them there), and the frame at `fp` is live.
        unsafe {
            exception::deliver(store, catch.tag, catch.with_ref, exn, fp.at(catch.dest).as_ptr())
        };
        Some(code.ip_at(catch.pad))
    }

    /// Appends the interpreted callers of the current function, each at its call.
    fn push_caller_frames(&self, trap: &mut Trap) {
        for frame in self.frames.iter().rev() {
            let position = Position::After(frame.ret);
            trap.push_frame(|| self.frame_info(self.def_of(frame.current), position));
        }
    }

    /// The backtrace entry of defined function `def` at `position` in its code.
    fn frame_info(&self, def: u32, position: Position) -> crate::vm::FrameInfo {
        let code = match position {
            Position::At(ip) | Position::After(ip) => self.code_at(def, ip),
            Position::Entry | Position::Unknown => self.ready_code(def),
        };
        let wasm_offset = code.and_then(|code| {
            let pos = |ip: Ip| ip.offset_from(code.start()) as u32;
            match position {
                Position::At(ip) => Some(code.wasm_offsets.at(pos(ip))),
                Position::After(ret) => Some(code.wasm_offsets.at(pos(ret).saturating_sub(1))),
                Position::Entry => Some(code.wasm_offsets.entry),
                Position::Unknown => None,
            }
        });
        runtime::frame_info(
            self.store(),
            self.instance,
            self.num_imported_funcs + def,
            Tier::Interp,
            wasm_offset,
        )
    }

    /// A debug translation's hook before the wasm instruction of `point`, in the frame at `fp`:
    /// asks the store's debugger, if one is attached and the point is armed or the store is
    /// stepping, and waits for its answer.
    #[cold]
    #[inline(never)]
    pub(super) fn debug_hook(&mut self, point: u32, fp: Fp) {
        let def = self.def();
        let Some(code) = self.tiers().debug_ready(def) else { return };
        let info = code.debug.as_deref().expect("a debug translation has debug info");
        let p = &info.points[point as usize];
        let armed = info.armed[point as usize].load(Ordering::Relaxed);
        let Some(state) = self.store().debugger.as_ref() else { return };
        let Some(reason) = state.wants_stop(armed, fp.as_ptr() as usize) else { return };
        let mut state = self.store().debugger.take().expect("looked at above");
        let callee = p.call.and_then(|call| self.debug_callee(call, p, fp));
        let view = crate::debug::DebugView {
            store: self.store(),
            instance: self.instance,
            reason,
            func_index: self.num_imported_funcs + def,
            offset: p.offset,
            locals: info
                .read_locals(fp)
                .into_iter()
                .map(|(ty, raw)| crate::Val::from_raw(ty, raw, self.store().id))
                .collect(),
            stack: p.read_stack(fp),
            backtrace: self.debug_backtrace(p.offset),
        };
        state.stop(&view, fp.as_ptr() as usize, callee);
        self.store().debugger = Some(state);
    }

    /// The defined function of this instance that the call at `point` reaches, if it reaches
    /// one (stepping into it marks it).
    fn debug_callee(
        &self,
        call: super::debug::CallKind,
        point: &DebugPoint,
        fp: Fp,
    ) -> Option<u32> {
        let raw = match call {
            super::debug::CallKind::Direct(func) => {
                return func.checked_sub(self.num_imported_funcs);
            }
            super::debug::CallKind::Indirect { table } => {
                let index = *point.read_stack(fp).last()? as u32;
                ops::table_get(self.store(), self.instance, table, index).ok()?
            }
            super::debug::CallKind::Reference => *point.read_stack(fp).last()? as u64,
        };
        let func = crate::vm::store::decode_func_ref(raw)?;
        match self.store().func(func).kind {
            FuncKind::Wasm { instance, def_index } if instance == self.instance => Some(def_index),
            _ => None,
        }
    }

    /// The wasm frames running now, outermost first, with offsets where a debug translation
    /// knows them (`top_offset` the current function's): the store's shadow stack when the
    /// engine keeps one (every tier, every entry), this entry's frames otherwise.
    fn debug_backtrace(&self, top_offset: u32) -> Vec<crate::debug::DebugFrame> {
        let frame = |def: u32, offset: Option<u32>| crate::debug::DebugFrame {
            func_index: self.num_imported_funcs + def,
            tier: Tier::Interp,
            offset,
        };
        let mut own: Vec<_> = self
            .frames
            .iter()
            .map(|f| {
                let def = self.def_of(f.current);
                let offset =
                    self.tiers().debug_ready(def).filter(|code| code.contains(f.ret)).and_then(
                        |code| {
                            let info = code.debug.as_deref()?;
                            Some(info.point_before(f.ret.offset_from(code.start()))?.offset)
                        },
                    );
                frame(def, offset)
            })
            .collect();
        own.push(frame(self.def(), Some(top_offset)));
        let Some(profile) = self.profile_stack() else { return own };
        let mut entries = Vec::new();
        profile.read(&mut entries);
        let shadow: Vec<_> = entries
            .iter()
            .filter_map(|&e| crate::vm::profile::decode_entry(e))
            .map(|f| crate::debug::DebugFrame {
                func_index: f.func_index,
                tier: f.tier,
                offset: None,
            })
            .collect();
        let Some(outer) = shadow.len().checked_sub(own.len()) else { return own };
        let agree = shadow[outer..].iter().zip(&own).all(|(s, o)| s.func_index == o.func_index);
        if !agree {
            return own;
        }
        shadow[..outer].iter().copied().chain(own).collect()
    }

    /// `memory.grow` of memory `memory`: the old size in pages, or `None`.
    pub(super) fn memory_grow(&mut self, memory: u32, delta: u64) -> Option<u64> {
        let old = ops::memory_grow(self.store(), self.instance, memory, delta);
        // SAFETY: the context is live; nothing borrows the store now.
        unsafe { runtime::refresh_memory(self.ctx) };
        old
    }
}

/// Takes a backward branch of kind `B` (see `handlers::FORWARD`) to the loop header at `header`:
/// counts the back-edge, and when the function's budget runs out, offers tiering the chance to
/// move the loop to newer code.
#[inline(always)]
pub(super) fn back_edge<const B: u8>(
    header: Ip,
    fp: Fp,
    mem: Mem,
    len: usize,
    ex: &mut Executor,
    acc: u64,
) -> Flow {
    if B != BACK_QUIET {
        // SAFETY: `current` points at the running function's counters, which live as long as
        // the module.
        let counters = unsafe { &*ex.current };
        bump(&counters.back_edges);
        if B == BACK_BUDGET && spend(&counters.budget, ex.back_edge_weight) {
            return ex.loop_hot(header, fp, mem, len);
        }
    }
    dispatch_guarded!(header, fp, mem, len, ex, acc)
}

/// The kind of the back-edges tier 0 emits under `config` (see `handlers::FORWARD`): whether
/// they count, and whether they spend the tier-up budget too.
pub(super) fn back_edge_kind(config: &crate::Config) -> u8 {
    if !config.profile_counters {
        BACK_QUIET
    } else if tier::budget_checks_in(config, Tier::Interp) {
        BACK_BUDGET
    } else {
        BACK_COUNT
    }
}
