//! Inlining of direct calls across the module's functions.
//!
//! Callers are visited callees-first (the call graph's strongly connected components in reverse
//! topological order), so a callee is already as small as inlining made it. A call is inlined
//! when the callee is defined, is not in the caller's recursive component (so recursion never
//! grows code without bound: a recursive function can be inlined into its outside callers once,
//! never into itself), and either is tiny, or is small, or is called from a single site, within
//! the caller's growth budget. Calls on paths bound to a trap (`analysis::bound_to_trap`: error
//! paths ending in `exit` or a panic) are never inlined: the caller would grow for the path it
//! fails on. Only the call sites present before the pass started are
//! considered, so one run grows each caller by a bounded amount.
//!
//! The call's block is split after the call; the callee's blocks are copied with fresh values,
//! its parameters replaced by the arguments and its `return`s turned into jumps to the
//! continuation, whose parameters are the call's results.

use crate::analysis::bound_to_trap;
use crate::ir::{Block, BlockCall, FuncId, Function, Inst, InstKind, Value, ValueDef};
use crate::pass::{Changed, Context, Pass};

/// The inlining heuristics.
#[derive(Clone, Debug)]
pub struct InlineParams {
    /// Callees with at most this many instructions are always inlined (within the budget).
    pub tiny: usize,
    /// Callees with at most this many instructions are inlined (within the budget).
    pub small: usize,
    /// A callee called from one site only may have up to this many.
    pub single_site: usize,
    /// A caller may grow to this factor of its size before the pass...
    pub growth_factor: usize,
    /// ...plus this many instructions.
    pub growth_slack: usize,
    /// And never beyond this many instructions.
    pub max_caller: usize,
}

impl Default for InlineParams {
    fn default() -> Self {
        InlineParams {
            tiny: 12,
            small: 60,
            single_site: 400,
            growth_factor: 3,
            growth_slack: 200,
            max_caller: 20_000,
        }
    }
}

/// Direct calls in the blocks of `f` that `in_block` picks.
fn count_calls(f: &Function, in_block: impl Fn(Block) -> bool) -> u64 {
    let calls_in = |b: &Block| {
        let insts = &f.blocks[b.index()].insts;
        insts.iter().filter(|i| matches!(f.insts[i.index()].kind, InstKind::Call(_))).count()
    };
    f.layout.iter().filter(|&&b| in_block(b)).map(calls_in).sum::<usize>() as u64
}

/// The `inline` pass.
#[derive(Default)]
pub struct Inline {
    /// Heuristics.
    pub params: InlineParams,
}

/// Inlines the call `call` (in block `b` of `caller`) to `callee`. Returns the instructions added
/// and the continuation block, which now holds what followed the call.
pub fn inline_call(
    caller: &mut Function,
    b: Block,
    call: Inst,
    callee: &Function,
) -> (usize, Block) {
    let pos = caller.blocks[b.index()].insts.iter().position(|&i| i == call).unwrap();
    let call_srcloc = caller.insts[call.index()].srcloc;
    // Split: the continuation takes everything after the call; its parameters are the results.
    let cont = caller.make_block();
    let tail = caller.blocks[b.index()].insts.split_off(pos + 1);
    caller.blocks[b.index()].insts.pop();
    caller.blocks[cont.index()].insts = tail;
    let data = caller.insts[call.index()].clone();
    for (n, &r) in data.results.iter().enumerate() {
        caller.values[r.index()].def = ValueDef::Param(cont, n as u32);
    }
    caller.blocks[cont.index()].params = data.results.clone();
    // Copy the callee.
    let mut bmap: Vec<Option<Block>> = vec![None; callee.blocks.len()];
    for &cb in &callee.layout {
        bmap[cb.index()] = Some(caller.make_block());
    }
    let mut vmap: Vec<Option<Value>> = vec![None; callee.values.len()];
    let centry = callee.entry();
    for (&p, &a) in callee.blocks[centry.index()].params.iter().zip(&data.args) {
        vmap[p.index()] = Some(a);
    }
    for &cb in &callee.layout {
        if cb == centry {
            continue;
        }
        let nb = bmap[cb.index()].unwrap();
        for &p in &callee.blocks[cb.index()].params {
            vmap[p.index()] = Some(caller.add_param(nb, callee.ty(p)));
        }
    }
    // Results first (uses may come before definitions in layout order around loops).
    let mut new_insts = Vec::new();
    for &cb in &callee.layout {
        for &ci in &callee.blocks[cb.index()].insts {
            let cd = &callee.insts[ci.index()];
            let tys: Vec<_> = cd.results.iter().map(|&r| callee.ty(r)).collect();
            let ni = caller.make_inst(cd.kind.clone(), vec![], vec![], &tys);
            // The call's offset, not the callee's: machine code reports the offsets of the
            // function it was compiled for (a trap in inlined code names the caller's frame at
            // the call, as the frame the callee would have had is gone).
            caller.insts[ni.index()].srcloc = call_srcloc;
            for (k, &r) in cd.results.iter().enumerate() {
                vmap[r.index()] = Some(caller.insts[ni.index()].results[k]);
            }
            new_insts.push((cb, ci, ni));
        }
    }
    let m = |v: Value| vmap[v.index()].expect("callee value without definition");
    let mut added = 0;
    for (cb, ci, ni) in new_insts {
        let cd = &callee.insts[ci.index()];
        let nb = bmap[cb.index()].unwrap();
        let d = &mut caller.insts[ni.index()];
        if cd.kind == InstKind::Return {
            d.kind = InstKind::Jump;
            d.targets =
                vec![BlockCall { block: cont, args: cd.args.iter().map(|&a| m(a)).collect() }];
        } else {
            d.args = cd.args.iter().map(|&a| m(a)).collect();
            d.targets = cd
                .targets
                .iter()
                .map(|t| BlockCall {
                    block: bmap[t.block.index()].unwrap(),
                    args: t.args.iter().map(|&a| m(a)).collect(),
                })
                .collect();
        }
        caller.blocks[nb.index()].insts.push(ni);
        added += 1;
    }
    let first = bmap[centry.index()].unwrap();
    caller.push_inst(
        b,
        InstKind::Jump,
        vec![],
        vec![BlockCall { block: first, args: vec![] }],
        &[],
    );
    let at = caller.layout.iter().position(|&x| x == b).unwrap() + 1;
    let mut new_blocks: Vec<Block> =
        callee.layout.iter().map(|cb| bmap[cb.index()].unwrap()).collect();
    new_blocks.push(cont);
    caller.layout.splice(at..at, new_blocks);
    (added, cont)
}

impl Pass for Inline {
    fn name(&self) -> &'static str {
        "inline"
    }

    fn reads_other_functions(&self) -> bool {
        true
    }

    fn run(&mut self, cx: &mut Context<'_>) -> Changed {
        let cg = cx.take_callgraph();
        let p = self.params.clone();
        let mut changed = Changed::NONE;
        let (mut inlined, mut skipped_recursive, mut skipped_budget) = (0u64, 0u64, 0u64);
        let mut cold_kept = 0u64;
        for scc in &cg.sccs {
            for &caller_id in scc {
                let caller = &cx.module.funcs[caller_id.index()];
                if caller.import.is_some() || caller.layout.is_empty() {
                    continue;
                }
                let start_size = caller.inst_count();
                let budget = (start_size * p.growth_factor + p.growth_slack).min(p.max_caller);
                let cold = bound_to_trap(caller);
                cold_kept += count_calls(caller, |b| cold[b.index()]);
                let sites: Vec<(Block, Inst, FuncId)> = caller
                    .layout
                    .iter()
                    .filter(|&&b| !cold[b.index()])
                    .flat_map(|&b| {
                        caller.blocks[b.index()].insts.iter().filter_map(move |&i| {
                            match caller.insts[i.index()].kind {
                                InstKind::Call(f) => Some((b, i, f)),
                                _ => None,
                            }
                        })
                    })
                    .collect();
                let mut size = start_size;
                let mut moved: std::collections::HashMap<Block, Block> = Default::default();
                let block_of_site: Vec<(Block, Inst, FuncId)> = sites;
                let mut k = 0;
                let mut any = false;
                while k < block_of_site.len() {
                    let (b, call, callee_id) = block_of_site[k];
                    k += 1;
                    let callee = &cx.module.funcs[callee_id.index()];
                    if callee.import.is_some() || callee.layout.is_empty() {
                        continue;
                    }
                    if cg.same_scc(caller_id, callee_id) {
                        skipped_recursive += 1;
                        continue;
                    }
                    let n = callee.inst_count();
                    let wanted = n <= p.tiny
                        || n <= p.small
                        || (cg.call_sites(callee_id) == 1 && n <= p.single_site);
                    if !wanted || size + n > budget {
                        skipped_budget += 1;
                        continue;
                    }
                    let callee = callee.clone();
                    let caller = &mut cx.module.funcs[caller_id.index()];
                    // Later calls of the same block now live in its continuation.
                    let mut b = b;
                    while let Some(&next) = moved.get(&b) {
                        b = next;
                    }
                    let (n_added, cont) = inline_call(caller, b, call, &callee);
                    moved.insert(b, cont);
                    size += n_added;
                    inlined += 1;
                    any = true;
                }
                if any {
                    cx.invalidate(caller_id, Changed::ALL);
                    changed = Changed::ALL;
                }
            }
        }
        cx.bump("calls inlined", inlined);
        cx.bump("recursive calls kept", skipped_recursive);
        cx.bump("calls over budget", skipped_budget);
        cx.bump("calls on paths to a trap kept", cold_kept);
        changed
    }
}
