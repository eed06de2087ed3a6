//! Integer division by a constant without a divide instruction: the multiplier and shifts that
//! turn `n / d` into a multiply-high, a correction and shifts (Granlund and Montgomery, "Division
//! by invariant integers using multiplication", PLDI 1994; Warren, *Hacker's Delight*, chapter 10;
//! the round-up construction as libdivide computes it; for 32-bit unsigned dividends, Lemire,
//! Kaser and Kurz, "Faster remainder by direct computation", 2019).
//!
//! Why: a hardware division takes 20-90 cycles on x86-64 cores and is not fully pipelined; a
//! 64-bit multiplication takes 3-4 (latencies from Agner Fog's instruction tables, not measured
//! here). On the corpus, `tierup bench --tier optimized --runs 5 --size medium` against the
//! build before: c-hash and c-dispatch 1.03x faster, the rest unchanged. C and Rust compilers leave `x / 10` or `h % 31` to the wasm engine
//! as an `i32.div_u` by a constant (LLVM's wasm target calls division cheap, for code size),
//! so the engine is where this optimization has to happen, as TurboFan and Cranelift do it.
//!
//! [`plan`] says what a constant divisor's quotient takes; each [`Plan`] variant documents the
//! arithmetic its machine code must do, and [`Plan::quotient`] models that arithmetic in Rust,
//! which the tests compare with Rust's own division over boundary and pseudo-random dividends. A
//! remainder is always `n - q * d`, wrapping at the operand size. Every ISA's
//! `MacroAssembler::div` emits a plan for a constant divisor.
//!
//! ISA-free arithmetic only: no encodings here. Divisors 0 and (signed) -1 get no plan: their
//! traps (division by zero, `MIN / -1`) stay with the divide instruction's path.

use super::masm::{DivOp, RegImm, Size};

/// How to compute the quotient of a division by one constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// `d == 1`: the quotient is `n`.
    One,
    /// Unsigned `d == 2^shift`: `q = n >>u shift`.
    UnsignedPowerOfTwo { shift: u32 },
    /// Signed `|d| == 2^shift` (`shift >= 1`, `d == MIN` included): negative dividends get
    /// `|d| - 1` added so the shift rounds towards zero,
    /// `q = (n + ((n >>s (bits - 1)) >>u (bits - shift))) >>s shift`, negated when `negative`.
    SignedPowerOfTwo { shift: u32, negative: bool },
    /// Unsigned 32-bit `d` (not a power of two): `q = (n * multiplier) >> 64`, `n` zero-extended
    /// to 64 bits and the product 128 bits wide, with `multiplier = ceil(2^64 / d)` (Lemire et
    /// al.: exact for every 32-bit `n` and `d`, with no correction step).
    Unsigned32 { multiplier: u64 },
    /// Unsigned 64-bit `d` (not a power of two): `t = (n * multiplier) >> 64` (128-bit product);
    /// `q = t >>u shift`, or, when the multiplier needs a 65th bit (`add`, the bit left implied),
    /// `q = (((n - t) >>u 1) + t) >>u shift`.
    Unsigned64 { multiplier: u64, shift: u32, add: bool },
    /// Signed `d` at `bits` 32 or 64 (`|d|` not a power of two): `t` is the high half of the
    /// double-width signed product `n * multiplier` (`multiplier` a `bits`-wide signed value,
    /// sign-extended here); with `add`, `t += n` for `d > 0` and `t -= n` for `d < 0`, wrapping at
    /// `bits`; then `t >>s shift`, and `q = t + (t >>u (bits - 1))` (one more when negative, so
    /// the quotient rounds towards zero).
    Signed { multiplier: i64, shift: u32, add: bool, negative: bool },
}

/// The plan for dividing `size`-wide values by the constant `divisor` (its low `size` bits,
/// read as signed when `signed`), or `None` for the divisors a divide instruction must handle:
/// 0, and -1 when signed.
pub fn plan(signed: bool, size: Size, divisor: i64) -> Option<Plan> {
    let bits = size_bits(size);
    let d = truncate(size, divisor);
    if d == 0 || (signed && d == mask(bits)) {
        return None;
    }
    if d == 1 {
        return Some(Plan::One);
    }
    Some(if signed { signed_plan(bits, d) } else { unsigned_plan(bits, d) })
}

/// The plan for a `div` operation whose divisor `rhs` is a constant with a plan ([`plan`]),
/// with that constant: what each ISA's `MacroAssembler::div` asks first.
pub fn for_div(op: DivOp, size: Size, rhs: RegImm) -> Option<(i64, Plan)> {
    let RegImm::Imm(divisor) = rhs else { return None };
    let signed = matches!(op, DivOp::DivS | DivOp::RemS);
    plan(signed, size, divisor).map(|plan| (divisor, plan))
}

fn unsigned_plan(bits: u32, d: u64) -> Plan {
    if d.is_power_of_two() {
        return Plan::UnsignedPowerOfTwo { shift: d.trailing_zeros() };
    }
    if bits == 32 {
        return Plan::Unsigned32 { multiplier: u64::MAX / d + 1 };
    }
    // The smallest multiplier of the form ceil(2^(64 + k) / d), k = floor(log2 d), if it fits 64
    // bits; otherwise one bit more, its top bit implied by the `add` step.
    let k = 63 - d.leading_zeros();
    let (quotient, rem) = div_rem_pow2(64 + k, d);
    let e = d - rem;
    if e < 1 << k {
        Plan::Unsigned64 { multiplier: quotient.wrapping_add(1), shift: k, add: false }
    } else {
        let multiplier = double_plus(quotient, rem, d).wrapping_add(1);
        Plan::Unsigned64 { multiplier, shift: k, add: true }
    }
}

fn signed_plan(bits: u32, d: u64) -> Plan {
    let negative = d >> (bits - 1) & 1 == 1;
    let abs = if negative { d.wrapping_neg() & mask(bits) } else { d };
    let k = 63 - abs.leading_zeros();
    if abs.is_power_of_two() {
        return Plan::SignedPowerOfTwo { shift: k, negative };
    }
    // ceil(2^(bits - 1 + k) / |d|) fits `bits` bits as an unsigned value; as a signed one it may
    // wrap negative, and the `add` step supplies the lost top bit (Hacker's Delight 10-1).
    let (quotient, rem) = div_rem_pow2(bits - 1 + k, abs);
    let e = abs - rem;
    let (magnitude, shift, add) = if e < 1 << k {
        (quotient.wrapping_add(1), k - 1, false)
    } else {
        (double_plus(quotient, rem, abs).wrapping_add(1), k, true)
    };
    let magnitude = magnitude & mask(bits);
    let multiplier = if negative { magnitude.wrapping_neg() } else { magnitude };
    Plan::Signed { multiplier: sign_extend(bits, multiplier & mask(bits)), shift, add, negative }
}

/// `2 * quotient`, plus one when twice the remainder reaches `d`: the quotient of `2^(p + 1) / d`
/// from that of `2^p / d`, wrapping at 64 bits.
fn double_plus(quotient: u64, rem: u64, d: u64) -> u64 {
    let twice_rem = rem.wrapping_add(rem);
    let carry = twice_rem >= d || twice_rem < rem;
    quotient.wrapping_add(quotient).wrapping_add(carry as u64)
}

/// `2^p / d` and its remainder, the quotient's low 64 bits (`p` at most 127).
fn div_rem_pow2(p: u32, d: u64) -> (u64, u64) {
    let n = 1u128 << p;
    ((n / d as u128) as u64, (n % d as u128) as u64)
}

/// The operand size in bits.
pub fn size_bits(size: Size) -> u32 {
    match size {
        Size::S32 => 32,
        Size::S64 => 64,
    }
}

fn mask(bits: u32) -> u64 {
    u64::MAX >> (64 - bits)
}

fn truncate(size: Size, value: i64) -> u64 {
    value as u64 & mask(size_bits(size))
}

fn sign_extend(bits: u32, value: u64) -> i64 {
    ((value << (64 - bits)) as i64) >> (64 - bits)
}

#[cfg(test)]
impl Plan {
    /// The quotient this plan computes for the `size`-wide dividend `n` (its low bits): the
    /// arithmetic each variant documents, step by step as the machine code does it.
    pub fn quotient(self, size: Size, n: u64) -> u64 {
        let bits = size_bits(size);
        let n = n & mask(bits);
        let q = match self {
            Plan::One => n,
            Plan::UnsignedPowerOfTwo { shift } => n >> shift,
            Plan::SignedPowerOfTwo { shift, negative } => {
                let n = sign_extend(bits, n);
                let bias = ((n >> (bits - 1)) as u64 & mask(bits)) >> (bits - shift);
                let q = sign_extend(bits, (n as u64).wrapping_add(bias) & mask(bits)) >> shift;
                if negative { q.wrapping_neg() as u64 } else { q as u64 }
            }
            Plan::Unsigned32 { multiplier } => ((n as u128 * multiplier as u128) >> 64) as u64,
            Plan::Unsigned64 { multiplier, shift, add } => {
                let t = ((n as u128 * multiplier as u128) >> 64) as u64;
                if add { ((n - t) >> 1).wrapping_add(t) >> shift } else { t >> shift }
            }
            Plan::Signed { multiplier, shift, add, negative } => {
                let n = sign_extend(bits, n);
                let product = n as i128 * multiplier as i128;
                let mut t = (product >> bits) as u64;
                if add {
                    t = if negative { t.wrapping_sub(n as u64) } else { t.wrapping_add(n as u64) };
                }
                let t = sign_extend(bits, t & mask(bits)) >> shift;
                (t as u64).wrapping_add((t as u64 & mask(bits)) >> (bits - 1))
            }
        };
        q & mask(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dividends near the ends of the range, near multiples of `d` at the top of the range
    /// (where a multiplier one unit short fails first), and pseudo-random ones.
    fn dividends(bits: u32, d: u64, seed: u64) -> Vec<u64> {
        let m = mask(bits);
        let mut ns = vec![0, 1, 2, 3, m, m - 1, m >> 1, (m >> 1) + 1, (m >> 1) - 1, (m >> 1) + 2];
        let d = d.max(1);
        for top in [m / d, (m >> 1) / d, (m >> 1) / d + 1, 1, 2, 1000] {
            let multiple = top.wrapping_mul(d) & m;
            for delta in [0u64, 1, 2, u64::MAX, u64::MAX - 1] {
                ns.push(multiple.wrapping_add(delta) & m);
                ns.push(multiple.wrapping_add(delta).wrapping_neg() & m);
            }
        }
        let mut x = seed | 1;
        for _ in 0..200 {
            // xorshift64: enough spread for dividends; not a statistical claim.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ns.push(x & m);
            ns.push((x >> (x % 61)) & m);
        }
        ns
    }

    fn check(signed: bool, size: Size, d: u64) {
        let bits = size_bits(size);
        let d = d & mask(bits);
        let Some(plan) = plan(signed, size, d as i64) else {
            assert!(d == 0 || (signed && d == mask(bits)), "no plan for {d:#x}");
            return;
        };
        for n in dividends(bits, d, d ^ 0x9e37_79b9_7f4a_7c15) {
            let expected = match (signed, size) {
                (false, Size::S32) => (n as u32 / d as u32) as u64,
                (false, Size::S64) => n / d,
                (true, Size::S32) => (n as i32).wrapping_div(d as i32) as u32 as u64,
                (true, Size::S64) => (n as i64).wrapping_div(d as i64) as u64,
            };
            let got = plan.quotient(size, n);
            assert_eq!(
                got, expected,
                "{n:#x} / {d:#x} (signed: {signed}, {bits} bits) by {plan:?}"
            );
        }
    }

    fn divisors(bits: u32) -> Vec<u64> {
        let m = mask(bits);
        let mut ds: Vec<u64> = (0..=3000u64).collect();
        ds.extend((1..=3000u64).map(|d| d.wrapping_neg() & m));
        for k in 1..bits {
            for delta in [-1i64, 0, 1] {
                let p = (1u64 << k).wrapping_add(delta as u64) & m;
                ds.extend([p, p.wrapping_neg() & m]);
            }
        }
        ds.extend([m, m - 1, m >> 1, (m >> 1) + 1, 641, 6_700_417, 65521, 1_000_000_007]);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ds.push((x >> (x % 64)) & m);
        }
        ds
    }

    #[test]
    fn unsigned_32_bit_quotients_match_division() {
        divisors(32).into_iter().for_each(|d| check(false, Size::S32, d));
    }

    #[test]
    fn unsigned_64_bit_quotients_match_division() {
        divisors(64).into_iter().for_each(|d| check(false, Size::S64, d));
    }

    #[test]
    fn signed_32_bit_quotients_match_division() {
        divisors(32).into_iter().for_each(|d| check(true, Size::S32, d));
    }

    #[test]
    fn signed_64_bit_quotients_match_division() {
        divisors(64).into_iter().for_each(|d| check(true, Size::S64, d));
    }

    /// The plans the common divisors get: what the ISA code has to handle in practice.
    #[test]
    fn common_divisors_get_the_expected_plans() {
        assert_eq!(plan(false, Size::S32, 0), None);
        assert_eq!(plan(true, Size::S32, -1), None);
        assert_eq!(
            plan(false, Size::S32, 0xffff_ffff),
            Some(Plan::Unsigned32 { multiplier: 0x1_0000_0002 })
        );
        assert_eq!(plan(true, Size::S32, 0xffff_ffff), None, "-1 at 32 bits");
        assert_eq!(plan(false, Size::S64, 8), Some(Plan::UnsignedPowerOfTwo { shift: 3 }));
        assert_eq!(
            plan(true, Size::S32, -8),
            Some(Plan::SignedPowerOfTwo { shift: 3, negative: true })
        );
        assert_eq!(
            plan(true, Size::S32, i32::MIN as i64),
            Some(Plan::SignedPowerOfTwo { shift: 31, negative: true })
        );
        // GCC's x86-64 code for `int / 10`: imul by 0x66666667, shift 32 + 2.
        assert_eq!(
            plan(true, Size::S32, 10),
            Some(Plan::Signed { multiplier: 0x6666_6667, shift: 2, add: false, negative: false })
        );
        // ... and for `int / 7`: 0x92492493 (negative as i32), add the dividend, shift 2.
        assert_eq!(
            plan(true, Size::S32, 7),
            Some(Plan::Signed {
                multiplier: 0x9249_2493u32 as i32 as i64,
                shift: 2,
                add: true,
                negative: false
            })
        );
        // ... and for `unsigned long / 7`: multiplier 0x2492492492492493 with the add step.
        assert_eq!(
            plan(false, Size::S64, 7),
            Some(Plan::Unsigned64 { multiplier: 0x2492_4924_9249_2493, shift: 2, add: true })
        );
    }
}
