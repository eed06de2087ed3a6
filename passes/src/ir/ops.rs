//! The scalar numeric operators of WebAssembly 2.0 and their exact semantics.
//!
//! One table names every operator with its operand and result types and whether it may trap;
//! [`eval_num`] is the only implementation of their semantics, shared by the evaluator and by
//! constant folding, so the two can never disagree. It follows the engine's `interp/num.rs`
//! rule for rule (wrapping integers, trapping division and truncation, `min`/`max` on signed zeros
//! and NaNs, quieting rounding) without depending on the engine.

use super::types::{TrapCode, Type, Val};

macro_rules! num_ops {
    ($($v:ident $name:literal ($($a:ident),*) -> $r:ident $trap:literal;)*) => {
        /// A scalar numeric operator (named as in wasm's text format).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum NumOp { $($v,)* }

        impl NumOp {
            /// Every operator, in table order.
            pub const ALL: &'static [NumOp] = &[$(NumOp::$v,)*];

            /// The wasm text name (`i32.add`).
            pub fn name(self) -> &'static str {
                match self { $(NumOp::$v => $name,)* }
            }

            /// Operand types.
            pub fn params(self) -> &'static [Type] {
                match self { $(NumOp::$v => &[$(Type::$a),*],)* }
            }

            /// Result type.
            pub fn result(self) -> Type {
                match self { $(NumOp::$v => Type::$r,)* }
            }

            /// Whether the operator may trap (division, remainder, trapping truncation).
            pub fn may_trap(self) -> bool {
                match self { $(NumOp::$v => $trap,)* }
            }
        }
    };
}

num_ops! {
    I32Eqz "i32.eqz" (I32) -> I32 false;
    I32Eq "i32.eq" (I32, I32) -> I32 false;
    I32Ne "i32.ne" (I32, I32) -> I32 false;
    I32LtS "i32.lt_s" (I32, I32) -> I32 false;
    I32LtU "i32.lt_u" (I32, I32) -> I32 false;
    I32GtS "i32.gt_s" (I32, I32) -> I32 false;
    I32GtU "i32.gt_u" (I32, I32) -> I32 false;
    I32LeS "i32.le_s" (I32, I32) -> I32 false;
    I32LeU "i32.le_u" (I32, I32) -> I32 false;
    I32GeS "i32.ge_s" (I32, I32) -> I32 false;
    I32GeU "i32.ge_u" (I32, I32) -> I32 false;
    I64Eqz "i64.eqz" (I64) -> I32 false;
    I64Eq "i64.eq" (I64, I64) -> I32 false;
    I64Ne "i64.ne" (I64, I64) -> I32 false;
    I64LtS "i64.lt_s" (I64, I64) -> I32 false;
    I64LtU "i64.lt_u" (I64, I64) -> I32 false;
    I64GtS "i64.gt_s" (I64, I64) -> I32 false;
    I64GtU "i64.gt_u" (I64, I64) -> I32 false;
    I64LeS "i64.le_s" (I64, I64) -> I32 false;
    I64LeU "i64.le_u" (I64, I64) -> I32 false;
    I64GeS "i64.ge_s" (I64, I64) -> I32 false;
    I64GeU "i64.ge_u" (I64, I64) -> I32 false;
    F32Eq "f32.eq" (F32, F32) -> I32 false;
    F32Ne "f32.ne" (F32, F32) -> I32 false;
    F32Lt "f32.lt" (F32, F32) -> I32 false;
    F32Gt "f32.gt" (F32, F32) -> I32 false;
    F32Le "f32.le" (F32, F32) -> I32 false;
    F32Ge "f32.ge" (F32, F32) -> I32 false;
    F64Eq "f64.eq" (F64, F64) -> I32 false;
    F64Ne "f64.ne" (F64, F64) -> I32 false;
    F64Lt "f64.lt" (F64, F64) -> I32 false;
    F64Gt "f64.gt" (F64, F64) -> I32 false;
    F64Le "f64.le" (F64, F64) -> I32 false;
    F64Ge "f64.ge" (F64, F64) -> I32 false;
    I32Clz "i32.clz" (I32) -> I32 false;
    I32Ctz "i32.ctz" (I32) -> I32 false;
    I32Popcnt "i32.popcnt" (I32) -> I32 false;
    I32Add "i32.add" (I32, I32) -> I32 false;
    I32Sub "i32.sub" (I32, I32) -> I32 false;
    I32Mul "i32.mul" (I32, I32) -> I32 false;
    I32DivS "i32.div_s" (I32, I32) -> I32 true;
    I32DivU "i32.div_u" (I32, I32) -> I32 true;
    I32RemS "i32.rem_s" (I32, I32) -> I32 true;
    I32RemU "i32.rem_u" (I32, I32) -> I32 true;
    I32And "i32.and" (I32, I32) -> I32 false;
    I32Or "i32.or" (I32, I32) -> I32 false;
    I32Xor "i32.xor" (I32, I32) -> I32 false;
    I32Shl "i32.shl" (I32, I32) -> I32 false;
    I32ShrS "i32.shr_s" (I32, I32) -> I32 false;
    I32ShrU "i32.shr_u" (I32, I32) -> I32 false;
    I32Rotl "i32.rotl" (I32, I32) -> I32 false;
    I32Rotr "i32.rotr" (I32, I32) -> I32 false;
    I64Clz "i64.clz" (I64) -> I64 false;
    I64Ctz "i64.ctz" (I64) -> I64 false;
    I64Popcnt "i64.popcnt" (I64) -> I64 false;
    I64Add "i64.add" (I64, I64) -> I64 false;
    I64Sub "i64.sub" (I64, I64) -> I64 false;
    I64Mul "i64.mul" (I64, I64) -> I64 false;
    I64DivS "i64.div_s" (I64, I64) -> I64 true;
    I64DivU "i64.div_u" (I64, I64) -> I64 true;
    I64RemS "i64.rem_s" (I64, I64) -> I64 true;
    I64RemU "i64.rem_u" (I64, I64) -> I64 true;
    I64And "i64.and" (I64, I64) -> I64 false;
    I64Or "i64.or" (I64, I64) -> I64 false;
    I64Xor "i64.xor" (I64, I64) -> I64 false;
    I64Shl "i64.shl" (I64, I64) -> I64 false;
    I64ShrS "i64.shr_s" (I64, I64) -> I64 false;
    I64ShrU "i64.shr_u" (I64, I64) -> I64 false;
    I64Rotl "i64.rotl" (I64, I64) -> I64 false;
    I64Rotr "i64.rotr" (I64, I64) -> I64 false;
    F32Abs "f32.abs" (F32) -> F32 false;
    F32Neg "f32.neg" (F32) -> F32 false;
    F32Ceil "f32.ceil" (F32) -> F32 false;
    F32Floor "f32.floor" (F32) -> F32 false;
    F32Trunc "f32.trunc" (F32) -> F32 false;
    F32Nearest "f32.nearest" (F32) -> F32 false;
    F32Sqrt "f32.sqrt" (F32) -> F32 false;
    F32Add "f32.add" (F32, F32) -> F32 false;
    F32Sub "f32.sub" (F32, F32) -> F32 false;
    F32Mul "f32.mul" (F32, F32) -> F32 false;
    F32Div "f32.div" (F32, F32) -> F32 false;
    F32Min "f32.min" (F32, F32) -> F32 false;
    F32Max "f32.max" (F32, F32) -> F32 false;
    F32Copysign "f32.copysign" (F32, F32) -> F32 false;
    F64Abs "f64.abs" (F64) -> F64 false;
    F64Neg "f64.neg" (F64) -> F64 false;
    F64Ceil "f64.ceil" (F64) -> F64 false;
    F64Floor "f64.floor" (F64) -> F64 false;
    F64Trunc "f64.trunc" (F64) -> F64 false;
    F64Nearest "f64.nearest" (F64) -> F64 false;
    F64Sqrt "f64.sqrt" (F64) -> F64 false;
    F64Add "f64.add" (F64, F64) -> F64 false;
    F64Sub "f64.sub" (F64, F64) -> F64 false;
    F64Mul "f64.mul" (F64, F64) -> F64 false;
    F64Div "f64.div" (F64, F64) -> F64 false;
    F64Min "f64.min" (F64, F64) -> F64 false;
    F64Max "f64.max" (F64, F64) -> F64 false;
    F64Copysign "f64.copysign" (F64, F64) -> F64 false;
    I32WrapI64 "i32.wrap_i64" (I64) -> I32 false;
    I32TruncF32S "i32.trunc_f32_s" (F32) -> I32 true;
    I32TruncF32U "i32.trunc_f32_u" (F32) -> I32 true;
    I32TruncF64S "i32.trunc_f64_s" (F64) -> I32 true;
    I32TruncF64U "i32.trunc_f64_u" (F64) -> I32 true;
    I64ExtendI32S "i64.extend_i32_s" (I32) -> I64 false;
    I64ExtendI32U "i64.extend_i32_u" (I32) -> I64 false;
    I64TruncF32S "i64.trunc_f32_s" (F32) -> I64 true;
    I64TruncF32U "i64.trunc_f32_u" (F32) -> I64 true;
    I64TruncF64S "i64.trunc_f64_s" (F64) -> I64 true;
    I64TruncF64U "i64.trunc_f64_u" (F64) -> I64 true;
    F32ConvertI32S "f32.convert_i32_s" (I32) -> F32 false;
    F32ConvertI32U "f32.convert_i32_u" (I32) -> F32 false;
    F32ConvertI64S "f32.convert_i64_s" (I64) -> F32 false;
    F32ConvertI64U "f32.convert_i64_u" (I64) -> F32 false;
    F32DemoteF64 "f32.demote_f64" (F64) -> F32 false;
    F64ConvertI32S "f64.convert_i32_s" (I32) -> F64 false;
    F64ConvertI32U "f64.convert_i32_u" (I32) -> F64 false;
    F64ConvertI64S "f64.convert_i64_s" (I64) -> F64 false;
    F64ConvertI64U "f64.convert_i64_u" (I64) -> F64 false;
    F64PromoteF32 "f64.promote_f32" (F32) -> F64 false;
    I32ReinterpretF32 "i32.reinterpret_f32" (F32) -> I32 false;
    I64ReinterpretF64 "i64.reinterpret_f64" (F64) -> I64 false;
    F32ReinterpretI32 "f32.reinterpret_i32" (I32) -> F32 false;
    F64ReinterpretI64 "f64.reinterpret_i64" (I64) -> F64 false;
    I32Extend8S "i32.extend8_s" (I32) -> I32 false;
    I32Extend16S "i32.extend16_s" (I32) -> I32 false;
    I64Extend8S "i64.extend8_s" (I64) -> I64 false;
    I64Extend16S "i64.extend16_s" (I64) -> I64 false;
    I64Extend32S "i64.extend32_s" (I64) -> I64 false;
    I32TruncSatF32S "i32.trunc_sat_f32_s" (F32) -> I32 false;
    I32TruncSatF32U "i32.trunc_sat_f32_u" (F32) -> I32 false;
    I32TruncSatF64S "i32.trunc_sat_f64_s" (F64) -> I32 false;
    I32TruncSatF64U "i32.trunc_sat_f64_u" (F64) -> I32 false;
    I64TruncSatF32S "i64.trunc_sat_f32_s" (F32) -> I64 false;
    I64TruncSatF32U "i64.trunc_sat_f32_u" (F32) -> I64 false;
    I64TruncSatF64S "i64.trunc_sat_f64_s" (F64) -> I64 false;
    I64TruncSatF64U "i64.trunc_sat_f64_u" (F64) -> I64 false;
}

impl NumOp {
    /// Looks an operator up by its wasm text name.
    pub fn from_name(s: &str) -> Option<NumOp> {
        NumOp::ALL.iter().copied().find(|op| op.name() == s)
    }
}

/// Wasm rounding returns a quiet NaN for a NaN input; adding a NaN to itself quiets it and keeps
/// its payload.
macro_rules! quiet {
    ($x:expr) => {{
        let x = $x;
        #[allow(clippy::eq_op)]
        if x != x { x + x } else { x }
    }};
}

macro_rules! fminmax {
    ($a:expr, $b:expr, $f:ty, $min:expr) => {{
        let (a, b): ($f, $f) = ($a, $b);
        if a.is_nan() || b.is_nan() {
            a + b
        } else if a == b {
            if $min {
                <$f>::from_bits(a.to_bits() | b.to_bits())
            } else {
                <$f>::from_bits(a.to_bits() & b.to_bits())
            }
        } else if (a < b) == $min {
            a
        } else {
            b
        }
    }};
}

/// Trapping float-to-int truncation with exclusive, exactly representable bounds.
macro_rules! trunc {
    ($x:expr, $i:ty, $lo:expr, $hi:expr) => {{
        let x = $x;
        if x.is_nan() {
            return Err(TrapCode::BadConversionToInteger);
        }
        if !(x > $lo && x < $hi) {
            return Err(TrapCode::IntegerOverflow);
        }
        x as $i
    }};
}

fn b(x: bool) -> Val {
    Val::I32(x as u32)
}

/// Evaluates `op` on `args` exactly as wasm defines it: `Err` is the trap the operator raises.
/// The operands must have the operator's types (the verifier guarantees it).
pub fn eval_num(op: NumOp, args: &[Val]) -> Result<Val, TrapCode> {
    use NumOp::*;
    let a = args[0];
    let bb = args.get(1).copied().unwrap_or(Val::I32(0));
    let (x32, y32) = (|| a.i32(), || bb.i32());
    let (x64, y64) = (|| a.i64(), || bb.i64());
    let (fa, fb) = (|| f32::from_bits(a.f32()), || f32::from_bits(bb.f32()));
    let (da, db) = (|| f64::from_bits(a.f64()), || f64::from_bits(bb.f64()));
    let f32v = |x: f32| Val::F32(x.to_bits());
    let f64v = |x: f64| Val::F64(x.to_bits());
    Ok(match op {
        I32Eqz => b(x32() == 0),
        I32Eq => b(x32() == y32()),
        I32Ne => b(x32() != y32()),
        I32LtS => b((x32() as i32) < (y32() as i32)),
        I32LtU => b(x32() < y32()),
        I32GtS => b((x32() as i32) > (y32() as i32)),
        I32GtU => b(x32() > y32()),
        I32LeS => b((x32() as i32) <= (y32() as i32)),
        I32LeU => b(x32() <= y32()),
        I32GeS => b((x32() as i32) >= (y32() as i32)),
        I32GeU => b(x32() >= y32()),
        I64Eqz => b(x64() == 0),
        I64Eq => b(x64() == y64()),
        I64Ne => b(x64() != y64()),
        I64LtS => b((x64() as i64) < (y64() as i64)),
        I64LtU => b(x64() < y64()),
        I64GtS => b((x64() as i64) > (y64() as i64)),
        I64GtU => b(x64() > y64()),
        I64LeS => b((x64() as i64) <= (y64() as i64)),
        I64LeU => b(x64() <= y64()),
        I64GeS => b((x64() as i64) >= (y64() as i64)),
        I64GeU => b(x64() >= y64()),
        F32Eq => b(fa() == fb()),
        F32Ne => b(fa() != fb()),
        F32Lt => b(fa() < fb()),
        F32Gt => b(fa() > fb()),
        F32Le => b(fa() <= fb()),
        F32Ge => b(fa() >= fb()),
        F64Eq => b(da() == db()),
        F64Ne => b(da() != db()),
        F64Lt => b(da() < db()),
        F64Gt => b(da() > db()),
        F64Le => b(da() <= db()),
        F64Ge => b(da() >= db()),
        I32Clz => Val::I32(x32().leading_zeros()),
        I32Ctz => Val::I32(x32().trailing_zeros()),
        I32Popcnt => Val::I32(x32().count_ones()),
        I32Add => Val::I32(x32().wrapping_add(y32())),
        I32Sub => Val::I32(x32().wrapping_sub(y32())),
        I32Mul => Val::I32(x32().wrapping_mul(y32())),
        I32DivS => {
            let (x, y) = (x32() as i32, y32() as i32);
            if y == 0 {
                return Err(TrapCode::IntegerDivideByZero);
            }
            Val::I32(x.checked_div(y).ok_or(TrapCode::IntegerOverflow)? as u32)
        }
        I32DivU => Val::I32(x32().checked_div(y32()).ok_or(TrapCode::IntegerDivideByZero)?),
        I32RemS => {
            let (x, y) = (x32() as i32, y32() as i32);
            if y == 0 {
                return Err(TrapCode::IntegerDivideByZero);
            }
            Val::I32(x.wrapping_rem(y) as u32)
        }
        I32RemU => Val::I32(x32().checked_rem(y32()).ok_or(TrapCode::IntegerDivideByZero)?),
        I32And => Val::I32(x32() & y32()),
        I32Or => Val::I32(x32() | y32()),
        I32Xor => Val::I32(x32() ^ y32()),
        I32Shl => Val::I32(x32().wrapping_shl(y32())),
        I32ShrS => Val::I32((x32() as i32).wrapping_shr(y32()) as u32),
        I32ShrU => Val::I32(x32().wrapping_shr(y32())),
        I32Rotl => Val::I32(x32().rotate_left(y32() % 32)),
        I32Rotr => Val::I32(x32().rotate_right(y32() % 32)),
        I64Clz => Val::I64(x64().leading_zeros() as u64),
        I64Ctz => Val::I64(x64().trailing_zeros() as u64),
        I64Popcnt => Val::I64(x64().count_ones() as u64),
        I64Add => Val::I64(x64().wrapping_add(y64())),
        I64Sub => Val::I64(x64().wrapping_sub(y64())),
        I64Mul => Val::I64(x64().wrapping_mul(y64())),
        I64DivS => {
            let (x, y) = (x64() as i64, y64() as i64);
            if y == 0 {
                return Err(TrapCode::IntegerDivideByZero);
            }
            Val::I64(x.checked_div(y).ok_or(TrapCode::IntegerOverflow)? as u64)
        }
        I64DivU => Val::I64(x64().checked_div(y64()).ok_or(TrapCode::IntegerDivideByZero)?),
        I64RemS => {
            let (x, y) = (x64() as i64, y64() as i64);
            if y == 0 {
                return Err(TrapCode::IntegerDivideByZero);
            }
            Val::I64(x.wrapping_rem(y) as u64)
        }
        I64RemU => Val::I64(x64().checked_rem(y64()).ok_or(TrapCode::IntegerDivideByZero)?),
        I64And => Val::I64(x64() & y64()),
        I64Or => Val::I64(x64() | y64()),
        I64Xor => Val::I64(x64() ^ y64()),
        I64Shl => Val::I64(x64().wrapping_shl(y64() as u32)),
        I64ShrS => Val::I64((x64() as i64).wrapping_shr(y64() as u32) as u64),
        I64ShrU => Val::I64(x64().wrapping_shr(y64() as u32)),
        I64Rotl => Val::I64(x64().rotate_left((y64() % 64) as u32)),
        I64Rotr => Val::I64(x64().rotate_right((y64() % 64) as u32)),
        F32Abs => Val::F32(a.f32() & 0x7fff_ffff),
        F32Neg => Val::F32(a.f32() ^ 0x8000_0000),
        F32Copysign => Val::F32((a.f32() & 0x7fff_ffff) | (bb.f32() & 0x8000_0000)),
        F32Ceil => f32v(quiet!(fa().ceil())),
        F32Floor => f32v(quiet!(fa().floor())),
        F32Trunc => f32v(quiet!(fa().trunc())),
        F32Nearest => f32v(quiet!(fa().round_ties_even())),
        F32Sqrt => f32v(fa().sqrt()),
        F32Add => f32v(fa() + fb()),
        F32Sub => f32v(fa() - fb()),
        F32Mul => f32v(fa() * fb()),
        F32Div => f32v(fa() / fb()),
        F32Min => f32v(fminmax!(fa(), fb(), f32, true)),
        F32Max => f32v(fminmax!(fa(), fb(), f32, false)),
        F64Abs => Val::F64(a.f64() & 0x7fff_ffff_ffff_ffff),
        F64Neg => Val::F64(a.f64() ^ 0x8000_0000_0000_0000),
        F64Copysign => {
            Val::F64((a.f64() & 0x7fff_ffff_ffff_ffff) | (bb.f64() & 0x8000_0000_0000_0000))
        }
        F64Ceil => f64v(quiet!(da().ceil())),
        F64Floor => f64v(quiet!(da().floor())),
        F64Trunc => f64v(quiet!(da().trunc())),
        F64Nearest => f64v(quiet!(da().round_ties_even())),
        F64Sqrt => f64v(da().sqrt()),
        F64Add => f64v(da() + db()),
        F64Sub => f64v(da() - db()),
        F64Mul => f64v(da() * db()),
        F64Div => f64v(da() / db()),
        F64Min => f64v(fminmax!(da(), db(), f64, true)),
        F64Max => f64v(fminmax!(da(), db(), f64, false)),
        I32WrapI64 => Val::I32(x64() as u32),
        I32TruncF32S => Val::I32(trunc!(fa(), i32, -2147483904.0f32, 2147483648.0f32) as u32),
        I32TruncF32U => Val::I32(trunc!(fa(), u32, -1.0f32, 4294967296.0f32)),
        I32TruncF64S => Val::I32(trunc!(da(), i32, -2147483649.0f64, 2147483648.0f64) as u32),
        I32TruncF64U => Val::I32(trunc!(da(), u32, -1.0f64, 4294967296.0f64)),
        I64ExtendI32S => Val::I64(x32() as i32 as i64 as u64),
        I64ExtendI32U => Val::I64(x32() as u64),
        I64TruncF32S => {
            Val::I64(trunc!(fa(), i64, -9223373136366403584.0f32, 9223372036854775808.0f32) as u64)
        }
        I64TruncF32U => Val::I64(trunc!(fa(), u64, -1.0f32, 18446744073709551616.0f32)),
        I64TruncF64S => {
            Val::I64(trunc!(da(), i64, -9223372036854777856.0f64, 9223372036854775808.0f64) as u64)
        }
        I64TruncF64U => Val::I64(trunc!(da(), u64, -1.0f64, 18446744073709551616.0f64)),
        F32ConvertI32S => f32v(x32() as i32 as f32),
        F32ConvertI32U => f32v(x32() as f32),
        F32ConvertI64S => f32v(x64() as i64 as f32),
        F32ConvertI64U => f32v(x64() as f32),
        F32DemoteF64 => f32v(da() as f32),
        F64ConvertI32S => f64v(x32() as i32 as f64),
        F64ConvertI32U => f64v(x32() as f64),
        F64ConvertI64S => f64v(x64() as i64 as f64),
        F64ConvertI64U => f64v(x64() as f64),
        F64PromoteF32 => f64v(fa() as f64),
        I32ReinterpretF32 => Val::I32(a.f32()),
        I64ReinterpretF64 => Val::I64(a.f64()),
        F32ReinterpretI32 => Val::F32(x32()),
        F64ReinterpretI64 => Val::F64(x64()),
        I32Extend8S => Val::I32(x32() as i8 as i32 as u32),
        I32Extend16S => Val::I32(x32() as i16 as i32 as u32),
        I64Extend8S => Val::I64(x64() as i8 as i64 as u64),
        I64Extend16S => Val::I64(x64() as i16 as i64 as u64),
        I64Extend32S => Val::I64(x64() as i32 as i64 as u64),
        // Rust's `as` from float to int saturates and maps NaN to 0: exactly trunc_sat.
        I32TruncSatF32S => Val::I32(fa() as i32 as u32),
        I32TruncSatF32U => Val::I32(fa() as u32),
        I32TruncSatF64S => Val::I32(da() as i32 as u32),
        I32TruncSatF64U => Val::I32(da() as u32),
        I64TruncSatF32S => Val::I64(fa() as i64 as u64),
        I64TruncSatF32U => Val::I64(fa() as u64),
        I64TruncSatF64S => Val::I64(da() as i64 as u64),
        I64TruncSatF64U => Val::I64(da() as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_traps_exactly_where_wasm_does() {
        let i = |x: i32| Val::I32(x as u32);
        assert_eq!(eval_num(NumOp::I32DivS, &[i(7), i(0)]), Err(TrapCode::IntegerDivideByZero));
        assert_eq!(eval_num(NumOp::I32DivS, &[i(i32::MIN), i(-1)]), Err(TrapCode::IntegerOverflow));
        assert_eq!(eval_num(NumOp::I32RemS, &[i(i32::MIN), i(-1)]), Ok(i(0)));
        assert_eq!(eval_num(NumOp::I32DivS, &[i(-7), i(2)]), Ok(i(-3)));
    }

    #[test]
    fn float_bits_are_exact() {
        let nan = Val::F32(0x7fa0_0001);
        assert_eq!(eval_num(NumOp::F32Neg, &[nan]), Ok(Val::F32(0xffa0_0001)));
        assert_eq!(eval_num(NumOp::F32Abs, &[Val::F32(0xffa0_0001)]), Ok(nan));
        let min = eval_num(NumOp::F32Min, &[Val::F32(0), Val::F32(0x8000_0000)]);
        assert_eq!(min, Ok(Val::F32(0x8000_0000)));
        assert_eq!(
            eval_num(NumOp::I32TruncF32S, &[Val::F32(2147483648.0f32.to_bits())]),
            Err(TrapCode::IntegerOverflow)
        );
        assert_eq!(
            eval_num(NumOp::I64TruncF64U, &[Val::F64(f64::NAN.to_bits())]),
            Err(TrapCode::BadConversionToInteger)
        );
    }

    #[test]
    fn names_round_trip() {
        for &op in NumOp::ALL {
            assert_eq!(NumOp::from_name(op.name()), Some(op));
        }
    }
}
