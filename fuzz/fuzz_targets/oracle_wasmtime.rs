//! The `diff` target's second outside oracle: the same module run by wasmtime (Cranelift),
//! observed as [`crate::oracle_wasmi`] observes wasmi.
//!
//! wasmtime is configured for `common::FEATURES` only (it enables more 3.0 proposals by default), with
//! the harness's resource limits and without signal handlers: bounds are checked explicitly, so
//! wasmtime never competes with tierup's SIGSEGV handler (or AddressSanitizer's) in the same
//! process. One engine serves the whole fuzzing process.

use crate::{Image, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS, Observed, Outcome, Value};
use std::sync::OnceLock;
use tierup::{ExternType, TrapCode, ValType};
use wasmtime::{
    Engine, Error, Extern, Func, FuncType, Global, GlobalType, Memory, MemoryType, Module,
    Mutability, Ref, RefType, Store, StoreLimits, StoreLimitsBuilder, Table, TableType, Trap, Val,
};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config
            // `common::FEATURES`.
            .wasm_tail_call(true)
            .wasm_extended_const(true)
            .wasm_multi_memory(true)
            .wasm_memory64(true)
            .wasm_relaxed_simd(true)
            .wasm_function_references(false)
            .wasm_gc(false)
            .wasm_exceptions(true)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            .wasm_simd(true)
            .wasm_bulk_memory(true)
            .wasm_reference_types(true)
            .wasm_multi_value(true)
            .signals_based_traps(false);
        Engine::new(&config).expect("a configuration wasmtime supports")
    })
}

/// Whether wasmtime accepts `wasm`; `Err` with its message if not. Validates without compiling.
pub fn validate(wasm: &[u8]) -> Result<(), String> {
    Module::validate(engine(), wasm).map_err(|e| e.to_string())
}

/// Compiles and runs `wasm` as the harness runs it on tierup (see [`crate::oracle_wasmi::outcomes`]);
/// `None` if wasmtime cannot compile a module it validated or refuses to create a dummy import.
pub fn outcomes(
    wasm: &[u8],
    imports: &[ExternType],
    exports: &[(String, ExternType)],
) -> Option<Observed<Value>> {
    let module = Module::new(engine(), wasm).ok()?;
    let limits = StoreLimitsBuilder::new()
        .memory_size(MAX_MEMORY_BYTES as usize)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .build();
    let mut store: Store<StoreLimits> = Store::new(engine(), limits);
    store.limiter(|limits| limits);
    // wasmtime takes imports in the module's import order, as `import_types` lists them.
    let mut externs = Vec::new();
    for ty in imports {
        externs.push(dummy_import(&mut store, ty)?);
    }
    let instance = match wasmtime::Instance::new(&mut store, &module, &externs) {
        Ok(instance) => instance,
        Err(e) => return Some(Observed::failed_instantiation(trap_code(&e))),
    };
    let mut observed = Observed::default();
    for (name, ty) in exports {
        let ExternType::Func(ft) = ty else { continue };
        let func = instance.get_func(&mut store, name).expect("exported function");
        let default = |t: &ValType| Val::default_for_ty(&val_type(*t)).expect("nullable");
        let args: Vec<Val> = ft.params().iter().map(default).collect();
        let mut results: Vec<Val> = ft.results().iter().map(default).collect();
        let outcome: Outcome<Value> = match func.call(&mut store, &args, &mut results) {
            Ok(()) => Ok(results.iter().map(value).collect()),
            Err(e) => Err(trap_code(&e)),
        };
        observed.calls.push((name.clone(), outcome));
    }
    for (name, ty) in exports {
        match ty {
            ExternType::Memory(_) if observed.memory.is_none() => {
                let memory = instance.get_memory(&mut store, name).expect("exported memory");
                observed.memory = Some((name.clone(), Image(memory.data(&store).to_vec())));
            }
            ExternType::Global(_) => {
                let global = instance.get_global(&mut store, name).expect("exported global");
                observed.globals.push((name.clone(), value(&global.get(&mut store))));
            }
            _ => {}
        }
    }
    Some(observed)
}

/// wasmtime's dummy of the same type as tierup's [`crate::common::dummy_import`].
fn dummy_import(store: &mut Store<StoreLimits>, ty: &ExternType) -> Option<Extern> {
    Some(match ty {
        // A tag import is declined by wasmi, so wasmtime never runs such a module as an oracle.
        ExternType::Tag(_) => return None,
        ExternType::Func(ft) => {
            let params: Vec<wasmtime::ValType> = ft.params().iter().map(|t| val_type(*t)).collect();
            let results: Vec<wasmtime::ValType> =
                ft.results().iter().map(|t| val_type(*t)).collect();
            let defaults: Vec<Val> =
                results.iter().map(|t| Val::default_for_ty(t).expect("nullable")).collect();
            let ty = FuncType::new(engine(), params, results);
            Extern::Func(Func::new(&mut *store, ty, move |_caller, _args, out| {
                out.clone_from_slice(&defaults);
                Ok(())
            }))
        }
        ExternType::Global(gt) => {
            let mutability = if gt.mutable { Mutability::Var } else { Mutability::Const };
            let content = val_type(gt.content);
            let init = Val::default_for_ty(&content).expect("nullable");
            Extern::Global(
                Global::new(&mut *store, GlobalType::new(content, mutability), init).ok()?,
            )
        }
        ExternType::Table(tt) => {
            let (element, init) = match tt.element {
                ValType::FUNCREF => (RefType::FUNCREF, Ref::Func(None)),
                ValType::EXTERNREF => (RefType::EXTERNREF, Ref::Extern(None)),
                other => panic!("table of {other:?}"),
            };
            let ty = if tt.table64 {
                TableType::new64(element, tt.limits.min, tt.limits.max)
            } else {
                let min = u32::try_from(tt.limits.min).ok()?;
                let max = tt.limits.max.map(u32::try_from).transpose().ok()?;
                TableType::new(element, min, max)
            };
            Extern::Table(Table::new(&mut *store, ty, init).ok()?)
        }
        ExternType::Memory(mt) if mt.memory64 => {
            let ty = MemoryType::new64(mt.limits.min, mt.limits.max);
            Extern::Memory(Memory::new(&mut *store, ty).ok()?)
        }
        ExternType::Memory(mt) => {
            let min = u32::try_from(mt.limits.min).ok()?;
            let max = mt.limits.max.map(u32::try_from).transpose().ok()?;
            Extern::Memory(Memory::new(&mut *store, MemoryType::new(min, max)).ok()?)
        }
    })
}

fn val_type(ty: ValType) -> wasmtime::ValType {
    match ty {
        ValType::I32 => wasmtime::ValType::I32,
        ValType::I64 => wasmtime::ValType::I64,
        ValType::F32 => wasmtime::ValType::F32,
        ValType::F64 => wasmtime::ValType::F64,
        ValType::V128 => wasmtime::ValType::V128,
        ValType::FUNCREF => wasmtime::ValType::FUNCREF,
        ValType::EXTERNREF => wasmtime::ValType::EXTERNREF,
        // The generator runs without function references (`common::generate`).
        ValType::Ref(other) => panic!("typed reference {other}"),
    }
}

/// A wasmtime value in the engine-neutral form all sides are compared in.
fn value(v: &Val) -> Value {
    let v = match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(bits) => Value::F32(*bits),
        Val::F64(bits) => Value::F64(*bits),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_none() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
        other => panic!("a WebAssembly 2.0 module produced {other:?}"),
    };
    v.canonical_nan()
}

/// wasmtime's trap code as tierup's: one to one for every trap a WebAssembly 2.0 module can raise
/// (wasmtime reports segments that do not fit at instantiation as traps too). Errors that are not
/// traps (linking, resource limits at instantiation) are `None`, as on the other engines; traps
/// that 2.0 cannot raise map to a `Host` trap that never equals another engine's outcome.
fn trap_code(e: &Error) -> Option<TrapCode> {
    Some(match e.downcast_ref::<Trap>()? {
        Trap::UnreachableCodeReached => TrapCode::Unreachable,
        Trap::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        Trap::TableOutOfBounds => TrapCode::TableOutOfBounds,
        Trap::IndirectCallToNull => TrapCode::IndirectCallToNull,
        Trap::IntegerDivisionByZero => TrapCode::IntegerDivideByZero,
        Trap::IntegerOverflow => TrapCode::IntegerOverflow,
        Trap::BadConversionToInteger => TrapCode::BadConversionToInteger,
        Trap::StackOverflow => TrapCode::StackOverflow,
        Trap::BadSignature => TrapCode::BadSignature,
        Trap::OutOfFuel => TrapCode::OutOfFuel,
        other => TrapCode::Host(format!("wasmtime: {other:?}")),
    })
}
