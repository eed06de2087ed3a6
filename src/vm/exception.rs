//! Exception handling's runtime: tags, exception objects, and how a thrown exception travels.
//!
//! A tag is a store entity ([`TagEntity`]) that instances define or import; `catch` clauses
//! match exceptions by tag identity (two imports of one tag are the same tag, two definitions
//! of one type are not). `throw` makes an [`ExceptionObject`] in the store (its tag and payload)
//! and raises it as a trap whose code is [`TrapCode::Exception`]: it then travels exactly as
//! traps do, as the store's pending trap behind the `TRAP_PENDING` status, through every tier,
//! every helper and the host, so nothing that passes traps on needs to know exceptions exist.
//! Only a frame inside a `try_table` looks closer: at the instruction the trap came back
//! through (a call or a throw) it asks [`catch`] (or [`catch_here`]) for each of its catch
//! clauses, innermost `try_table` first, whether the pending trap is an exception that clause
//! catches; if so, the payload (and for `catch_ref`/`catch_all_ref` the `exnref`) lands in the
//! frame's slots and the frame branches to the clause's label. Real traps never match.
//!
//! An exception nobody catches reaches the host as a [`Trap`] with the backtrace of every
//! frame it left, as wasmtime reports it ("thrown Wasm exception"). Frames an exception unwinds
//! pop their guest profiler entries (a trap leaves that to the host entry, an exception may be
//! caught).
//!
//! This module must never name a tier.

use super::store::{Exn, StoreInner};
use super::trap::{Trap, TrapCode};
use super::vmctx::{STATUS_OK, TRAP_PENDING, VmCtx};
use crate::types::FuncType;

/// The `tag` of a `catch_all` or `catch_all_ref` clause.
pub const CATCH_ALL: u32 = u32::MAX;

/// A tag: the payload types of its exceptions.
pub(crate) struct TagEntity {
    pub ty: FuncType,
}

/// A thrown exception: the store tag it was thrown with and its payload as raw slots.
pub(crate) struct ExceptionObject {
    pub tag: u32,
    pub payload: Box<[u128]>,
}

/// `throw` of module tag `tag` by `instance`, the payload in the slots from `args` on: the
/// exception, raised (as the trap to store as pending).
///
/// # Safety
/// `args` must point at as many readable slots as the tag has parameters.
pub(crate) unsafe fn throw(
    store: &mut StoreInner,
    instance: u32,
    tag: u32,
    args: *const u128,
) -> Trap {
    let tag = store.instances[instance as usize].tags[tag as usize];
    let arity = store.tags[tag as usize].ty.params().len();
    // SAFETY: guaranteed by the caller.
    let payload = unsafe { std::slice::from_raw_parts(args, arity) }.into();
    store.exceptions.push(ExceptionObject { tag, payload });
    raise(store, store.exceptions.len() as u32 - 1)
}

/// `throw_ref` of the `exnref` `raw` (index + 1): the same exception raised again, or a trap
/// for a null reference.
pub(crate) fn throw_ref(store: &StoreInner, raw: u64) -> Trap {
    match raw.checked_sub(1) {
        Some(index) => raise(store, index as u32),
        None => Trap::new(TrapCode::NullReference),
    }
}

/// Exception `index` of the store as a trap.
fn raise(store: &StoreInner, index: u32) -> Trap {
    Trap::new(TrapCode::Exception(store.handle(index)))
}

/// The exception `trap` carries, by store index, if it is one of this store's.
pub(crate) fn exception_of(store: &StoreInner, trap: &Trap) -> Option<u32> {
    match trap.code {
        TrapCode::Exception(exn) => {
            store.try_index_of::<Exn>(exn).ok().filter(|&i| i < store.exceptions.len())
        }
        _ => None,
    }
    .map(|i| i as u32)
}

/// Whether a clause of `instance` for module tag `tag` ([`CATCH_ALL`]: any) catches exception
/// `exn`.
pub(crate) fn clause_matches(store: &StoreInner, instance: u32, tag: u32, exn: u32) -> bool {
    tag == CATCH_ALL
        || store.instances[instance as usize].tags[tag as usize]
            == store.exceptions[exn as usize].tag
}

/// Writes what a clause for `tag` delivers of exception `exn` to the slots from `dest` on: the
/// payload (none for `catch_all`), then the `exnref` when `with_ref`.
///
/// # Safety
/// `dest` must point at enough writable slots.
pub(crate) unsafe fn deliver(
    store: &StoreInner,
    tag: u32,
    with_ref: bool,
    exn: u32,
    dest: *mut u128,
) {
    let payload: &[u128] =
        if tag == CATCH_ALL { &[] } else { &store.exceptions[exn as usize].payload };
    // SAFETY: guaranteed by the caller.
    unsafe {
        std::ptr::copy_nonoverlapping(payload.as_ptr(), dest, payload.len());
        if with_ref {
            dest.add(payload.len()).write(exn as u128 + 1);
        }
    }
}

/// Whether the pending trap of a frame of `instance` is an exception a clause for `tag` with
/// `with_ref` catches: if so, delivers it to `dest` ([`deliver`]), drops the trap and returns
/// `true`.
///
/// # Safety
/// As for [`deliver`].
pub(crate) unsafe fn catch_here(
    store: &mut StoreInner,
    instance: u32,
    tag: u32,
    with_ref: bool,
    dest: *mut u128,
) -> bool {
    let Some(exn) = store.pending_trap.as_ref().and_then(|trap| exception_of(store, trap)) else {
        return false;
    };
    if !clause_matches(store, instance, tag, exn) {
        return false;
    }
    // SAFETY: guaranteed by the caller.
    unsafe { deliver(store, tag, with_ref, exn, dest) };
    store.pending_trap = None;
    true
}

/// `VmCtx::catch`: compiled code's check of one catch clause (module tag `tag` or
/// [`CATCH_ALL`]; `with_ref` nonzero for the `_ref` forms) at a call or throw that came back
/// with `status`. Returns [`STATUS_OK`] when the clause caught the pending exception (delivered
/// to the slots from `dest` on), else `status` unchanged, for the next clause or the trap exit.
///
/// # Safety
/// `ctx` must be a live context of a store lent to wasm and `dest` point at enough writable
/// slots of the running frame.
pub(crate) unsafe extern "C" fn catch(
    ctx: *mut VmCtx,
    status: u32,
    dest: *mut u128,
    tag: u32,
    with_ref: u32,
) -> u32 {
    if status != TRAP_PENDING {
        return status;
    }
    // SAFETY: guaranteed by the caller.
    let caught =
        unsafe { catch_here(&mut *(*ctx).store, (*ctx).instance, tag, with_ref != 0, dest) };
    if caught { STATUS_OK } else { status }
}

#[cfg(test)]
mod tests;
