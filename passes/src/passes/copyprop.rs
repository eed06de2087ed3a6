//! Copy propagation: `copy` instructions are replaced by their operand, and a block parameter
//! that can only ever hold one value is replaced by that value and removed with its arguments.
//!
//! A parameter holds one value when every edge passes it that value, itself (around a loop), or
//! another such parameter: parameters that only pass each other around form cycles, as the
//! headers of a loop nest do for a value the nest never changes when the nest is entered from two
//! places (tier 2's on-stack-replacement builds enter at an inner loop and branch back to the
//! outer ones). A check of one parameter at a time cannot see through such a cycle; an optimistic
//! fixpoint does (Braun et al., "Simple and Efficient Construction of Static Single Assignment
//! Form", 2013, remove the same redundant phi cycles by strongly connected components).

use super::util::{Subst, pred_edges, remove_insts, remove_param};
use crate::analysis::FuncAnalyses;
use crate::ir::{Block, Env, Function, InstKind, Value};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `copyprop` pass.
pub struct CopyProp;

impl FunctionPass for CopyProp {
    fn name(&self) -> &'static str {
        "copyprop"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        _an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let mut subst = Subst::new(f);
        let mut dead = vec![false; f.insts.len()];
        let mut copies = 0;
        for &b in &f.layout {
            for &i in &f.blocks[b.index()].insts {
                let d = &f.insts[i.index()];
                if d.kind == InstKind::Copy {
                    subst.set(d.results[0], d.args[0]);
                    dead[i.index()] = true;
                    copies += 1;
                }
            }
        }
        let params = remove_redundant_params(f, &mut subst);
        remove_insts(f, &dead);
        subst.apply(f);
        *counters.entry("copies removed").or_default() += copies;
        *counters.entry("params removed").or_default() += params;
        if copies + params > 0 { Changed::INSTS } else { Changed::NONE }
    }
}

/// What the fixpoint knows of a block parameter.
#[derive(Clone, Copy, PartialEq)]
enum Holds {
    /// No edge has told yet (optimistic start; a parameter still here at the end is in code no
    /// execution reaches, and is left alone).
    Nothing,
    /// Only this value (never a parameter still being decided).
    Only(Value),
    /// Different values on different edges: the parameter is needed.
    Several,
}

/// Replaces (in `subst`) and removes every parameter of a non-entry block that can only hold
/// one value; returns how many.
///
/// Every candidate starts at [`Holds::Nothing`]; rounds over all of them meet what their edges
/// pass (a needed parameter passes itself, a decided one its value, an undecided one nothing)
/// until no parameter changes. At the fixpoint a parameter that holds `v` gets `v` on every
/// edge that can run, and `v`'s definition dominates the parameter's block: every path into the
/// block enters it along an edge carrying `v` or a parameter that holds `v` (the argument in
/// Braun et al.'s Lemma 3).
fn remove_redundant_params(f: &mut Function, subst: &mut Subst) -> u64 {
    let preds = pred_edges(f);
    let entry = f.entry();
    let candidates: Vec<(Block, usize, Value)> = f
        .layout
        .iter()
        .filter(|&&b| b != entry && !preds[b.index()].is_empty())
        .flat_map(|&b| f.blocks[b.index()].params.iter().enumerate().map(move |(i, &p)| (b, i, p)))
        .collect();
    let mut holds: Vec<Option<Holds>> = vec![None; f.values.len()];
    for &(_, _, p) in &candidates {
        holds[p.index()] = Some(Holds::Nothing);
    }
    // What an argument tells the parameter it is passed to: `None` for nothing yet.
    let told = |holds: &[Option<Holds>], a: Value| match holds.get(a.index()).copied().flatten() {
        None | Some(Holds::Several) => Some(a),
        Some(Holds::Only(v)) => Some(v),
        Some(Holds::Nothing) => None,
    };
    loop {
        let mut changed = false;
        for &(b, idx, p) in &candidates {
            if holds[p.index()] == Some(Holds::Several) {
                continue;
            }
            let mut meet = Holds::Nothing;
            for &(_, t, ti) in &preds[b.index()] {
                let a = subst.resolve(f.insts[t.index()].targets[ti].args[idx]);
                let Some(v) = told(&holds, a).filter(|&v| v != p) else { continue };
                meet = match meet {
                    Holds::Nothing => Holds::Only(v),
                    Holds::Only(w) if w == v => meet,
                    _ => Holds::Several,
                };
                if meet == Holds::Several {
                    break;
                }
            }
            if holds[p.index()] != Some(meet) {
                holds[p.index()] = Some(meet);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut removed = 0;
    // Highest index first, so the indices still to remove stay valid.
    for &(b, idx, p) in candidates.iter().rev() {
        if let Some(Holds::Only(v)) = holds[p.index()] {
            subst.set(p, v);
            remove_param(f, &preds, b, idx);
            removed += 1;
        }
    }
    removed
}
