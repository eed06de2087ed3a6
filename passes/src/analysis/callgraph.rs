//! The call graph: a petgraph `DiGraph` over the functions with bodies, with an edge per direct
//! call site, and its strongly connected components (recursion).

use crate::ir::{FuncId, InstKind, Module};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// Direct calls between the module's functions with bodies. Bodiless functions (imports, and
/// declarations an engine leaves out of its view of the module) call nothing, so they are left
/// out: a module an engine builds to compile one function holds thousands of them, and the graph
/// is made for every such compile.
#[derive(Debug, Clone)]
pub struct CallGraph {
    /// The functions with bodies, in index order; a function's position here is its node.
    bodies: Vec<FuncId>,
    /// One node per function with a body, weighted by its id; one edge per call site between
    /// them.
    pub graph: DiGraph<FuncId, ()>,
    /// The SCCs of the functions with bodies, in reverse topological order: callees before
    /// callers.
    pub sccs: Vec<Vec<FuncId>>,
    /// Per body, the index of its SCC in `sccs`.
    scc: Vec<usize>,
    /// Per body, whether it can reach itself (self-calls included).
    recursive: Vec<bool>,
    /// Per body, the number of direct call sites targeting it.
    call_sites: Vec<usize>,
}

impl CallGraph {
    /// Builds the graph.
    pub fn new(m: &Module) -> CallGraph {
        let bodies: Vec<FuncId> = (0..m.funcs.len())
            .filter(|&i| !m.funcs[i].layout.is_empty())
            .map(|i| FuncId(i as u32))
            .collect();
        CallGraph::of_bodies(m, bodies)
    }

    /// Builds the graph of `bodies`, the functions of `m` with bodies in index order (what a
    /// pass context already knows).
    pub fn of_bodies(m: &Module, bodies: Vec<FuncId>) -> CallGraph {
        let k = bodies.len();
        let mut graph = DiGraph::with_capacity(k, 0);
        for &f in &bodies {
            graph.add_node(f);
        }
        let node = |f: FuncId| bodies.binary_search(&f).ok();
        let mut call_sites = vec![0; k];
        let mut recursive = vec![false; k];
        for (from, &f) in bodies.iter().enumerate() {
            let func = &m.funcs[f.index()];
            for &b in &func.layout {
                for &inst in &func.blocks[b.index()].insts {
                    if let InstKind::Call(callee) = func.insts[inst.index()].kind
                        && let Some(to) = node(callee)
                    {
                        call_sites[to] += 1;
                        recursive[from] |= to == from;
                        graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
                    }
                }
            }
        }
        let mut sccs = Vec::new();
        let mut scc = vec![0; k];
        for comp in tarjan_scc(&graph) {
            for node in &comp {
                scc[node.index()] = sccs.len();
                recursive[node.index()] |= comp.len() > 1;
            }
            sccs.push(comp.iter().map(|&node| graph[node]).collect());
        }
        CallGraph { bodies, graph, sccs, scc, recursive, call_sites }
    }

    /// The node of `f` (`None`: `f` has no body).
    fn node(&self, f: FuncId) -> Option<usize> {
        self.bodies.binary_search(&f).ok()
    }

    /// Whether `a` and `b` are mutually recursive (or the same recursive function).
    pub fn same_scc(&self, a: FuncId, b: FuncId) -> bool {
        match (self.node(a), self.node(b)) {
            (Some(a), Some(b)) => self.scc[a] == self.scc[b],
            _ => a == b,
        }
    }

    /// Whether `f` can reach itself through calls (self-calls included).
    pub fn is_recursive(&self, f: FuncId) -> bool {
        self.node(f).is_some_and(|n| self.recursive[n])
    }

    /// The number of direct call sites (in functions with bodies) targeting `f`, which has a
    /// body (0 otherwise).
    pub fn call_sites(&self, f: FuncId) -> usize {
        self.node(f).map_or(0, |n| self.call_sites[n])
    }
}
