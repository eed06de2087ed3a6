//! Copy propagation: `copy` instructions are replaced by their operand, and a block parameter
//! that receives the same value on every edge (or itself, around a loop) is replaced by that
//! value and removed with its arguments. Repeats until nothing changes.

use super::util::{Subst, pred_edges, remove_insts, remove_param};
use crate::analysis::FuncAnalyses;
use crate::ir::{Env, Function, InstKind};
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
        let preds = pred_edges(f);
        let entry = f.entry();
        let mut params = 0;
        loop {
            let mut progress = false;
            for bi in 0..f.layout.len() {
                let b = f.layout[bi];
                if b == entry || preds[b.index()].is_empty() {
                    continue;
                }
                let mut idx = f.blocks[b.index()].params.len();
                while idx > 0 {
                    idx -= 1;
                    let p = f.blocks[b.index()].params[idx];
                    let mut same = None;
                    let mut unique = true;
                    for &(_, t, ti) in &preds[b.index()] {
                        let a = subst.resolve(f.insts[t.index()].targets[ti].args[idx]);
                        if a == p || Some(a) == same {
                            continue;
                        }
                        if same.is_some() {
                            unique = false;
                            break;
                        }
                        same = Some(a);
                    }
                    if unique && let Some(v) = same {
                        subst.set(p, v);
                        remove_param(f, &preds, b, idx);
                        params += 1;
                        progress = true;
                    }
                }
            }
            if !progress {
                break;
            }
        }
        remove_insts(f, &dead);
        subst.apply(f);
        *counters.entry("copies removed").or_default() += copies;
        *counters.entry("params removed").or_default() += params;
        if copies + params > 0 { Changed::INSTS } else { Changed::NONE }
    }
}
