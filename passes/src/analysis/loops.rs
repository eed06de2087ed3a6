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
        let mut loops: Vec<Loop> = Vec::new();
        // The loop each block was last added to, by index + 1 (0: none yet): one mark array for
        // all loops rather than one per loop, which was quadratic in functions with many loops.
        let mut mark = vec![0usize; n];
        // Headers in dominator preorder, so outer loops come first.
        for &h in &dom.preorder {
            let latches: Vec<Block> =
                cfg.preds[h.index()].iter().copied().filter(|&p| dom.dominates(h, p)).collect();
            if latches.is_empty() {
                continue;
            }
            let id = loops.len() + 1;
            mark[h.index()] = id;
            let mut blocks = vec![h];
            let mut work = latches;
            while let Some(b) = work.pop() {
                if mark[b.index()] == id || !dom.is_reachable(b) {
                    continue;
                }
                mark[b.index()] = id;
                blocks.push(b);
                work.extend(cfg.preds[b.index()].iter().copied());
            }
            loops.push(Loop { header: h, blocks, parent: None, depth: 1 });
        }
        let mut innermost: Vec<Option<usize>> = vec![None; n];
        // Outer loops come first, so later (inner) loops overwrite. Natural loops with different
        // headers are nested or disjoint, so just before loop `i` claims its blocks, its header's
        // innermost loop so far is its parent.
        for i in 0..loops.len() {
            let parent = innermost[loops[i].header.index()];
            loops[i].parent = parent;
            loops[i].depth = parent.map_or(1, |p| loops[p].depth + 1);
            for &b in &loops[i].blocks {
                innermost[b.index()] = Some(i);
            }
        }
        LoopInfo { loops, innermost }
    }

    /// Loop depth of a block (0 outside loops).
    pub fn depth(&self, b: Block) -> u32 {
        self.innermost[b.index()].map_or(0, |l| self.loops[l].depth)
    }
}
