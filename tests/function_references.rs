//! Typed function references end to end, through the public API: `call_ref` (to a function of
//! the instance, to an import, to another instance's function, and on null), `return_call_ref`
//! (deep on a constant stack, to an import, on null), `ref.as_non_null`,
//! `br_on_null` and `br_on_non_null` with values below the reference, non-nullable locals and a
//! table with an initializer, on the interpreter, tier 1 up front and `auto` at the first call;
//! fuel spent the same on every tier; typed references in import and export matching.

use tierup::{
    Config, Engine, Error, ExternType, HeapType, Linker, Module, RefType, Store, Tier, TierUpMode,
    TierUpPolicy, Tiering, TrapCode, Val, ValType,
};

const WAT: &str = r#"(module
  (type $i2i (func (param i32) (result i32)))
  (type $ii2i (func (param i32 i32) (result i32)))
  (import "host" "triple" (func $triple (type $i2i)))
  (func $double (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
  (func $sub (type $ii2i) (i32.sub (local.get 0) (local.get 1)))
  (elem declare func $double $sub $triple $countdown)
  (table $doubles 3 (ref $i2i) (ref.func $double))

  ;; The reference to $double, or null when `null` is not zero.
  (func $maybe (param $null i32) (result (ref null $i2i))
    (select (result (ref null $i2i)) (ref.null $i2i) (ref.func $double) (local.get $null)))

  (func (export "call_own") (param i32) (result i32)
    (call_ref $i2i (local.get 0) (ref.func $double)))
  (func (export "call_import") (param i32) (result i32)
    (call_ref $i2i (local.get 0) (ref.func $triple)))
  (func (export "call_maybe") (param $null i32) (param $x i32) (result i32)
    (call_ref $i2i (local.get $x) (call $maybe (local.get $null))))
  (func (export "call_param") (param $f (ref null $i2i)) (param $x i32) (result i32)
    (call_ref $i2i (local.get $x) (local.get $f)))
  ;; A value below the call's operands: 100 + (a - b).
  (func (export "call_two") (param i32 i32) (result i32)
    (i32.add (i32.const 100) (call_ref $ii2i (local.get 0) (local.get 1) (ref.func $sub))))
  (func (export "call_table") (param $index i32) (param $x i32) (result i32)
    (call_ref $i2i (local.get $x) (table.get $doubles (local.get $index))))

  ;; return_call_ref: n calls deep on a constant stack; to a reference that may be null; to
  ;; the import.
  (func $countdown (type $ii2i)
    (if (result i32) (i32.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call_ref $ii2i
        (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (i32.const 2))
        (ref.func $countdown)))))
  (func (export "countdown") (param i32) (result i32) (call $countdown (local.get 0) (i32.const 0)))
  (func (export "tail_maybe") (param $null i32) (param $x i32) (result i32)
    (return_call_ref $i2i (local.get $x) (call $maybe (local.get $null))))
  (func (export "tail_import") (param i32) (result i32)
    (return_call_ref $i2i (local.get 0) (ref.func $triple)))

  (func (export "as_non_null") (param $null i32) (result i32)
    (call_ref $i2i (i32.const 21) (ref.as_non_null (call $maybe (local.get $null)))))

  ;; Null: the branch carries (7, x); a reference: the fall-through calls it on x, (7, 2x).
  (func (export "br_on_null") (param $null i32) (param $x i32) (result i32 i32)
    (block $on_null (result i32 i32)
      (i32.const 7)
      (local.get $x)
      (call $maybe (local.get $null))
      (br_on_null $on_null)
      (call_ref $i2i)))

  ;; A reference: the branch carries (5, ref), then ref is called on x, (5, 2x); null: the
  ;; fall-through returns (-1, x). The reference lands in a non-nullable local.
  (func (export "br_on_non_null") (param $null i32) (param $x i32) (result i32 i32)
    (local $f (ref $i2i))
    (block $on_ref (result i32 (ref $i2i))
      (i32.const 5)
      (call $maybe (local.get $null))
      (br_on_non_null $on_ref)
      (return (i32.const -1) (local.get $x)))
    (local.set $f)
    (call_ref $i2i (local.get $x) (local.get $f)))

  ;; Both ways out of `br_on_null` in a loop: the sum over i below n of 2i for odd i (the
  ;; reference is called on i), i for even ones (the branch carries i).
  (func (export "loop") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (block $skip
        (local.set $sum
          (i32.add (local.get $sum)
            (block $null (result i32)
              (br_on_null $null (local.get $i)
                (call $maybe (i32.eqz (i32.and (local.get $i) (i32.const 1)))))
              (call_ref $i2i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $sum)))"#;

/// A second module whose exported function `call_param` may call (across instances).
const OTHER: &str = r#"(module
  (func (export "add_ten") (param i32) (result i32) (i32.add (local.get 0) (i32.const 10)))
  (func (export "pair") (param i32 i32) (result i32) (local.get 0)))"#;

fn auto_at_first_call() -> Config {
    let tier_up = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    Config { tier: Tiering::Auto, tier_up, tier_up_mode: TierUpMode::Sync, ..Config::default() }
}

fn every_tier() -> [Config; 3] {
    [
        Config { tier: Tier::Interp.into(), ..Config::default() },
        Config { tier: Tier::Baseline.into(), ..Config::default() },
        auto_at_first_call(),
    ]
}

/// An instance of [`WAT`] (with `host.triple`) and one of [`OTHER`].
fn instantiate(config: Config) -> (Store<()>, tierup::Instance, tierup::Instance, Module) {
    let engine = Engine::new(config);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new();
    let i2i = tierup::FuncType::new([ValType::I32], [ValType::I32]);
    linker.func_new("host", "triple", i2i, |_, args, results| {
        results[0] = Val::I32(args[0].unwrap_i32() * 3);
        Ok(())
    });
    let module = Module::new(&engine, WAT).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let other = Module::new(&engine, OTHER).unwrap();
    let other = linker.instantiate(&mut store, &other).unwrap();
    (store, instance, other, module)
}

fn i32s(values: &[i32]) -> Vec<Val> {
    values.iter().map(|x| Val::I32(*x)).collect()
}

/// Calls export `name`: its results, or the error.
fn invoke(
    store: &mut Store<()>,
    instance: tierup::Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let func = instance.get_func(store, name).unwrap();
    let mut results = vec![Val::I32(0); func.ty(store).results().len()];
    func.call(store, args, &mut results).map(|()| results)
}

fn call(store: &mut Store<()>, instance: tierup::Instance, name: &str, args: &[Val]) -> Vec<Val> {
    invoke(store, instance, name, args).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn null_trap(store: &mut Store<()>, instance: tierup::Instance, name: &str, args: &[Val]) {
    match invoke(store, instance, name, args) {
        Err(Error::Trap(trap)) => {
            assert_eq!(trap.code, TrapCode::NullReference, "{name}");
            assert_eq!(trap.to_string(), "wasm trap: null reference");
        }
        other => panic!("{name}: expected a null reference trap, got {other:?}"),
    }
}

#[test]
fn call_ref_reaches_every_kind_of_callee_and_traps_on_null_on_every_tier() {
    for config in every_tier() {
        let tier = config.tier;
        let (mut store, instance, other, module) = instantiate(config);
        let s = &mut store;
        assert_eq!(call(s, instance, "call_own", &i32s(&[21])), i32s(&[42]), "{tier}");
        assert_eq!(call(s, instance, "call_import", &i32s(&[5])), i32s(&[15]), "{tier}");
        assert_eq!(call(s, instance, "call_maybe", &i32s(&[0, 4])), i32s(&[8]), "{tier}");
        null_trap(s, instance, "call_maybe", &i32s(&[1, 4]));
        assert_eq!(call(s, instance, "call_two", &i32s(&[9, 4])), i32s(&[105]), "{tier}");
        for index in 0..3 {
            let got = call(s, instance, "call_table", &i32s(&[index, 6]));
            assert_eq!(got, i32s(&[12]), "{tier}: the table's initializer at {index}");
        }
        let add_ten = other.get_func(s, "add_ten").unwrap();
        let got = call(s, instance, "call_param", &[Val::FuncRef(Some(add_ten)), Val::I32(1)]);
        assert_eq!(got, i32s(&[11]), "{tier}: another instance's function");
        null_trap(s, instance, "call_param", &[Val::FuncRef(None), Val::I32(1)]);
        assert_eq!(call(s, instance, "as_non_null", &i32s(&[0])), i32s(&[42]), "{tier}");
        null_trap(s, instance, "as_non_null", &i32s(&[1]));
        // Far deeper than the call stack allows without tail calls.
        let deep = 1_000_000;
        assert_eq!(call(s, instance, "countdown", &i32s(&[deep])), i32s(&[2 * deep]), "{tier}");
        assert_eq!(call(s, instance, "tail_maybe", &i32s(&[0, 5])), i32s(&[10]), "{tier}");
        null_trap(s, instance, "tail_maybe", &i32s(&[1, 5]));
        assert_eq!(call(s, instance, "tail_import", &i32s(&[5])), i32s(&[15]), "{tier}");
        // 1, 3 and 5 doubled, plus 0, 2 and 4.
        assert_eq!(call(s, instance, "loop", &i32s(&[6])), i32s(&[24]), "{tier}");
        assert!(module.tier1_refusals().is_empty(), "{tier}: {:?}", module.tier1_refusals());
        if tier == Tier::Baseline.into() {
            let stats = module.compile_stats();
            assert_eq!(stats.tier1_functions, stats.functions, "tier 1 compiled everything");
        }
    }
}

#[test]
fn tier_2_refuses_the_new_operators_and_the_functions_still_run() {
    let config = Config { tier: Tier::Optimized.into(), ..Config::default() };
    let (mut store, instance, _, module) = instantiate(config);
    assert_eq!(call(&mut store, instance, "call_own", &[Val::I32(21)]), [Val::I32(42)]);
    assert_eq!(call(&mut store, instance, "loop", &[Val::I32(6)]), [Val::I32(24)]);
    null_trap(&mut store, instance, "as_non_null", &[Val::I32(1)]);
    let refusals: Vec<_> =
        module.refusals().into_iter().filter(|r| r.tier == Tier::Optimized).collect();
    let reasons: Vec<&str> = refusals.iter().map(|r| r.reason.as_str()).collect();
    for operator in ["CallRef", "ReturnCallRef", "RefAsNonNull", "BrOnNull", "BrOnNonNull"] {
        assert!(reasons.iter().any(|r| r.contains(operator)), "{operator}: {reasons:?}");
    }
    // The import aside, `$double`, `$sub`, `$maybe` and `countdown` use none of them.
    assert_eq!(refusals.len() as u32, module.num_funcs() - 5, "{reasons:?}");
}

#[test]
fn branches_on_null_keep_the_values_below_the_reference_on_every_tier() {
    for config in every_tier() {
        let tier = config.tier;
        let (mut store, instance, _, _) = instantiate(config);
        let s = &mut store;
        assert_eq!(call(s, instance, "br_on_null", &i32s(&[1, 3])), i32s(&[7, 3]), "{tier}");
        assert_eq!(call(s, instance, "br_on_null", &i32s(&[0, 3])), i32s(&[7, 6]), "{tier}");
        assert_eq!(call(s, instance, "br_on_non_null", &i32s(&[0, 4])), i32s(&[5, 8]), "{tier}");
        assert_eq!(call(s, instance, "br_on_non_null", &i32s(&[1, 4])), i32s(&[-1, 4]), "{tier}");
    }
}

#[test]
fn arguments_must_have_the_parameters_reference_types() {
    let (mut store, instance, other, _) = instantiate(Config::default());
    let call_param = instance.get_func(&store, "call_param").unwrap();
    let pair = other.get_func(&store, "pair").unwrap();
    let mut results = [Val::I32(0)];
    let err = call_param.call(&mut store, &[Val::FuncRef(Some(pair)), Val::I32(1)], &mut results);
    assert!(matches!(err, Err(Error::Usage(_))), "a function of another type: {err:?}");
    let err = call_param.call(&mut store, &[Val::ExternRef(None), Val::I32(1)], &mut results);
    assert!(matches!(err, Err(Error::Usage(_))), "an externref: {err:?}");
}

#[test]
fn call_ref_consumes_the_same_fuel_on_every_tier() {
    let mut spent = Vec::new();
    for config in every_tier() {
        let tier = config.tier;
        let (mut store, instance, _, _) = instantiate(Config { consume_fuel: true, ..config });
        store.set_fuel(1_000_000).unwrap();
        let got = call(&mut store, instance, "loop", &[Val::I32(50)]);
        let expected: i32 = (0..50).map(|i| if i % 2 == 1 { 2 * i } else { i }).sum();
        assert_eq!(got, [Val::I32(expected)], "{tier}");
        spent.push((tier, 1_000_000 - store.fuel()));
    }
    assert!(spent.iter().all(|(_, f)| *f == spent[0].1), "fuel per tier: {spent:?}");
}

/// Exports typed references of type `$i2i`: a function, a constant and a mutable global, and a
/// table.
const EXPORTER: &str = r#"(module
  (type $i2i (func (param i32) (result i32)))
  (func $f (export "f") (type $i2i) (local.get 0))
  (func (export "takes_ref") (param (ref $i2i)))
  (global (export "const") (ref $i2i) (ref.func $f))
  (global (export "var") (mut (ref null $i2i)) (ref.func $f))
  (table (export "table") 1 (ref null $i2i)))"#;

fn link(importer: &str) -> Result<(), Error> {
    let engine = Engine::new(Config::default());
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new();
    let exporter = linker.instantiate(&mut store, &Module::new(&engine, EXPORTER)?)?;
    linker.instance(&store, "m", exporter);
    linker.instantiate(&mut store, &Module::new(&engine, importer)?).map(drop)
}

#[test]
fn typed_references_match_imports_by_subtyping() {
    // The importer's own `$t` is the exporter's `$i2i` (type equivalence is structural).
    let accepted = [
        r#"(module (type $t (func (param i32) (result i32))) (import "m" "f" (func (type $t))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "takes_ref" (func (param (ref $t)))))"#,
        r#"(module (import "m" "const" (global (ref null func))))"#,
        r#"(module (import "m" "const" (global (ref func))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "const" (global (ref null $t))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "const" (global (ref $t))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "var" (global (mut (ref null $t)))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "table" (table 1 (ref null $t))))"#,
    ];
    for wat in accepted {
        link(wat).unwrap_or_else(|e| panic!("{wat}: {e}"));
    }
    let rejected = [
        // Another signature.
        r#"(module (type $t (func (param i32 i32) (result i32)))
             (import "m" "const" (global (ref null $t))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "takes_ref" (func (param (ref null $t)))))"#,
        // An extern reference is no function reference.
        r#"(module (import "m" "const" (global externref)))"#,
        // Mutable globals and tables are invariant: a supertype does not do.
        r#"(module (import "m" "var" (global (mut (ref null func)))))"#,
        r#"(module (type $t (func (param i32) (result i32)))
             (import "m" "var" (global (mut (ref $t)))))"#,
        r#"(module (import "m" "table" (table 1 funcref)))"#,
    ];
    for wat in rejected {
        match link(wat) {
            Err(Error::IncompatibleImport(_)) => {}
            other => panic!("{wat}: expected an incompatible import, got {other:?}"),
        }
    }
}

#[test]
fn the_api_shows_typed_references() {
    let engine = Engine::new(Config::default());
    let module = Module::new(&engine, EXPORTER).unwrap();
    let exports: Vec<_> = module.exports().collect();
    let ExternType::Func(f) = &exports[0].1 else { panic!("{:?}", exports[0]) };
    let ExternType::Global(constant) = &exports[2].1 else { panic!("{:?}", exports[2]) };
    let ExternType::Table(table) = &exports[4].1 else { panic!("{:?}", exports[4]) };
    let ValType::Ref(RefType { nullable: false, heap: HeapType::Concrete(sig) }) = constant.content
    else {
        panic!("{constant:?}")
    };
    // The same signature, written again in another module, is the same type.
    let again = Module::new(
        &engine,
        "(module (type (func (param i32) (result i32))) \
        (global (export \"g\") (ref null 0) (ref.null 0)))",
    )
    .unwrap();
    let Some((_, ExternType::Global(g))) = again.exports().next() else { panic!() };
    assert_eq!(g.content, ValType::Ref(RefType { nullable: true, heap: HeapType::Concrete(sig) }));
    assert!(constant.content.matches(g.content) && !g.content.matches(constant.content));
    assert!(constant.content.matches(ValType::FUNCREF));
    assert_eq!(
        table.element,
        ValType::Ref(RefType { nullable: true, heap: HeapType::Concrete(sig) })
    );
    assert_eq!(f.params(), [ValType::I32]);
    assert_eq!(constant.content.to_string(), format!("(ref {})", HeapType::Concrete(sig)));
    assert_eq!(ValType::FUNCREF.to_string(), "funcref");
}

#[test]
fn a_call_ref_returning_v128_touches_simd() {
    // No SIMD instruction: only the callee's type says v128, which tier 1 does not compile.
    let wat = r#"(module
      (type $v (func (result v128)))
      (func (export "f") (param (ref $v)) (drop (call_ref $v (local.get 0)))))"#;
    let engine = Engine::new(Config { tier: Tier::Baseline.into(), ..Config::default() });
    let module = Module::new(&engine, wat).unwrap();
    let refusals = module.tier1_refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].touches_simd, "{refusals:?}");
}
