//! Constant folding with exact wasm semantics: a numeric operator whose operands are all constants
//! becomes the constant [`crate::ir::eval_num`] computes (the evaluator's own function, so the two
//! cannot disagree). An operator that would trap on its constant operands (`i32.div_s` by zero,
//! `INT_MIN / -1`, truncating NaN or an out-of-range float) is left alone: folding never removes
//! a trap. Floats are folded bit for bit, NaN payloads included. Also folds `ref.is_null` of a
//! known reference.

use crate::analysis::FuncAnalyses;
use crate::ir::{Const, Env, Function, InstKind, Val, eval_num};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `constfold` pass.
pub struct ConstFold;

impl FunctionPass for ConstFold {
    fn name(&self) -> &'static str {
        "constfold"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let rpo = an.cfg(f).rpo.clone();
        let (mut folded, mut kept_traps) = (0, 0);
        for b in rpo {
            for ii in 0..f.blocks[b.index()].insts.len() {
                let i = f.blocks[b.index()].insts[ii];
                let data = &f.insts[i.index()];
                let new = match data.kind {
                    InstKind::Num(op) => {
                        // Checked first: most operators have a non-constant operand, and
                        // collecting the operands allocates.
                        if !data.args.iter().all(|&a| f.const_of(a).is_some()) {
                            continue;
                        }
                        let args: Option<Vec<Val>> =
                            data.args.iter().map(|&a| f.const_of(a).map(Const::val)).collect();
                        let Some(args) = args else { continue };
                        match eval_num(op, &args) {
                            Ok(v) => v.to_const(op.result()),
                            Err(_) => {
                                kept_traps += 1;
                                None
                            }
                        }
                    }
                    InstKind::RefIsNull => {
                        let a = data.args[0];
                        if f.const_of(a).is_some() {
                            Some(Const::I32(1))
                        } else if f.def_inst(a).is_some_and(|d| {
                            matches!(f.insts[d.index()].kind, InstKind::RefFunc(_))
                        }) {
                            Some(Const::I32(0))
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                if let Some(c) = new {
                    let d = &mut f.insts[i.index()];
                    d.kind = InstKind::Const(c);
                    d.args.clear();
                    folded += 1;
                }
            }
        }
        *counters.entry("folded").or_default() += folded;
        *counters.entry("traps kept").or_default() += kept_traps;
        if folded > 0 { Changed::INSTS } else { Changed::NONE }
    }
}
