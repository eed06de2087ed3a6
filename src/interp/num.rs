//! Scalar numeric semantics that Rust's operators do not give exactly as wasm defines them:
//! trapping division, trapping float-to-int truncation, `min`/`max` and `nearest`.
//!
//! Pure functions on raw values; every tier that folds or executes numerics must agree with these.

use crate::vm::TrapCode;

macro_rules! int_div {
    ($div_s:ident, $div_u:ident, $rem_s:ident, $rem_u:ident, $s:ty, $u:ty) => {
        pub fn $div_s(a: $s, b: $s) -> Result<$s, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivideByZero);
            }
            a.checked_div(b).ok_or(TrapCode::IntegerOverflow)
        }
        pub fn $div_u(a: $u, b: $u) -> Result<$u, TrapCode> {
            a.checked_div(b).ok_or(TrapCode::IntegerDivideByZero)
        }
        /// `INT_MIN % -1` is 0 in wasm, not an overflow.
        pub fn $rem_s(a: $s, b: $s) -> Result<$s, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivideByZero);
            }
            Ok(a.wrapping_rem(b))
        }
        pub fn $rem_u(a: $u, b: $u) -> Result<$u, TrapCode> {
            a.checked_rem(b).ok_or(TrapCode::IntegerDivideByZero)
        }
    };
}
int_div!(i32_div_s, i32_div_u, i32_rem_s, i32_rem_u, i32, u32);
int_div!(i64_div_s, i64_div_u, i64_rem_s, i64_rem_u, i64, u64);

macro_rules! float_ops {
    ($min:ident, $max:ident, $nearest:ident, $f:ty) => {
        /// NaN if either operand is NaN; `-0 < +0`.
        pub fn $min(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                // `a + b` propagates a NaN operand's payload, quieted: an arithmetic NaN.
                return a + b;
            }
            if a == b {
                // Only signed zeros compare equal with different bits; the OR picks -0.
                return <$f>::from_bits(a.to_bits() | b.to_bits());
            }
            if a < b { a } else { b }
        }
        /// NaN if either operand is NaN; `+0 > -0`.
        pub fn $max(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                return a + b;
            }
            if a == b {
                return <$f>::from_bits(a.to_bits() & b.to_bits());
            }
            if a > b { a } else { b }
        }
        /// Round to nearest, ties to even.
        pub fn $nearest(a: $f) -> $f {
            quiet(a.round_ties_even())
        }
    };
}
float_ops!(f32_min, f32_max, f32_nearest, f32);
float_ops!(f64_min, f64_max, f64_nearest, f64);

/// Wasm rounding returns a quiet NaN for a NaN input; Rust's rounding functions may pass a
/// signalling NaN through unchanged. Adding a NaN to itself quiets it and keeps its payload.
fn quiet<F: std::ops::Add<Output = F> + Copy + PartialEq>(x: F) -> F {
    #[allow(clippy::eq_op)]
    if x != x { x + x } else { x }
}

pub fn f32_ceil(x: f32) -> f32 {
    quiet(x.ceil())
}
pub fn f32_floor(x: f32) -> f32 {
    quiet(x.floor())
}
pub fn f32_trunc(x: f32) -> f32 {
    quiet(x.trunc())
}
pub fn f64_ceil(x: f64) -> f64 {
    quiet(x.ceil())
}
pub fn f64_floor(x: f64) -> f64 {
    quiet(x.floor())
}
pub fn f64_trunc(x: f64) -> f64 {
    quiet(x.trunc())
}

/// Trapping float-to-int truncation: NaN and out-of-range values trap. The bounds are exclusive
/// limits exactly representable in the source float type, so the range test has no rounding.
macro_rules! trunc {
    ($name:ident, $f:ty, $i:ty, $lo:expr, $hi:expr) => {
        pub fn $name(x: $f) -> Result<$i, TrapCode> {
            if x.is_nan() {
                return Err(TrapCode::BadConversionToInteger);
            }
            if !(x > $lo && x < $hi) {
                return Err(TrapCode::IntegerOverflow);
            }
            Ok(x as $i)
        }
    };
}
trunc!(i32_trunc_f32_s, f32, i32, -2147483904.0f32, 2147483648.0f32);
trunc!(i32_trunc_f32_u, f32, u32, -1.0f32, 4294967296.0f32);
trunc!(i32_trunc_f64_s, f64, i32, -2147483649.0f64, 2147483648.0f64);
trunc!(i32_trunc_f64_u, f64, u32, -1.0f64, 4294967296.0f64);
trunc!(i64_trunc_f32_s, f32, i64, -9223373136366403584.0f32, 9223372036854775808.0f32);
trunc!(i64_trunc_f32_u, f32, u64, -1.0f32, 18446744073709551616.0f32);
trunc!(i64_trunc_f64_s, f64, i64, -9223372036854777856.0f64, 9223372036854775808.0f64);
trunc!(i64_trunc_f64_u, f64, u64, -1.0f64, 18446744073709551616.0f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_division_traps_exactly_where_wasm_does() {
        assert_eq!(i32_div_s(7, 0), Err(TrapCode::IntegerDivideByZero));
        assert_eq!(i32_div_s(i32::MIN, -1), Err(TrapCode::IntegerOverflow));
        assert_eq!(i32_rem_s(i32::MIN, -1), Ok(0));
        assert_eq!(i64_div_s(-7, 2), Ok(-3));
        assert_eq!(i64_rem_s(-7, 2), Ok(-1));
        assert_eq!(i32_div_u(7, 0), Err(TrapCode::IntegerDivideByZero));
    }

    #[test]
    fn min_max_order_signed_zeros_and_propagate_nan() {
        assert!(f32_min(0.0, -0.0).is_sign_negative());
        assert!(f32_max(-0.0, 0.0).is_sign_positive());
        assert!(f64_min(f64::NAN, 1.0).is_nan());
        assert!(f64_max(1.0, f64::NAN).is_nan());
        assert_eq!(f64_min(1.0, 2.0), 1.0);
    }

    #[test]
    fn nearest_rounds_half_to_even() {
        assert_eq!(f32_nearest(2.5), 2.0);
        assert_eq!(f64_nearest(-3.5), -4.0);
        assert!(f64_nearest(-0.4).is_sign_negative());
    }

    #[test]
    fn truncation_bounds_are_exact() {
        assert_eq!(i32_trunc_f32_s(-2147483648.0), Ok(i32::MIN));
        assert_eq!(i32_trunc_f32_s(2147483648.0), Err(TrapCode::IntegerOverflow));
        assert_eq!(i32_trunc_f64_s(-2147483648.9), Ok(i32::MIN));
        assert_eq!(i32_trunc_f64_u(-0.9), Ok(0));
        assert_eq!(i64_trunc_f64_u(f64::NAN), Err(TrapCode::BadConversionToInteger));
        assert_eq!(i64_trunc_f32_s(-9223372036854775808.0), Ok(i64::MIN));
    }
}
