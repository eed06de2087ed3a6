//! Wasm values on the command line: `--invoke` arguments parsed by the parameter types, and results
//! printed one per line.
//!
//! Integers are decimal or `0x` hex, either with a `-`, signed or unsigned (`-1` and `4294967295`
//! are the same i32); floats are decimal or `nan`, `inf`, `-inf`; a v128 is a `0x` hex u128; a
//! reference can only be `null`. A text that does not denote a value of the expected type is
//! refused, never truncated or reinterpreted. Results print through `Val`'s `Display`, whose output
//! these parsers read back.

use anyhow::{Result, bail};
use std::io::Write;
use tierup::{FuncType, Val, ValType};

/// Parses `args` as the arguments of `func`, whose signature is `ty`.
pub fn parse_args(func: &str, ty: &FuncType, args: &[String]) -> Result<Vec<Val>> {
    let params = ty.params();
    if args.len() != params.len() {
        let types = params.iter().map(ValType::to_string).collect::<Vec<_>>().join(" ");
        let expected = if params.is_empty() { "no arguments".to_string() } else { types };
        bail!("`{func}` takes {} argument(s) ({expected}), {} given", params.len(), args.len());
    }
    let parse = |(i, (ty, text)): (usize, (&ValType, &String))| {
        parse_val(*ty, text).map_err(|e| anyhow::anyhow!("argument {} of `{func}`: {e}", i + 1))
    };
    params.iter().zip(args).enumerate().map(parse).collect()
}

/// Writes each result on its own line.
pub fn write_results(out: &mut impl Write, results: &[Val]) -> std::io::Result<()> {
    results.iter().try_for_each(|val| writeln!(out, "{val}"))
}

/// Parses one value of type `ty`.
pub fn parse_val(ty: ValType, text: &str) -> Result<Val, String> {
    match ty {
        ValType::I32 => parse_int(text, 32).map(|bits| Val::I32(bits as u32 as i32)),
        ValType::I64 => parse_int(text, 64).map(|bits| Val::I64(bits as i64)),
        ValType::F32 => parse_float::<f32>(text, ty).map(|v| Val::F32(v.to_bits())),
        ValType::F64 => parse_float::<f64>(text, ty).map(|v| Val::F64(v.to_bits())),
        ValType::V128 => parse_v128(text).map(Val::V128),
        ValType::Ref(r) if !r.nullable => {
            Err(format!("`{text}` is not a {ty} (no value of it can be given)"))
        }
        ValType::Ref(r) if r.heap == tierup::HeapType::Exn => {
            parse_null(text, ty).map(|()| Val::ExnRef(None))
        }
        ValType::Ref(r) if r.is_func() => parse_null(text, ty).map(|()| Val::FuncRef(None)),
        ValType::Ref(_) => parse_null(text, ty).map(|()| Val::ExternRef(None)),
    }
}

/// An integer of `bits` bits (32 or 64), returned as its two's-complement bit pattern.
fn parse_int(text: &str, bits: u32) -> Result<u64, String> {
    let invalid = || format!("`{text}` is not an i{bits} (expected a decimal or 0x hex integer)");
    let (negative, body) = match text.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let magnitude = parse_unsigned(body).ok_or_else(invalid)?;
    // Signed and unsigned readings are both accepted, so the range is [-2^(bits-1), 2^bits - 1].
    let limit = if negative { 1u128 << (bits - 1) } else { (1u128 << bits) - 1 };
    if magnitude > limit {
        return Err(format!("`{text}` does not fit in an i{bits}"));
    }
    let pattern = if negative { magnitude.wrapping_neg() } else { magnitude };
    Ok(pattern as u64 & (u64::MAX >> (64 - bits)))
}

/// Decimal or `0x` hex digits, nothing else (the std parsers would also take a `+`).
fn parse_unsigned(text: &str) -> Option<u128> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u128::from_str_radix(digits, radix).ok()
}

/// A float: decimal, or `nan`, `inf`, `-inf` (any case, as `Val`'s `Display` prints them).
fn parse_float<F: std::str::FromStr>(text: &str, ty: ValType) -> Result<F, String> {
    // The std parser also takes `+` and `infinity`, which are unambiguous, so they may stay.
    text.parse().map_err(|_| {
        format!("`{text}` is not an {ty} (expected a decimal number, nan, inf or -inf)")
    })
}

fn parse_v128(text: &str) -> Result<u128, String> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    hex.and_then(|_| parse_unsigned(text))
        .ok_or_else(|| format!("`{text}` is not a v128 (expected 0x and up to 32 hex digits)"))
}

fn parse_null(text: &str, ty: ValType) -> Result<(), String> {
    match text {
        "null" => Ok(()),
        _ => Err(format!("`{text}` is not a {ty} (only `null` can be given)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(ty: ValType, text: &str) -> Val {
        parse_val(ty, text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn integers_decimal_hex_signed_unsigned() {
        assert_eq!(val(ValType::I32, "3"), Val::I32(3));
        assert_eq!(val(ValType::I32, "-1"), Val::I32(-1));
        assert_eq!(val(ValType::I32, "4294967295"), Val::I32(-1));
        assert_eq!(val(ValType::I32, "0xffffffff"), Val::I32(-1));
        assert_eq!(val(ValType::I32, "-2147483648"), Val::I32(i32::MIN));
        assert_eq!(val(ValType::I32, "-0x10"), Val::I32(-16));
        assert_eq!(val(ValType::I64, "-9223372036854775808"), Val::I64(i64::MIN));
        assert_eq!(val(ValType::I64, "0xFFFFFFFFFFFFFFFF"), Val::I64(-1));
        assert_eq!(val(ValType::I64, "18446744073709551615"), Val::I64(-1));
    }

    #[test]
    fn integers_out_of_range_or_malformed_are_refused() {
        for bad in ["4294967296", "-2147483649", "0x100000000"] {
            assert!(parse_val(ValType::I32, bad).unwrap_err().contains("does not fit"), "{bad}");
        }
        for bad in ["", "x", "-", "+5", "0x", "0x+5", "1.0", "1e3", "--1", " 1", "0b1", "1_000"] {
            assert!(parse_val(ValType::I32, bad).unwrap_err().contains("not an i32"), "{bad}");
        }
        assert!(parse_val(ValType::I64, "18446744073709551616").is_err());
        assert!(parse_val(ValType::I64, "-9223372036854775809").is_err());
    }

    #[test]
    fn floats_including_nan_and_infinities() {
        assert_eq!(val(ValType::F32, "1.5"), Val::F32(1.5f32.to_bits()));
        assert_eq!(val(ValType::F32, "0.1"), Val::F32(0.1f32.to_bits()));
        assert_eq!(val(ValType::F64, "-0"), Val::F64((-0.0f64).to_bits()));
        assert_eq!(val(ValType::F64, "inf"), Val::F64(f64::INFINITY.to_bits()));
        assert_eq!(val(ValType::F64, "-inf"), Val::F64(f64::NEG_INFINITY.to_bits()));
        assert!(matches!(val(ValType::F32, "nan"), Val::F32(b) if f32::from_bits(b).is_nan()));
        assert!(matches!(val(ValType::F64, "NaN"), Val::F64(b) if f64::from_bits(b).is_nan()));
        assert!(parse_val(ValType::F32, "one").unwrap_err().contains("not an f32"));
        assert!(parse_val(ValType::F64, "0x1p3").is_err());
    }

    #[test]
    fn v128_and_references() {
        assert_eq!(val(ValType::V128, "0x1"), Val::V128(1));
        assert_eq!(val(ValType::V128, &format!("{:#034x}", u128::MAX)), Val::V128(u128::MAX));
        assert!(parse_val(ValType::V128, "1").is_err());
        assert!(parse_val(ValType::V128, "0x1ffffffffffffffffffffffffffffffff").is_err());
        assert_eq!(val(ValType::FUNCREF, "null"), Val::FuncRef(None));
        assert_eq!(val(ValType::EXTERNREF, "null"), Val::ExternRef(None));
        assert!(parse_val(ValType::EXTERNREF, "0").unwrap_err().contains("null"));
    }

    #[test]
    fn printed_results_read_back() {
        let results = [
            Val::I32(-7),
            Val::I64(1 << 40),
            Val::F32(2.5f32.to_bits()),
            Val::F64(f64::NEG_INFINITY.to_bits()),
            Val::V128(0xabc),
            Val::ExternRef(None),
        ];
        let mut out = Vec::new();
        write_results(&mut out, &results).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-7");
        for (line, result) in lines.iter().zip(&results) {
            assert_eq!(parse_val(result.ty(), line).as_ref(), Ok(result), "{line}");
        }
    }

    #[test]
    fn argument_count_and_position_are_reported() {
        let ty = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let err = parse_args("add", &ty, &args(&["1"])).unwrap_err().to_string();
        assert_eq!(err, "`add` takes 2 argument(s) (i32 i32), 1 given");
        let err = parse_args("add", &ty, &args(&["x", "2"])).unwrap_err().to_string();
        assert!(err.starts_with("argument 1 of `add`: `x` is not an i32"), "{err}");
        assert_eq!(parse_args("add", &ty, &args(&["1", "2"])).unwrap(), [Val::I32(1), Val::I32(2)]);
    }
}
