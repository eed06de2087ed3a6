//! Instruction helpers below the `MacroAssembler` methods: immediates that fit no encoding,
//! addressing modes with large offsets, condition codes, and branches that may be far.

use super::imm::{self, MovPart};
use super::{Aarch64Masm, CTX, SCRATCH0, SCRATCH1};
use crate::isa::masm::{Cond, Size};
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi};

/// The condition codes this backend branches and sets on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cc {
    Eq,
    Ne,
    Hs,
    Lo,
    Hi,
    Ls,
    Ge,
    Lt,
    Gt,
    Le,
    Vs,
    Vc,
}

impl Cc {
    pub(super) fn of(cond: Cond) -> Cc {
        match cond {
            Cond::Eq => Cc::Eq,
            Cond::Ne => Cc::Ne,
            Cond::LtS => Cc::Lt,
            Cond::LtU => Cc::Lo,
            Cond::GtS => Cc::Gt,
            Cond::GtU => Cc::Hi,
            Cond::LeS => Cc::Le,
            Cond::LeU => Cc::Ls,
            Cond::GeS => Cc::Ge,
            Cond::GeU => Cc::Hs,
        }
    }

    fn invert(self) -> Cc {
        match self {
            Cc::Eq => Cc::Ne,
            Cc::Ne => Cc::Eq,
            Cc::Hs => Cc::Lo,
            Cc::Lo => Cc::Hs,
            Cc::Hi => Cc::Ls,
            Cc::Ls => Cc::Hi,
            Cc::Ge => Cc::Lt,
            Cc::Lt => Cc::Ge,
            Cc::Gt => Cc::Le,
            Cc::Le => Cc::Gt,
            Cc::Vs => Cc::Vc,
            Cc::Vc => Cc::Vs,
        }
    }
}

impl Aarch64Masm {
    /// `rd = value` at `size`, in as few instructions as the encodings allow.
    pub(super) fn mov_imm(&mut self, size: Size, rd: u8, value: i64) {
        for part in imm::mov_parts(size, value) {
            match (size, part) {
                (Size::S32, MovPart::Movz { imm16, shift }) => {
                    a64!(self.ops ; movz W(rd), imm16 as u32, lsl shift as u32)
                }
                (Size::S64, MovPart::Movz { imm16, shift }) => {
                    a64!(self.ops ; movz X(rd), imm16 as u32, lsl shift as u32)
                }
                (Size::S32, MovPart::Movn { imm16, shift }) => {
                    a64!(self.ops ; movn W(rd), imm16 as u32, lsl shift as u32)
                }
                (Size::S64, MovPart::Movn { imm16, shift }) => {
                    a64!(self.ops ; movn X(rd), imm16 as u32, lsl shift as u32)
                }
                (Size::S32, MovPart::Movk { imm16, shift }) => {
                    a64!(self.ops ; movk W(rd), imm16 as u32, lsl shift as u32)
                }
                (Size::S64, MovPart::Movk { imm16, shift }) => {
                    a64!(self.ops ; movk X(rd), imm16 as u32, lsl shift as u32)
                }
                (Size::S32, MovPart::Orr) => a64!(self.ops ; orr WSP(rd), wzr, value as u32),
                (Size::S64, MovPart::Orr) => a64!(self.ops ; orr XSP(rd), xzr, value as u64),
            }
        }
    }

    /// The scratch register that is not `avoid`.
    fn other_scratch(avoid: u8) -> u8 {
        if avoid == SCRATCH0 { SCRATCH1 } else { SCRATCH0 }
    }

    /// `rd = rn + value` at `size`; a value that fits no add/sub immediate goes through the
    /// scratch register that is not `rn`.
    pub(super) fn add_imm(&mut self, size: Size, rd: u8, rn: u8, value: i64) {
        let value = imm::truncate(size, value);
        match (imm::add_imm(value), size) {
            (Some(i), _) if i.imm12 == 0 && rd == rn => {}
            (Some(i), Size::S32) => match (i.negate, i.shift12) {
                (false, false) => a64!(self.ops ; add WSP(rd), WSP(rn), i.imm12),
                (false, true) => a64!(self.ops ; add WSP(rd), WSP(rn), i.imm12, lsl 12),
                (true, false) => a64!(self.ops ; sub WSP(rd), WSP(rn), i.imm12),
                (true, true) => a64!(self.ops ; sub WSP(rd), WSP(rn), i.imm12, lsl 12),
            },
            (Some(i), Size::S64) => match (i.negate, i.shift12) {
                (false, false) => a64!(self.ops ; add XSP(rd), XSP(rn), i.imm12),
                (false, true) => a64!(self.ops ; add XSP(rd), XSP(rn), i.imm12, lsl 12),
                (true, false) => a64!(self.ops ; sub XSP(rd), XSP(rn), i.imm12),
                (true, true) => a64!(self.ops ; sub XSP(rd), XSP(rn), i.imm12, lsl 12),
            },
            (None, size) => {
                let tmp = Self::other_scratch(rn);
                self.mov_imm(size, tmp, value);
                match size {
                    Size::S32 => a64!(self.ops ; add W(rd), W(rn), W(tmp)),
                    Size::S64 => a64!(self.ops ; add X(rd), X(rn), X(tmp)),
                }
            }
        }
    }

    /// Sets the flags for `rn - value` at `size`.
    pub(super) fn cmp_imm(&mut self, size: Size, rn: u8, value: i64) {
        let value = imm::truncate(size, value);
        match (imm::add_imm(value), size) {
            (Some(i), Size::S32) => match (i.negate, i.shift12) {
                (false, false) => a64!(self.ops ; cmp WSP(rn), i.imm12),
                (false, true) => a64!(self.ops ; cmp WSP(rn), i.imm12, lsl 12),
                (true, false) => a64!(self.ops ; cmn WSP(rn), i.imm12),
                (true, true) => a64!(self.ops ; cmn WSP(rn), i.imm12, lsl 12),
            },
            (Some(i), Size::S64) => match (i.negate, i.shift12) {
                (false, false) => a64!(self.ops ; cmp XSP(rn), i.imm12),
                (false, true) => a64!(self.ops ; cmp XSP(rn), i.imm12, lsl 12),
                (true, false) => a64!(self.ops ; cmn XSP(rn), i.imm12),
                (true, true) => a64!(self.ops ; cmn XSP(rn), i.imm12, lsl 12),
            },
            (None, size) => {
                let tmp = Self::other_scratch(rn);
                self.mov_imm(size, tmp, value);
                match size {
                    Size::S32 => a64!(self.ops ; cmp W(rn), W(tmp)),
                    Size::S64 => a64!(self.ops ; cmp X(rn), X(tmp)),
                }
            }
        }
    }

    /// A base register and offset for an access of `1 << scale` bytes at `base + offset`: the
    /// offset itself when the scaled 12-bit field holds it, else `SCRATCH1 = base + offset`, 0.
    pub(super) fn address(&mut self, base: u8, offset: u32, scale: u32) -> (u8, u32) {
        if offset.is_multiple_of(1 << scale) && offset >> scale < 1 << 12 {
            return (base, offset);
        }
        self.mov_imm(Size::S64, SCRATCH1, offset as i64);
        a64!(self.ops ; add X(SCRATCH1), X(base), X(SCRATCH1));
        (SCRATCH1, 0)
    }

    /// `rd = *(u64 *)(ctx + offset)` for a field of the context.
    pub(super) fn load_ctx(&mut self, rd: u8, offset: u32) {
        let (base, offset) = self.address(CTX, offset, 3);
        a64!(self.ops ; ldr X(rd), [XSP(base), offset]);
    }

    /// `rd = cc ? 1 : 0`.
    pub(super) fn cset(&mut self, cc: Cc, rd: u8) {
        match cc {
            Cc::Eq => a64!(self.ops ; cset W(rd), eq),
            Cc::Ne => a64!(self.ops ; cset W(rd), ne),
            Cc::Hs => a64!(self.ops ; cset W(rd), hs),
            Cc::Lo => a64!(self.ops ; cset W(rd), lo),
            Cc::Hi => a64!(self.ops ; cset W(rd), hi),
            Cc::Ls => a64!(self.ops ; cset W(rd), ls),
            Cc::Ge => a64!(self.ops ; cset W(rd), ge),
            Cc::Lt => a64!(self.ops ; cset W(rd), lt),
            Cc::Gt => a64!(self.ops ; cset W(rd), gt),
            Cc::Le => a64!(self.ops ; cset W(rd), le),
            Cc::Vs => a64!(self.ops ; cset W(rd), vs),
            Cc::Vc => a64!(self.ops ; cset W(rd), vc),
        }
    }

    /// `rd = cc ? rd : rm` at `size`.
    pub(super) fn csel(&mut self, size: Size, rd: u8, rm: u8, cc: Cc) {
        match (size, cc) {
            (Size::S32, Cc::Eq) => a64!(self.ops ; csel W(rd), W(rd), W(rm), eq),
            (Size::S32, Cc::Ne) => a64!(self.ops ; csel W(rd), W(rd), W(rm), ne),
            (Size::S32, Cc::Hs) => a64!(self.ops ; csel W(rd), W(rd), W(rm), hs),
            (Size::S32, Cc::Lo) => a64!(self.ops ; csel W(rd), W(rd), W(rm), lo),
            (Size::S32, Cc::Hi) => a64!(self.ops ; csel W(rd), W(rd), W(rm), hi),
            (Size::S32, Cc::Ls) => a64!(self.ops ; csel W(rd), W(rd), W(rm), ls),
            (Size::S32, Cc::Ge) => a64!(self.ops ; csel W(rd), W(rd), W(rm), ge),
            (Size::S32, Cc::Lt) => a64!(self.ops ; csel W(rd), W(rd), W(rm), lt),
            (Size::S32, Cc::Gt) => a64!(self.ops ; csel W(rd), W(rd), W(rm), gt),
            (Size::S32, Cc::Le) => a64!(self.ops ; csel W(rd), W(rd), W(rm), le),
            (Size::S32, Cc::Vs) => a64!(self.ops ; csel W(rd), W(rd), W(rm), vs),
            (Size::S32, Cc::Vc) => a64!(self.ops ; csel W(rd), W(rd), W(rm), vc),
            (Size::S64, Cc::Eq) => a64!(self.ops ; csel X(rd), X(rd), X(rm), eq),
            (Size::S64, Cc::Ne) => a64!(self.ops ; csel X(rd), X(rd), X(rm), ne),
            (Size::S64, Cc::Hs) => a64!(self.ops ; csel X(rd), X(rd), X(rm), hs),
            (Size::S64, Cc::Lo) => a64!(self.ops ; csel X(rd), X(rd), X(rm), lo),
            (Size::S64, Cc::Hi) => a64!(self.ops ; csel X(rd), X(rd), X(rm), hi),
            (Size::S64, Cc::Ls) => a64!(self.ops ; csel X(rd), X(rd), X(rm), ls),
            (Size::S64, Cc::Ge) => a64!(self.ops ; csel X(rd), X(rd), X(rm), ge),
            (Size::S64, Cc::Lt) => a64!(self.ops ; csel X(rd), X(rd), X(rm), lt),
            (Size::S64, Cc::Gt) => a64!(self.ops ; csel X(rd), X(rd), X(rm), gt),
            (Size::S64, Cc::Le) => a64!(self.ops ; csel X(rd), X(rd), X(rm), le),
            (Size::S64, Cc::Vs) => a64!(self.ops ; csel X(rd), X(rd), X(rm), vs),
            (Size::S64, Cc::Vc) => a64!(self.ops ; csel X(rd), X(rd), X(rm), vc),
        }
    }

    /// `rd = cc ? rd : rm` on float registers (all 64 bits: an `f32` is the low half).
    pub(super) fn fcsel(&mut self, rd: u8, rm: u8, cc: Cc) {
        match cc {
            Cc::Eq => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), eq),
            Cc::Ne => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), ne),
            Cc::Hs => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), hs),
            Cc::Lo => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), lo),
            Cc::Hi => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), hi),
            Cc::Ls => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), ls),
            Cc::Ge => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), ge),
            Cc::Lt => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), lt),
            Cc::Gt => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), gt),
            Cc::Le => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), le),
            Cc::Vs => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), vs),
            Cc::Vc => a64!(self.ops ; fcsel D(rd), D(rd), D(rm), vc),
        }
    }

    /// `b.cc target`. Conditional branches reach +-1 MiB; with far branches on (see
    /// [`Aarch64Masm::far`]) the inverse condition skips an unconditional `b`, which reaches
    /// +-128 MiB.
    pub(super) fn b_cc(&mut self, cc: Cc, target: DynamicLabel) {
        if self.far {
            let skip = self.ops.new_dynamic_label();
            self.b_cc_near(cc.invert(), skip);
            a64!(self.ops ; b =>target ; =>skip);
        } else {
            self.b_cc_near(cc, target);
        }
    }

    fn b_cc_near(&mut self, cc: Cc, target: DynamicLabel) {
        match cc {
            Cc::Eq => a64!(self.ops ; b.eq =>target),
            Cc::Ne => a64!(self.ops ; b.ne =>target),
            Cc::Hs => a64!(self.ops ; b.hs =>target),
            Cc::Lo => a64!(self.ops ; b.lo =>target),
            Cc::Hi => a64!(self.ops ; b.hi =>target),
            Cc::Ls => a64!(self.ops ; b.ls =>target),
            Cc::Ge => a64!(self.ops ; b.ge =>target),
            Cc::Lt => a64!(self.ops ; b.lt =>target),
            Cc::Gt => a64!(self.ops ; b.gt =>target),
            Cc::Le => a64!(self.ops ; b.le =>target),
            Cc::Vs => a64!(self.ops ; b.vs =>target),
            Cc::Vc => a64!(self.ops ; b.vc =>target),
        }
    }

    /// Branches to `target` when bit `bit` of `reg` is zero, or one when `nonzero`. `tbz` reaches
    /// only +-32 KiB: a function where one is out of reach fails to assemble and is assembled
    /// again with far branches (`far`), which branch over a `b` instead.
    pub(super) fn tbz(&mut self, reg: u8, bit: u32, nonzero: bool, target: DynamicLabel) {
        let (nonzero, target, far) = self.short_branch(nonzero, target);
        match (bit < 32, nonzero) {
            (true, false) => a64!(self.ops ; tbz W(reg), bit, =>target),
            (true, true) => a64!(self.ops ; tbnz W(reg), bit, =>target),
            (false, false) => a64!(self.ops ; tbz X(reg), bit, =>target),
            (false, true) => a64!(self.ops ; tbnz X(reg), bit, =>target),
        }
        self.far_tail(far);
    }

    /// How to emit a short-reach conditional branch (`cbz`, `tbz`) to `target`, taken when
    /// `taken`: as asked when branches are near; when they are far, with the condition inverted
    /// to skip a `b` to `target`, which [`Self::far_tail`] emits after it. Returns the condition,
    /// the label to branch to and what `far_tail` needs.
    fn short_branch(
        &mut self,
        taken: bool,
        target: DynamicLabel,
    ) -> (bool, DynamicLabel, Option<(DynamicLabel, DynamicLabel)>) {
        if self.far {
            let skip = self.ops.new_dynamic_label();
            (!taken, skip, Some((skip, target)))
        } else {
            (taken, target, None)
        }
    }

    /// The `b` a far short-reach branch skips (see [`Self::short_branch`]).
    fn far_tail(&mut self, far: Option<(DynamicLabel, DynamicLabel)>) {
        if let Some((skip, far_target)) = far {
            a64!(self.ops ; b =>far_target ; =>skip);
        }
    }

    /// Branches to `target` when `reg` (at `size`) is zero, or non-zero when `nonzero`.
    pub(super) fn cbz(&mut self, size: Size, reg: u8, nonzero: bool, target: DynamicLabel) {
        let (nonzero, target, far) = self.short_branch(nonzero, target);
        match (size, nonzero) {
            (Size::S32, false) => a64!(self.ops ; cbz W(reg), =>target),
            (Size::S32, true) => a64!(self.ops ; cbnz W(reg), =>target),
            (Size::S64, false) => a64!(self.ops ; cbz X(reg), =>target),
            (Size::S64, true) => a64!(self.ops ; cbnz X(reg), =>target),
        }
        self.far_tail(far);
    }
}
