//! CFG simplification, repeated until nothing changes:
//! - branch folding: `brif` on a constant, or with two identical targets, becomes a `jump`;
//!   `br_table` on a constant, or whose targets are all identical, too;
//! - unreachable blocks leave the layout;
//! - jump threading: an edge into a block that only jumps on (`jump T(..)`) goes straight to `T`,
//!   with the arguments substituted;
//! - block merging: a block whose only predecessor ends in a `jump` to it is appended to that
//!   predecessor, its parameters replaced by the jump's arguments.

use super::util::{Subst, remove_unreachable_blocks};
use crate::analysis::FuncAnalyses;
use crate::ir::{Block, BlockCall, Const, Env, Function, InstKind, Value, ValueDef};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `simplifycfg` pass.
pub struct SimplifyCfg;

fn fold_branches(f: &mut Function) -> u64 {
    let mut n = 0;
    for bi in 0..f.layout.len() {
        let b = f.layout[bi];
        let Some(t) = f.terminator(b) else { continue };
        let d = &f.insts[t.index()];
        let target = match d.kind {
            InstKind::Brif => match f.const_of(d.args[0]) {
                Some(Const::I32(c)) => Some(d.targets[if c != 0 { 0 } else { 1 }].clone()),
                _ if d.targets[0] == d.targets[1] => Some(d.targets[0].clone()),
                _ => None,
            },
            InstKind::BrTable => match f.const_of(d.args[0]) {
                Some(Const::I32(c)) => {
                    let i = (c as usize).min(d.targets.len() - 1);
                    Some(d.targets[i].clone())
                }
                _ if d.targets.iter().all(|c| *c == d.targets[0]) => Some(d.targets[0].clone()),
                _ => None,
            },
            _ => None,
        };
        if let Some(target) = target {
            let d = &mut f.insts[t.index()];
            d.kind = InstKind::Jump;
            d.args.clear();
            d.targets = vec![target];
            n += 1;
        }
    }
    n
}

/// Per value, its uses other than by the lone `jump` of the block whose parameter it is.
fn foreign_uses(f: &Function) -> Vec<u32> {
    let mut uses = vec![0u32; f.values.len()];
    for &b in &f.layout {
        let insts = &f.blocks[b.index()].insts;
        let sole_jump = insts.len() == 1;
        for &i in insts {
            let d = &f.insts[i.index()];
            for &a in d.args.iter().chain(d.targets.iter().flat_map(|t| t.args.iter())) {
                let own = sole_jump
                    && matches!(f.values[a.index()].def, ValueDef::Param(pb, _) if pb == b);
                if !own {
                    uses[a.index()] += 1;
                }
            }
        }
    }
    uses
}

/// Redirects edges into blocks that only `jump` on. Returns edges threaded.
fn thread_jumps(f: &mut Function) -> u64 {
    let entry = f.entry();
    // Blocks that only jump on elsewhere; nothing to thread without one (most rounds).
    let forwards = |b: Block| {
        let insts = &f.blocks[b.index()].insts;
        b != entry && insts.len() == 1 && {
            let d = &f.insts[insts[0].index()];
            d.kind == InstKind::Jump && d.targets[0].block != b
        }
    };
    let candidates: Vec<Block> = f.layout.iter().copied().filter(|&b| forwards(b)).collect();
    if candidates.is_empty() {
        return 0;
    }
    // Forwarding blocks: block -> (params, target call).
    let mut fwd: Vec<Option<(Vec<Value>, BlockCall)>> = vec![None; f.blocks.len()];
    // Counted only when a candidate has parameters: a walk over every instruction.
    let with_params = candidates.iter().any(|b| !f.blocks[b.index()].params.is_empty());
    let uses = if with_params { foreign_uses(f) } else { Vec::new() };
    for b in candidates {
        let d = &f.insts[f.blocks[b.index()].insts[0].index()];
        // The parameters must not be used past the block (it dominates its target).
        let local = f.blocks[b.index()].params.iter().all(|&p| uses[p.index()] == 0);
        if local {
            fwd[b.index()] = Some((f.blocks[b.index()].params.clone(), d.targets[0].clone()));
        }
    }
    let mut n = 0;
    for bi in 0..f.layout.len() {
        let b = f.layout[bi];
        let Some(t) = f.terminator(b) else { continue };
        for ti in 0..f.insts[t.index()].targets.len() {
            // Follow at most a few hops per edge per round (cycles of empty blocks stop here).
            for _ in 0..4 {
                let call = &f.insts[t.index()].targets[ti];
                let Some((params, next)) = &fwd[call.block.index()] else { break };
                if next.block == call.block {
                    break;
                }
                let args: Vec<Value> = next
                    .args
                    .iter()
                    .map(|&a| match params.iter().position(|&p| p == a) {
                        Some(k) => call.args[k],
                        None => a,
                    })
                    .collect();
                let new = BlockCall { block: next.block, args };
                f.insts[t.index()].targets[ti] = new;
                n += 1;
            }
        }
    }
    n
}

/// Merges blocks into their lone jumping predecessor. Returns blocks merged.
fn merge_blocks(f: &mut Function) -> u64 {
    let entry = f.entry();
    let mut n = 0;
    let mut removed = vec![false; f.blocks.len()];
    // Made at the first merge: most rounds merge nothing.
    let mut subst: Option<Subst> = None;
    let mut npreds = vec![0usize; f.blocks.len()];
    for &b in &f.layout {
        for s in f.successors(b) {
            npreds[s.index()] += 1;
        }
    }
    let mut bi = 0;
    while bi < f.layout.len() {
        let a = f.layout[bi];
        bi += 1;
        if removed[a.index()] {
            continue;
        }
        while let Some(t) = f.terminator(a) {
            let d = &f.insts[t.index()];
            if d.kind != InstKind::Jump {
                break;
            }
            let b = d.targets[0].block;
            if b == a || b == entry || npreds[b.index()] != 1 {
                break;
            }
            let args = d.targets[0].args.clone();
            let params = std::mem::take(&mut f.blocks[b.index()].params);
            let subst = subst.get_or_insert_with(|| Subst::new(f));
            for (&p, &v) in params.iter().zip(&args) {
                subst.set(p, v);
                f.values[p.index()].def = ValueDef::None;
            }
            f.blocks[a.index()].insts.pop();
            let moved = std::mem::take(&mut f.blocks[b.index()].insts);
            f.blocks[a.index()].insts.extend(moved);
            removed[b.index()] = true;
            n += 1;
        }
    }
    f.layout.retain(|b| !removed[b.index()]);
    if let Some(subst) = subst {
        subst.apply(f);
    }
    n
}

impl FunctionPass for SimplifyCfg {
    fn name(&self) -> &'static str {
        "simplifycfg"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        _an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let (mut folded, mut dropped, mut threaded, mut merged) = (0, 0, 0, 0);
        for _ in 0..16 {
            let a = fold_branches(f);
            let b = remove_unreachable_blocks(f) as u64;
            let c = thread_jumps(f);
            let c2 = remove_unreachable_blocks(f) as u64;
            let d = merge_blocks(f);
            folded += a;
            dropped += b + c2;
            threaded += c;
            merged += d;
            if a + b + c + c2 + d == 0 {
                break;
            }
        }
        *counters.entry("branches folded").or_default() += folded;
        *counters.entry("blocks removed").or_default() += dropped;
        *counters.entry("edges threaded").or_default() += threaded;
        *counters.entry("blocks merged").or_default() += merged;
        if folded + dropped + threaded + merged > 0 { Changed::CFG } else { Changed::NONE }
    }
}
