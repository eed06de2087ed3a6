//! Calling functions from the host, untyped ([`Func::call`]) or typed ([`TypedFunc`]), and creating
//! host functions ([`Func::new`], [`Func::wrap`]).

use super::Trap;
use super::store::{Caller, Func, Store};
use crate::error::{Error, Result};
use crate::types::{FuncType, ValType};
use crate::val::Val;
use std::marker::PhantomData;
use std::sync::Arc;

impl Func {
    /// A host function with a dynamic signature.
    pub fn new<T>(
        store: &mut Store<T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        store.new_host_func(ty, Arc::new(f))
    }

    /// A host function from a Rust closure whose signature gives the wasm types, e.g.
    /// `|caller: Caller<'_, T>, a: i32, b: i32| -> Result<i32, Trap>`.
    pub fn wrap<T, Params, Results>(
        store: &mut Store<T>,
        f: impl IntoHostFunc<T, Params, Results>,
    ) -> Func {
        let (ty, f) = f.into_host_func();
        store.new_host_func(ty, f)
    }

    /// The function's signature.
    ///
    /// # Panics
    ///
    /// If the function belongs to another store.
    pub fn ty<T>(&self, store: &Store<T>) -> FuncType {
        store.inner.funcs[store.inner.index_of(*self)].ty.clone()
    }

    /// Calls the function. `args` must match the parameter types and `results` have one entry per
    /// result; a trap comes back as [`Error::Trap`]. The function and every `funcref` argument
    /// must belong to `store` ([`Error::Usage`] otherwise).
    pub fn call<T>(&self, store: &mut Store<T>, args: &[Val], results: &mut [Val]) -> Result<()> {
        let func = store.inner.try_func_idx(*self)?;
        let ty = &store.inner.func(func).ty;
        if args.len() != ty.params().len() || results.len() != ty.results().len() {
            return Err(Error::Usage(format!(
                "function {ty} called with {} arguments and room for {} results",
                args.len(),
                results.len()
            )));
        }
        for (i, (arg, want)) in args.iter().zip(ty.params()).enumerate() {
            store.inner.check_val(arg).map_err(|e| Error::Usage(format!("argument {i}: {e}")))?;
            if !store.inner.val_has_type(arg, *want) {
                return Err(Error::Usage(format!(
                    "argument {i} has type {}, the function expects {want}",
                    arg.ty()
                )));
            }
        }
        super::call::call(store, func, args, results).map_err(Error::Trap)
    }

    /// A typed view of this function; fails if the signature does not match `Params -> Results`
    /// or the function belongs to another store.
    pub fn typed<T, Params: WasmParams, Results: WasmResults>(
        &self,
        store: &Store<T>,
    ) -> Result<TypedFunc<Params, Results>> {
        let ty = &store.inner.func(store.inner.try_func_idx(*self)?).ty;
        if ty.params() != Params::types().as_slice() || ty.results() != Results::types().as_slice()
        {
            return Err(Error::Usage(format!(
                "function has type {ty}, not {}",
                FuncType::new(Params::types(), Results::types())
            )));
        }
        Ok(TypedFunc { func: *self, _marker: PhantomData })
    }
}

/// A function whose signature was checked once, callable with Rust values.
#[derive(Clone, Copy, Debug)]
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<Params: WasmParams, Results: WasmResults> TypedFunc<Params, Results> {
    /// Calls the function with `params` and returns its results; a trap comes back as
    /// [`Error::Trap`].
    pub fn call<T>(&self, store: &mut Store<T>, params: Params) -> Result<Results> {
        let args = params.into_vals();
        let mut results = vec![Val::I32(0); Results::types().len()];
        self.func.call(store, &args, &mut results)?;
        Ok(Results::from_vals(&results))
    }

    /// The untyped function handle this view wraps.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// A Rust type that is a wasm value type.
pub trait WasmTy: Sized {
    /// The wasm value type this Rust type maps to (`u32`/`u64` map to `i32`/`i64`).
    fn ty() -> ValType;
    /// Converts to a wasm value, keeping the bits (unsigned integers are reinterpreted, floats
    /// keep their bit pattern).
    fn into_val(self) -> Val;
    /// Converts back from a wasm value of type [`WasmTy::ty`], keeping the bits.
    ///
    /// # Panics
    ///
    /// If `val` has another type; callers only pass values of a signature checked beforehand.
    fn from_val(val: Val) -> Self;
}

macro_rules! wasm_ty {
    ($t:ty, $vt:ident, $into:expr, $from:pat => $out:expr) => {
        impl WasmTy for $t {
            fn ty() -> ValType {
                ValType::$vt
            }
            fn into_val(self) -> Val {
                $into(self)
            }
            fn from_val(val: Val) -> Self {
                match val {
                    $from => $out,
                    other => unreachable!("signature checked, got {other:?}"),
                }
            }
        }
    };
}
wasm_ty!(i32, I32, Val::I32, Val::I32(v) => v);
wasm_ty!(i64, I64, Val::I64, Val::I64(v) => v);
wasm_ty!(u32, I32, |v: u32| Val::I32(v as i32), Val::I32(v) => v as u32);
wasm_ty!(u64, I64, |v: u64| Val::I64(v as i64), Val::I64(v) => v as u64);
wasm_ty!(f32, F32, |v: f32| Val::F32(v.to_bits()), Val::F32(v) => f32::from_bits(v));
wasm_ty!(f64, F64, |v: f64| Val::F64(v.to_bits()), Val::F64(v) => f64::from_bits(v));
wasm_ty!(u128, V128, Val::V128, Val::V128(v) => v);

/// A tuple of wasm values passed as parameters.
pub trait WasmParams {
    /// The wasm parameter types, in tuple order.
    fn types() -> Vec<ValType>;
    /// The parameters as wasm values, in tuple order.
    fn into_vals(self) -> Vec<Val>;
}

/// A tuple of wasm values returned as results (a single value need not be a tuple).
pub trait WasmResults: Sized {
    /// The wasm result types, in tuple order (one for a single value, none for `()`).
    fn types() -> Vec<ValType>;
    /// Builds the results from `vals`, which hold [`WasmResults::types`] in order.
    ///
    /// # Panics
    ///
    /// If `vals` is shorter or holds values of other types.
    fn from_vals(vals: &[Val]) -> Self;
    /// The results as wasm values, in tuple order.
    fn into_vals(self) -> Vec<Val>;
}

impl<A: WasmTy> WasmParams for A {
    fn types() -> Vec<ValType> {
        vec![A::ty()]
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
}

impl<A: WasmTy> WasmResults for A {
    fn types() -> Vec<ValType> {
        vec![A::ty()]
    }
    fn from_vals(vals: &[Val]) -> Self {
        A::from_val(vals[0])
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
}

macro_rules! tuples {
    ($( ($($n:ident $i:tt),*) )*) => {$(
        impl<$($n: WasmTy),*> WasmParams for ($($n,)*) {
            fn types() -> Vec<ValType> {
                vec![$($n::ty()),*]
            }
            #[allow(clippy::vec_init_then_push)]
            fn into_vals(self) -> Vec<Val> {
                vec![$(self.$i.into_val()),*]
            }
        }
        impl<$($n: WasmTy),*> WasmResults for ($($n,)*) {
            fn types() -> Vec<ValType> {
                vec![$($n::ty()),*]
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn from_vals(vals: &[Val]) -> Self {
                ($($n::from_val(vals[$i]),)*)
            }
            fn into_vals(self) -> Vec<Val> {
                vec![$(self.$i.into_val()),*]
            }
        }
    )*};
}
tuples! {
    ()
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
}

/// Closures usable as typed host functions (see [`Func::wrap`]).
pub trait IntoHostFunc<T, Params, Results> {
    /// The wasm signature given by the closure's parameter and result types, and the closure
    /// adapted to the dynamic [`HostFn`](super::HostFn) calling convention.
    fn into_host_func(self) -> (FuncType, super::store::HostFn<T>);
}

macro_rules! into_host_func {
    ($( ($($n:ident $i:tt),*) )*) => {$(
        impl<T, HF, R, $($n: WasmTy),*> IntoHostFunc<T, ($($n,)*), R> for HF
        where
            HF: Fn(Caller<'_, T>, $($n),*) -> Result<R, Trap> + Send + Sync + 'static,
            R: WasmResults,
        {
            fn into_host_func(self) -> (FuncType, super::store::HostFn<T>) {
                let ty = FuncType::new(vec![$($n::ty()),*], R::types());
                #[allow(unused_variables)]
                let f = move |caller: Caller<'_, T>, args: &[Val], results: &mut [Val]| {
                    let out = self(caller, $($n::from_val(args[$i])),*)?;
                    results.copy_from_slice(&out.into_vals());
                    Ok(())
                };
                (ty, Arc::new(f))
            }
        }
    )*};
}
into_host_func! {
    ()
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
}
