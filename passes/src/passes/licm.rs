//! Loop-invariant code motion: pure instructions (no trap, no state) whose operands are defined
//! outside a loop move to the loop's preheader, inner loops first so hoisted code can keep
//! moving out. A preheader is created when the header's outside predecessor is not a lone
//! `jump`. Pure instructions may run speculatively, so hoisting from a block the loop might not
//! execute is safe.

use crate::analysis::{Cfg, DomTree, FuncAnalyses, LoopInfo};
use crate::ir::{Block, BlockCall, Env, Function, Inst, InstKind, ValueDef};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `licm` pass.
pub struct Licm;

/// Gives every loop header a preheader; returns whether blocks were added.
fn make_preheaders(f: &mut Function, an: &mut FuncAnalyses) -> bool {
    let headers: Vec<(Block, Vec<Block>)> = {
        let (cfg, dom, loops) = an.cfg_domtree_loops(f);
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
        // Hoisting moves instructions only: the analyses stay valid while it runs (and after,
        // as far as the CFG goes), so they are taken out of the cache and put back.
        let (cfg, dom, loops) = an.take_cfg_domtree_loops(f);
        let hoisted = hoist(f, &cfg, &dom, &loops);
        an.put_back(cfg, dom, loops);
        *counters.entry("hoisted").or_default() += hoisted;
        if hoisted > 0 {
            changed |= Changed::INSTS;
        }
        changed
    }
}

/// Moves the invariant pure instructions of every loop, inner loops first, to its preheader;
/// returns how many moved.
fn hoist(f: &mut Function, cfg: &Cfg, dom: &DomTree, loops: &LoopInfo) -> u64 {
    // Block of every instruction (kept up to date as instructions move).
    let mut inst_block = vec![None; f.insts.len()];
    for &b in &f.layout {
        for &i in &f.blocks[b.index()].insts {
            inst_block[i.index()] = Some(b);
        }
    }
    // `in_loop.0[b] == in_loop.1`: block `b` is in the loop being hoisted from (one array for
    // all loops, not one per loop, which was quadratic with many loops).
    let mut in_loop = (vec![0u32; f.blocks.len()], 0u32);
    let mut hoisted = 0;
    for l in loops.loops.iter().rev() {
        let outside: Vec<Block> = cfg.preds[l.header.index()]
            .iter()
            .copied()
            .filter(|&p| !dom.dominates(l.header, p))
            .collect();
        let [ph] = outside[..] else { continue };
        in_loop.1 += 1;
        for &b in &l.blocks {
            in_loop.0[b.index()] = in_loop.1;
        }
        let in_loop = (&in_loop.0[..], in_loop.1);
        let order: Vec<Block> =
            cfg.rpo.iter().copied().filter(|b| in_loop.0[b.index()] == in_loop.1).collect();
        for b in order {
            // Rebuilt in one pass (removing one at a time was quadratic in the block's size).
            let insts = std::mem::take(&mut f.blocks[b.index()].insts);
            let mut kept = Vec::with_capacity(insts.len());
            let mut moved = Vec::new();
            for i in insts {
                if invariant(f, i, in_loop, &inst_block) {
                    inst_block[i.index()] = Some(ph);
                    moved.push(i);
                } else {
                    kept.push(i);
                }
            }
            f.blocks[b.index()].insts = kept;
            hoisted += moved.len() as u64;
            let ph_insts = &mut f.blocks[ph.index()].insts;
            let at = ph_insts.len() - 1;
            ph_insts.splice(at..at, moved);
        }
    }
    hoisted
}

/// Whether `i` is pure and all its operands are defined outside the loop (the blocks `b` with
/// `in_loop.0[b] == in_loop.1`).
fn invariant(f: &Function, i: Inst, in_loop: (&[u32], u32), inst_block: &[Option<Block>]) -> bool {
    let inside = |b: Block| in_loop.0[b.index()] == in_loop.1;
    let d = &f.insts[i.index()];
    d.kind.is_pure()
        && !matches!(d.kind, InstKind::Copy)
        && d.args.iter().all(|a| match f.values[a.index()].def {
            ValueDef::Param(pb, _) => !inside(pb),
            ValueDef::Result(di, _) => inst_block[di.index()].is_some_and(|db| !inside(db)),
            ValueDef::None => false,
        })
}
