//! The call graph: a petgraph `DiGraph` whose node `i` is `fn{i}`, with an edge per direct call
//! site, and its strongly connected components (recursion).

use crate::ir::{FuncId, InstKind, Module};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// Direct calls between the module's functions.
#[derive(Debug, Clone)]
pub struct CallGraph {
    /// Node `i` is function `i`; one edge per call site.
    pub graph: DiGraph<(), ()>,
    /// The strongly connected component of each function.
    pub scc: Vec<usize>,
    /// SCCs in reverse topological order: callees before callers.
    pub sccs: Vec<Vec<FuncId>>,
    /// Functions that can reach themselves (self-calls included).
    pub recursive: Vec<bool>,
    /// Number of direct call sites targeting each function.
    pub call_sites: Vec<usize>,
}

impl CallGraph {
    /// Builds the graph.
    pub fn new(m: &Module) -> CallGraph {
        let n = m.funcs.len();
        let mut graph = DiGraph::with_capacity(n, n);
        for _ in 0..n {
            graph.add_node(());
        }
        let mut call_sites = vec![0; n];
        let mut self_call = vec![false; n];
        for (i, f) in m.funcs.iter().enumerate() {
            for &b in &f.layout {
                for &inst in &f.blocks[b.index()].insts {
                    if let InstKind::Call(callee) = f.insts[inst.index()].kind {
                        graph.add_edge(NodeIndex::new(i), NodeIndex::new(callee.index()), ());
                        call_sites[callee.index()] += 1;
                        self_call[i] |= callee.index() == i;
                    }
                }
            }
        }
        let comps = tarjan_scc(&graph);
        let mut scc = vec![0; n];
        let mut recursive = self_call;
        let mut sccs = Vec::new();
        for (ci, comp) in comps.iter().enumerate() {
            for node in comp {
                scc[node.index()] = ci;
                if comp.len() > 1 {
                    recursive[node.index()] = true;
                }
            }
            sccs.push(comp.iter().map(|n| FuncId(n.index() as u32)).collect());
        }
        CallGraph { graph, scc, sccs, recursive, call_sites }
    }

    /// Whether `a` and `b` are mutually recursive (or the same recursive function).
    pub fn same_scc(&self, a: FuncId, b: FuncId) -> bool {
        self.scc[a.index()] == self.scc[b.index()]
    }
}
