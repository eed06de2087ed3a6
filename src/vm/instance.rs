//! Instantiation: import matching, entity allocation, segment initialization and the start function,
//! in the order the WebAssembly 2.0 spec prescribes.
//!
//! A trap while initializing segments leaves the writes before it in place (as the spec requires)
//! and fails instantiation with that trap.

use super::memory::LinearMemory;
use super::store::{
    Extern, Func, FuncEntity, FuncIdx, FuncKind, Global, GlobalCell, GlobalEntity, Instance,
    InstanceEntity, Memory, Store, StoreInner, Table, VmCtxBox, encode_func_ref,
};
use super::vmctx::VmCtx;
use super::{Trap, TrapCode, call};
use crate::error::{Error, Result};
use crate::module::{ConstExpr, ExportKind, ImportKind, Module, SegmentMode};
use crate::types::ExternType;
use crate::val::Val;
use std::cell::UnsafeCell;
use std::sync::Arc;

impl Instance {
    /// Instantiates `module` with `imports` given in the order of the module's imports, which
    /// must belong to `store` ([`Error::Usage`] otherwise).
    pub fn new<T>(store: &mut Store<T>, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let m = &module.inner;
        if imports.len() != m.imports.len() {
            return Err(Error::Usage(format!(
                "module needs {} imports, {} were given",
                m.imports.len(),
                imports.len()
            )));
        }
        for (import, provided) in m.imports.iter().zip(imports) {
            check_import(store, module, import, *provided)?;
        }
        let instance = allocate(store, module, imports)?;
        initialize(store, instance)?;
        if let Some(start) = m.start {
            let entity = &store.inner.instances[store.inner.index_of(instance)];
            let func: Func = store.inner.handle(entity.funcs[start as usize]);
            func.call(store, &[], &mut [])?;
        }
        Ok(instance)
    }

    /// This instance's entity in `store`.
    ///
    /// # Panics
    ///
    /// If the instance belongs to another store.
    fn entity<'a>(&self, store: &'a StoreInner) -> &'a InstanceEntity {
        &store.instances[store.index_of(*self)]
    }

    /// The export called `name`.
    ///
    /// # Panics
    ///
    /// If the instance belongs to another store (as do all the methods below).
    pub fn get_export<T>(&self, store: &Store<T>, name: &str) -> Option<Extern> {
        let store = &*store.inner;
        let entity = self.entity(store);
        let (_, kind, index) = entity.module.inner.exports.iter().find(|(n, _, _)| n == name)?;
        let i = *index as usize;
        Some(match kind {
            ExportKind::Func => Extern::Func(store.handle(entity.funcs[i])),
            ExportKind::Table => Extern::Table(store.handle(entity.tables[i])),
            ExportKind::Memory => Extern::Memory(store.handle(entity.memories[i])),
            ExportKind::Global => Extern::Global(store.handle(entity.globals[i])),
            ExportKind::Tag => Extern::Tag(store.handle(entity.tags[i])),
        })
    }

    /// All exports, in the module's order.
    pub fn exports<T>(&self, store: &Store<T>) -> Vec<(String, Extern)> {
        let module = &self.entity(&store.inner).module;
        module
            .inner
            .exports
            .iter()
            .filter_map(|(name, _, _)| Some((name.clone(), self.get_export(store, name)?)))
            .collect()
    }

    /// The exported function `name`.
    pub fn get_func<T>(&self, store: &Store<T>, name: &str) -> Option<Func> {
        match self.get_export(store, name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The exported memory `name`.
    pub fn get_memory<T>(&self, store: &Store<T>, name: &str) -> Option<Memory> {
        match self.get_export(store, name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The exported global `name`.
    pub fn get_global<T>(&self, store: &Store<T>, name: &str) -> Option<Global> {
        match self.get_export(store, name)? {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// Every memory of the instance, imported ones first, in index order (exported or not).
    pub fn memories<T>(&self, store: &Store<T>) -> Vec<Memory> {
        let entity = self.entity(&store.inner);
        entity.memories.iter().map(|&m| store.inner.handle(m)).collect()
    }

    /// Every table of the instance, imported ones first, in index order (exported or not).
    pub fn tables<T>(&self, store: &Store<T>) -> Vec<Table> {
        let entity = self.entity(&store.inner);
        entity.tables.iter().map(|&t| store.inner.handle(t)).collect()
    }

    /// The module this instance was created from.
    pub fn module<T>(&self, store: &Store<T>) -> Module {
        self.entity(&store.inner).module.clone()
    }

    /// Profiling counters and tier of every defined function, in index order. The counters are
    /// the module's: every instance of a module counts into the same ones.
    pub fn func_stats<T>(&self, store: &Store<T>) -> Vec<crate::tier::FuncStats> {
        crate::tier::func_stats(&self.entity(&store.inner).module.inner)
    }
}

/// The type an extern currently has, for import matching.
fn extern_type<T>(store: &Store<T>, ext: Extern) -> ExternType {
    match ext {
        Extern::Func(f) => ExternType::Func(f.ty(store)),
        Extern::Memory(m) => ExternType::Memory(m.ty(store)),
        Extern::Table(t) => ExternType::Table(t.ty(store)),
        Extern::Global(g) => ExternType::Global(g.ty(store)),
        Extern::Tag(t) => ExternType::Tag(t.ty(store)),
    }
}

fn check_import<T>(
    store: &Store<T>,
    module: &Module,
    import: &crate::module::Import,
    provided: Extern,
) -> Result<()> {
    match provided {
        Extern::Func(f) => store.inner.try_index_of(f),
        Extern::Memory(m) => store.inner.try_index_of(m),
        Extern::Table(t) => store.inner.try_index_of(t),
        Extern::Global(g) => store.inner.try_index_of(g),
        Extern::Tag(t) => store.inner.try_index_of(t),
    }
    .map_err(|e| Error::Usage(format!("import `{}::{}`: {e}", import.module, import.name)))?;
    let have = extern_type(store, provided);
    let matches = match (&import.kind, &have) {
        (ImportKind::Func(t), ExternType::Func(f)) => module.inner.types[*t as usize] == *f,
        (ImportKind::Table(want), ExternType::Table(t)) => {
            want.element == t.element && want.table64 == t.table64 && t.limits.matches(&want.limits)
        }
        (ImportKind::Memory(want), ExternType::Memory(m)) => {
            m.memory64 == want.memory64 && m.limits.matches(&want.limits)
        }
        (ImportKind::Global(want), ExternType::Global(g)) => g.matches(want),
        // Tags match by type (exact, without subtyping: no GC); identity is what catches.
        (ImportKind::Tag(t), ExternType::Tag(ty)) => module.inner.types[*t as usize] == *ty,
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(Error::IncompatibleImport(format!(
            "`{}::{}`: expected {}, found {}",
            import.module,
            import.name,
            describe_import(module, &import.kind),
            have.kind()
        )))
    }
}

fn describe_import(module: &Module, kind: &ImportKind) -> String {
    match kind {
        ImportKind::Func(t) => format!("func {}", module.inner.types[*t as usize]),
        ImportKind::Table(t) => format!("table {:?}", t),
        ImportKind::Memory(m) => format!("memory {:?}", m.limits),
        ImportKind::Global(g) => format!("global {:?}", g),
        ImportKind::Tag(t) => format!("tag {}", module.inner.types[*t as usize]),
    }
}

/// Creates the instance's entities; nothing observable happens yet. The imports have been
/// checked to belong to `store`.
fn allocate<T>(store: &mut Store<T>, module: &Module, imports: &[Extern]) -> Result<Instance> {
    let m = &module.inner;
    let id = store.inner.instances.len() as u32;
    let config = store.inner.engine.config().clone();
    let mut entity = InstanceEntity {
        module: module.clone(),
        vmctx: VmCtxBox::new(new_vmctx(store, module, id), m.global_inits.len() as u32),
        funcs: Vec::with_capacity(m.func_types.len()),
        tables: Vec::new(),
        memories: Vec::new(),
        memory_views: Box::default(),
        globals: Vec::new(),
        tags: Vec::with_capacity(m.tags.len()),
        global_cells: Vec::new(),
        table_dispatch: Vec::new(),
        elem_segments: Vec::new(),
        data_dropped: vec![false; m.datas.len()],
    };
    for ext in imports {
        let inner = &store.inner;
        match *ext {
            Extern::Func(f) => entity.funcs.push(inner.index_of(f) as u32),
            Extern::Table(t) => entity.tables.push(inner.index_of(t) as u32),
            Extern::Memory(mem) => entity.memories.push(inner.index_of(mem) as u32),
            Extern::Global(g) => entity.globals.push(inner.index_of(g) as u32),
            Extern::Tag(t) => entity.tags.push(inner.index_of(t) as u32),
        }
    }
    for &ty in &m.tags[m.num_imported_tags as usize..] {
        let ty = m.types[ty as usize].clone();
        store.inner.tags.push(super::exception::TagEntity { ty });
        entity.tags.push(store.inner.tags.len() as u32 - 1);
    }
    for def_index in 0..m.tiers.len() as u32 {
        let ty_index = m.func_types[(m.num_imported_funcs + def_index) as usize];
        let func = store.inner.push_func(FuncEntity {
            kind: FuncKind::Wasm { instance: id, def_index },
            sig: m.sigs[ty_index as usize],
            ty: m.types[ty_index as usize].clone(),
        });
        entity.funcs.push(func.0);
    }
    for ty in &m.tables[m.num_imported_tables as usize..] {
        if ty.limits.min > config.max_table_elements {
            return Err(Error::ResourceLimit(format!(
                "table minimum size of {} elements exceeds the limit of {}",
                ty.limits.min, config.max_table_elements
            )));
        }
        // Elements with an initializer get it in `initialize`, once the instance is in the
        // store (a reference to one of its functions dispatches through its context).
        let id = super::table::new_table(&mut store.inner, *ty, vec![0; ty.limits.min as usize]);
        entity.tables.push(id);
    }
    for ty in &m.memories[m.num_imported_memories as usize..] {
        let memory =
            LinearMemory::new(*ty, config.max_memory_size).map_err(Error::ResourceLimit)?;
        store.inner.memories.push(memory);
        entity.memories.push(store.inner.memories.len() as u32 - 1);
    }
    // Globals are initialized in order; an initializer may read earlier globals and name functions.
    // Their cells are inline in the context, where compiled code reads them with one load.
    let defined = m.globals[m.num_imported_globals as usize..].iter().zip(&m.global_inits);
    for (index, (ty, init)) in defined.enumerate() {
        let value = eval_const(store, &entity, init);
        let cell = entity.vmctx.inline_global(index as u32);
        // SAFETY: the cell is inside the context, which nothing reads yet.
        unsafe { cell.as_ptr().write(value) };
        store.inner.globals.push(GlobalEntity { ty: *ty, value: GlobalCell::Inline(cell) });
        entity.globals.push(store.inner.globals.len() as u32 - 1);
    }
    entity.global_cells =
        entity.globals.iter().map(|g| store.inner.globals[*g as usize].value.get()).collect();
    let ctx = entity.vmctx.as_ptr();
    // SAFETY: the context was just made and nothing else uses it yet; `global_cells` keeps its
    // buffer for the instance's lifetime (it is never modified after this).
    unsafe {
        (*ctx).globals = entity.global_cells.as_ptr();
        entity.table_dispatch =
            entity.tables.iter().map(|&t| store.inner.tables[t as usize].dispatch.head()).collect();
        (*ctx).tables = entity.table_dispatch.as_ptr();
        (*ctx).table0 = entity.table_dispatch.first().copied().unwrap_or(std::ptr::null());
        entity.memory_views = entity
            .memories
            .iter()
            .map(|&m| std::cell::Cell::new(memory_view(&store.inner.memories[m as usize])))
            .collect();
        // `Cell<MemoryView>` has `MemoryView`'s layout; the box never moves its contents.
        (*ctx).memories = entity.memory_views.as_ptr().cast();
        if let Some(view) = entity.memory_views.first() {
            (*ctx).mem_base = view.get().base;
            (*ctx).mem_len = view.get().len;
        }
    }
    for segment in &m.elems {
        let items: Arc<[u64]> =
            segment.items.iter().map(|e| eval_const(store, &entity, e) as u64).collect();
        entity.elem_segments.push(Some(items));
    }
    store.inner.instances.push(entity);
    Ok(store.inner.handle(id))
}

/// What code reads of `memory`: its base and accessible bytes.
pub(crate) fn memory_view(memory: &LinearMemory) -> super::vmctx::MemoryView {
    super::vmctx::MemoryView { base: memory.base(), len: memory.len() as u64 }
}

fn eval_const<T>(store: &Store<T>, entity: &InstanceEntity, expr: &ConstExpr) -> u128 {
    expr.eval(
        |g| store.inner.globals[entity.globals[g as usize] as usize].get(),
        |f| encode_func_ref(Some(FuncIdx(entity.funcs[f as usize]))) as u128,
    )
}

/// Runs the active element and data segments, then drops them (and the declarative ones).
fn initialize<T>(store: &mut Store<T>, instance: Instance) -> Result<()> {
    let id = store.inner.index_of(instance);
    let module = store.inner.instances[id].module.clone();
    let m = &module.inner;
    for (def, init) in m.table_inits.iter().enumerate() {
        let Some(init) = init else { continue };
        let entity = &store.inner.instances[id];
        let element = eval_const(store, entity, init) as u64;
        let table_id = entity.tables[m.num_imported_tables as usize + def] as usize;
        let elems = &mut store.inner.tables[table_id].elems;
        elems.fill(element);
        let len = elems.len();
        super::table::sync(&mut store.inner, table_id, 0..len);
    }
    for (index, segment) in module.inner.elems.iter().enumerate() {
        match &segment.mode {
            SegmentMode::Active { index: table, offset } => {
                let entity = &store.inner.instances[id];
                let value = eval_const(store, entity, offset);
                let items = entity.elem_segments[index].clone().unwrap_or_else(|| Arc::from([]));
                let table_id = entity.tables[*table as usize] as usize;
                // An `i64` offset for a 64-bit table, else an `i32` one.
                let table64 = store.inner.tables[table_id].ty.table64;
                let offset = if table64 { value as u64 } else { value as u32 as u64 };
                let elems = &mut store.inner.tables[table_id].elems;
                let end = offset.saturating_add(items.len() as u64);
                let range = offset as usize..end as usize;
                let in_bounds = end <= elems.len() as u64;
                match elems.get_mut(range.clone()).filter(|_| in_bounds) {
                    Some(dst) => dst.copy_from_slice(&items),
                    None => return Err(Trap::new(TrapCode::TableOutOfBounds).into()),
                }
                super::table::sync(&mut store.inner, table_id, range);
                store.inner.instances[id].elem_segments[index] = None;
            }
            SegmentMode::Declared => store.inner.instances[id].elem_segments[index] = None,
            SegmentMode::Passive => {}
        }
    }
    for (index, segment) in module.inner.datas.iter().enumerate() {
        if let SegmentMode::Active { index: memory, offset } = &segment.mode {
            let entity = &store.inner.instances[id];
            let value = eval_const(store, entity, offset);
            let memory_id = entity.memories[*memory as usize] as usize;
            // An `i64` offset for a 64-bit memory, else an `i32` one.
            let memory64 = store.inner.memories[memory_id].memory64();
            let offset = if memory64 { value as u64 } else { value as u32 as u64 };
            let data = store.inner.memories[memory_id].data_mut();
            let end = offset.saturating_add(segment.bytes.len() as u64);
            let in_bounds = (end <= data.len() as u64).then_some(offset as usize..end as usize);
            match in_bounds.and_then(|range| data.get_mut(range)) {
                Some(dst) => dst.copy_from_slice(&segment.bytes),
                None => return Err(Trap::new(TrapCode::MemoryOutOfBounds).into()),
            }
            store.inner.instances[id].data_dropped[index] = true;
        }
    }
    Ok(())
}

/// Host-created entities for embedders (and the `spectest` module).
impl<T> Store<T> {
    /// A new table of `ty`, filled with `init` (a function of this store, or null, for a
    /// `funcref` table).
    pub fn new_table(&mut self, ty: crate::types::TableType, init: Val) -> Result<Table> {
        self.inner.check_val(&init)?;
        if !self.inner.val_has_type(&init, ty.element) {
            return Err(Error::Usage("table initializer has the wrong type".into()));
        }
        let limit = self.inner.engine.config().max_table_elements;
        if ty.limits.min > limit {
            return Err(Error::ResourceLimit(format!(
                "table minimum size of {} elements exceeds the limit of {limit}",
                ty.limits.min
            )));
        }
        let elems = vec![init.to_raw() as u64; ty.limits.min as usize];
        let id = super::table::new_table(&mut self.inner, ty, elems);
        Ok(self.inner.handle(id))
    }

    /// A new memory of `ty`.
    pub fn new_memory(&mut self, ty: crate::types::MemoryType) -> Result<Memory> {
        let limit = self.inner.engine.config().max_memory_size;
        let memory = LinearMemory::new(ty, limit).map_err(Error::ResourceLimit)?;
        self.inner.memories.push(memory);
        Ok(self.inner.handle(self.inner.memories.len() as u32 - 1))
    }

    /// A new global of `ty` holding `value` (a function of this store, or null, for a
    /// `funcref` global).
    pub fn new_global(&mut self, ty: crate::types::GlobalType, value: Val) -> Result<Global> {
        self.inner.check_val(&value)?;
        if !self.inner.val_has_type(&value, ty.content) {
            return Err(Error::Usage("global initializer has the wrong type".into()));
        }
        let cell = GlobalCell::Boxed(Box::new(UnsafeCell::new(value.to_raw())));
        self.inner.globals.push(GlobalEntity { ty, value: cell });
        Ok(self.inner.handle(self.inner.globals.len() as u32 - 1))
    }
}

/// The context of instance `id` of `module` in `store`, its memory and globals still unset.
fn new_vmctx<T>(store: &mut Store<T>, module: &Module, id: u32) -> VmCtx {
    let tiers = &module.inner.tiers;
    VmCtx {
        mem_base: std::ptr::NonNull::dangling().as_ptr(),
        mem_len: 0,
        memories: std::ptr::null(),
        globals: std::ptr::null(),
        funcs: tiers.entries_ptr(),
        register_entries: tiers.register_entries_ptr(),
        call_import: call::call_import,
        call_indirect: call::call_indirect,
        call_ref: call::call_ref,
        tail_call_ref: call::tail_call_ref,
        memory_grow: call::memory_grow,
        memory_copy: call::memory_copy,
        memory_fill: call::memory_fill,
        unwind: call::unwind,
        stack_end: store.inner.stack.end_ptr(),
        native_stack_limit: store.inner.native_stack_limit,
        fuel: store.inner.fuel_ptr(),
        runtime: call::runtime,
        counters: tiers.counters_ptr(),
        hot: crate::tier::hot_from_compiled,
        tables: std::ptr::null(),
        table0: std::ptr::null(),
        store: store.inner.as_ptr(),
        profile_stack: store.inner.profile_stack(),
        tail_call_import: call::tail_call_import,
        tail_call_indirect: call::tail_call_indirect,
        tail_calls: call::tail_calls,
        catch: super::exception::catch,
        instance: id,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Caller, Engine, Error, Linker, Module, Store, Trap, TrapCode, Val};

    fn instantiate(wat: &str, linker: &mut Linker<Vec<i32>>) -> (Store<Vec<i32>>, super::Instance) {
        let engine = Engine::default();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, Vec::new());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        (store, instance)
    }

    /// Extended constant expressions, as position-independent modules use them: segments placed
    /// at an imported base plus an offset, globals computed from others.
    #[test]
    fn extended_constant_expressions_place_segments_and_initialize_globals() {
        let wat = r#"(module
            (import "env" "base" (global $base i32))
            (memory (export "memory") 1)
            (global $scaled (export "scaled") i64 (i64.mul (i64.const -3) (i64.sub (i64.const 5) (i64.const 12))))
            (global $end (export "end") i32 (i32.add (global.get $base) (i32.const 0x7fff_fff0)))
            (data (i32.add (global.get $base) (i32.const 16)) "\2a"))"#;
        let engine = Engine::default();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new();
        let base_type = crate::GlobalType { content: crate::ValType::I32, mutable: false };
        let base = store.new_global(base_type, Val::I32(0x20)).unwrap();
        linker.define("env", "base", crate::Extern::Global(base));
        let instance = linker.instantiate(&mut store, &module).unwrap();
        assert_eq!(instance.get_global(&store, "scaled").unwrap().get(&store), Val::I64(21));
        // i32 arithmetic wraps.
        let end = instance.get_global(&store, "end").unwrap().get(&store);
        assert_eq!(end, Val::I32(0x8000_0010_u32 as i32));
        let memory = instance.get_memory(&store, "memory").unwrap();
        assert_eq!(memory.data(&store)[0x30], 42);
        // WebAssembly 2.0 has no such expressions.
        let config = crate::Config { features: crate::WasmFeatures::WASM2, ..Default::default() };
        let err = Module::new(&Engine::new(config), wat).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }

    /// A 64-bit memory satisfies only a 64-bit memory import, and the other way round (tables:
    /// tests/data/table64.wast).
    #[test]
    fn memory64_imports_match_by_index_type() {
        let engine = Engine::default();
        let exporter = |ty: &str| format!(r#"(module (memory (export "m") {ty} 1))"#);
        let importer = |ty: &str| format!(r#"(module (import "e" "m" (memory {ty} 1)))"#);
        for (have, want, links) in [
            ("i64", "i64", true),
            ("i32", "i32", true),
            ("i32", "i64", false),
            ("i64", "i32", false),
        ] {
            let mut store = Store::new(&engine, ());
            let mut linker = Linker::new();
            let exported = Module::new(&engine, exporter(have)).unwrap();
            let instance = linker.instantiate(&mut store, &exported).unwrap();
            linker.instance(&store, "e", instance);
            let importing = Module::new(&engine, importer(want)).unwrap();
            let linked = linker.instantiate(&mut store, &importing);
            assert_eq!(linked.is_ok(), links, "{have} memory for an {want} import: {linked:?}");
        }
    }

    #[test]
    fn host_functions_see_store_data_and_guest_memory() {
        let mut linker = Linker::new();
        linker.func_wrap("env", "record", |mut caller: Caller<'_, Vec<i32>>, ptr: i32| {
            let byte = caller.memory_mut("memory").unwrap()[ptr as usize];
            caller.data_mut().push(byte as i32);
            Ok(())
        });
        let (mut store, instance) = instantiate(
            r#"(module (import "env" "record" (func $r (param i32)))
                (memory (export "memory") 1) (data (i32.const 8) "\2a")
                (func (export "go") (call $r (i32.const 8))))"#,
            &mut linker,
        );
        instance.get_func(&store, "go").unwrap().call(&mut store, &[], &mut []).unwrap();
        assert_eq!(store.data(), &[42]);
    }

    #[test]
    fn host_traps_carry_the_wasm_backtrace() {
        let mut linker = Linker::new();
        linker.func_wrap("env", "fail", |_: Caller<'_, Vec<i32>>| -> Result<(), Trap> {
            Err(Trap::host("host says no"))
        });
        let (mut store, instance) = instantiate(
            r#"(module $m (import "env" "fail" (func $fail))
                (func $inner (call $fail)) (func (export "outer") (call $inner)))"#,
            &mut linker,
        );
        let err = instance.get_func(&store, "outer").unwrap().call(&mut store, &[], &mut []);
        let Err(Error::Trap(trap)) = err else { panic!("expected a trap, got {err:?}") };
        assert_eq!(trap.to_string(), "host says no");
        let names: Vec<_> = trap.backtrace.iter().map(|f| f.func_name.clone()).collect();
        // `$inner` is named in the name section; the exported function is known by its export.
        assert_eq!(names, [Some("inner".to_string()), Some("outer".to_string())]);
    }

    #[test]
    fn unbounded_recursion_exhausts_the_wasm_stack() {
        let (mut store, instance) =
            instantiate(r#"(module (func $f (export "f") (call $f)))"#, &mut Linker::new());
        let err = instance.get_func(&store, "f").unwrap().call(&mut store, &[], &mut []);
        let Err(Error::Trap(trap)) = err else { panic!("expected a trap") };
        assert_eq!(trap.code, TrapCode::StackOverflow);
        assert_eq!(trap.to_string(), "wasm trap: call stack exhausted");
    }

    #[test]
    fn typed_and_untyped_calls_agree_and_check_types() {
        let (mut store, instance) = instantiate(
            r#"(module (func (export "mul") (param i64 i64) (result i64)
                (i64.mul (local.get 0) (local.get 1))))"#,
            &mut Linker::new(),
        );
        let mul = instance.get_func(&store, "mul").unwrap();
        let mut out = [Val::I64(0)];
        mul.call(&mut store, &[Val::I64(6), Val::I64(7)], &mut out).unwrap();
        assert_eq!(out[0], Val::I64(42));
        let typed = mul.typed::<_, (i64, i64), i64>(&store).unwrap();
        assert_eq!(typed.call(&mut store, (-3, 5)).unwrap(), -15);
        assert!(mul.typed::<_, (i32, i32), i32>(&store).is_err());
        assert!(mul.call(&mut store, &[Val::I32(1), Val::I64(2)], &mut out).is_err());
    }

    #[test]
    fn missing_and_mismatched_imports_are_link_errors() {
        let engine = Engine::default();
        let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#);
        let module = module.unwrap();
        let mut store = Store::new(&engine, ());
        let err = Linker::new().instantiate(&mut store, &module).unwrap_err();
        assert!(matches!(err, Error::UnknownImport(_)), "{err}");
        let mut linker = Linker::new();
        linker.func_wrap("env", "f", |_: Caller<'_, ()>, _: i64| Ok(()));
        let err = linker.instantiate(&mut store, &module).unwrap_err();
        assert!(matches!(err, Error::IncompatibleImport(_)), "{err}");
    }

    #[test]
    fn one_linker_serves_several_stores() {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module (import "env" "f" (func $f (result i32))) (export "f" (func $f)))"#,
        )
        .unwrap();
        let mut linker = Linker::new();
        linker.func_wrap("env", "f", |_: Caller<'_, ()>| Ok(7i32));
        for _ in 0..2 {
            let mut store = Store::new(&engine, ());
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let f = instance.get_func(&store, "f").unwrap().typed::<_, (), i32>(&store).unwrap();
            assert_eq!(f.call(&mut store, ()).unwrap(), 7);
        }
    }

    #[test]
    fn profile_counts_calls_and_back_edges() {
        let (mut store, instance) = instantiate(
            r#"(module
                (func $leaf)
                (func (export "run") (local i32)
                  (loop $l (call $leaf)
                    (br_if $l (i32.lt_u (local.tee 0 (i32.add (local.get 0) (i32.const 1)))
                                        (i32.const 10))))))"#,
            &mut Linker::new(),
        );
        instance.get_func(&store, "run").unwrap().call(&mut store, &[], &mut []).unwrap();
        let stats = instance.func_stats(&store);
        assert_eq!((stats[0].profile.calls, stats[0].profile.back_edges), (10, 0));
        assert_eq!((stats[1].profile.calls, stats[1].profile.back_edges), (1, 9));
    }
}
