//! Which aarch64 immediate encodings a value fits, and how to materialize one that fits none.
//!
//! Pure functions over values, so they can be tested without assembling anything. aarch64 has no
//! general immediate: add/sub take 12 bits (optionally shifted by 12), logical operations take
//! "bitmask immediates", moves take 16 bits at a 16-bit aligned position. Anything else is built
//! with a `movz`/`movn` + `movk` sequence in a scratch register.

use crate::isa::masm::{Immediates, IntOp, Size};

/// An add/sub immediate: `imm12`, shifted left by 12 when `shift12`, and subtracted when `negate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddImm {
    pub negate: bool,
    pub imm12: u32,
    pub shift12: bool,
}

/// `value` as an add (or, negated, a sub) immediate, when it fits one.
pub fn add_imm(value: i64) -> Option<AddImm> {
    let (negate, magnitude) =
        if value < 0 { (true, value.unsigned_abs()) } else { (false, value as u64) };
    if magnitude < 1 << 12 {
        Some(AddImm { negate, imm12: magnitude as u32, shift12: false })
    } else if magnitude & 0xfff == 0 && magnitude < 1 << 24 {
        Some(AddImm { negate, imm12: (magnitude >> 12) as u32, shift12: true })
    } else {
        None
    }
}

/// An immediate operand at `size`: the low 32 bits for 32-bit operations (wasm's `i32` constants
/// arrive sign-extended), all 64 otherwise.
pub fn truncate(size: Size, value: i64) -> i64 {
    match size {
        Size::S32 => value as i32 as i64,
        Size::S64 => value,
    }
}

/// Whether `value` is a bitmask immediate for a logical operation at `size`.
pub fn is_logical(size: Size, value: i64) -> bool {
    match size {
        Size::S32 => dynasmrt::aarch64::encode_logical_immediate_32bit(value as u32).is_some(),
        Size::S64 => dynasmrt::aarch64::encode_logical_immediate_64bit(value as u64).is_some(),
    }
}

/// One instruction of a constant materialization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovPart {
    /// `movz rd, imm16, lsl shift`: all other bits zero.
    Movz { imm16: u16, shift: u8 },
    /// `movn rd, imm16, lsl shift`: all other bits one (the register is `!(imm16 << shift)`).
    Movn { imm16: u16, shift: u8 },
    /// `movk rd, imm16, lsl shift`: replaces one halfword, keeps the rest.
    Movk { imm16: u16, shift: u8 },
    /// `orr rd, zr, #value`: a bitmask immediate in one instruction.
    Orr,
}

/// The shortest sequence (of the forms above) that puts `value` into a register at `size`.
pub fn mov_parts(size: Size, value: i64) -> Vec<MovPart> {
    let (value, halves) = match size {
        Size::S32 => (value as u32 as u64, 2),
        Size::S64 => (value as u64, 4),
    };
    let half = |i: u32| ((value >> (16 * i)) & 0xffff) as u16;
    let zeros = (0..halves).filter(|&i| half(i) == 0).count();
    let ones = (0..halves).filter(|&i| half(i) == 0xffff).count();
    let wide = halves as usize - zeros.max(ones);
    if wide > 1 && is_logical(size, value as i64) {
        return vec![MovPart::Orr];
    }
    let mut parts = Vec::new();
    if ones > zeros {
        // Start from all ones, then patch every halfword that is not 0xffff.
        for i in 0..halves {
            let h = half(i);
            if h == 0xffff {
                continue;
            }
            let shift = (16 * i) as u8;
            if parts.is_empty() {
                parts.push(MovPart::Movn { imm16: !h, shift });
            } else {
                parts.push(MovPart::Movk { imm16: h, shift });
            }
        }
        if parts.is_empty() {
            parts.push(MovPart::Movn { imm16: 0, shift: 0 });
        }
    } else {
        for i in 0..halves {
            let h = half(i);
            if h == 0 {
                continue;
            }
            let shift = (16 * i) as u8;
            if parts.is_empty() {
                parts.push(MovPart::Movz { imm16: h, shift });
            } else {
                parts.push(MovPart::Movk { imm16: h, shift });
            }
        }
        if parts.is_empty() {
            parts.push(MovPart::Movz { imm16: 0, shift: 0 });
        }
    }
    parts
}

/// What tier 2's instruction selection may fold or rematerialize on aarch64 (the same encodings
/// the backend picks: add/sub and compares take `add_imm` values, either sign; logical operations
/// bitmask immediates; shifts and rotates any count; multiplication none).
pub struct A64Immediates;

impl Immediates for A64Immediates {
    fn tied(&self, _op: IntOp, _size: Size, _by_register: bool) -> bool {
        false
    }
    fn int_op_takes(&self, op: IntOp, size: Size, imm: i64) -> bool {
        let imm = truncate(size, imm);
        match op {
            IntOp::Add => add_imm(imm).is_some(),
            IntOp::Sub => add_imm(truncate(size, imm.wrapping_neg())).is_some(),
            IntOp::And | IntOp::Or | IntOp::Xor => is_logical(size, imm),
            IntOp::Shl | IntOp::ShrS | IntOp::ShrU | IntOp::Rotl | IntOp::Rotr => true,
            IntOp::Mul => false,
        }
    }
    fn compare_takes(&self, size: Size, imm: i64) -> bool {
        add_imm(truncate(size, imm)).is_some()
    }
    fn one_instruction(&self, size: Size, imm: i64) -> bool {
        mov_parts(size, imm).len() == 1
    }
    fn scaled_sum_takes_displacement(&self) -> bool {
        // A shifted-register `add`, then an `add` of the immediate.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a register holds after `parts` (the semantics of the three move forms).
    fn run(size: Size, value: i64, parts: &[MovPart]) -> u64 {
        let mut reg = 0u64;
        for part in parts {
            reg = match *part {
                MovPart::Movz { imm16, shift } => (imm16 as u64) << shift,
                MovPart::Movn { imm16, shift } => !((imm16 as u64) << shift),
                MovPart::Movk { imm16, shift } => {
                    (reg & !(0xffff << shift)) | ((imm16 as u64) << shift)
                }
                MovPart::Orr => value as u64,
            };
        }
        match size {
            Size::S32 => reg & 0xffff_ffff,
            Size::S64 => reg,
        }
    }

    #[test]
    fn add_immediates_take_twelve_bits_optionally_shifted() {
        assert_eq!(add_imm(4095), Some(AddImm { negate: false, imm12: 4095, shift12: false }));
        assert_eq!(add_imm(-16), Some(AddImm { negate: true, imm12: 16, shift12: false }));
        assert_eq!(add_imm(0x5000), Some(AddImm { negate: false, imm12: 5, shift12: true }));
        assert_eq!(add_imm(4097), None);
        assert_eq!(add_imm(1 << 24), None);
        assert_eq!(add_imm(i64::MIN), None);
    }

    #[test]
    fn moves_pick_the_shortest_form_and_are_exact() {
        let cases: &[(Size, i64, usize)] = &[
            (Size::S32, 0, 1),
            (Size::S32, 7, 1),
            (Size::S32, -1, 1),
            (Size::S32, 0x1234_0000, 1),
            (Size::S32, 0x1234_5678, 2),
            (Size::S32, i32::MIN as i64, 1),
            (Size::S32, 0x00ff_00ff, 1),
            (Size::S64, -2, 1),
            (Size::S64, 0x5555_5555_5555_5555, 1),
            (Size::S64, 0x1234_5678_9abc_def0, 4),
            (Size::S64, -0x1234_5678, 2),
            (Size::S64, i64::MIN, 1),
            (Size::S64, 0xffff_0000_ffff, 1),
            (Size::S64, 0x1234_0000_0001, 2),
        ];
        for &(size, value, len) in cases {
            let parts = mov_parts(size, value);
            let expect = match size {
                Size::S32 => value as u32 as u64,
                Size::S64 => value as u64,
            };
            assert_eq!(run(size, value, &parts), expect, "{size:?} {value:#x}: {parts:?}");
            assert_eq!(parts.len(), len, "{size:?} {value:#x}: {parts:?}");
        }
    }

    #[test]
    fn logical_immediates_follow_the_bitmask_rules() {
        assert!(is_logical(Size::S32, 0xff));
        assert!(is_logical(Size::S64, 0x00ff_00ff_00ff_00ff));
        assert!(!is_logical(Size::S32, 0));
        assert!(!is_logical(Size::S64, -1));
        assert!(!is_logical(Size::S32, 0x1234));
    }

    /// Tier 2 folds exactly the immediates the backend encodes, and rematerializes exactly the
    /// constants one instruction builds.
    #[test]
    fn tier_2_folds_what_the_backend_encodes() {
        let a = A64Immediates;
        assert!(a.int_op_takes(IntOp::Add, Size::S32, 4095));
        assert!(a.int_op_takes(IntOp::Add, Size::S32, 4096 * 3));
        assert!(!a.int_op_takes(IntOp::Add, Size::S32, 4097));
        assert!(a.int_op_takes(IntOp::Sub, Size::S64, -5));
        assert!(a.int_op_takes(IntOp::Add, Size::S32, -1));
        assert!(a.int_op_takes(IntOp::And, Size::S32, 0xff));
        assert!(!a.int_op_takes(IntOp::And, Size::S32, 0x1234));
        assert!(a.int_op_takes(IntOp::Shl, Size::S64, 63));
        assert!(!a.int_op_takes(IntOp::Mul, Size::S32, 2));
        assert!(a.compare_takes(Size::S32, -100));
        assert!(!a.compare_takes(Size::S64, 0x12345));
        assert!(a.one_instruction(Size::S32, 0xffff));
        assert!(a.one_instruction(Size::S64, -1));
        assert!(a.one_instruction(Size::S64, 0xff00ff00ff00ff00_u64 as i64));
        assert!(!a.one_instruction(Size::S32, 0x9e37_79b9_u32 as i32 as i64));
    }
}
