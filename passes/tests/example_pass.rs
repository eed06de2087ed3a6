//! The example pass from the README's "Adding a pass", compiled and checked: a pass author's
//! whole job is the `FunctionPass` impl; the verifier and the evaluator's before/after check come
//! with the `PassManager`.

use tierup_passes::analysis::FuncAnalyses;
use tierup_passes::ir::{Env, Function, InstKind, NumOp};
use tierup_passes::pass::{Changed, Counters, FunctionPass, PassManager, Step};
use tierup_passes::text::{parse_module, print_module};

/// `i32.eqz (i32.lt_s a, b)` -> `i32.ge_s a, b` (and the other signed/unsigned comparisons).
pub struct NegateCompare;

impl FunctionPass for NegateCompare {
    fn name(&self) -> &'static str {
        "negcmp"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        _an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let mut n = 0;
        for b in f.layout.clone() {
            for i in f.blocks[b.index()].insts.clone() {
                if f.insts[i.index()].kind != InstKind::Num(NumOp::I32Eqz) {
                    continue;
                }
                let Some(def) = f.def_inst(f.insts[i.index()].args[0]) else { continue };
                let inverse = match f.insts[def.index()].kind {
                    InstKind::Num(NumOp::I32LtS) => NumOp::I32GeS,
                    InstKind::Num(NumOp::I32LtU) => NumOp::I32GeU,
                    InstKind::Num(NumOp::I32GtS) => NumOp::I32LeS,
                    InstKind::Num(NumOp::I32GtU) => NumOp::I32LeU,
                    _ => continue,
                };
                let args = f.insts[def.index()].args.clone();
                let inst = &mut f.insts[i.index()];
                inst.kind = InstKind::Num(inverse);
                inst.args = args;
                n += 1;
            }
        }
        *counters.entry("negated").or_default() += n;
        if n > 0 { Changed::INSTS } else { Changed::NONE }
    }
}

#[test]
fn the_example_pass_rewrites_and_is_checked() {
    let mut m = parse_module(
        "function fn0 (i32, i32) -> i32 {\nblock0(v0: i32, v1: i32):\n    v2 = i32.lt_s v0, v1\n    v3 = i32.eqz v2\n    return v3\n}\n",
    )
    .unwrap();
    let mut pm = PassManager::from_steps(vec![
        Step::Pass(Box::new(NegateCompare)),
        Step::Pass(tierup_passes::passes::create("dce").unwrap()),
    ]);
    pm.options.verify = true;
    pm.options.check_inputs = 64;
    pm.run(&mut m).unwrap();
    assert_eq!(
        print_module(&m),
        "function fn0 (i32, i32) -> i32 {\nblock0(v0: i32, v1: i32):\n    v3 = i32.ge_s v0, v1\n    return v3\n}\n"
    );
    assert_eq!(pm.counter("negated"), 1);
    assert!(pm.checks.compared >= 64, "{:?}", pm.checks);
}
