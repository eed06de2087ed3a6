//! Which of the register allocator's spill stores and reloads move a value where it already is.
//!
//! regalloc2 stores a spilled value to its slot again wherever a split of its live range goes
//! back to the stack, even when the register still holds what the slot holds (it was reloaded
//! from there and nothing wrote either since); its own redundant-move eliminator looks within a
//! block only. In a loop that reloads a spilled invariant, that is a store per iteration (see
//! the `spill-operands.ir` golden test). This pass finds them across blocks: a forward dataflow
//! analysis of which spill slots equal which registers, met by intersection at joins, over
//! the allocated code. A store of a register to a slot that already equals it, and a reload of
//! a slot into a register that already equals it, are redundant.
//!
//! What may write a register: an instruction's definitions and clobbers (calls, lent scratch
//! registers), and the allocator's moves; the allocator's scratch registers, which the ISA
//! layer also writes at will, are never trusted. Every `MacroAssembler` must keep to that: it
//! writes an allocatable register only where the allocator was told (definitions,
//! `lent_scratch`, caller-saved registers at calls). Only the allocator's moves write spill
//! slots: the frame's other slots (parameters, results, the call area) lie outside the spill
//! area, and a callee's frame lies beyond the caller's. It never emits code: it tells `emit`
//! what to emit.

use super::vcode::VCode;
use regalloc2::{Block, Edit, Function, Inst, OperandKind, Output, PReg, PRegSet, ProgPoint};

/// One block's instructions and the allocator's moves around them, in code order; a move by
/// its index in `Output::edits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Inst(Inst),
    Edit(usize),
}

/// The items of `block` (as `Output::block_insts_and_edits` orders them).
fn block_items(vcode: &VCode, output: &Output, block: Block) -> Vec<Item> {
    let range = vcode.block_insns(block);
    let edits = &output.edits;
    let mut next_edit = edits.partition_point(|(at, _)| *at < ProgPoint::before(range.first()));
    let mut items = Vec::with_capacity(range.len());
    let mut edits_at = |at: ProgPoint, items: &mut Vec<Item>| {
        while next_edit < edits.len() && edits[next_edit].0 == at {
            items.push(Item::Edit(next_edit));
            next_edit += 1;
        }
    };
    for inst in range.iter() {
        edits_at(ProgPoint::before(inst), &mut items);
        items.push(Item::Inst(inst));
        edits_at(ProgPoint::after(inst), &mut items);
    }
    items
}

/// Spill slots known to hold the value a register holds: (slot, register) pairs, sorted; and
/// the registers among them (or more: a filter that spares most writes a search).
#[derive(Clone, Debug, Default)]
struct Facts {
    pairs: Vec<(usize, PReg)>,
    regs: PRegSet,
    /// The allocator's scratch registers (`MachineEnv::scratch_by_class`): its moves use them
    /// to break cycles and copy slot to slot, and the ISA layer writes them at will, unknown
    /// to the allocator, so what they hold is never a fact.
    scratch: PRegSet,
}

impl Facts {
    fn holds(&self, slot: usize, reg: PReg) -> bool {
        self.pairs.binary_search(&(slot, reg)).is_ok()
    }

    fn add(&mut self, slot: usize, reg: PReg) {
        if self.scratch.contains(reg) {
            return;
        }
        if let Err(at) = self.pairs.binary_search(&(slot, reg)) {
            self.pairs.insert(at, (slot, reg));
            self.regs.add(reg);
        }
    }

    /// `reg` was written: no slot equals it any more.
    fn kill_reg(&mut self, reg: PReg) {
        if self.regs.contains(reg) {
            self.pairs.retain(|&(_, r)| r != reg);
            self.regs.remove(reg);
        }
    }

    /// `slot` was written.
    fn kill_slot(&mut self, slot: usize) {
        self.pairs.retain(|&(s, _)| s != slot);
    }

    /// Keeps only what `other` knows too; whether anything was dropped.
    fn meet(&mut self, other: &Facts) -> bool {
        let before = self.pairs.len();
        self.pairs.retain(|f| other.pairs.binary_search(f).is_ok());
        self.pairs.len() != before
    }

    /// The effect of allocator move `edit`; whether it moved a value where it already was.
    fn apply_edit(&mut self, edit: &Edit) -> bool {
        let Edit::Move { from, to } = *edit;
        match (from.as_reg(), from.as_stack(), to.as_reg(), to.as_stack()) {
            (Some(f), _, Some(t), _) => {
                if f != t {
                    self.kill_reg(t);
                    let copies: Vec<usize> =
                        self.pairs.iter().filter(|&&(_, r)| r == f).map(|&(s, _)| s).collect();
                    for s in copies {
                        self.add(s, t);
                    }
                }
                f == t
            }
            (Some(f), _, _, Some(s)) => {
                let redundant = self.holds(s.index(), f);
                if !redundant {
                    self.kill_slot(s.index());
                    self.add(s.index(), f);
                }
                redundant
            }
            (_, Some(s), Some(t), _) => {
                let redundant = self.holds(s.index(), t);
                if !redundant {
                    self.kill_reg(t);
                    self.add(s.index(), t);
                }
                redundant
            }
            // Slot to slot (which `emit` refuses) or anything unforeseen: forget both ends.
            _ => {
                self.pairs.clear();
                false
            }
        }
    }

    /// The effect of instruction `inst`: its definitions and clobbers write registers.
    fn apply_inst(&mut self, vcode: &VCode, output: &Output, inst: Inst) {
        if self.pairs.is_empty() {
            return;
        }
        let operands = vcode.inst_operands(inst);
        for (op, alloc) in operands.iter().zip(output.inst_allocs(inst)) {
            if op.kind() == OperandKind::Def
                && let Some(reg) = alloc.as_reg()
            {
                self.kill_reg(reg);
            }
        }
        for reg in vcode.inst_clobbers(inst) {
            self.kill_reg(reg);
        }
    }

    /// Walks `items` from these facts; marks each redundant move in `redundant` when given.
    fn walk(
        &mut self,
        vcode: &VCode,
        output: &Output,
        items: &[Item],
        mut redundant: Option<&mut [bool]>,
    ) {
        for &item in items {
            match item {
                Item::Inst(inst) => self.apply_inst(vcode, output, inst),
                Item::Edit(e) => {
                    if self.apply_edit(&output.edits[e].1)
                        && let Some(marks) = redundant.as_deref_mut()
                    {
                        marks[e] = true;
                    }
                }
            }
        }
    }
}

/// Each block's instructions and moves to emit, in code order: the allocator's, but for the
/// redundant moves (see the module doc); and how many moves were left out.
pub struct ToEmit {
    pub blocks: Vec<Vec<Item>>,
    pub left_out: usize,
}

/// What `emit` emits of `vcode` as allocated by `output`: every move but the redundant ones;
/// `scratch` holds the allocator's scratch registers.
pub fn to_emit(vcode: &VCode, output: &Output, scratch: PRegSet) -> ToEmit {
    let n = vcode.num_blocks();
    let mut blocks: Vec<Vec<Item>> =
        (0..n).map(|b| block_items(vcode, output, Block::new(b))).collect();
    if output.num_spillslots == 0 {
        // Nothing was spilled: no move touches a slot.
        return ToEmit { blocks, left_out: 0 };
    }
    // Per block, the facts on entry; `None` until some predecessor reaches it (the optimistic
    // start a loop header needs, lowered by its back-edges' facts until nothing changes). Rounds
    // in block order walk only the blocks whose entry facts changed since their last walk.
    let mut entry: Vec<Option<Facts>> = vec![None; n];
    entry[0] = Some(Facts { scratch, ..Facts::default() });
    let mut dirty = vec![false; n];
    dirty[0] = true;
    while dirty.contains(&true) {
        for b in 0..n {
            if !std::mem::take(&mut dirty[b]) {
                continue;
            }
            let Some(mut facts) = entry[b].clone() else { continue };
            facts.walk(vcode, output, &blocks[b], None);
            for succ in vcode.block_succs(Block::new(b)) {
                let s = succ.index();
                match &mut entry[s] {
                    Some(known) => dirty[s] |= known.meet(&facts),
                    unset @ None => {
                        *unset = Some(facts.clone());
                        dirty[s] = true;
                    }
                }
            }
        }
    }
    let mut redundant = vec![false; output.edits.len()];
    for (b, facts) in entry.into_iter().enumerate() {
        if let Some(mut facts) = facts {
            facts.walk(vcode, output, &blocks[b], Some(&mut redundant));
        }
    }
    for items in &mut blocks {
        items.retain(|item| !matches!(*item, Item::Edit(e) if redundant[e]));
    }
    let left_out = redundant.iter().filter(|&&r| r).count();
    ToEmit { blocks, left_out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regalloc2::{Allocation, RegClass, SpillSlot};

    fn reg(n: usize) -> Allocation {
        Allocation::reg(PReg::new(n, RegClass::Int))
    }

    fn slot(n: usize) -> Allocation {
        Allocation::stack(SpillSlot::new(n))
    }

    fn mv(facts: &mut Facts, from: Allocation, to: Allocation) -> bool {
        facts.apply_edit(&Edit::Move { from, to })
    }

    #[test]
    fn a_store_or_reload_between_a_slot_and_a_register_that_agree_is_redundant() {
        let mut facts = Facts::default();
        assert!(!mv(&mut facts, reg(8), slot(0)), "the first spill stores");
        assert!(mv(&mut facts, slot(0), reg(8)), "reloading what the register holds");
        assert!(mv(&mut facts, reg(8), slot(0)), "storing it back");
        assert!(!mv(&mut facts, slot(0), reg(9)), "a reload into another register");
        assert!(mv(&mut facts, reg(9), slot(0)), "which now agrees with the slot too");
        // A copy into r10 carries r8's slot; then r8 gets another value.
        assert!(!mv(&mut facts, reg(8), reg(10)));
        assert!(mv(&mut facts, reg(10), slot(0)));
        assert!(!mv(&mut facts, slot(1), reg(8)), "r8 written: holds slot 1 now");
        assert!(!mv(&mut facts, reg(8), slot(0)), "so storing it to slot 0 is not redundant");
        assert!(!mv(&mut facts, slot(0), reg(9)), "and slot 0 changed under r9");
    }

    /// The ISA layer writes the scratch register unknown to the allocator: a reload into it is
    /// never left out (sqlite's `wherePathSolver` on aarch64 read a stale `x16` when it was).
    #[test]
    fn what_the_scratch_register_holds_is_never_a_fact() {
        let mut facts = Facts {
            scratch: PRegSet::empty().with(PReg::new(16, RegClass::Int)),
            ..Facts::default()
        };
        assert!(!mv(&mut facts, slot(9), reg(16)));
        assert!(!mv(&mut facts, slot(9), reg(16)), "reloaded again: it may have changed");
        assert!(!mv(&mut facts, reg(16), slot(9)));
        assert!(!mv(&mut facts, reg(16), slot(9)));
    }

    #[test]
    fn a_register_written_or_a_join_that_disagrees_forgets_the_slot() {
        let mut facts = Facts::default();
        mv(&mut facts, reg(8), slot(0));
        let mut other = facts.clone();
        other.kill_reg(PReg::new(8, RegClass::Int));
        assert!(!other.holds(0, PReg::new(8, RegClass::Int)));
        assert!(facts.meet(&other), "the join drops what one side does not know");
        assert!(!mv(&mut facts, reg(8), slot(0)));
        assert!(!facts.meet(&facts.clone()), "meeting the same facts changes nothing");
    }
}
