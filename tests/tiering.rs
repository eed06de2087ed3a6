//! Tiering across instances and threads: one module shared by many instances that tier up at the
//! same time, with background compilation, must compute exactly what the interpreter computes.
//!
//! `TIERUP_STRESS_ROUNDS` scales the stress test (CI runs a longer version).

use std::sync::Arc;
use tierup::{
    Config, Engine, Instance, Linker, Module, Store, Tier, TierUpMode, TierUpPolicy, Tiering, Val,
};

/// Recursion, loops, memory, globals, indirect calls and a trap: every path a tier-up can cross.
const WAT: &str = r#"(module
  (type $unary (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $acc (mut i64) (i64.const 0))
  (table 3 funcref)
  (elem (i32.const 0) $fib $sum $mix)
  (func $fib (type $unary)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $sum (type $unary) (local $i i32) (local $s i32)
    (loop $l
      (i32.store (i32.shl (i32.and (local.get $i) (i32.const 255)) (i32.const 2))
                 (i32.add (local.get $s) (local.get $i)))
      (local.set $s (i32.add (local.get $s)
                             (i32.load (i32.shl (i32.and (local.get $i) (i32.const 255))
                                                (i32.const 2)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get 0))))
    (local.get $s))
  (func $mix (type $unary)
    (global.set $acc (i64.add (global.get $acc) (i64.extend_i32_u (local.get 0))))
    (i32.wrap_i64 (i64.rem_u (global.get $acc) (i64.const 1000003))))
  (func (export "run") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (i32.rem_u (local.get 0) (i32.const 3))))
  (func (export "divide") (param i32) (result i32)
    (i32.div_u (i32.const 100) (local.get 0))))"#;

/// The calls each thread makes, in order: `run(selector, argument)`, and a division that traps
/// every seventh time.
fn script(thread: u32, rounds: u32) -> Vec<(&'static str, Vec<Val>)> {
    let mut calls = Vec::new();
    for round in 0..rounds {
        let selector = (round + thread) % 3;
        let argument = match selector {
            0 => 10 + (round % 12),
            1 => 50 + round * 7 % 300,
            _ => round * 31 + thread,
        };
        calls.push(("run", vec![Val::I32(selector as i32), Val::I32(argument as i32)]));
        calls.push(("divide", vec![Val::I32((round % 7) as i32)]));
    }
    calls
}

/// Every call's result (or trap message) in a fresh instance of `module`.
fn outcomes(module: &Module, calls: &[(&str, Vec<Val>)]) -> Vec<Result<Val, String>> {
    let mut store = Store::new(module.engine(), ());
    let instance: Instance = Linker::new().instantiate(&mut store, module).unwrap();
    calls
        .iter()
        .map(|(name, args)| {
            let func = instance.get_func(&store, name).unwrap();
            let mut out = [Val::I32(0)];
            match func.call(&mut store, args, &mut out) {
                Ok(()) => Ok(out[0]),
                Err(e) => Err(e.to_string()),
            }
        })
        .collect()
}

fn rounds() -> u32 {
    std::env::var("TIERUP_STRESS_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(300)
}

#[test]
fn one_module_tiers_up_on_eight_threads_with_background_compiles() {
    let rounds = rounds();
    let interp = Engine::new(Config { tier: Tier::Interp.into(), ..Config::default() });
    let interp_module = Module::new(&interp, WAT).unwrap();
    for threshold in [1, 7, 200] {
        let engine = Engine::new(Config {
            tier: Tiering::Auto,
            tier_up: TierUpPolicy { threshold, ..TierUpPolicy::default() },
            tier_up_mode: TierUpMode::Background,
            compile_threads: 2,
            ..Config::default()
        });
        let module = Arc::new(Module::new(&engine, WAT).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|thread| {
                let module = Arc::clone(&module);
                std::thread::spawn(move || {
                    let calls = script(thread, rounds);
                    (calls.clone(), outcomes(&module, &calls))
                })
            })
            .collect();
        for (thread, handle) in threads.into_iter().enumerate() {
            let (calls, got) = handle.join().expect("the thread ran");
            let expected = outcomes(&interp_module, &calls);
            assert_eq!(got, expected, "thread {thread}, threshold {threshold}");
        }
        let stats = module.func_stats();
        assert!(
            stats.iter().any(|s| s.tier > Tier::Interp),
            "something tiered up at threshold {threshold}: {stats:?}"
        );
    }
}

#[test]
fn an_instance_takes_code_another_instance_tiered_up_at_its_next_call() {
    let engine = Engine::new(Config {
        tier: Tiering::Auto,
        tier_up: TierUpPolicy { threshold: 30, ..TierUpPolicy::default() },
        tier_up_mode: TierUpMode::Sync,
        ..Config::default()
    });
    let module = Module::new(&engine, WAT).unwrap();
    let (mut first, mut second) = (Store::new(&engine, ()), Store::new(&engine, ()));
    let a = Linker::new().instantiate(&mut first, &module).unwrap();
    let b = Linker::new().instantiate(&mut second, &module).unwrap();
    let divide_a = a.get_func(&first, "divide").unwrap();
    let mut out = [Val::I32(0)];
    for _ in 0..3 {
        divide_a.call(&mut first, &[Val::I32(3)], &mut out).unwrap();
    }
    let divide = module.func_stats().into_iter().find(|s| s.name.as_deref() == Some("divide"));
    assert_eq!(divide.unwrap().tier, Tier::Baseline, "three calls of weight 10 reach 30");
    // The other instance's first call runs the new code: its trap is a tier-1 frame.
    let divide_b = b.get_func(&second, "divide").unwrap();
    let Err(tierup::Error::Trap(trap)) = divide_b.call(&mut second, &[Val::I32(0)], &mut out)
    else {
        panic!("expected a trap")
    };
    assert_eq!(trap.backtrace[0].tier, Tier::Baseline, "{trap}");
}

/// Loop nests in the shapes on-stack replacement into tier 2 copies code around (see tier 2's
/// SSA builder): inner loops inside `if`/`else` and blocks with results, an operand-stack value
/// carried across the loops, branches (`br_if`, `br_table`) from inner loops to outer loops and
/// out of them. Every loop moves up at its first back-edge, into tier 1 and then into tier 2 at
/// the next, so each function switches tiers in the middle of each of its loops.
const NESTS: &str = r#"(module
  (func (export "nest") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $k i32) (local $acc i32)
    (i32.const 7)  ;; carried below every loop, used after them
    (block $done (result i32)
      (loop $outer (result i32)
        (local.set $j (i32.const 0))
        (if (i32.and (local.get $i) (i32.const 1))
          (then
            (loop $odd
              (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $j))))
              (br_if $odd (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                                    (local.get $n)))))
          (else
            (block $even
              (loop $inner
                (local.set $k (i32.const 0))
                (loop $innermost
                  (local.set $acc (i32.xor (local.get $acc)
                                           (i32.add (local.get $k) (local.get $j))))
                  (br_if $innermost (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1)))
                                              (i32.const 3)))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br_table $inner $even (i32.ge_u (local.get $j) (local.get $n))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $done (i32.add (local.get $acc) (local.get $i))
                     (i32.ge_u (local.get $i) (local.get $n)))
        (br $outer)))
    (i32.add)))"#;

#[test]
fn loops_entered_in_tier_2_mid_nest_compute_what_the_interpreter_computes() {
    let interp = Engine::new(Config { tier: Tier::Interp.into(), ..Config::default() });
    let tier_up =
        TierUpPolicy { threshold: 1, call_weight: 0, opt_threshold: 1, ..TierUpPolicy::default() };
    let osr = Engine::new(Config {
        tier: Tiering::Auto,
        tier_up,
        tier_up_mode: TierUpMode::Sync,
        ..Config::default()
    });
    let calls: Vec<(&str, Vec<Val>)> =
        [1, 2, 3, 5, 8, 13, 40].iter().map(|&n| ("nest", vec![Val::I32(n)])).collect();
    let expected = outcomes(&Module::new(&interp, NESTS).unwrap(), &calls);
    // A fresh module per call: each run enters its loops in tier 2 at a different iteration.
    for call in &calls {
        let module = Module::new(&osr, NESTS).unwrap();
        let got = outcomes(&module, std::slice::from_ref(call));
        let want = &expected[calls.iter().position(|c| c == call).unwrap()];
        assert_eq!(&got[0], want, "nest({:?})", call.1);
    }
}
