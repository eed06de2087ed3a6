//! The call graph: a petgraph `DiGraph` over the functions with bodies, with an edge per direct
//! call site, and its strongly connected components (recursion).

use crate::ir::{FuncId, InstKind, Module};
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

/// Direct calls between the module's functions.
#[derive(Debug, Clone)]
pub struct CallGraph {
    /// One node per function with a body, weighted by its id; one edge per call site between
    /// them. Bodiless functions (imports, and declarations an engine leaves out of its view of the
    /// module) call nothing, so they are left out: a module an engine builds to compile one
    /// function holds thousands of them.
    pub graph: DiGraph<FuncId, ()>,
    /// The strongly connected component of each function (bodiless ones each their own, not
    /// listed in `sccs`).
    pub scc: Vec<usize>,
    /// The SCCs of the functions with bodies, in reverse topological order: callees before
    /// callers.
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
        let mut node_of = vec![None; n];
        let mut graph = DiGraph::new();
        // Component numbers: `0..n` for the bodiless functions' own, `n..` for the SCCs.
        let mut scc: Vec<usize> = (0..n).collect();
        for (i, f) in m.funcs.iter().enumerate() {
            if !f.layout.is_empty() {
                node_of[i] = Some(graph.add_node(FuncId(i as u32)));
            }
        }
        let mut call_sites = vec![0; n];
        let mut recursive = vec![false; n];
        for (i, f) in m.funcs.iter().enumerate() {
            for &b in &f.layout {
                for &inst in &f.blocks[b.index()].insts {
                    if let InstKind::Call(callee) = f.insts[inst.index()].kind {
                        call_sites[callee.index()] += 1;
                        recursive[i] |= callee.index() == i;
                        if let (Some(from), Some(to)) = (node_of[i], node_of[callee.index()]) {
                            graph.add_edge(from, to, ());
                        }
                    }
                }
            }
        }
        let mut sccs = Vec::new();
        for comp in tarjan_scc(&graph) {
            let ids: Vec<FuncId> = comp.iter().map(|&node| graph[node]).collect();
            for id in &ids {
                scc[id.index()] = n + sccs.len();
                recursive[id.index()] |= ids.len() > 1;
            }
            sccs.push(ids);
        }
        CallGraph { graph, scc, sccs, recursive, call_sites }
    }

    /// Whether `a` and `b` are mutually recursive (or the same recursive function).
    pub fn same_scc(&self, a: FuncId, b: FuncId) -> bool {
        self.scc[a.index()] == self.scc[b.index()]
    }
}
