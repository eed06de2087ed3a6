//! Global value numbering as dominator-scoped common subexpression elimination: walking the
//! dominator tree, an instruction equal (same operator, immediates and operands) to one in a
//! dominating position is replaced by it.
//!
//! Candidates are pure instructions and those whose only effect is a trap (`div`, `rem`,
//! trapping truncation): a dominating twin already ran without trapping, so the second one
//! cannot trap either. Nothing that reads or writes memory, globals or tables is merged.

use super::util::{Subst, remove_insts};
use crate::analysis::FuncAnalyses;
use crate::hash::FxHashMap;
use crate::ir::{Block, Env, Function, Inst, InstKind, Value};
use crate::pass::{Changed, Counters, FunctionPass};
use std::collections::hash_map::Entry;

/// The `gvn` pass.
pub struct Gvn;

/// An instruction's operands (after substitution) as a table key: inline when there are at most
/// three (every numeric operator and `select`), so most keys cost no allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Operands {
    Few(u8, [Value; 3]),
    Many(Vec<Value>),
}

impl Operands {
    fn new(args: &[Value], subst: &Subst) -> Operands {
        if args.len() <= 3 {
            let mut few = [Value(0); 3];
            for (k, &a) in args.iter().enumerate() {
                few[k] = subst.resolve(a);
            }
            Operands::Few(args.len() as u8, few)
        } else {
            Operands::Many(args.iter().map(|&a| subst.resolve(a)).collect())
        }
    }
}

fn candidate(k: &InstKind) -> bool {
    match k {
        InstKind::Num(_) => true,
        k => k.is_pure() && !matches!(k, InstKind::Copy),
    }
}

impl FunctionPass for Gvn {
    fn name(&self) -> &'static str {
        "gvn"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let dom = an.domtree(f);
        // Key -> the latest instruction computing it and its block. Blocks are visited in a
        // dominator-tree preorder, so an entry whose block does not dominate the current one
        // belongs to a finished subtree and never will again: it is replaced, and the table
        // behaves as one scoped by the tree (without undoing entries or cloning keys for that).
        let mut table: FxHashMap<(InstKind, Operands), (Inst, Block)> = FxHashMap::default();
        let mut subst = Subst::new(f);
        let mut dead = vec![false; f.insts.len()];
        let mut merged = 0;
        for &b in &dom.preorder {
            for &i in &f.blocks[b.index()].insts {
                let d = &f.insts[i.index()];
                if !candidate(&d.kind) {
                    continue;
                }
                let key = (d.kind.clone(), Operands::new(&d.args, &subst));
                match table.entry(key) {
                    Entry::Occupied(e) if dom.dominates(e.get().1, b) => {
                        let prev = &f.insts[e.get().0.index()].results;
                        for (&r, &p) in d.results.iter().zip(prev) {
                            subst.set(r, p);
                        }
                        dead[i.index()] = true;
                        merged += 1;
                    }
                    Entry::Occupied(mut e) => {
                        e.insert((i, b));
                    }
                    Entry::Vacant(e) => {
                        e.insert((i, b));
                    }
                }
            }
        }
        if merged == 0 {
            return Changed::NONE;
        }
        remove_insts(f, &dead);
        subst.apply(f);
        *counters.entry("merged").or_default() += merged;
        Changed::INSTS
    }
}
