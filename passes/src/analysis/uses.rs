//! Use lists: for every value, the instructions that use it (operands and branch arguments).

use crate::ir::{Function, Inst, Value};

/// Users of every value (an instruction using a value twice appears twice).
#[derive(Debug, Clone)]
pub struct Uses {
    users: Vec<Vec<Inst>>,
}

impl Uses {
    /// Computes use lists over the live blocks.
    pub fn new(f: &Function) -> Uses {
        let mut users = vec![Vec::new(); f.values.len()];
        for &b in &f.layout {
            for &i in &f.blocks[b.index()].insts {
                let d = &f.insts[i.index()];
                for a in d.args.iter().chain(d.targets.iter().flat_map(|t| t.args.iter())) {
                    users[a.index()].push(i);
                }
            }
        }
        Uses { users }
    }

    /// The instructions using `v`.
    pub fn users(&self, v: Value) -> &[Inst] {
        self.users.get(v.index()).map_or(&[], |u| u)
    }

    /// Number of uses.
    pub fn count(&self, v: Value) -> usize {
        self.users(v).len()
    }
}
