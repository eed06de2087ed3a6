//! The dominator tree (petgraph's Cooper–Harvey–Kennedy `simple_fast`), with pre/post numbers so
//! `dominates` is O(1).

use super::Cfg;
use crate::ir::{Block, Function};
use petgraph::algo::dominators::simple_fast;
use petgraph::graph::NodeIndex;

/// Immediate dominators and the tree's DFS numbering. Only reachable blocks are in the tree.
#[derive(Debug, Clone)]
pub struct DomTree {
    idom: Vec<Option<Block>>,
    children: Vec<Vec<Block>>,
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
        let mut children = vec![Vec::new(); n];
        if let Some(&entry) = f.layout.first() {
            let doms = simple_fast(&cfg.graph, NodeIndex::new(entry.index()));
            // RPO order keeps children sorted by layout-ish order.
            for &b in &cfg.rpo {
                if let Some(d) = doms.immediate_dominator(NodeIndex::new(b.index())) {
                    let d = Block(d.index() as u32);
                    if d != b {
                        idom[b.index()] = Some(d);
                        children[d.index()].push(b);
                    }
                }
            }
        }
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
