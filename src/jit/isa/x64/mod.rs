//! The x86-64 `MacroAssembler`: the only place that knows x86 encodings (through `dynasm!`).
//!
//! Register roles (System V calling convention for the entry and for calls out):
//! - `rdi`: the [`JitCtx`](crate::jit::JitCtx) pointer, `rsi`: the frame pointer; both pinned,
//!   and saved around calls (which go through `JitCtx::call`, a System V function);
//! - `rax`, `rcx`, `rdx`: scratch for this file only: x86's fixed registers for division and
//!   shift counts, and the two-operand forms, are absorbed here;
//! - `r8`-`r11`, `rbx`, `r12`-`r15`: allocatable (the callee-saved ones are saved on entry).
//!
//! Integer results of 32-bit operations are written with 32-bit instructions, which zero the
//! upper half, so an `i32` in a register always has its upper 32 bits clear.

// `dynasm!` converts dynamic register operands with `.into()`, which clippy flags as useless when
// the operand is already a `u8`; the expansion is not ours to change.
#![allow(clippy::useless_conversion)]

use crate::jit::masm::{
    AsmError, Cond, DivOp, IntOp, LoadKind, MacroAssembler, Reg, RegImm, Size, StoreKind, UnaryOp,
};
use crate::jit::{JitCtx, trap_status};
use crate::vm::TrapCode;
use dynasmrt::x64::X64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm};

/// Allocatable registers, caller-saved first.
const ALLOCATABLE: [Reg; 9] =
    [Reg(8), Reg(9), Reg(10), Reg(11), Reg(3), Reg(12), Reg(13), Reg(14), Reg(15)];

const CTX_MEM_BASE: i32 = std::mem::offset_of!(JitCtx, mem_base) as i32;
const CTX_MEM_LEN: i32 = std::mem::offset_of!(JitCtx, mem_len) as i32;
const CTX_GLOBALS: i32 = std::mem::offset_of!(JitCtx, globals) as i32;
const CTX_CALL: i32 = std::mem::offset_of!(JitCtx, call) as i32;
const CTX_CALL_INDIRECT: i32 = std::mem::offset_of!(JitCtx, call_indirect) as i32;
const CTX_MEMORY_GROW: i32 = std::mem::offset_of!(JitCtx, memory_grow) as i32;

macro_rules! asm {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops ; .arch x64 ; $($t)*)
    };
}

/// Assembles one function for x86-64.
pub struct X64Masm {
    ops: VecAssembler<X64Relocation>,
    epilogue: DynamicLabel,
    traps: Vec<(TrapCode, DynamicLabel)>,
    /// Whether the target has `popcnt` (x86-64-v2).
    popcnt: bool,
}

impl Default for X64Masm {
    /// For the host when it is x86-64 (its features detected), else for an x86-64-v2 machine.
    fn default() -> Self {
        #[cfg(target_arch = "x86_64")]
        let popcnt = std::arch::is_x86_feature_detected!("popcnt");
        #[cfg(not(target_arch = "x86_64"))]
        let popcnt = true;
        X64Masm::new(popcnt)
    }
}

impl X64Masm {
    /// An assembler for a target with or without `popcnt`.
    pub fn new(popcnt: bool) -> Self {
        let mut ops = VecAssembler::new(0);
        let epilogue = ops.new_dynamic_label();
        X64Masm { ops, epilogue, traps: Vec::new(), popcnt }
    }
}

impl X64Masm {
    /// An immediate that fits a sign-extended 32-bit field, or the value moved into `rcx`.
    fn imm_or_rcx(&mut self, imm: i64) -> Option<i32> {
        match i32::try_from(imm) {
            Ok(v) => Some(v),
            Err(_) => {
                asm!(self.ops ; mov rcx, QWORD imm);
                None
            }
        }
    }

    /// `rax = rax op rhs` for the arithmetic and logic operations.
    fn alu_rax(&mut self, op: IntOp, size: Size, rhs: RegImm) {
        let rhs = match rhs {
            RegImm::Reg(r) => Some(r),
            RegImm::Imm(imm) => match self.imm_or_rcx(imm) {
                Some(v) => {
                    self.alu_rax_imm(op, size, v);
                    return;
                }
                None => Some(Reg(1)),
            },
        };
        let r = rhs.expect("a register operand").0;
        match (op, size) {
            (IntOp::Add, Size::S32) => asm!(self.ops ; add eax, Rd(r)),
            (IntOp::Add, Size::S64) => asm!(self.ops ; add rax, Rq(r)),
            (IntOp::Sub, Size::S32) => asm!(self.ops ; sub eax, Rd(r)),
            (IntOp::Sub, Size::S64) => asm!(self.ops ; sub rax, Rq(r)),
            (IntOp::Mul, Size::S32) => asm!(self.ops ; imul eax, Rd(r)),
            (IntOp::Mul, Size::S64) => asm!(self.ops ; imul rax, Rq(r)),
            (IntOp::And, Size::S32) => asm!(self.ops ; and eax, Rd(r)),
            (IntOp::And, Size::S64) => asm!(self.ops ; and rax, Rq(r)),
            (IntOp::Or, Size::S32) => asm!(self.ops ; or eax, Rd(r)),
            (IntOp::Or, Size::S64) => asm!(self.ops ; or rax, Rq(r)),
            (IntOp::Xor, Size::S32) => asm!(self.ops ; xor eax, Rd(r)),
            (IntOp::Xor, Size::S64) => asm!(self.ops ; xor rax, Rq(r)),
            (shift, size) => {
                asm!(self.ops ; mov rcx, Rq(r));
                self.shift_rax_cl(shift, size);
            }
        }
    }

    fn alu_rax_imm(&mut self, op: IntOp, size: Size, v: i32) {
        match (op, size) {
            (IntOp::Add, Size::S32) => asm!(self.ops ; add eax, v),
            (IntOp::Add, Size::S64) => asm!(self.ops ; add rax, v),
            (IntOp::Sub, Size::S32) => asm!(self.ops ; sub eax, v),
            (IntOp::Sub, Size::S64) => asm!(self.ops ; sub rax, v),
            (IntOp::Mul, Size::S32) => asm!(self.ops ; imul eax, eax, v),
            (IntOp::Mul, Size::S64) => asm!(self.ops ; imul rax, rax, v),
            (IntOp::And, Size::S32) => asm!(self.ops ; and eax, v),
            (IntOp::And, Size::S64) => asm!(self.ops ; and rax, v),
            (IntOp::Or, Size::S32) => asm!(self.ops ; or eax, v),
            (IntOp::Or, Size::S64) => asm!(self.ops ; or rax, v),
            (IntOp::Xor, Size::S32) => asm!(self.ops ; xor eax, v),
            (IntOp::Xor, Size::S64) => asm!(self.ops ; xor rax, v),
            (shift, size) => {
                // Wasm takes shift counts modulo the width, as x86 does; the mask keeps the
                // immediate in the encodable range.
                let count = (v as u32 & if size == Size::S32 { 31 } else { 63 }) as i8;
                match (shift, size) {
                    (IntOp::Shl, Size::S32) => asm!(self.ops ; shl eax, count),
                    (IntOp::Shl, Size::S64) => asm!(self.ops ; shl rax, count),
                    (IntOp::ShrS, Size::S32) => asm!(self.ops ; sar eax, count),
                    (IntOp::ShrS, Size::S64) => asm!(self.ops ; sar rax, count),
                    (IntOp::ShrU, Size::S32) => asm!(self.ops ; shr eax, count),
                    (IntOp::ShrU, Size::S64) => asm!(self.ops ; shr rax, count),
                    (IntOp::Rotl, Size::S32) => asm!(self.ops ; rol eax, count),
                    (IntOp::Rotl, Size::S64) => asm!(self.ops ; rol rax, count),
                    (IntOp::Rotr, Size::S32) => asm!(self.ops ; ror eax, count),
                    (IntOp::Rotr, Size::S64) => asm!(self.ops ; ror rax, count),
                    _ => unreachable!("only shifts and rotates reach here"),
                }
            }
        }
    }

    /// `rax = rax shift cl` (x86 masks the count to the width, as wasm requires).
    fn shift_rax_cl(&mut self, op: IntOp, size: Size) {
        match (op, size) {
            (IntOp::Shl, Size::S32) => asm!(self.ops ; shl eax, cl),
            (IntOp::Shl, Size::S64) => asm!(self.ops ; shl rax, cl),
            (IntOp::ShrS, Size::S32) => asm!(self.ops ; sar eax, cl),
            (IntOp::ShrS, Size::S64) => asm!(self.ops ; sar rax, cl),
            (IntOp::ShrU, Size::S32) => asm!(self.ops ; shr eax, cl),
            (IntOp::ShrU, Size::S64) => asm!(self.ops ; shr rax, cl),
            (IntOp::Rotl, Size::S32) => asm!(self.ops ; rol eax, cl),
            (IntOp::Rotl, Size::S64) => asm!(self.ops ; rol rax, cl),
            (IntOp::Rotr, Size::S32) => asm!(self.ops ; ror eax, cl),
            (IntOp::Rotr, Size::S64) => asm!(self.ops ; ror rax, cl),
            (other, _) => unreachable!("{other:?} is not a shift"),
        }
    }

    /// `cmp lhs, rhs` at `size`.
    fn cmp(&mut self, size: Size, lhs: Reg, rhs: RegImm) {
        let l = lhs.0;
        match rhs {
            RegImm::Reg(r) => match size {
                Size::S32 => asm!(self.ops ; cmp Rd(l), Rd(r.0)),
                Size::S64 => asm!(self.ops ; cmp Rq(l), Rq(r.0)),
            },
            RegImm::Imm(imm) => match (self.imm_or_rcx(imm), size) {
                (Some(v), Size::S32) => asm!(self.ops ; cmp Rd(l), v),
                (Some(v), Size::S64) => asm!(self.ops ; cmp Rq(l), v),
                (None, Size::S32) => asm!(self.ops ; cmp Rd(l), ecx),
                (None, Size::S64) => asm!(self.ops ; cmp Rq(l), rcx),
            },
        }
    }

    /// `rax = zero-extended addr + offset`, then traps unless `rax + bytes <= memory length`.
    fn effective_address(&mut self, addr: Reg, offset: u32, bytes: u32) {
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        asm!(self.ops
            ; mov eax, Rd(addr.0)
            ; mov ecx, offset as i32
            ; add rax, rcx
            ; lea rcx, [rax + bytes as i32]
            ; cmp rcx, QWORD [rdi + CTX_MEM_LEN]
            ; ja =>oob
            ; mov rcx, QWORD [rdi + CTX_MEM_BASE]
        );
    }
}

impl MacroAssembler for X64Masm {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        asm!(self.ops ; =>label);
    }

    fn allocatable(&self) -> &'static [Reg] {
        &ALLOCATABLE
    }

    fn has_unary(&self, op: UnaryOp) -> bool {
        op != UnaryOp::Popcnt || self.popcnt
    }

    fn prologue(&mut self) {
        asm!(self.ops ; push rbx ; push r12 ; push r13 ; push r14 ; push r15);
    }

    fn ret(&mut self) {
        let epilogue = self.epilogue;
        asm!(self.ops ; xor eax, eax ; jmp =>epilogue);
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
        let (d, s) = (dst.0, slot as i32);
        match size {
            Size::S32 => asm!(self.ops ; mov Rd(d), DWORD [rsi + s]),
            Size::S64 => asm!(self.ops ; mov Rq(d), QWORD [rsi + s]),
        }
    }

    fn store_slot(&mut self, size: Size, src: Reg, slot: u32) {
        let (r, s) = (src.0, slot as i32);
        match size {
            Size::S32 => asm!(self.ops ; mov DWORD [rsi + s], Rd(r)),
            Size::S64 => asm!(self.ops ; mov QWORD [rsi + s], Rq(r)),
        }
    }

    fn store_slot_imm(&mut self, size: Size, imm: i64, slot: u32) {
        let s = slot as i32;
        match size {
            Size::S32 => asm!(self.ops ; mov DWORD [rsi + s], imm as i32),
            Size::S64 => match i32::try_from(imm) {
                Ok(v) => asm!(self.ops ; mov QWORD [rsi + s], v),
                Err(_) => asm!(self.ops ; mov rax, QWORD imm ; mov QWORD [rsi + s], rax),
            },
        }
    }

    fn copy_slot(&mut self, dst: u32, src: u32) {
        asm!(self.ops ; movups xmm0, [rsi + src as i32] ; movups [rsi + dst as i32], xmm0);
    }

    fn mov(&mut self, size: Size, dst: Reg, src: RegImm) {
        let d = dst.0;
        match (src, size) {
            (RegImm::Reg(s), Size::S32) => asm!(self.ops ; mov Rd(d), Rd(s.0)),
            (RegImm::Reg(s), Size::S64) => asm!(self.ops ; mov Rq(d), Rq(s.0)),
            (RegImm::Imm(imm), Size::S32) => asm!(self.ops ; mov Rd(d), imm as i32),
            (RegImm::Imm(imm), Size::S64) => asm!(self.ops ; mov Rq(d), QWORD imm),
        }
    }

    fn int_op(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        // Computed in rax so no operand is clobbered before it is read, whatever aliases.
        asm!(self.ops ; mov rax, Rq(lhs.0));
        self.alu_rax(op, size, rhs);
        self.mov(size, dst, RegImm::Reg(Reg(0)));
    }

    fn div(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, rhs: Reg) {
        let by_zero = self.trap_label(TrapCode::IntegerDivideByZero);
        let overflow = self.trap_label(TrapCode::IntegerOverflow);
        let (l, r) = (lhs.0, rhs.0);
        let done = self.ops.new_dynamic_label();
        let divide = self.ops.new_dynamic_label();
        match size {
            Size::S32 => asm!(self.ops ; mov eax, Rd(l) ; test Rd(r), Rd(r) ; jz =>by_zero),
            Size::S64 => asm!(self.ops ; mov rax, Rq(l) ; test Rq(r), Rq(r) ; jz =>by_zero),
        }
        match (op, size) {
            (DivOp::DivU | DivOp::RemU, Size::S32) => asm!(self.ops ; xor edx, edx ; div Rd(r)),
            (DivOp::DivU | DivOp::RemU, Size::S64) => asm!(self.ops ; xor edx, edx ; div Rq(r)),
            (signed, size) => {
                // `MIN / -1` overflows (a trap for div, 0 for rem) and faults on x86: test first.
                let min_by_minus_one = if signed == DivOp::DivS { overflow } else { done };
                if signed == DivOp::RemS {
                    asm!(self.ops ; xor edx, edx);
                }
                match size {
                    Size::S32 => asm!(self.ops
                        ; cmp Rd(r), -1 ; jne =>divide
                        ; cmp eax, i32::MIN ; je =>min_by_minus_one
                        ; =>divide ; cdq ; idiv Rd(r)),
                    Size::S64 => asm!(self.ops
                        ; cmp Rq(r), -1 ; jne =>divide
                        ; mov rcx, QWORD i64::MIN ; cmp rax, rcx ; je =>min_by_minus_one
                        ; =>divide ; cqo ; idiv Rq(r)),
                }
            }
        }
        asm!(self.ops ; =>done);
        let result = if matches!(op, DivOp::DivS | DivOp::DivU) { Reg(0) } else { Reg(2) };
        self.mov(size, dst, RegImm::Reg(result));
    }

    fn unary(&mut self, op: UnaryOp, size: Size, dst: Reg, src: Reg) {
        let s = src.0;
        match (op, size) {
            // bsr leaves its destination undefined for zero: the cmov supplies the answer.
            (UnaryOp::Clz, Size::S32) => {
                asm!(self.ops ; mov ecx, 63 ; bsr eax, Rd(s) ; cmovz eax, ecx ; xor eax, 31)
            }
            (UnaryOp::Clz, Size::S64) => {
                asm!(self.ops ; mov ecx, 127 ; bsr rax, Rq(s) ; cmovz rax, rcx ; xor rax, 63)
            }
            (UnaryOp::Ctz, Size::S32) => {
                asm!(self.ops ; mov ecx, 32 ; bsf eax, Rd(s) ; cmovz eax, ecx)
            }
            (UnaryOp::Ctz, Size::S64) => {
                asm!(self.ops ; mov ecx, 64 ; bsf rax, Rq(s) ; cmovz rax, rcx)
            }
            (UnaryOp::Popcnt, Size::S32) => asm!(self.ops ; popcnt eax, Rd(s)),
            (UnaryOp::Popcnt, Size::S64) => asm!(self.ops ; popcnt rax, Rq(s)),
            (UnaryOp::Eqz, Size::S32) => {
                asm!(self.ops ; xor eax, eax ; test Rd(s), Rd(s) ; sete al)
            }
            (UnaryOp::Eqz, Size::S64) => {
                asm!(self.ops ; xor eax, eax ; test Rq(s), Rq(s) ; sete al)
            }
            (UnaryOp::Extend8S, Size::S32) => asm!(self.ops ; movsx eax, Rb(s)),
            (UnaryOp::Extend8S, Size::S64) => asm!(self.ops ; movsx rax, Rb(s)),
            (UnaryOp::Extend16S, Size::S32) => asm!(self.ops ; movsx eax, Rw(s)),
            (UnaryOp::Extend16S, Size::S64) => asm!(self.ops ; movsx rax, Rw(s)),
            (UnaryOp::Extend32S, _) => asm!(self.ops ; movsxd rax, Rd(s)),
            (UnaryOp::Extend32U, _) => asm!(self.ops ; mov eax, Rd(s)),
        }
        let result_size = if op == UnaryOp::Eqz { Size::S32 } else { size };
        self.mov(result_size, dst, RegImm::Reg(Reg(0)));
    }

    fn compare(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        // Zeroing first: `xor` would clobber the flags the `set` reads.
        asm!(self.ops ; xor edx, edx);
        self.cmp(size, lhs, rhs);
        match cond {
            Cond::Eq => asm!(self.ops ; sete dl),
            Cond::Ne => asm!(self.ops ; setne dl),
            Cond::LtS => asm!(self.ops ; setl dl),
            Cond::LtU => asm!(self.ops ; setb dl),
            Cond::GtS => asm!(self.ops ; setg dl),
            Cond::GtU => asm!(self.ops ; seta dl),
            Cond::LeS => asm!(self.ops ; setle dl),
            Cond::LeU => asm!(self.ops ; setbe dl),
            Cond::GeS => asm!(self.ops ; setge dl),
            Cond::GeU => asm!(self.ops ; setae dl),
        }
        asm!(self.ops ; mov Rd(dst.0), edx);
    }

    fn select(&mut self, size: Size, dst: Reg, cond: Reg, other: Reg) {
        let (d, c, o) = (dst.0, cond.0, other.0);
        match size {
            Size::S32 => asm!(self.ops ; test Rd(c), Rd(c) ; cmovz Rd(d), Rd(o)),
            Size::S64 => asm!(self.ops ; test Rd(c), Rd(c) ; cmovz Rq(d), Rq(o)),
        }
    }

    fn jump(&mut self, target: DynamicLabel) {
        asm!(self.ops ; jmp =>target);
    }

    fn branch(&mut self, cond: Cond, size: Size, lhs: Reg, rhs: RegImm, target: DynamicLabel) {
        self.cmp(size, lhs, rhs);
        match cond {
            Cond::Eq => asm!(self.ops ; je =>target),
            Cond::Ne => asm!(self.ops ; jne =>target),
            Cond::LtS => asm!(self.ops ; jl =>target),
            Cond::LtU => asm!(self.ops ; jb =>target),
            Cond::GtS => asm!(self.ops ; jg =>target),
            Cond::GtU => asm!(self.ops ; ja =>target),
            Cond::LeS => asm!(self.ops ; jle =>target),
            Cond::LeU => asm!(self.ops ; jbe =>target),
            Cond::GeS => asm!(self.ops ; jge =>target),
            Cond::GeU => asm!(self.ops ; jae =>target),
        }
    }

    fn jump_table(&mut self, index: Reg, targets: &[DynamicLabel]) {
        // A compare chain: simple and position-independent; a table of addresses is a later
        // refinement for wide `br_table`s.
        let (default, cases) = targets.split_last().expect("br_table has a default");
        for (i, target) in cases.iter().enumerate() {
            let target = *target;
            asm!(self.ops ; cmp Rd(index.0), i as i32 ; je =>target);
        }
        let default = *default;
        asm!(self.ops ; jmp =>default);
    }

    fn load_heap(&mut self, kind: LoadKind, dst: Reg, addr: Reg, offset: u32) {
        self.effective_address(addr, offset, kind.bytes());
        let d = dst.0;
        match kind {
            LoadKind::I32 => asm!(self.ops ; mov Rd(d), DWORD [rcx + rax]),
            LoadKind::I64 => asm!(self.ops ; mov Rq(d), QWORD [rcx + rax]),
            LoadKind::I32_8S => asm!(self.ops ; movsx Rd(d), BYTE [rcx + rax]),
            LoadKind::I32_8U => asm!(self.ops ; movzx Rd(d), BYTE [rcx + rax]),
            LoadKind::I32_16S => asm!(self.ops ; movsx Rd(d), WORD [rcx + rax]),
            LoadKind::I32_16U => asm!(self.ops ; movzx Rd(d), WORD [rcx + rax]),
            LoadKind::I64_8S => asm!(self.ops ; movsx Rq(d), BYTE [rcx + rax]),
            LoadKind::I64_8U => asm!(self.ops ; movzx Rd(d), BYTE [rcx + rax]),
            LoadKind::I64_16S => asm!(self.ops ; movsx Rq(d), WORD [rcx + rax]),
            LoadKind::I64_16U => asm!(self.ops ; movzx Rd(d), WORD [rcx + rax]),
            LoadKind::I64_32S => asm!(self.ops ; movsxd Rq(d), DWORD [rcx + rax]),
            LoadKind::I64_32U => asm!(self.ops ; mov Rd(d), DWORD [rcx + rax]),
        }
    }

    fn store_heap(&mut self, kind: StoreKind, src: Reg, addr: Reg, offset: u32) {
        self.effective_address(addr, offset, kind.bytes());
        let s = src.0;
        match kind {
            StoreKind::B8 => asm!(self.ops ; mov BYTE [rcx + rax], Rb(s)),
            StoreKind::B16 => asm!(self.ops ; mov WORD [rcx + rax], Rw(s)),
            StoreKind::B32 => asm!(self.ops ; mov DWORD [rcx + rax], Rd(s)),
            StoreKind::B64 => asm!(self.ops ; mov QWORD [rcx + rax], Rq(s)),
        }
    }

    fn load_global(&mut self, size: Size, dst: Reg, index: u32) {
        let at = (index * 8) as i32;
        asm!(self.ops ; mov rax, QWORD [rdi + CTX_GLOBALS] ; mov rax, QWORD [rax + at]);
        match size {
            Size::S32 => asm!(self.ops ; mov Rd(dst.0), DWORD [rax]),
            Size::S64 => asm!(self.ops ; mov Rq(dst.0), QWORD [rax]),
        }
    }

    fn store_global(&mut self, size: Size, src: Reg, index: u32) {
        let at = (index * 8) as i32;
        asm!(self.ops ; mov rax, QWORD [rdi + CTX_GLOBALS] ; mov rax, QWORD [rax + at]);
        // Globals are whole 16-byte cells: clear the upper half so readers of any width agree.
        asm!(self.ops ; mov QWORD [rax + 8], 0);
        match size {
            Size::S32 => asm!(self.ops ; mov DWORD [rax + 4], 0 ; mov DWORD [rax], Rd(src.0)),
            Size::S64 => asm!(self.ops ; mov QWORD [rax], Rq(src.0)),
        }
    }

    fn call(&mut self, func: u32, callee_fp: u32) {
        // rdi and rsi are the pinned context and frame pointer; the two pushes keep the stack
        // 16-byte aligned at the call (five saved registers plus the return address before them).
        let epilogue = self.epilogue;
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea rsi, [rsi + callee_fp as i32]
            ; mov edx, func as i32
            ; call QWORD [rdi + CTX_CALL]
            ; pop rsi
            ; pop rdi
            ; test eax, eax
            ; jnz =>epilogue
        );
    }

    fn call_indirect(&mut self, ty: u32, table: u32, callee_fp: u32) {
        let epilogue = self.epilogue;
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea rsi, [rsi + callee_fp as i32]
            ; mov edx, ty as i32
            ; mov ecx, table as i32
            ; call QWORD [rdi + CTX_CALL_INDIRECT]
            ; pop rsi
            ; pop rdi
            ; test eax, eax
            ; jnz =>epilogue
        );
    }

    fn memory_size(&mut self, dst: Reg) {
        asm!(self.ops ; mov rax, QWORD [rdi + CTX_MEM_LEN] ; shr rax, 16 ; mov Rd(dst.0), eax);
    }

    fn memory_grow(&mut self, dst: Reg, delta: Reg) {
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; mov esi, Rd(delta.0)
            ; call QWORD [rdi + CTX_MEMORY_GROW]
            ; pop rsi
            ; pop rdi
            ; mov Rd(dst.0), eax
        );
    }

    fn finish(mut self) -> Result<Vec<u8>, AsmError> {
        let epilogue = self.epilogue;
        for (code, label) in std::mem::take(&mut self.traps) {
            let status = trap_status(&code) as i32;
            asm!(self.ops ; =>label ; mov eax, status ; jmp =>epilogue);
        }
        asm!(self.ops ; =>epilogue ; pop r15 ; pop r14 ; pop r13 ; pop r12 ; pop rbx ; ret);
        self.ops.finalize().map_err(|e| AsmError(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};

    /// The code `emit` assembles, one instruction per line in AT&T syntax.
    fn disassemble(emit: impl FnOnce(&mut X64Masm)) -> String {
        let mut masm = X64Masm::default();
        emit(&mut masm);
        let bytes = masm.finish().unwrap();
        let mut decoder = Decoder::new(64, &bytes, DecoderOptions::NONE);
        let mut formatter = GasFormatter::new();
        let mut out = String::new();
        for instruction in &mut decoder {
            let mut line = String::new();
            formatter.format(&instruction, &mut line);
            out.push_str(line.trim());
            out.push('\n');
        }
        out
    }

    #[test]
    fn an_add_with_an_immediate_computes_in_rax() {
        let code = disassemble(|m| {
            m.int_op(IntOp::Add, Size::S32, Reg(8), Reg(8), RegImm::Imm(3));
            m.ret();
        });
        let expected = "mov %r8,%rax\nadd $3,%eax\nmov %eax,%r8d\nxor %eax,%eax\njmp 0x0000000000000012\n\
                        pop %r15\npop %r14\npop %r13\npop %r12\npop %rbx\nret\n";
        assert_eq!(code, expected);
    }

    #[test]
    fn heap_loads_check_bounds_against_the_context() {
        let code = disassemble(|m| m.load_heap(LoadKind::I32, Reg(9), Reg(8), 16));
        let lines: Vec<&str> = code.lines().collect();
        assert_eq!(lines[0], "mov %r8d,%eax", "the address is zero-extended");
        assert!(lines.iter().any(|l| l.starts_with("cmp 8(%rdi),%rcx")), "{code}");
        assert!(lines.iter().any(|l| l.starts_with("ja ")), "{code}");
        assert!(lines.contains(&"mov (%rcx,%rax),%r9d"), "{code}");
        assert!(lines.contains(&"mov $4,%eax"), "the out-of-bounds stub: {code}");
    }
}
