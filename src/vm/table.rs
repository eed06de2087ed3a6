//! A `funcref` table's dispatch array: per element, what compiled code needs to make a
//! `call_indirect` without leaving for the runtime. The runtime keeps it in step with the table's
//! elements on every write (`table.set`/`grow`/`fill`/`copy`/`init`, element segments at
//! instantiation, the host's `Table::set`/`new_table`), through [`sync`] and nothing else.
//!
//! Compiled code reads it through `VmCtx::tables` (one [`Dispatch`] per table index of the
//! instance; table 0's also in `VmCtx::table0`, a load less): bounds against [`Dispatch::len`],
//! then the element's [`IndirectEntry`]: its signature against the call's (an engine-wide interned
//! `SigId`, so one `u32` compare), its instance context against the caller's, and calls the entry
//! in the callee's module-wide function table slot (so it sees tier-up). Anything else (null,
//! another signature, a host function, another instance, out of bounds) goes through
//! `VmCtx::call_indirect`, which decides and traps exactly as before. Any tier may use it; it
//! names none.

use super::store::{FuncKind, StoreInner, TableEntity, decode_func_ref};
use super::vmctx::{FuncEntry, VmCtx};

/// The signature no element has (null elements and host functions), so an inline check always
/// sends them to the runtime. Interned `SigId`s count up from zero and never reach it.
pub const NO_SIG: u32 = u32::MAX;

/// One element of a dispatch array, as compiled code reads it (`#[repr(C)]`, 32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IndirectEntry {
    /// The function's interned signature (`SigId`), or [`NO_SIG`].
    pub sig: u32,
    /// Its index in its module's function index space (the entry's `func` argument).
    pub func_index: u32,
    /// Its slot in its module's function table (`VmCtx::funcs` of its instance): the entry to
    /// call, current whatever tier installed it. Null with [`NO_SIG`].
    pub entry: *const FuncEntry,
    /// Its instance's context. Null with [`NO_SIG`].
    pub ctx: *mut VmCtx,
    /// Its slot in its module's register-entry table (`VmCtx::register_entries` of its
    /// instance): tier 2's register entry, or 0. Null with [`NO_SIG`].
    pub register_entry: *const usize,
}

/// Bytes per [`IndirectEntry`]: compiled code scales indexes by it.
pub const ENTRY_BYTES: u32 = std::mem::size_of::<IndirectEntry>() as u32;
const _: () = assert!(ENTRY_BYTES == 32, "compiled code scales table indexes by shifting");

impl IndirectEntry {
    /// What a null element (and any element of an `externref` table) dispatches as.
    pub const NULL: IndirectEntry = IndirectEntry {
        sig: NO_SIG,
        func_index: 0,
        entry: std::ptr::null(),
        ctx: std::ptr::null_mut(),
        register_entry: std::ptr::null(),
    };
}

/// A table's dispatch array as compiled code finds it: at a stable address for the table's life
/// (`#[repr(C)]`).
#[repr(C)]
#[derive(Debug)]
pub struct Dispatch {
    /// The first entry; `len` of them.
    pub entries: *const IndirectEntry,
    /// The table's size in elements (0 for `externref` tables, whose elements are never called).
    pub len: u64,
}

/// The storage behind a table's [`Dispatch`].
#[derive(Debug)]
pub(crate) struct DispatchArray {
    /// Boxed: compiled code holds its address.
    head: Box<Dispatch>,
    entries: Vec<IndirectEntry>,
}

impl DispatchArray {
    pub fn new() -> DispatchArray {
        DispatchArray {
            head: Box::new(Dispatch { entries: std::ptr::null(), len: 0 }),
            entries: Vec::new(),
        }
    }

    /// The head compiled code reads.
    pub fn head(&self) -> *const Dispatch {
        &*self.head
    }
}

// SAFETY: the raw pointers point into the store that owns the table, and travel with it.
unsafe impl Send for DispatchArray {}

/// What element `raw` (a raw `funcref`) dispatches as.
fn entry_of(store: &StoreInner, raw: u64) -> IndirectEntry {
    let Some(func) = decode_func_ref(raw) else { return IndirectEntry::NULL };
    let entity = store.func(func);
    match entity.kind {
        FuncKind::Host { .. } => IndirectEntry::NULL,
        FuncKind::Wasm { instance, def_index } => {
            let instance = &store.instances[instance as usize];
            let ctx = instance.vmctx.as_ptr();
            // SAFETY: the context is live; `funcs` and `register_entries` point at the module's
            // tables, which have an entry per defined function.
            let (entry, register_entry) = unsafe {
                (
                    (*ctx).funcs.add(def_index as usize),
                    (*ctx).register_entries.add(def_index as usize),
                )
            };
            IndirectEntry {
                sig: entity.sig.0,
                func_index: instance.module.inner.num_imported_funcs + def_index,
                entry,
                ctx,
                register_entry,
            }
        }
    }
}

/// Brings the dispatch array of table `table` (a store index) in step with its elements in
/// `range` (and with its size, if it changed). Every write to a table's elements calls it.
pub(crate) fn sync(store: &mut StoreInner, table: usize, range: std::ops::Range<usize>) {
    if !store.tables[table].ty.element.ref_type().is_some_and(|r| r.is_func()) {
        return;
    }
    let len = store.tables[table].elems.len();
    let array = &mut store.tables[table].dispatch;
    if array.entries.len() != len {
        array.entries.resize(len, IndirectEntry::NULL);
    }
    for i in range {
        let entry = entry_of(store, store.tables[table].elems[i]);
        store.tables[table].dispatch.entries[i] = entry;
    }
    let array = &mut store.tables[table].dispatch;
    array.head.entries = array.entries.as_ptr();
    array.head.len = len as u64;
}

/// A new table entity of `ty` with `elems`, its dispatch array in step.
pub(crate) fn new_table(
    store: &mut StoreInner,
    ty: crate::types::TableType,
    elems: Vec<u64>,
) -> u32 {
    let len = elems.len();
    store.tables.push(TableEntity { ty, elems, dispatch: DispatchArray::new() });
    let id = store.tables.len() - 1;
    sync(store, id, 0..len);
    id as u32
}
