//! The store: owner of every runtime entity (functions, memories, tables, globals, instances).
//!
//! Entities live in per-kind arenas and are named by small `Copy` handles ([`Func`], [`Memory`],
//! [`Table`], [`Global`], [`Instance`]), the wasmtime model. Each handle carries its store's
//! [`StoreId`], which every public method taking a store checks, so a handle used with another
//! store is an error, never an access to that store's entity with the same index. References in
//! wasm values (`funcref`) are arena indexes inside the store, so a guest can never forge a
//! pointer. Nothing is freed before the store is dropped.

use super::Trap;
use super::memory::LinearMemory;
use super::stack::Stack;
use super::vmctx::{FuncEntry, VmCtx};
use crate::engine::{Engine, SigId};
use crate::module::Module;
use crate::types::{FuncType, GlobalType, HeapType, RefType, TableType, ValType};
use crate::val::Val;
use std::cell::UnsafeCell;
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A host function's implementation.
pub type HostFn<T> =
    Arc<dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static>;

/// A store's identity: unique in the process and never reused, so a handle outliving its store
/// cannot name an entity of a later store either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(NonZeroU64);

impl StoreId {
    pub(crate) fn next() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // A 64-bit counter does not wrap in the lifetime of a process.
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        StoreId(NonZeroU64::new(id).expect("store ids never wrap"))
    }
}

/// What a public handle holds: the store it belongs to and its index in that store's arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Stored {
    store: StoreId,
    index: u32,
}

/// A function: defined in a wasm instance, or provided by the host. Belongs to the store that
/// made it; using it with another store is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func(Stored);
/// A linear memory. Belongs to the store that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory(Stored);
/// A table. Belongs to the store that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table(Stored);
/// A global. Belongs to the store that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global(Stored);
/// An instantiated module. Belongs to the store it was instantiated in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance(Stored);
/// An exception tag (exception handling): what `catch` clauses match thrown exceptions by,
/// identity, not type. Belongs to the store that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag(Stored);
/// A thrown exception (the value of an `exnref`): its tag and payload, kept in its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Exn(Stored);

// Handles stay as small as wasmtime's, and `Option<Func>` (a `funcref` value) costs nothing extra.
const _: () = assert!(std::mem::size_of::<Option<Func>>() <= 16);

/// The public handles: each names an entity by its arena index in the store it carries.
pub(crate) trait Handle: Copy {
    /// The handle's type name, for the wrong-store message.
    const KIND: &'static str;
    fn from_stored(stored: Stored) -> Self;
    fn stored(self) -> Stored;
}

macro_rules! handles {
    ($($handle:ident)*) => {$(
        impl Handle for $handle {
            const KIND: &'static str = stringify!($handle);
            fn from_stored(stored: Stored) -> Self {
                $handle(stored)
            }
            fn stored(self) -> Stored {
                self.0
            }
        }
    )*};
}
handles!(Func Memory Table Global Instance Tag Exn);

/// The message for a handle used with a store other than its own (wasmtime panics likewise).
fn wrong_store<H: Handle>() -> String {
    format!("a `{}` was used with a store other than the one it belongs to", H::KIND)
}

/// Out of line, so the checks on the host's call path stay a compare and a branch.
#[cold]
#[inline(never)]
fn wrong_store_error<H: Handle>() -> crate::Error {
    crate::Error::Usage(wrong_store::<H>())
}

/// Anything an instance can import or export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function, defined in wasm or provided by the host.
    Func(Func),
    /// A linear memory.
    Memory(Memory),
    /// A table of references.
    Table(Table),
    /// A global variable.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
}

impl Func {
    /// The store-wide index of this function (stable for the store's lifetime).
    pub fn index(self) -> u32 {
        self.0.index
    }

    /// The function `raw` refers to in store `store` (see [`encode_func_ref`]).
    pub(crate) fn from_raw_ref(store: StoreId, raw: u64) -> Option<Func> {
        decode_func_ref(raw).map(|f| Func(Stored { store, index: f.0 }))
    }

    /// The store-internal index, for a function already known to belong to the store at hand
    /// (see [`StoreInner::try_index_of`]).
    pub(crate) fn idx_unchecked(self) -> FuncIdx {
        FuncIdx(self.0.index)
    }
}

impl Exn {
    /// The store-wide index of this exception (stable for the store's lifetime).
    pub fn index(self) -> u32 {
        self.0.index
    }

    /// The exception `raw` (an `exnref` slot: index + 1, 0 for null) refers to in `store`.
    pub(crate) fn from_raw_ref(store: StoreId, raw: u64) -> Option<Exn> {
        raw.checked_sub(1).map(|index| Exn(Stored { store, index: index as u32 }))
    }
}

impl Tag {
    /// The tag's parameter types: the payload its exceptions carry.
    pub fn ty<T>(self, store: &Store<T>) -> crate::types::FuncType {
        store.inner.tags[store.inner.index_of(self)].ty.clone()
    }

    /// A new tag in `store` whose exceptions carry values of `ty`'s parameter types (its results
    /// must be empty): distinct from every other tag, whatever its type.
    pub fn new<T>(store: &mut Store<T>, ty: FuncType) -> crate::Result<Tag> {
        if !ty.results().is_empty() {
            return Err(crate::Error::Usage("a tag's type has no results".into()));
        }
        store.inner.tags.push(super::exception::TagEntity { ty });
        Ok(store.inner.handle(store.inner.tags.len() as u32 - 1))
    }
}

/// A function's index in its store's arena: what the runtime passes around inside one store,
/// where no store identity is needed (and none is checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FuncIdx(pub u32);

/// `funcref` values are stored as `index + 1`, with 0 for `ref.null func`.
pub(crate) fn encode_func_ref(f: Option<FuncIdx>) -> u64 {
    f.map_or(0, |f| f.0 as u64 + 1)
}

pub(crate) fn decode_func_ref(raw: u64) -> Option<FuncIdx> {
    if raw == 0 { None } else { Some(FuncIdx((raw - 1) as u32)) }
}

pub(crate) enum FuncKind {
    /// Defined function number `def_index` of `instance`'s module.
    Wasm { instance: u32, def_index: u32 },
    /// Entry `index` of the store's host functions, called through `entry` (the store's host
    /// trampoline, which knows the store's data type) with the calling instance's context and the
    /// function's store index.
    Host { index: u32, entry: FuncEntry },
}

pub(crate) struct FuncEntity {
    pub kind: FuncKind,
    pub sig: SigId,
    pub ty: FuncType,
}

pub(crate) struct TableEntity {
    pub ty: TableType,
    /// Raw references (see [`encode_func_ref`]; externrefs are `handle + 1`).
    pub elems: Vec<u64>,
    /// What compiled code's `call_indirect` reads: every write to `elems` is followed by
    /// `table::sync` over the elements it wrote.
    pub dispatch: super::table::DispatchArray,
}

impl TableEntity {
    /// `table.grow`: the old size, or `None` when the table cannot grow that far.
    pub fn grow(&mut self, delta: u32, init: u64, limit: u64) -> Option<u32> {
        let old = self.elems.len() as u64;
        let new = old.checked_add(delta as u64)?;
        let max = self.ty.limits.max.unwrap_or(u32::MAX as u64).min(limit);
        if new > max {
            return None;
        }
        self.elems.resize(new as usize, init);
        Some(old as u32)
    }
}

pub(crate) struct GlobalEntity {
    pub ty: GlobalType,
    /// At a stable address: the interpreter caches pointers to it.
    pub value: GlobalCell,
}

/// Where a global's value lives, at a stable address for the store's lifetime.
pub(crate) enum GlobalCell {
    /// In its own box: globals the host makes.
    Boxed(Box<UnsafeCell<u128>>),
    /// In the inline cells of its defining instance's context ([`VmCtxBox`]), where compiled code
    /// reads it with one load; the instance, and so the cell, lives as long as the store.
    Inline(NonNull<u128>),
}

impl GlobalCell {
    /// The cell's address.
    pub fn get(&self) -> *mut u128 {
        match self {
            GlobalCell::Boxed(cell) => cell.get(),
            GlobalCell::Inline(cell) => cell.as_ptr(),
        }
    }
}

// SAFETY: a cell is only reached through its store, which one thread uses at a time; an inline
// cell points into a context its store owns.
unsafe impl Send for GlobalCell {}
// SAFETY: shared references give no access to the cell but its address.
unsafe impl Sync for GlobalCell {}

impl GlobalEntity {
    pub fn get(&self) -> u128 {
        // SAFETY: the cell is only written through `set` or by the executor, which holds the store
        // exclusively; no reference into the cell outlives a single read or write.
        unsafe { *self.value.get() }
    }
    pub fn set(&self, raw: u128) {
        // SAFETY: see `get`.
        unsafe { *self.value.get() = raw }
    }
}

pub(crate) struct InstanceEntity {
    pub module: Module,
    /// The context compiled code and every function entry of this instance run with.
    pub vmctx: VmCtxBox,
    /// Store handles by module index space.
    pub funcs: Vec<u32>,
    pub tables: Vec<u32>,
    pub memories: Vec<u32>,
    /// Each memory's base and length, by module memory index (`VmCtx::memories`), refreshed in
    /// place through shared references (`vm::call::refresh_memory`).
    pub memory_views: Box<[std::cell::Cell<super::vmctx::MemoryView>]>,
    pub globals: Vec<u32>,
    /// Store tag indexes by module tag index (imported ones first).
    pub tags: Vec<u32>,
    /// Cached addresses of the global cells, by module global index.
    pub global_cells: Vec<*mut u128>,
    /// The dispatch arrays of its tables, by module table index (`VmCtx::tables`).
    pub table_dispatch: Vec<*const super::table::Dispatch>,
    /// Element segments as raw references; `None` once dropped (`elem.drop`, or after initialization
    /// for active and declarative segments).
    pub elem_segments: Vec<Option<Arc<[u64]>>>,
    /// Whether each data segment was dropped.
    pub data_dropped: Vec<bool>,
}

/// An instance's [`VmCtx`], at a stable address for the instance's lifetime, followed by the
/// cells of the instance's own globals ([`VmCtxBox::inline_global`]). Compiled code and the
/// runtime's helpers write its memory fields through raw pointers while shared references to the
/// instance exist, so it is only ever reached through [`VmCtxBox::as_ptr`].
pub(crate) struct VmCtxBox {
    ctx: NonNull<VmCtx>,
    layout: std::alloc::Layout,
}

impl VmCtxBox {
    /// `ctx`, with room for `inline_globals` global cells after it (zeroed).
    pub fn new(ctx: VmCtx, inline_globals: u32) -> VmCtxBox {
        let size = super::vmctx::INLINE_GLOBALS + inline_globals as usize * 16;
        let layout = std::alloc::Layout::from_size_align(size, 16).expect("a context's size");
        // SAFETY: the layout has a nonzero size (a context at least).
        let memory = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(memory.cast::<VmCtx>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: freshly allocated, aligned for a context (16 >= its alignment) and big enough.
        unsafe { ptr.as_ptr().write(ctx) };
        VmCtxBox { ctx: ptr, layout }
    }

    /// The context, for compiled code and the runtime's helpers.
    pub fn as_ptr(&self) -> *mut VmCtx {
        self.ctx.as_ptr()
    }

    /// The cell of the instance's `index`th own global (module index minus the imported ones).
    pub fn inline_global(&self, index: u32) -> NonNull<u128> {
        let offset = super::vmctx::INLINE_GLOBALS + index as usize * 16;
        assert!(offset + 16 <= self.layout.size(), "inline global {index} out of range");
        // SAFETY: inside the allocation (checked above), 16-byte aligned.
        unsafe { NonNull::new_unchecked(self.ctx.as_ptr().cast::<u8>().add(offset).cast()) }
    }
}

impl Drop for VmCtxBox {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with `layout` and freed only here; the instance (and so the
        // context and its global cells) outlives every execution in its store. `VmCtx` needs no
        // drop glue beyond its fields, dropped in place first.
        unsafe {
            std::ptr::drop_in_place(self.ctx.as_ptr());
            std::alloc::dealloc(self.ctx.as_ptr().cast(), self.layout);
        }
    }
}

// SAFETY: the context is owned by its instance, which moves with its store between threads; it is
// never used by two threads at once (a store is used by one thread at a time).
unsafe impl Send for VmCtxBox {}
// SAFETY: shared references give no access to the context but its address.
unsafe impl Sync for VmCtxBox {}

/// A tail call waiting for the caller of the entry its caller left (`vmctx::TAIL_CALL_PENDING`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingTailCall {
    /// The context of the instance the tail call was made from (a host callee's caller).
    pub caller: *mut VmCtx,
    /// The callee.
    pub func: FuncIdx,
}

/// The store's engine-facing state; split from `Store<T>` so the runtime is not generic over `T`.
pub(crate) struct StoreInner {
    /// Unique per store in this process: every handle carries it, and caches keyed by store (the
    /// linker's) never mix stores.
    pub id: StoreId,
    pub engine: Engine,
    pub funcs: Vec<FuncEntity>,
    pub memories: Vec<LinearMemory>,
    pub tables: Vec<TableEntity>,
    pub globals: Vec<GlobalEntity>,
    pub instances: Vec<InstanceEntity>,
    /// Exception tags, defined by instances or the host.
    pub tags: Vec<super::exception::TagEntity>,
    /// Every exception thrown so far (`exnref`s are indexes into it, plus one): kept for the
    /// store's lifetime, as all its entities are (tierup has no collector).
    pub exceptions: Vec<super::exception::ExceptionObject>,
    /// Remaining fuel, when the engine consumes fuel. Read and written in place by every tier
    /// (compiled code through `VmCtx::fuel`), so only ever through [`StoreInner::fuel_ptr`].
    fuel: UnsafeCell<u64>,
    pub stack: Stack,
    /// The trap on its way out of the current execution, with the frames it has passed (see
    /// `vmctx::TRAP_PENDING`).
    pub pending_trap: Option<Trap>,
    /// The callee of the tail call a function left by (see `vmctx::TAIL_CALL_PENDING`), for
    /// whoever called its entry to run.
    pub pending_tail_call: Option<PendingTailCall>,
    /// The `Store<T>` this is the inner part of, type-erased, while wasm runs (set on every entry
    /// from the host): what the host trampoline hands host functions. Null otherwise.
    pub host_store: *mut (),
    /// The host stack limit the instances' contexts hold (see `VmCtx::native_stack_limit`), for
    /// the thread that last entered wasm.
    pub native_stack_limit: usize,
    /// The guest profiler's sampler and profile stack (`ProfilingStrategy::Guest` only).
    pub guest_sampler: Option<super::profile::Sampler>,
    /// The attached debugger (`crate::debug`), if any: what the interpreter's debug hooks ask.
    pub debugger: Option<Box<crate::debug::DebugState>>,
}

/// Owns all runtime state of a set of instances, plus the embedder's data `T`.
pub struct Store<T> {
    pub(crate) inner: StoreBox,
    pub(crate) host_funcs: Vec<HostFn<T>>,
    pub(crate) data: T,
}

impl<T> Store<T> {
    /// A new store for `engine` holding the embedder's `data`. Allocates the wasm stack
    /// ([`Config::max_wasm_stack`](crate::Config::max_wasm_stack) bytes, at most 1 GiB) up
    /// front; fuel starts at 0.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let stack = Stack::new(engine.config().max_wasm_stack);
        Store {
            inner: StoreBox::new(StoreInner {
                id: StoreId::next(),
                engine: engine.clone(),
                funcs: Vec::new(),
                memories: Vec::new(),
                tables: Vec::new(),
                globals: Vec::new(),
                instances: Vec::new(),
                tags: Vec::new(),
                exceptions: Vec::new(),
                fuel: UnsafeCell::new(0),
                stack,
                pending_trap: None,
                pending_tail_call: None,
                host_store: std::ptr::null_mut(),
                native_stack_limit: 0,
                guest_sampler: (engine.config().profiling_strategy
                    == crate::ProfilingStrategy::Guest)
                    .then(|| {
                        super::profile::Sampler::start(engine.config().guest_profile_interval)
                    }),
                debugger: None,
            }),
            host_funcs: Vec::new(),
            data,
        }
    }

    /// Stops the guest profiler and returns what it sampled since the store was created
    /// (`ProfilingStrategy::Guest`); `None` without it, or when already taken.
    pub fn guest_profile(&mut self) -> Option<super::GuestProfile> {
        self.inner.guest_sampler.as_mut()?.finish()
    }

    /// Attaches `debugger`: from now on, wasm this store runs stops at the breakpoints of its
    /// modules (`Module::set_breakpoint`) and calls it (see [`crate::debug`]).
    pub fn set_debugger(&mut self, debugger: Box<dyn crate::debug::Debugger>) {
        self.inner.debugger = Some(Box::new(crate::debug::DebugState::new(debugger)));
    }

    /// The engine this store was created with.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The embedder's data given to [`Store::new`].
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The embedder's data given to [`Store::new`], writable.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Sets the fuel available to guests (only consumed when `Config::consume_fuel` is on).
    pub fn set_fuel(&mut self, fuel: u64) -> crate::Result<()> {
        if !self.inner.engine.config().consume_fuel {
            return Err(crate::Error::Usage("fuel is not enabled in this engine's config".into()));
        }
        // SAFETY: no wasm runs while the store is borrowed mutably, so nothing else accesses
        // the cell.
        unsafe { self.inner.fuel_ptr().write(fuel) };
        Ok(())
    }

    /// Remaining fuel.
    pub fn fuel(&self) -> u64 {
        // SAFETY: no wasm runs while the store is borrowed, so nothing writes the cell.
        unsafe { self.inner.fuel_ptr().read() }
    }

    /// Registers a host function and returns its handle.
    pub fn new_host_func(&mut self, ty: FuncType, f: HostFn<T>) -> Func {
        let index = self.host_funcs.len() as u32;
        self.host_funcs.push(f);
        let sig = self.inner.engine.intern(&ty);
        let entry: FuncEntry = super::call::host_trampoline::<T>;
        let func =
            self.inner.push_func(FuncEntity { kind: FuncKind::Host { index, entry }, sig, ty });
        self.inner.handle(func.0)
    }
}

/// A store's [`StoreInner`], in an allocation of its own: its address stays put when the
/// `Store<T>` moves, so instance contexts can point at it, and execution reaches it through one
/// raw pointer ([`StoreBox::as_ptr`]) while the store is lent to wasm. Dereferencing gives the
/// ordinary shared or exclusive access of a field.
pub(crate) struct StoreBox(NonNull<StoreInner>);

impl StoreBox {
    fn new(inner: StoreInner) -> StoreBox {
        StoreBox(NonNull::from(Box::leak(Box::new(inner))))
    }

    /// The inner store, for an execution that reaches it from instance contexts.
    pub fn as_ptr(&self) -> *mut StoreInner {
        self.0.as_ptr()
    }
}

impl std::ops::Deref for StoreBox {
    type Target = StoreInner;
    fn deref(&self) -> &StoreInner {
        // SAFETY: the allocation lives as long as `self`; shared access through `&self` cannot
        // overlap an execution, which needs the store borrowed mutably.
        unsafe { self.0.as_ref() }
    }
}

impl std::ops::DerefMut for StoreBox {
    fn deref_mut(&mut self) -> &mut StoreInner {
        // SAFETY: as for `deref`; `&mut self` is exclusive.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for StoreBox {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `new` and freed only here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

// SAFETY: `StoreBox` owns its allocation exclusively, like a `Box`.
unsafe impl Send for StoreBox {}
// SAFETY: as for `Send`: `&StoreBox` gives only shared access.
unsafe impl Sync for StoreBox {}

impl StoreInner {
    /// The guest profiler's profile stack (`VmCtx::profile_stack`), or null.
    pub fn profile_stack(&self) -> *const super::profile::ProfileStack {
        self.guest_sampler.as_ref().map_or(std::ptr::null(), |s| Arc::as_ptr(&s.stack))
    }

    /// The fuel cell, for every tier (see the field).
    pub fn fuel_ptr(&self) -> *mut u64 {
        self.fuel.get()
    }

    pub fn push_func(&mut self, f: FuncEntity) -> FuncIdx {
        self.funcs.push(f);
        FuncIdx(self.funcs.len() as u32 - 1)
    }

    pub fn func(&self, f: FuncIdx) -> &FuncEntity {
        &self.funcs[f.0 as usize]
    }

    /// The handle of entity `index` (of `H`'s kind) of this store.
    pub fn handle<H: Handle>(&self, index: u32) -> H {
        H::from_stored(Stored { store: self.id, index })
    }

    /// `handle`'s index in this store's arena of its kind, or [`Error::Usage`](crate::Error) if
    /// it belongs to another store.
    #[inline]
    pub fn try_index_of<H: Handle>(&self, handle: H) -> crate::Result<usize> {
        let stored = handle.stored();
        if stored.store != self.id {
            return Err(wrong_store_error::<H>());
        }
        Ok(stored.index as usize)
    }

    /// As [`StoreInner::try_index_of`], for methods that return no `Result`.
    ///
    /// # Panics
    ///
    /// If `handle` belongs to another store.
    #[inline]
    pub fn index_of<H: Handle>(&self, handle: H) -> usize {
        let stored = handle.stored();
        if stored.store != self.id {
            panic!("{}", wrong_store::<H>());
        }
        stored.index as usize
    }

    /// The [`FuncIdx`] of `func` in this store, or [`Error::Usage`](crate::Error).
    #[inline]
    pub fn try_func_idx(&self, func: Func) -> crate::Result<FuncIdx> {
        Ok(FuncIdx(self.try_index_of(func)? as u32))
    }

    /// Fails with [`Error::Usage`](crate::Error) if `val` is a `funcref` of another store: what
    /// every API boundary checks before a value becomes a raw slot of this store
    /// ([`Val::to_raw`]).
    #[inline]
    pub fn check_val(&self, val: &Val) -> crate::Result<()> {
        match val {
            Val::FuncRef(Some(func)) if func.0.store != self.id => Err(wrong_store_error::<Func>()),
            Val::ExnRef(Some(exn)) if exn.0.store != self.id => Err(wrong_store_error::<Exn>()),
            Val::ExnRef(Some(exn)) if exn.0.index as usize >= self.exceptions.len() => {
                Err(crate::Error::Usage("an `exnref` names no exception of this store".into()))
            }
            _ => Ok(()),
        }
    }

    /// Whether `val` (of this store: [`Self::check_val`]) is a value of type `ty`: a function
    /// reference of a concrete type has the function's signature, a null one a nullable type.
    pub fn val_has_type(&self, val: &Val, ty: ValType) -> bool {
        let ValType::Ref(want) = ty else { return val.ty() == ty };
        let have = match val {
            Val::FuncRef(None) => return want.nullable && want.is_func(),
            Val::ExternRef(None) => return want.nullable && !want.is_func(),
            Val::FuncRef(Some(func)) => {
                let sig = self.func(func.idx_unchecked()).sig;
                RefType { nullable: false, heap: HeapType::Concrete(sig) }
            }
            Val::ExternRef(Some(_)) => RefType { nullable: false, heap: HeapType::Extern },
            _ => return false,
        };
        have.matches(want)
    }
}

/// What a host function sees of its caller: the store's data and the calling instance's exports.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut Store<T>,
    pub(crate) instance: Option<Instance>,
}

impl<'a, T> Caller<'a, T> {
    /// The store's embedder data (see [`Store::data`]).
    pub fn data(&self) -> &T {
        self.store.data()
    }

    /// The store's embedder data, writable (see [`Store::data_mut`]).
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// An export of the calling instance (WASI uses this to find `memory`).
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.instance.and_then(|i| i.get_export(&*self.store, name))
    }

    /// The calling instance's exported memory `memory`, as bytes.
    pub fn memory_mut(&mut self, name: &str) -> Option<&mut [u8]> {
        match self.get_export(name)? {
            Extern::Memory(m) => Some(m.data_mut(&mut *self.store)),
            _ => None,
        }
    }

    /// The store's data and the calling instance's exported memory `name` at once (WASI needs
    /// both: its context lives in the data, its buffers in guest memory).
    pub fn data_and_memory_mut(&mut self, name: &str) -> (&mut T, Option<&mut [u8]>) {
        let memory = match self.get_export(name) {
            Some(Extern::Memory(m)) => Some(self.store.inner.index_of(m)),
            _ => None,
        };
        let store = &mut *self.store;
        let bytes = memory.map(|m| store.inner.memories[m].data_mut());
        (&mut store.data, bytes)
    }

    /// The whole store, for host functions that call back into wasm.
    pub fn store_mut(&mut self) -> &mut Store<T> {
        self.store
    }
}

#[cfg(test)]
mod tests;
