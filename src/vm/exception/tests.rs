//! Throwing and catching across frames, tiers and instances, with the payloads, backtraces,
//! fuel and guest profile entries each way must keep.

use crate::{
    Config, Engine, Error, Extern, Linker, Module, ProfilingStrategy, Store, Tier, TrapCode, Val,
};

/// `$thrower` throws `$e` with four payload values (or `$e0` for 0) two calls below the
/// catchers; `THROWER_SIMD` and `CATCHER_SIMD` mark where a SIMD instruction may keep the
/// thrower or the catchers in the interpreter (tier 1 refuses SIMD), so one run mixes tiers.
const PROGRAM: &str = r#"(module
  (tag $e (export "e") (param i32 i64 f32 f64))
  (tag $e0)
  (func $thrower (export "thrower") (param i32)
    ;;THROWER_SIMD
    (if (i32.eqz (local.get 0)) (then (throw $e0)))
    (throw $e (local.get 0) (i64.const -5) (f32.const 1.5) (f64.const -2.25)))
  (func $middle (param i32) (call $thrower (local.get 0)))
  (func (export "catch_payload") (param i32) (result i32 i64 f32 f64)
    ;;CATCHER_SIMD
    (block $h (result i32 i64 f32 f64)
      (try_table (catch $e $h) (call $middle (local.get 0)))
      (unreachable)))
  (func (export "catch_all") (param i32) (result i32)
    ;;CATCHER_SIMD
    (block $all
      (block $e (result i32 i64 f32 f64)
        (try_table (catch $e $e) (catch_all $all) (call $middle (local.get 0)))
        (return (i32.const 0)))
      (return (i32.const 2)))
    (i32.const 1))
  (func (export "rethrow") (param i32) (result i32)
    ;;CATCHER_SIMD
    (block $outer (result i32 i64 f32 f64)
      (try_table (catch $e $outer)
        (block $h (result exnref)
          (try_table (catch_all_ref $h) (call $middle (local.get 0)))
          (unreachable))
        (throw_ref))
      (unreachable))
    (drop) (drop) (drop))
  (func (export "uncaught") (param i32) (call $middle (local.get 0)))
  (func (export "local") (param i32) (result i32)
    ;;CATCHER_SIMD
    (block $h (result i32 i64 f32 f64)
      (try_table (catch $e $h)
        (throw $e (local.get 0) (i64.const 1) (f32.const 0) (f64.const 0)))
      (unreachable))
    (drop) (drop) (drop)))"#;

const SIMD: &str = "(drop (v128.const i64x2 0 0))";

/// Where SIMD keeps functions in the interpreter under a compiling tier.
#[derive(Clone, Copy, Debug)]
enum Mix {
    Plain,
    InterpretedThrower,
    InterpretedCatchers,
}

fn program(mix: Mix) -> String {
    let (thrower, catchers) = match mix {
        Mix::Plain => ("", ""),
        Mix::InterpretedThrower => (SIMD, ""),
        Mix::InterpretedCatchers => ("", SIMD),
    };
    PROGRAM.replace(";;THROWER_SIMD", thrower).replace(";;CATCHER_SIMD", catchers)
}

fn pinned(tier: Tier) -> Config {
    Config { tier: tier.into(), ..Config::default() }
}

/// `auto` with every function compiled by tier 1 at its first call.
fn auto_at_once() -> Config {
    Config {
        tier: crate::Tiering::Auto,
        tier_up: crate::TierUpPolicy { threshold: 1, ..Default::default() },
        tier_up_mode: crate::TierUpMode::Sync,
        ..Config::default()
    }
}

fn configs() -> Vec<(&'static str, Config)> {
    vec![
        ("interp", pinned(Tier::Interp)),
        ("baseline", pinned(Tier::Baseline)),
        ("auto at threshold 1", auto_at_once()),
    ]
}

/// Calls `name(arg)` of a fresh instance of [`program`]`(mix)` under `config`; returns the
/// results and the fuel consumed (fuel is metered when `config` says).
fn call(config: &Config, mix: Mix, name: &str, arg: i32) -> (Result<Vec<Val>, Error>, u64) {
    let engine = Engine::new(config.clone());
    let module = Module::new(&engine, program(mix)).unwrap();
    let mut store = Store::new(&engine, ());
    if config.consume_fuel {
        store.set_fuel(1 << 40).unwrap();
    }
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let func = instance.get_func(&store, name).unwrap();
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    let outcome = func.call(&mut store, &[Val::I32(arg)], &mut results).map(|()| results);
    let fuel = if config.consume_fuel { (1 << 40) - store.fuel() } else { 0 };
    (outcome, fuel)
}

const MIXES: [Mix; 3] = [Mix::Plain, Mix::InterpretedThrower, Mix::InterpretedCatchers];

#[test]
fn exceptions_are_caught_with_their_payload_across_calls_and_tiers() {
    let payload = |x: i32| {
        vec![Val::I32(x), Val::I64(-5), Val::F32(1.5f32.to_bits()), Val::F64((-2.25f64).to_bits())]
    };
    for (name, config) in configs() {
        for mix in MIXES {
            let at = format!("{name}, {mix:?}");
            let run = |func: &str, arg: i32| call(&config, mix, func, arg).0;
            assert_eq!(run("catch_payload", 7).unwrap(), payload(7), "{at}");
            assert_eq!(
                run("local", 9).unwrap(),
                [Val::I32(9)],
                "{at}: throw and catch in one frame"
            );
            // `$e0` passes the clause for `$e` and lands in `catch_all`.
            assert_eq!(run("catch_all", 0).unwrap(), [Val::I32(1)], "{at}");
            assert_eq!(run("catch_all", 4).unwrap(), [Val::I32(2)], "{at}");
            // Caught as an exnref, thrown again and caught by tag outside.
            assert_eq!(run("rethrow", 3).unwrap(), [Val::I32(3)], "{at}");
            // `$e0` is not `$e`: it leaves `rethrow` again.
            let err = run("rethrow", 0).unwrap_err();
            let Error::Trap(trap) = err else { panic!("{at}: expected a trap, got {err}") };
            assert!(matches!(trap.code, TrapCode::Exception(_)), "{at}: {trap}");
        }
    }
}

#[test]
fn an_uncaught_exception_reaches_the_host_as_a_trap_with_a_backtrace() {
    for (name, config) in configs() {
        for mix in MIXES {
            let err = call(&config, mix, "uncaught", 1).0.unwrap_err();
            let Error::Trap(trap) = err else { panic!("{name}: expected a trap, got {err}") };
            assert!(matches!(trap.code, TrapCode::Exception(_)), "{name}, {mix:?}");
            assert_eq!(trap.to_string(), "thrown Wasm exception");
            // thrower, middle, uncaught: every frame the exception left, innermost first.
            let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
            assert_eq!(frames, [0, 1, 5], "{name}, {mix:?}");
        }
    }
}

#[test]
fn a_trap_is_never_caught() {
    let wat = r#"(module
      (func $div (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func (export "f") (param i32) (result i32)
        (block $h
          (try_table (result i32) (catch_all $h) (call $div (local.get 0)))
          (return))
        (i32.const -1)))"#;
    for (name, config) in configs() {
        let engine = Engine::new(config);
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let f = instance.get_func(&store, "f").unwrap();
        let err = f.call(&mut store, &[Val::I32(0)], &mut [Val::I32(0)]).unwrap_err();
        let Error::Trap(trap) = err else { panic!("{name}: expected a trap, got {err}") };
        assert_eq!(trap.code, TrapCode::IntegerDivideByZero, "{name}");
    }
}

#[test]
fn exceptions_cross_instances_by_tag_identity() {
    // The catcher imports the thrower's tag `e` and declares a tag of the same type: only the
    // imported one is the thrower's.
    let catcher = r#"(module
      (import "thrower" "e" (tag $e (param i32 i64 f32 f64)))
      (import "thrower" "thrower" (func $thrower (param i32)))
      (tag $same_type (param i32 i64 f32 f64))
      (func (export "by_import") (param i32) (result i32)
        (block $h (result i32 i64 f32 f64)
          (try_table (catch $e $h) (call $thrower (local.get 0)))
          (unreachable))
        (drop) (drop) (drop))
      (func (export "by_own_tag") (param i32) (result i32)
        (block $h (result i32 i64 f32 f64)
          (try_table (catch $same_type $h) (call $thrower (local.get 0)))
          (unreachable))
        (drop) (drop) (drop)))"#;
    for (name, config) in configs() {
        let engine = Engine::new(config);
        let mut store = Store::new(&engine, ());
        let thrower = Module::new(&engine, program(Mix::Plain)).unwrap();
        let thrower = Linker::new().instantiate(&mut store, &thrower).unwrap();
        let mut linker = Linker::new();
        linker.instance(&store, "thrower", thrower);
        let catcher = Module::new(&engine, catcher).unwrap();
        let catcher = linker.instantiate(&mut store, &catcher).unwrap();
        let mut out = [Val::I32(0)];
        let by_import = catcher.get_func(&store, "by_import").unwrap();
        by_import.call(&mut store, &[Val::I32(11)], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(11), "{name}");
        let by_own_tag = catcher.get_func(&store, "by_own_tag").unwrap();
        let err = by_own_tag.call(&mut store, &[Val::I32(11)], &mut out).unwrap_err();
        let Error::Trap(trap) = err else { panic!("{name}: expected a trap, got {err}") };
        assert!(matches!(trap.code, TrapCode::Exception(_)), "{name}");
        // A tag import must match the tag's type.
        let wrong = r#"(module (import "thrower" "e" (tag (param i32))))"#;
        let wrong = Module::new(&engine, wrong).unwrap();
        assert!(matches!(
            linker.instantiate(&mut store, &wrong),
            Err(Error::IncompatibleImport(_))
        ));
        assert!(matches!(thrower.get_export(&store, "e"), Some(Extern::Tag(_))));
    }
}

#[test]
fn throwing_costs_the_same_fuel_in_every_tier_and_keeps_the_guest_profile_balanced() {
    let fuel = |config: Config, mix: Mix, func: &str, arg: i32| {
        let config = Config { consume_fuel: true, ..config };
        let (outcome, fuel) = call(&config, mix, func, arg);
        outcome.unwrap();
        fuel
    };
    for (func, arg) in [("catch_payload", 2), ("rethrow", 5), ("catch_all", 0)] {
        for (name, config) in configs() {
            for profiling in [ProfilingStrategy::None, ProfilingStrategy::Guest] {
                // Under guest profiling every frame pushes an entry and the ones an exception
                // unwinds pop theirs: `vm::call` asserts the profile stack is balanced after
                // the call (debug builds).
                let config = Config {
                    profiling_strategy: profiling,
                    guest_profile_interval: std::time::Duration::ZERO,
                    ..config.clone()
                };
                for mix in MIXES {
                    let interp = fuel(pinned(Tier::Interp), mix, func, arg);
                    assert!(interp > 5, "{func}: throwing costs fuel");
                    let at = format!("{func} {name} {mix:?} {profiling:?}");
                    assert_eq!(fuel(config.clone(), mix, func, arg), interp, "{at}");
                }
            }
        }
    }
}
