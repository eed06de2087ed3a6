//! Cold paths known without a profile: blocks from which every path ends in a trap.
//!
//! A program reaches such a block only on its way to failing: code compiled from C puts
//! `fprintf(stderr, ...); exit(1)` (a call to a function that never returns, then
//! `unreachable`) on error paths, and Rust's panics end the same way. The inliner keeps the calls
//! there (growing a function for the path it fails on only adds register pressure to its hot
//! paths), as LLVM treats blocks that end in `unreachable` as never taken.
//!
//! Must never call a block cold that can return or loop forever: coldness is the least fixed
//! point, so a loop is never cold, even one whose only exit traps.

use crate::ir::{Block, Function, InstKind};

/// Per block (indexed by block number): whether every path from it ends in a trap.
pub fn bound_to_trap(f: &Function) -> Vec<bool> {
    let mut cold = vec![false; f.blocks.len()];
    let ends_in_trap = |b: Block| {
        f.terminator(b).is_some_and(|t| matches!(f.insts[t.index()].kind, InstKind::Trap(_)))
    };
    // Successors usually come later in the layout: walking it backwards settles most blocks in
    // one sweep; a second sweep confirms (or settles what a back edge left open).
    let mut changed = true;
    while changed {
        changed = false;
        for &b in f.layout.iter().rev() {
            if cold[b.index()] {
                continue;
            }
            let mut succs = f.successors(b).peekable();
            let now_cold = if succs.peek().is_none() {
                ends_in_trap(b)
            } else {
                succs.all(|s| cold[s.index()])
            };
            if now_cold {
                cold[b.index()] = true;
                changed = true;
            }
        }
    }
    cold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_or_panic;

    /// block0 branches to an error path (block1: a call, then block2 traps) or to block3, a loop
    /// whose exits return or trap.
    const PATHS: &str = "function fn0 (i32) -> i32 {
block0(v0: i32):
    brif v0, block1, block3
block1:
    v1 = call fn0 v0
    jump block2
block2:
    trap unreachable
block3:
    brif v0, block3, block4
block4:
    brif v0, block2, block5
block5:
    return v0
}";

    #[test]
    fn blocks_whose_every_path_traps_are_cold_and_no_others() {
        let m = parse_or_panic(PATHS);
        let cold = bound_to_trap(&m.funcs[0]);
        assert_eq!(cold, [false, true, true, false, false, false]);
    }

    #[test]
    fn a_loop_whose_only_exit_traps_is_not_cold() {
        // It may never exit: the least fixed point leaves it warm.
        let m = parse_or_panic(
            "function fn0 (i32) -> i32 {
block0(v0: i32):
    jump block1
block1:
    brif v0, block1, block2
block2:
    trap unreachable
}",
        );
        assert_eq!(bound_to_trap(&m.funcs[0]), [false, false, true]);
    }
}
