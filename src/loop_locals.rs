//! Which locals each loop touches, so tier 1's code generator can keep the busiest of them in
//! registers across the loop's header (see its label states): what validation learns of a body
//! for a tier, owned by the front end, which names no tier.
//!
//! The front end records it while it validates a body ([`LoopLocals::record`], fed every
//! operator validation decodes), so tier 1 never decodes a body a second time to learn it; a
//! body validated without recording (a module built for the interpreter alone) is scanned here
//! instead. It decodes operators only; it never emits code or judges a body.

use wasmparser::{FunctionBody, Operator};

/// The local accesses inside loops of many function bodies, each body's loops in order.
#[derive(Debug, Default)]
pub struct LoopLocals {
    /// Every `local.get`/`local.set`/`local.tee` inside some loop, in body order.
    accesses: Vec<u32>,
    /// Per loop, in body order: its range of `accesses` (nested loops included).
    spans: Vec<(u32, u32)>,
    /// Per recorded body: its loops' range of `spans`.
    bodies: Vec<(u32, u32)>,
    /// While recording a body: per open block, the loop it is (its index in `spans`), if any.
    open: Vec<Option<u32>>,
    /// While recording a body: how many of the open blocks are loops.
    open_loops: u32,
}

/// One body's loops, as [`LoopLocals`] recorded them.
#[derive(Clone, Copy, Debug)]
pub struct BodyScan<'a> {
    accesses: &'a [u32],
    spans: &'a [(u32, u32)],
}

impl LoopLocals {
    /// Scans one `body` on its own (which the front end has validated).
    pub fn scan(body: &FunctionBody<'_>) -> Result<LoopLocals, wasmparser::BinaryReaderError> {
        let mut scan = LoopLocals::default();
        let mut reader = body.get_operators_reader()?;
        scan.begin_body();
        while !reader.eof() {
            scan.record(&reader.read()?);
        }
        scan.end_body();
        Ok(scan)
    }

    /// Starts recording the next body.
    pub fn begin_body(&mut self) {
        self.open.clear();
        self.open_loops = 0;
        let first = self.spans.len() as u32;
        self.bodies.push((first, first));
    }

    /// Records one operator of the body being recorded (every one, dead code included, in order).
    #[inline]
    pub fn record(&mut self, op: &Operator<'_>) {
        match *op {
            Operator::LocalGet { local_index }
            | Operator::LocalSet { local_index }
            | Operator::LocalTee { local_index }
                if self.open_loops > 0 =>
            {
                self.accesses.push(local_index)
            }
            Operator::Block { .. } | Operator::If { .. } => self.open.push(None),
            Operator::Loop { .. } => {
                self.open.push(Some(self.spans.len() as u32));
                self.open_loops += 1;
                let at = self.accesses.len() as u32;
                self.spans.push((at, at));
            }
            Operator::End => {
                if let Some(Some(span)) = self.open.pop() {
                    self.spans[span as usize].1 = self.accesses.len() as u32;
                    self.open_loops -= 1;
                }
            }
            _ => {}
        }
    }

    /// Ends the body being recorded.
    pub fn end_body(&mut self) {
        let last = self.bodies.last_mut().expect("a body was begun");
        last.1 = self.spans.len() as u32;
    }

    /// The loops of the `index`th recorded body, if it was recorded.
    pub fn body(&self, index: usize) -> Option<BodyScan<'_>> {
        let &(first, end) = self.bodies.get(index)?;
        Some(BodyScan {
            accesses: &self.accesses,
            spans: &self.spans[first as usize..end as usize],
        })
    }

    /// Appends the bodies `other` recorded after those recorded here.
    pub fn append(&mut self, other: LoopLocals) {
        let (accesses, spans) = (self.accesses.len() as u32, self.spans.len() as u32);
        self.accesses.extend(other.accesses);
        self.spans
            .extend(other.spans.into_iter().map(|(start, end)| (start + accesses, end + accesses)));
        self.bodies
            .extend(other.bodies.into_iter().map(|(first, end)| (first + spans, end + spans)));
    }

    /// Frees what recording needed beyond its results.
    pub fn shrink(&mut self) {
        self.open = Vec::new();
        self.accesses.shrink_to_fit();
        self.spans.shrink_to_fit();
        self.bodies.shrink_to_fit();
    }
}

impl BodyScan<'_> {
    /// The locals loop `ordinal` touches, busiest first (ties: lower index first), with how
    /// often each appears in its body. `counts` is scratch space, one entry per local, all zero
    /// on entry and on return.
    pub fn loop_locals(&self, ordinal: u32, counts: &mut [u32]) -> Vec<(u32, u32)> {
        let Some(&(start, end)) = self.spans.get(ordinal as usize) else { return Vec::new() };
        let accesses = &self.accesses[start as usize..end as usize];
        // One allocation: each distinct local once, its count filled in after.
        let mut ranked = Vec::with_capacity(accesses.len().min(counts.len()));
        for &local in accesses {
            let count = &mut counts[local as usize];
            if *count == 0 {
                ranked.push((local, 0));
            }
            *count += 1;
        }
        for (local, count) in &mut ranked {
            *count = std::mem::take(&mut counts[*local as usize]);
        }
        // Locals are distinct, so no two entries compare equal: unstable sorting (which
        // allocates nothing) gives the one order there is.
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(wat: &str) -> Vec<Vec<u8>> {
        let binary = wat::parse_str(wat).unwrap();
        wasmparser::Parser::new(0)
            .parse_all(&binary)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    Some(binary[range.start as usize..range.end as usize].to_vec())
                }
                _ => None,
            })
            .collect()
    }

    fn body(bytes: &[u8]) -> FunctionBody<'_> {
        FunctionBody::new(wasmparser::BinaryReader::new(bytes, 0))
    }

    const NESTED: &str = r#"(module
        (func (param i32 i32 i32) (local f64)
          (local.set 0 (local.get 2))
          (loop $outer
            (local.set 1 (local.get 1))
            (block (loop $inner (local.set 3 (local.get 3)) (br_if $inner (local.get 3)))))
          (drop (local.get 0)))
        (func (local i32) (loop (local.set 0 (local.get 0)))))"#;

    #[test]
    fn loops_see_their_own_and_their_nested_loops_locals_busiest_first() {
        let bodies = bodies(NESTED);
        let scan = LoopLocals::scan(&body(&bodies[0])).unwrap();
        let scan = scan.body(0).unwrap();
        let mut counts = vec![0; 4];
        assert_eq!(scan.loop_locals(0, &mut counts), [(3, 3), (1, 2)]);
        assert_eq!(scan.loop_locals(1, &mut counts), [(3, 3)]);
        assert!(counts.iter().all(|&c| c == 0), "scratch space left clean");
        assert!(scan.loop_locals(2, &mut counts).is_empty(), "no such loop");
    }

    #[test]
    fn bodies_recorded_one_after_another_keep_their_own_loops() {
        let bodies = bodies(NESTED);
        let mut recorded = LoopLocals::default();
        for bytes in &bodies {
            let mut reader = body(bytes).get_operators_reader().unwrap();
            recorded.begin_body();
            while !reader.eof() {
                recorded.record(&reader.read().unwrap());
            }
            recorded.end_body();
        }
        recorded.shrink();
        let mut counts = vec![0; 4];
        let first = recorded.body(0).unwrap();
        assert_eq!(first.loop_locals(1, &mut counts), [(3, 3)]);
        let second = recorded.body(1).unwrap();
        assert_eq!(second.loop_locals(0, &mut counts), [(0, 2)]);
        assert!(
            second.loop_locals(1, &mut counts).is_empty(),
            "the first body's loops stay its own"
        );
        assert!(recorded.body(2).is_none(), "two bodies recorded");
    }
}
