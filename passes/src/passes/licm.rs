//! Loop-invariant code motion: pure instructions (no trap, no state) whose operands are defined
//! outside a loop move to the loop's preheader, inner loops first so hoisted code can keep
//! moving out. A preheader is created when the header's outside predecessor is not a lone
//! `jump`. Pure instructions may run speculatively, so hoisting from a block the loop might not
//! execute is safe.

use crate::analysis::{Cfg, DomTree, FuncAnalyses, LoopInfo};
use crate::ir::{Block, BlockCall, Env, Function, InstKind, ValueDef};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `licm` pass.
pub struct Licm;

/// Gives every loop header a preheader; returns whether blocks were added.
fn make_preheaders(f: &mut Function, an: &mut FuncAnalyses) -> bool {
    let headers: Vec<(Block, Vec<Block>)> = {
        let loops = an.loops(f).clone();
        let dom = an.domtree(f).clone();
        let cfg = an.cfg(f);
        loops
            .loops
            .iter()
            .map(|l| {
                let outside: Vec<Block> = cfg.preds[l.header.index()]
                    .iter()
                    .copied()
                    .filter(|&p| !dom.dominates(l.header, p))
                    .collect();
                (l.header, outside)
            })
            .collect()
    };
    let mut added = false;
    for (h, outside) in headers {
        let single = outside.len() == 1
            && f.terminator(outside[0]).is_some_and(|t| f.insts[t.index()].kind == InstKind::Jump);
        if single || outside.is_empty() {
            continue;
        }
        let ph = f.make_block();
        let tys: Vec<_> = f.blocks[h.index()].params.iter().map(|&p| f.ty(p)).collect();
        let args: Vec<_> = tys.iter().map(|&t| f.add_param(ph, t)).collect();
        f.push_inst(ph, InstKind::Jump, vec![], vec![BlockCall { block: h, args }], &[]);
        for p in outside {
            let t = f.terminator(p).unwrap();
            for c in &mut f.insts[t.index()].targets {
                if c.block == h {
                    c.block = ph;
                }
            }
        }
        let pos = f.layout.iter().position(|&b| b == h).unwrap();
        f.layout.insert(pos, ph);
        added = true;
    }
    added
}

impl FunctionPass for Licm {
    fn name(&self) -> &'static str {
        "licm"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        if an.loops(f).loops.is_empty() {
            return Changed::NONE;
        }
        let mut changed = Changed::NONE;
        if make_preheaders(f, an) {
            an.invalidate_all();
            changed = Changed::CFG;
        }
        let cfg = Cfg::new(f);
        let dom = DomTree::new(f, &cfg);
        let loops = LoopInfo::new(f, &cfg, &dom);
        // Block of every instruction (kept up to date as instructions move).
        let mut inst_block = vec![None; f.insts.len()];
        for &b in &f.layout {
            for &i in &f.blocks[b.index()].insts {
                inst_block[i.index()] = Some(b);
            }
        }
        let mut hoisted = 0;
        for l in loops.loops.iter().rev() {
            let outside: Vec<Block> = cfg.preds[l.header.index()]
                .iter()
                .copied()
                .filter(|&p| !dom.dominates(l.header, p))
                .collect();
            let [ph] = outside[..] else { continue };
            let mut in_loop = vec![false; f.blocks.len()];
            for &b in &l.blocks {
                in_loop[b.index()] = true;
            }
            // Loop blocks in reverse post-order, so definitions come before uses.
            let order: Vec<Block> =
                cfg.rpo.iter().copied().filter(|b| in_loop[b.index()]).collect();
            for b in order {
                let mut ii = 0;
                while ii < f.blocks[b.index()].insts.len() {
                    let i = f.blocks[b.index()].insts[ii];
                    let d = &f.insts[i.index()];
                    let invariant = d.kind.is_pure()
                        && !matches!(d.kind, InstKind::Copy)
                        && d.args.iter().all(|a| match f.values[a.index()].def {
                            ValueDef::Param(pb, _) => !in_loop[pb.index()],
                            ValueDef::Result(di, _) => {
                                inst_block[di.index()].is_some_and(|db| !in_loop[db.index()])
                            }
                            ValueDef::None => false,
                        });
                    if !invariant {
                        ii += 1;
                        continue;
                    }
                    f.blocks[b.index()].insts.remove(ii);
                    let insts = &mut f.blocks[ph.index()].insts;
                    insts.insert(insts.len() - 1, i);
                    inst_block[i.index()] = Some(ph);
                    hoisted += 1;
                }
            }
        }
        *counters.entry("hoisted").or_default() += hoisted;
        if hoisted > 0 {
            changed |= Changed::INSTS;
        }
        changed
    }
}
