//! Algebraic simplification and strength reduction on integers:
//! `x+0, x-0, x|0, x^0, x<<0, x*1, x&-1 -> x`; `x*0, x&0 -> 0`; `x|-1 -> -1`;
//! `x-x, x^x -> 0`; `x&x, x|x -> x`; `x==x -> 1`, `x!=x -> 0` (and the other reflexive
//! comparisons); `x * 2^k -> x << k`; `x /u 2^k -> x >>u k`; `x %u 2^k -> x & (2^k-1)`;
//! constants move to the right of commutative operators; `select c, x, x -> x`,
//! `select` on a constant condition; `-(-x) -> x` on floats (a sign-bit flip twice, exact for every
//! NaN); `brif (eqz x), a, b -> brif x, b, a`; `x & c -> x` when every bit `x` may have set is
//! in `c` (`x` a zero-extending narrow load: `load8_u(p) & 0xff`, which C's `unsigned char`
//! arithmetic leaves behind).
//!
//! Never on floats beyond that: `x * 1.0 -> x` or `x + 0.0 -> x` would be wrong for signalling
//! NaNs or `-0.0`. Never removes a trap: division is only rewritten when the divisor is a
//! non-zero constant.

use super::util::Subst;
use crate::analysis::FuncAnalyses;
use crate::ir::{Const, Env, Function, InstKind, LoadOp, NumOp, Value};
use crate::pass::{Changed, Counters, FunctionPass};

/// The `simplify` pass.
pub struct Simplify;

enum Rewrite {
    /// Replace the result by this value.
    Value(Value),
    /// Replace the instruction by a constant.
    Const(Const),
    /// Replace by another operator on the same first operand and a new constant.
    OpConst(NumOp, Const),
    /// Swap operands.
    Swap,
}

fn int_const(c: Option<Const>) -> Option<(u64, bool)> {
    match c? {
        Const::I32(x) => Some((x as u64, false)),
        Const::I64(x) => Some((x, true)),
        _ => None,
    }
}

/// The bits `v` may have set, when fewer than its type's: the result of a zero-extending narrow
/// load.
fn possibly_set_bits(f: &Function, v: Value) -> Option<u64> {
    let def = f.def_inst(v)?;
    match f.insts[def.index()].kind {
        InstKind::Load { op: LoadOp::I32Load8U | LoadOp::I64Load8U, .. } => Some(0xff),
        InstKind::Load { op: LoadOp::I32Load16U | LoadOp::I64Load16U, .. } => Some(0xffff),
        InstKind::Load { op: LoadOp::I64Load32U, .. } => Some(0xffff_ffff),
        _ => None,
    }
}

fn mk(is64: bool, x: u64) -> Const {
    if is64 { Const::I64(x) } else { Const::I32(x as u32) }
}

fn commutative(op: NumOp) -> bool {
    use NumOp::*;
    matches!(
        op,
        I32Add
            | I32Mul
            | I32And
            | I32Or
            | I32Xor
            | I32Eq
            | I32Ne
            | I64Add
            | I64Mul
            | I64And
            | I64Or
            | I64Xor
            | I64Eq
            | I64Ne
    )
}

fn rewrite(f: &Function, op: NumOp, a: Value, b: Option<Value>) -> Option<Rewrite> {
    use NumOp::*;
    if let (F32Neg | F64Neg, None) = (op, b) {
        let d = f.def_inst(a)?;
        if f.insts[d.index()].kind == InstKind::Num(op) {
            return Some(Rewrite::Value(f.insts[d.index()].args[0]));
        }
        return None;
    }
    let b = b?;
    let (ca, cb) = (int_const(f.const_of(a)), int_const(f.const_of(b)));
    if commutative(op) && ca.is_some() && cb.is_none() {
        return Some(Rewrite::Swap);
    }
    let is64 = op.params().first() == Some(&crate::ir::Type::I64);
    let ones = if is64 { u64::MAX } else { u32::MAX as u64 };
    if a == b {
        let r = match op {
            I32Sub | I64Sub | I32Xor | I64Xor => Rewrite::Const(mk(is64, 0)),
            I32And | I64And | I32Or | I64Or => Rewrite::Value(a),
            I32Eq | I64Eq | I32LeS | I32LeU | I32GeS | I32GeU | I64LeS | I64LeU | I64GeS
            | I64GeU => Rewrite::Const(Const::I32(1)),
            I32Ne | I64Ne | I32LtS | I32LtU | I32GtS | I32GtU | I64LtS | I64LtU | I64GtS
            | I64GtU => Rewrite::Const(Const::I32(0)),
            _ => return None,
        };
        return Some(r);
    }
    let (c, _) = cb?;
    let bits = if is64 { 64 } else { 32 };
    Some(match op {
        I32Add | I64Add | I32Sub | I64Sub | I32Or | I64Or | I32Xor | I64Xor if c == 0 => {
            Rewrite::Value(a)
        }
        I32Shl | I64Shl | I32ShrS | I64ShrS | I32ShrU | I64ShrU | I32Rotl | I64Rotl | I32Rotr
        | I64Rotr
            if c % bits == 0 =>
        {
            Rewrite::Value(a)
        }
        I32Mul | I64Mul if c == 1 => Rewrite::Value(a),
        I32Mul | I64Mul | I32And | I64And if c == 0 => Rewrite::Const(mk(is64, 0)),
        I32And | I64And if c == ones => Rewrite::Value(a),
        I32And | I64And if possibly_set_bits(f, a).is_some_and(|bits| bits & c == bits) => {
            Rewrite::Value(a)
        }
        I32Or | I64Or if c == ones => Rewrite::Const(mk(is64, ones)),
        I32Mul | I64Mul if c.is_power_of_two() => Rewrite::OpConst(
            if is64 { I64Shl } else { I32Shl },
            mk(is64, c.trailing_zeros() as u64),
        ),
        I32DivU | I64DivU if c == 1 => Rewrite::Value(a),
        I32DivU | I64DivU if c.is_power_of_two() => Rewrite::OpConst(
            if is64 { I64ShrU } else { I32ShrU },
            mk(is64, c.trailing_zeros() as u64),
        ),
        I32RemU | I64RemU if c.is_power_of_two() => {
            Rewrite::OpConst(if is64 { I64And } else { I32And }, mk(is64, c - 1))
        }
        _ => return None,
    })
}

impl FunctionPass for Simplify {
    fn name(&self) -> &'static str {
        "simplify"
    }

    fn run_on_function(
        &mut self,
        _env: &Env,
        f: &mut Function,
        an: &mut FuncAnalyses,
        counters: &mut Counters,
    ) -> Changed {
        let rpo = an.cfg(f).rpo.clone();
        let mut subst = Subst::new(f);
        let (mut simplified, mut reduced) = (0, 0);
        let mut changed = Changed::NONE;
        for b in rpo {
            let mut ii = 0;
            while ii < f.blocks[b.index()].insts.len() {
                let i = f.blocks[b.index()].insts[ii];
                ii += 1;
                // Operands as the substitution so far has them.
                for a in &mut f.insts[i.index()].args {
                    *a = subst.resolve(*a);
                }
                if !matches!(
                    f.insts[i.index()].kind,
                    InstKind::Num(_) | InstKind::Select | InstKind::Brif
                ) {
                    continue;
                }
                // The operands copied out (the arms edit the instruction), inline: numeric
                // operators have one or two, `select` three, `brif` one.
                let n = f.insts[i.index()].args.len();
                debug_assert!(n <= 3, "{n} operands");
                let mut args = [Value(0); 3];
                args[..n].copy_from_slice(&f.insts[i.index()].args[..n]);
                let second = |args: &[Value; 3]| (n > 1).then_some(args[1]);
                match f.insts[i.index()].kind.clone() {
                    InstKind::Num(op) => {
                        let mut rw = rewrite(f, op, args[0], second(&args));
                        if let Some(Rewrite::Swap) = rw {
                            f.insts[i.index()].args.swap(0, 1);
                            args.swap(0, 1);
                            simplified += 1;
                            rw = rewrite(f, op, args[0], second(&args));
                        }
                        let Some(rw) = rw else { continue };
                        match rw {
                            Rewrite::Value(v) => {
                                let r = f.result(i);
                                subst.set(r, v);
                                let d = &mut f.insts[i.index()];
                                d.kind = InstKind::Copy;
                                d.args = vec![v];
                            }
                            Rewrite::Const(c) => {
                                let d = &mut f.insts[i.index()];
                                d.kind = InstKind::Const(c);
                                d.args.clear();
                            }
                            Rewrite::OpConst(nop, c) => {
                                let ci = f.make_inst(InstKind::Const(c), vec![], vec![], &[c.ty()]);
                                let cv = f.result(ci);
                                f.blocks[b.index()].insts.insert(ii - 1, ci);
                                ii += 1;
                                let d = &mut f.insts[i.index()];
                                d.kind = InstKind::Num(nop);
                                d.args = vec![args[0], cv];
                                reduced += 1;
                            }
                            Rewrite::Swap => {}
                        }
                        simplified += 1;
                    }
                    InstKind::Select => {
                        let v = if args[0] == args[1] {
                            Some(args[0])
                        } else {
                            int_const(f.const_of(args[2]))
                                .map(|(c, _)| if c != 0 { args[0] } else { args[1] })
                        };
                        if let Some(v) = v {
                            let r = f.result(i);
                            subst.set(r, v);
                            let d = &mut f.insts[i.index()];
                            d.kind = InstKind::Copy;
                            d.args = vec![v];
                            simplified += 1;
                        }
                    }
                    InstKind::Brif => {
                        let c = args[0];
                        if let Some(d) = f.def_inst(c)
                            && matches!(f.insts[d.index()].kind, InstKind::Num(NumOp::I32Eqz))
                        {
                            let x = f.insts[d.index()].args[0];
                            let t = &mut f.insts[i.index()];
                            t.args[0] = subst.resolve(x);
                            t.targets.swap(0, 1);
                            simplified += 1;
                            changed = Changed::CFG;
                        }
                    }
                    _ => {}
                }
            }
        }
        // Branch arguments too.
        subst.apply(f);
        *counters.entry("simplified").or_default() += simplified;
        *counters.entry("strength reduced").or_default() += reduced;
        if simplified > 0 { changed | Changed::INSTS } else { changed }
    }
}
