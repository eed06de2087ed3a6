//! The aarch64 `MacroAssembler`: the only place that knows A64 encodings (through `dynasm!`).
//!
//! Register roles (AAPCS64 for the entry and for calls out):
//! - on entry `x0` is the [`JitCtx`](crate::jit::JitCtx) pointer and `x1` the frame pointer;
//!   the prologue moves them to `x19` (ctx) and `x20` (fp), callee-saved, so they stay pinned
//!   across the runtime helpers this code calls (`blr` through `JitCtx::call` and friends, with
//!   the arguments in `x0`-`x3` and the status back in `w0`);
//! - `x16`, `x17` (IP0/IP1): scratch for this backend only: materialized immediates, effective
//!   addresses, helper addresses; `v31`: scratch for `popcnt` (NEON `cnt` + `addv`);
//! - `x9`-`x15`, `x21`-`x28`: allocatable (caller-saved first);
//! - `x29` (frame record), `x30` (link register) and `x19`-`x28` are saved by the prologue;
//!   `x18`, the platform register, is never touched.
//!
//! As on x64, 32-bit results are written through `w` registers, which zero the upper half, so an
//! `i32` in a register always has its upper 32 bits clear. aarch64 immediates are narrow: every
//! operation falls back to materializing its constant in a scratch register (`imm.rs` decides).
//! `sdiv`/`udiv` never fault, so the zero divisor and `MIN / -1` traps are explicit checks.

// `dynasm!` converts dynamic register operands with `.into()`, which clippy flags as useless when
// the operand is already a `u8`; the expansion is not ours to change.
#![allow(clippy::useless_conversion)]

/// `dynasm!` for this architecture (defined before the submodules, which use it too).
macro_rules! a64 {
    ($ops:expr; $($t:tt)*) => {
        ::dynasmrt::dynasm!($ops ; .arch aarch64 ; $($t)*)
    };
}

mod asm;
mod imm;
#[cfg(test)]
pub(super) mod tests;

use crate::jit::masm::{
    AsmError, Cond, DivOp, IntOp, LoadKind, MacroAssembler, Reg, RegImm, Size, StoreKind, UnaryOp,
};
use crate::jit::{JitCtx, trap_status};
use crate::vm::TrapCode;
use asm::Cc;
use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

/// The pinned context pointer.
const CTX: u8 = 19;
/// The pinned frame pointer (the interpreter's frame, not `x29`).
const FP: u8 = 20;
/// Scratch registers (IP0, IP1).
const SCRATCH0: u8 = 16;
const SCRATCH1: u8 = 17;

/// Allocatable registers, caller-saved first.
const ALLOCATABLE: [Reg; 15] = [
    Reg(9),
    Reg(10),
    Reg(11),
    Reg(12),
    Reg(13),
    Reg(14),
    Reg(15),
    Reg(21),
    Reg(22),
    Reg(23),
    Reg(24),
    Reg(25),
    Reg(26),
    Reg(27),
    Reg(28),
];

const CTX_MEM_BASE: u32 = std::mem::offset_of!(JitCtx, mem_base) as u32;
const CTX_MEM_LEN: u32 = std::mem::offset_of!(JitCtx, mem_len) as u32;
const CTX_GLOBALS: u32 = std::mem::offset_of!(JitCtx, globals) as u32;
const CTX_CALL: u32 = std::mem::offset_of!(JitCtx, call) as u32;
const CTX_CALL_INDIRECT: u32 = std::mem::offset_of!(JitCtx, call_indirect) as u32;
const CTX_MEMORY_GROW: u32 = std::mem::offset_of!(JitCtx, memory_grow) as u32;

/// Bytes of the prologue's save area: the frame record and `x19`-`x28`, 16-byte aligned.
const SAVE_AREA: u32 = 96;

/// Assembles one function for aarch64.
pub struct Aarch64Masm {
    ops: VecAssembler<Aarch64Relocation>,
    epilogue: DynamicLabel,
    traps: Vec<(TrapCode, DynamicLabel)>,
    /// Conditional branches as an inverted branch over a `b`, for functions whose code outgrows
    /// the +-1 MiB reach of `b.cond`/`cbz` (see [`super::compile_for`]).
    far: bool,
}

impl Default for Aarch64Masm {
    fn default() -> Self {
        Aarch64Masm::new(false)
    }
}

impl Aarch64Masm {
    /// An assembler whose conditional branches reach +-1 MiB, or +-128 MiB when `far`.
    pub fn new(far: bool) -> Self {
        let mut ops = VecAssembler::new(0);
        let epilogue = ops.new_dynamic_label();
        Aarch64Masm { ops, epilogue, traps: Vec::new(), far }
    }

    /// `dst = lhs op rhs` with the right operand in a register.
    fn int_op_reg(&mut self, op: IntOp, size: Size, d: u8, l: u8, r: u8) {
        match (op, size) {
            (IntOp::Add, Size::S32) => a64!(self.ops ; add W(d), W(l), W(r)),
            (IntOp::Add, Size::S64) => a64!(self.ops ; add X(d), X(l), X(r)),
            (IntOp::Sub, Size::S32) => a64!(self.ops ; sub W(d), W(l), W(r)),
            (IntOp::Sub, Size::S64) => a64!(self.ops ; sub X(d), X(l), X(r)),
            (IntOp::Mul, Size::S32) => a64!(self.ops ; mul W(d), W(l), W(r)),
            (IntOp::Mul, Size::S64) => a64!(self.ops ; mul X(d), X(l), X(r)),
            (IntOp::And, Size::S32) => a64!(self.ops ; and W(d), W(l), W(r)),
            (IntOp::And, Size::S64) => a64!(self.ops ; and X(d), X(l), X(r)),
            (IntOp::Or, Size::S32) => a64!(self.ops ; orr W(d), W(l), W(r)),
            (IntOp::Or, Size::S64) => a64!(self.ops ; orr X(d), X(l), X(r)),
            (IntOp::Xor, Size::S32) => a64!(self.ops ; eor W(d), W(l), W(r)),
            (IntOp::Xor, Size::S64) => a64!(self.ops ; eor X(d), X(l), X(r)),
            // The variable shifts take the count modulo the width, as wasm requires.
            (IntOp::Shl, Size::S32) => a64!(self.ops ; lsl W(d), W(l), W(r)),
            (IntOp::Shl, Size::S64) => a64!(self.ops ; lsl X(d), X(l), X(r)),
            (IntOp::ShrS, Size::S32) => a64!(self.ops ; asr W(d), W(l), W(r)),
            (IntOp::ShrS, Size::S64) => a64!(self.ops ; asr X(d), X(l), X(r)),
            (IntOp::ShrU, Size::S32) => a64!(self.ops ; lsr W(d), W(l), W(r)),
            (IntOp::ShrU, Size::S64) => a64!(self.ops ; lsr X(d), X(l), X(r)),
            (IntOp::Rotr, Size::S32) => a64!(self.ops ; ror W(d), W(l), W(r)),
            (IntOp::Rotr, Size::S64) => a64!(self.ops ; ror X(d), X(l), X(r)),
            // There is no rotate left: rotating right by `-n` is the same modulo the width.
            (IntOp::Rotl, Size::S32) => {
                a64!(self.ops ; neg w16, W(r) ; ror W(d), W(l), w16)
            }
            (IntOp::Rotl, Size::S64) => {
                a64!(self.ops ; neg x16, X(r) ; ror X(d), X(l), x16)
            }
        }
    }

    /// `dst = lhs op imm` for the operations that have an immediate form the value fits;
    /// false (nothing emitted) otherwise.
    fn int_op_imm(&mut self, op: IntOp, size: Size, d: u8, l: u8, imm: i64) -> bool {
        let bits = match size {
            Size::S32 => 32,
            Size::S64 => 64,
        };
        let count = (imm as u32) & (bits - 1);
        match op {
            IntOp::Add | IntOp::Sub => {
                let imm = imm::truncate(size, imm);
                let value =
                    imm::truncate(size, if op == IntOp::Add { imm } else { imm.wrapping_neg() });
                if imm::add_imm(value).is_none() {
                    return false;
                }
                if value == 0 {
                    self.mov(size, Reg(d), RegImm::Reg(Reg(l)));
                } else {
                    self.add_imm(size, d, l, value);
                }
                true
            }
            IntOp::And | IntOp::Or | IntOp::Xor if imm::is_logical(size, imm) => {
                match (op, size) {
                    (IntOp::And, Size::S32) => a64!(self.ops ; and WSP(d), W(l), imm as u32),
                    (IntOp::And, Size::S64) => a64!(self.ops ; and XSP(d), X(l), imm as u64),
                    (IntOp::Or, Size::S32) => a64!(self.ops ; orr WSP(d), W(l), imm as u32),
                    (IntOp::Or, Size::S64) => a64!(self.ops ; orr XSP(d), X(l), imm as u64),
                    (IntOp::Xor, Size::S32) => a64!(self.ops ; eor WSP(d), W(l), imm as u32),
                    (IntOp::Xor, Size::S64) => a64!(self.ops ; eor XSP(d), X(l), imm as u64),
                    _ => unreachable!("only logical operations reach here"),
                }
                true
            }
            IntOp::Shl | IntOp::ShrS | IntOp::ShrU | IntOp::Rotl | IntOp::Rotr => {
                if count == 0 {
                    self.mov(size, Reg(d), RegImm::Reg(Reg(l)));
                    return true;
                }
                match (op, size) {
                    (IntOp::Shl, Size::S32) => a64!(self.ops ; lsl W(d), W(l), count),
                    (IntOp::Shl, Size::S64) => a64!(self.ops ; lsl X(d), X(l), count),
                    (IntOp::ShrS, Size::S32) => a64!(self.ops ; asr W(d), W(l), count),
                    (IntOp::ShrS, Size::S64) => a64!(self.ops ; asr X(d), X(l), count),
                    (IntOp::ShrU, Size::S32) => a64!(self.ops ; lsr W(d), W(l), count),
                    (IntOp::ShrU, Size::S64) => a64!(self.ops ; lsr X(d), X(l), count),
                    (IntOp::Rotr, Size::S32) => a64!(self.ops ; ror W(d), W(l), count),
                    (IntOp::Rotr, Size::S64) => a64!(self.ops ; ror X(d), X(l), count),
                    (IntOp::Rotl, Size::S32) => a64!(self.ops ; ror W(d), W(l), bits - count),
                    (IntOp::Rotl, Size::S64) => a64!(self.ops ; ror X(d), X(l), bits - count),
                    _ => unreachable!("only shifts and rotates reach here"),
                }
                true
            }
            _ => false,
        }
    }

    /// Sets the flags for `lhs - rhs` at `size`.
    fn cmp(&mut self, size: Size, lhs: Reg, rhs: RegImm) {
        let l = lhs.0;
        match (rhs, size) {
            (RegImm::Reg(r), Size::S32) => a64!(self.ops ; cmp W(l), W(r.0)),
            (RegImm::Reg(r), Size::S64) => a64!(self.ops ; cmp X(l), X(r.0)),
            (RegImm::Imm(imm), size) => self.cmp_imm(size, l, imm),
        }
    }

    /// `x16 = zero-extended addr + offset + bytes`, trapping unless `x16 <= memory length`;
    /// then `x16 = memory base + x16`, so the access is at `[x16, #-bytes]`.
    fn effective_address(&mut self, addr: Reg, offset: u32, bytes: u32) {
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        a64!(self.ops ; mov w16, W(addr.0));
        self.add_imm(Size::S64, SCRATCH0, SCRATCH0, offset as i64 + bytes as i64);
        self.load_ctx(SCRATCH1, CTX_MEM_LEN);
        a64!(self.ops ; cmp x16, x17);
        self.b_cc(Cc::Hi, oob);
        self.load_ctx(SCRATCH1, CTX_MEM_BASE);
        a64!(self.ops ; add x16, x17, x16);
    }

    /// `x16 = &globals[index]` (the cell's address).
    fn global_address(&mut self, index: u32) {
        self.load_ctx(SCRATCH0, CTX_GLOBALS);
        let (base, at) = self.address(SCRATCH0, index * 8, 3);
        a64!(self.ops ; ldr x16, [XSP(base), at]);
    }

    /// Calls the helper at context offset `field` with `x0` = ctx (the other arguments are in
    /// place), leaving its status in `w0`.
    fn call_helper(&mut self, field: u32) {
        self.load_ctx(SCRATCH0, field);
        a64!(self.ops ; mov x0, x19 ; blr x16);
    }
}

impl MacroAssembler for Aarch64Masm {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        a64!(self.ops ; =>label);
    }

    fn allocatable(&self) -> &'static [Reg] {
        &ALLOCATABLE
    }

    fn has_unary(&self, _op: UnaryOp) -> bool {
        // Advanced SIMD (for `popcnt`) is part of every AArch64 Linux system.
        true
    }

    fn prologue(&mut self) {
        a64!(self.ops
            ; stp x29, x30, [sp, -(SAVE_AREA as i32)]!
            ; mov x29, sp
            ; stp x19, x20, [sp, 16]
            ; stp x21, x22, [sp, 32]
            ; stp x23, x24, [sp, 48]
            ; stp x25, x26, [sp, 64]
            ; stp x27, x28, [sp, 80]
            ; mov x19, x0
            ; mov x20, x1
        );
    }

    fn ret(&mut self) {
        let epilogue = self.epilogue;
        a64!(self.ops ; mov w0, wzr ; b =>epilogue);
    }

    fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        if let Some((_, label)) = self.traps.iter().find(|(c, _)| *c == code) {
            return *label;
        }
        let label = self.ops.new_dynamic_label();
        self.traps.push((code, label));
        label
    }

    fn load_slot(&mut self, size: Size, dst: Reg, slot: u32) {
        let d = dst.0;
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; ldr W(d), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; ldr X(d), [XSP(base), off]);
            }
        }
    }

    fn store_slot(&mut self, size: Size, src: Reg, slot: u32) {
        let s = src.0;
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; str W(s), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; str X(s), [XSP(base), off]);
            }
        }
    }

    fn store_slot_imm(&mut self, size: Size, imm: i64, slot: u32) {
        // The zero register needs no materialization.
        let src = if imm::truncate(size, imm) == 0 {
            31
        } else {
            self.mov_imm(size, SCRATCH0, imm);
            SCRATCH0
        };
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; str W(src), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; str X(src), [XSP(base), off]);
            }
        }
    }

    fn copy_slot(&mut self, dst: u32, src: u32) {
        let (base, off) = self.address(FP, src, 4);
        a64!(self.ops ; ldr q31, [XSP(base), off]);
        let (base, off) = self.address(FP, dst, 4);
        a64!(self.ops ; str q31, [XSP(base), off]);
    }

    fn mov(&mut self, size: Size, dst: Reg, src: RegImm) {
        let d = dst.0;
        match (src, size) {
            (RegImm::Reg(s), _) if s == dst => {}
            (RegImm::Reg(s), Size::S32) => a64!(self.ops ; mov W(d), W(s.0)),
            (RegImm::Reg(s), Size::S64) => a64!(self.ops ; mov X(d), X(s.0)),
            (RegImm::Imm(imm), size) => self.mov_imm(size, d, imm),
        }
    }

    fn int_op(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        let r = match rhs {
            RegImm::Reg(r) => r.0,
            RegImm::Imm(imm) => {
                if self.int_op_imm(op, size, dst.0, lhs.0, imm) {
                    return;
                }
                self.mov_imm(size, SCRATCH0, imm);
                SCRATCH0
            }
        };
        self.int_op_reg(op, size, dst.0, lhs.0, r);
    }

    fn div(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, rhs: Reg) {
        let by_zero = self.trap_label(TrapCode::IntegerDivideByZero);
        let (d, l, r) = (dst.0, lhs.0, rhs.0);
        // aarch64 division never faults: `x / 0` is 0 and `MIN / -1` is MIN, so wasm's traps are
        // explicit. `MIN % -1` needs no check: `MIN - (MIN / -1) * -1` wraps to 0, as wasm says.
        self.cbz(size, r, false, by_zero);
        if op == DivOp::DivS {
            let overflow = self.trap_label(TrapCode::IntegerOverflow);
            // V is set when `rhs == -1` and `lhs - 1` overflows, i.e. `lhs == MIN`.
            match size {
                Size::S32 => a64!(self.ops ; cmn WSP(r), 1 ; ccmp W(l), 1, 0, eq),
                Size::S64 => a64!(self.ops ; cmn XSP(r), 1 ; ccmp X(l), 1, 0, eq),
            }
            self.b_cc(Cc::Vs, overflow);
        }
        match (op, size) {
            (DivOp::DivS, Size::S32) => a64!(self.ops ; sdiv W(d), W(l), W(r)),
            (DivOp::DivS, Size::S64) => a64!(self.ops ; sdiv X(d), X(l), X(r)),
            (DivOp::DivU, Size::S32) => a64!(self.ops ; udiv W(d), W(l), W(r)),
            (DivOp::DivU, Size::S64) => a64!(self.ops ; udiv X(d), X(l), X(r)),
            (DivOp::RemS, Size::S32) => {
                a64!(self.ops ; sdiv w16, W(l), W(r) ; msub W(d), w16, W(r), W(l))
            }
            (DivOp::RemS, Size::S64) => {
                a64!(self.ops ; sdiv x16, X(l), X(r) ; msub X(d), x16, X(r), X(l))
            }
            (DivOp::RemU, Size::S32) => {
                a64!(self.ops ; udiv w16, W(l), W(r) ; msub W(d), w16, W(r), W(l))
            }
            (DivOp::RemU, Size::S64) => {
                a64!(self.ops ; udiv x16, X(l), X(r) ; msub X(d), x16, X(r), X(l))
            }
        }
    }

    fn unary(&mut self, op: UnaryOp, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.0, src.0);
        match (op, size) {
            (UnaryOp::Clz, Size::S32) => a64!(self.ops ; clz W(d), W(s)),
            (UnaryOp::Clz, Size::S64) => a64!(self.ops ; clz X(d), X(s)),
            // Trailing zeros are the leading zeros of the bit-reversed value.
            (UnaryOp::Ctz, Size::S32) => a64!(self.ops ; rbit w16, W(s) ; clz W(d), w16),
            (UnaryOp::Ctz, Size::S64) => a64!(self.ops ; rbit x16, X(s) ; clz X(d), x16),
            // Per-byte counts in the vector unit, summed across the lanes.
            (UnaryOp::Popcnt, Size::S32) => a64!(self.ops
                ; fmov s31, W(s) ; cnt v31.b8, v31.b8 ; addv b31, v31.b8 ; fmov W(d), s31),
            (UnaryOp::Popcnt, Size::S64) => a64!(self.ops
                ; fmov d31, X(s) ; cnt v31.b8, v31.b8 ; addv b31, v31.b8 ; fmov W(d), s31),
            (UnaryOp::Eqz, Size::S32) => a64!(self.ops ; cmp WSP(s), 0 ; cset W(d), eq),
            (UnaryOp::Eqz, Size::S64) => a64!(self.ops ; cmp XSP(s), 0 ; cset W(d), eq),
            (UnaryOp::Extend8S, Size::S32) => a64!(self.ops ; sxtb W(d), W(s)),
            (UnaryOp::Extend8S, Size::S64) => a64!(self.ops ; sxtb X(d), W(s)),
            (UnaryOp::Extend16S, Size::S32) => a64!(self.ops ; sxth W(d), W(s)),
            (UnaryOp::Extend16S, Size::S64) => a64!(self.ops ; sxth X(d), W(s)),
            (UnaryOp::Extend32S, _) => a64!(self.ops ; sxtw X(d), W(s)),
            (UnaryOp::Extend32U, _) => a64!(self.ops ; mov W(d), W(s)),
        }
    }

    fn compare(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        self.cmp(size, lhs, rhs);
        self.cset(Cc::of(cond), dst.0);
    }

    fn select(&mut self, size: Size, dst: Reg, cond: Reg, other: Reg) {
        let (d, c, o) = (dst.0, cond.0, other.0);
        match size {
            Size::S32 => a64!(self.ops ; cmp WSP(c), 0 ; csel W(d), W(d), W(o), ne),
            Size::S64 => a64!(self.ops ; cmp WSP(c), 0 ; csel X(d), X(d), X(o), ne),
        }
    }

    fn jump(&mut self, target: DynamicLabel) {
        a64!(self.ops ; b =>target);
    }

    fn branch(&mut self, cond: Cond, size: Size, lhs: Reg, rhs: RegImm, target: DynamicLabel) {
        match (cond, rhs) {
            (Cond::Eq, RegImm::Imm(0)) => self.cbz(size, lhs.0, false, target),
            (Cond::Ne, RegImm::Imm(0)) => self.cbz(size, lhs.0, true, target),
            _ => {
                self.cmp(size, lhs, rhs);
                self.b_cc(Cc::of(cond), target);
            }
        }
    }

    fn jump_table(&mut self, index: Reg, targets: &[DynamicLabel]) {
        // A bounds check, then a computed jump into a table of `b` instructions (one per case,
        // each reaching +-128 MiB): position-independent and constant time.
        let (default, cases) = targets.split_last().expect("br_table has a default");
        let default = *default;
        if !cases.is_empty() {
            let table = self.ops.new_dynamic_label();
            self.cmp_imm(Size::S32, index.0, cases.len() as i64);
            self.b_cc(Cc::Hs, default);
            a64!(self.ops
                ; adr x16, =>table
                ; add x16, x16, W(index.0), uxtw 2
                ; br x16
                ; =>table
            );
            for &target in cases {
                a64!(self.ops ; b =>target);
            }
        } else {
            a64!(self.ops ; b =>default);
        }
    }

    fn load_heap(&mut self, kind: LoadKind, dst: Reg, addr: Reg, offset: u32) {
        let bytes = kind.bytes();
        self.effective_address(addr, offset, bytes);
        let (d, back) = (dst.0, -(bytes as i32));
        match kind {
            LoadKind::I32 => a64!(self.ops ; ldur W(d), [x16, back]),
            LoadKind::I64 => a64!(self.ops ; ldur X(d), [x16, back]),
            LoadKind::I32_8S => a64!(self.ops ; ldursb W(d), [x16, back]),
            LoadKind::I32_8U | LoadKind::I64_8U => a64!(self.ops ; ldurb W(d), [x16, back]),
            LoadKind::I32_16S => a64!(self.ops ; ldursh W(d), [x16, back]),
            LoadKind::I32_16U | LoadKind::I64_16U => a64!(self.ops ; ldurh W(d), [x16, back]),
            LoadKind::I64_8S => a64!(self.ops ; ldursb X(d), [x16, back]),
            LoadKind::I64_16S => a64!(self.ops ; ldursh X(d), [x16, back]),
            LoadKind::I64_32S => a64!(self.ops ; ldursw X(d), [x16, back]),
            LoadKind::I64_32U => a64!(self.ops ; ldur W(d), [x16, back]),
        }
    }

    fn store_heap(&mut self, kind: StoreKind, src: Reg, addr: Reg, offset: u32) {
        let bytes = kind.bytes();
        self.effective_address(addr, offset, bytes);
        let (s, back) = (src.0, -(bytes as i32));
        match kind {
            StoreKind::B8 => a64!(self.ops ; sturb W(s), [x16, back]),
            StoreKind::B16 => a64!(self.ops ; sturh W(s), [x16, back]),
            StoreKind::B32 => a64!(self.ops ; stur W(s), [x16, back]),
            StoreKind::B64 => a64!(self.ops ; stur X(s), [x16, back]),
        }
    }

    fn load_global(&mut self, size: Size, dst: Reg, index: u32) {
        self.global_address(index);
        match size {
            Size::S32 => a64!(self.ops ; ldr W(dst.0), [x16]),
            Size::S64 => a64!(self.ops ; ldr X(dst.0), [x16]),
        }
    }

    fn store_global(&mut self, size: Size, src: Reg, index: u32) {
        self.global_address(index);
        // Globals are whole 16-byte cells: the rest of the cell is cleared so readers of any
        // width agree.
        match size {
            Size::S32 => a64!(self.ops ; mov w17, W(src.0) ; stp x17, xzr, [x16]),
            Size::S64 => a64!(self.ops ; stp X(src.0), xzr, [x16]),
        }
    }

    fn call(&mut self, func: u32, callee_fp: u32) {
        let epilogue = self.epilogue;
        self.add_imm(Size::S64, 1, FP, callee_fp as i64);
        self.mov_imm(Size::S32, 2, func as i64);
        self.call_helper(CTX_CALL);
        self.cbz(Size::S32, 0, true, epilogue);
    }

    fn call_indirect(&mut self, ty: u32, table: u32, callee_fp: u32) {
        let epilogue = self.epilogue;
        self.add_imm(Size::S64, 1, FP, callee_fp as i64);
        self.mov_imm(Size::S32, 2, ty as i64);
        self.mov_imm(Size::S32, 3, table as i64);
        self.call_helper(CTX_CALL_INDIRECT);
        self.cbz(Size::S32, 0, true, epilogue);
    }

    fn memory_size(&mut self, dst: Reg) {
        self.load_ctx(dst.0, CTX_MEM_LEN);
        a64!(self.ops ; lsr X(dst.0), X(dst.0), 16);
    }

    fn memory_grow(&mut self, dst: Reg, delta: Reg) {
        a64!(self.ops ; mov w1, W(delta.0));
        self.call_helper(CTX_MEMORY_GROW);
        a64!(self.ops ; mov W(dst.0), w0);
    }

    fn finish(mut self) -> Result<Vec<u8>, AsmError> {
        let epilogue = self.epilogue;
        for (code, label) in std::mem::take(&mut self.traps) {
            let status = trap_status(&code);
            a64!(self.ops ; =>label ; movz w0, status ; b =>epilogue);
        }
        a64!(self.ops
            ; =>epilogue
            ; ldp x19, x20, [sp, 16]
            ; ldp x21, x22, [sp, 32]
            ; ldp x23, x24, [sp, 48]
            ; ldp x25, x26, [sp, 64]
            ; ldp x27, x28, [sp, 80]
            ; ldp x29, x30, [sp], SAVE_AREA as i32
            ; ret
        );
        self.ops.finalize().map_err(|e| AsmError(format!("{e:?}")))
    }
}
