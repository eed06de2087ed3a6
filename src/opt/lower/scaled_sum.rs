//! Integer additions as one `AddScaled` (x86-64 `lea`, aarch64's shifted-register `add`): the
//! sum's terms gathered through the additions and the small left shift that feed only it, the
//! shape of every array address (`base + (i << 2) + 16`), as Cranelift's address modes do.
//!
//! Wasm's additions wrap at their width, and so does the one instruction they become: folding
//! never changes a value, only how many instructions and registers compute it. A 32-bit sum
//! reads only the low halves of its registers, so an `i32.wrap_i64` feeding only it is folded
//! too (the `i64` register as it is). It must never
//! absorb an instruction whose result has another use (it would be computed twice) or that
//! lives in another block (its operands might not be live here).
//!
//! One exception, which needs no absorbing: a value `x + c` (an `add` of a constant) that only
//! additions use, such as the address of a local array (`sp + 64`), is read in each of them as
//! `x` with `c` added to the displacement (Cranelift's address modes do the same), when `x` is
//! used elsewhere anyway and the ISA's sums take a displacement for free. The sum then stays
//! dead, and a loop over the array keeps `x` in a register instead of both.

use super::{ImmUse, Lower, NumLowering, num_lowering};
use crate::isa::masm::{IntOp, Size};
use smallvec::SmallVec;
use tierup_passes::ir::{Block, Inst, InstKind, NumOp, Value};

/// How one integer `add` is lowered: `base + (index << shift) + disp` at `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ScaledSum {
    pub size: Size,
    pub base: Value,
    pub index: Option<(Value, u8)>,
    pub disp: i32,
}

/// The largest left shift a scaled index takes (x86-64's scale of 8).
const MAX_SHIFT: u8 = 3;

impl Lower<'_> {
    /// Marks the values every sum reads as a register and an offset (see the module doc): an
    /// `add` of a register `x` (not a constant, and used elsewhere, so that nothing absorbs its
    /// definition) and a constant the `add` takes, whose every use is an integer `add`. Only
    /// where a sum's displacement is free: on aarch64 it would cost an instruction per use.
    pub(super) fn decide_offset_terms(&mut self) {
        if !self.immediates.scaled_sum_takes_displacement() {
            return;
        }
        let mut add_uses = vec![0u32; self.f.values.len()];
        for &b in &self.f.layout {
            for &i in &self.f.blocks[b.index()].insts {
                if self.add_size(i).is_some() {
                    for &a in &self.f.insts[i.index()].args {
                        add_uses[a.index()] += 1;
                    }
                }
            }
        }
        for &b in &self.f.layout {
            for &i in &self.f.blocks[b.index()].insts {
                let Some(size) = self.add_size(i) else { continue };
                let d = &self.f.insts[i.index()];
                let v = d.results[0];
                if add_uses[v.index()] != self.uses[v.index()] {
                    continue;
                }
                let [a, b] = d.args[..] else { continue };
                let (x, c) = match (self.f.const_of(a), self.f.const_of(b)) {
                    (None, Some(_)) => (a, b),
                    (Some(_), None) => (b, a),
                    _ => continue,
                };
                if let Some(c) = self.addend(size, c)
                    && self.uses[x.index()] > 1
                {
                    self.offset_terms.insert(v, (x, c));
                }
            }
        }
    }

    /// How a sum reads term `v`: as a register plus a constant (`decide_offset_terms`), or as
    /// itself.
    fn offset_term(&self, v: Value) -> (Value, i64) {
        self.offset_terms.get(&v).copied().unwrap_or((v, 0))
    }

    /// Plans every integer `add` in block `b`'s `body` (see [`ScaledSum`]), marking the
    /// instructions each absorbs. Later additions first: an outer sum claims its operands before
    /// they are planned on their own.
    pub(super) fn plan_scaled_sums(&mut self, b: Block, body: &[Inst]) {
        self.scaled_sums.clear();
        for &i in body.iter().rev() {
            if self.absorbed[i.index()] {
                continue;
            }
            let Some(size) = self.add_size(i) else { continue };
            if let Some((sum, absorbed)) = self.scaled_sum(b, i, size) {
                for a in absorbed {
                    self.absorbed[a.index()] = true;
                }
                self.scaled_sums.insert(i, sum);
            }
        }
    }

    /// The width of `i` if it is an integer `add`.
    fn add_size(&self, i: Inst) -> Option<Size> {
        let InstKind::Num(op) = self.f.insts[i.index()].kind else { return None };
        match num_lowering(op) {
            NumLowering::Int(IntOp::Add, size) => Some(size),
            _ => None,
        }
    }

    /// `v` as a constant an `add` at `size` takes as an immediate.
    fn addend(&self, size: Size, v: Value) -> Option<i64> {
        self.imm_for(ImmUse::Int(IntOp::Add, size), v)
    }

    /// The sum `add` `i` computes, with the additions of the same width that only it uses
    /// (in block `b`) folded in while at most two register terms remain, and a register term
    /// that is a small constant left shift (used only here) as the scaled index. `None` when
    /// the constants' total is no immediate the `add` takes.
    fn scaled_sum(
        &self,
        b: Block,
        i: Inst,
        size: Size,
    ) -> Option<(ScaledSum, SmallVec<[Inst; 6]>)> {
        let args = &self.f.insts[i.index()].args;
        let (mut regs, mut disp, mut absorbed) =
            (SmallVec::<[Value; 4]>::new(), 0i64, SmallVec::new());
        for (n, &term) in args.iter().enumerate() {
            if let Some(c) = self.addend(size, term) {
                disp = disp.wrapping_add(c);
                continue;
            }
            // Registers the other operand needs: at most one.
            let others = args[n + 1..].iter().filter(|&&v| self.addend(size, v).is_none()).count();
            let inner = self.sole_def_in(b, term).filter(|&d| self.add_size(d) == Some(size));
            if let Some(def) = inner {
                let inner_args = &self.f.insts[def.index()].args;
                let inner_regs: SmallVec<[Value; 2]> = inner_args
                    .iter()
                    .copied()
                    .filter(|&v| self.addend(size, v).is_none())
                    .collect();
                if regs.len() + inner_regs.len() + others <= 2 {
                    for &v in inner_args.iter() {
                        if let Some(c) = self.addend(size, v) {
                            disp = disp.wrapping_add(c);
                        }
                    }
                    for v in inner_regs {
                        let (v, c) = self.offset_term(v);
                        disp = disp.wrapping_add(c);
                        regs.push(v);
                    }
                    absorbed.push(def);
                    continue;
                }
            }
            let (term, c) = self.offset_term(term);
            disp = disp.wrapping_add(c);
            regs.push(term);
        }
        let disp = match size {
            Size::S32 => disp as i32,
            Size::S64 => i32::try_from(disp).ok()?,
        };
        if !self.immediates.int_op_takes(IntOp::Add, size, disp as i64) {
            return None;
        }
        if size == Size::S32 {
            for v in &mut regs {
                if let Some((def, wide)) = self.wrapped(b, *v) {
                    absorbed.push(def);
                    *v = wide;
                }
            }
        }
        let (base, index) = match regs[..] {
            [base] => (base, None),
            [a, b2] => match (self.scaled_index(b, b2, size), self.scaled_index(b, a, size)) {
                (Some((def, index)), _) => {
                    absorbed.push(def);
                    (a, Some(index))
                }
                (None, Some((def, index))) => {
                    absorbed.push(def);
                    (b2, Some(index))
                }
                (None, None) => (a, Some((b2, 0))),
            },
            // A sum of constants only is the constant folder's.
            _ => return None,
        };
        let index = match index {
            Some((q, k)) if size == Size::S32 => match self.wrapped(b, q) {
                Some((def, wide)) => {
                    absorbed.push(def);
                    Some((wide, k))
                }
                None => Some((q, k)),
            },
            index => index,
        };
        Some((ScaledSum { size, base, index, disp }, absorbed))
    }

    /// `v` as `q << k` (`k` at most [`MAX_SHIFT`]) when a shift of width `size` in block `b`,
    /// used only here, defines it: the shift and the index it becomes.
    fn scaled_index(&self, b: Block, v: Value, size: Size) -> Option<(Inst, (Value, u8))> {
        let def = self.sole_def_in(b, v)?;
        let d = &self.f.insts[def.index()];
        let InstKind::Num(op) = d.kind else { return None };
        if !matches!(num_lowering(op), NumLowering::Int(IntOp::Shl, s) if s == size) {
            return None;
        }
        let bits = match size {
            Size::S32 => 31,
            Size::S64 => 63,
        };
        let shift = self.imm_of(d.args[1])? & bits;
        (1..=MAX_SHIFT as i64).contains(&shift).then_some((def, (d.args[0], shift as u8)))
    }

    /// `v` as the `i64` an `i32.wrap_i64` in block `b`, used only here, truncates: the
    /// instruction and its operand.
    fn wrapped(&self, b: Block, v: Value) -> Option<(Inst, Value)> {
        let def = self.sole_def_in(b, v)?;
        let d = &self.f.insts[def.index()];
        (d.kind == InstKind::Num(NumOp::I32WrapI64)).then(|| (def, d.args[0]))
    }
}
