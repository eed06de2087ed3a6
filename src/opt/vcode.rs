//! VCode: tier 2's machine-level function, between lowering and register allocation.
//!
//! Each instruction is one `MacroAssembler` operation (or a frame-slot move) on virtual registers,
//! so VCode is as ISA-independent as the assembler vocabulary: the ISA shows only in the register
//! environment ([`RegEnv`]) the allocator works with. Blocks are contiguous ranges of
//! instructions ending in a terminator; control flow merges through block parameters, which
//! regalloc2 takes directly, and no edge is critical (lowering splits them), as regalloc2 requires.
//!
//! This module describes code; it never emits any (`emit.rs` does, after allocation).

use crate::isa::masm::{
    ArgLoc, BulkMemory, Callee, Cond, ConvertOp, DivOp, FloatCmp, FloatOp, FloatUnaryOp,
    Immediates, IntOp, LoadKind, RuntimeOp, Size, StoreKind, UnaryOp,
};
use crate::vm::TrapCode;
use regalloc2::{Block, Inst, InstRange, Operand, PReg, PRegSet, RegClass, VReg};
use smallvec::SmallVec;

/// A value's machine type: which register class holds it and how wide it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MTy {
    I32,
    I64,
    F32,
    F64,
}

impl MTy {
    pub fn size(self) -> Size {
        match self {
            MTy::I32 | MTy::F32 => Size::S32,
            MTy::I64 | MTy::F64 => Size::S64,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, MTy::F32 | MTy::F64)
    }

    pub fn class(self) -> RegClass {
        if self.is_float() { RegClass::Float } else { RegClass::Int }
    }
}

/// An integer register operand or an immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RI {
    Reg(VReg),
    Imm(i64),
}

/// What a select tests: a flag register (`!= 0`), or an integer compare used nowhere else,
/// fused into the select (`cmp` + `cmov`/`csel`, no flag materialized).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectCond {
    Flag(VReg),
    Compare { cond: Cond, size: Size, lhs: VReg, rhs: RI },
}

/// One VCode instruction. Register operands are virtual; offsets are bytes from the frame
/// pointer. Comments give what the `MacroAssembler` does with it.
#[derive(Clone, Debug)]
pub enum MInst {
    /// `dst = frame[slot]` (parameters, results of calls and helpers, OSR entry values).
    LoadSlot {
        ty: MTy,
        dst: VReg,
        slot: u32,
    },
    /// `frame[slot] = src` (results, arguments, helper operands).
    StoreSlot {
        ty: MTy,
        src: VReg,
        slot: u32,
    },
    Iconst {
        size: Size,
        dst: VReg,
        imm: i64,
    },
    Fconst {
        size: Size,
        dst: VReg,
        bits: u64,
    },
    /// `dst = src` (a copy the passes left).
    Mov {
        ty: MTy,
        dst: VReg,
        src: VReg,
    },
    /// `dst = lhs op rhs`; `dst` reuses `lhs`'s register when `tied` (two-operand forms,
    /// `Immediates::tied`).
    IntOp {
        op: IntOp,
        size: Size,
        dst: VReg,
        lhs: VReg,
        rhs: RI,
        tied: bool,
    },
    /// `dst = base + (index << shift) + disp` (wrapping at `size`): an integer sum, with the
    /// shift and the constants folded in; `dst` is free to take any register (`lea`).
    AddScaled {
        size: Size,
        dst: VReg,
        base: VReg,
        index: Option<(VReg, u8)>,
        disp: i32,
    },
    /// `dst = lhs op rhs`, trapping on a zero divisor (and `MIN / -1` for `DivS`), checks a
    /// constant divisor spares; `dst` reuses `lhs`.
    Div {
        op: DivOp,
        size: Size,
        dst: VReg,
        lhs: VReg,
        rhs: RI,
    },
    /// `dst = op src`; `dst` reuses `src`.
    Unary {
        op: UnaryOp,
        size: Size,
        dst: VReg,
        src: VReg,
    },
    /// `dst = (lhs cond rhs) as i32`.
    Compare {
        cond: Cond,
        size: Size,
        dst: VReg,
        lhs: VReg,
        rhs: RI,
    },
    /// `dst = cond ? a : b`, with `dst` reusing `a`.
    Select {
        ty: MTy,
        dst: VReg,
        a: VReg,
        b: VReg,
        cond: SelectCond,
    },
    /// `dst = lhs op rhs` (floats); `dst` reuses `lhs`.
    FloatOp {
        op: FloatOp,
        size: Size,
        dst: VReg,
        lhs: VReg,
        rhs: VReg,
    },
    /// `dst = op src` (floats); `dst` reuses `src`.
    FloatUnary {
        op: FloatUnaryOp,
        size: Size,
        dst: VReg,
        src: VReg,
    },
    /// `dst = (lhs cmp rhs) as i32`.
    FloatCompare {
        cmp: FloatCmp,
        size: Size,
        dst: VReg,
        lhs: VReg,
        rhs: VReg,
    },
    /// Float register to integer register.
    FloatToInt {
        op: ConvertOp,
        dst: VReg,
        src: VReg,
    },
    /// Integer register to float register.
    IntToFloat {
        op: ConvertOp,
        dst: VReg,
        src: VReg,
    },
    /// Float width change; `dst` reuses `src`.
    FloatToFloat {
        op: ConvertOp,
        dst: VReg,
        src: VReg,
    },
    /// `dst = memory[addr + offset]`; without `addr`, at the constant address `offset`.
    Load {
        kind: LoadKind,
        dst: VReg,
        addr: Option<VReg>,
        offset: u32,
    },
    /// `memory[addr + offset] = src`; without `addr`, at the constant address `offset`.
    Store {
        kind: StoreKind,
        src: VReg,
        addr: Option<VReg>,
        offset: u32,
    },
    LoadF {
        size: Size,
        dst: VReg,
        addr: Option<VReg>,
        offset: u32,
    },
    StoreF {
        size: Size,
        src: VReg,
        addr: Option<VReg>,
        offset: u32,
    },
    GlobalGet {
        ty: MTy,
        dst: VReg,
        index: u32,
    },
    GlobalSet {
        ty: MTy,
        src: VReg,
        index: u32,
    },
    MemorySize {
        dst: VReg,
    },
    /// Calls the runtime: clobbers the caller-saved registers.
    MemoryGrow {
        dst: VReg,
        delta: VReg,
    },
    /// `memory.copy` within memory 0 or `memory.fill` of it (`MacroAssembler::bulk_memory`):
    /// calls the runtime, and traps out of bounds.
    BulkMemory {
        op: BulkMemory,
        operands: [VReg; 3],
    },
    /// Charges a fuel segment.
    Fuel {
        amount: u32,
    },
    /// A call with its frame at `callee_fp` (arguments stored there before, results loaded
    /// after): clobbers the caller-saved registers.
    Call {
        callee: Callee,
        callee_fp: u32,
    },
    /// A call of defined function `def` (module index `func`) in tier 2's register convention
    /// (`opt::abi`): `args` are the arguments passed in registers, each in its register (the
    /// others stored to their slots before), `result` the first result in its register (the
    /// others loaded after); `locs` and `result_loc` are where the convention puts every
    /// argument and the first result. Clobbers the caller-saved registers but `result`'s.
    CallByRegisters {
        def: u32,
        func: u32,
        callee_fp: u32,
        args: Vec<(VReg, PReg)>,
        result: Option<(VReg, PReg)>,
        locs: Box<[ArgLoc]>,
        result_loc: ArgLoc,
    },
    /// `call_indirect` of module type `ty` through `table` in the register convention, the table
    /// index in `index`; otherwise like [`MInst::CallByRegisters`].
    CallIndirectByRegisters {
        ty: u32,
        table: u32,
        callee_fp: u32,
        index: VReg,
        args: Vec<(VReg, PReg)>,
        result: Option<(VReg, PReg)>,
        locs: Box<[ArgLoc]>,
        result_loc: ArgLoc,
    },
    /// The parameters a function entered in the register convention receives in registers,
    /// each defined in its register at the entry. Emits nothing.
    Args {
        params: Vec<(VReg, PReg)>,
    },
    /// `call_indirect` with the table index in `index_slot`, the slot after the arguments.
    CallIndirect {
        ty: u32,
        table: u32,
        callee_fp: u32,
        index_slot: u32,
    },
    /// A runtime operation on the operands in the slots from `args` on.
    Runtime {
        op: RuntimeOp,
        a: u32,
        b: u32,
        args: u32,
    },
    // ---- terminators ----
    Jump {
        target: Block,
    },
    /// `cond != 0` to `then`, else to `otherwise`.
    Brif {
        cond: VReg,
        then: Block,
        otherwise: Block,
    },
    /// `lhs cond rhs` to `then`, else to `otherwise`.
    CmpBranch {
        cond: Cond,
        size: Size,
        lhs: VReg,
        rhs: RI,
        then: Block,
        otherwise: Block,
    },
    /// `lhs & mask != 0` to `then`, else to `otherwise` (`mask` an immediate the ISA's `and`
    /// takes).
    TestBranch {
        size: Size,
        lhs: VReg,
        mask: i64,
        then: Block,
        otherwise: Block,
    },
    /// `lhs cmp rhs` (floats) to `then`, else to `otherwise`.
    FloatCmpBranch {
        cmp: FloatCmp,
        size: Size,
        lhs: VReg,
        rhs: VReg,
        then: Block,
        otherwise: Block,
    },
    /// `targets[index]`, the last when out of range.
    BrTable {
        index: VReg,
        targets: Vec<Block>,
    },
    /// Returns; `result` is the first result when the register convention returns it in a
    /// register (the others, and every result otherwise, are stored to their slots before).
    Ret {
        result: Option<(VReg, PReg)>,
    },
    Trap {
        code: TrapCode,
    },
}

impl MInst {
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            MInst::Jump { .. }
                | MInst::Brif { .. }
                | MInst::CmpBranch { .. }
                | MInst::TestBranch { .. }
                | MInst::FloatCmpBranch { .. }
                | MInst::BrTable { .. }
                | MInst::Ret { .. }
                | MInst::Trap { .. }
        )
    }

    /// Whether the instruction calls out (and so clobbers the caller-saved registers).
    pub fn is_call(&self) -> bool {
        matches!(
            self,
            MInst::MemoryGrow { .. }
                | MInst::BulkMemory { .. }
                | MInst::Call { .. }
                | MInst::CallByRegisters { .. }
                | MInst::CallIndirectByRegisters { .. }
                | MInst::CallIndirect { .. }
                | MInst::Runtime { .. }
        )
    }

    /// Whether the `MacroAssembler` operation this instruction becomes may write a register of
    /// `lent` (the contract of `MacroAssembler::lent_scratch`), so that no value may stay in
    /// one across it. Calls are left to [`MInst::is_call`].
    pub fn borrows_lent_scratch(&self, lent: &LentScratch) -> bool {
        let far = |offset: u32| lent.by_heap_accesses || i32::try_from(offset).is_err();
        let wide = |imm: &RI| matches!(imm, RI::Imm(v) if i32::try_from(*v).is_err());
        let shift = |op: &IntOp| {
            matches!(op, IntOp::Shl | IntOp::ShrS | IntOp::ShrU | IntOp::Rotl | IntOp::Rotr)
        };
        match self {
            MInst::IntOp { op, rhs, .. } => (shift(op) && matches!(rhs, RI::Reg(_))) || wide(rhs),
            MInst::Compare { rhs, .. } | MInst::CmpBranch { rhs, .. } => wide(rhs),
            MInst::Select { cond: SelectCond::Compare { rhs, .. }, .. } => wide(rhs),
            MInst::Unary { op, .. } => matches!(op, UnaryOp::Clz | UnaryOp::Ctz),
            MInst::FloatOp { op, .. } => *op == FloatOp::Copysign,
            MInst::IntToFloat { op, .. } => {
                matches!(op, ConvertOp::Convert { signed: false, int: Size::S64, .. })
            }
            MInst::Load { offset, .. }
            | MInst::Store { offset, .. }
            | MInst::LoadF { offset, .. }
            | MInst::StoreF { offset, .. } => far(*offset),
            MInst::Div { .. } | MInst::FloatCompare { .. } | MInst::Fuel { .. } => true,
            _ => false,
        }
    }

    /// The operands, in the order regalloc2 reports their allocations (uses before defs where
    /// a def reuses a use's register: reuse constraints name the use's index). A heap store
    /// that borrows `lent`'s registers reads its value after writing them: that use lasts to
    /// the instruction's end, where the borrowed registers are clobbered. A second operand the
    /// ISA reads from a frame slot (`Immediates::slot_operand`) may stay in its spill slot: the
    /// allocator puts it anywhere, and a spilled value is used where it is, not reloaded first.
    pub fn push_operands(&self, out: &mut Vec<Operand>, lent: &LentScratch, isa: &dyn Immediates) {
        use Operand as O;
        let ri = |r: &RI, out: &mut Vec<Operand>| {
            if let RI::Reg(v) = r {
                out.push(O::reg_use(*v));
            }
        };
        // The same value as both operands stays in one register (it is in a register anyway).
        let second = |lhs: &VReg, r: &RI, op: Option<IntOp>, out: &mut Vec<Operand>| match r {
            RI::Reg(v) if v != lhs && isa.slot_operand(op) => out.push(O::any_use(*v)),
            r => ri(r, out),
        };
        match self {
            MInst::LoadSlot { dst, .. } | MInst::Iconst { dst, .. } | MInst::Fconst { dst, .. } => {
                out.push(O::reg_def(*dst))
            }
            MInst::StoreSlot { src, .. } | MInst::GlobalSet { src, .. } => {
                out.push(O::reg_use(*src))
            }
            MInst::Mov { dst, src, .. } => {
                out.push(O::reg_use(*src));
                out.push(O::reg_def(*dst));
            }
            MInst::AddScaled { dst, base, index, .. } => {
                out.push(O::reg_use(*base));
                if let Some((index, _)) = index {
                    out.push(O::reg_use(*index));
                }
                out.push(O::reg_def(*dst));
            }
            MInst::IntOp { op, dst, lhs, rhs, tied, .. } => {
                out.push(O::reg_use(*lhs));
                second(lhs, rhs, Some(*op), out);
                out.push(if *tied { O::reg_reuse_def(*dst, 0) } else { O::reg_def(*dst) });
            }
            MInst::Div { dst, lhs, rhs, .. } => {
                out.push(O::reg_use(*lhs));
                ri(rhs, out);
                out.push(O::reg_reuse_def(*dst, 0));
            }
            MInst::FloatOp { dst, lhs, rhs, .. } => {
                out.push(O::reg_use(*lhs));
                out.push(O::reg_use(*rhs));
                out.push(O::reg_reuse_def(*dst, 0));
            }
            MInst::Unary { dst, src, .. }
            | MInst::FloatUnary { dst, src, .. }
            | MInst::FloatToFloat { dst, src, .. } => {
                out.push(O::reg_use(*src));
                out.push(O::reg_reuse_def(*dst, 0));
            }
            MInst::Compare { dst, lhs, rhs, .. } => {
                out.push(O::reg_use(*lhs));
                second(lhs, rhs, None, out);
                out.push(O::reg_def(*dst));
            }
            MInst::Select { dst, a, b, cond, .. } => {
                out.push(O::reg_use(*a));
                out.push(O::reg_use(*b));
                match cond {
                    SelectCond::Flag(flag) => out.push(O::reg_use(*flag)),
                    SelectCond::Compare { lhs, rhs, .. } => {
                        out.push(O::reg_use(*lhs));
                        ri(rhs, out);
                    }
                }
                out.push(O::reg_reuse_def(*dst, 0));
            }
            MInst::FloatCompare { dst, lhs, rhs, .. } => {
                out.push(O::reg_use(*lhs));
                out.push(O::reg_use(*rhs));
                out.push(O::reg_def(*dst));
            }
            MInst::FloatToInt { dst, src, .. } | MInst::IntToFloat { dst, src, .. } => {
                out.push(O::reg_use(*src));
                out.push(O::reg_def(*dst));
            }
            MInst::Load { dst, addr, .. } | MInst::LoadF { dst, addr, .. } => {
                out.extend(addr.map(O::reg_use));
                out.push(O::reg_def(*dst));
            }
            MInst::Store { src, addr, .. } => {
                let late = lent.regs != PRegSet::empty() && self.borrows_lent_scratch(lent);
                out.push(if late { O::reg_use_at_end(*src) } else { O::reg_use(*src) });
                out.extend(addr.map(O::reg_use));
            }
            MInst::StoreF { src, addr, .. } => {
                out.push(O::reg_use(*src));
                out.extend(addr.map(O::reg_use));
            }
            MInst::GlobalGet { dst, .. } | MInst::MemorySize { dst } => out.push(O::reg_def(*dst)),
            MInst::MemoryGrow { dst, delta } => {
                out.push(O::reg_use(*delta));
                out.push(O::reg_def(*dst));
            }
            MInst::BulkMemory { operands, .. } => {
                out.extend(operands.iter().map(|&v| O::reg_use(v)))
            }
            MInst::Fuel { .. }
            | MInst::Call { .. }
            | MInst::CallIndirect { .. }
            | MInst::Runtime { .. }
            | MInst::Jump { .. }
            | MInst::Ret { result: None }
            | MInst::Trap { .. } => {}
            MInst::Ret { result: Some((v, r)) } => out.push(O::reg_fixed_use(*v, *r)),
            MInst::Args { params } => {
                out.extend(params.iter().map(|&(v, r)| O::reg_fixed_def(v, r)))
            }
            MInst::CallByRegisters { args, result, .. } => {
                out.extend(args.iter().map(|&(v, r)| O::reg_fixed_use(v, r)));
                out.extend(result.iter().map(|&(v, r)| O::reg_fixed_def(v, r)));
            }
            MInst::CallIndirectByRegisters { index, args, result, .. } => {
                out.push(O::reg_use(*index));
                out.extend(args.iter().map(|&(v, r)| O::reg_fixed_use(v, r)));
                out.extend(result.iter().map(|&(v, r)| O::reg_fixed_def(v, r)));
            }
            MInst::Brif { cond, .. } => out.push(O::reg_use(*cond)),
            MInst::TestBranch { lhs, .. } => out.push(O::reg_use(*lhs)),
            MInst::CmpBranch { lhs, rhs, .. } => {
                out.push(O::reg_use(*lhs));
                second(lhs, rhs, None, out);
            }
            MInst::FloatCmpBranch { lhs, rhs, .. } => {
                out.push(O::reg_use(*lhs));
                out.push(O::reg_use(*rhs));
            }
            MInst::BrTable { index, .. } => out.push(O::reg_use(*index)),
        }
    }

    /// Renames the successor blocks of a terminator.
    pub fn map_successors(&mut self, rename: impl Fn(Block) -> Block) {
        match self {
            MInst::Jump { target } => *target = rename(*target),
            MInst::Brif { then, otherwise, .. }
            | MInst::CmpBranch { then, otherwise, .. }
            | MInst::TestBranch { then, otherwise, .. }
            | MInst::FloatCmpBranch { then, otherwise, .. } => {
                *then = rename(*then);
                *otherwise = rename(*otherwise);
            }
            MInst::BrTable { targets, .. } => targets.iter_mut().for_each(|t| *t = rename(*t)),
            _ => {}
        }
    }

    /// Successor blocks of a terminator, in order.
    pub fn successors(&self) -> Vec<Block> {
        match self {
            MInst::Jump { target } => vec![*target],
            MInst::Brif { then, otherwise, .. }
            | MInst::CmpBranch { then, otherwise, .. }
            | MInst::TestBranch { then, otherwise, .. }
            | MInst::FloatCmpBranch { then, otherwise, .. } => vec![*then, *otherwise],
            MInst::BrTable { targets, .. } => targets.clone(),
            _ => vec![],
        }
    }
}

/// A VCode block: its parameters, the arguments its terminator passes to each successor, and
/// its instructions (a range of [`VCode::insts`]).
#[derive(Clone, Debug, Default)]
pub struct MBlock {
    pub params: Vec<VReg>,
    /// Inline up to two (what a branch has), as are `preds` and `succ_args`: most blocks then
    /// cost no allocation for their edges.
    pub succs: SmallVec<[Block; 2]>,
    pub preds: SmallVec<[Block; 2]>,
    /// Per successor, the arguments (one per successor parameter).
    pub succ_args: SmallVec<[Vec<VReg>; 2]>,
    pub start: u32,
    pub end: u32,
}

/// The registers the allocator may use, per class, and which of them a call clobbers.
#[derive(Clone, Debug)]
pub struct RegEnv {
    pub env: regalloc2::MachineEnv,
    pub call_clobbers: PRegSet,
    pub lent: LentScratch,
}

/// The macro-assembler's scratch registers the allocator may use between the operations that
/// write them (`MacroAssembler::lent_scratch`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LentScratch {
    pub regs: PRegSet,
    /// Whether every heap access writes them (explicit bounds checks compute the address in
    /// them); with guard pages only accesses at offsets of 2^31 and more do.
    pub by_heap_accesses: bool,
}

/// A function in VCode, ready for regalloc2.
#[derive(Debug)]
pub struct VCode {
    pub insts: Vec<MInst>,
    /// Per instruction, the IR instruction it was lowered from (`None`: the entry's parameter
    /// loads), for `tierup explore`.
    pub origins: Vec<Option<tierup_passes::ir::Inst>>,
    /// Every instruction's operands, computed once, one after another; instruction `i`'s are
    /// `operands[operand_starts[i]..operand_starts[i + 1]]`.
    pub operands: Vec<Operand>,
    pub operand_starts: Vec<u32>,
    pub blocks: Vec<MBlock>,
    pub num_vregs: usize,
    /// The caller-saved registers, clobbered by calls.
    pub call_clobbers: PRegSet,
    /// What the instructions that borrow them clobber.
    pub lent: LentScratch,
    /// Slots (16 bytes each) a call or helper needs above the spill area, at most.
    pub call_area_slots: u32,
}

impl VCode {
    /// Instruction `insn`'s operands.
    pub fn operands_of(&self, insn: Inst) -> &[Operand] {
        let i = insn.index();
        &self.operands[self.operand_starts[i] as usize..self.operand_starts[i + 1] as usize]
    }
}

impl regalloc2::Function for VCode {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }

    fn num_blocks(&self) -> usize {
        self.blocks.len()
    }

    fn entry_block(&self) -> Block {
        Block::new(0)
    }

    fn block_insns(&self, block: Block) -> InstRange {
        let b = &self.blocks[block.index()];
        InstRange::new(Inst::new(b.start as usize), Inst::new(b.end as usize))
    }

    fn block_succs(&self, block: Block) -> &[Block] {
        &self.blocks[block.index()].succs
    }

    fn block_preds(&self, block: Block) -> &[Block] {
        &self.blocks[block.index()].preds
    }

    fn block_params(&self, block: Block) -> &[VReg] {
        &self.blocks[block.index()].params
    }

    fn is_ret(&self, insn: Inst) -> bool {
        matches!(self.insts[insn.index()], MInst::Ret { .. } | MInst::Trap { .. })
    }

    fn is_branch(&self, insn: Inst) -> bool {
        matches!(
            self.insts[insn.index()],
            MInst::Jump { .. }
                | MInst::Brif { .. }
                | MInst::CmpBranch { .. }
                | MInst::TestBranch { .. }
                | MInst::FloatCmpBranch { .. }
                | MInst::BrTable { .. }
        )
    }

    fn branch_blockparams(&self, block: Block, _insn: Inst, succ_idx: usize) -> &[VReg] {
        &self.blocks[block.index()].succ_args[succ_idx]
    }

    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        self.operands_of(insn)
    }

    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        match &self.insts[insn.index()] {
            // A register the call defines is not also a clobber (regalloc2's rule).
            MInst::CallByRegisters { result: Some((_, r)), .. }
            | MInst::CallIndirectByRegisters { result: Some((_, r)), .. } => {
                let mut clobbers = self.call_clobbers;
                clobbers.remove(*r);
                clobbers
            }
            inst if inst.is_call() => self.call_clobbers,
            inst if inst.borrows_lent_scratch(&self.lent) => self.lent.regs,
            _ => PRegSet::empty(),
        }
    }

    fn num_vregs(&self) -> usize {
        self.num_vregs
    }

    fn spillslot_size(&self, _regclass: RegClass) -> usize {
        // Integers, references and scalar floats all fit 8 bytes (v128 never reaches tier 2).
        1
    }
}
