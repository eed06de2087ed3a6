//! Small IR-editing helpers shared by passes.

use crate::ir::{Block, Function, Inst, Value, ValueDef};

/// Every edge into each block: `(branching block, terminator, target index)`, stored flat
/// (`preds[block.index()]` is a slice).
pub struct Preds {
    offsets: Vec<u32>,
    edges: Vec<(Block, Inst, usize)>,
}

impl std::ops::Index<usize> for Preds {
    type Output = [(Block, Inst, usize)];
    fn index(&self, b: usize) -> &Self::Output {
        &self.edges[self.offsets[b] as usize..self.offsets[b + 1] as usize]
    }
}

/// Computes [`Preds`].
pub fn pred_edges(f: &Function) -> Preds {
    let n = f.blocks.len();
    let mut count = vec![0u32; n + 1];
    for &b in &f.layout {
        if let Some(t) = f.terminator(b) {
            for c in &f.insts[t.index()].targets {
                count[c.block.index() + 1] += 1;
            }
        }
    }
    for i in 0..n {
        count[i + 1] += count[i];
    }
    let mut fill = count.clone();
    let mut edges = vec![(Block(0), Inst(0), 0); count[n] as usize];
    for &b in &f.layout {
        if let Some(t) = f.terminator(b) {
            for (i, c) in f.insts[t.index()].targets.iter().enumerate() {
                let slot = &mut fill[c.block.index()];
                edges[*slot as usize] = (b, t, i);
                *slot += 1;
            }
        }
    }
    Preds { offsets: count, edges }
}

/// A substitution table being built: `map[v] = Some(w)` replaces `v` by `w`.
pub struct Subst(pub Vec<Option<Value>>);

impl Subst {
    /// Empty, sized for `f`.
    pub fn new(f: &Function) -> Subst {
        Subst(vec![None; f.values.len()])
    }

    /// Records `from -> to`.
    pub fn set(&mut self, from: Value, to: Value) {
        if self.0.len() <= from.index() {
            self.0.resize(from.index() + 1, None);
        }
        let to = self.resolve(to);
        if to != from {
            self.0[from.index()] = Some(to);
        }
    }

    /// Follows the table.
    pub fn resolve(&self, mut v: Value) -> Value {
        while let Some(Some(w)) = self.0.get(v.index()) {
            v = *w;
        }
        v
    }

    /// Whether anything was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Applies the table to every use in `f`.
    pub fn apply(&self, f: &mut Function) {
        if !self.is_empty() {
            f.apply_substitution(&self.0);
        }
    }
}

/// Removes parameter `idx` of `block` and the matching argument from every edge into it.
pub fn remove_param(f: &mut Function, preds: &Preds, block: Block, idx: usize) {
    let p = f.blocks[block.index()].params.remove(idx);
    f.values[p.index()].def = ValueDef::None;
    for &(_, inst, ti) in &preds[block.index()] {
        f.insts[inst.index()].targets[ti].args.remove(idx);
    }
    f.renumber_params(block);
}

/// Removes the instructions for which `dead` is true from every block.
pub fn remove_insts(f: &mut Function, dead: &[bool]) {
    for bi in 0..f.layout.len() {
        let b = f.layout[bi];
        f.blocks[b.index()].insts.retain(|i| !dead[i.index()]);
    }
    for (i, &d) in dead.iter().enumerate() {
        if d {
            for r in f.insts[i].results.clone() {
                f.values[r.index()].def = ValueDef::None;
            }
        }
    }
}

/// Keeps only blocks reachable from the entry in the layout; returns how many were dropped.
pub fn remove_unreachable_blocks(f: &mut Function) -> usize {
    let mut reachable = vec![false; f.blocks.len()];
    let mut stack = vec![f.entry()];
    reachable[f.entry().index()] = true;
    while let Some(b) = stack.pop() {
        for s in f.successors(b) {
            if !std::mem::replace(&mut reachable[s.index()], true) {
                stack.push(s);
            }
        }
    }
    let before = f.layout.len();
    f.layout.retain(|b| reachable[b.index()]);
    before - f.layout.len()
}
