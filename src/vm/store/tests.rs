//! Handles used with a store other than their own: every such use is an error or a panic, never
//! an access to the other store's entity with the same index.
//!
//! Each test makes two stores holding the same module, so every handle of one store has a
//! namesake (same kind, same arena index) in the other: a missing check would reach it.

use crate::types::{FuncType, GlobalType, Limits, TableType, ValType};
use crate::{Caller, Engine, Error, Extern, Func, Instance, Linker, Module, Store, Trap, Val};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A module whose exports cover every kind of handle; `f` and the global hold `n`, so the two
/// stores' namesakes tell themselves apart.
fn module(engine: &Engine, n: i32) -> Module {
    let wat = format!(
        r#"(module
            (func $f (export "f") (result i32) (i32.const {n}))
            (memory (export "memory") 1)
            (table (export "table") 2 funcref)
            (global (export "global") (mut i32) (i32.const {n}))
            (global (export "ref_global") (mut funcref) (ref.null func))
            (func (export "call_ref") (param funcref) (result i32)
              (table.set (i32.const 0) (local.get 0))
              (call_indirect (result i32) (i32.const 0)))
            (func (export "get_ref") (result funcref) (ref.func $f)))"#
    );
    Module::new(engine, &wat).unwrap()
}

fn instantiate(engine: &Engine, n: i32) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let instance = Linker::new().instantiate(&mut store, &module(engine, n)).unwrap();
    (store, instance)
}

/// Two stores with the same module, whose namesake handles hold 1 and 2.
fn two_stores() -> ((Store<()>, Instance), (Store<()>, Instance)) {
    let engine = Engine::default();
    (instantiate(&engine, 1), instantiate(&engine, 2))
}

fn assert_wrong_store<T: std::fmt::Debug>(result: crate::Result<T>, kind: &str) {
    let message = format!("a `{kind}` was used with a store other than the one it belongs to");
    match result {
        Err(Error::Usage(m)) if m.contains(&message) => {}
        other => panic!("expected the wrong-store error for a `{kind}`, got {other:?}"),
    }
}

fn assert_panics_wrong_store<R>(kind: &str, f: impl FnOnce() -> R) {
    let payload = catch_unwind(AssertUnwindSafe(f)).err().expect("expected a panic");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let expected = format!("a `{kind}` was used with a store other than the one it belongs to");
    assert_eq!(message, expected);
}

fn call_i32(store: &mut Store<()>, func: Func, args: &[Val]) -> crate::Result<i32> {
    let mut results = [Val::I32(-1)];
    func.call(store, args, &mut results)?;
    Ok(results[0].unwrap_i32())
}

#[test]
fn a_func_of_another_store_is_an_error_not_a_call() {
    let ((mut a, ia), (mut b, ib)) = two_stores();
    let fa = ia.get_func(&a, "f").unwrap();
    let fb = ib.get_func(&b, "f").unwrap();
    assert_eq!(fa.index(), fb.index(), "the two handles are namesakes");
    assert_ne!(fa, fb);
    assert_eq!(call_i32(&mut a, fa, &[]).unwrap(), 1);
    assert_eq!(call_i32(&mut b, fb, &[]).unwrap(), 2);
    let mut results = [Val::I32(-1)];
    assert_wrong_store(fa.call(&mut b, &[], &mut results), "Func");
    assert_eq!(results, [Val::I32(-1)], "nothing ran");
    assert_wrong_store(fa.typed::<_, (), i32>(&b), "Func");
    assert_panics_wrong_store("Func", || fa.ty(&b));
}

#[test]
fn a_typed_func_keeps_its_store() {
    let ((mut a, ia), (mut b, _)) = two_stores();
    let typed = ia.get_func(&a, "f").unwrap().typed::<_, (), i32>(&a).unwrap();
    assert_eq!(typed.call(&mut a, ()).unwrap(), 1);
    assert_wrong_store(typed.call(&mut b, ()), "Func");
}

#[test]
fn a_memory_of_another_store_is_refused() {
    let ((mut a, ia), (mut b, _)) = two_stores();
    let memory = ia.get_memory(&a, "memory").unwrap();
    memory.data_mut(&mut a)[0] = 7;
    assert_panics_wrong_store("Memory", || memory.data(&b).len());
    assert_panics_wrong_store("Memory", || memory.data_mut(&mut b).len());
    assert_panics_wrong_store("Memory", || memory.size(&b));
    assert_panics_wrong_store("Memory", || memory.ty(&b));
    assert_wrong_store(memory.grow(&mut b, 1), "Memory");
    assert_eq!((memory.data(&a)[0], memory.size(&a)), (7, 1));
}

#[test]
fn a_table_of_another_store_is_refused() {
    let ((mut a, ia), (mut b, ib)) = two_stores();
    let Some(Extern::Table(table)) = ia.get_export(&a, "table") else { panic!("no table") };
    let fb = ib.get_func(&b, "f").unwrap();
    assert_wrong_store(table.set(&mut b, 0, Val::FuncRef(Some(fb))), "Table");
    assert_wrong_store(table.set(&mut b, 0, Val::FuncRef(None)), "Table");
    assert_panics_wrong_store("Table", || table.get(&b, 0));
    assert_panics_wrong_store("Table", || table.size(&b));
    assert_panics_wrong_store("Table", || table.ty(&b));
    assert_eq!(table.get(&a, 0), Some(Val::FuncRef(None)));
    let fa = ia.get_func(&a, "f").unwrap();
    table.set(&mut a, 1, Val::FuncRef(Some(fa))).unwrap();
    assert_eq!(table.get(&a, 1), Some(Val::FuncRef(Some(fa))));
}

#[test]
fn a_global_of_another_store_is_refused() {
    let ((mut a, ia), (mut b, _)) = two_stores();
    let global = ia.get_global(&a, "global").unwrap();
    assert_wrong_store(global.set(&mut b, Val::I32(9)), "Global");
    assert_panics_wrong_store("Global", || global.get(&b));
    assert_panics_wrong_store("Global", || global.ty(&b));
    assert_eq!(global.get(&a), Val::I32(1));
    global.set(&mut a, Val::I32(3)).unwrap();
    assert_eq!(global.get(&a), Val::I32(3));
}

#[test]
fn an_instance_of_another_store_is_refused() {
    let ((a, ia), (mut b, _)) = two_stores();
    assert_panics_wrong_store("Instance", || ia.get_export(&b, "f"));
    assert_panics_wrong_store("Instance", || ia.get_func(&b, "f"));
    assert_panics_wrong_store("Instance", || ia.exports(&b));
    assert_panics_wrong_store("Instance", || ia.module(&b));
    assert_panics_wrong_store("Instance", || ia.func_stats(&b));
    assert_panics_wrong_store("Instance", || {
        Linker::new().instance(&b, "a", ia).get(&mut b, "a", "f")
    });
    assert!(ia.get_export(&a, "f").is_some());
}

#[test]
fn imports_of_another_store_are_refused() {
    let engine = Engine::default();
    let (a, ia) = instantiate(&engine, 1);
    let importer = Module::new(
        &engine,
        r#"(module (import "a" "f" (func (result i32))) (import "a" "memory" (memory 1)))"#,
    )
    .unwrap();
    let mut b = Store::new(&engine, ());
    let mut linker = Linker::new();
    linker.instance(&a, "a", ia);
    assert_wrong_store(linker.instantiate(&mut b, &importer), "Func");
    let memory = ia.get_export(&a, "memory").unwrap();
    let f = instantiate_host_f(&mut b);
    assert_wrong_store(Instance::new(&mut b, &importer, &[f, memory]), "Memory");
}

/// A host function `() -> i32` of `store`, as an import.
fn instantiate_host_f(store: &mut Store<()>) -> Extern {
    Extern::Func(Func::wrap(store, |_: Caller<'_, ()>| Ok(0i32)))
}

#[test]
fn funcref_arguments_of_another_store_are_refused() {
    let ((mut a, ia), (mut b, ib)) = two_stores();
    let fa = ia.get_func(&a, "f").unwrap();
    let call_ref_b = ib.get_func(&b, "call_ref").unwrap();
    let err = call_i32(&mut b, call_ref_b, &[Val::FuncRef(Some(fa))]);
    assert_wrong_store(err, "Func");
    let call_ref_a = ia.get_func(&a, "call_ref").unwrap();
    assert_eq!(call_i32(&mut a, call_ref_a, &[Val::FuncRef(Some(fa))]).unwrap(), 1);
}

#[test]
fn funcref_elements_and_initializers_of_another_store_are_refused() {
    let ((a, ia), (mut b, ib)) = two_stores();
    let foreign = Val::FuncRef(Some(ia.get_func(&a, "f").unwrap()));
    let Some(Extern::Table(table)) = ib.get_export(&b, "table") else { panic!("no table") };
    assert_wrong_store(table.set(&mut b, 0, foreign), "Func");
    assert_eq!(table.get(&b, 0), Some(Val::FuncRef(None)));
    let global = ib.get_global(&b, "ref_global").unwrap();
    assert_wrong_store(global.set(&mut b, foreign), "Func");
    assert_eq!(global.get(&b), Val::FuncRef(None));
    let limits = Limits { min: 1, max: None };
    let table_ty = TableType { element: ValType::FUNCREF, limits, table64: false };
    assert_wrong_store(b.new_table(table_ty, foreign), "Func");
    let global_ty = GlobalType { content: ValType::FUNCREF, mutable: false };
    assert_wrong_store(b.new_global(global_ty, foreign), "Func");
}

#[test]
fn a_host_function_returning_a_funcref_of_another_store_traps() {
    let ((a, ia), (mut b, _)) = two_stores();
    let foreign = ia.get_func(&a, "f").unwrap();
    let engine = b.engine().clone();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "get" (func $get (result funcref)))
            (func (export "run") (result i32) (ref.is_null (call $get))))"#,
    )
    .unwrap();
    let mut linker = Linker::new();
    let ty = FuncType::new([], [ValType::FUNCREF]);
    linker.func_new("env", "get", ty, move |_: Caller<'_, ()>, _: &[Val], out: &mut [Val]| {
        out[0] = Val::FuncRef(Some(foreign));
        Ok::<_, Trap>(())
    });
    let run = linker.instantiate(&mut b, &module).unwrap().get_func(&b, "run").unwrap();
    let Err(Error::Trap(trap)) = call_i32(&mut b, run, &[]) else { panic!("expected a trap") };
    assert!(trap.to_string().contains("a `Func` was used with a store other than"), "{trap}");
}

#[test]
fn funcrefs_from_wasm_belong_to_their_store() {
    let ((mut a, ia), (mut b, _)) = two_stores();
    let get_ref = ia.get_func(&a, "get_ref").unwrap();
    let mut results = [Val::FuncRef(None)];
    get_ref.call(&mut a, &[], &mut results).unwrap();
    let Val::FuncRef(Some(f)) = results[0] else { panic!("expected a function") };
    assert_eq!(f, ia.get_func(&a, "f").unwrap());
    assert_eq!(call_i32(&mut a, f, &[]).unwrap(), 1);
    assert_wrong_store(call_i32(&mut b, f, &[]), "Func");
}

#[test]
fn a_handle_of_a_dropped_store_is_refused_by_its_successor() {
    let engine = Engine::default();
    let (mut old, instance) = instantiate(&engine, 1);
    let f = instance.get_func(&old, "f").unwrap();
    assert_eq!(call_i32(&mut old, f, &[]).unwrap(), 1);
    drop(old);
    let (mut new, new_instance) = instantiate(&engine, 2);
    assert_eq!(new_instance.get_func(&new, "f").unwrap().index(), f.index(), "same arena index");
    assert_wrong_store(call_i32(&mut new, f, &[]), "Func");
    assert_panics_wrong_store("Instance", || instance.get_export(&new, "f"));
}

#[test]
fn a_linker_allocates_host_functions_per_store() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "f" (func $f (result i32))) (export "f" (func $f)))"#,
    )
    .unwrap();
    let mut linker = Linker::new();
    linker.func_wrap("env", "f", |_: Caller<'_, ()>| Ok(7i32));
    let mut a = Store::new(&engine, ());
    let mut b = Store::new(&engine, ());
    let fa = linker.instantiate(&mut a, &module).unwrap().get_func(&a, "f").unwrap();
    let fb = linker.instantiate(&mut b, &module).unwrap().get_func(&b, "f").unwrap();
    assert_eq!(linker.get(&mut a, "env", "f"), Some(Extern::Func(fa)));
    assert_eq!(linker.get(&mut b, "env", "f"), Some(Extern::Func(fb)));
    assert_ne!(fa, fb);
    assert_eq!(call_i32(&mut b, fb, &[]).unwrap(), 7);
    assert_wrong_store(call_i32(&mut b, fa, &[]), "Func");
}
