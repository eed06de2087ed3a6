//! Lowering: optimized SSA (`tierup-passes` IR) to VCode, the instruction selection of tier 2.
//!
//! Every IR value becomes a virtual register; every instruction becomes one or a few
//! `MacroAssembler` operations. Selection folds what the assembler takes directly: integer
//! immediates that fit 32 bits into ALU operations, compares and branches; a compare (or `eqz`)
//! (integer or float) used only by the branch that ends its block into one compare-and-branch,
//! and an integer one used only by a select into that select (`cmov`, `csel`); constants used
//! only in such places are not materialized at all, other integer constants are materialized
//! right before each use (never held in a register across code); a constant heap address (a C
//! global's `i32.const 0` base) into the access's offset; an integer `add` with the additions and
//! small left shifts that feed only it into one `lea`-like instruction ([`scaled_sum`]). A heap
//! address that is a sum is never folded into the access: wasm wraps `i32.add` at 32 bits, the
//! access's addition does not. Calls and runtime helpers pass their
//! operands through the frame area above the spill slots, as every tier's entries expect;
//! `call_indirect` is emitted inline through the table's dispatch array. Edges from blocks with
//! several successors are split, so no edge is critical.
//!
//! It must never lower what it does not fully understand: SIMD and anything else unsupported is
//! refused (the function stays in a lower tier).

mod scaled_sum;

use super::abi::{self, RegisterAbi};
use super::vcode::{LentScratch, MBlock, MInst, MTy, RI, RegEnv, SelectCond, VCode};
use crate::isa::masm::{
    ArgLoc, BulkMemory, Callee, Cond, ConvertOp, DivOp, FReg, FloatCmp, FloatOp, FloatUnaryOp,
    Immediates, IntOp, LoadKind, Reg, RuntimeOp, Size, StoreKind, UnaryOp,
};
use crate::tier::compiler::CompileError;
use crate::vm::TrapCode;
use crate::vm::frame::SLOT_BYTES;
use regalloc2::{Block as MB, VReg};
use scaled_sum::ScaledSum;
use std::collections::HashMap;
use tierup_passes::ir::{
    Block, Const, Function, Inst, InstKind, LoadOp, NumOp, StoreOp, TrapCode as IrTrap, Type, Value,
};

/// Where a function's entry parameters come from: the frame slot of each (a normal entry reads
/// the wasm parameters from slots `0..n`; an on-stack-replacement entry the loop header's values
/// from wherever tier 0 keeps them).
pub struct EntrySlots(pub Vec<u32>);

fn unsupported(what: impl Into<String>) -> CompileError {
    CompileError::Unsupported(what.into())
}

fn mty(t: Type) -> Result<MTy, CompileError> {
    Ok(match t {
        Type::I32 => MTy::I32,
        Type::I64 | Type::FuncRef | Type::ExternRef => MTy::I64,
        Type::F32 => MTy::F32,
        Type::F64 => MTy::F64,
        Type::V128 => return Err(unsupported("v128 values (SIMD)")),
    })
}

fn trap_code(code: IrTrap) -> TrapCode {
    match code {
        IrTrap::Unreachable => TrapCode::Unreachable,
        IrTrap::IntegerDivideByZero => TrapCode::IntegerDivideByZero,
        IrTrap::IntegerOverflow => TrapCode::IntegerOverflow,
        IrTrap::BadConversionToInteger => TrapCode::BadConversionToInteger,
        IrTrap::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        IrTrap::TableOutOfBounds => TrapCode::TableOutOfBounds,
        IrTrap::IndirectCallToNull => TrapCode::IndirectCallToNull,
        IrTrap::BadSignature => TrapCode::BadSignature,
    }
}

/// How a numeric operator lowers.
enum NumLowering {
    Int(IntOp, Size),
    Div(DivOp, Size),
    Unary(UnaryOp, Size),
    Cmp(Cond, Size),
    Eqz(Size),
    Float(FloatOp, Size),
    FloatUnary(FloatUnaryOp, Size),
    FloatCmp(FloatCmp, Size),
    FloatToInt(ConvertOp),
    IntToFloat(ConvertOp),
    FloatToFloat(ConvertOp),
    /// A copy: `i64.extend_i32_u`, since every backend keeps an `i32` in a register
    /// zero-extended (see `MacroAssembler`), which the allocator can then coalesce away.
    ZeroExtend,
}

fn num_lowering(op: NumOp) -> NumLowering {
    use ConvertOp::{Convert, Reinterpret, Resize, Trunc};
    use NumLowering as L;
    use NumOp as N;
    use Size::{S32, S64};
    let trunc =
        |signed, saturating, int, float| L::FloatToInt(Trunc { signed, saturating, int, float });
    let convert = |signed, int, float| L::IntToFloat(Convert { signed, int, float });
    match op {
        N::I32Eqz => L::Eqz(S32),
        N::I64Eqz => L::Eqz(S64),
        N::I32Eq => L::Cmp(Cond::Eq, S32),
        N::I32Ne => L::Cmp(Cond::Ne, S32),
        N::I32LtS => L::Cmp(Cond::LtS, S32),
        N::I32LtU => L::Cmp(Cond::LtU, S32),
        N::I32GtS => L::Cmp(Cond::GtS, S32),
        N::I32GtU => L::Cmp(Cond::GtU, S32),
        N::I32LeS => L::Cmp(Cond::LeS, S32),
        N::I32LeU => L::Cmp(Cond::LeU, S32),
        N::I32GeS => L::Cmp(Cond::GeS, S32),
        N::I32GeU => L::Cmp(Cond::GeU, S32),
        N::I64Eq => L::Cmp(Cond::Eq, S64),
        N::I64Ne => L::Cmp(Cond::Ne, S64),
        N::I64LtS => L::Cmp(Cond::LtS, S64),
        N::I64LtU => L::Cmp(Cond::LtU, S64),
        N::I64GtS => L::Cmp(Cond::GtS, S64),
        N::I64GtU => L::Cmp(Cond::GtU, S64),
        N::I64LeS => L::Cmp(Cond::LeS, S64),
        N::I64LeU => L::Cmp(Cond::LeU, S64),
        N::I64GeS => L::Cmp(Cond::GeS, S64),
        N::I64GeU => L::Cmp(Cond::GeU, S64),
        N::F32Eq => L::FloatCmp(FloatCmp::Eq, S32),
        N::F32Ne => L::FloatCmp(FloatCmp::Ne, S32),
        N::F32Lt => L::FloatCmp(FloatCmp::Lt, S32),
        N::F32Gt => L::FloatCmp(FloatCmp::Gt, S32),
        N::F32Le => L::FloatCmp(FloatCmp::Le, S32),
        N::F32Ge => L::FloatCmp(FloatCmp::Ge, S32),
        N::F64Eq => L::FloatCmp(FloatCmp::Eq, S64),
        N::F64Ne => L::FloatCmp(FloatCmp::Ne, S64),
        N::F64Lt => L::FloatCmp(FloatCmp::Lt, S64),
        N::F64Gt => L::FloatCmp(FloatCmp::Gt, S64),
        N::F64Le => L::FloatCmp(FloatCmp::Le, S64),
        N::F64Ge => L::FloatCmp(FloatCmp::Ge, S64),
        N::I32Clz => L::Unary(UnaryOp::Clz, S32),
        N::I32Ctz => L::Unary(UnaryOp::Ctz, S32),
        N::I32Popcnt => L::Unary(UnaryOp::Popcnt, S32),
        N::I64Clz => L::Unary(UnaryOp::Clz, S64),
        N::I64Ctz => L::Unary(UnaryOp::Ctz, S64),
        N::I64Popcnt => L::Unary(UnaryOp::Popcnt, S64),
        N::I32Add => L::Int(IntOp::Add, S32),
        N::I32Sub => L::Int(IntOp::Sub, S32),
        N::I32Mul => L::Int(IntOp::Mul, S32),
        N::I32And => L::Int(IntOp::And, S32),
        N::I32Or => L::Int(IntOp::Or, S32),
        N::I32Xor => L::Int(IntOp::Xor, S32),
        N::I32Shl => L::Int(IntOp::Shl, S32),
        N::I32ShrS => L::Int(IntOp::ShrS, S32),
        N::I32ShrU => L::Int(IntOp::ShrU, S32),
        N::I32Rotl => L::Int(IntOp::Rotl, S32),
        N::I32Rotr => L::Int(IntOp::Rotr, S32),
        N::I64Add => L::Int(IntOp::Add, S64),
        N::I64Sub => L::Int(IntOp::Sub, S64),
        N::I64Mul => L::Int(IntOp::Mul, S64),
        N::I64And => L::Int(IntOp::And, S64),
        N::I64Or => L::Int(IntOp::Or, S64),
        N::I64Xor => L::Int(IntOp::Xor, S64),
        N::I64Shl => L::Int(IntOp::Shl, S64),
        N::I64ShrS => L::Int(IntOp::ShrS, S64),
        N::I64ShrU => L::Int(IntOp::ShrU, S64),
        N::I64Rotl => L::Int(IntOp::Rotl, S64),
        N::I64Rotr => L::Int(IntOp::Rotr, S64),
        N::I32DivS => L::Div(DivOp::DivS, S32),
        N::I32DivU => L::Div(DivOp::DivU, S32),
        N::I32RemS => L::Div(DivOp::RemS, S32),
        N::I32RemU => L::Div(DivOp::RemU, S32),
        N::I64DivS => L::Div(DivOp::DivS, S64),
        N::I64DivU => L::Div(DivOp::DivU, S64),
        N::I64RemS => L::Div(DivOp::RemS, S64),
        N::I64RemU => L::Div(DivOp::RemU, S64),
        N::F32Abs => L::FloatUnary(FloatUnaryOp::Abs, S32),
        N::F32Neg => L::FloatUnary(FloatUnaryOp::Neg, S32),
        N::F32Ceil => L::FloatUnary(FloatUnaryOp::Ceil, S32),
        N::F32Floor => L::FloatUnary(FloatUnaryOp::Floor, S32),
        N::F32Trunc => L::FloatUnary(FloatUnaryOp::Trunc, S32),
        N::F32Nearest => L::FloatUnary(FloatUnaryOp::Nearest, S32),
        N::F32Sqrt => L::FloatUnary(FloatUnaryOp::Sqrt, S32),
        N::F64Abs => L::FloatUnary(FloatUnaryOp::Abs, S64),
        N::F64Neg => L::FloatUnary(FloatUnaryOp::Neg, S64),
        N::F64Ceil => L::FloatUnary(FloatUnaryOp::Ceil, S64),
        N::F64Floor => L::FloatUnary(FloatUnaryOp::Floor, S64),
        N::F64Trunc => L::FloatUnary(FloatUnaryOp::Trunc, S64),
        N::F64Nearest => L::FloatUnary(FloatUnaryOp::Nearest, S64),
        N::F64Sqrt => L::FloatUnary(FloatUnaryOp::Sqrt, S64),
        N::F32Add => L::Float(FloatOp::Add, S32),
        N::F32Sub => L::Float(FloatOp::Sub, S32),
        N::F32Mul => L::Float(FloatOp::Mul, S32),
        N::F32Div => L::Float(FloatOp::Div, S32),
        N::F32Min => L::Float(FloatOp::Min, S32),
        N::F32Max => L::Float(FloatOp::Max, S32),
        N::F32Copysign => L::Float(FloatOp::Copysign, S32),
        N::F64Add => L::Float(FloatOp::Add, S64),
        N::F64Sub => L::Float(FloatOp::Sub, S64),
        N::F64Mul => L::Float(FloatOp::Mul, S64),
        N::F64Div => L::Float(FloatOp::Div, S64),
        N::F64Min => L::Float(FloatOp::Min, S64),
        N::F64Max => L::Float(FloatOp::Max, S64),
        N::F64Copysign => L::Float(FloatOp::Copysign, S64),
        N::I32WrapI64 => L::Unary(UnaryOp::Extend32U, S64),
        N::I64ExtendI32S => L::Unary(UnaryOp::Extend32S, S64),
        N::I64ExtendI32U => L::ZeroExtend,
        N::I32Extend8S => L::Unary(UnaryOp::Extend8S, S32),
        N::I32Extend16S => L::Unary(UnaryOp::Extend16S, S32),
        N::I64Extend8S => L::Unary(UnaryOp::Extend8S, S64),
        N::I64Extend16S => L::Unary(UnaryOp::Extend16S, S64),
        N::I64Extend32S => L::Unary(UnaryOp::Extend32S, S64),
        N::I32TruncF32S => trunc(true, false, S32, S32),
        N::I32TruncF32U => trunc(false, false, S32, S32),
        N::I32TruncF64S => trunc(true, false, S32, S64),
        N::I32TruncF64U => trunc(false, false, S32, S64),
        N::I64TruncF32S => trunc(true, false, S64, S32),
        N::I64TruncF32U => trunc(false, false, S64, S32),
        N::I64TruncF64S => trunc(true, false, S64, S64),
        N::I64TruncF64U => trunc(false, false, S64, S64),
        N::I32TruncSatF32S => trunc(true, true, S32, S32),
        N::I32TruncSatF32U => trunc(false, true, S32, S32),
        N::I32TruncSatF64S => trunc(true, true, S32, S64),
        N::I32TruncSatF64U => trunc(false, true, S32, S64),
        N::I64TruncSatF32S => trunc(true, true, S64, S32),
        N::I64TruncSatF32U => trunc(false, true, S64, S32),
        N::I64TruncSatF64S => trunc(true, true, S64, S64),
        N::I64TruncSatF64U => trunc(false, true, S64, S64),
        N::F32ConvertI32S => convert(true, S32, S32),
        N::F32ConvertI32U => convert(false, S32, S32),
        N::F32ConvertI64S => convert(true, S64, S32),
        N::F32ConvertI64U => convert(false, S64, S32),
        N::F64ConvertI32S => convert(true, S32, S64),
        N::F64ConvertI32U => convert(false, S32, S64),
        N::F64ConvertI64S => convert(true, S64, S64),
        N::F64ConvertI64U => convert(false, S64, S64),
        N::F32DemoteF64 => L::FloatToFloat(Resize { to: S32 }),
        N::F64PromoteF32 => L::FloatToFloat(Resize { to: S64 }),
        N::I32ReinterpretF32 => L::FloatToInt(Reinterpret { to_float: false, size: S32 }),
        N::I64ReinterpretF64 => L::FloatToInt(Reinterpret { to_float: false, size: S64 }),
        N::F32ReinterpretI32 => L::IntToFloat(Reinterpret { to_float: true, size: S32 }),
        N::F64ReinterpretI64 => L::IntToFloat(Reinterpret { to_float: true, size: S64 }),
    }
}

fn load_kind(op: LoadOp) -> Result<LoadKind, MTy> {
    Ok(match op {
        LoadOp::I32Load => LoadKind::I32,
        LoadOp::I64Load => LoadKind::I64,
        LoadOp::I32Load8S => LoadKind::I32_8S,
        LoadOp::I32Load8U => LoadKind::I32_8U,
        LoadOp::I32Load16S => LoadKind::I32_16S,
        LoadOp::I32Load16U => LoadKind::I32_16U,
        LoadOp::I64Load8S => LoadKind::I64_8S,
        LoadOp::I64Load8U => LoadKind::I64_8U,
        LoadOp::I64Load16S => LoadKind::I64_16S,
        LoadOp::I64Load16U => LoadKind::I64_16U,
        LoadOp::I64Load32S => LoadKind::I64_32S,
        LoadOp::I64Load32U => LoadKind::I64_32U,
        LoadOp::F32Load => return Err(MTy::F32),
        LoadOp::F64Load => return Err(MTy::F64),
    })
}

fn store_kind(op: StoreOp) -> Result<StoreKind, MTy> {
    Ok(match op {
        StoreOp::I32Store8 | StoreOp::I64Store8 => StoreKind::B8,
        StoreOp::I32Store16 | StoreOp::I64Store16 => StoreKind::B16,
        StoreOp::I32Store | StoreOp::I64Store32 => StoreKind::B32,
        StoreOp::I64Store => StoreKind::B64,
        StoreOp::F32Store => return Err(MTy::F32),
        StoreOp::F64Store => return Err(MTy::F64),
    })
}

/// The constant effective address of a heap access to `addr + offset`, when `addr` is an `i32`
/// constant and the sum fits the access's 32-bit offset.
fn folded_address(f: &Function, addr: Value, offset: u64) -> Option<u32> {
    match f.const_of(addr)? {
        Const::I32(k) => u32::try_from(u64::from(k) + offset).ok(),
        _ => None,
    }
}

/// Lowers `f` (built and optimized, in a module with `num_imported` imported functions) whose
/// entry parameters are in the frame slots `entry`.
pub fn lower(
    f: &Function,
    num_imported: u32,
    entry: &EntrySlots,
    conv: &Convention,
    immediates: &dyn Immediates,
) -> Result<VCode, CompileError> {
    let mut l = Lower::new(f, num_imported, conv, immediates)?;
    l.run(entry)?;
    Ok(l.finish())
}

/// The calling conventions the lowered code uses.
pub struct Convention {
    /// The caller-saved registers, which every call clobbers.
    pub call_clobbers: regalloc2::PRegSet,
    /// The scratch registers the instructions that borrow them clobber.
    pub lent: LentScratch,
    /// The ISA's argument registers (integer, float) for calls of defined functions in tier 2's
    /// register convention (`opt::abi`); empty: every call uses the slot convention.
    pub argument_registers: (&'static [Reg], &'static [FReg]),
    /// The function's own register convention when it is entered by one (compiled for calls,
    /// not for on-stack replacement): its register parameters come from registers and its first
    /// result leaves in one.
    pub entry: Option<RegisterAbi>,
}

impl Convention {
    /// The conventions of `f` with the registers of `regs` and the ISA's `argument_registers`,
    /// entered by a call (`by_call`: in the register convention, when the ISA has one) or by
    /// on-stack replacement (in the slot convention).
    pub fn new(
        f: &Function,
        regs: &RegEnv,
        argument_registers: (&'static [Reg], &'static [FReg]),
        by_call: bool,
    ) -> Result<Convention, CompileError> {
        let entry = match by_call {
            true => {
                let params: Vec<MTy> =
                    f.sig.params.iter().map(|&t| mty(t)).collect::<Result<_, _>>()?;
                let first_result = f.sig.results.first().map(|&t| mty(t)).transpose()?;
                RegisterAbi::new(params, first_result, argument_registers)
            }
            false => None,
        };
        let (call_clobbers, lent) = (regs.call_clobbers, regs.lent);
        Ok(Convention { call_clobbers, lent, argument_registers, entry })
    }
}

struct Lower<'f> {
    f: &'f Function,
    /// Which constants the ISA takes as immediates and materializes in one instruction.
    immediates: &'f dyn Immediates,
    num_imported: u32,
    /// VReg of each IR value (`None`: not an integer or float register value).
    vregs: Vec<Option<VReg>>,
    /// Uses of each value (operands and branch arguments).
    uses: Vec<u32>,
    /// The block of each instruction in the layout (what [`Lower::sole_def_in`] asks, per
    /// branch and select: searching the block each time was quadratic in its length).
    inst_block: Vec<Option<Block>>,
    /// Branch edges into each block from the layout's blocks: an edge needs a block of its own
    /// only when its target has others (see [`Lower::edge`]).
    edges_into: Vec<u32>,
    /// Constants folded everywhere they are used: not materialized.
    folded: Vec<bool>,
    next_vreg: usize,
    /// Reachable IR blocks in order, and their VCode block.
    order: Vec<Block>,
    mblock: Vec<Option<MB>>,
    blocks: Vec<MBlock>,
    insts: Vec<MInst>,
    /// Per VCode block under construction, its instructions with the IR instruction each
    /// came from (flattened in `finish`).
    block_insts: Vec<Vec<(MInst, Option<Inst>)>>,
    /// The IR instruction being lowered (`None` for the entry's parameter loads).
    origin: Option<Inst>,
    /// Compares of the block being lowered that selects test in place (not lowered alone).
    fused_compares: Vec<Inst>,
    /// The integer additions of the block being lowered and the sums they compute
    /// ([`scaled_sum`]); `absorbed` marks the instructions folded into one of them.
    scaled_sums: HashMap<Inst, ScaledSum>,
    absorbed: Vec<bool>,
    /// The values sums read as another value plus a constant (`decide_offset_terms`).
    offset_terms: HashMap<Value, (Value, i64)>,
    call_clobbers: regalloc2::PRegSet,
    lent: LentScratch,
    argument_registers: (&'static [Reg], &'static [FReg]),
    /// The function's own register convention, if it is entered by one.
    own_abi: Option<RegisterAbi>,
    /// The frame offset of the call area, fixed once the spill slots are counted: calls and
    /// helpers are lowered against this placeholder and patched (see `finish`).
    call_area_slots: u32,
    /// The VCode block being lowered, where integer constants are materialized at their uses.
    current: Option<MB>,
}

/// Whom a call in the register convention calls.
#[derive(Clone, Copy)]
enum RegisterCallee {
    /// Defined function `def`, module index `func`.
    Direct { def: u32, func: u32 },
    /// `call_indirect` of module type `ty` through `table` at table index `index`.
    Indirect { ty: u32, table: u32, index: Value },
}

/// Where a constant operand would be folded as an immediate (see [`Immediates`]).
#[derive(Clone, Copy)]
enum ImmUse {
    Int(IntOp, Size),
    Compare(Size),
    /// A division's constant divisor: the ISA layer puts it in a scratch register itself and
    /// leaves out the checks it cannot fail (zero, and `-1` for signed division).
    Divisor,
}

/// Placeholder frame offset of the call area in lowered instructions; `emit` relocates it above
/// the spill slots.
pub const CALL_AREA: u32 = 1 << 30;

impl<'f> Lower<'f> {
    fn new(
        f: &'f Function,
        num_imported: u32,
        conv: &Convention,
        immediates: &'f dyn Immediates,
    ) -> Result<Self, CompileError> {
        let mut uses = vec![0u32; f.values.len()];
        let mut inst_block = vec![None; f.insts.len()];
        let mut edges_into = vec![0u32; f.blocks.len()];
        for &b in &f.layout {
            for &i in &f.blocks[b.index()].insts {
                inst_block[i.index()] = Some(b);
                let d = &f.insts[i.index()];
                for a in &d.args {
                    uses[a.index()] += 1;
                }
                for t in &d.targets {
                    edges_into[t.block.index()] += 1;
                    for a in &t.args {
                        uses[a.index()] += 1;
                    }
                }
            }
        }
        Ok(Lower {
            f,
            immediates,
            num_imported,
            vregs: vec![None; f.values.len()],
            uses,
            inst_block,
            edges_into,
            folded: vec![false; f.values.len()],
            next_vreg: 0,
            order: Vec::new(),
            mblock: vec![None; f.blocks.len()],
            blocks: Vec::new(),
            insts: Vec::new(),
            block_insts: Vec::new(),
            origin: None,
            fused_compares: Vec::new(),
            scaled_sums: HashMap::new(),
            absorbed: vec![false; f.insts.len()],
            offset_terms: HashMap::new(),
            call_clobbers: conv.call_clobbers,
            lent: conv.lent,
            argument_registers: conv.argument_registers,
            own_abi: conv.entry.clone(),
            call_area_slots: 0,
            current: None,
        })
    }

    fn vreg(&mut self, v: Value) -> Result<VReg, CompileError> {
        if let Some(r) = self.vregs[v.index()] {
            return Ok(r);
        }
        if let Some(mb) = self.current
            && let Some(imm) = self.cheap_int_const(v)
        {
            return Ok(self.rematerialize(mb, v, imm));
        }
        let class = mty(self.f.ty(v))?.class();
        let r = VReg::new(self.next_vreg, class);
        self.next_vreg += 1;
        self.vregs[v.index()] = Some(r);
        Ok(r)
    }

    fn new_mblock(&mut self) -> MB {
        self.blocks.push(MBlock::default());
        self.block_insts.push(Vec::new());
        MB::new(self.blocks.len() - 1)
    }

    /// Reachable blocks in layout order, entry first.
    fn reachable(&self) -> Vec<Block> {
        let mut seen = vec![false; self.f.blocks.len()];
        let entry = self.f.entry();
        let mut stack = vec![entry];
        seen[entry.index()] = true;
        while let Some(b) = stack.pop() {
            for s in self.f.successors(b) {
                if !seen[s.index()] {
                    seen[s.index()] = true;
                    stack.push(s);
                }
            }
        }
        self.f.layout.iter().copied().filter(|b| seen[b.index()]).collect()
    }

    /// The value of an integer constant (`i32`, `i64` or a null reference), as its instruction
    /// materializes it.
    fn int_const(&self, v: Value) -> Option<(Size, i64)> {
        match self.f.const_of(v)? {
            Const::I32(x) => Some((Size::S32, x as i32 as i64)),
            Const::I64(x) => Some((Size::S64, x as i64)),
            Const::Null(_) => Some((Size::S64, 0)),
            _ => None,
        }
    }

    /// [`Lower::int_const`] when the ISA puts it in a register in one instruction: such constants
    /// are rematerialized at each use; longer ones (aarch64's `movz` + `movk` sequences) are
    /// materialized once, at their definition.
    fn cheap_int_const(&self, v: Value) -> Option<(Size, i64)> {
        self.int_const(v).filter(|&(size, imm)| self.immediates.one_instruction(size, imm))
    }

    /// A fresh register holding integer constant `v`, materialized in `mb` right before the
    /// instruction about to use it. Materializing a cheap integer constant at each use (as
    /// Cranelift does) keeps its live range one instruction long: one materialized at its
    /// definition, which the passes hoist to the entry, stays live across every loop and is
    /// spilled and reloaded under register pressure, costing a load where a `mov` of an
    /// immediate would do.
    fn rematerialize(&mut self, mb: MB, v: Value, (size, imm): (Size, i64)) -> VReg {
        let dst = VReg::new(self.next_vreg, mty(self.f.ty(v)).expect("an integer type").class());
        self.next_vreg += 1;
        self.push(mb, MInst::Iconst { size, dst, imm });
        dst
    }

    /// A constant integer operand that fits a 32-bit immediate.
    fn imm_of(&self, v: Value) -> Option<i64> {
        match self.f.const_of(v)? {
            Const::I32(x) => Some(x as i32 as i64),
            Const::I64(x) => i32::try_from(x as i64).ok().map(i64::from),
            Const::Null(_) => Some(0),
            _ => None,
        }
    }

    /// The constant right-hand operand `v` of `use_` as an immediate, when the ISA encodes it
    /// in the instruction.
    fn imm_for(&self, use_: ImmUse, v: Value) -> Option<i64> {
        let imm = self.imm_of(v)?;
        let takes = match use_ {
            ImmUse::Int(op, size) => self.immediates.int_op_takes(op, size, imm),
            ImmUse::Compare(size) => self.immediates.compare_takes(size, imm),
            ImmUse::Divisor => true,
        };
        takes.then_some(imm)
    }

    /// `v`, the right-hand operand of `use_`, as an immediate the instruction encodes, or a
    /// register.
    fn ri(&mut self, use_: ImmUse, v: Value) -> Result<RI, CompileError> {
        match self.imm_for(use_, v) {
            Some(imm) => Ok(RI::Imm(imm)),
            None => Ok(RI::Reg(self.vreg(v)?)),
        }
    }

    fn run(&mut self, entry: &EntrySlots) -> Result<(), CompileError> {
        self.order = self.reachable();
        self.decide_folding();
        self.decide_offset_terms();
        for &b in &self.order.clone() {
            let mb = self.new_mblock();
            self.mblock[b.index()] = Some(mb);
        }
        // Block parameters (the entry's come from the frame instead).
        for (n, &b) in self.order.clone().iter().enumerate() {
            let mb = self.mblock[b.index()].unwrap();
            let params: Vec<VReg> = self.f.blocks[b.index()]
                .params
                .iter()
                .map(|&p| self.vreg(p))
                .collect::<Result<_, _>>()?;
            if n == 0 {
                if params.len() != entry.0.len() {
                    return Err(CompileError::Internal("entry slots mismatch".into()));
                }
                let f = self.f;
                let mut in_registers = Vec::new();
                for (i, &p) in f.blocks[b.index()].params.iter().enumerate() {
                    let loc = self.own_abi.as_ref().map_or(ArgLoc::Slot, |abi| abi.params[i]);
                    if let Some(r) = abi::preg(loc) {
                        in_registers.push((params[i], r));
                        continue;
                    }
                    let ty = mty(self.f.ty(p))?;
                    let slot = entry.0[i] * SLOT_BYTES;
                    self.block_insts[0].push((MInst::LoadSlot { ty, dst: params[i], slot }, None));
                }
                if !in_registers.is_empty() {
                    self.block_insts[0].insert(0, (MInst::Args { params: in_registers }, None));
                }
            } else {
                self.blocks[mb.index()].params = params;
            }
        }
        for &b in &self.order.clone() {
            self.lower_block(b)?;
        }
        Ok(())
    }

    /// Constants whose every use is an operand position that takes an immediate (or a heap
    /// access's address, folded into its offset).
    fn decide_folding(&mut self) {
        let mut foldable_uses = vec![0u32; self.f.values.len()];
        for &b in &self.order.clone() {
            for &i in &self.f.blocks[b.index()].insts {
                let d = &self.f.insts[i.index()];
                let rhs_imm = match &d.kind {
                    InstKind::Num(op) => match num_lowering(*op) {
                        NumLowering::Int(op, size) => Some(ImmUse::Int(op, size)),
                        NumLowering::Cmp(_, size) => Some(ImmUse::Compare(size)),
                        NumLowering::Div(..) => Some(ImmUse::Divisor),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(use_) = rhs_imm
                    && d.args.len() == 2
                    && self.imm_for(use_, d.args[1]).is_some()
                {
                    foldable_uses[d.args[1].index()] += 1;
                }
                if let InstKind::Load { offset, .. } | InstKind::Store { offset, .. } = d.kind
                    && folded_address(self.f, d.args[0], offset).is_some()
                {
                    foldable_uses[d.args[0].index()] += 1;
                }
            }
        }
        for (v, &foldable) in foldable_uses.iter().enumerate() {
            self.folded[v] = foldable > 0 && foldable == self.uses[v];
        }
    }

    fn push(&mut self, mb: MB, inst: MInst) {
        self.block_insts[mb.index()].push((inst, self.origin));
    }

    fn lower_block(&mut self, b: Block) -> Result<(), CompileError> {
        let mb = self.mblock[b.index()].unwrap();
        self.current = Some(mb);
        let f = self.f;
        let insts = &f.blocks[b.index()].insts;
        let (body, term) = insts.split_at(insts.len() - 1);
        // A compare consumed only by this block's branch, or by one select, becomes part of it.
        let fused = self.fusable_compare(b, term[0]);
        self.fused_compares = body.iter().filter_map(|&i| self.select_compare(b, i)).collect();
        self.plan_scaled_sums(b, body);
        for &i in body {
            if Some(i) == fused || self.fused_compares.contains(&i) || self.absorbed[i.index()] {
                continue;
            }
            self.origin = Some(i);
            self.lower_inst(mb, i)?;
        }
        self.origin = Some(term[0]);
        self.lower_terminator(mb, term[0], fused)
    }

    /// The compare (or `eqz`) that defines `term`'s condition, when it is in this block and used
    /// only there (integer or float).
    fn fusable_compare(&self, b: Block, term: Inst) -> Option<Inst> {
        let d = &self.f.insts[term.index()];
        if d.kind != InstKind::Brif {
            return None;
        }
        self.sole_compare(b, d.args[0], true).or_else(|| self.sole_mask(b, d.args[0]))
    }

    /// The `and` with a constant mask the ISA's `and` takes that defines `cond`, when it is in
    /// block `b` and `cond` has no other use: a branch on it tests the bits in place (x86-64
    /// `test`, aarch64 `tbz`/`tst`).
    fn sole_mask(&self, b: Block, cond: Value) -> Option<Inst> {
        let def = self.sole_def_in(b, cond)?;
        let d = &self.f.insts[def.index()];
        let InstKind::Num(op) = d.kind else { return None };
        let NumLowering::Int(IntOp::And, size) = num_lowering(op) else { return None };
        self.imm_for(ImmUse::Int(IntOp::And, size), d.args[1])?;
        Some(def)
    }

    /// The compare that defines the condition of `inst` when that is a select and the compare
    /// qualifies as for [`Lower::fusable_compare`] and is an integer one.
    fn select_compare(&self, b: Block, inst: Inst) -> Option<Inst> {
        let d = &self.f.insts[inst.index()];
        if d.kind != InstKind::Select {
            return None;
        }
        self.sole_compare(b, d.args[2], false)
    }

    /// The compare (or `eqz`) defining `cond`, when it is in block `b`, `cond` has no other use,
    /// and it is an integer one or `floats` are welcome.
    fn sole_compare(&self, b: Block, cond: Value, floats: bool) -> Option<Inst> {
        let def = self.sole_def_in(b, cond)?;
        let InstKind::Num(op) = self.f.insts[def.index()].kind else { return None };
        match num_lowering(op) {
            NumLowering::Cmp(..) | NumLowering::Eqz(_) => Some(def),
            NumLowering::FloatCmp(..) if floats => Some(def),
            _ => None,
        }
    }

    /// The instruction defining `v`, when it is in block `b` and `v` has no other use: what a
    /// fused branch or select may absorb.
    fn sole_def_in(&self, b: Block, v: Value) -> Option<Inst> {
        let def = self.f.def_inst(v)?;
        let sole = self.uses[v.index()] == 1 && self.inst_block[def.index()] == Some(b);
        sole.then_some(def)
    }

    fn lower_inst(&mut self, mb: MB, i: Inst) -> Result<(), CompileError> {
        // The function outlives `self`'s borrows: no copy of the instruction is needed.
        let f = self.f;
        let d = &f.insts[i.index()];
        let result = |l: &mut Self, n: usize| l.vreg(d.results[n]);
        match &d.kind {
            InstKind::Const(c) => {
                let v = d.results[0];
                if self.folded[v.index()]
                    || self.uses[v.index()] == 0
                    || self.cheap_int_const(v).is_some()
                {
                    // Cheap integer constants are materialized at each use instead
                    // (`rematerialize`).
                    return Ok(());
                }
                let dst = result(self, 0)?;
                let inst = match *c {
                    Const::F32(bits) => MInst::Fconst { size: Size::S32, dst, bits: bits as u64 },
                    Const::F64(bits) => MInst::Fconst { size: Size::S64, dst, bits },
                    Const::V128(_) => return Err(unsupported("v128 constants (SIMD)")),
                    Const::I32(_) | Const::I64(_) | Const::Null(_) => {
                        let (size, imm) = self.int_const(v).expect("an integer constant");
                        MInst::Iconst { size, dst, imm }
                    }
                };
                self.push(mb, inst);
            }
            InstKind::Num(_) if self.scaled_sums.contains_key(&i) => {
                let ScaledSum { size, base, index, disp } = self.scaled_sums[&i];
                let index = match index {
                    Some((v, shift)) => Some((self.vreg(v)?, shift)),
                    None => None,
                };
                let inst = MInst::AddScaled {
                    size,
                    dst: result(self, 0)?,
                    base: self.vreg(base)?,
                    index,
                    disp,
                };
                self.push(mb, inst);
            }
            InstKind::Num(op) => self.lower_num(mb, *op, &d.args, d.results[0])?,
            InstKind::Select => {
                let ty = mty(self.f.ty(d.results[0]))?;
                let cond = match self.f.def_inst(d.args[2]) {
                    Some(c) if self.fused_compares.contains(&c) => self.comparison(c)?,
                    _ => SelectCond::Flag(self.vreg(d.args[2])?),
                };
                let inst = MInst::Select {
                    ty,
                    dst: result(self, 0)?,
                    a: self.vreg(d.args[0])?,
                    b: self.vreg(d.args[1])?,
                    cond,
                };
                self.push(mb, inst);
            }
            InstKind::Copy => {
                let ty = mty(self.f.ty(d.results[0]))?;
                let inst = MInst::Mov { ty, dst: result(self, 0)?, src: self.vreg(d.args[0])? };
                self.push(mb, inst);
            }
            InstKind::Load { op, offset, mem } => {
                self.check_memory(*mem, *offset)?;
                let dst = result(self, 0)?;
                let (addr, offset) = self.heap_address(d.args[0], *offset)?;
                let inst = match load_kind(*op) {
                    Ok(kind) => MInst::Load { kind, dst, addr, offset },
                    Err(ty) => MInst::LoadF { size: ty.size(), dst, addr, offset },
                };
                self.push(mb, inst);
            }
            InstKind::Store { op, offset, mem } => {
                self.check_memory(*mem, *offset)?;
                let (addr, offset) = self.heap_address(d.args[0], *offset)?;
                let src = self.vreg(d.args[1])?;
                let inst = match store_kind(*op) {
                    Ok(kind) => MInst::Store { kind, src, addr, offset },
                    Err(ty) => MInst::StoreF { size: ty.size(), src, addr, offset },
                };
                self.push(mb, inst);
            }
            InstKind::GlobalGet(g) => {
                let ty = mty(self.f.ty(d.results[0]))?;
                let inst = MInst::GlobalGet { ty, dst: result(self, 0)?, index: *g };
                self.push(mb, inst);
            }
            InstKind::GlobalSet(g) => {
                let ty = mty(self.f.ty(d.args[0]))?;
                let inst = MInst::GlobalSet { ty, src: self.vreg(d.args[0])?, index: *g };
                self.push(mb, inst);
            }
            InstKind::MemorySize(0) => {
                let inst = MInst::MemorySize { dst: result(self, 0)? };
                self.push(mb, inst);
            }
            InstKind::MemoryGrow(0) => {
                let inst =
                    MInst::MemoryGrow { dst: result(self, 0)?, delta: self.vreg(d.args[0])? };
                self.push(mb, inst);
            }
            // Tier 2 takes no 64-bit memory: memory 0's addresses are `i32`s.
            InstKind::MemoryFill(0) => self.bulk_memory(mb, BulkMemory::Fill, &d.args)?,
            InstKind::MemoryCopy { dst: 0, src: 0 } => {
                self.bulk_memory(mb, BulkMemory::Copy, &d.args)?
            }
            InstKind::MemoryInit { mem: 0, data } => {
                self.runtime(mb, RuntimeOp::MemoryInit, *data, 0, &d.args, &[])?
            }
            InstKind::DataDrop(data) => {
                self.runtime(mb, RuntimeOp::DataDrop, *data, 0, &[], &[])?
            }
            InstKind::TableGet(t) => {
                self.runtime(mb, RuntimeOp::TableGet, *t, 0, &d.args, &d.results)?
            }
            InstKind::TableSet(t) => self.runtime(mb, RuntimeOp::TableSet, *t, 0, &d.args, &[])?,
            InstKind::TableSize(t) => {
                self.runtime(mb, RuntimeOp::TableSize, *t, 0, &[], &d.results)?
            }
            InstKind::TableGrow(t) => {
                self.runtime(mb, RuntimeOp::TableGrow, *t, 0, &d.args, &d.results)?
            }
            InstKind::TableFill(t) => {
                self.runtime(mb, RuntimeOp::TableFill, *t, 0, &d.args, &[])?
            }
            InstKind::TableCopy { dst, src } => {
                self.runtime(mb, RuntimeOp::TableCopy, *dst, *src, &d.args, &[])?
            }
            InstKind::TableInit { table, elem } => {
                self.runtime(mb, RuntimeOp::TableInit, *table, *elem, &d.args, &[])?
            }
            InstKind::ElemDrop(e) => self.runtime(mb, RuntimeOp::ElemDrop, *e, 0, &[], &[])?,
            InstKind::RefIsNull => {
                let dst = result(self, 0)?;
                let src = self.vreg(d.args[0])?;
                let inst = MInst::Compare {
                    cond: Cond::Eq,
                    size: Size::S64,
                    dst,
                    lhs: src,
                    rhs: RI::Imm(0),
                };
                self.push(mb, inst);
            }
            InstKind::RefFunc(func) => {
                self.runtime(mb, RuntimeOp::RefFunc, func.0, 0, &[], &d.results)?
            }
            InstKind::Call(func) => {
                let callee = match func.0.checked_sub(self.num_imported) {
                    Some(def) => Callee::Defined { def, func: func.0 },
                    None => Callee::Import(func.0),
                };
                if let Callee::Defined { def, func } = callee
                    && let Some(abi) = self.register_abi(&d.args, &d.results)?
                {
                    let callee = RegisterCallee::Direct { def, func };
                    self.call_by_registers(mb, callee, abi, &d.args, &d.results)?;
                } else {
                    let call = MInst::Call { callee, callee_fp: CALL_AREA };
                    self.call(mb, call, &d.args, &d.results)?;
                }
            }
            InstKind::CallIndirect { sig, table } => {
                let (args, index) = d.args.split_at(d.args.len() - 1);
                if let Some(abi) = self.register_abi(args, &d.results)? {
                    let callee =
                        RegisterCallee::Indirect { ty: *sig, table: *table, index: index[0] };
                    return self.call_by_registers(mb, callee, abi, args, &d.results);
                }
                // The table index is the last argument: in the slot after the callee's.
                let index_slot = CALL_AREA + (d.args.len() as u32 - 1) * SLOT_BYTES;
                let (ty, table) = (*sig, *table);
                let inst = MInst::CallIndirect { ty, table, callee_fp: CALL_AREA, index_slot };
                self.call(mb, inst, &d.args, &d.results)?;
            }
            InstKind::Fuel(amount) => self.push(mb, MInst::Fuel { amount: *amount }),
            InstKind::Simd(op) => return Err(unsupported(format!("SIMD operator {}", op.name))),
            other => return Err(unsupported(format!("{other:?}"))),
        }
        Ok(())
    }

    /// The address operand and offset of a heap access to `addr + offset`: a constant address
    /// is folded into the offset (the access needs no address register) when the sum still
    /// fits 32 bits (wasm adds them without wrapping, so the sum is exact).
    fn heap_address(
        &mut self,
        addr: Value,
        offset: u64,
    ) -> Result<(Option<VReg>, u32), CompileError> {
        match folded_address(self.f, addr, offset) {
            Some(at) => Ok((None, at)),
            None => Ok((Some(self.vreg(addr)?), offset as u32)),
        }
    }

    /// Only memory 0 exists in WebAssembly 2.0; offsets past 32 bits cannot be encoded.
    fn check_memory(&self, mem: u32, offset: u64) -> Result<(), CompileError> {
        if mem != 0 || offset > u32::MAX as u64 {
            return Err(unsupported(format!("memory {mem} access at offset {offset}")));
        }
        Ok(())
    }

    fn lower_num(
        &mut self,
        mb: MB,
        op: NumOp,
        args: &[Value],
        result: Value,
    ) -> Result<(), CompileError> {
        let dst = self.vreg(result)?;
        let inst = match num_lowering(op) {
            NumLowering::Int(op, size) => {
                let rhs = self.ri(ImmUse::Int(op, size), args[1])?;
                let tied = self.immediates.tied(op, size, matches!(rhs, RI::Reg(_)));
                MInst::IntOp { op, size, dst, lhs: self.vreg(args[0])?, rhs, tied }
            }
            NumLowering::Div(op, size) => {
                let rhs = self.ri(ImmUse::Divisor, args[1])?;
                MInst::Div { op, size, dst, lhs: self.vreg(args[0])?, rhs }
            }
            NumLowering::Unary(op, size) => {
                MInst::Unary { op, size, dst, src: self.vreg(args[0])? }
            }
            NumLowering::Eqz(size) => MInst::Compare {
                cond: Cond::Eq,
                size,
                dst,
                lhs: self.vreg(args[0])?,
                rhs: RI::Imm(0),
            },
            NumLowering::Cmp(cond, size) => {
                let rhs = self.ri(ImmUse::Compare(size), args[1])?;
                MInst::Compare { cond, size, dst, lhs: self.vreg(args[0])?, rhs }
            }
            NumLowering::Float(op, size) => {
                MInst::FloatOp { op, size, dst, lhs: self.vreg(args[0])?, rhs: self.vreg(args[1])? }
            }
            NumLowering::FloatUnary(op, size) => {
                MInst::FloatUnary { op, size, dst, src: self.vreg(args[0])? }
            }
            NumLowering::FloatCmp(cmp, size) => MInst::FloatCompare {
                cmp,
                size,
                dst,
                lhs: self.vreg(args[0])?,
                rhs: self.vreg(args[1])?,
            },
            NumLowering::FloatToInt(op) => MInst::FloatToInt { op, dst, src: self.vreg(args[0])? },
            NumLowering::IntToFloat(op) => MInst::IntToFloat { op, dst, src: self.vreg(args[0])? },
            NumLowering::FloatToFloat(op) => {
                MInst::FloatToFloat { op, dst, src: self.vreg(args[0])? }
            }
            NumLowering::ZeroExtend => MInst::Mov { ty: MTy::I64, dst, src: self.vreg(args[0])? },
        };
        self.push(mb, inst);
        Ok(())
    }

    /// Stores `args` into consecutive slots of the call area, runs `call`, loads `results` from
    /// the area's first slots.
    fn call(
        &mut self,
        mb: MB,
        call: MInst,
        args: &[Value],
        results: &[Value],
    ) -> Result<(), CompileError> {
        for (n, &a) in args.iter().enumerate() {
            let ty = mty(self.f.ty(a))?;
            let src = self.vreg(a)?;
            let slot = CALL_AREA + n as u32 * SLOT_BYTES;
            self.push(mb, MInst::StoreSlot { ty, src, slot });
        }
        self.push(mb, call);
        self.load_results(mb, results, 0, args.len())
    }

    /// Loads `results` from `first` on from the call area's slots, once the call (with `args`
    /// arguments) is lowered, and counts the slots the call needs.
    fn load_results(
        &mut self,
        mb: MB,
        results: &[Value],
        first: usize,
        args: usize,
    ) -> Result<(), CompileError> {
        for (n, &r) in results.iter().enumerate().skip(first) {
            let ty = mty(self.f.ty(r))?;
            let dst = self.vreg(r)?;
            let slot = CALL_AREA + n as u32 * SLOT_BYTES;
            self.push(mb, MInst::LoadSlot { ty, dst, slot });
        }
        self.call_area_slots = self.call_area_slots.max(args.max(results.len()) as u32 + 1);
        Ok(())
    }

    /// The register convention of a callee taking `args` and returning `results`, if the ISA
    /// has one.
    fn register_abi(
        &self,
        args: &[Value],
        results: &[Value],
    ) -> Result<Option<RegisterAbi>, CompileError> {
        let params: Vec<MTy> = args.iter().map(|&a| mty(self.f.ty(a))).collect::<Result<_, _>>()?;
        let first_result = results.first().map(|&r| mty(self.f.ty(r))).transpose()?;
        Ok(RegisterAbi::new(params, first_result, self.argument_registers))
    }

    /// A call in the register convention `abi`: arguments in registers as fixed uses (the rest
    /// stored to the call area), the first result a fixed def (the rest loaded from the call
    /// area).
    fn call_by_registers(
        &mut self,
        mb: MB,
        callee: RegisterCallee,
        abi: RegisterAbi,
        args: &[Value],
        results: &[Value],
    ) -> Result<(), CompileError> {
        let mut in_registers: Vec<(VReg, regalloc2::PReg)> = Vec::new();
        for (n, &a) in args.iter().enumerate() {
            let ty = mty(self.f.ty(a))?;
            let mut src = self.vreg(a)?;
            let Some(r) = abi::preg(abi.params[n]) else {
                let slot = CALL_AREA + n as u32 * SLOT_BYTES;
                self.push(mb, MInst::StoreSlot { ty, src, slot });
                continue;
            };
            // A value passed twice goes to its second register through a copy: one vreg with
            // two fixed registers at one instruction is more than the allocators promise.
            if in_registers.iter().any(|&(v, _)| v == src) {
                let copy = VReg::new(self.next_vreg, ty.class());
                self.next_vreg += 1;
                self.push(mb, MInst::Mov { ty, dst: copy, src });
                src = copy;
            }
            in_registers.push((src, r));
        }
        let result = match (results.first(), abi::preg(abi.result)) {
            (Some(&r0), Some(r)) => Some((self.vreg(r0)?, r)),
            _ => None,
        };
        let (locs, result_loc) = (abi.params.into(), abi.result);
        let inst = match callee {
            RegisterCallee::Direct { def, func } => MInst::CallByRegisters {
                def,
                func,
                callee_fp: CALL_AREA,
                args: in_registers,
                result,
                locs,
                result_loc,
            },
            RegisterCallee::Indirect { ty, table, index } => {
                let mut index = self.vreg(index)?;
                // The index is an ordinary use: not also one of the fixed ones.
                if in_registers.iter().any(|&(v, _)| v == index) {
                    let copy = VReg::new(self.next_vreg, regalloc2::RegClass::Int);
                    self.next_vreg += 1;
                    self.push(mb, MInst::Mov { ty: MTy::I32, dst: copy, src: index });
                    index = copy;
                }
                MInst::CallIndirectByRegisters {
                    ty,
                    table,
                    callee_fp: CALL_AREA,
                    index,
                    args: in_registers,
                    result,
                    locs,
                    result_loc,
                }
            }
        };
        self.push(mb, inst);
        self.load_results(mb, results, result.is_some() as usize, args.len())
    }

    fn bulk_memory(&mut self, mb: MB, op: BulkMemory, args: &[Value]) -> Result<(), CompileError> {
        let [a, b, c] = args[..] else {
            return Err(CompileError::Internal(format!("{op:?} takes three operands")));
        };
        let operands = [self.vreg(a)?, self.vreg(b)?, self.vreg(c)?];
        self.push(mb, MInst::BulkMemory { op, operands });
        Ok(())
    }

    fn runtime(
        &mut self,
        mb: MB,
        op: RuntimeOp,
        a: u32,
        b: u32,
        args: &[Value],
        results: &[Value],
    ) -> Result<(), CompileError> {
        let inst = MInst::Runtime { op, a, b, args: CALL_AREA };
        self.call(mb, inst, args, results)
    }

    /// A successor edge: the VCode block of IR target `t` with `args`, or, when `split` (the
    /// edge leaves a block with several successors), a new edge block that jumps there, so no
    /// edge is critical. An edge without arguments into a block nothing else enters is not
    /// critical and needs no block of its own: the allocator's moves for it go at the start of
    /// the target, where the edge block would have had them, and each block is work for every
    /// phase from here to emission.
    fn edge(
        &mut self,
        from: MB,
        t: &tierup_passes::ir::BlockCall,
        split: bool,
    ) -> Result<MB, CompileError> {
        let target = self.mblock[t.block.index()].expect("reachable target");
        let critical = !t.args.is_empty() || self.edges_into[t.block.index()] > 1;
        if !(split && critical) {
            let args: Vec<VReg> = t.args.iter().map(|&a| self.vreg(a)).collect::<Result<_, _>>()?;
            self.link(from, target, args);
            return Ok(target);
        }
        let e = self.new_mblock();
        self.link(from, e, vec![]);
        // Constant arguments are materialized on the edge, so only the path taking it pays.
        let lowering = self.current.replace(e);
        let args: Result<Vec<VReg>, _> = t.args.iter().map(|&a| self.vreg(a)).collect();
        self.current = lowering;
        self.link(e, target, args?);
        self.push(e, MInst::Jump { target });
        Ok(e)
    }

    fn link(&mut self, from: MB, to: MB, args: Vec<VReg>) {
        self.blocks[from.index()].succs.push(to);
        self.blocks[from.index()].succ_args.push(args);
        self.blocks[to.index()].preds.push(from);
    }

    fn lower_terminator(
        &mut self,
        mb: MB,
        term: Inst,
        fused: Option<Inst>,
    ) -> Result<(), CompileError> {
        let f = self.f;
        let d = &f.insts[term.index()];
        match &d.kind {
            InstKind::Jump => {
                let target = self.edge(mb, &d.targets[0], false)?;
                self.push(mb, MInst::Jump { target });
            }
            InstKind::Brif => {
                let then = self.edge(mb, &d.targets[0], true)?;
                let otherwise = self.edge(mb, &d.targets[1], true)?;
                let inst = match fused {
                    Some(c) => self.compare_branch(c, then, otherwise)?,
                    None => MInst::Brif { cond: self.vreg(d.args[0])?, then, otherwise },
                };
                self.push(mb, inst);
            }
            InstKind::BrTable => {
                let mut targets = Vec::with_capacity(d.targets.len());
                for t in &d.targets {
                    targets.push(self.edge(mb, t, true)?);
                }
                let inst = MInst::BrTable { index: self.vreg(d.args[0])?, targets };
                self.push(mb, inst);
            }
            InstKind::Return => {
                let in_register = self.own_abi.as_ref().and_then(|abi| abi::preg(abi.result));
                let mut result = None;
                for (n, &v) in d.args.iter().enumerate() {
                    let src = self.vreg(v)?;
                    if n == 0
                        && let Some(r) = in_register
                    {
                        result = Some((src, r));
                        continue;
                    }
                    let ty = mty(self.f.ty(v))?;
                    self.push(mb, MInst::StoreSlot { ty, src, slot: n as u32 * SLOT_BYTES });
                }
                self.push(mb, MInst::Ret { result });
            }
            InstKind::Trap(code) => self.push(mb, MInst::Trap { code: trap_code(*code) }),
            other => return Err(CompileError::Internal(format!("{other:?} ends a block"))),
        }
        Ok(())
    }

    fn compare_branch(
        &mut self,
        cmp: Inst,
        then: MB,
        otherwise: MB,
    ) -> Result<MInst, CompileError> {
        let d = &self.f.insts[cmp.index()];
        if let InstKind::Num(op) = d.kind
            && let NumLowering::Int(IntOp::And, size) = num_lowering(op)
        {
            let mask = self.imm_for(ImmUse::Int(IntOp::And, size), d.args[1]).expect("`sole_mask`");
            let lhs = self.vreg(d.args[0])?;
            return Ok(MInst::TestBranch { size, lhs, mask, then, otherwise });
        }
        if let InstKind::Num(op) = d.kind
            && let NumLowering::FloatCmp(cmp, size) = num_lowering(op)
        {
            let (lhs, rhs) = (d.args[0], d.args[1]);
            let (lhs, rhs) = (self.vreg(lhs)?, self.vreg(rhs)?);
            return Ok(MInst::FloatCmpBranch { cmp, size, lhs, rhs, then, otherwise });
        }
        let SelectCond::Compare { cond, size, lhs, rhs } = self.comparison(cmp)? else {
            unreachable!("a comparison")
        };
        Ok(MInst::CmpBranch { cond, size, lhs, rhs, then, otherwise })
    }

    /// A fusable compare (see [`Lower::sole_compare`]) as the condition it tests.
    fn comparison(&mut self, cmp: Inst) -> Result<SelectCond, CompileError> {
        let f = self.f;
        let d = &f.insts[cmp.index()];
        let InstKind::Num(op) = d.kind else { unreachable!("a fusable compare") };
        let (cond, size, rhs) = match num_lowering(op) {
            NumLowering::Cmp(cond, size) => {
                (cond, size, self.ri(ImmUse::Compare(size), d.args[1])?)
            }
            NumLowering::Eqz(size) => (Cond::Eq, size, RI::Imm(0)),
            _ => unreachable!("a fusable compare"),
        };
        Ok(SelectCond::Compare { cond, size, lhs: self.vreg(d.args[0])?, rhs })
    }

    /// Renumbers the blocks in a reverse postorder that keeps each loop's blocks together
    /// (`layout`): regalloc2's checker visits blocks in index order first and reports values as
    /// unknown in a block visited before its predecessors (edge blocks made by splitting are
    /// created last), regalloc2 reads loop depths from the order, and emission gets
    /// fall-throughs in that order too.
    fn order_reverse_postorder(&mut self) {
        let n = self.blocks.len();
        let succs: Vec<smallvec::SmallVec<[usize; 2]>> =
            self.blocks.iter().map(|b| b.succs.iter().map(|s| s.index()).collect()).collect();
        let order = super::layout::loop_contiguous_order(&succs);
        let mut new_index = vec![0usize; n];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let rename = |b: MB| MB::new(new_index[b.index()]);
        let mut blocks = std::mem::take(&mut self.blocks);
        let mut insts = std::mem::take(&mut self.block_insts);
        for b in &mut blocks {
            b.succs.iter_mut().chain(b.preds.iter_mut()).for_each(|x| *x = rename(*x));
        }
        for (i, _) in insts.iter_mut().flatten() {
            i.map_successors(rename);
        }
        self.blocks = order.iter().map(|&old| std::mem::take(&mut blocks[old])).collect();
        self.block_insts = order.iter().map(|&old| std::mem::take(&mut insts[old])).collect();
    }

    fn finish(mut self) -> VCode {
        self.order_reverse_postorder();
        let total: usize = self.block_insts.iter().map(Vec::len).sum();
        self.insts.reserve(total);
        let mut origins = Vec::with_capacity(total);
        for (n, insts) in std::mem::take(&mut self.block_insts).into_iter().enumerate() {
            let start = self.insts.len() as u32;
            for (inst, origin) in insts {
                self.insts.push(inst);
                origins.push(origin);
            }
            self.blocks[n].start = start;
            self.blocks[n].end = self.insts.len() as u32;
        }
        for b in &self.blocks {
            let last = &self.insts[b.end as usize - 1];
            debug_assert!(last.is_terminator(), "a block ends in a terminator");
            debug_assert_eq!(last.successors()[..], b.succs[..], "successors agree");
        }
        let mut operands = Vec::with_capacity(self.insts.len() * 2);
        let mut operand_starts = Vec::with_capacity(self.insts.len() + 1);
        for inst in &self.insts {
            operand_starts.push(operands.len() as u32);
            inst.push_operands(&mut operands, &self.lent, self.immediates);
        }
        operand_starts.push(operands.len() as u32);
        VCode {
            insts: self.insts,
            origins,
            operands,
            operand_starts,
            blocks: self.blocks,
            num_vregs: self.next_vreg,
            call_clobbers: self.call_clobbers,
            lent: self.lent,
            call_area_slots: self.call_area_slots,
        }
    }
}
