//! Which aarch64 immediate encodings a value fits, and how to materialize one that fits none.
//!
//! Pure functions over values, so they can be tested without assembling anything. aarch64 has no
//! general immediate: add/sub take 12 bits (optionally shifted by 12), logical operations take
//! "bitmask immediates", moves take 16 bits at a 16-bit aligned position. Anything else is built
//! with a `movz`/`movn` + `movk` sequence in a scratch register.

use crate::isa::masm::Size;

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
}
