//! The control-flow graph of a function: successor and predecessor lists per block and a
//! reverse post-order, computed directly from the terminators (no graph library: this is built
//! many times per compile, and a general graph's per-edge allocations were most of its cost).

use crate::ir::{Block, Function};

/// Successors and predecessors of every block in the layout, with a reverse post-order.
#[derive(Debug, Clone)]
pub struct Cfg {
    /// Predecessors per block, one entry per edge (a block branching twice to `b` appears twice).
    pub preds: Edges,
    /// Successors per block, one entry per edge.
    pub succs: Edges,
    /// Blocks reachable from the entry, in reverse post-order.
    pub rpo: Vec<Block>,
    /// Whether each block is reachable from the entry.
    pub reachable: Vec<bool>,
}

impl Cfg {
    /// Computes the CFG.
    pub fn new(f: &Function) -> Cfg {
        let n = f.blocks.len();
        let (preds, succs) = Edges::of(f);
        let mut rpo = match f.layout.first() {
            Some(&entry) => post_order(&succs, entry),
            None => Vec::new(),
        };
        let mut reachable = vec![false; n];
        for b in &rpo {
            reachable[b.index()] = true;
        }
        rpo.reverse();
        Cfg { preds, succs, rpo, reachable }
    }

    /// Distinct predecessors of `b`.
    pub fn unique_preds(&self, b: Block) -> Vec<Block> {
        let mut p = self.preds[b.index()].to_vec();
        p.sort();
        p.dedup();
        p
    }
}

/// The blocks reachable from `entry` in depth-first post-order. The visiting order is the one
/// the pipeline has always had (petgraph's `DfsPostOrder` over edges added in successor order,
/// which visits the first successor first): passes walk blocks in this order, so another order
/// would change their output, not just its speed.
fn post_order(succs: &Edges, entry: Block) -> Vec<Block> {
    let n = succs.len();
    let (mut discovered, mut finished) = (vec![false; n], vec![false; n]);
    let mut order = Vec::new();
    let mut stack = vec![entry];
    while let Some(&b) = stack.last() {
        if !std::mem::replace(&mut discovered[b.index()], true) {
            // First visit: the successors go on the stack, the first one on top.
            for &s in succs[b.index()].iter().rev() {
                if !discovered[s.index()] {
                    stack.push(s);
                }
            }
        } else {
            stack.pop();
            if !std::mem::replace(&mut finished[b.index()], true) {
                order.push(b);
            }
        }
    }
    order
}

/// One list of blocks per block (predecessors or successors), stored flat: `edges[b]` is a slice.
/// Two arrays per CFG rather than a vector per block, as the CFG is rebuilt after every pass
/// that changes it.
#[derive(Debug, Clone, Default)]
pub struct Edges {
    /// Where each block's list starts in `blocks`; one more entry than there are blocks.
    starts: Vec<u32>,
    blocks: Vec<Block>,
}

impl Edges {
    /// The predecessor and successor lists of the blocks in `f`'s layout, in layout order and
    /// then branch-target order.
    fn of(f: &Function) -> (Edges, Edges) {
        let n = f.blocks.len();
        let (mut pred_starts, mut succ_starts) = (vec![0u32; n + 1], vec![0u32; n + 1]);
        for &b in &f.layout {
            for s in f.successors(b) {
                pred_starts[s.index() + 1] += 1;
                succ_starts[b.index() + 1] += 1;
            }
        }
        for i in 0..n {
            pred_starts[i + 1] += pred_starts[i];
            succ_starts[i + 1] += succ_starts[i];
        }
        let total = pred_starts[n] as usize;
        let (mut pred_fill, mut succ_fill) = (pred_starts.clone(), succ_starts.clone());
        let (mut preds, mut succs) = (vec![Block(0); total], vec![Block(0); total]);
        for &b in &f.layout {
            for s in f.successors(b) {
                preds[pred_fill[s.index()] as usize] = b;
                pred_fill[s.index()] += 1;
                succs[succ_fill[b.index()] as usize] = s;
                succ_fill[b.index()] += 1;
            }
        }
        (Edges { starts: pred_starts, blocks: preds }, Edges { starts: succ_starts, blocks: succs })
    }

    /// `n` lists, list `a` holding every `b` of a pair `(a, b)` from `pairs`, in their order.
    pub(crate) fn from_pairs(
        n: usize,
        pairs: impl Iterator<Item = (Block, Block)> + Clone,
    ) -> Edges {
        let mut starts = vec![0u32; n + 1];
        for (a, _) in pairs.clone() {
            starts[a.index() + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut blocks = vec![Block(0); starts[n] as usize];
        for (a, b) in pairs {
            blocks[fill[a.index()] as usize] = b;
            fill[a.index()] += 1;
        }
        Edges { starts, blocks }
    }

    /// The number of blocks (lists).
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::ops::Index<usize> for Edges {
    type Output = [Block];
    fn index(&self, b: usize) -> &[Block] {
        &self.blocks[self.starts[b] as usize..self.starts[b + 1] as usize]
    }
}
