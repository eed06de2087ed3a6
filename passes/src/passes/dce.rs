//! Dead code elimination, mark and sweep: an instruction is live if it may trap, writes state or
//! terminates a block, or if a live instruction uses one of its results; a block parameter is live
//! if a live instruction uses it. Everything else goes, including parameters (with their
//! arguments) that only feed each other around a loop.

use super::util::{pred_edges, remove_insts, remove_param};
use crate::analysis::FuncAnalyses;
use crate::ir::{Env, Function, ValueDef};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `dce` pass.
pub struct Dce;

impl FunctionPass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        _an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let preds = pred_edges(f);
        let mut live_inst = vec![false; f.insts.len()];
        let mut live_val = vec![false; f.values.len()];
        let mut work = Vec::new();
        for &b in &f.layout {
            for &i in &f.blocks[b.index()].insts {
                if !f.insts[i.index()].kind.is_removable() {
                    live_inst[i.index()] = true;
                    // Operands are live; branch arguments only through live parameters.
                    work.extend(f.insts[i.index()].args.iter().copied());
                }
            }
        }
        let entry = f.entry();
        while let Some(v) = work.pop() {
            if std::mem::replace(&mut live_val[v.index()], true) {
                continue;
            }
            match f.values[v.index()].def {
                ValueDef::Result(i, _) => {
                    if !std::mem::replace(&mut live_inst[i.index()], true) {
                        work.extend(f.insts[i.index()].args.iter().copied());
                    }
                    // Sibling results are live with the instruction.
                    for &r in &f.insts[i.index()].results {
                        if !live_val[r.index()] {
                            work.push(r);
                        }
                    }
                }
                ValueDef::Param(b, n) => {
                    for &(_, t, ti) in &preds[b.index()] {
                        work.push(f.insts[t.index()].targets[ti].args[n as usize]);
                    }
                }
                ValueDef::None => {}
            }
        }
        let mut changed = Changed::NONE;
        let mut removed = 0;
        let mut dead = vec![false; f.insts.len()];
        for &b in &f.layout {
            for &i in &f.blocks[b.index()].insts {
                if !live_inst[i.index()] {
                    dead[i.index()] = true;
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            remove_insts(f, &dead);
            changed = Changed::INSTS;
        }
        let mut params_removed = 0;
        for bi in 0..f.layout.len() {
            let b = f.layout[bi];
            if b == entry {
                continue;
            }
            let mut idx = f.blocks[b.index()].params.len();
            while idx > 0 {
                idx -= 1;
                let p = f.blocks[b.index()].params[idx];
                if !live_val[p.index()] {
                    remove_param(f, &preds, b, idx);
                    params_removed += 1;
                }
            }
        }
        if params_removed > 0 {
            changed = Changed::INSTS;
        }
        *counters.entry("insts removed").or_default() += removed;
        *counters.entry("params removed").or_default() += params_removed;
        changed
    }
}
