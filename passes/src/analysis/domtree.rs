//! The dominator tree (Cooper, Harvey and Kennedy's iterative "simple, fast" algorithm over the
//! CFG's reverse post-order), with pre/post numbers so `dominates` is O(1).
//!
//! Computed here rather than with petgraph's `simple_fast` (the same algorithm): that one needs a
//! petgraph graph built from the CFG and keeps its numbering in hash maps, and the pipeline
//! rebuilds the tree after every pass that changes the CFG, where that overhead was a measured
//! part of tier 2's compile time (see the commit that made the change). The call graph's SCCs
//! still come from petgraph.

use super::Cfg;
use super::cfg::Edges;
use crate::ir::{Block, Function};

/// Immediate dominators and the tree's DFS numbering. Only reachable blocks are in the tree.
#[derive(Debug, Clone)]
pub struct DomTree {
    idom: Vec<Option<Block>>,
    /// Per block, its children (flat, like the CFG's edge lists).
    children: Edges,
    pre: Vec<u32>,
    post: Vec<u32>,
    /// Reachable blocks in a dominator-tree preorder (parents before children).
    pub preorder: Vec<Block>,
}

impl DomTree {
    /// Computes the tree.
    pub fn new(f: &Function, cfg: &Cfg) -> DomTree {
        let n = f.blocks.len();
        let mut idom = vec![None; n];
        let doms = immediate_dominators(cfg);
        for &b in cfg.rpo.iter().skip(1) {
            idom[b.index()] = Some(cfg.rpo[doms[b.index()] as usize]);
        }
        // RPO order keeps children sorted by layout-ish order.
        let pairs = cfg.rpo.iter().skip(1).map(|&b| (idom[b.index()].unwrap(), b));
        let children = Edges::from_pairs(n, pairs);
        let (mut pre, mut post) = (vec![u32::MAX; n], vec![0; n]);
        let mut preorder = Vec::new();
        let mut counter = 0;
        if let Some(&entry) = f.layout.first() {
            let mut stack = vec![(entry, 0usize)];
            pre[entry.index()] = counter;
            preorder.push(entry);
            counter += 1;
            while let Some((b, i)) = stack.pop() {
                if let Some(&c) = children[b.index()].get(i) {
                    stack.push((b, i + 1));
                    pre[c.index()] = counter;
                    preorder.push(c);
                    counter += 1;
                    stack.push((c, 0));
                } else {
                    post[b.index()] = counter;
                    counter += 1;
                }
            }
        }
        DomTree { idom, children, pre, post, preorder }
    }

    /// The immediate dominator (`None` for the entry and unreachable blocks).
    pub fn idom(&self, b: Block) -> Option<Block> {
        self.idom[b.index()]
    }

    /// Children in the tree.
    pub fn children(&self, b: Block) -> &[Block] {
        &self.children[b.index()]
    }

    /// Whether `b` is reachable (in the tree).
    pub fn is_reachable(&self, b: Block) -> bool {
        self.pre.get(b.index()).is_some_and(|&p| p != u32::MAX)
    }

    /// Whether `a` dominates `b` (reflexive). False when either is unreachable.
    pub fn dominates(&self, a: Block, b: Block) -> bool {
        self.is_reachable(a)
            && self.is_reachable(b)
            && self.pre[a.index()] <= self.pre[b.index()]
            && self.post[b.index()] <= self.post[a.index()]
    }
}

/// Per block, the reverse post-order number of its immediate dominator (the entry's is itself;
/// unreachable blocks' is `u32::MAX`): Cooper, Harvey and Kennedy, "A Simple, Fast Dominance
/// Algorithm", iterating over the reverse post-order until no block's dominator changes.
fn immediate_dominators(cfg: &Cfg) -> Vec<u32> {
    const NONE: u32 = u32::MAX;
    let mut number = vec![NONE; cfg.preds.len()];
    for (k, b) in cfg.rpo.iter().enumerate() {
        number[b.index()] = k as u32;
    }
    // Indexed by reverse post-order number.
    let mut idom = vec![NONE; cfg.rpo.len()];
    if idom.is_empty() {
        return number;
    }
    idom[0] = 0;
    let mut changed = true;
    while changed {
        changed = false;
        for (k, b) in cfg.rpo.iter().enumerate().skip(1) {
            let mut new = NONE;
            for p in &cfg.preds[b.index()] {
                let p = number[p.index()];
                if p == NONE || idom[p as usize] == NONE {
                    continue;
                }
                new = if new == NONE { p } else { intersect(&idom, p, new) };
            }
            if idom[k] != new {
                idom[k] = new;
                changed = true;
            }
        }
    }
    for n in number.iter_mut().filter(|n| **n != NONE) {
        *n = idom[*n as usize];
    }
    number
}

/// The nearest common dominator of the blocks numbered `a` and `b` (reverse post-order numbers).
fn intersect(idom: &[u32], mut a: u32, mut b: u32) -> u32 {
    while a != b {
        while a > b {
            a = idom[a as usize];
        }
        while b > a {
            b = idom[b as usize];
        }
    }
    a
}
