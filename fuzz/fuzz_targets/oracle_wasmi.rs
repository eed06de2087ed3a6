//! The `diff` target's first outside oracle: the same module run by wasmi 2.0, observed the same
//! way.
//!
//! wasmi is configured for `common::FEATURES` only (memory64 is a crate feature), with no
//! fuel, and with the resource limits tierup's `Config` in the harness has (64 MiB per memory,
//! 10,000,000 table elements), so `memory.grow` and `table.grow` fail at the same sizes.

use crate::{Image, MAX_MEMORY_BYTES, MAX_TABLE_ELEMENTS, Observed, Outcome, Value};
use tierup::{ExternType, TrapCode, ValType};
use wasmi::{
    Engine, Error, Extern, Func, FuncType, Global, Memory, MemoryType, Module, Mutability,
    Nullable, Ref, RefType, Store, StoreLimits, StoreLimitsBuilder, Table, TableType, Val,
};

pub fn engine() -> Engine {
    let mut config = wasmi::Config::default();
    config
        // `common::FEATURES`.
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_relaxed_simd(true)
        .wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_multi_value(true)
        .wasm_sign_extension(true)
        .wasm_saturating_float_to_int(true)
        .wasm_mutable_global(true)
        .consume_fuel(false);
    Engine::new(&config)
}

/// Why wasmi cannot run `wasm`, if the module contains what wasmi 2.0.0 is known to crash on: a
/// `v128.store8_lane` or `v128.store16_lane` whose offset does not fit 16 bits (and whose value is
/// not a constant) is translated to an instruction wasmi's executor cannot decode, and it aborts
/// the process (`internal error: entered unreachable code`, in a function that cannot unwind, so
/// the harness cannot catch it) when the instruction runs. wasmtime and tierup store the byte. See
/// `regressions/diff-wasmi-store-lane-large-offset-panic.wat`.
pub fn known_crash(wasm: &[u8]) -> Option<&'static str> {
    use wasmparser::{Operator, Payload};
    let crashes = |op: &Operator<'_>| match op {
        Operator::V128Store8Lane { memarg, .. } | Operator::V128Store16Lane { memarg, .. } => {
            memarg.offset > u64::from(u16::MAX)
        }
        _ => false,
    };
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else { continue };
        let Ok(mut ops) = body.get_operators_reader() else { continue };
        while !ops.eof() {
            match ops.read() {
                Ok(op) if crashes(&op) => {
                    return Some("a v128.store{8,16}_lane with an offset above 65535");
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    None
}

/// Compiles `wasm` with wasmi; `Err` with wasmi's message if it rejects the module.
pub fn compile(engine: &Engine, wasm: &[u8]) -> Result<Module, String> {
    Module::new(engine, wasm).map_err(|e| e.to_string())
}

/// Runs `module` as the harness runs it on tierup: dummy imports of `imports` (the types
/// [`crate::common::import_types`] describes), instantiate (start function included), call every
/// exported function of `exports` in that order with default arguments, then read the exported
/// memory and globals.
pub fn outcomes(
    engine: &Engine,
    module: &Module,
    imports: &[ExternType],
    exports: &[(String, ExternType)],
) -> Observed<Value> {
    let limits = StoreLimitsBuilder::new()
        .memory_size(MAX_MEMORY_BYTES as usize)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .build();
    let mut store: Store<StoreLimits> = Store::new(engine, limits);
    store.limiter(|limits| limits);
    // wasmi's `Instance::new` takes the imports in the order of its `Module::imports`, which is
    // not the module's import order: functions first, then tables, memories and globals, each
    // kind in module order. Hence a stable sort by kind.
    let mut imports: Vec<&ExternType> = imports.iter().collect();
    imports.sort_by_key(|ty| match ty {
        ExternType::Func(_) => 0,
        ExternType::Table(_) => 1,
        ExternType::Memory(_) => 2,
        ExternType::Global(_) => 3,
        ExternType::Tag(_) => 4,
    });
    let externs: Vec<Extern> = imports
        .into_iter()
        .map(|ty| dummy_import(&mut store, ty).expect("wasmi refused a dummy import tierup made"))
        .collect();
    let instance = match wasmi::Instance::new(&mut store, module, &externs) {
        Ok(instance) => instance,
        Err(e) => return Observed::failed_instantiation(trap_code(&e)),
    };
    let mut observed = Observed::default();
    for (name, ty) in exports {
        let ExternType::Func(ft) = ty else { continue };
        let func = instance.get_func(&store, name).expect("exported function");
        let args: Vec<Val> =
            ft.params().iter().map(|t| Val::default_for_ty(val_type(*t))).collect();
        let mut results: Vec<Val> =
            ft.results().iter().map(|t| Val::default_for_ty(val_type(*t))).collect();
        let outcome: Outcome<Value> = match func.call(&mut store, &args, &mut results) {
            Ok(()) => Ok(results.iter().map(value).collect()),
            Err(e) => Err(trap_code(&e)),
        };
        observed.calls.push((name.clone(), outcome));
    }
    for (name, ty) in exports {
        match ty {
            ExternType::Memory(_) if observed.memory.is_none() => {
                let memory = instance.get_memory(&store, name).expect("exported memory");
                observed.memory = Some((name.clone(), Image(memory.data(&store).to_vec())));
            }
            ExternType::Global(_) => {
                let global = instance.get_global(&store, name).expect("exported global");
                observed.globals.push((name.clone(), value(&global.get(&store))));
            }
            _ => {}
        }
    }
    observed
}

/// wasmi's dummy of the same type as tierup's [`crate::common::dummy_import`].
fn dummy_import(store: &mut Store<StoreLimits>, ty: &ExternType) -> Option<Extern> {
    Some(match ty {
        // wasmi has no exception handling: it rejects such modules before instantiating.
        ExternType::Tag(_) => return None,
        ExternType::Func(ft) => {
            let params: Vec<wasmi::ValType> = ft.params().iter().map(|t| val_type(*t)).collect();
            let results: Vec<wasmi::ValType> = ft.results().iter().map(|t| val_type(*t)).collect();
            let defaults: Vec<Val> = results.iter().map(|t| Val::default_for_ty(*t)).collect();
            let ty = FuncType::new(params, results);
            Extern::Func(Func::new(&mut *store, ty, move |_caller, _args, out| {
                out.clone_from_slice(&defaults);
                Ok(())
            }))
        }
        ExternType::Global(gt) => {
            let mutability = if gt.mutable { Mutability::Var } else { Mutability::Const };
            let init = Val::default_for_ty(val_type(gt.content));
            Extern::Global(Global::new(&mut *store, init, mutability))
        }
        ExternType::Table(tt) => {
            let (element, init) = match tt.element {
                ValType::FUNCREF => (RefType::Func, Ref::Func(Nullable::Null)),
                ValType::EXTERNREF => (RefType::Extern, Ref::Extern(Nullable::Null)),
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

fn val_type(ty: ValType) -> wasmi::ValType {
    match ty {
        ValType::I32 => wasmi::ValType::I32,
        ValType::I64 => wasmi::ValType::I64,
        ValType::F32 => wasmi::ValType::F32,
        ValType::F64 => wasmi::ValType::F64,
        ValType::V128 => wasmi::ValType::V128,
        ValType::FUNCREF => wasmi::ValType::FuncRef,
        ValType::EXTERNREF => wasmi::ValType::ExternRef,
        // The generator runs without function references (`common::generate`).
        ValType::Ref(other) => panic!("typed reference {other}"),
    }
}

/// A wasmi value in the engine-neutral form all engines are compared in.
fn value(v: &Val) -> Value {
    let v = match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(r) => Value::FuncRef { null: r.is_null() },
        Val::ExternRef(r) => Value::ExternRef { null: r.is_null() },
    };
    v.canonical_nan()
}

/// wasmi's trap code as tierup's. The two enumerations draw the same distinctions for every trap a
/// WebAssembly 2.0 module can raise (both split NaN from out-of-range float-to-int conversions,
/// null from out-of-bounds `call_indirect`), so the mapping is one to one. Errors that are not
/// traps (linking, resource limits at instantiation) are `None` on both sides. wasmi's resource
/// traps (`GrowthOperationLimited`, `OutOfSystemMemory`) have no tierup counterpart: they map to a
/// `Host` trap that never equals a tierup outcome, so they show up as a disagreement.
///
/// One coarser spot: at instantiation, wasmi reports an active element segment that does not fit
/// its table as `InstantiationError::ElementSegmentDoesNotFit`, an error without a trap code (an
/// active data segment that does not fit does carry `MemoryOutOfBounds`). The spec makes both
/// traps; tierup raises `TableOutOfBounds`, which is what that wasmi error is taken to mean.
fn trap_code(e: &Error) -> Option<TrapCode> {
    use wasmi::TrapCode as W;
    use wasmi::errors::{ErrorKind, InstantiationError};
    if let ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. }) = e.kind()
    {
        return Some(TrapCode::TableOutOfBounds);
    }
    Some(match e.as_trap_code()? {
        W::UnreachableCodeReached => TrapCode::Unreachable,
        W::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        W::TableOutOfBounds => TrapCode::TableOutOfBounds,
        W::IndirectCallToNull => TrapCode::IndirectCallToNull,
        W::IntegerDivisionByZero => TrapCode::IntegerDivideByZero,
        W::IntegerOverflow => TrapCode::IntegerOverflow,
        W::BadConversionToInteger => TrapCode::BadConversionToInteger,
        W::StackOverflow => TrapCode::StackOverflow,
        W::BadSignature => TrapCode::BadSignature,
        W::OutOfFuel => TrapCode::OutOfFuel,
        other => TrapCode::Host(format!("wasmi: {other:?}")),
    })
}
