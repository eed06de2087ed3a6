//! Block order of tier-2 code: a reverse postorder that keeps every loop's blocks together.
//!
//! regalloc2 takes the block order as given and derives loop depths from it (a block's depth is
//! the number of back-edge ranges `header..=latch` it lies in), and spill weights from the
//! depths; emission falls through from each block into the next. A plain reverse postorder can
//! put a loop's exit, and everything after the loop, between its header and its latch: the rest
//! of the function then counts as loop body (values used there look hot, values used in the loop
//! lukewarm), and the body ends in a jump back over it. Here, the depth-first search behind the
//! order visits, at each block, the successors that leave the block's innermost loop first, so
//! they finish first and come after the whole loop in the reverse postorder.
//!
//! It is still a reverse postorder of the graph, so every block but a loop header follows all
//! its predecessors (regalloc2's checker needs that). It must never drop or duplicate a block:
//! unreachable blocks keep their relative order at the end.

/// The order to lay out blocks `0..succs.len()` in (entry `0` first): each position holds the
/// block's old index. `succs[b]` lists block `b`'s successors. Lists are kept flat inside (no
/// vector per block): this runs for every function tier 2 compiles.
pub fn loop_contiguous_order<S: AsRef<[usize]>>(succs: &[S]) -> Vec<usize> {
    let n = succs.len();
    if n == 0 {
        return Vec::new();
    }
    let loops = Loops::find(succs);
    // Successors leaving `b`'s innermost loop first.
    let ordered = Flat::from_lists(n, |b, out| {
        let leaves = |s: usize| loops.innermost[b].is_some_and(|l| !loops.contains(l, s));
        out.extend(succs[b].as_ref().iter().copied().filter(|&s| leaves(s)));
        out.extend(succs[b].as_ref().iter().copied().filter(|&s| !leaves(s)));
    });
    let mut postorder = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    // Iterative depth-first search: (block, next successor to visit).
    let mut stack = vec![(0usize, 0usize)];
    seen[0] = true;
    while let Some(&mut (b, ref mut next)) = stack.last_mut() {
        if let Some(&s) = ordered.list(b).get(*next) {
            *next += 1;
            if !seen[s] {
                seen[s] = true;
                stack.push((s, 0));
            }
        } else {
            postorder.push(b);
            stack.pop();
        }
    }
    let mut order: Vec<usize> = postorder.into_iter().rev().collect();
    order.extend((0..n).filter(|&b| !seen[b]));
    order
}

/// One list of block indices per block, stored flat.
struct Flat {
    starts: Vec<u32>,
    items: Vec<usize>,
}

impl Flat {
    /// `n` lists, list `b` being what `fill(b, items)` appends.
    fn from_lists(n: usize, mut fill: impl FnMut(usize, &mut Vec<usize>)) -> Flat {
        let mut starts = Vec::with_capacity(n + 1);
        let mut items = Vec::new();
        for b in 0..n {
            starts.push(items.len() as u32);
            fill(b, &mut items);
        }
        starts.push(items.len() as u32);
        Flat { starts, items }
    }

    /// `n` lists, list `a` holding every `b` of a pair `(a, b)` from `pairs`, in their order.
    fn from_pairs(n: usize, pairs: &[(usize, usize)]) -> Flat {
        let mut starts = vec![0u32; n + 1];
        for &(a, _) in pairs {
            starts[a + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut items = vec![0; pairs.len()];
        for &(a, b) in pairs {
            items[fill[a] as usize] = b;
            fill[a] += 1;
        }
        Flat { starts, items }
    }

    fn list(&self, b: usize) -> &[usize] {
        &self.items[self.starts[b] as usize..self.starts[b + 1] as usize]
    }
}

/// The natural loops of a graph: each block's innermost loop and each loop's enclosing one.
struct Loops {
    /// Per block, the innermost loop containing it (an index into `parent`).
    innermost: Vec<Option<usize>>,
    /// Per loop, the loop immediately containing it.
    parent: Vec<Option<usize>>,
}

impl Loops {
    fn find<S: AsRef<[usize]>>(succs: &[S]) -> Loops {
        let n = succs.len();
        let edges: Vec<(usize, usize)> =
            (0..n).flat_map(|b| succs[b].as_ref().iter().map(move |&s| (s, b))).collect();
        let preds = Flat::from_pairs(n, &edges);
        // Back edges: to a block on the depth-first search's stack, as (header, latch).
        let mut back = Vec::new();
        let mut state = vec![0u8; n]; // 0 unseen, 1 on the stack, 2 done
        let mut stack = vec![(0usize, 0usize)];
        state[0] = 1;
        while let Some(&mut (b, ref mut next)) = stack.last_mut() {
            if let Some(&s) = succs[b].as_ref().get(*next) {
                *next += 1;
                match state[s] {
                    0 => {
                        state[s] = 1;
                        stack.push((s, 0));
                    }
                    1 => back.push((s, b)),
                    _ => {}
                }
            } else {
                state[b] = 2;
                stack.pop();
            }
        }
        // Latches grouped per header.
        let latches = Flat::from_pairs(n, &back);
        // Each loop's body: the header and every block reaching a latch without passing it.
        let mut bodies: Vec<Vec<usize>> = Vec::new();
        let mut stamp = vec![usize::MAX; n];
        for header in (0..n).filter(|&h| !latches.list(h).is_empty()) {
            let id = bodies.len();
            stamp[header] = id;
            let mut body = vec![header];
            let mut work: Vec<usize> = latches.list(header).to_vec();
            while let Some(b) = work.pop() {
                if stamp[b] != id {
                    stamp[b] = id;
                    body.push(b);
                    work.extend(preds.list(b).iter().copied().filter(|&p| state[p] != 0));
                }
            }
            bodies.push(body);
        }
        // Outer loops first: each smaller one then overwrites its blocks' innermost loop, and
        // finds its parent in what its header held just before.
        let mut by_size: Vec<usize> = (0..bodies.len()).collect();
        by_size.sort_by_key(|&l| std::cmp::Reverse(bodies[l].len()));
        let mut innermost = vec![None; n];
        let mut parent = vec![None; bodies.len()];
        for l in by_size {
            parent[l] = innermost[bodies[l][0]];
            for &b in &bodies[l] {
                innermost[b] = Some(l);
            }
        }
        Loops { innermost, parent }
    }

    /// Whether block `b` lies in loop `l` (in it or in a loop nested in it).
    fn contains(&self, l: usize, b: usize) -> bool {
        let mut at = self.innermost[b];
        while let Some(inner) = at {
            if inner == l {
                return true;
            }
            at = self.parent[inner];
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::loop_contiguous_order;

    /// Positions of each block in `order`.
    fn positions(order: &[usize]) -> Vec<usize> {
        let mut at = vec![0; order.len()];
        for (i, &b) in order.iter().enumerate() {
            at[b] = i;
        }
        at
    }

    #[test]
    fn a_loop_exit_comes_after_the_loop_body() {
        // 0 -> 1 (header); 1 -> 3 (exit, listed first), 2 (body); 2 -> 1; 3 -> 4.
        let succs = vec![vec![1], vec![3, 2], vec![1], vec![4], vec![]];
        let order = loop_contiguous_order(&succs);
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
        // The same graph with the body listed first must give the same order.
        let succs = vec![vec![1], vec![2, 3], vec![1], vec![4], vec![]];
        assert_eq!(loop_contiguous_order(&succs), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn nested_loops_stay_contiguous_and_every_block_follows_its_forward_predecessors() {
        // Outer header 1, inner header 2 with body 3, inner exit 4 (outer latch), outer exit 5,
        // and a break from the inner body straight out of both loops to 6.
        let succs = vec![vec![1], vec![5, 2], vec![4, 3], vec![6, 2], vec![1], vec![6], vec![]];
        let order = loop_contiguous_order(&succs);
        let at = positions(&order);
        // Inner loop {2, 3} contiguous, outer loop {1, 2, 3, 4} contiguous, exits after.
        assert_eq!(at[3], at[2] + 1);
        let outer: Vec<usize> = [1, 2, 3, 4].iter().map(|&b| at[b]).collect();
        assert_eq!(outer.iter().max().unwrap() - outer.iter().min().unwrap(), 3);
        assert!(at[5] > at[4] && at[6] > at[4]);
        // A reverse postorder: forward edges go forward.
        for (b, ss) in succs.iter().enumerate() {
            for &s in ss {
                let back = matches!((b, s), (3, 2) | (4, 1));
                assert_eq!(at[s] > at[b], !back, "edge {b} -> {s} in {order:?}");
            }
        }
    }

    #[test]
    fn unreachable_blocks_go_last_in_their_order() {
        let succs = vec![vec![2], vec![2], vec![], vec![1]];
        assert_eq!(loop_contiguous_order(&succs), vec![0, 2, 1, 3]);
    }
}
