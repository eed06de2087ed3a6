//! Register allocation (regalloc2) and emission of allocated VCode through the ISA layer's
//! `MacroAssembler`.
//!
//! The frame tier-2 code runs on is the shared slot frame, extended above what tier 0 lays out:
//!
//! ```text
//! fp -> [entry slots: parameters / OSR values, results][spill slots, 8 bytes each][call area]
//! ```
//!
//! The spill area starts above every slot the entry reads and every result slot, so no spill
//! overwrites a value before it is read; the call area, where calls and runtime helpers find their
//! operands (a callee's frame starts there), sits above the spills. The prologue checks that the
//! whole frame fits, as every tier's does.
//!
//! With the allocator's `checker` (tests and debug builds), every allocation is verified
//! symbolically before any code is emitted.

use super::lower::{CALL_AREA, EntrySlots};
use super::moves::Item;
use super::vcode::{LentScratch, MInst, MTy, RI, RegEnv, SelectCond, VCode};
use crate::isa::masm::{
    Comparison, Cond, FReg, FrameSetup, GlobalCell, HeapBounds, LOOP_ALIGN, MacroAssembler, Reg,
    RegImm, Size,
};
use crate::tier::Tier;
use crate::tier::compiler::CompileError;
use crate::vm::frame::SLOT_BYTES;
use regalloc2::{Allocation, Edit, MachineEnv, Output, PReg, PRegSet, RegClass, VReg};

/// Which of regalloc2's allocators runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RegallocAlgorithm {
    /// Backtracking (Ion): the best code, the default.
    #[default]
    Backtracking,
    /// Single pass: faster to allocate, more moves and spills.
    Fast,
}

impl std::str::FromStr for RegallocAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "backtracking" | "ion" => Ok(RegallocAlgorithm::Backtracking),
            "fast" | "single-pass" => Ok(RegallocAlgorithm::Fast),
            _ => Err(format!("unknown register allocator `{s}` (expected: backtracking or fast)")),
        }
    }
}

/// `masm`'s scratch registers (integer, float) as the allocator names them: its
/// `MachineEnv::scratch_by_class`, and what `moves` never trusts.
fn scratch_pregs<M: MacroAssembler>(masm: &M) -> (PReg, PReg) {
    let (scratch, fscratch) = masm.scratch_regs();
    (PReg::new(scratch.0 as usize, RegClass::Int), PReg::new(fscratch.0 as usize, RegClass::Float))
}

/// The allocator's view of `masm`'s registers, once `masm` knows it assembles tier-2 code (the
/// tiers' register sets differ).
pub fn reg_env<M: MacroAssembler>(masm: &mut M) -> RegEnv {
    masm.set_tier(Tier::Optimized);
    let int = |r: Reg| PReg::new(r.0 as usize, RegClass::Int);
    let float = |r: FReg| PReg::new(r.0 as usize, RegClass::Float);
    let set = |regs: Vec<PReg>| regs.into_iter().fold(PRegSet::empty(), |s, r| s.with(r));
    let (scratch, fscratch) = scratch_pregs(masm);
    let (caller_int, caller_float) = masm.caller_saved();
    // Caller-saved registers first: a callee-saved one costs a save and a restore at the entry
    // (see `registers_written`), so it is taken only when no caller-saved one fits, typically for
    // a value live across a call. The lent scratch registers are caller-saved too, but taken
    // last: more instructions clobber them.
    let lent = masm.lent_scratch();
    let (preferred_int, mut other_int): (Vec<Reg>, Vec<Reg>) =
        masm.allocatable().iter().partition(|r| caller_int.contains(r));
    other_int.extend(lent);
    let (preferred_float, other_float): (Vec<FReg>, Vec<FReg>) =
        masm.allocatable_float().iter().partition(|r| caller_float.contains(r));
    let env = MachineEnv {
        preferred_regs_by_class: [
            set(preferred_int.into_iter().map(int).collect()),
            set(preferred_float.into_iter().map(float).collect()),
            PRegSet::empty(),
        ],
        non_preferred_regs_by_class: [
            set(other_int.into_iter().map(int).collect()),
            set(other_float.into_iter().map(float).collect()),
            PRegSet::empty(),
        ],
        scratch_by_class: [Some(scratch), Some(fscratch), None],
        fixed_stack_slots: vec![],
    };
    let call_clobbers = set(caller_int
        .iter()
        .chain(lent)
        .map(|&r| int(r))
        .chain(caller_float.iter().map(|&r| float(r)))
        .collect());
    let lent = LentScratch {
        regs: set(lent.iter().map(|&r| int(r)).collect()),
        by_heap_accesses: masm.heap_bounds() == HeapBounds::Explicit,
    };
    RegEnv { env, call_clobbers, lent }
}

thread_local! {
    /// The allocator's working memory, kept between the functions a thread compiles: setting it
    /// up anew for each function cost about 3% of tier 2's compile time (its allocations).
    static SPARE_REGALLOC: std::cell::Cell<Option<Box<regalloc2::Ctx>>> =
        const { std::cell::Cell::new(None) };
}

/// An allocation ([`allocate`]): its `Output`, in the allocator's working memory, which goes back
/// to the thread's spare when dropped.
pub struct Allocated(Option<Box<regalloc2::Ctx>>);

impl std::ops::Deref for Allocated {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.0.as_ref().expect("an allocation").output
    }
}

impl Drop for Allocated {
    fn drop(&mut self) {
        SPARE_REGALLOC.set(self.0.take());
    }
}

/// Allocates registers for `vcode`, checking the result when `check`.
pub fn allocate(
    vcode: &VCode,
    env: &MachineEnv,
    algorithm: RegallocAlgorithm,
    check: bool,
) -> Result<Allocated, CompileError> {
    let options = regalloc2::RegallocOptions {
        verbose_log: false,
        validate_ssa: cfg!(debug_assertions),
        algorithm: match algorithm {
            RegallocAlgorithm::Backtracking => regalloc2::Algorithm::Ion,
            RegallocAlgorithm::Fast => regalloc2::Algorithm::Fastalloc,
        },
    };
    let mut allocated = Allocated(Some(SPARE_REGALLOC.take().unwrap_or_default()));
    let ctx = allocated.0.as_mut().expect("an allocation");
    regalloc2::run_with_ctx(vcode, env, &options, ctx)
        .map_err(|e| CompileError::Internal(format!("register allocation: {e:?}")))?;
    if check {
        let mut checker = regalloc2::checker::Checker::new(vcode, env);
        checker.prepare(&allocated);
        checker
            .run()
            .map_err(|e| CompileError::Internal(format!("register allocation check: {e:?}")))?;
    }
    Ok(allocated)
}

/// Where things are in the tier-2 frame.
struct FrameMap {
    spill_base: u32,
    call_area: u32,
    bytes: u32,
}

impl FrameMap {
    fn new(entry: &EntrySlots, num_results: usize, spills: usize, call_area_slots: u32) -> Self {
        let entry_top = entry.0.iter().map(|&s| s + 1).max().unwrap_or(0);
        let spill_base = entry_top.max(num_results as u32) * SLOT_BYTES;
        let spill_end = spill_base + spills as u32 * 8;
        let call_area = spill_end.div_ceil(SLOT_BYTES) * SLOT_BYTES;
        FrameMap { spill_base, call_area, bytes: call_area + call_area_slots * SLOT_BYTES }
    }

    /// A lowered frame offset with the call area's placeholder resolved.
    fn slot(&self, offset: u32) -> u32 {
        if offset >= CALL_AREA { self.call_area + (offset - CALL_AREA) } else { offset }
    }

    fn spill(&self, slot: regalloc2::SpillSlot) -> u32 {
        self.spill_base + slot.index() as u32 * 8
    }
}

/// What emission needs beyond the VCode and its allocation.
pub struct EmitInput<'a> {
    pub func_index: u32,
    pub def: u32,
    pub entry: &'a EntrySlots,
    pub num_results: usize,
    /// Whether the entry counts the call in the module's profile counters.
    pub count_calls: bool,
    /// The module's imported globals (the rest are inline in the context).
    pub imported_globals: u32,
    /// The interned signature (`SigId`) of each module type, which inline `call_indirect`
    /// compares against the table's dispatch array.
    pub sig_ids: &'a [u32],
    /// Whether to return where the code of each IR instruction starts (for `tierup explore`).
    pub record_origins: bool,
    /// Whether the code keeps the guest profiler's profile stack (`vm::profile`): a function
    /// entered by a call pushes its entry, one entered by on-stack replacement at loop `osr_loop`
    /// takes over its frame's entry; either pops it on return. Loops are not named otherwise:
    /// the optimized code's blocks are no longer the wasm loops.
    pub guest_profile: bool,
    pub osr_loop: Option<u32>,
    /// The module offset of the body's first operator (a trap in the prologue names it).
    pub entry_offset: u32,
    /// The module offset each IR instruction was built from, by instruction index: traps and
    /// calls name it. Instructions an inlined callee brought carry the offset of the call they
    /// replaced (see `tierup_passes::passes::inline`), so the frame that reports them is the
    /// caller's, at the call.
    pub srclocs: &'a [Option<u32>],
    /// The function's register convention, when it is entered by one (see `opt::abi`).
    pub register_abi: Option<&'a super::abi::RegisterAbi>,
}

/// What a stretch of tier-2 code was emitted for (see [`emit`]'s map).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Loading the entry's parameters from the frame.
    Entry,
    /// An IR instruction of the optimized function.
    Ir(tierup_passes::ir::Inst),
    /// Moves, spills and reloads the register allocator inserted.
    Moves,
}

/// What [`emit`] reports beside the code.
pub struct Emitted {
    /// With `record_origins`, where each stretch of the body's code starts and what it was
    /// emitted for, in code order.
    pub origins: Vec<(u32, Origin)>,
    /// The allocator's moves left out as redundant (`opt::moves`).
    pub redundant_moves: usize,
}

/// Emits `vcode` as allocated by `output` into `masm`, but for the allocator's redundant moves.
pub fn emit<M: MacroAssembler>(
    masm: &mut M,
    vcode: &VCode,
    output: &Output,
    input: &EmitInput<'_>,
) -> Result<Emitted, CompileError> {
    let frame =
        FrameMap::new(input.entry, input.num_results, output.num_spillslots, vcode.call_area_slots);
    masm.set_tier(Tier::Optimized);
    masm.set_wasm_offset(input.entry_offset);
    if let Some(abi) = input.register_abi {
        masm.enter_by_registers(&abi.params, abi.result);
    }
    masm.prologue(&FrameSetup {
        func_index: input.func_index,
        frame_bytes: frame.bytes,
        init_offset: 0,
        init: &[],
        calls: vcode.insts.iter().any(MInst::is_call),
    });
    if input.count_calls {
        masm.count_call(input.def, None);
    }
    if input.guest_profile {
        use crate::vm::profile::{encode_entry, entry_high};
        match input.osr_loop {
            None => masm.profile_push(encode_entry(input.func_index, Tier::Optimized, None)),
            Some(l) => masm.profile_set_top(entry_high(Tier::Optimized, Some(l))),
        }
    }
    masm.registers_used(&registers_written(output));
    let (scratch, fscratch) = scratch_pregs(masm);
    let scratch = PRegSet::empty().with(scratch).with(fscratch);
    let super::moves::ToEmit { blocks: items, left_out } =
        super::moves::to_emit(vcode, output, scratch);
    let forward = forwarding(vcode, &items);
    let own_labels: Vec<M::Label> = (0..vcode.blocks.len()).map(|_| masm.new_label()).collect();
    // A block that only jumps is never emitted: branches to it go where it would jump.
    let labels: Vec<M::Label> = forward.iter().map(|&to| own_labels[to]).collect();
    let emitted: Vec<usize> = (0..vcode.blocks.len()).filter(|&b| forward[b] == b).collect();
    let loop_headers = loop_headers(vcode, &forward, &emitted);
    let imported_globals = input.imported_globals;
    let sig_ids = input.sig_ids;
    let mut e = Emitter {
        masm,
        frame: &frame,
        labels: &labels,
        forward: &forward,
        imported_globals,
        sig_ids,
        guest_profile: input.guest_profile,
    };
    let mut origins: Vec<(u32, Origin)> = Vec::new();
    for (n, &b) in emitted.iter().enumerate() {
        let block = regalloc2::Block::new(b);
        if loop_headers[b] {
            e.masm.align_code(LOOP_ALIGN);
        }
        e.masm.bind(labels[b]);
        let next = emitted.get(n + 1).copied().unwrap_or(usize::MAX);
        for &item in &items[block.index()] {
            let origin = match item {
                Item::Edit(_) => Origin::Moves,
                Item::Inst(i) => vcode.origins[i.index()].map_or(Origin::Entry, Origin::Ir),
            };
            if input.record_origins && origins.last().is_none_or(|(_, last)| *last != origin) {
                let at = e.masm.offset();
                // A stretch that emitted nothing (the register parameters' definition) names
                // no code.
                if origins.last().is_some_and(|&(start, _)| start == at) {
                    origins.pop();
                }
                if origins.last().is_none_or(|(_, last)| *last != origin) {
                    origins.push((at, origin));
                }
            }
            match item {
                Item::Edit(edit) => {
                    let Edit::Move { from, to } = output.edits[edit].1;
                    e.edit_move(from, to)?
                }
                Item::Inst(i) => {
                    let srcloc = vcode.origins[i.index()]
                        .and_then(|ir| input.srclocs.get(ir.index()).copied().flatten());
                    if let Some(offset) = srcloc {
                        e.masm.set_wasm_offset(offset);
                    }
                    let inst = &vcode.insts[i.index()];
                    let regs = Regs::new(vcode.operands_of(i), output.inst_allocs(i))?;
                    e.inst(inst, &regs, next)?;
                }
            }
        }
    }
    Ok(Emitted { origins, redundant_moves: left_out })
}

/// Which emitted blocks (by VCode index) are loop headers: targets of a branch from a block
/// emitted at or after them (branches to forwarded blocks counted at their destination).
fn loop_headers(vcode: &VCode, forward: &[usize], emitted: &[usize]) -> Vec<bool> {
    let mut position = vec![usize::MAX; vcode.blocks.len()];
    for (n, &b) in emitted.iter().enumerate() {
        position[b] = n;
    }
    let mut headers = vec![false; vcode.blocks.len()];
    for &b in emitted {
        for s in &vcode.blocks[b].succs {
            let target = forward[s.index()];
            if position[target] <= position[b] {
                headers[target] = true;
            }
        }
    }
    headers
}

/// The integer registers the allocated code writes (every register an allocation names: each
/// holds a value the code defined or moved there), so the entry saves only the callee-saved ones
/// among them. The scratch registers are never named, but those lent to the allocator (all of them
/// caller-saved).
fn registers_written(output: &Output) -> Vec<Reg> {
    let edits = output.edits.iter().flat_map(|(_, Edit::Move { from, to })| [*from, *to]);
    let mut regs: Vec<Reg> = output
        .allocs
        .iter()
        .copied()
        .chain(edits)
        .filter_map(|a| a.as_reg())
        .filter(|r| r.class() == RegClass::Int)
        .map(|r| Reg(r.hw_enc() as u8))
        .collect();
    regs.sort_unstable_by_key(|r| r.0);
    regs.dedup();
    regs
}

/// Where a branch to each block really goes: a block whose only content is a jump (an edge block
/// the register allocator put no moves in, or only redundant ones, typically) forwards to its
/// target, transitively; every other block (and the entry, which nothing branches to) to itself.
/// `items` are each block's instructions and the moves emitted.
fn forwarding(vcode: &VCode, items: &[Vec<Item>]) -> Vec<usize> {
    let n = vcode.blocks.len();
    let only_jumps_to = |b: usize| -> Option<usize> {
        match items[b][..] {
            [Item::Inst(i)] => match vcode.insts[i.index()] {
                MInst::Jump { target } => Some(target.index()),
                _ => None,
            },
            _ => None,
        }
    };
    let direct: Vec<Option<usize>> =
        (0..n).map(|b| if b == 0 { None } else { only_jumps_to(b) }).collect();
    (0..n)
        .map(|b| {
            // Follow jump-only blocks; a cycle of them (an empty infinite loop) stays put.
            let mut to = b;
            for _ in 0..n {
                match direct[to] {
                    Some(next) if next != b => to = next,
                    _ => break,
                }
            }
            if direct[to].is_some_and(|next| next == b) { b } else { to }
        })
        .collect()
}

/// The physical register of each virtual register an instruction names: its operands beside
/// their allocations (every one a register, checked once).
struct Regs<'a> {
    operands: &'a [regalloc2::Operand],
    allocs: &'a [Allocation],
}

impl<'a> Regs<'a> {
    fn new(
        operands: &'a [regalloc2::Operand],
        allocs: &'a [Allocation],
    ) -> Result<Regs<'a>, CompileError> {
        // Only an operand the allocator may leave in memory (`MInst::push_operands`) is not in
        // a register.
        let misplaced = |(op, a): &(&regalloc2::Operand, &Allocation)| {
            a.as_reg().is_none()
                && (op.constraint() != regalloc2::OperandConstraint::Any || a.as_stack().is_none())
        };
        if let Some((op, _)) = operands.iter().zip(allocs).find(misplaced) {
            return Err(CompileError::Internal(format!("{op:?} not in a register")));
        }
        Ok(Regs { operands, allocs })
    }

    /// Where the allocator put operand `v`.
    fn alloc(&self, v: VReg) -> Allocation {
        let at = self
            .operands
            .iter()
            .position(|op| op.vreg() == v)
            .expect("an operand of the instruction");
        self.allocs[at]
    }

    /// The spill slot `v` is used from, when the allocator left it in memory.
    fn stack(&self, v: VReg) -> Option<regalloc2::SpillSlot> {
        self.alloc(v).as_stack()
    }

    /// The frame offset `rhs` is read from, when it is a value left in its spill slot.
    fn slot(&self, rhs: RI, frame: &FrameMap) -> Option<u32> {
        match rhs {
            RI::Reg(v) => self.stack(v).map(|slot| frame.spill(slot)),
            RI::Imm(_) => None,
        }
    }

    fn get(&self, v: VReg) -> PReg {
        self.alloc(v).as_reg().expect("checked by `new`")
    }

    fn int(&self, v: VReg) -> Reg {
        Reg(self.get(v).hw_enc() as u8)
    }

    fn float(&self, v: VReg) -> FReg {
        FReg(self.get(v).hw_enc() as u8)
    }

    fn ri(&self, r: RI) -> RegImm {
        match r {
            RI::Reg(v) => RegImm::Reg(self.int(v)),
            RI::Imm(i) => RegImm::Imm(i),
        }
    }
}

struct Emitter<'a, M: MacroAssembler> {
    masm: &'a mut M,
    frame: &'a FrameMap,
    /// Per block, the label branches to it use (see [`forwarding`]).
    labels: &'a [M::Label],
    /// Per block, the block branches to it reach.
    forward: &'a [usize],
    /// The module's imported globals (the rest are inline in the context).
    imported_globals: u32,
    /// See [`EmitInput::sig_ids`].
    sig_ids: &'a [u32],
    /// See [`EmitInput::guest_profile`].
    guest_profile: bool,
}

impl<M: MacroAssembler> Emitter<'_, M> {
    fn edit_move(&mut self, from: Allocation, to: Allocation) -> Result<(), CompileError> {
        let m = &mut *self.masm;
        match (from.as_reg(), to.as_reg(), from.as_stack(), to.as_stack()) {
            (Some(f), Some(t), _, _) if f == t => {}
            (Some(f), Some(t), _, _) => match f.class() {
                RegClass::Float => m.mov_float(FReg(t.hw_enc() as u8), FReg(f.hw_enc() as u8)),
                _ => m.mov(Size::S64, Reg(t.hw_enc() as u8), RegImm::Reg(Reg(f.hw_enc() as u8))),
            },
            (Some(f), None, _, Some(slot)) => {
                let at = self.frame.spill(slot);
                match f.class() {
                    RegClass::Float => m.store_slot_float(Size::S64, FReg(f.hw_enc() as u8), at),
                    _ => m.store_slot(Size::S64, Reg(f.hw_enc() as u8), at),
                }
            }
            (None, Some(t), Some(slot), _) => {
                let at = self.frame.spill(slot);
                match t.class() {
                    RegClass::Float => m.load_slot_float(Size::S64, FReg(t.hw_enc() as u8), at),
                    _ => m.load_slot(Size::S64, Reg(t.hw_enc() as u8), at),
                }
            }
            _ => return Err(CompileError::Internal(format!("move {from} -> {to}"))),
        }
        Ok(())
    }

    /// A two-way integer branch: when `then` is the block laid out next, the inverted condition
    /// branches to `otherwise` and `then` is fallen into (one taken branch fewer per loop
    /// iteration where a loop's body follows its exit test).
    /// `branch(masm, cond, label)` emits the compare and the branch to `label` when `cond`
    /// holds (`cond` as given or inverted).
    fn cond_branch(
        &mut self,
        cond: Cond,
        then: regalloc2::Block,
        otherwise: regalloc2::Block,
        next: usize,
        branch: impl FnOnce(&mut M, Cond, M::Label),
    ) {
        self.two_way(then, otherwise, next, |m, holds, label| {
            branch(m, if holds { cond } else { cond.invert() }, label)
        });
    }

    /// A two-way branch: `branch(masm, holds, label)` emits one conditional branch to `label`
    /// taken when the condition holds (`holds`) or when it does not; [`Self::cond_branch`]'s
    /// inversion when `then` is next, a jump to `otherwise` unless it is next.
    fn two_way(
        &mut self,
        then: regalloc2::Block,
        otherwise: regalloc2::Block,
        next: usize,
        branch: impl FnOnce(&mut M, bool, M::Label),
    ) {
        let (then_next, otherwise_next) =
            (self.forward[then.index()] == next, self.forward[otherwise.index()] == next);
        if then_next && !otherwise_next {
            branch(self.masm, false, self.labels[otherwise.index()]);
        } else {
            branch(self.masm, true, self.labels[then.index()]);
            self.jump_unless_next(otherwise, next);
        }
    }

    fn jump_unless_next(&mut self, target: regalloc2::Block, next: usize) {
        if self.forward[target.index()] != next {
            self.masm.jump(self.labels[target.index()]);
        }
    }

    fn inst(&mut self, inst: &MInst, r: &Regs, next: usize) -> Result<(), CompileError> {
        let m = &mut *self.masm;
        match inst {
            MInst::LoadSlot { ty, dst, slot } => {
                let at = self.frame.slot(*slot);
                if ty.is_float() {
                    m.load_slot_float(ty.size(), r.float(*dst), at)
                } else {
                    m.load_slot(ty.size(), r.int(*dst), at)
                }
            }
            MInst::StoreSlot { ty, src, slot } => {
                let at = self.frame.slot(*slot);
                if ty.is_float() {
                    m.store_slot_float(ty.size(), r.float(*src), at)
                } else {
                    // Integers and references are stored whole, as tier 1 stores them.
                    m.store_slot(Size::S64, r.int(*src), at)
                }
            }
            MInst::Iconst { size, dst, imm } => {
                // A 32-bit move zero-extends: shorter than a 64-bit immediate for small ones.
                let size = if u32::try_from(*imm).is_ok() { Size::S32 } else { *size };
                m.mov(size, r.int(*dst), RegImm::Imm(*imm))
            }
            MInst::Fconst { size, dst, bits } => m.load_float_const(*size, r.float(*dst), *bits),
            // The allocator gave both ends one register (a copy it coalesced): nothing to do.
            MInst::Mov { dst, src, .. } if r.get(*dst) == r.get(*src) => {}
            MInst::Mov { ty, dst, src } => {
                if ty.is_float() {
                    m.mov_float(r.float(*dst), r.float(*src))
                } else {
                    m.mov(Size::S64, r.int(*dst), RegImm::Reg(r.int(*src)))
                }
            }
            MInst::IntOp { op, size, dst, lhs, rhs, .. } => match r.slot(*rhs, self.frame) {
                Some(slot) => m.int_op_slot(*op, *size, r.int(*dst), r.int(*lhs), slot),
                None => m.int_op(*op, *size, r.int(*dst), r.int(*lhs), r.ri(*rhs)),
            },
            MInst::AddScaled { size, dst, base, index, disp } => {
                let index = index.map(|(i, shift)| (r.int(i), shift));
                m.add_scaled(*size, r.int(*dst), r.int(*base), index, *disp)
            }
            MInst::Div { op, size, dst, lhs, rhs } => {
                m.div(*op, *size, r.int(*dst), r.int(*lhs), r.ri(*rhs))
            }
            MInst::Unary { op, size, dst, src } => m.unary(*op, *size, r.int(*dst), r.int(*src)),
            MInst::Compare { cond, size, dst, lhs, rhs } => match r.slot(*rhs, self.frame) {
                Some(slot) => m.compare_slot(*cond, *size, r.int(*dst), r.int(*lhs), slot),
                None => m.compare(*cond, *size, r.int(*dst), r.int(*lhs), r.ri(*rhs)),
            },
            MInst::Select { ty, dst, b, cond: SelectCond::Flag(flag), .. } => match ty {
                MTy::F32 | MTy::F64 => {
                    m.select_float(ty.size(), r.float(*dst), r.int(*flag), r.float(*b))
                }
                _ => m.select(ty.size(), r.int(*dst), r.int(*flag), r.int(*b)),
            },
            MInst::Select {
                ty,
                dst,
                b,
                cond: SelectCond::Compare { cond, size, lhs, rhs },
                ..
            } => {
                let cmp =
                    Comparison { cond: *cond, size: *size, lhs: r.int(*lhs), rhs: r.ri(*rhs) };
                match ty {
                    MTy::F32 | MTy::F64 => {
                        m.select_float_compare(ty.size(), r.float(*dst), cmp, r.float(*b))
                    }
                    _ => m.select_compare(ty.size(), r.int(*dst), cmp, r.int(*b)),
                }
            }
            MInst::FloatOp { op, size, dst, lhs, rhs } => {
                m.float_op(*op, *size, r.float(*dst), r.float(*lhs), r.float(*rhs))
            }
            MInst::FloatUnary { op, size, dst, src } => {
                m.float_unary(*op, *size, r.float(*dst), r.float(*src))
            }
            MInst::FloatCompare { cmp, size, dst, lhs, rhs } => {
                m.float_compare(*cmp, *size, r.int(*dst), r.float(*lhs), r.float(*rhs))
            }
            MInst::FloatToInt { op, dst, src } => m.float_to_int(*op, r.int(*dst), r.float(*src)),
            MInst::IntToFloat { op, dst, src } => m.int_to_float(*op, r.float(*dst), r.int(*src)),
            MInst::FloatToFloat { op, dst, src } => {
                m.float_to_float(*op, r.float(*dst), r.float(*src))
            }
            MInst::Load { kind, dst, addr, offset } => {
                m.load_heap(*kind, r.int(*dst), addr.map(|a| r.int(a)), *offset)
            }
            MInst::Store { kind, src, addr, offset } => {
                m.store_heap(*kind, r.int(*src), addr.map(|a| r.int(a)), *offset)
            }
            MInst::LoadF { size, dst, addr, offset } => {
                m.load_heap_float(*size, r.float(*dst), addr.map(|a| r.int(a)), *offset)
            }
            MInst::StoreF { size, src, addr, offset } => {
                m.store_heap_float(*size, r.float(*src), addr.map(|a| r.int(a)), *offset)
            }
            MInst::GlobalGet { ty, dst, index } => {
                let global = GlobalCell::of(*index, self.imported_globals);
                if ty.is_float() {
                    m.load_global_float(ty.size(), r.float(*dst), global)
                } else {
                    m.load_global(ty.size(), r.int(*dst), global)
                }
            }
            MInst::GlobalSet { ty, src, index } => {
                let global = GlobalCell::of(*index, self.imported_globals);
                if ty.is_float() {
                    m.store_global_float(ty.size(), r.float(*src), global)
                } else {
                    m.store_global(ty.size(), r.int(*src), global)
                }
            }
            MInst::MemorySize { dst } => m.memory_size(r.int(*dst)),
            MInst::MemoryGrow { dst, delta } => m.memory_grow(r.int(*dst), r.int(*delta)),
            MInst::BulkMemory { op, operands } => m.bulk_memory(*op, operands.map(|v| r.int(v))),
            MInst::Fuel { amount } => m.consume_fuel(*amount),
            MInst::Call { callee, callee_fp } => m.call(*callee, self.frame.slot(*callee_fp)),
            MInst::CallByRegisters { def, func, callee_fp, locs, result_loc, .. } => {
                m.call_by_registers(*def, *func, self.frame.slot(*callee_fp), locs, *result_loc)
            }
            MInst::CallIndirectByRegisters {
                ty,
                table,
                callee_fp,
                index,
                locs,
                result_loc,
                ..
            } => {
                let (sig, fp) = (self.sig_ids[*ty as usize], self.frame.slot(*callee_fp));
                m.call_indirect_by_registers(*ty, sig, *table, fp, r.int(*index), locs, *result_loc)
            }
            // The allocator put the parameters where they are used from.
            MInst::Args { .. } => {}
            MInst::CallIndirect { ty, table, callee_fp, index_slot } => {
                // Inline through the table's dispatch array, as tier 1 calls.
                let (fp, index) = (self.frame.slot(*callee_fp), self.frame.slot(*index_slot));
                m.call_indirect_inline(*ty, self.sig_ids[*ty as usize], *table, fp, index)
            }
            MInst::Runtime { op, a, b, args } => m.runtime(*op, *a, *b, self.frame.slot(*args)),
            MInst::Jump { target } => self.jump_unless_next(*target, next),
            MInst::Brif { cond, then, otherwise } => {
                let flag = r.int(*cond);
                self.cond_branch(Cond::Ne, *then, *otherwise, next, |m, cond, label| {
                    m.branch(cond, Size::S32, flag, RegImm::Imm(0), label)
                });
            }
            MInst::CmpBranch { cond, size, lhs, rhs, then, otherwise } => {
                let (size, lhs) = (*size, r.int(*lhs));
                let (slot, rhs) = (r.slot(*rhs, self.frame), *rhs);
                self.cond_branch(*cond, *then, *otherwise, next, |m, cond, label| match slot {
                    Some(slot) => m.branch_slot(cond, size, lhs, slot, label),
                    None => m.branch(cond, size, lhs, r.ri(rhs), label),
                });
            }
            MInst::TestBranch { size, lhs, mask, then, otherwise } => {
                let (size, lhs, mask) = (*size, r.int(*lhs), *mask);
                self.two_way(*then, *otherwise, next, |m, nonzero, label| {
                    m.branch_test(size, lhs, mask, nonzero, label)
                });
            }
            MInst::FloatCmpBranch { cmp, size, lhs, rhs, then, otherwise } => {
                let label = self.labels[then.index()];
                m.branch_float(*cmp, *size, r.float(*lhs), r.float(*rhs), label);
                self.jump_unless_next(*otherwise, next);
            }
            MInst::BrTable { index, targets } => {
                let labels: Vec<M::Label> =
                    targets.iter().map(|t| self.labels[t.index()]).collect();
                m.jump_table(r.int(*index), &labels);
            }
            MInst::Ret { .. } => {
                if self.guest_profile {
                    m.profile_pop();
                }
                m.ret()
            }
            MInst::Trap { code } => {
                let label = m.trap_label(code.clone());
                m.jump(label);
            }
        }
        Ok(())
    }
}
