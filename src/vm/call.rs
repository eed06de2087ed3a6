//! How calls travel: from the host into wasm, between instances, to host functions and through
//! tables; and the helpers compiled code leaves through. Every call ends in a function entry
//! (`vmctx::FuncEntry`): the runtime never knows, nor asks, which tier a callee runs in.
//!
//! ```text
//! host --Func::call--> call() --module's function table--> entry(ctx, fp, func)
//!                                                             | tier 0, 1 or 2 runs the body
//! any tier --call import / call_indirect / call_ref--> call_func() --> entry | host trampoline
//! ```
//!
//! Traps come back as statuses: the trap itself waits in the store (`StoreInner::pending_trap`)
//! while each frame it passes adds itself to the backtrace; the entry from the host takes it.
//!
//! Tail calls: an entry may also return `TAIL_CALL_PENDING` (see `vmctx`), its function replaced
//! by a callee waiting in the store (`StoreInner::pending_tail_call`) with its arguments in the
//! frame. Every caller of an entry finishes such a chain in a loop on the same frame
//! ([`finish_tail_calls`]: here, in [`call_func`] and in [`tail_calls`], which compiled call
//! sites reach; the interpreter through [`call_func`]), so the host stack stays constant however
//! long the chain, whatever tiers and instances it crosses; a host callee is called and returned
//! from.
//!
//! This module must never name a tier; it reads entries from the module's function table, which
//! tiering maintains.

use super::TrapCode;
use super::ops::{self, RuntimeOp};
use super::stack::MAX_NESTING;
use super::store::PendingTailCall;
use super::store::{Caller, FuncIdx, FuncKind, Store, StoreInner, decode_func_ref};
use super::trap::{FrameInfo, Trap, trap_code};
use super::vmctx::{STATUS_OK, TAIL_CALL_PENDING, TRAP_PENDING, VmCtx};
use crate::tier::Tier;
use crate::val::Val;

/// Calls `func` from the host with `args`, writing `results`. Types, and that every `funcref`
/// argument belongs to the store, have been checked by the caller.
pub(crate) fn call<T>(
    store: &mut Store<T>,
    func: FuncIdx,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let entity = store.inner.func(func);
    let (instance, def) = match entity.kind {
        FuncKind::Host { index, .. } => return call_host(store, index, func, None, args, results),
        FuncKind::Wasm { instance, def_index } => (instance, def_index),
    };
    let result_types: Vec<_> = entity.ty.results().to_vec();
    let stack = &mut store.inner.stack;
    let base = stack.top;
    let needed = args.len().max(results.len());
    if base + needed > stack.len() || stack.nesting >= MAX_NESTING {
        return Err(Trap::new(TrapCode::StackOverflow));
    }
    for (i, arg) in args.iter().enumerate() {
        // SAFETY: `base + i < base + needed <= len`, checked above.
        unsafe { stack.slot_ptr(base + i).write(arg.to_raw()) };
    }
    stack.nesting += 1;
    let saved_host_store = store.inner.host_store;
    store.inner.host_store = (store as *mut Store<T>).cast();
    set_native_stack_limit(&mut store.inner);
    let fp = store.inner.stack.slot_ptr(base);
    let inner = store.inner.as_ptr();
    // A trap pops no guest profiler entries (see `vm::profile`): the depth found here is
    // restored, whatever the call left.
    let profile_depth = store.inner.guest_sampler.as_ref().map(|s| s.stack.depth());
    // SAFETY: `inner` is the store's runtime state, lent to wasm for the call (nothing else
    // touches `store` until it returns); the frame at `fp` holds the arguments and has room for
    // the results.
    let status = unsafe { call_wasm(inner, instance, def, fp) };
    if let (Some(depth), Some(sampler)) = (profile_depth, &store.inner.guest_sampler) {
        // Every tier pops what it pushed on a normal return: a mismatch is a profiling bug.
        debug_assert!(
            status != STATUS_OK || sampler.stack.depth() == depth,
            "guest profile stack unbalanced: {} after the call, {depth} before",
            sampler.stack.depth()
        );
        sampler.stack.set_depth(depth);
    }
    store.inner.host_store = saved_host_store;
    store.inner.stack.nesting -= 1;
    if status != STATUS_OK {
        return Err(take_trap(&mut store.inner, status));
    }
    for (i, (result, ty)) in results.iter_mut().zip(result_types).enumerate() {
        // SAFETY: as for the arguments; the callee wrote its results to `base..`.
        let raw = unsafe { store.inner.stack.slot_ptr(base + i).read() };
        *result = Val::from_raw(ty, raw, store.inner.id);
    }
    Ok(())
}

/// The pending trap a status other than [`STATUS_OK`] stands for.
fn take_trap(store: &mut StoreInner, status: u32) -> Trap {
    match status {
        TRAP_PENDING => store.pending_trap.take().expect("a pending trap was stored"),
        code => Trap::new(trap_code(code)),
    }
}

/// Runs defined function `def` of `instance` on the frame at `fp` through its current entry.
///
/// # Safety
/// `store` must be a store lent to wasm (see [`call`]) and `fp` a frame on its stack with the
/// arguments in place and room for the callee's frame checks.
unsafe fn call_wasm(store: *mut StoreInner, instance: u32, def: u32, fp: *mut u128) -> u32 {
    // SAFETY: the store is live; the reference ends before the entry runs.
    let (ctx, entry, func) = unsafe {
        let entity = &(&(*store).instances)[instance as usize];
        let module = &entity.module.inner;
        (entity.vmctx.as_ptr(), module.tiers.entry(def), module.num_imported_funcs + def)
    };
    // SAFETY: the context is live; another instance or the host may have grown a memory it
    // shares since its code last ran.
    unsafe { refresh_memory(ctx) };
    // SAFETY: the entry runs function `func` of the instance `ctx` belongs to, on a frame the
    // caller provides; so do the tail calls it leaves pending.
    unsafe {
        let status = entry(ctx, fp, func);
        finish_tail_calls(store, status, fp)
    }
}

/// Gives every instance context the calling thread's host stack limit, when it changed since the
/// last entry from the host (stores may move between threads between calls).
fn set_native_stack_limit(store: &mut StoreInner) {
    let limit = native_stack_limit();
    if store.native_stack_limit == limit {
        return;
    }
    store.native_stack_limit = limit;
    for instance in &store.instances {
        // SAFETY: no wasm of this store runs while it is borrowed here.
        unsafe { (*instance.vmctx.as_ptr()).native_stack_limit = limit };
    }
}

/// Calls host function `index` (store function `func`) on behalf of `instance`.
fn call_host<T>(
    store: &mut Store<T>,
    index: u32,
    func: FuncIdx,
    instance: Option<u32>,
    args: &[Val],
    results: &mut [Val],
) -> Result<(), Trap> {
    let host = store.host_funcs[index as usize].clone();
    let instance = instance.map(|i| store.inner.handle(i));
    host(Caller { store: &mut *store, instance }, args, results)?;
    let ty = &store.inner.func(func).ty;
    for (val, expected) in results.iter().zip(ty.results()) {
        store.inner.check_val(val).map_err(|e| Trap::host(format!("host function result: {e}")))?;
        if !store.inner.val_has_type(val, *expected) {
            return Err(Trap::host(format!(
                "host function returned a {} where its signature says {expected}",
                val.ty()
            )));
        }
    }
    Ok(())
}

/// The entry of every host function of a `Store<T>`: calls store function `func` with the
/// arguments at `callee_fp`, for the instance of `ctx` (its caller).
///
/// # Safety
/// `ctx` must be the context of an instance of a store lent to wasm by [`call`] (which set
/// `host_store` to the `Store<T>`), and `callee_fp` a frame on its stack with the arguments in
/// place and room for the results.
pub(crate) unsafe extern "C" fn host_trampoline<T>(
    ctx: *mut VmCtx,
    callee_fp: *mut u128,
    func: u32,
) -> u32 {
    // SAFETY: guaranteed by the caller: `host_store` is the `Store<T>` that `call` lent, which
    // nothing else uses until this returns (the executions above it only hold raw pointers).
    let (store, instance) =
        unsafe { (&mut *(*(*ctx).store).host_store.cast::<Store<T>>(), (*ctx).instance) };
    let func = FuncIdx(func);
    let (index, ty) = match &store.inner.func(func).kind {
        FuncKind::Host { index, .. } => (*index, store.inner.func(func).ty.clone()),
        FuncKind::Wasm { .. } => unreachable!("the host trampoline only calls host functions"),
    };
    let args: Vec<Val> = ty
        .params()
        .iter()
        .enumerate()
        // SAFETY: the arguments are at `callee_fp..`.
        .map(|(i, t)| Val::from_raw(*t, unsafe { callee_fp.add(i).read() }, store.inner.id))
        .collect();
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
    // Re-entries from the host start above the caller's frame.
    let stack = &mut store.inner.stack;
    let saved_top = stack.top;
    stack.top = stack.index_of(callee_fp) + args.len().max(results.len());
    let outcome = call_host(store, index, func, Some(instance), &args, &mut results);
    store.inner.stack.top = saved_top;
    // SAFETY: `ctx` is live; the host function may have grown memory.
    unsafe { refresh_memory(ctx) };
    match outcome {
        Ok(()) => {
            for (i, r) in results.iter().enumerate() {
                // SAFETY: the caller's frame has room for the results at `callee_fp..`.
                unsafe { callee_fp.add(i).write(r.to_raw()) };
            }
            STATUS_OK
        }
        Err(trap) => {
            store.inner.pending_trap = Some(trap);
            TRAP_PENDING
        }
    }
}

/// Reloads `ctx`'s memory fields from its instance's memories, after anything that may have grown
/// one (another instance or the host can grow a shared memory).
///
/// # Safety
/// `ctx` must be a live instance context whose store is not otherwise borrowed.
pub(crate) unsafe fn refresh_memory(ctx: *mut VmCtx) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let store = &*(*ctx).store;
        let instance = &store.instances[(*ctx).instance as usize];
        for (view, &m) in instance.memory_views.iter().zip(&instance.memories) {
            view.set(super::instance::memory_view(&store.memories[m as usize]));
        }
        if let Some(view) = instance.memory_views.first() {
            (*ctx).mem_base = view.get().base;
            (*ctx).mem_len = view.get().len;
        }
    }
}

/// Calls store function `func` from the instance of `caller` on the frame at `callee_fp`: a host
/// function through its trampoline, a wasm function (of any instance) through its current entry
/// with its own instance's context. Returns the callee's status.
///
/// # Safety
/// `caller` must be a live context of a store lent to wasm, `func` a function of that store, and
/// `callee_fp` a frame on its stack with the arguments in place.
pub(crate) unsafe fn call_func(caller: *mut VmCtx, func: FuncIdx, callee_fp: *mut u128) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let status = call_func_once(caller, func, callee_fp);
        if status != TAIL_CALL_PENDING {
            return status;
        }
        let status = finish_tail_calls((*caller).store, status, callee_fp);
        // The chain may have grown the caller's memory from another instance.
        refresh_memory(caller);
        status
    }
}

/// Runs the tail calls pending on the frame at `fp` while `status` says one is, one after the
/// other (never nested: each callee's entry returns before the next runs); returns the last
/// callee's status.
///
/// # Safety
/// `store` must be a store lent to wasm and `fp` the frame the entry that returned `status` ran
/// on.
pub(crate) unsafe fn finish_tail_calls(
    store: *mut StoreInner,
    mut status: u32,
    fp: *mut u128,
) -> u32 {
    while status == TAIL_CALL_PENDING {
        // SAFETY: the store is live; the reference ends before the callee runs.
        let pending = unsafe { (*store).pending_tail_call.take() };
        let PendingTailCall { caller, func } =
            pending.expect("a function left by a tail call recorded its callee");
        // SAFETY: the callee's arguments are in the frame's first slots, where the function it
        // replaces had its own; `caller` is the live context the tail call was made from.
        status = unsafe { call_func_once(caller, func, fp) };
    }
    status
}

/// Records `func`, called from the instance of `caller`, as the tail call pending on the
/// running function's frame; returns [`TAIL_CALL_PENDING`], what that function then returns.
///
/// # Safety
/// `caller` must be a live context of a store lent to wasm.
pub(crate) unsafe fn pend_tail_call(caller: *mut VmCtx, func: FuncIdx) -> u32 {
    // SAFETY: guaranteed by the caller.
    let store = unsafe { &mut *(*caller).store };
    debug_assert!(store.pending_tail_call.is_none(), "one tail call pending at a time");
    store.pending_tail_call = Some(PendingTailCall { caller, func });
    TAIL_CALL_PENDING
}

/// `VmCtx::tail_calls`: a call made on the frame at `callee_fp` returned
/// [`TAIL_CALL_PENDING`]; runs the chain to its end.
///
/// # Safety
/// `ctx` must be the calling code's live context, of a store lent to wasm, and `callee_fp` the
/// frame the call was made on.
pub(crate) unsafe extern "C" fn tail_calls(ctx: *mut VmCtx, callee_fp: *mut u128) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let status = finish_tail_calls((*ctx).store, TAIL_CALL_PENDING, callee_fp);
        // The chain may have left the instance and grown its memory.
        refresh_memory(ctx);
        status
    }
}

/// `VmCtx::tail_call_import`: `return_call` of import `import` of the instance of `ctx`, the
/// arguments in the first slots of the frame at `fp`.
///
/// # Safety
/// As for [`call_import`].
pub(crate) unsafe extern "C" fn tail_call_import(
    ctx: *mut VmCtx,
    fp: *mut u128,
    import: u32,
) -> u32 {
    let _ = fp;
    // SAFETY: the context and its store are live.
    let func = unsafe {
        let store = &*(*ctx).store;
        FuncIdx(store.instances[(*ctx).instance as usize].funcs[import as usize])
    };
    // SAFETY: guaranteed by the caller.
    unsafe { pend_tail_call(ctx, func) }
}

/// `VmCtx::tail_call_indirect`.
///
/// # Safety
/// As for [`call_indirect`]; the arguments are in the first slots of the frame at `fp`.
pub(crate) unsafe extern "C" fn tail_call_indirect(
    ctx: *mut VmCtx,
    fp: *mut u128,
    ty: u32,
    table: u32,
    index: u32,
) -> u32 {
    let _ = fp;
    // SAFETY: the context and its store are live.
    let resolved = unsafe {
        let store = &*(*ctx).store;
        ops::resolve_indirect(store, (*ctx).instance, ty, table, index)
    };
    match resolved {
        // SAFETY: guaranteed by the caller.
        Ok(func) => unsafe { pend_tail_call(ctx, func) },
        // SAFETY: as above.
        Err(code) => unsafe { raise(ctx, code) },
    }
}

/// `VmCtx::tail_call_ref`.
///
/// # Safety
/// As for [`tail_call_import`]; `raw` is a function reference of the store (0 for null).
pub(crate) unsafe extern "C" fn tail_call_ref(ctx: *mut VmCtx, fp: *mut u128, raw: u64) -> u32 {
    let _ = fp;
    match decode_func_ref(raw) {
        // SAFETY: guaranteed by the caller; validation gave the function the call's type.
        Some(func) => unsafe { pend_tail_call(ctx, func) },
        // SAFETY: as above.
        None => unsafe { raise(ctx, TrapCode::NullReference) },
    }
}

/// Calls store function `func` as [`call_func`] does, but returns [`TAIL_CALL_PENDING`] as it
/// comes, for the caller's loop.
///
/// # Safety
/// As for [`call_func`].
unsafe fn call_func_once(caller: *mut VmCtx, func: FuncIdx, callee_fp: *mut u128) -> u32 {
    // SAFETY: the store is live; the references end before the callee runs.
    let target = unsafe {
        let store = &*(*caller).store;
        match store.func(func).kind {
            FuncKind::Host { entry, .. } => (entry, caller, func.0),
            FuncKind::Wasm { instance, def_index } => {
                let entity = &store.instances[instance as usize];
                let module = &entity.module.inner;
                let index = module.num_imported_funcs + def_index;
                (module.tiers.entry(def_index), entity.vmctx.as_ptr(), index)
            }
        }
    };
    let (entry, ctx, index) = target;
    if ctx == caller {
        // SAFETY: the entry gets the caller's context (a host function's caller, or a function
        // of the same instance) and a frame the caller provides.
        return unsafe { entry(ctx, callee_fp, index) };
    }
    // SAFETY: as above, for another instance's function: its memory may have grown since its
    // code last ran, and the callee may have grown the caller's.
    unsafe {
        refresh_memory(ctx);
        let status = entry(ctx, callee_fp, index);
        refresh_memory(caller);
        status
    }
}

/// `VmCtx::call_import`: calls import `import` of the instance of `ctx`.
///
/// # Safety
/// As for [`call_func`]; `import` is an imported function's index.
pub(crate) unsafe extern "C" fn call_import(
    ctx: *mut VmCtx,
    callee_fp: *mut u128,
    import: u32,
) -> u32 {
    // SAFETY: the context and its store are live.
    let func = unsafe {
        let store = &*(*ctx).store;
        FuncIdx(store.instances[(*ctx).instance as usize].funcs[import as usize])
    };
    // SAFETY: guaranteed by the caller.
    unsafe { call_func(ctx, func, callee_fp) }
}

/// Stores `code` as the pending trap (with no frame yet: the caller's trap exit names itself).
///
/// # Safety
/// `ctx` must be a live context.
unsafe fn raise(ctx: *mut VmCtx, code: TrapCode) -> u32 {
    // SAFETY: guaranteed by the caller.
    unsafe { (*(*ctx).store).pending_trap = Some(Trap::new(code)) };
    TRAP_PENDING
}

/// `VmCtx::call_indirect`.
///
/// # Safety
/// As for [`call_func`]; the arguments and then the table index are in the slots at `callee_fp..`.
pub(crate) unsafe extern "C" fn call_indirect(
    ctx: *mut VmCtx,
    callee_fp: *mut u128,
    ty: u32,
    table: u32,
) -> u32 {
    // SAFETY: the context and its store are live; the table index follows the arguments.
    let resolved = unsafe {
        let store = &*(*ctx).store;
        let instance = (*ctx).instance;
        let num_params =
            store.instances[instance as usize].module.inner.types[ty as usize].params().len();
        let index = callee_fp.add(num_params).cast::<u32>().read();
        ops::resolve_indirect(store, instance, ty, table, index)
    };
    match resolved {
        // SAFETY: guaranteed by the caller.
        Ok(func) => unsafe { call_func(ctx, func, callee_fp) },
        // SAFETY: as above.
        Err(code) => unsafe { raise(ctx, code) },
    }
}

/// `VmCtx::call_ref`.
///
/// # Safety
/// As for [`call_func`]; the arguments and then the function reference are in the slots at
/// `callee_fp..`, and `ty` is the module type the validated `call_ref` names.
pub(crate) unsafe extern "C" fn call_ref(ctx: *mut VmCtx, callee_fp: *mut u128, ty: u32) -> u32 {
    // SAFETY: the context and its store are live; the reference follows the arguments.
    let func = unsafe {
        let store = &*(*ctx).store;
        let module = &store.instances[(*ctx).instance as usize].module.inner;
        let num_params = module.types[ty as usize].params().len();
        decode_func_ref(callee_fp.add(num_params).cast::<u64>().read())
    };
    match func {
        // SAFETY: guaranteed by the caller; validation gave the function type `ty`.
        Some(func) => unsafe { call_func(ctx, func, callee_fp) },
        // SAFETY: as above.
        None => unsafe { raise(ctx, TrapCode::NullReference) },
    }
}

/// `VmCtx::memory_grow`.
///
/// # Safety
/// `ctx` must be a live context of a store lent to wasm.
pub(crate) unsafe extern "C" fn memory_grow(ctx: *mut VmCtx, delta: u32) -> u32 {
    // SAFETY: guaranteed by the caller.
    // Tier 1 grows a 64-bit memory 0 through the runtime operation, never here.
    let old = unsafe { ops::memory_grow(&mut *(*ctx).store, (*ctx).instance, 0, delta as u64) };
    let old = old.map_or(u32::MAX, |pages| pages as u32);
    // SAFETY: as above.
    unsafe { refresh_memory(ctx) };
    old
}

/// Memory 0's accessible bytes, from the context's memory fields.
///
/// # Safety
/// `ctx` must be a live context of a store lent to wasm, running compiled code (nothing else
/// references the memory's bytes meanwhile).
unsafe fn memory0<'a>(ctx: *mut VmCtx) -> &'a mut [u8] {
    // SAFETY: guaranteed by the caller: `mem_base` starts memory 0's accessible bytes and
    // `mem_len` counts them (refreshed after every growth; dangling and 0 without a memory).
    unsafe { std::slice::from_raw_parts_mut((*ctx).mem_base, (*ctx).mem_len as usize) }
}

/// `VmCtx::memory_copy`.
///
/// # Safety
/// As for [`memory0`].
pub(crate) unsafe extern "C" fn memory_copy(ctx: *mut VmCtx, dst: u32, src: u32, len: u32) -> u32 {
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { memory0(ctx) };
    match ops::copy_within(bytes, dst as u64, src as u64, len as u64) {
        Ok(()) => STATUS_OK,
        // SAFETY: as above; the memory is no longer borrowed.
        Err(code) => unsafe { raise(ctx, code) },
    }
}

/// `VmCtx::memory_fill`.
///
/// # Safety
/// As for [`memory0`].
pub(crate) unsafe extern "C" fn memory_fill(
    ctx: *mut VmCtx,
    dst: u32,
    value: u32,
    len: u32,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { memory0(ctx) };
    match ops::fill_within(bytes, dst as u64, value, len as u64) {
        Ok(()) => STATUS_OK,
        // SAFETY: as above; the memory is no longer borrowed.
        Err(code) => unsafe { raise(ctx, code) },
    }
}

/// `VmCtx::runtime`.
///
/// # Safety
/// As for [`memory_grow`]; `args` must point at the operands of `op` in the running frame.
pub(crate) unsafe extern "C" fn runtime(
    ctx: *mut VmCtx,
    op: u32,
    a: u32,
    b: u32,
    args: *mut u128,
) -> u32 {
    let Some(op) = RuntimeOp::from_u32(op) else {
        // SAFETY: guaranteed by the caller.
        return unsafe { raise(ctx, TrapCode::Host(format!("unknown runtime operation {op}"))) };
    };
    // SAFETY: guaranteed by the caller.
    let outcome = unsafe { ops::run(&mut *(*ctx).store, (*ctx).instance, op, a, b, args) };
    if op == RuntimeOp::MemoryGrow {
        // SAFETY: as above; the store is no longer borrowed.
        unsafe { refresh_memory(ctx) };
    }
    match outcome {
        Ok(()) => STATUS_OK,
        // SAFETY: as above.
        Err(code) => unsafe { raise(ctx, code) },
    }
}

/// `VmCtx::unwind`: a trap passes through compiled function `func` of tier `tier`, at the wasm
/// operator at module offset `wasm_offset` (`u32::MAX`: unknown).
///
/// # Safety
/// `ctx` must be a live context of a store lent to wasm.
pub(crate) unsafe extern "C" fn unwind(
    ctx: *mut VmCtx,
    status: u32,
    func: u32,
    tier: u32,
    wasm_offset: u32,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let store = unsafe { &mut *(*ctx).store };
    let mut trap = take_trap(store, status);
    let tier = if tier == 2 { Tier::Optimized } else { Tier::Baseline };
    // SAFETY: as above.
    let instance = unsafe { (*ctx).instance };
    let wasm_offset = (wasm_offset != u32::MAX).then_some(wasm_offset);
    trap.push_frame(|| frame_info(store, instance, func, tier, wasm_offset));
    // An exception may be caught by a caller, which then runs on: the frame it leaves pops its
    // guest profile entry, as a return would (a trap leaves that to the host entry).
    if super::exception::exception_of(store, &trap).is_some()
        && let Some(sampler) = &store.guest_sampler
    {
        sampler.stack.pop();
    }
    store.pending_trap = Some(trap);
    TRAP_PENDING
}

/// The backtrace entry of function `func` (module index space) of `instance`, running in `tier`
/// at the instruction at module offset `wasm_offset`.
pub(crate) fn frame_info(
    store: &StoreInner,
    instance: u32,
    func: u32,
    tier: Tier,
    wasm_offset: Option<u32>,
) -> FrameInfo {
    let module = &store.instances[instance as usize].module.inner;
    FrameInfo {
        func_index: func,
        func_name: module.display_name(func).map(str::to_string),
        module_name: module.names.module.clone(),
        tier,
        wasm_offset,
    }
}

/// Whether the host stack pointer is below `limit` (see [`native_stack_limit`]). Compiled calls
/// recurse on the host stack, so deep guest recursion must trap before the stack overflows.
pub(crate) fn native_stack_exhausted(limit: usize) -> bool {
    let marker = 0u8;
    (std::ptr::addr_of!(marker) as usize) < limit
}

/// The lowest host stack address compiled calls may reach on this thread: the stack's low end
/// plus a margin for the deepest host work below a check (0 when unknown, which disables the
/// check).
pub(crate) fn native_stack_limit() -> usize {
    NATIVE_STACK_LIMIT.with(|limit| *limit)
}

thread_local! {
    /// Asking the system for the stack's bounds can read `/proc` on the main thread: once per thread.
    static NATIVE_STACK_LIMIT: usize = {
        const MARGIN: usize = 256 << 10;
        match native_stack_low() {
            0 => 0,
            low => low + MARGIN,
        }
    };
}

/// The lowest address of the calling thread's stack, or 0 when unknown.
fn native_stack_low() -> usize {
    // SAFETY: `pthread_getattr_np` fills `attr` for the calling thread, `pthread_attr_getstack`
    // only reads it, and it is destroyed after use.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if ok { addr as usize } else { 0 }
    }
}
