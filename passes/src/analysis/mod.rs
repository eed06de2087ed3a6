//! Analyses: control-flow graph, dominator tree, loop nesting, liveness, use lists, paths bound
//! to trap, and the call graph (the call graph's strongly connected components from `petgraph`; the per-function
//! analyses are computed directly, as they are rebuilt many times per compile).
//!
//! Each is a plain struct computed from a function (or module) on demand and cached in
//! [`FuncAnalyses`]. A pass reports what it changed ([`crate::pass::Changed`]) and the cache drops
//! exactly the analyses that depend on it. There is deliberately no analysis-manager framework:
//! analyses never update themselves incrementally and never mutate the IR.

mod callgraph;
mod cfg;
mod cold;
mod domtree;
mod liveness;
mod loops;
mod uses;

pub use callgraph::CallGraph;
pub use cfg::{Cfg, Edges};
pub use cold::bound_to_trap;
pub use domtree::DomTree;
pub use liveness::{BitSet, Liveness};
pub use loops::{Loop, LoopInfo};
pub use uses::Uses;

use crate::ir::Function;

/// The cached analyses of one function.
#[derive(Default, Debug)]
pub struct FuncAnalyses {
    cfg: Option<Cfg>,
    domtree: Option<DomTree>,
    loops: Option<LoopInfo>,
    liveness: Option<Liveness>,
    uses: Option<Uses>,
}

impl FuncAnalyses {
    /// The control-flow graph.
    pub fn cfg(&mut self, f: &Function) -> &Cfg {
        self.cfg.get_or_insert_with(|| Cfg::new(f))
    }

    /// The dominator tree.
    pub fn domtree(&mut self, f: &Function) -> &DomTree {
        if self.domtree.is_none() {
            let d = DomTree::new(f, self.cfg(f));
            self.domtree = Some(d);
        }
        self.domtree.as_ref().unwrap()
    }

    /// Loop nesting.
    pub fn loops(&mut self, f: &Function) -> &LoopInfo {
        if self.loops.is_none() {
            self.domtree(f);
            let l = LoopInfo::new(f, self.cfg.as_ref().unwrap(), self.domtree.as_ref().unwrap());
            self.loops = Some(l);
        }
        self.loops.as_ref().unwrap()
    }

    /// The CFG, dominator tree and loops at once (computed as needed), for a pass reading all
    /// three.
    pub fn cfg_domtree_loops(&mut self, f: &Function) -> (&Cfg, &DomTree, &LoopInfo) {
        self.loops(f);
        (self.cfg.as_ref().unwrap(), self.domtree.as_ref().unwrap(), self.loops.as_ref().unwrap())
    }

    /// [`FuncAnalyses::cfg_domtree_loops`] taken out of the cache, for a pass that moves
    /// instructions while it reads them; [`FuncAnalyses::put_back`] returns them if the CFG did
    /// not change meanwhile.
    pub fn take_cfg_domtree_loops(&mut self, f: &Function) -> (Cfg, DomTree, LoopInfo) {
        self.loops(f);
        (self.cfg.take().unwrap(), self.domtree.take().unwrap(), self.loops.take().unwrap())
    }

    /// Returns what [`FuncAnalyses::take_cfg_domtree_loops`] took. Only valid if the blocks and
    /// edges are still as they were then.
    pub fn put_back(&mut self, cfg: Cfg, domtree: DomTree, loops: LoopInfo) {
        self.cfg = Some(cfg);
        self.domtree = Some(domtree);
        self.loops = Some(loops);
    }

    /// Live-in and live-out sets.
    pub fn liveness(&mut self, f: &Function) -> &Liveness {
        if self.liveness.is_none() {
            let l = Liveness::new(f, self.cfg(f));
            self.liveness = Some(l);
        }
        self.liveness.as_ref().unwrap()
    }

    /// Use lists.
    pub fn uses(&mut self, f: &Function) -> &Uses {
        self.uses.get_or_insert_with(|| Uses::new(f))
    }

    /// Drops what depends on instructions and values (use lists, liveness).
    pub fn invalidate_insts(&mut self) {
        self.uses = None;
        self.liveness = None;
    }

    /// Drops everything (the CFG changed).
    pub fn invalidate_all(&mut self) {
        *self = FuncAnalyses::default();
    }

    /// Which analyses are currently cached (for tests of invalidation).
    pub fn cached(&self) -> [bool; 5] {
        [
            self.cfg.is_some(),
            self.domtree.is_some(),
            self.loops.is_some(),
            self.liveness.is_some(),
            self.uses.is_some(),
        ]
    }
}
