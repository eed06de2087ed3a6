//! Embedder-facing methods on the entity handles: reading and writing memories, tables and globals.
//!
//! Every method first checks that the handle belongs to the store it is given: methods returning a
//! `Result` fail with [`Error::Usage`], the others panic (as wasmtime's do).

use super::memory::GrowRefusal;
use super::store::{Global, Memory, Store, Table};
use crate::types::{GlobalType, MemoryType, TableType};
use crate::val::Val;
use crate::{Error, Result};

impl Memory {
    /// The memory's bytes.
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store.
    pub fn data<'a, T>(&self, store: &'a Store<T>) -> &'a [u8] {
        store.inner.memories[store.inner.index_of(*self)].data()
    }

    /// The memory's bytes, writable.
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store.
    pub fn data_mut<'a, T>(&self, store: &'a mut Store<T>) -> &'a mut [u8] {
        let index = store.inner.index_of(*self);
        store.inner.memories[index].data_mut()
    }

    /// Current size in pages.
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store.
    pub fn size<T>(&self, store: &Store<T>) -> u64 {
        store.inner.memories[store.inner.index_of(*self)].pages()
    }

    /// Grows by `delta` pages and returns the old size, as `memory.grow` does. Fails with
    /// [`Error::Usage`] if the memory belongs to another store.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u64) -> Result<u64> {
        let index = store.inner.try_index_of(*self)?;
        store.inner.memories[index]
            .grow(delta)
            .ok_or_else(|| Error::ResourceLimit("memory cannot grow that far".into()))
    }

    /// The latest `memory.grow` the memory refused (from wasm code or [`Memory::grow`]) and the
    /// limit that refused it: what to tell a user whose program ran out of memory.
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store.
    pub fn grow_refusal<T>(&self, store: &Store<T>) -> Option<GrowRefusal> {
        store.inner.memories[store.inner.index_of(*self)].refused()
    }

    /// The memory's type, with its current size in pages as the minimum (what import matching
    /// compares).
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store.
    pub fn ty<T>(&self, store: &Store<T>) -> MemoryType {
        store.inner.memories[store.inner.index_of(*self)].current_type()
    }
}

impl Table {
    /// Current number of elements.
    ///
    /// # Panics
    ///
    /// If the table belongs to another store.
    pub fn size<T>(&self, store: &Store<T>) -> u32 {
        store.inner.tables[store.inner.index_of(*self)].elems.len() as u32
    }

    /// The element at `index`, or `None` if `index` is not below the table's size.
    ///
    /// # Panics
    ///
    /// If the table belongs to another store.
    pub fn get<T>(&self, store: &Store<T>, index: u32) -> Option<Val> {
        let table = &store.inner.tables[store.inner.index_of(*self)];
        let raw = *table.elems.get(index as usize)?;
        Some(Val::from_raw(table.ty.element, raw as u128, store.inner.id))
    }

    /// Stores `val` at `index`. Fails with [`Error::Usage`] if the table or the function `val`
    /// refers to belongs to another store, if `val` is not of the table's element type, or if
    /// `index` is not below the table's size.
    pub fn set<T>(&self, store: &mut Store<T>, index: u32, val: Val) -> Result<()> {
        let table = store.inner.try_index_of(*self)?;
        store.inner.check_val(&val)?;
        let ty = store.inner.tables[table].ty.element;
        if !store.inner.val_has_type(&val, ty) {
            return Err(Error::Usage(format!("table holds {ty}, not {}", val.ty())));
        }
        let slot = store.inner.tables[table]
            .elems
            .get_mut(index as usize)
            .ok_or_else(|| Error::Usage("table index out of bounds".into()))?;
        *slot = val.to_raw() as u64;
        super::table::sync(&mut store.inner, table, index as usize..index as usize + 1);
        Ok(())
    }

    /// The table's type, with its current size in elements as the minimum (what import matching
    /// compares).
    ///
    /// # Panics
    ///
    /// If the table belongs to another store.
    pub fn ty<T>(&self, store: &Store<T>) -> TableType {
        let t = &store.inner.tables[store.inner.index_of(*self)];
        let mut ty = t.ty;
        ty.limits.min = t.elems.len() as u64;
        ty
    }
}

impl Global {
    /// The global's current value.
    ///
    /// # Panics
    ///
    /// If the global belongs to another store.
    pub fn get<T>(&self, store: &Store<T>) -> Val {
        let g = &store.inner.globals[store.inner.index_of(*self)];
        Val::from_raw(g.ty.content, g.get(), store.inner.id)
    }

    /// Replaces the global's value. Fails with [`Error::Usage`] if the global or the function
    /// `val` refers to belongs to another store, if the global is immutable, or if `val` is not
    /// of the global's content type.
    pub fn set<T>(&self, store: &mut Store<T>, val: Val) -> Result<()> {
        let g = &store.inner.globals[store.inner.try_index_of(*self)?];
        store.inner.check_val(&val)?;
        if !g.ty.mutable {
            return Err(Error::Usage("cannot set an immutable global".into()));
        }
        if !store.inner.val_has_type(&val, g.ty.content) {
            return Err(Error::Usage(format!("global holds {}, not {}", g.ty.content, val.ty())));
        }
        g.set(val.to_raw());
        Ok(())
    }

    /// The global's type: content type and mutability.
    ///
    /// # Panics
    ///
    /// If the global belongs to another store.
    pub fn ty<T>(&self, store: &Store<T>) -> GlobalType {
        store.inner.globals[store.inner.index_of(*self)].ty
    }
}
