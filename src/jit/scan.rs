//! A cheap pass over a function body before code generation: which locals each loop touches, so
//! the code generator can keep the busiest of them in registers across the loop's header (see
//! `codegen`'s label states). It decodes operators only; it never emits code or judges the body.

use wasmparser::{FunctionBody, Operator};

/// What the scan learned about one function body.
#[derive(Debug, Default)]
pub struct BodyScan {
    /// Every `local.get`/`local.set`/`local.tee` in body order.
    accesses: Vec<u32>,
    /// Per loop ordinal, the range of `accesses` inside the loop (nested loops included).
    loops: Vec<(u32, u32)>,
}

impl BodyScan {
    /// Scans `body`, which the front end has validated.
    pub fn new(body: &FunctionBody<'_>) -> Result<BodyScan, wasmparser::BinaryReaderError> {
        let mut scan = BodyScan::default();
        // Open blocks: `Some(ordinal)` for loops.
        let mut open: Vec<Option<u32>> = Vec::new();
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            match reader.read()? {
                Operator::LocalGet { local_index }
                | Operator::LocalSet { local_index }
                | Operator::LocalTee { local_index } => scan.accesses.push(local_index),
                Operator::Block { .. } | Operator::If { .. } => open.push(None),
                Operator::Loop { .. } => {
                    open.push(Some(scan.loops.len() as u32));
                    let at = scan.accesses.len() as u32;
                    scan.loops.push((at, at));
                }
                Operator::End => {
                    if let Some(Some(ordinal)) = open.pop() {
                        scan.loops[ordinal as usize].1 = scan.accesses.len() as u32;
                    }
                }
                _ => {}
            }
        }
        Ok(scan)
    }

    /// The locals loop `ordinal` touches, busiest first (ties: lower index first), with how
    /// often each appears in its body. `counts` is scratch space, one entry per local, all zero
    /// on entry and on return.
    pub fn loop_locals(&self, ordinal: u32, counts: &mut [u32]) -> Vec<(u32, u32)> {
        let Some(&(start, end)) = self.loops.get(ordinal as usize) else { return Vec::new() };
        let accesses = &self.accesses[start as usize..end as usize];
        let mut locals = Vec::new();
        for &local in accesses {
            let count = &mut counts[local as usize];
            if *count == 0 {
                locals.push(local);
            }
            *count += 1;
        }
        let mut ranked: Vec<(u32, u32)> = locals
            .into_iter()
            .map(|local| (local, std::mem::take(&mut counts[local as usize])))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(wat: &str) -> (BodyScan, usize) {
        let binary = wat::parse_str(wat).unwrap();
        let body = wasmparser::Parser::new(0)
            .parse_all(&binary)
            .find_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(body) => Some(body),
                _ => None,
            })
            .unwrap();
        let scan = BodyScan::new(&body).unwrap();
        // Keep the binary alive for the body's borrow: return what the tests need only.
        (scan, binary.len())
    }

    #[test]
    fn loops_see_their_own_and_their_nested_loops_locals_busiest_first() {
        let (scan, _) = scan(
            r#"(module (func (param i32 i32 i32) (local f64)
                (local.set 0 (local.get 2))
                (loop $outer
                  (local.set 1 (local.get 1))
                  (block (loop $inner (local.set 3 (local.get 3)) (br_if $inner (local.get 3)))))
                (drop (local.get 0))))"#,
        );
        let mut counts = vec![0; 4];
        assert_eq!(scan.loop_locals(0, &mut counts), [(3, 3), (1, 2)]);
        assert_eq!(scan.loop_locals(1, &mut counts), [(3, 3)]);
        assert!(counts.iter().all(|&c| c == 0), "scratch space left clean");
        assert!(scan.loop_locals(2, &mut counts).is_empty(), "no such loop");
    }
}
