//! The control-flow graph of a function as a petgraph `DiGraph` whose node `i` is `block{i}`.

use crate::ir::{Block, Function};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{DfsPostOrder, Walker};

/// Successors and predecessors of every block in the layout, with a reverse post-order.
#[derive(Debug, Clone)]
pub struct Cfg {
    /// The graph: node `i` is block `i` (blocks not in the layout have no edges).
    pub graph: DiGraph<(), ()>,
    /// Predecessors per block, one entry per edge (a block branching twice to `b` appears twice).
    pub preds: Vec<Vec<Block>>,
    /// Successors per block, one entry per edge.
    pub succs: Vec<Vec<Block>>,
    /// Blocks reachable from the entry, in reverse post-order.
    pub rpo: Vec<Block>,
    /// Whether each block is reachable from the entry.
    pub reachable: Vec<bool>,
}

impl Cfg {
    /// Computes the CFG.
    pub fn new(f: &Function) -> Cfg {
        let n = f.blocks.len();
        let mut graph = DiGraph::with_capacity(n, n * 2);
        for _ in 0..n {
            graph.add_node(());
        }
        let mut preds = vec![Vec::new(); n];
        let mut succs = vec![Vec::new(); n];
        for &b in &f.layout {
            for s in f.successors(b) {
                graph.add_edge(NodeIndex::new(b.index()), NodeIndex::new(s.index()), ());
                preds[s.index()].push(b);
                succs[b.index()].push(s);
            }
        }
        let mut rpo: Vec<Block> = Vec::new();
        let mut reachable = vec![false; n];
        if let Some(&entry) = f.layout.first() {
            for node in DfsPostOrder::new(&graph, NodeIndex::new(entry.index())).iter(&graph) {
                rpo.push(Block(node.index() as u32));
                reachable[node.index()] = true;
            }
        }
        rpo.reverse();
        Cfg { graph, preds, succs, rpo, reachable }
    }

    /// Distinct predecessors of `b`.
    pub fn unique_preds(&self, b: Block) -> Vec<Block> {
        let mut p = self.preds[b.index()].clone();
        p.sort();
        p.dedup();
        p
    }
}
