//! Liveness: which values are live into and out of each block (iterative backward dataflow over
//! bit sets). A block parameter is defined at its block's top; a branch argument is used at the
//! end of the branching block.

use super::Cfg;
use crate::ir::{Block, Function, Value};

/// A fixed-size bit set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    /// An empty set for `n` elements.
    pub fn new(n: usize) -> BitSet {
        BitSet(vec![0; n.div_ceil(64)])
    }
    /// Inserts `i`.
    pub fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    /// Removes `i`.
    pub fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    /// Whether `i` is in.
    pub fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    /// `self |= other`; whether anything changed.
    pub fn union_with(&mut self, other: &BitSet) -> bool {
        let mut changed = false;
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            let n = *a | *b;
            changed |= n != *a;
            *a = n;
        }
        changed
    }
    /// Members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64).filter(move |i| bits & (1 << i) != 0).map(move |i| w * 64 + i)
        })
    }
}

/// Live-in and live-out sets per block.
#[derive(Debug, Clone)]
pub struct Liveness {
    /// Values live on entry to each block (its parameters excluded).
    pub live_in: Vec<BitSet>,
    /// Values live on exit.
    pub live_out: Vec<BitSet>,
}

impl Liveness {
    /// Computes liveness.
    pub fn new(f: &Function, cfg: &Cfg) -> Liveness {
        let (nb, nv) = (f.blocks.len(), f.values.len());
        // use[b]: used before any definition in b; def[b]: defined in b.
        let mut gen_ = vec![BitSet::new(nv); nb];
        let mut kill = vec![BitSet::new(nv); nb];
        for &b in &f.layout {
            let (g, k) = (&mut gen_[b.index()], &mut kill[b.index()]);
            for &p in &f.blocks[b.index()].params {
                k.insert(p.index());
            }
            for &i in &f.blocks[b.index()].insts {
                let d = &f.insts[i.index()];
                let all_args = d.args.iter().chain(d.targets.iter().flat_map(|t| t.args.iter()));
                for a in all_args {
                    if !k.contains(a.index()) {
                        g.insert(a.index());
                    }
                }
                for r in &d.results {
                    k.insert(r.index());
                }
            }
        }
        let mut live_in = gen_.clone();
        let mut live_out = vec![BitSet::new(nv); nb];
        let order: Vec<Block> = cfg.rpo.iter().rev().copied().collect();
        let mut changed = true;
        while changed {
            changed = false;
            for &b in &order {
                let mut out = BitSet::new(nv);
                for s in &cfg.succs[b.index()] {
                    out.union_with(&live_in[s.index()]);
                }
                // in = gen | (out - kill)
                let mut inn = out.clone();
                for (w, kw) in inn.0.iter_mut().zip(&kill[b.index()].0) {
                    *w &= !kw;
                }
                inn.union_with(&gen_[b.index()]);
                if inn != live_in[b.index()] {
                    live_in[b.index()] = inn;
                    changed = true;
                }
                live_out[b.index()] = out;
            }
        }
        Liveness { live_in, live_out }
    }

    /// Whether `v` is live into `b`.
    pub fn is_live_in(&self, v: Value, b: Block) -> bool {
        self.live_in[b.index()].contains(v.index())
    }
}
