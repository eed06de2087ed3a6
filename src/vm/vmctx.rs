//! The instance context compiled code runs with, and the calling convention of every function
//! entry: the contract between the runtime and every tier.
//!
//! Every instance owns one [`VmCtx`] at a stable address. Whatever tier a function runs in, it is
//! entered as a [`FuncEntry`]: `entry(ctx, fp, func) -> status`, with `ctx` the callee's instance
//! context, `fp` its frame on the store's value stack (arguments in place, see
//! [`frame`](super::frame)) and `func` its index in its module's function index space. The status
//! is [`STATUS_OK`] (results in the frame's first slots), [`TRAP_PENDING`] (the trap, with the
//! frames it has passed so far, waits in the store) or [`TAIL_CALL_PENDING`]. So a caller never
//! knows its callee's tier.
//!
//! Tail calls (`return_call`, `return_call_indirect`) keep the host stack constant across tiers:
//! a tail call that can continue in its callee's entry at once does so (tier-1 code jumps to it
//! with the caller's frame); one that cannot (the callee is in another tier than the running
//! loop, another instance, the host) leaves its function with [`TAIL_CALL_PENDING`], the callee
//! recorded in the store and its arguments already in the frame's first slots. Whoever called
//! the entry then runs the pending callee on the same frame, in a loop (`vm::call`'s
//! `finish_tail_calls`), so a chain of tail calls never nests on the host stack.
//!
//! Compiled code reads the context's fields at fixed offsets (`#[repr(C)]`, `offset_of!` in each
//! backend) and leaves for the runtime only through its helpers: calls to imports and through
//! tables and references, `memory.grow`, the runtime operations, the trap exit, and the tiering hook. No Rust
//! panic or unwind ever crosses compiled frames: helpers catch nothing because they raise nothing,
//! reporting traps as statuses.
//!
//! This module holds data and types only: it must never name a tier.

use super::store::StoreInner;

/// The entry of a function: runs function `func` (module index space) on the frame at `callee_fp`
/// (arguments in place) in the instance of `ctx`; returns [`STATUS_OK`] or [`TRAP_PENDING`].
/// Compiled code also calls it with a raw trap status on its way to its trap exit, never returns
/// one to its caller.
pub type FuncEntry = unsafe extern "C" fn(ctx: *mut VmCtx, callee_fp: *mut u128, func: u32) -> u32;

/// Calls through table `table` with the signature `ty` (module type index) on the frame at
/// `callee_fp`; the table index is in the slot after the arguments. Returns like a [`FuncEntry`].
pub type CallIndirectHelper =
    unsafe extern "C" fn(ctx: *mut VmCtx, callee_fp: *mut u128, ty: u32, table: u32) -> u32;

/// Calls the function the reference in the slot after the arguments names (`call_ref` with
/// module type `ty`, which says how many arguments there are) on the frame at `callee_fp`, or
/// traps when it is null. Returns like a [`FuncEntry`].
pub type CallRefHelper =
    unsafe extern "C" fn(ctx: *mut VmCtx, callee_fp: *mut u128, ty: u32) -> u32;

/// Runs the tail calls pending on the frame at `callee_fp` (an entry called on it returned
/// [`TAIL_CALL_PENDING`]) until one returns [`STATUS_OK`] or [`TRAP_PENDING`], which it returns.
pub type TailCallsHelper = unsafe extern "C" fn(ctx: *mut VmCtx, callee_fp: *mut u128) -> u32;

/// `return_call_indirect` through table `table` with the signature `ty` (module type index) of
/// element `index`, from the function whose frame is at `fp` (the arguments already in its first
/// slots): checks the element and records it as the pending callee. Returns
/// [`TAIL_CALL_PENDING`] or a trap status.
pub type TailCallIndirectHelper =
    unsafe extern "C" fn(ctx: *mut VmCtx, fp: *mut u128, ty: u32, table: u32, index: u32) -> u32;

/// `return_call_ref` of the function reference `raw` (0 for null), from the function whose frame
/// is at `fp` (the arguments already in its first slots): records the callee as pending, or
/// traps on null. Returns [`TAIL_CALL_PENDING`] or [`TRAP_PENDING`].
pub type TailCallRefHelper = unsafe extern "C" fn(ctx: *mut VmCtx, fp: *mut u128, raw: u64) -> u32;
/// Exception handling: whether the pending trap behind `status` (a call's or a throw's) is an
/// exception that a catch clause for module tag `tag` (`vm::exception::CATCH_ALL`: any) catches;
/// if so, writes the clause's values (the payload, then the `exnref` when `with_ref` is nonzero)
/// to the slots from `dest` on and returns [`STATUS_OK`], else returns `status` unchanged.
pub type CatchHelper = unsafe extern "C" fn(
    ctx: *mut VmCtx,
    status: u32,
    dest: *mut u128,
    tag: u32,
    with_ref: u32,
) -> u32;

/// Grows memory 0 by `delta` pages; returns the old size in pages or `u32::MAX`, and refreshes the
/// context's memory fields. (Other memories grow through the runtime operations.)
pub type MemoryGrowHelper = unsafe extern "C" fn(ctx: *mut VmCtx, delta: u32) -> u32;

/// `memory.copy` within a 32-bit memory 0 (`dst`, `src`, `len`) or `memory.fill` of one
/// (`dst`, the byte in `value`'s low 8 bits, `len`), through the context's memory fields, without
/// the runtime operations' lookups; returns [`STATUS_OK`] or [`TRAP_PENDING`] (out of bounds).
pub type BulkMemoryHelper =
    unsafe extern "C" fn(ctx: *mut VmCtx, dst: u32, src_or_value: u32, len: u32) -> u32;

/// Records that a trap with `status` passes through compiled function `func` (module index space)
/// of tier `tier` (a [`Tier`](crate::Tier) as `u32`: 1 baseline, 2 optimized) on its way out, at
/// the wasm operator at module offset `wasm_offset` (the trapping one, or the call the trap came
/// back through); returns [`TRAP_PENDING`]. Every compiled function calls it on its trap exit, so
/// backtraces name compiled frames without the runtime tracking calls.
pub type UnwindHelper = unsafe extern "C" fn(
    ctx: *mut VmCtx,
    status: u32,
    func: u32,
    tier: u32,
    wasm_offset: u32,
) -> u32;

/// Runs a runtime operation (numbered by [`RuntimeOp`](super::ops::RuntimeOp)) with immediates `a`
/// and `b` on the operands in the slots from `args` on (a result replaces the first); returns
/// [`STATUS_OK`] or a trap status.
pub type RuntimeHelper =
    unsafe extern "C" fn(ctx: *mut VmCtx, op: u32, a: u32, b: u32, args: *mut u128) -> u32;

/// Compiled code of tier `tier` spent the last of function `func`'s tier-up budget, at its entry
/// (`site` = [`HOT_AT_ENTRY`]) or at a back-edge of its loop number `site`, with every value in its
/// canonical slot of the frame at `fp`. Returns [`HOT_CONTINUE`] (carry on where it was), or the
/// status of newer code that ran the rest of the function on the same frame (which the caller
/// then returns as its own).
pub type HotHelper =
    unsafe extern "C" fn(ctx: *mut VmCtx, fp: *mut u128, func: u32, site: u32, tier: u32) -> u32;

/// The call returned normally; its results are in place.
pub const STATUS_OK: u32 = 0;
/// The callee trapped: the trap, with the frames it has passed, is the store's pending trap.
pub const TRAP_PENDING: u32 = u32::MAX;
/// The function left by a tail call its entry could not continue in: the callee waits in the
/// store (`StoreInner::pending_tail_call`), its arguments in the frame's first slots, and the
/// caller of the entry runs it on the same frame (see the module docs).
pub const TAIL_CALL_PENDING: u32 = u32::MAX - 2;
/// From a [`HotHelper`]: nothing newer to run yet, carry on.
pub const HOT_CONTINUE: u32 = u32::MAX - 1;
/// The `site` of a [`HotHelper`] call made at function entry.
pub const HOT_AT_ENTRY: u32 = u32::MAX;

/// One function's profile counters, shared by every instance of its module and by every tier
/// that counts: tier 0 and compiled code update them in place (compiled code with plain,
/// non-atomic read-modify-writes: under concurrency a count may be lost, which only delays a
/// tier-up decision). `#[repr(C)]`: compiled code addresses the fields.
#[repr(C)]
#[derive(Debug, Default)]
pub struct FuncCounters {
    /// Times the function was entered (by a call; on-stack replacement is not a call).
    pub calls: std::sync::atomic::AtomicU64,
    /// Taken branches back to a loop header.
    pub back_edges: std::sync::atomic::AtomicU64,
    /// Hotness left before tiering looks at the function again (see `tier::tuning`); calls and
    /// back-edges spend it.
    pub budget: std::sync::atomic::AtomicI64,
    _reserved: u64,
}

/// One linear memory as compiled code and the interpreter reach it: its base (it never moves) and
/// its accessible bytes (which grow).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MemoryView {
    pub base: *mut u8,
    pub len: u64,
}

/// Where the cells of an instance's own (not imported) globals start, from its context's
/// address: right after the context, 16 bytes each by defined-global index, so compiled code reads
/// one with a single load (`vm::store::VmCtxBox`).
pub const INLINE_GLOBALS: usize = std::mem::size_of::<VmCtx>().next_multiple_of(16);

/// What compiled code reads at run time: one per instance, at a stable address, followed by the
/// cells of the instance's own globals ([`INLINE_GLOBALS`]).
#[repr(C)]
#[derive(Debug)]
pub struct VmCtx {
    /// Base of linear memory 0 (dangling when there is none). Never moves.
    pub mem_base: *mut u8,
    /// Accessible bytes of linear memory 0 (read by `memory.size`, and by accesses only under
    /// explicit bounds checks: with guard pages, the page protections are the bounds). The
    /// runtime refreshes it after anything that may have grown the memory.
    pub mem_len: u64,
    /// The instance's global cells, by global index (its own globals' cells are also inline after
    /// the context, [`INLINE_GLOBALS`]).
    pub globals: *const *mut u128,
    /// The current entry of each function the module defines, by defined-function index: the
    /// module-wide table tier-up swaps entries in (see `tier`), read by every caller.
    pub funcs: *const FuncEntry,
    /// `call_indirect`.
    pub call_indirect: CallIndirectHelper,
    /// `memory.grow`.
    pub memory_grow: MemoryGrowHelper,
    /// The trap exit's helper.
    pub unwind: UnwindHelper,
    /// One past the last slot of the value stack: a prologue traps if its frame would reach it.
    pub stack_end: *const u128,
    /// The lowest host stack address compiled code may call below; prologues compare the stack
    /// pointer against it (compiled calls recurse on the host stack). Set for the running thread
    /// on every entry from the host.
    pub native_stack_limit: usize,
    /// The store's remaining fuel (read and written only by code compiled with fuel metering).
    pub fuel: *mut u64,
    /// Table 0's dispatch array (`tables[0]`; null without tables): the table C and Rust
    /// programs call function pointers through, one load closer (and near the context's start,
    /// where x86-64 addresses it with an 8-bit displacement).
    pub table0: *const super::table::Dispatch,
    /// Table instructions, bulk memory and `ref.func`.
    pub runtime: RuntimeHelper,
    /// Calls import number `func` (the third argument) of this instance.
    pub call_import: FuncEntry,
    /// The module's profile counters, by defined-function index.
    pub counters: *const FuncCounters,
    /// The tiering hook of compiled code.
    pub hot: HotHelper,
    /// The dispatch arrays of the instance's tables, by module table index (see `vm::table`):
    /// what `call_indirect` checks and calls through without leaving compiled code.
    pub tables: *const *const super::table::Dispatch,
    /// The store's profile stack (`vm::profile`) under `ProfilingStrategy::Guest`, null
    /// otherwise: only code compiled for guest profiling reads it.
    pub profile_stack: *const super::profile::ProfileStack,
    /// `return_call` of import number `func` (the third argument) of this instance: records it as
    /// the pending tail call and returns [`TAIL_CALL_PENDING`]. Compiled code jumps to it in
    /// place of its caller's frame, as to any tail callee's entry.
    pub tail_call_import: FuncEntry,
    /// `return_call_indirect` when the element is not simply this instance's function.
    pub tail_call_indirect: TailCallIndirectHelper,
    /// Where compiled call sites go when a callee returns [`TAIL_CALL_PENDING`].
    pub tail_calls: TailCallsHelper,
    /// Every memory of the instance by memory index, memory 0 included (`mem_base` and `mem_len`
    /// are the copy its accesses use): how code reaches memories 1 and up (multi-memory).
    /// Refreshed with `mem_base` and `mem_len`.
    pub memories: *const MemoryView,
    /// `call_ref`.
    pub call_ref: CallRefHelper,
    /// `return_call_ref`.
    pub tail_call_ref: TailCallRefHelper,
    /// Where compiled code checks a catch clause against an exception passing a call or a
    /// throw inside a `try_table` (`vm::exception::catch`).
    pub catch: CatchHelper,
    /// The register entry of each function the module defines, by defined-function index, or 0:
    /// where tier-2 code calls a tier-2 callee with its arguments and first result in registers
    /// (tier 2's own convention, see `opt::abi`). 0 while the function has no such entry (not in
    /// tier 2, or held in its debug translation): the caller then goes through [`Self::funcs`].
    pub register_entries: *const usize,
    /// `memory.copy` within memory 0 (tier 2).
    pub memory_copy: BulkMemoryHelper,
    /// `memory.fill` of memory 0 (tier 2).
    pub memory_fill: BulkMemoryHelper,
    /// The store this instance lives in (opaque to compiled code). Stable: stores keep their
    /// runtime state in one allocation.
    pub store: *mut StoreInner,
    /// The instance's index in its store (opaque to compiled code).
    pub instance: u32,
}

// SAFETY: a context is only ever used by the thread running its store, which owns it; the raw
// pointers inside point into that store and its modules, which travel with it.
unsafe impl Send for VmCtx {}
