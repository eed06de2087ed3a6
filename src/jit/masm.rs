//! `MacroAssembler`: the ISA-free vocabulary the tier-1 code generator speaks.
//!
//! Everything above this trait is ISA-independent; everything below it (`isa/<arch>/`) is the only
//! place that knows instruction encodings. Each ISA absorbs its own quirks behind it: x64's
//! two-operand forms and fixed registers for shifts and division, aarch64's immediate limits.
//! Operation families are small enums with the operand size as data, as in Winch.
//!
//! The frame is the interpreter's: 16-byte slots addressed by byte offset from the frame pointer,
//! so tier-1 code and the interpreter can hand a frame to each other.

use crate::vm::TrapCode;

/// A machine register, by its hardware encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg(pub u8);

/// Width of an integer operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    S32,
    S64,
}

/// A register or an immediate second operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegImm {
    Reg(Reg),
    Imm(i64),
}

/// Two-operand integer operations `dst = lhs op rhs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

/// Integer division and remainder, which trap on a zero divisor (and `DivS` on overflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

/// One-operand integer operations `dst = op src`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Clz,
    Ctz,
    Popcnt,
    /// `src == 0` as 0 or 1.
    Eqz,
    Extend8S,
    Extend16S,
    /// 64-bit only: sign-extends the low 32 bits (`i64.extend32_s`, `i64.extend_i32_s`).
    Extend32S,
    /// Zero-extends the low 32 bits (`i64.extend_i32_u`, `i32.wrap_i64`).
    Extend32U,
}

/// Integer comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

/// Linear-memory loads: width and extension into a 32- or 64-bit result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    I32,
    I64,
    I32_8S,
    I32_8U,
    I32_16S,
    I32_16U,
    I64_8S,
    I64_8U,
    I64_16S,
    I64_16U,
    I64_32S,
    I64_32U,
}

impl LoadKind {
    /// Bytes the load reads.
    pub fn bytes(self) -> u32 {
        match self {
            LoadKind::I32_8S | LoadKind::I32_8U | LoadKind::I64_8S | LoadKind::I64_8U => 1,
            LoadKind::I32_16S | LoadKind::I32_16U | LoadKind::I64_16S | LoadKind::I64_16U => 2,
            LoadKind::I32 | LoadKind::I64_32S | LoadKind::I64_32U => 4,
            LoadKind::I64 => 8,
        }
    }
}

/// Linear-memory stores: how many low bytes of the value are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    B8,
    B16,
    B32,
    B64,
}

impl StoreKind {
    /// Bytes the store writes.
    pub fn bytes(self) -> u32 {
        match self {
            StoreKind::B8 => 1,
            StoreKind::B16 => 2,
            StoreKind::B32 => 4,
            StoreKind::B64 => 8,
        }
    }
}

/// A failure to assemble: always a compiler bug or a resource problem, never the guest's fault.
#[derive(Debug, thiserror::Error)]
#[error("assembler: {0}")]
pub struct AsmError(pub String);

/// The ISA-independent assembler interface of tier 1.
///
/// Slots are byte offsets from the frame pointer (see `interp::code`). Every method emits code for
/// the current position; nothing is reordered.
pub trait MacroAssembler {
    /// A position in the code, bound once, jumped to any number of times.
    type Label: Copy;

    fn new_label(&mut self) -> Self::Label;
    fn bind(&mut self, label: Self::Label);
    /// Registers the code generator may allocate, in order of preference.
    fn allocatable(&self) -> &'static [Reg];
    /// Whether this ISA (as configured) can emit `op`; the code generator refuses a function
    /// that needs an operation the target lacks (x86-64 without `popcnt`, say).
    fn has_unary(&self, op: UnaryOp) -> bool;

    /// Function entry: saves what the calling convention requires, pins the frame pointer.
    fn prologue(&mut self);
    /// Returns to the caller with status 0 (the results are already in their slots).
    fn ret(&mut self);
    /// A label that, when jumped to, returns trap status `code` (shared per code).
    fn trap_label(&mut self, code: TrapCode) -> Self::Label;

    fn load_slot(&mut self, size: Size, dst: Reg, slot: u32);
    fn store_slot(&mut self, size: Size, src: Reg, slot: u32);
    fn store_slot_imm(&mut self, size: Size, imm: i64, slot: u32);
    /// Copies a whole 16-byte slot.
    fn copy_slot(&mut self, dst: u32, src: u32);
    fn mov(&mut self, size: Size, dst: Reg, src: RegImm);

    fn int_op(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm);
    fn div(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, rhs: Reg);
    fn unary(&mut self, op: UnaryOp, size: Size, dst: Reg, src: Reg);
    /// `dst = (lhs cond rhs) as i32`.
    fn compare(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, rhs: RegImm);
    /// `dst = cond != 0 ? dst : other`.
    fn select(&mut self, size: Size, dst: Reg, cond: Reg, other: Reg);

    fn jump(&mut self, target: Self::Label);
    fn branch(&mut self, cond: Cond, size: Size, lhs: Reg, rhs: RegImm, target: Self::Label);
    /// Jumps to `targets[index]`, or to the last target when `index` is out of range.
    fn jump_table(&mut self, index: Reg, targets: &[Self::Label]);

    /// `dst = memory[addr + offset]`, trapping when out of bounds.
    fn load_heap(&mut self, kind: LoadKind, dst: Reg, addr: Reg, offset: u32);
    /// `memory[addr + offset] = src`, trapping when out of bounds.
    fn store_heap(&mut self, kind: StoreKind, src: Reg, addr: Reg, offset: u32);
    /// Loads the low `size` bits of global `index`.
    fn load_global(&mut self, size: Size, dst: Reg, index: u32);
    fn store_global(&mut self, size: Size, src: Reg, index: u32);

    /// Calls function `func` (module index space) with its frame at slot offset `callee_fp`
    /// through the context's call helper. Every allocatable register is clobbered; a trap status
    /// from the callee returns from this function at once.
    fn call(&mut self, func: u32, callee_fp: u32);

    /// `call_indirect` with module type `ty` through `table`; the table index is in the slot after
    /// the arguments. Like [`MacroAssembler::call`] otherwise.
    fn call_indirect(&mut self, ty: u32, table: u32, callee_fp: u32);
    /// `dst = memory.size` in pages.
    fn memory_size(&mut self, dst: Reg);
    /// `dst = memory.grow(delta)` through the context's helper; clobbers every allocatable
    /// register but `dst`.
    fn memory_grow(&mut self, dst: Reg, delta: Reg);

    /// The finished, position-independent machine code.
    fn finish(self) -> Result<Vec<u8>, AsmError>;
}
