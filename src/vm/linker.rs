//! `Linker`: names host functions and other instances' exports so modules can be instantiated by
//! resolving their imports by `(module, name)`.

use super::Trap;
use super::func::IntoHostFunc;
use super::store::{Caller, Extern, Func, HostFn, Instance, Store, StoreId};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::types::FuncType;
use crate::val::Val;
use std::collections::HashMap;
use std::sync::Arc;

enum Definition<T> {
    /// An entity that already lives in a store.
    Extern(Extern),
    /// A host function, allocated in the store on first use.
    Host(FuncType, HostFn<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::Host(ty, f) => Definition::Host(ty.clone(), f.clone()),
        }
    }
}

/// Resolves imports by name.
pub struct Linker<T> {
    defs: HashMap<(String, String), Definition<T>>,
    /// Host functions already allocated, per store and definition, so repeated instantiation in
    /// one store reuses them (and another store never sees them: store ids are never reused).
    allocated: HashMap<(StoreId, String, String), Func>,
}

impl<T> Default for Linker<T> {
    fn default() -> Self {
        Linker { defs: HashMap::new(), allocated: HashMap::new() }
    }
}

impl<T> Linker<T> {
    /// An empty linker: with no definitions, only modules without imports instantiate.
    pub fn new() -> Linker<T> {
        Linker::default()
    }

    /// Defines `module::name` as an existing entity (replacing any earlier definition).
    pub fn define(&mut self, module: &str, name: &str, item: Extern) -> &mut Self {
        self.defs.insert((module.into(), name.into()), Definition::Extern(item));
        self
    }

    /// Defines a host function with a dynamic signature.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> &mut Self {
        self.defs.insert((module.into(), name.into()), Definition::Host(ty, Arc::new(f)));
        self
    }

    /// Defines a host function from a typed Rust closure (see [`Func::wrap`]).
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoHostFunc<T, Params, Results>,
    ) -> &mut Self {
        let (ty, f) = f.into_host_func();
        self.defs.insert((module.into(), name.into()), Definition::Host(ty, f));
        self
    }

    /// Defines every export of `instance` under the module name `module`.
    ///
    /// # Panics
    ///
    /// If the instance belongs to another store than `store`.
    pub fn instance(&mut self, store: &Store<T>, module: &str, instance: Instance) -> &mut Self {
        for (name, item) in instance.exports(store) {
            self.define(module, &name, item);
        }
        self
    }

    /// The definition of `module::name`, allocating a host function in `store` if needed.
    pub fn get(&mut self, store: &mut Store<T>, module: &str, name: &str) -> Option<Extern> {
        let key = (module.to_string(), name.to_string());
        match self.defs.get(&key)?.clone() {
            Definition::Extern(e) => Some(e),
            Definition::Host(ty, f) => {
                let (module, name) = key;
                let cached = self.allocated.entry((store.inner.id, module, name));
                let func = *cached.or_insert_with(|| store.new_host_func(ty, f));
                Some(Extern::Func(func))
            }
        }
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(&mut self, store: &mut Store<T>, module: &Module) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.inner.imports.len());
        for import in &module.inner.imports {
            let item = self.get(store, &import.module, &import.name).ok_or_else(|| {
                Error::UnknownImport(format!("`{}::{}`", import.module, import.name))
            })?;
            imports.push(item);
        }
        Instance::new(store, module, &imports)
    }
}
