//! Relaxed SIMD end to end, through the public API: each operator gives the deterministic result
//! `src/interp/simd.rs` documents, with its operands in wasm's order, under every tier
//! configuration; the compiling tiers refuse these functions as touching SIMD (they stay
//! interpreted) and compile the rest; with the `relaxed-simd` switch off the module is invalid.

use tierup::{
    Config, Engine, Error, Linker, Module, Store, Tier, TierUpMode, TierUpPolicy, Tiering, Val,
    WasmFeatures,
};

const WAT: &str = r#"(module
  (func (export "f32x4.relaxed_madd") (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "f64x2.relaxed_nmadd") (param v128 v128 v128) (result v128)
    (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i32x4.relaxed_laneselect") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i8x16.relaxed_swizzle") (param v128 v128) (result v128)
    (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
  (func (export "i32x4.relaxed_trunc_f32x4_u") (param v128) (result v128)
    (i32x4.relaxed_trunc_f32x4_u (local.get 0)))
  (func (export "i16x8.relaxed_dot_i8x16_i7x16_s") (param v128 v128) (result v128)
    (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
  (func (export "i32x4.relaxed_dot_i8x16_i7x16_add_s") (param v128 v128 v128) (result v128)
    (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2)))
  ;; No v128 in sight but the relaxed operator's operand and result.
  (func (export "min_lane0") (param f32 f32) (result f32)
    (f32x4.extract_lane 0
      (f32x4.relaxed_min (f32x4.splat (local.get 0)) (f32x4.splat (local.get 1)))))
  (func (export "plain") (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 3))))"#;

/// The exports that use relaxed SIMD: every function but the last.
const RELAXED_FUNCS: u32 = 8;

fn f32s(lanes: [f32; 4]) -> Val {
    Val::V128(lanes.iter().rev().fold(0, |acc, x| acc << 32 | u128::from(x.to_bits())))
}

fn f64s(lanes: [f64; 2]) -> Val {
    Val::V128(u128::from(lanes[1].to_bits()) << 64 | u128::from(lanes[0].to_bits()))
}

fn u32s(lanes: [u32; 4]) -> Val {
    Val::V128(lanes.iter().rev().fold(0, |acc, x| acc << 32 | u128::from(*x)))
}

fn i16s(lanes: [i16; 8]) -> Val {
    Val::V128(lanes.iter().rev().fold(0, |acc, x| acc << 16 | u128::from(*x as u16)))
}

fn i8s(lanes: [i8; 16]) -> Val {
    Val::V128(u128::from_le_bytes(lanes.map(|x| x as u8)))
}

/// Each call and the result the chosen semantics give.
fn calls() -> Vec<(&'static str, Vec<Val>, Val)> {
    // x * y rounds to exactly -z, so the unfused sum is 0 where a fused one is 2^-37.
    let (x, y) = (1.0 + 2f32.powi(-22), 1.0 + 2f32.powi(-15));
    let z = -(1.0 + 2f32.powi(-15) + 2f32.powi(-22));
    assert_ne!(x.mul_add(y, z), 0.0, "the fused result differs");
    let madd = (
        "f32x4.relaxed_madd",
        // 2 * 3 + 10, where the other orders would give 23 or 32.
        vec![
            f32s([x, f32::MAX, 2.0, 1.0]),
            f32s([y, 2.0, 3.0, 1.0]),
            f32s([z, -f32::MAX, 10.0, 0.5]),
        ],
        f32s([0.0, f32::INFINITY, 16.0, 1.5]),
    );
    let nmadd = (
        "f64x2.relaxed_nmadd",
        vec![f64s([2.0, 0.5]), f64s([3.0, 4.0]), f64s([10.0, -1.0])],
        f64s([4.0, -3.0]),
    );
    let laneselect = (
        "i32x4.relaxed_laneselect",
        vec![
            u32s([0x1234_5678, 0x9abc_def0, u32::MAX, 0]),
            u32s([0xcafe_babe, 0xdead_beef, 0, u32::MAX]),
            u32s([0xffff_0000, 0x8000_0001, 0x7fff_fffe, 0x8000_0000]),
        ],
        u32s([0x1234_babe, 0xdead_beee, 0x7fff_fffe, 0x7fff_ffff]),
    );
    let swizzle = (
        "i8x16.relaxed_swizzle",
        vec![
            i8s(std::array::from_fn(|i| 100 + i as i8)),
            i8s([0, 15, 16, 17, 31, 127, -128, -1, 3, 19, 35, 5, 64, 7, -113, 1]),
        ],
        i8s([100, 115, 0, 0, 0, 0, 0, 0, 103, 0, 0, 105, 0, 107, 0, 101]),
    );
    let trunc = (
        "i32x4.relaxed_trunc_f32x4_u",
        vec![f32s([f32::NAN, -1.0, 5e9, 7.9])],
        u32s([0, 0, u32::MAX, 7]),
    );
    let dot = (
        "i16x8.relaxed_dot_i8x16_i7x16_s",
        vec![
            i8s([-128, -128, -128, -128, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            i8s([-128, -128, -127, -127, -1, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ],
        i16s([i16::MAX, 32512, -5, 0, 0, 0, 0, 0]),
    );
    let dot_add = (
        "i32x4.relaxed_dot_i8x16_i7x16_add_s",
        vec![
            i8s([-128, -128, -128, -128, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]),
            i8s([-128, -128, -128, -128, 1, 1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0]),
            u32s([1, 2, 3, u32::MAX]),
        ],
        u32s([2 * 32767 + 1, (3 - 7 + 2) as u32, 3, u32::MAX]),
    );
    let min_nan = ("min_lane0", vec![Val::F32(f32::NAN.to_bits()), Val::F32(1f32.to_bits())], {
        Val::F32(f32::NAN.to_bits())
    });
    let min_zeros = (
        "min_lane0",
        vec![Val::F32(0f32.to_bits()), Val::F32((-0f32).to_bits())],
        Val::F32((-0f32).to_bits()),
    );
    let plain = ("plain", vec![Val::I32(14)], Val::I32(42));
    vec![madd, nmadd, laneselect, swizzle, trunc, dot, dot_add, min_nan, min_zeros, plain]
}

/// Runs every call three times (tier-up happens at the first), comparing NaNs as NaNs.
fn check(config: Config) -> Module {
    let what = format!("{}", config.tier);
    let engine = Engine::new(config);
    let module = Module::new(&engine, WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    for (name, args, expected) in calls() {
        let func = instance.get_func(&store, name).unwrap();
        for round in 0..3 {
            let mut out = [Val::I32(0)];
            func.call(&mut store, &args, &mut out).unwrap();
            let same = match (out[0], expected) {
                (Val::F32(got), Val::F32(want)) if f32::from_bits(want).is_nan() => {
                    f32::from_bits(got).is_nan()
                }
                (got, want) => got == want,
            };
            assert!(same, "{name} on {what}, call {round}: got {:?}, want {expected:?}", out[0]);
        }
    }
    module
}

#[test]
fn the_interpreter_runs_every_choice() {
    check(Config { tier: Tier::Interp.into(), ..Config::default() });
}

#[test]
fn compiling_tiers_refuse_relaxed_functions_as_simd_and_compile_the_rest() {
    let baseline = Config { tier: Tier::Baseline.into(), ..Config::default() };
    let tier_up = TierUpPolicy { threshold: 1, opt_threshold: 1, ..TierUpPolicy::default() };
    let auto = Config {
        tier: Tiering::Auto,
        tier_up,
        tier_up_mode: TierUpMode::Sync,
        ..Config::default()
    };
    for config in [baseline, auto] {
        let what = format!("{}", config.tier);
        let module = check(config);
        let refusals = module.refusals();
        let tier1: Vec<u32> = module.tier1_refusals().iter().map(|r| r.func_index).collect();
        assert_eq!(tier1, (0..RELAXED_FUNCS).collect::<Vec<_>>(), "on {what}: {refusals:?}");
        assert!(refusals.iter().all(|r| r.touches_simd), "on {what}: {refusals:?}");
        let plain = module.func_stats().into_iter().find(|s| s.name.as_deref() == Some("plain"));
        assert!(plain.unwrap().tier > Tier::Interp, "`plain` compiles on {what}");
    }
}

#[test]
fn without_the_switch_relaxed_simd_is_invalid() {
    let mut features = WasmFeatures::default();
    features.set("relaxed-simd", false).unwrap();
    let engine = Engine::new(Config { features, ..Config::default() });
    match Module::new(&engine, WAT) {
        Err(Error::Invalid(message)) => assert!(message.contains("relaxed"), "{message}"),
        other => panic!("expected the module to be invalid, got {:?}", other.map(|_| ())),
    }
}
