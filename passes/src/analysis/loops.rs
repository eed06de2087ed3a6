//! Natural loops and their nesting: a back edge is an edge to a block that dominates its source.

use super::{Cfg, DomTree};
use crate::ir::{Block, Function};

/// One natural loop (all back edges to one header merged).
#[derive(Debug, Clone)]
pub struct Loop {
    /// The header, which dominates every block of the loop.
    pub header: Block,
    /// Every block of the loop, header included (inner loops' blocks too).
    pub blocks: Vec<Block>,
    /// The innermost enclosing loop (an index into [`LoopInfo::loops`]).
    pub parent: Option<usize>,
    /// Nesting depth, 1 for outermost loops.
    pub depth: u32,
}

/// All loops of a function.
#[derive(Debug, Clone, Default)]
pub struct LoopInfo {
    /// Loops, outer loops before the loops they contain.
    pub loops: Vec<Loop>,
    /// The innermost loop of each block.
    pub innermost: Vec<Option<usize>>,
}

impl LoopInfo {
    /// Finds the loops.
    pub fn new(f: &Function, cfg: &Cfg, dom: &DomTree) -> LoopInfo {
        let n = f.blocks.len();
        let mut loops = Vec::new();
        // Headers in dominator preorder, so outer loops come first.
        for &h in &dom.preorder {
            let latches: Vec<Block> =
                cfg.preds[h.index()].iter().copied().filter(|&p| dom.dominates(h, p)).collect();
            if latches.is_empty() {
                continue;
            }
            let mut in_loop = vec![false; n];
            in_loop[h.index()] = true;
            let mut blocks = vec![h];
            let mut work = latches;
            while let Some(b) = work.pop() {
                if in_loop[b.index()] || !dom.is_reachable(b) {
                    continue;
                }
                in_loop[b.index()] = true;
                blocks.push(b);
                work.extend(cfg.preds[b.index()].iter().copied());
            }
            loops.push(Loop { header: h, blocks, parent: None, depth: 1 });
        }
        let mut innermost = vec![None; n];
        // Outer loops come first, so later (inner) loops overwrite.
        for (i, l) in loops.iter().enumerate() {
            for &b in &l.blocks {
                innermost[b.index()] = Some(i);
            }
        }
        // A loop's parent is the innermost loop containing its header, found before overwriting:
        // recompute with each loop's own header excluded.
        for i in 0..loops.len() {
            let h = loops[i].header;
            let parent = (0..i).rev().find(|&j| loops[j].blocks.contains(&h));
            loops[i].parent = parent;
            loops[i].depth = parent.map_or(1, |p| loops[p].depth + 1);
        }
        LoopInfo { loops, innermost }
    }

    /// Loop depth of a block (0 outside loops).
    pub fn depth(&self, b: Block) -> u32 {
        self.innermost[b.index()].map_or(0, |l| self.loops[l].depth)
    }
}
