//! Embedder-facing methods on the entity handles: reading and writing memories, tables and globals.

use super::store::{Global, Memory, Store, Table};
use crate::types::{GlobalType, MemoryType, TableType};
use crate::val::Val;
use crate::{Error, Result};

impl Memory {
    /// The memory's bytes.
    pub fn data<'a, T>(&self, store: &'a Store<T>) -> &'a [u8] {
        store.inner.memories[self.0 as usize].data()
    }

    /// The memory's bytes, writable.
    pub fn data_mut<'a, T>(&self, store: &'a mut Store<T>) -> &'a mut [u8] {
        store.inner.memories[self.0 as usize].data_mut()
    }

    /// Current size in pages.
    pub fn size<T>(&self, store: &Store<T>) -> u64 {
        store.inner.memories[self.0 as usize].pages()
    }

    /// Grows by `delta` pages and returns the old size, as `memory.grow` does.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u64) -> Result<u64> {
        store.inner.memories[self.0 as usize]
            .grow(delta)
            .ok_or_else(|| Error::ResourceLimit("memory cannot grow that far".into()))
    }

    /// The memory's type, with its current size in pages as the minimum (what import matching
    /// compares).
    pub fn ty<T>(&self, store: &Store<T>) -> MemoryType {
        store.inner.memories[self.0 as usize].current_type()
    }
}

impl Table {
    /// Current number of elements.
    pub fn size<T>(&self, store: &Store<T>) -> u32 {
        store.inner.tables[self.0 as usize].elems.len() as u32
    }

    /// The element at `index`, or `None` if `index` is not below the table's size.
    pub fn get<T>(&self, store: &Store<T>, index: u32) -> Option<Val> {
        let table = &store.inner.tables[self.0 as usize];
        let raw = *table.elems.get(index as usize)?;
        Some(Val::from_raw(table.ty.element, raw as u128))
    }

    /// Stores `val` at `index`. Fails with [`Error::Usage`] if `val` is not of the table's element
    /// type or `index` is not below the table's size.
    pub fn set<T>(&self, store: &mut Store<T>, index: u32, val: Val) -> Result<()> {
        let ty = store.inner.tables[self.0 as usize].ty.element;
        if val.ty() != ty {
            return Err(Error::Usage(format!("table holds {ty}, not {}", val.ty())));
        }
        let slot = store.inner.tables[self.0 as usize]
            .elems
            .get_mut(index as usize)
            .ok_or_else(|| Error::Usage("table index out of bounds".into()))?;
        *slot = val.to_raw() as u64;
        Ok(())
    }

    /// The table's type, with its current size in elements as the minimum (what import matching
    /// compares).
    pub fn ty<T>(&self, store: &Store<T>) -> TableType {
        let t = &store.inner.tables[self.0 as usize];
        let mut ty = t.ty;
        ty.limits.min = t.elems.len() as u64;
        ty
    }
}

impl Global {
    /// The global's current value.
    pub fn get<T>(&self, store: &Store<T>) -> Val {
        let g = &store.inner.globals[self.0 as usize];
        Val::from_raw(g.ty.content, g.get())
    }

    /// Replaces the global's value. Fails with [`Error::Usage`] if the global is immutable or `val`
    /// is not of the global's content type.
    pub fn set<T>(&self, store: &mut Store<T>, val: Val) -> Result<()> {
        let g = &store.inner.globals[self.0 as usize];
        if !g.ty.mutable {
            return Err(Error::Usage("cannot set an immutable global".into()));
        }
        if val.ty() != g.ty.content {
            return Err(Error::Usage(format!("global holds {}, not {}", g.ty.content, val.ty())));
        }
        g.set(val.to_raw());
        Ok(())
    }

    /// The global's type: content type and mutability.
    pub fn ty<T>(&self, store: &Store<T>) -> GlobalType {
        store.inner.globals[self.0 as usize].ty
    }
}
