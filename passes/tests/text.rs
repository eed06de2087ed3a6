//! The text form round-trips and the verifier names what is wrong.

use tierup_passes::text::{parse_module, print_module};
use tierup_passes::verify::verify_module;

const SAMPLE: &str = r#"sig0 = (i32) -> i32
memory mem0 min 1 max 2
table table0 funcref min 2
global g0 mut i32 = i32.const -7
global g1 f64 = f64.const 0x7ff4000000000001
data data0 mem0 at i32.const 16 = "0102ff"
elem elem0 funcref table0 at i32.const 0 = [ref.func fn1, ref.null funcref]
import fn0 "env" "print" (i32)

function fn1 "loop" (i32, f32) -> i32, f32 {
block0(v0: i32, v1: f32):
    v2 = i32.const 0
    jump block1(v2, v0)
block1(v3: i32, v4: i32):
    v5 = i32.add v3, v4
    v6 = i32.load mem0 +4 v5
    i32.store mem0 +0 v5, v6
    call fn0 v6
    v7 = f32.const -0.0
    v8 = f32.const 0x7fa00001
    v9 = f32.add v7, v8
    v10 = call_indirect sig0 table0 v5, v2
    brif v5, block1(v5, v4), block2
block2:
    br_table v3, [block3, block4], block3
block3:
    return v3, v1
block4:
    trap int_divz
}
"#;

#[test]
fn print_parse_round_trips() {
    let m = parse_module(SAMPLE).unwrap();
    verify_module(&m).unwrap();
    let printed = print_module(&m);
    assert_eq!(printed, SAMPLE);
    let again = parse_module(&printed).unwrap();
    assert_eq!(print_module(&again), printed);
}

#[test]
fn verifier_names_function_block_and_instruction() {
    let src = "function fn0 \"bad\" (i32) -> i32 {\nblock0(v0: i32):\n    v1 = i64.const 1\n    v2 = i32.add v0, v1\n    brif v2, block1(v2), block1\nblock1(v3: i32):\n    return v9\n}\n";
    let m = parse_module(src).unwrap();
    let err = verify_module(&m).unwrap_err().to_string();
    assert!(err.contains("fn0 (bad), block0, `v2 = i32.add v0, v1`: operands (i32, i64)"), "{err}");
    assert!(err.contains("block1 takes 1 arguments, given 0"), "{err}");
    assert!(err.contains("block1, `return v9`: use of undefined value v9"), "{err}");
}

#[test]
fn verifier_checks_dominance() {
    let src = "function fn0 (i32) -> i32 {\nblock0(v0: i32):\n    brif v0, block1, block2\nblock1:\n    v1 = i32.const 1\n    jump block2\nblock2:\n    return v1\n}\n";
    let err = verify_module(&parse_module(src).unwrap()).unwrap_err().to_string();
    assert!(err.contains("block2, `return v1`: use of v1 is not dominated"), "{err}");
}

#[test]
fn simd_operators_and_stubs_round_trip() {
    let src = "memory mem0 min 1\n\nfunction fn0 (i32, v128) -> i32 {\nblock0(v0: i32, v1: v128):\n    v2 = simd v128 i8x16_shuffle imm 0xf0e0d0c0b0a09080706050403020100 v1, v1\n    simd void v128_store mem0 +16 v0, v2\n    v3 = simd i32 i8x16_extract_lane_s imm 0x3 v2\n    return v3\n}\n\nfunction fn1 \"not built\" (i32) -> i32 {\n}\n";
    let m = parse_module(src).unwrap();
    verify_module(&m).unwrap();
    assert_eq!(print_module(&m), src);
}
