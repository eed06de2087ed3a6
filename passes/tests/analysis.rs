//! The analyses on hand-written IR: CFG, dominator tree, loops, liveness, use lists, call graph,
//! and their caching and invalidation through the pass manager's `Changed`.

use tierup_passes::analysis::{CallGraph, Cfg, DomTree, FuncAnalyses, Liveness, LoopInfo, Uses};
use tierup_passes::ir::{Block, FuncId, Value};
use tierup_passes::pass::{Changed, Context};
use tierup_passes::text::parse_or_panic;

/// block0 -> block1 (loop header) -> block2 (body) -> block1 | block3 (exit);
/// block2 -> block4 (inner loop) -> block4 | block1.
const LOOPS: &str = "function fn0 (i32) -> i32 {
block0(v0: i32):
    jump block1(v0)
block1(v1: i32):
    brif v1, block2, block3
block2:
    v2 = i32.const 1
    v3 = i32.sub v1, v2
    jump block4(v3)
block4(v4: i32):
    v5 = i32.sub v4, v2
    brif v5, block4(v5), block1(v5)
block3:
    return v0
}

function fn1 (i32) -> i32 {
block0(v0: i32):
    v1 = call fn0 v0
    v2 = call fn2 v1
    return v2
}

function fn2 (i32) -> i32 {
block0(v0: i32):
    v1 = call fn3 v0
    return v1
}

function fn3 (i32) -> i32 {
block0(v0: i32):
    v1 = call fn2 v0
    return v1
}
";

#[test]
fn cfg_domtree_loops() {
    let m = parse_or_panic(LOOPS);
    let f = &m.funcs[0];
    let cfg = Cfg::new(f);
    assert_eq!(cfg.rpo[0], Block(0));
    assert_eq!(cfg.unique_preds(Block(1)), vec![Block(0), Block(4)]);
    let dom = DomTree::new(f, &cfg);
    assert_eq!(dom.idom(Block(2)), Some(Block(1)));
    assert_eq!(dom.idom(Block(3)), Some(Block(1)));
    assert_eq!(dom.idom(Block(4)), Some(Block(2)));
    assert!(dom.dominates(Block(1), Block(4)) && !dom.dominates(Block(4), Block(1)));
    let loops = LoopInfo::new(f, &cfg, &dom);
    assert_eq!(loops.loops.len(), 2);
    assert_eq!(loops.loops[0].header, Block(1));
    assert_eq!(loops.loops[1].header, Block(4));
    assert_eq!(loops.loops[1].parent, Some(0));
    assert_eq!(loops.depth(Block(4)), 2);
    assert_eq!(loops.depth(Block(2)), 1);
    assert_eq!(loops.depth(Block(3)), 0);
}

#[test]
fn liveness_and_uses() {
    let m = parse_or_panic(LOOPS);
    let f = &m.funcs[0];
    let cfg = Cfg::new(f);
    let live = Liveness::new(f, &cfg);
    // v0 is returned at the exit, so it is live around the whole loop.
    assert!(live.is_live_in(Value(0), Block(1)) && live.is_live_in(Value(0), Block(4)));
    // v2 (defined in block2) is used in block4 only.
    assert!(live.is_live_in(Value(2), Block(4)) && !live.is_live_in(Value(2), Block(1)));
    assert!(!live.is_live_in(Value(1), Block(3)));
    let uses = Uses::new(f);
    assert_eq!(uses.count(Value(2)), 2);
    assert_eq!(uses.count(Value(5)), 3);
}

#[test]
fn call_graph_finds_recursion() {
    let m = parse_or_panic(LOOPS);
    let cg = CallGraph::new(&m);
    let recursive = |f: u32| cg.is_recursive(FuncId(f));
    assert!(recursive(2) && recursive(3) && !recursive(0) && !recursive(1));
    assert!(cg.same_scc(FuncId(2), FuncId(3)));
    assert_eq!(cg.call_sites(FuncId(2)), 2);
    // Callees come before callers.
    let pos = |f: u32| cg.sccs.iter().position(|s| s.contains(&FuncId(f))).unwrap();
    assert!(pos(0) < pos(1) && pos(2) < pos(1));
}

#[test]
fn analyses_are_cached_and_dropped_by_changed() {
    let mut m = parse_or_panic(LOOPS);
    let mut cx = Context::new(&mut m);
    {
        let (_, f, an) = cx.func(FuncId(0));
        let f: &_ = f;
        an.loops(f);
        an.liveness(f);
        an.uses(f);
    }
    assert_eq!(cx.cached(FuncId(0)), [true; 5]);
    cx.invalidate(FuncId(0), Changed::INSTS);
    assert_eq!(cx.cached(FuncId(0)), [true, true, true, false, false]);
    cx.invalidate(FuncId(0), Changed::CFG);
    assert_eq!(cx.cached(FuncId(0)), [false; 5]);
    let mut an = FuncAnalyses::default();
    assert_eq!(an.cached(), [false; 5]);
    an.domtree(&cx.module.funcs[0]);
    assert_eq!(an.cached(), [true, true, false, false, false]);
}
