//! The semantics of the WebAssembly fixed-width SIMD instructions (2.0's and 3.0's relaxed ones),
//! as pure functions on `u128`.
//!
//! A `v128` is held as a `u128` with lane 0 in the low bits, which is exactly the little-endian
//! memory image, so loads and stores are plain byte copies. The translator calls [`classify`]
//! once per operator; the executor then calls [`unary`], [`binary`], [`load`] and friends. Being
//! the interpreter's semantics, this is also the reference every other tier is compared against.
//!
//! What this module must never do: own or grow memory (loads and stores borrow the linear memory
//! for one access), know about instances or frames, or trap. The only failure is an access that
//! leaves `mem`, reported as `None` for the caller to turn into its out-of-bounds trap.
//!
//! # Relaxed SIMD: one deterministic choice per operator
//!
//! A relaxed operator may give one of several results, chosen by the implementation once and
//! for all. tierup always takes the one WebAssembly 3.0's deterministic profile prescribes (every
//! choice parameter 0), so a program gives the same results on every host and every tier, and the
//! interpreter stays the reference the other tiers are compared against. Most choices are a
//! 2.0 operator, and [`classify`] maps the relaxed operator onto it:
//!
//! - `i8x16.relaxed_swizzle` is `i8x16.swizzle`: an index of 16 or more selects 0.
//! - `i32x4.relaxed_trunc_f32x4_{s,u}` and `i32x4.relaxed_trunc_f64x2_{s,u}_zero` are the
//!   saturating truncations: NaN becomes 0, out-of-range values the nearest bound.
//! - `{i8x16,i16x8,i32x4,i64x2}.relaxed_laneselect` is `v128.bitselect`, bit by bit, even where
//!   a mask lane mixes set and cleared bits (rather than selecting by each lane's top bit).
//! - `{f32x4,f64x2}.relaxed_{min,max}` are `min` and `max`: NaN if either operand is NaN, and
//!   -0 below +0.
//! - `i16x8.relaxed_q15mulr_s` is `i16x8.q15mulr_sat_s`: -1.0 * -1.0 saturates to `i16::MAX`.
//!
//! The rest have no 2.0 twin and are computed here ([`SimdBinary::I16x8RelaxedDotI8x16I7x16S`],
//! [`SimdTernary`]):
//!
//! - `{f32x4,f64x2}.relaxed_madd(a, b, c)` is unfused, `a * b` rounded and then `+ c` rounded
//!   (the deterministic profile's choice; a fused result may differ in the last bit or in
//!   overflow), and `relaxed_nmadd(a, b, c)` is `relaxed_madd(-a, b, c)`.
//! - `i16x8.relaxed_dot_i8x16_i7x16_s` reads both operands' lanes as signed (even where the
//!   second one's exceed 7 bits) and adds each pair of products with signed saturation, which
//!   only (-128 * -128) * 2 reaches.
//! - `i32x4.relaxed_dot_i8x16_i7x16_add_s` is that dot product's adjacent i16 lanes added as
//!   signed i32s, plus the third operand (wrapping).

use std::ops::{Add, Mul};

use wasmparser::{MemArg, MemArgTarget, Operator};

/// What the translator needs to know about one SIMD operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdOp {
    /// `v128.const`.
    Const(u128),
    /// One operand, one result. The operand is a v128, or a scalar in the low bits for splats.
    /// The result is a v128, or a scalar in the low bits (zero-extended to 128 bits; i32 results
    /// as u32, i64 as u64, f32/f64 as their bit patterns) for any_true, all_true, bitmask and
    /// extract_lane.
    Unary(SimdUnary),
    /// Two operands, one result: (v128, v128) -> v128, shifts (v128, i32 count in low 32 bits)
    /// -> v128, replace_lane (v128, scalar in low bits) -> v128.
    Binary(SimdBinary),
    /// Three v128 operands, one v128 result.
    Ternary(SimdTernary),
    /// `v128.bitselect(a, b, mask)`.
    Bitselect,
    /// `i8x16.shuffle` with its 16 lane indices (each < 32).
    Shuffle([u8; 16]),
    /// `v128.load` and the extending/splat/zero loads; `offset` is the memarg offset.
    Load { kind: SimdLoad, offset: u64 },
    /// `v128.loadN_lane`: operands (address, v128), result v128.
    LoadLane { width: LaneWidth, lane: u8, offset: u64 },
    /// `v128.store`: operands (address, v128).
    Store { offset: u64 },
    /// `v128.storeN_lane`: operands (address, v128).
    StoreLane { width: LaneWidth, lane: u8, offset: u64 },
}

/// One-operand SIMD operators, named as wasmparser names them. Lane-carrying variants hold the
/// lane index, which validation has already checked against the shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdUnary {
    // Scalar in, v128 out.
    I8x16Splat,
    I16x8Splat,
    I32x4Splat,
    I64x2Splat,
    F32x4Splat,
    F64x2Splat,
    // v128 in, scalar out.
    I8x16ExtractLaneS(u8),
    I8x16ExtractLaneU(u8),
    I16x8ExtractLaneS(u8),
    I16x8ExtractLaneU(u8),
    I32x4ExtractLane(u8),
    I64x2ExtractLane(u8),
    F32x4ExtractLane(u8),
    F64x2ExtractLane(u8),
    V128AnyTrue,
    I8x16AllTrue,
    I16x8AllTrue,
    I32x4AllTrue,
    I64x2AllTrue,
    I8x16Bitmask,
    I16x8Bitmask,
    I32x4Bitmask,
    I64x2Bitmask,
    // v128 -> v128, integer.
    V128Not,
    I8x16Abs,
    I16x8Abs,
    I32x4Abs,
    I64x2Abs,
    I8x16Neg,
    I16x8Neg,
    I32x4Neg,
    I64x2Neg,
    I8x16Popcnt,
    I16x8ExtAddPairwiseI8x16S,
    I16x8ExtAddPairwiseI8x16U,
    I32x4ExtAddPairwiseI16x8S,
    I32x4ExtAddPairwiseI16x8U,
    I16x8ExtendLowI8x16S,
    I16x8ExtendHighI8x16S,
    I16x8ExtendLowI8x16U,
    I16x8ExtendHighI8x16U,
    I32x4ExtendLowI16x8S,
    I32x4ExtendHighI16x8S,
    I32x4ExtendLowI16x8U,
    I32x4ExtendHighI16x8U,
    I64x2ExtendLowI32x4S,
    I64x2ExtendHighI32x4S,
    I64x2ExtendLowI32x4U,
    I64x2ExtendHighI32x4U,
    // v128 -> v128, floating point.
    F32x4Ceil,
    F32x4Floor,
    F32x4Trunc,
    F32x4Nearest,
    F32x4Abs,
    F32x4Neg,
    F32x4Sqrt,
    F64x2Ceil,
    F64x2Floor,
    F64x2Trunc,
    F64x2Nearest,
    F64x2Abs,
    F64x2Neg,
    F64x2Sqrt,
    // Conversions.
    I32x4TruncSatF32x4S,
    I32x4TruncSatF32x4U,
    F32x4ConvertI32x4S,
    F32x4ConvertI32x4U,
    I32x4TruncSatF64x2SZero,
    I32x4TruncSatF64x2UZero,
    F64x2ConvertLowI32x4S,
    F64x2ConvertLowI32x4U,
    F32x4DemoteF64x2Zero,
    F64x2PromoteLowF32x4,
}

/// Two-operand SIMD operators, named as wasmparser names them. Lane-carrying variants hold the
/// lane index, which validation has already checked against the shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdBinary {
    // (v128, scalar) -> v128.
    I8x16ReplaceLane(u8),
    I16x8ReplaceLane(u8),
    I32x4ReplaceLane(u8),
    I64x2ReplaceLane(u8),
    F32x4ReplaceLane(u8),
    F64x2ReplaceLane(u8),
    // (v128, i32 count) -> v128.
    I8x16Shl,
    I8x16ShrS,
    I8x16ShrU,
    I16x8Shl,
    I16x8ShrS,
    I16x8ShrU,
    I32x4Shl,
    I32x4ShrS,
    I32x4ShrU,
    I64x2Shl,
    I64x2ShrS,
    I64x2ShrU,
    // Bitwise and byte permutation.
    V128And,
    V128AndNot,
    V128Or,
    V128Xor,
    I8x16Swizzle,
    // Comparisons: each result lane is all ones or all zeros.
    I8x16Eq,
    I8x16Ne,
    I8x16LtS,
    I8x16LtU,
    I8x16GtS,
    I8x16GtU,
    I8x16LeS,
    I8x16LeU,
    I8x16GeS,
    I8x16GeU,
    I16x8Eq,
    I16x8Ne,
    I16x8LtS,
    I16x8LtU,
    I16x8GtS,
    I16x8GtU,
    I16x8LeS,
    I16x8LeU,
    I16x8GeS,
    I16x8GeU,
    I32x4Eq,
    I32x4Ne,
    I32x4LtS,
    I32x4LtU,
    I32x4GtS,
    I32x4GtU,
    I32x4LeS,
    I32x4LeU,
    I32x4GeS,
    I32x4GeU,
    I64x2Eq,
    I64x2Ne,
    I64x2LtS,
    I64x2GtS,
    I64x2LeS,
    I64x2GeS,
    F32x4Eq,
    F32x4Ne,
    F32x4Lt,
    F32x4Gt,
    F32x4Le,
    F32x4Ge,
    F64x2Eq,
    F64x2Ne,
    F64x2Lt,
    F64x2Gt,
    F64x2Le,
    F64x2Ge,
    // Integer arithmetic.
    I8x16NarrowI16x8S,
    I8x16NarrowI16x8U,
    I16x8NarrowI32x4S,
    I16x8NarrowI32x4U,
    I8x16Add,
    I8x16AddSatS,
    I8x16AddSatU,
    I8x16Sub,
    I8x16SubSatS,
    I8x16SubSatU,
    I8x16MinS,
    I8x16MinU,
    I8x16MaxS,
    I8x16MaxU,
    I8x16AvgrU,
    I16x8Add,
    I16x8AddSatS,
    I16x8AddSatU,
    I16x8Sub,
    I16x8SubSatS,
    I16x8SubSatU,
    I16x8Mul,
    I16x8MinS,
    I16x8MinU,
    I16x8MaxS,
    I16x8MaxU,
    I16x8AvgrU,
    I16x8Q15MulrSatS,
    I16x8ExtMulLowI8x16S,
    I16x8ExtMulHighI8x16S,
    I16x8ExtMulLowI8x16U,
    I16x8ExtMulHighI8x16U,
    I32x4Add,
    I32x4Sub,
    I32x4Mul,
    I32x4MinS,
    I32x4MinU,
    I32x4MaxS,
    I32x4MaxU,
    I32x4DotI16x8S,
    /// Relaxed; signed by signed, pairs added with saturation (see the module docs).
    I16x8RelaxedDotI8x16I7x16S,
    I32x4ExtMulLowI16x8S,
    I32x4ExtMulHighI16x8S,
    I32x4ExtMulLowI16x8U,
    I32x4ExtMulHighI16x8U,
    I64x2Add,
    I64x2Sub,
    I64x2Mul,
    I64x2ExtMulLowI32x4S,
    I64x2ExtMulHighI32x4S,
    I64x2ExtMulLowI32x4U,
    I64x2ExtMulHighI32x4U,
    // Floating-point arithmetic.
    F32x4Add,
    F32x4Sub,
    F32x4Mul,
    F32x4Div,
    F32x4Min,
    F32x4Max,
    F32x4PMin,
    F32x4PMax,
    F64x2Add,
    F64x2Sub,
    F64x2Mul,
    F64x2Div,
    F64x2Min,
    F64x2Max,
    F64x2PMin,
    F64x2PMax,
}

/// Three-operand SIMD operators other than the bit and lane selects, named as wasmparser names
/// them; all relaxed, each with the semantics the module docs choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdTernary {
    F32x4RelaxedMadd,
    F32x4RelaxedNmadd,
    F64x2RelaxedMadd,
    F64x2RelaxedNmadd,
    I32x4RelaxedDotI8x16I7x16AddS,
}

// The interpreter packs these into its instruction words.
const _: () = assert!(size_of::<SimdUnary>() <= 2);
const _: () = assert!(size_of::<SimdBinary>() <= 2);
const _: () = assert!(size_of::<SimdTernary>() <= 2);

/// The memory-to-v128 loads other than the lane loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdLoad {
    /// All 16 bytes.
    V128,
    /// 8 bytes, each widened to an i16 lane.
    I8x8S,
    I8x8U,
    /// 8 bytes as 4 halves, each widened to an i32 lane.
    I16x4S,
    I16x4U,
    /// 8 bytes as 2 words, each widened to an i64 lane.
    I32x2S,
    I32x2U,
    /// One scalar of the given bit width, copied into every lane.
    Splat8,
    Splat16,
    Splat32,
    Splat64,
    /// One scalar into lane 0, the rest zero.
    Zero32,
    Zero64,
}

/// The lane width of a lane load or store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneWidth {
    B8,
    B16,
    B32,
    B64,
}

impl LaneWidth {
    /// How many bytes one lane occupies in memory.
    pub const fn bytes(self) -> usize {
        match self {
            LaneWidth::B8 => 1,
            LaneWidth::B16 => 2,
            LaneWidth::B32 => 4,
            LaneWidth::B64 => 8,
        }
    }
}

/// `None` for operators that are not SIMD.
///
/// Also `None` for SIMD memory accesses whose memarg names a memory other than 0: `SimdOp` has
/// no memory index, and refusing the operator beats silently accessing the wrong memory.
pub fn classify(op: &Operator<'_>) -> Option<SimdOp> {
    use Operator as O;

    // Every data-less variant has the same name as its operator, so one list serves both.
    macro_rules! same_name {
        ($wrap:ident($kind:ident): $($name:ident),* $(,)?) => {
            match op {
                $(O::$name => return Some(SimdOp::$wrap($kind::$name)),)*
                _ => {}
            }
        };
    }
    same_name!(Unary(SimdUnary):
        I8x16Splat, I16x8Splat, I32x4Splat, I64x2Splat, F32x4Splat, F64x2Splat,
        V128AnyTrue, I8x16AllTrue, I16x8AllTrue, I32x4AllTrue, I64x2AllTrue,
        I8x16Bitmask, I16x8Bitmask, I32x4Bitmask, I64x2Bitmask,
        V128Not, I8x16Abs, I16x8Abs, I32x4Abs, I64x2Abs, I8x16Neg, I16x8Neg, I32x4Neg, I64x2Neg,
        I8x16Popcnt,
        I16x8ExtAddPairwiseI8x16S, I16x8ExtAddPairwiseI8x16U,
        I32x4ExtAddPairwiseI16x8S, I32x4ExtAddPairwiseI16x8U,
        I16x8ExtendLowI8x16S, I16x8ExtendHighI8x16S, I16x8ExtendLowI8x16U, I16x8ExtendHighI8x16U,
        I32x4ExtendLowI16x8S, I32x4ExtendHighI16x8S, I32x4ExtendLowI16x8U, I32x4ExtendHighI16x8U,
        I64x2ExtendLowI32x4S, I64x2ExtendHighI32x4S, I64x2ExtendLowI32x4U, I64x2ExtendHighI32x4U,
        F32x4Ceil, F32x4Floor, F32x4Trunc, F32x4Nearest, F32x4Abs, F32x4Neg, F32x4Sqrt,
        F64x2Ceil, F64x2Floor, F64x2Trunc, F64x2Nearest, F64x2Abs, F64x2Neg, F64x2Sqrt,
        I32x4TruncSatF32x4S, I32x4TruncSatF32x4U, F32x4ConvertI32x4S, F32x4ConvertI32x4U,
        I32x4TruncSatF64x2SZero, I32x4TruncSatF64x2UZero,
        F64x2ConvertLowI32x4S, F64x2ConvertLowI32x4U, F32x4DemoteF64x2Zero, F64x2PromoteLowF32x4,
    );
    same_name!(Binary(SimdBinary):
        I8x16Shl, I8x16ShrS, I8x16ShrU, I16x8Shl, I16x8ShrS, I16x8ShrU,
        I32x4Shl, I32x4ShrS, I32x4ShrU, I64x2Shl, I64x2ShrS, I64x2ShrU,
        V128And, V128AndNot, V128Or, V128Xor, I8x16Swizzle,
        I8x16Eq, I8x16Ne, I8x16LtS, I8x16LtU, I8x16GtS, I8x16GtU,
        I8x16LeS, I8x16LeU, I8x16GeS, I8x16GeU,
        I16x8Eq, I16x8Ne, I16x8LtS, I16x8LtU, I16x8GtS, I16x8GtU,
        I16x8LeS, I16x8LeU, I16x8GeS, I16x8GeU,
        I32x4Eq, I32x4Ne, I32x4LtS, I32x4LtU, I32x4GtS, I32x4GtU,
        I32x4LeS, I32x4LeU, I32x4GeS, I32x4GeU,
        I64x2Eq, I64x2Ne, I64x2LtS, I64x2GtS, I64x2LeS, I64x2GeS,
        F32x4Eq, F32x4Ne, F32x4Lt, F32x4Gt, F32x4Le, F32x4Ge,
        F64x2Eq, F64x2Ne, F64x2Lt, F64x2Gt, F64x2Le, F64x2Ge,
        I8x16NarrowI16x8S, I8x16NarrowI16x8U, I16x8NarrowI32x4S, I16x8NarrowI32x4U,
        I8x16Add, I8x16AddSatS, I8x16AddSatU, I8x16Sub, I8x16SubSatS, I8x16SubSatU,
        I8x16MinS, I8x16MinU, I8x16MaxS, I8x16MaxU, I8x16AvgrU,
        I16x8Add, I16x8AddSatS, I16x8AddSatU, I16x8Sub, I16x8SubSatS, I16x8SubSatU, I16x8Mul,
        I16x8MinS, I16x8MinU, I16x8MaxS, I16x8MaxU, I16x8AvgrU, I16x8Q15MulrSatS,
        I16x8ExtMulLowI8x16S, I16x8ExtMulHighI8x16S, I16x8ExtMulLowI8x16U, I16x8ExtMulHighI8x16U,
        I32x4Add, I32x4Sub, I32x4Mul, I32x4MinS, I32x4MinU, I32x4MaxS, I32x4MaxU, I32x4DotI16x8S,
        I32x4ExtMulLowI16x8S, I32x4ExtMulHighI16x8S, I32x4ExtMulLowI16x8U, I32x4ExtMulHighI16x8U,
        I64x2Add, I64x2Sub, I64x2Mul,
        I64x2ExtMulLowI32x4S, I64x2ExtMulHighI32x4S, I64x2ExtMulLowI32x4U, I64x2ExtMulHighI32x4U,
        F32x4Add, F32x4Sub, F32x4Mul, F32x4Div, F32x4Min, F32x4Max, F32x4PMin, F32x4PMax,
        F64x2Add, F64x2Sub, F64x2Mul, F64x2Div, F64x2Min, F64x2Max, F64x2PMin, F64x2PMax,
    );

    let load = |kind, memarg: &MemArg| Some(SimdOp::Load { kind, offset: offset(memarg)? });
    let load_lane = |width, lane, memarg: &MemArg| {
        Some(SimdOp::LoadLane { width, lane, offset: offset(memarg)? })
    };
    let store_lane = |width, lane, memarg: &MemArg| {
        Some(SimdOp::StoreLane { width, lane, offset: offset(memarg)? })
    };
    let unary = |u| Some(SimdOp::Unary(u));
    let binary = |b| Some(SimdOp::Binary(b));
    let ternary = |t| Some(SimdOp::Ternary(t));
    match op {
        O::V128Const { value } => Some(SimdOp::Const(u128::from(*value))),
        O::I8x16Shuffle { lanes } => Some(SimdOp::Shuffle(*lanes)),
        O::V128Bitselect => Some(SimdOp::Bitselect),

        // Relaxed SIMD: the deterministic choices the module docs list, most of them a 2.0
        // operator.
        O::I8x16RelaxedSwizzle => binary(SimdBinary::I8x16Swizzle),
        O::I32x4RelaxedTruncF32x4S => unary(SimdUnary::I32x4TruncSatF32x4S),
        O::I32x4RelaxedTruncF32x4U => unary(SimdUnary::I32x4TruncSatF32x4U),
        O::I32x4RelaxedTruncF64x2SZero => unary(SimdUnary::I32x4TruncSatF64x2SZero),
        O::I32x4RelaxedTruncF64x2UZero => unary(SimdUnary::I32x4TruncSatF64x2UZero),
        O::I8x16RelaxedLaneselect
        | O::I16x8RelaxedLaneselect
        | O::I32x4RelaxedLaneselect
        | O::I64x2RelaxedLaneselect => Some(SimdOp::Bitselect),
        O::F32x4RelaxedMin => binary(SimdBinary::F32x4Min),
        O::F32x4RelaxedMax => binary(SimdBinary::F32x4Max),
        O::F64x2RelaxedMin => binary(SimdBinary::F64x2Min),
        O::F64x2RelaxedMax => binary(SimdBinary::F64x2Max),
        O::I16x8RelaxedQ15mulrS => binary(SimdBinary::I16x8Q15MulrSatS),
        O::I16x8RelaxedDotI8x16I7x16S => binary(SimdBinary::I16x8RelaxedDotI8x16I7x16S),
        O::F32x4RelaxedMadd => ternary(SimdTernary::F32x4RelaxedMadd),
        O::F32x4RelaxedNmadd => ternary(SimdTernary::F32x4RelaxedNmadd),
        O::F64x2RelaxedMadd => ternary(SimdTernary::F64x2RelaxedMadd),
        O::F64x2RelaxedNmadd => ternary(SimdTernary::F64x2RelaxedNmadd),
        O::I32x4RelaxedDotI8x16I7x16AddS => ternary(SimdTernary::I32x4RelaxedDotI8x16I7x16AddS),

        O::V128Load { memarg } => load(SimdLoad::V128, memarg),
        O::V128Load8x8S { memarg } => load(SimdLoad::I8x8S, memarg),
        O::V128Load8x8U { memarg } => load(SimdLoad::I8x8U, memarg),
        O::V128Load16x4S { memarg } => load(SimdLoad::I16x4S, memarg),
        O::V128Load16x4U { memarg } => load(SimdLoad::I16x4U, memarg),
        O::V128Load32x2S { memarg } => load(SimdLoad::I32x2S, memarg),
        O::V128Load32x2U { memarg } => load(SimdLoad::I32x2U, memarg),
        O::V128Load8Splat { memarg } => load(SimdLoad::Splat8, memarg),
        O::V128Load16Splat { memarg } => load(SimdLoad::Splat16, memarg),
        O::V128Load32Splat { memarg } => load(SimdLoad::Splat32, memarg),
        O::V128Load64Splat { memarg } => load(SimdLoad::Splat64, memarg),
        O::V128Load32Zero { memarg } => load(SimdLoad::Zero32, memarg),
        O::V128Load64Zero { memarg } => load(SimdLoad::Zero64, memarg),
        O::V128Store { memarg } => Some(SimdOp::Store { offset: offset(memarg)? }),
        O::V128Load8Lane { memarg, lane } => load_lane(LaneWidth::B8, *lane, memarg),
        O::V128Load16Lane { memarg, lane } => load_lane(LaneWidth::B16, *lane, memarg),
        O::V128Load32Lane { memarg, lane } => load_lane(LaneWidth::B32, *lane, memarg),
        O::V128Load64Lane { memarg, lane } => load_lane(LaneWidth::B64, *lane, memarg),
        O::V128Store8Lane { memarg, lane } => store_lane(LaneWidth::B8, *lane, memarg),
        O::V128Store16Lane { memarg, lane } => store_lane(LaneWidth::B16, *lane, memarg),
        O::V128Store32Lane { memarg, lane } => store_lane(LaneWidth::B32, *lane, memarg),
        O::V128Store64Lane { memarg, lane } => store_lane(LaneWidth::B64, *lane, memarg),

        O::I8x16ExtractLaneS { lane } => unary(SimdUnary::I8x16ExtractLaneS(*lane)),
        O::I8x16ExtractLaneU { lane } => unary(SimdUnary::I8x16ExtractLaneU(*lane)),
        O::I16x8ExtractLaneS { lane } => unary(SimdUnary::I16x8ExtractLaneS(*lane)),
        O::I16x8ExtractLaneU { lane } => unary(SimdUnary::I16x8ExtractLaneU(*lane)),
        O::I32x4ExtractLane { lane } => unary(SimdUnary::I32x4ExtractLane(*lane)),
        O::I64x2ExtractLane { lane } => unary(SimdUnary::I64x2ExtractLane(*lane)),
        O::F32x4ExtractLane { lane } => unary(SimdUnary::F32x4ExtractLane(*lane)),
        O::F64x2ExtractLane { lane } => unary(SimdUnary::F64x2ExtractLane(*lane)),
        O::I8x16ReplaceLane { lane } => binary(SimdBinary::I8x16ReplaceLane(*lane)),
        O::I16x8ReplaceLane { lane } => binary(SimdBinary::I16x8ReplaceLane(*lane)),
        O::I32x4ReplaceLane { lane } => binary(SimdBinary::I32x4ReplaceLane(*lane)),
        O::I64x2ReplaceLane { lane } => binary(SimdBinary::I64x2ReplaceLane(*lane)),
        O::F32x4ReplaceLane { lane } => binary(SimdBinary::F32x4ReplaceLane(*lane)),
        O::F64x2ReplaceLane { lane } => binary(SimdBinary::F64x2ReplaceLane(*lane)),
        _ => None,
    }
}

/// The memarg offset, or `None` when the access targets anything but a memory. Which memory is
/// the translator's business (`Translator::in_memory`): the handlers access the memory they are
/// given.
fn offset(memarg: &MemArg) -> Option<u64> {
    matches!(memarg.target, MemArgTarget::Memory(_)).then_some(memarg.offset)
}

/// Computes a one-operand operator; see [`SimdOp::Unary`] for where scalars sit.
pub fn unary(op: SimdUnary, a: u128) -> u128 {
    use SimdUnary as U;
    match op {
        U::I8x16Splat => splat::<u8>(a),
        U::I16x8Splat => splat::<u16>(a),
        U::I32x4Splat | U::F32x4Splat => splat::<u32>(a),
        U::I64x2Splat | U::F64x2Splat => splat::<u64>(a),

        // Signed extracts produce an i32, held as its u32 bit pattern.
        U::I8x16ExtractLaneS(l) => u128::from(i32::from(lane::<i8>(a, l.into())) as u32),
        U::I8x16ExtractLaneU(l) => u128::from(lane::<u8>(a, l.into())),
        U::I16x8ExtractLaneS(l) => u128::from(i32::from(lane::<i16>(a, l.into())) as u32),
        U::I16x8ExtractLaneU(l) => u128::from(lane::<u16>(a, l.into())),
        U::I32x4ExtractLane(l) | U::F32x4ExtractLane(l) => u128::from(lane::<u32>(a, l.into())),
        U::I64x2ExtractLane(l) | U::F64x2ExtractLane(l) => u128::from(lane::<u64>(a, l.into())),

        U::V128AnyTrue => u128::from(a != 0),
        U::I8x16AllTrue => all_true::<u8>(a),
        U::I16x8AllTrue => all_true::<u16>(a),
        U::I32x4AllTrue => all_true::<u32>(a),
        U::I64x2AllTrue => all_true::<u64>(a),
        U::I8x16Bitmask => bitmask::<u8>(a),
        U::I16x8Bitmask => bitmask::<u16>(a),
        U::I32x4Bitmask => bitmask::<u32>(a),
        U::I64x2Bitmask => bitmask::<u64>(a),

        U::V128Not => !a,
        U::I8x16Abs => map(a, i8::wrapping_abs),
        U::I16x8Abs => map(a, i16::wrapping_abs),
        U::I32x4Abs => map(a, i32::wrapping_abs),
        U::I64x2Abs => map(a, i64::wrapping_abs),
        U::I8x16Neg => map(a, i8::wrapping_neg),
        U::I16x8Neg => map(a, i16::wrapping_neg),
        U::I32x4Neg => map(a, i32::wrapping_neg),
        U::I64x2Neg => map(a, i64::wrapping_neg),
        U::I8x16Popcnt => map(a, |x: u8| x.count_ones() as u8),

        U::I16x8ExtAddPairwiseI8x16S => pairwise::<i8, i16>(a),
        U::I16x8ExtAddPairwiseI8x16U => pairwise::<u8, u16>(a),
        U::I32x4ExtAddPairwiseI16x8S => pairwise::<i16, i32>(a),
        U::I32x4ExtAddPairwiseI16x8U => pairwise::<u16, u32>(a),
        U::I16x8ExtendLowI8x16S => extend::<i8, i16>(a, false),
        U::I16x8ExtendHighI8x16S => extend::<i8, i16>(a, true),
        U::I16x8ExtendLowI8x16U => extend::<u8, u16>(a, false),
        U::I16x8ExtendHighI8x16U => extend::<u8, u16>(a, true),
        U::I32x4ExtendLowI16x8S => extend::<i16, i32>(a, false),
        U::I32x4ExtendHighI16x8S => extend::<i16, i32>(a, true),
        U::I32x4ExtendLowI16x8U => extend::<u16, u32>(a, false),
        U::I32x4ExtendHighI16x8U => extend::<u16, u32>(a, true),
        U::I64x2ExtendLowI32x4S => extend::<i32, i64>(a, false),
        U::I64x2ExtendHighI32x4S => extend::<i32, i64>(a, true),
        U::I64x2ExtendLowI32x4U => extend::<u32, u64>(a, false),
        U::I64x2ExtendHighI32x4U => extend::<u32, u64>(a, true),

        // abs and neg only touch the sign bit, even for NaNs, so they are bit operations.
        U::F32x4Abs => a & !F32_SIGNS,
        U::F32x4Neg => a ^ F32_SIGNS,
        U::F64x2Abs => a & !F64_SIGNS,
        U::F64x2Neg => a ^ F64_SIGNS,
        U::F32x4Ceil => map(a, quiet32(f32::ceil)),
        U::F32x4Floor => map(a, quiet32(f32::floor)),
        U::F32x4Trunc => map(a, quiet32(f32::trunc)),
        U::F32x4Nearest => map(a, quiet32(f32::round_ties_even)),
        U::F32x4Sqrt => map(a, f32::sqrt),
        U::F64x2Ceil => map(a, quiet64(f64::ceil)),
        U::F64x2Floor => map(a, quiet64(f64::floor)),
        U::F64x2Trunc => map(a, quiet64(f64::trunc)),
        U::F64x2Nearest => map(a, quiet64(f64::round_ties_even)),
        U::F64x2Sqrt => map(a, f64::sqrt),

        // Float-to-int `as` saturates and sends NaN to 0: exactly trunc_sat.
        U::I32x4TruncSatF32x4S => build(|i| lane::<f32>(a, i) as i32),
        U::I32x4TruncSatF32x4U => build(|i| lane::<f32>(a, i) as u32),
        U::F32x4ConvertI32x4S => build(|i| lane::<i32>(a, i) as f32),
        U::F32x4ConvertI32x4U => build(|i| lane::<u32>(a, i) as f32),
        U::I32x4TruncSatF64x2SZero => build(|i| if i < 2 { lane::<f64>(a, i) as i32 } else { 0 }),
        U::I32x4TruncSatF64x2UZero => build(|i| if i < 2 { lane::<f64>(a, i) as u32 } else { 0 }),
        U::F64x2ConvertLowI32x4S => build(|i| f64::from(lane::<i32>(a, i))),
        U::F64x2ConvertLowI32x4U => build(|i| f64::from(lane::<u32>(a, i))),
        U::F32x4DemoteF64x2Zero => build(|i| if i < 2 { lane::<f64>(a, i) as f32 } else { 0.0 }),
        U::F64x2PromoteLowF32x4 => build(|i| f64::from(lane::<f32>(a, i))),
    }
}

/// Computes a two-operand operator; see [`SimdOp::Binary`] for where scalars sit.
pub fn binary(op: SimdBinary, a: u128, b: u128) -> u128 {
    use SimdBinary as B;
    // Wasm takes shift counts modulo the lane width, which is what `wrapping_sh*` do.
    let count = b as u32;
    match op {
        B::I8x16ReplaceLane(l) => replace::<u8>(a, l, b),
        B::I16x8ReplaceLane(l) => replace::<u16>(a, l, b),
        B::I32x4ReplaceLane(l) | B::F32x4ReplaceLane(l) => replace::<u32>(a, l, b),
        B::I64x2ReplaceLane(l) | B::F64x2ReplaceLane(l) => replace::<u64>(a, l, b),

        B::I8x16Shl => map(a, |x: u8| x.wrapping_shl(count)),
        B::I8x16ShrS => map(a, |x: i8| x.wrapping_shr(count)),
        B::I8x16ShrU => map(a, |x: u8| x.wrapping_shr(count)),
        B::I16x8Shl => map(a, |x: u16| x.wrapping_shl(count)),
        B::I16x8ShrS => map(a, |x: i16| x.wrapping_shr(count)),
        B::I16x8ShrU => map(a, |x: u16| x.wrapping_shr(count)),
        B::I32x4Shl => map(a, |x: u32| x.wrapping_shl(count)),
        B::I32x4ShrS => map(a, |x: i32| x.wrapping_shr(count)),
        B::I32x4ShrU => map(a, |x: u32| x.wrapping_shr(count)),
        B::I64x2Shl => map(a, |x: u64| x.wrapping_shl(count)),
        B::I64x2ShrS => map(a, |x: i64| x.wrapping_shr(count)),
        B::I64x2ShrU => map(a, |x: u64| x.wrapping_shr(count)),

        B::V128And => a & b,
        B::V128AndNot => a & !b,
        B::V128Or => a | b,
        B::V128Xor => a ^ b,
        B::I8x16Swizzle => build(|i| {
            let index = lane::<u8>(b, i);
            if index < 16 { lane::<u8>(a, index.into()) } else { 0 }
        }),

        B::I8x16Eq => cmp::<u8>(a, b, PartialEq::eq),
        B::I8x16Ne => cmp::<u8>(a, b, PartialEq::ne),
        B::I8x16LtS => cmp::<i8>(a, b, PartialOrd::lt),
        B::I8x16LtU => cmp::<u8>(a, b, PartialOrd::lt),
        B::I8x16GtS => cmp::<i8>(a, b, PartialOrd::gt),
        B::I8x16GtU => cmp::<u8>(a, b, PartialOrd::gt),
        B::I8x16LeS => cmp::<i8>(a, b, PartialOrd::le),
        B::I8x16LeU => cmp::<u8>(a, b, PartialOrd::le),
        B::I8x16GeS => cmp::<i8>(a, b, PartialOrd::ge),
        B::I8x16GeU => cmp::<u8>(a, b, PartialOrd::ge),
        B::I16x8Eq => cmp::<u16>(a, b, PartialEq::eq),
        B::I16x8Ne => cmp::<u16>(a, b, PartialEq::ne),
        B::I16x8LtS => cmp::<i16>(a, b, PartialOrd::lt),
        B::I16x8LtU => cmp::<u16>(a, b, PartialOrd::lt),
        B::I16x8GtS => cmp::<i16>(a, b, PartialOrd::gt),
        B::I16x8GtU => cmp::<u16>(a, b, PartialOrd::gt),
        B::I16x8LeS => cmp::<i16>(a, b, PartialOrd::le),
        B::I16x8LeU => cmp::<u16>(a, b, PartialOrd::le),
        B::I16x8GeS => cmp::<i16>(a, b, PartialOrd::ge),
        B::I16x8GeU => cmp::<u16>(a, b, PartialOrd::ge),
        B::I32x4Eq => cmp::<u32>(a, b, PartialEq::eq),
        B::I32x4Ne => cmp::<u32>(a, b, PartialEq::ne),
        B::I32x4LtS => cmp::<i32>(a, b, PartialOrd::lt),
        B::I32x4LtU => cmp::<u32>(a, b, PartialOrd::lt),
        B::I32x4GtS => cmp::<i32>(a, b, PartialOrd::gt),
        B::I32x4GtU => cmp::<u32>(a, b, PartialOrd::gt),
        B::I32x4LeS => cmp::<i32>(a, b, PartialOrd::le),
        B::I32x4LeU => cmp::<u32>(a, b, PartialOrd::le),
        B::I32x4GeS => cmp::<i32>(a, b, PartialOrd::ge),
        B::I32x4GeU => cmp::<u32>(a, b, PartialOrd::ge),
        B::I64x2Eq => cmp::<u64>(a, b, PartialEq::eq),
        B::I64x2Ne => cmp::<u64>(a, b, PartialEq::ne),
        B::I64x2LtS => cmp::<i64>(a, b, PartialOrd::lt),
        B::I64x2GtS => cmp::<i64>(a, b, PartialOrd::gt),
        B::I64x2LeS => cmp::<i64>(a, b, PartialOrd::le),
        B::I64x2GeS => cmp::<i64>(a, b, PartialOrd::ge),
        // IEEE comparisons: every one is false against NaN except `ne`.
        B::F32x4Eq => cmp::<f32>(a, b, PartialEq::eq),
        B::F32x4Ne => cmp::<f32>(a, b, PartialEq::ne),
        B::F32x4Lt => cmp::<f32>(a, b, PartialOrd::lt),
        B::F32x4Gt => cmp::<f32>(a, b, PartialOrd::gt),
        B::F32x4Le => cmp::<f32>(a, b, PartialOrd::le),
        B::F32x4Ge => cmp::<f32>(a, b, PartialOrd::ge),
        B::F64x2Eq => cmp::<f64>(a, b, PartialEq::eq),
        B::F64x2Ne => cmp::<f64>(a, b, PartialEq::ne),
        B::F64x2Lt => cmp::<f64>(a, b, PartialOrd::lt),
        B::F64x2Gt => cmp::<f64>(a, b, PartialOrd::gt),
        B::F64x2Le => cmp::<f64>(a, b, PartialOrd::le),
        B::F64x2Ge => cmp::<f64>(a, b, PartialOrd::ge),

        // Narrowing always reads its inputs as signed, even for the unsigned result.
        B::I8x16NarrowI16x8S => {
            narrow(a, b, |x: i16| x.clamp(i8::MIN.into(), i8::MAX.into()) as i8)
        }
        B::I8x16NarrowI16x8U => narrow(a, b, |x: i16| x.clamp(0, u8::MAX.into()) as u8),
        B::I16x8NarrowI32x4S => {
            narrow(a, b, |x: i32| x.clamp(i16::MIN.into(), i16::MAX.into()) as i16)
        }
        B::I16x8NarrowI32x4U => narrow(a, b, |x: i32| x.clamp(0, u16::MAX.into()) as u16),

        B::I8x16Add => zip(a, b, u8::wrapping_add),
        B::I8x16AddSatS => zip(a, b, i8::saturating_add),
        B::I8x16AddSatU => zip(a, b, u8::saturating_add),
        B::I8x16Sub => zip(a, b, u8::wrapping_sub),
        B::I8x16SubSatS => zip(a, b, i8::saturating_sub),
        B::I8x16SubSatU => zip(a, b, u8::saturating_sub),
        B::I8x16MinS => zip(a, b, i8::min),
        B::I8x16MinU => zip(a, b, u8::min),
        B::I8x16MaxS => zip(a, b, i8::max),
        B::I8x16MaxU => zip(a, b, u8::max),
        B::I8x16AvgrU => zip(a, b, |x: u8, y: u8| ((u16::from(x) + u16::from(y) + 1) >> 1) as u8),
        B::I16x8Add => zip(a, b, u16::wrapping_add),
        B::I16x8AddSatS => zip(a, b, i16::saturating_add),
        B::I16x8AddSatU => zip(a, b, u16::saturating_add),
        B::I16x8Sub => zip(a, b, u16::wrapping_sub),
        B::I16x8SubSatS => zip(a, b, i16::saturating_sub),
        B::I16x8SubSatU => zip(a, b, u16::saturating_sub),
        B::I16x8Mul => zip(a, b, u16::wrapping_mul),
        B::I16x8MinS => zip(a, b, i16::min),
        B::I16x8MinU => zip(a, b, u16::min),
        B::I16x8MaxS => zip(a, b, i16::max),
        B::I16x8MaxU => zip(a, b, u16::max),
        B::I16x8AvgrU => {
            zip(a, b, |x: u16, y: u16| ((u32::from(x) + u32::from(y) + 1) >> 1) as u16)
        }
        // Round to nearest by adding half an ulp of the Q15 result; only -1.0 * -1.0 saturates.
        B::I16x8Q15MulrSatS => zip(a, b, |x: i16, y: i16| {
            let product = (i32::from(x) * i32::from(y) + 0x4000) >> 15;
            product.clamp(i16::MIN.into(), i16::MAX.into()) as i16
        }),
        B::I16x8ExtMulLowI8x16S => extmul::<i8, i16>(a, b, false),
        B::I16x8ExtMulHighI8x16S => extmul::<i8, i16>(a, b, true),
        B::I16x8ExtMulLowI8x16U => extmul::<u8, u16>(a, b, false),
        B::I16x8ExtMulHighI8x16U => extmul::<u8, u16>(a, b, true),
        B::I32x4Add => zip(a, b, u32::wrapping_add),
        B::I32x4Sub => zip(a, b, u32::wrapping_sub),
        B::I32x4Mul => zip(a, b, u32::wrapping_mul),
        B::I32x4MinS => zip(a, b, i32::min),
        B::I32x4MinU => zip(a, b, u32::min),
        B::I32x4MaxS => zip(a, b, i32::max),
        B::I32x4MaxU => zip(a, b, u32::max),
        // Only (-32768 * -32768) * 2 overflows an i32, and the spec wraps it.
        B::I32x4DotI16x8S => build(|i| {
            let product = |j| i32::from(lane::<i16>(a, j)) * i32::from(lane::<i16>(b, j));
            product(2 * i).wrapping_add(product(2 * i + 1))
        }),
        B::I16x8RelaxedDotI8x16I7x16S => relaxed_dot_i8x16(a, b),
        B::I32x4ExtMulLowI16x8S => extmul::<i16, i32>(a, b, false),
        B::I32x4ExtMulHighI16x8S => extmul::<i16, i32>(a, b, true),
        B::I32x4ExtMulLowI16x8U => extmul::<u16, u32>(a, b, false),
        B::I32x4ExtMulHighI16x8U => extmul::<u16, u32>(a, b, true),
        B::I64x2Add => zip(a, b, u64::wrapping_add),
        B::I64x2Sub => zip(a, b, u64::wrapping_sub),
        B::I64x2Mul => zip(a, b, u64::wrapping_mul),
        B::I64x2ExtMulLowI32x4S => extmul::<i32, i64>(a, b, false),
        B::I64x2ExtMulHighI32x4S => extmul::<i32, i64>(a, b, true),
        B::I64x2ExtMulLowI32x4U => extmul::<u32, u64>(a, b, false),
        B::I64x2ExtMulHighI32x4U => extmul::<u32, u64>(a, b, true),

        // Native float arithmetic returns a quiet NaN for NaN, which wasm accepts.
        B::F32x4Add => zip(a, b, |x: f32, y| x + y),
        B::F32x4Sub => zip(a, b, |x: f32, y| x - y),
        B::F32x4Mul => zip(a, b, |x: f32, y| x * y),
        B::F32x4Div => zip(a, b, |x: f32, y| x / y),
        B::F32x4Min => zip(a, b, fmin::<f32>),
        B::F32x4Max => zip(a, b, fmax::<f32>),
        B::F32x4PMin => zip(a, b, |x: f32, y| if y < x { y } else { x }),
        B::F32x4PMax => zip(a, b, |x: f32, y| if x < y { y } else { x }),
        B::F64x2Add => zip(a, b, |x: f64, y| x + y),
        B::F64x2Sub => zip(a, b, |x: f64, y| x - y),
        B::F64x2Mul => zip(a, b, |x: f64, y| x * y),
        B::F64x2Div => zip(a, b, |x: f64, y| x / y),
        B::F64x2Min => zip(a, b, fmin::<f64>),
        B::F64x2Max => zip(a, b, fmax::<f64>),
        B::F64x2PMin => zip(a, b, |x: f64, y| if y < x { y } else { x }),
        B::F64x2PMax => zip(a, b, |x: f64, y| if x < y { y } else { x }),
    }
}

/// Computes a three-operand operator, the relaxed ones with the choices the module docs list.
pub fn ternary(op: SimdTernary, a: u128, b: u128, c: u128) -> u128 {
    use SimdTernary as T;
    // Unfused: Rust never contracts `x * y + z` into a fused multiply-add, so both operations
    // round. NaN operands give a quiet NaN, which wasm accepts, as for `add`.
    let madd32 = |x: f32, y: f32, z: f32| x * y + z;
    let madd64 = |x: f64, y: f64, z: f64| x * y + z;
    match op {
        T::F32x4RelaxedMadd => zip3(a, b, c, madd32),
        T::F32x4RelaxedNmadd => zip3(a, b, c, |x: f32, y, z| madd32(-x, y, z)),
        T::F64x2RelaxedMadd => zip3(a, b, c, madd64),
        T::F64x2RelaxedNmadd => zip3(a, b, c, |x: f64, y, z| madd64(-x, y, z)),
        T::I32x4RelaxedDotI8x16I7x16AddS => {
            let dot = relaxed_dot_i8x16(a, b);
            let sums = unary(SimdUnary::I32x4ExtAddPairwiseI16x8S, dot);
            binary(SimdBinary::I32x4Add, sums, c)
        }
    }
}

/// `i16x8.relaxed_dot_i8x16_i7x16_s` as chosen: lanes of both operands read as signed, each
/// adjacent pair of products summed with signed saturation.
fn relaxed_dot_i8x16(a: u128, b: u128) -> u128 {
    build(|i| {
        let product = |j| i16::from(lane::<i8>(a, j)) * i16::from(lane::<i8>(b, j));
        product(2 * i).saturating_add(product(2 * i + 1))
    })
}

/// `v128.bitselect`: each result bit comes from `a` where `mask` is 1 and from `b` where it is 0.
pub fn bitselect(a: u128, b: u128, mask: u128) -> u128 {
    (a & mask) | (b & !mask)
}

/// `i8x16.shuffle`: byte `i` of the result is byte `lanes[i]` of the 32-byte concatenation
/// `a ++ b`, so indices 16..32 select from `b`.
pub fn shuffle(lanes: &[u8; 16], a: u128, b: u128) -> u128 {
    build(|i| {
        let index = u32::from(lanes[i as usize]);
        if index < 16 { lane::<u8>(a, index) } else { lane::<u8>(b, index - 16) }
    })
}

/// `addr` is the effective address (dynamic address + offset, computed in u64 so it cannot wrap).
/// `None` when any accessed byte is outside `mem`.
pub fn load(kind: SimdLoad, mem: &[u8], addr: u64) -> Option<u128> {
    use SimdLoad as L;
    // The extending loads are the low-half extends applied to the 8 loaded bytes.
    let extend_low = |op| Some(unary(op, read(mem, addr, 8)?));
    match kind {
        L::V128 => read(mem, addr, 16),
        L::I8x8S => extend_low(SimdUnary::I16x8ExtendLowI8x16S),
        L::I8x8U => extend_low(SimdUnary::I16x8ExtendLowI8x16U),
        L::I16x4S => extend_low(SimdUnary::I32x4ExtendLowI16x8S),
        L::I16x4U => extend_low(SimdUnary::I32x4ExtendLowI16x8U),
        L::I32x2S => extend_low(SimdUnary::I64x2ExtendLowI32x4S),
        L::I32x2U => extend_low(SimdUnary::I64x2ExtendLowI32x4U),
        L::Splat8 => Some(splat::<u8>(read(mem, addr, 1)?)),
        L::Splat16 => Some(splat::<u16>(read(mem, addr, 2)?)),
        L::Splat32 => Some(splat::<u32>(read(mem, addr, 4)?)),
        L::Splat64 => Some(splat::<u64>(read(mem, addr, 8)?)),
        L::Zero32 => read(mem, addr, 4),
        L::Zero64 => read(mem, addr, 8),
    }
}

/// `v128.loadN_lane`: `v` with lane `lane` replaced by the scalar at `addr`.
/// `None` when any accessed byte is outside `mem`.
pub fn load_lane(width: LaneWidth, lane: u8, mem: &[u8], addr: u64, v: u128) -> Option<u128> {
    let x = read(mem, addr, width.bytes())?;
    Some(match width {
        LaneWidth::B8 => replace::<u8>(v, lane, x),
        LaneWidth::B16 => replace::<u16>(v, lane, x),
        LaneWidth::B32 => replace::<u32>(v, lane, x),
        LaneWidth::B64 => replace::<u64>(v, lane, x),
    })
}

/// `v128.store`. `None` when any accessed byte is outside `mem`; then nothing is written.
pub fn store(mem: &mut [u8], addr: u64, v: u128) -> Option<()> {
    write(mem, addr, &v.to_le_bytes())
}

/// `v128.storeN_lane`. `None` when any accessed byte is outside `mem`; then nothing is written.
pub fn store_lane(width: LaneWidth, lane: u8, mem: &mut [u8], addr: u64, v: u128) -> Option<()> {
    let shift = u32::from(lane) * (8 * width.bytes() as u32);
    let bytes = v.checked_shr(shift).unwrap_or(0).to_le_bytes();
    write(mem, addr, &bytes[..width.bytes()])
}

/// The low `len` (at most 16) bytes of a v128 read from `mem[addr..]`, the rest zero.
fn read(mem: &[u8], addr: u64, len: usize) -> Option<u128> {
    let start = usize::try_from(addr).ok()?;
    let src = mem.get(start..start.checked_add(len)?)?;
    let mut bytes = [0; 16];
    bytes[..len].copy_from_slice(src);
    Some(u128::from_le_bytes(bytes))
}

fn write(mem: &mut [u8], addr: u64, bytes: &[u8]) -> Option<()> {
    let start = usize::try_from(addr).ok()?;
    mem.get_mut(start..start.checked_add(bytes.len())?)?.copy_from_slice(bytes);
    Some(())
}

const F32_SIGNS: u128 = 0x8000_0000_8000_0000_8000_0000_8000_0000;
const F64_SIGNS: u128 = 0x8000_0000_0000_0000_8000_0000_0000_0000;

/// The libm rounding functions may hand a signalling NaN back unchanged, but wasm wants every
/// arithmetic result that is NaN to be quiet, so `f`'s NaN results get the quiet bit set.
fn quiet32(f: fn(f32) -> f32) -> impl Fn(f32) -> f32 {
    move |x| if x.is_nan() { f32::from_bits(x.to_bits() | 0x0040_0000) } else { f(x) }
}

/// [`quiet32`] for f64.
fn quiet64(f: fn(f64) -> f64) -> impl Fn(f64) -> f64 {
    move |x| if x.is_nan() { f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000) } else { f(x) }
}

/// A lane type: a scalar that occupies `BITS` bits of a v128.
trait Lane: Copy {
    const BITS: u32;
    /// The low `BITS` bits of `bits`.
    fn from_u128(bits: u128) -> Self;
    /// The bit pattern, zero-extended.
    fn to_u128(self) -> u128;
}

macro_rules! int_lanes {
    ($($t:ty => $unsigned:ty),*) => {$(
        impl Lane for $t {
            const BITS: u32 = <$t>::BITS;
            fn from_u128(bits: u128) -> Self {
                bits as $t
            }
            fn to_u128(self) -> u128 {
                u128::from(self as $unsigned)
            }
        }
    )*};
}
int_lanes!(i8 => u8, u8 => u8, i16 => u16, u16 => u16, i32 => u32, u32 => u32, i64 => u64, u64 => u64);

impl Lane for f32 {
    const BITS: u32 = 32;
    fn from_u128(bits: u128) -> Self {
        f32::from_bits(bits as u32)
    }
    fn to_u128(self) -> u128 {
        u128::from(self.to_bits())
    }
}

impl Lane for f64 {
    const BITS: u32 = 64;
    fn from_u128(bits: u128) -> Self {
        f64::from_bits(bits as u64)
    }
    fn to_u128(self) -> u128 {
        u128::from(self.to_bits())
    }
}

/// Lane `i` of `v`. Lane indices come from validated code; an out-of-range one reads as zero
/// instead of panicking on the shift.
fn lane<T: Lane>(v: u128, i: u32) -> T {
    T::from_u128(v.checked_shr(i * T::BITS).unwrap_or(0))
}

/// A v128 whose lane `i` is `f(i)`.
fn build<T: Lane>(mut f: impl FnMut(u32) -> T) -> u128 {
    (0..128 / T::BITS).fold(0, |acc, i| acc | f(i).to_u128() << (i * T::BITS))
}

fn map<T: Lane>(a: u128, f: impl Fn(T) -> T) -> u128 {
    build(|i| f(lane(a, i)))
}

fn zip<T: Lane>(a: u128, b: u128, f: impl Fn(T, T) -> T) -> u128 {
    build(|i| f(lane(a, i), lane(b, i)))
}

fn zip3<T: Lane>(a: u128, b: u128, c: u128, f: impl Fn(T, T, T) -> T) -> u128 {
    build(|i| f(lane(a, i), lane(b, i), lane(c, i)))
}

fn splat<T: Lane>(x: u128) -> u128 {
    build(|_| T::from_u128(x))
}

/// `v` with lane `i` set to the low `T::BITS` bits of `x`; an out-of-range lane changes nothing.
fn replace<T: Lane>(v: u128, i: u8, x: u128) -> u128 {
    let shift = u32::from(i) * T::BITS;
    let mask = (u128::MAX >> (128 - T::BITS)).checked_shl(shift).unwrap_or(0);
    (v & !mask) | (x.checked_shl(shift).unwrap_or(0) & mask)
}

/// Lanes of all ones where `f` holds, all zeros elsewhere.
fn cmp<T: Lane>(a: u128, b: u128, f: fn(&T, &T) -> bool) -> u128 {
    let ones = u128::MAX >> (128 - T::BITS);
    (0..128 / T::BITS).fold(0, |acc, i| {
        if f(&lane(a, i), &lane(b, i)) { acc | ones << (i * T::BITS) } else { acc }
    })
}

fn all_true<T: Lane>(a: u128) -> u128 {
    u128::from((0..128 / T::BITS).all(|i| lane::<T>(a, i).to_u128() != 0))
}

/// Bit `i` of the result is the top bit of lane `i`.
fn bitmask<T: Lane>(a: u128) -> u128 {
    (0..128 / T::BITS).fold(0, |acc, i| acc | (lane::<T>(a, i).to_u128() >> (T::BITS - 1)) << i)
}

/// Widens the low or high half of the narrow lanes of `a`.
fn extend<N: Lane, W: Lane + From<N>>(a: u128, high: bool) -> u128 {
    let first = if high { 128 / W::BITS } else { 0 };
    build(|i| W::from(lane::<N>(a, first + i)))
}

/// Sums adjacent narrow lanes into one wide lane; the wide type always holds the sum.
fn pairwise<N: Lane, W: Lane + From<N> + Add<Output = W>>(a: u128) -> u128 {
    build(|i| W::from(lane::<N>(a, 2 * i)) + W::from(lane::<N>(a, 2 * i + 1)))
}

/// Multiplies the widened low or high halves; the wide type always holds the product.
fn extmul<N: Lane, W: Lane + From<N> + Mul<Output = W>>(a: u128, b: u128, high: bool) -> u128 {
    let first = if high { 128 / W::BITS } else { 0 };
    build(|i| W::from(lane::<N>(a, first + i)) * W::from(lane::<N>(b, first + i)))
}

/// Saturates the wide lanes of `a` into the low half of the result and those of `b` into the
/// high half.
fn narrow<W: Lane, N: Lane>(a: u128, b: u128, saturate: impl Fn(W) -> N) -> u128 {
    let half = 128 / W::BITS;
    build(|i| saturate(if i < half { lane(a, i) } else { lane(b, i - half) }))
}

/// Wasm `min`: NaN if either operand is NaN, and -0 below +0. Equal non-zero operands have equal
/// bits, so OR-ing the bit patterns only matters for the zeros, where it picks -0.
fn fmin<T: Lane + PartialOrd + Add<Output = T>>(x: T, y: T) -> T {
    if x < y {
        x
    } else if y < x {
        y
    } else if x == y {
        T::from_u128(x.to_u128() | y.to_u128())
    } else {
        // At least one is NaN, and arithmetic on a NaN yields a quiet NaN.
        x + y
    }
}

/// Wasm `max`: like [`fmin`], with AND picking +0 over -0.
fn fmax<T: Lane + PartialOrd + Add<Output = T>>(x: T, y: T) -> T {
    if x > y {
        x
    } else if y > x {
        y
    } else if x == y {
        T::from_u128(x.to_u128() & y.to_u128())
    } else {
        x + y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::V128;

    // Vectors are built from little-endian bytes, independently of the `Lane` helpers under test.
    macro_rules! packers {
        ($($name:ident: $t:ty),*) => {$(
            fn $name(lanes: [$t; 16 / size_of::<$t>()]) -> u128 {
                u128::from_le_bytes(lanes.map(<$t>::to_le_bytes).as_flattened().try_into().unwrap())
            }
        )*};
    }
    packers!(i8s: i8, u8s: u8, i16s: i16, u16s: u16, i32s: i32, u32s: u32, i64s: i64, f32s: f32, f64s: f64);

    fn un(op: SimdUnary, a: u128) -> u128 {
        unary(op, a)
    }

    fn bin(op: SimdBinary, a: u128, b: u128) -> u128 {
        binary(op, a, b)
    }

    const NAN32: f32 = f32::NAN;
    const NAN64: f64 = f64::NAN;

    fn f32_lanes(v: u128) -> [f32; 4] {
        std::array::from_fn(|i| f32::from_bits((v >> (32 * i)) as u32))
    }

    fn f64_lanes(v: u128) -> [f64; 2] {
        std::array::from_fn(|i| f64::from_bits((v >> (64 * i)) as u64))
    }

    trait Dummy {
        fn dummy() -> Self;
    }
    impl Dummy for u8 {
        fn dummy() -> Self {
            1
        }
    }
    impl Dummy for MemArg {
        fn dummy() -> Self {
            MemArg {
                align: 0,
                max_align: 4,
                offset: 7,
                target: MemArgTarget::Memory(0),
                ordering: None,
            }
        }
    }
    impl Dummy for V128 {
        fn dummy() -> Self {
            V128::from(5u128)
        }
    }
    impl Dummy for [u8; 16] {
        fn dummy() -> Self {
            [3; 16]
        }
    }

    /// The arity annotation wasmparser gives operators of this shape, without spaces.
    fn arity(op: SimdOp) -> &'static str {
        match op {
            SimdOp::Const(_) => "arity0->1",
            SimdOp::Unary(_) => "arity1->1",
            SimdOp::Binary(_) | SimdOp::Shuffle(_) => "arity2->1",
            SimdOp::Ternary(_) | SimdOp::Bitselect => "arity3->1",
            SimdOp::Load { .. } => "aritymemarg1->1",
            SimdOp::LoadLane { .. } => "aritymemarg2->1",
            SimdOp::Store { .. } | SimdOp::StoreLane { .. } => "aritymemarg2->0",
        }
    }

    /// Every `@simd` and `@relaxed_simd` operator wasmparser knows is classified with the right
    /// operand count.
    #[test]
    fn classify_covers_every_simd_operator() {
        macro_rules! check_every {
            ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })?
                => $visit:ident ($($ann:tt)*) )*) => {{
                let (mut simd, mut relaxed) = (0, 0);
                $(
                    let op = Operator::$op $({ $($arg: <$argty as Dummy>::dummy()),* })?;
                    let got = classify(&op).unwrap_or_else(|| panic!("{op:?} not classified"));
                    assert_eq!(arity(got), stringify!($($ann)*).replace(' ', ""), "{op:?}");
                    match stringify!($proposal) {
                        "simd" => simd += 1,
                        "relaxed_simd" => relaxed += 1,
                        other => panic!("{op:?} of an unexpected proposal {other}"),
                    }
                )*
                (simd, relaxed)
            }};
        }
        let counts = wasmparser::for_each_visit_simd_operator!(check_every);
        assert_eq!(counts, (236, 20));
    }

    #[test]
    fn classify_carries_immediates_and_refuses_the_rest() {
        let memarg = |offset, memory| MemArg {
            align: 0,
            max_align: 4,
            offset,
            target: MemArgTarget::Memory(memory),
            ordering: None,
        };
        let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        assert_eq!(classify(&Operator::V128Const { value: V128::from(v) }), Some(SimdOp::Const(v)));
        let lanes = std::array::from_fn(|i| 31 - i as u8);
        assert_eq!(classify(&Operator::I8x16Shuffle { lanes }), Some(SimdOp::Shuffle(lanes)));
        assert_eq!(
            classify(&Operator::V128Load64Lane { memarg: memarg(1 << 40, 0), lane: 1 }),
            Some(SimdOp::LoadLane { width: LaneWidth::B64, lane: 1, offset: 1 << 40 })
        );
        assert_eq!(
            classify(&Operator::V128Store8Lane { memarg: memarg(9, 0), lane: 15 }),
            Some(SimdOp::StoreLane { width: LaneWidth::B8, lane: 15, offset: 9 })
        );
        assert_eq!(
            classify(&Operator::V128Load32Zero { memarg: memarg(4, 0) }),
            Some(SimdOp::Load { kind: SimdLoad::Zero32, offset: 4 })
        );
        assert_eq!(
            classify(&Operator::I16x8ExtractLaneS { lane: 7 }),
            Some(SimdOp::Unary(SimdUnary::I16x8ExtractLaneS(7)))
        );
        assert_eq!(
            classify(&Operator::F64x2ReplaceLane { lane: 1 }),
            Some(SimdOp::Binary(SimdBinary::F64x2ReplaceLane(1)))
        );
        assert_eq!(classify(&Operator::I32Add), None);
        assert_eq!(classify(&Operator::I64Load { memarg: memarg(0, 0) }), None);
        assert_eq!(classify(&Operator::Nop), None);
    }

    #[test]
    fn splat_takes_the_low_bits_of_the_scalar() {
        assert_eq!(un(SimdUnary::I8x16Splat, 0x1ff), u128::MAX);
        assert_eq!(un(SimdUnary::I16x8Splat, 0xdead_1234), u16s([0x1234; 8]));
        assert_eq!(un(SimdUnary::I32x4Splat, 0xffff_ffff), u128::MAX);
        assert_eq!(un(SimdUnary::I64x2Splat, 0x8000_0000_0000_0001), i64s([i64::MIN + 1; 2]));
        assert_eq!(un(SimdUnary::F32x4Splat, (-1.5f32).to_bits().into()), f32s([-1.5; 4]));
        assert_eq!(un(SimdUnary::F64x2Splat, 2.25f64.to_bits().into()), f64s([2.25; 2]));
    }

    #[test]
    fn extract_lane_sign_or_zero_extends_to_the_scalar_type() {
        let v = i8s([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -1]);
        assert_eq!(un(SimdUnary::I8x16ExtractLaneS(15), v), 0xffff_ffff);
        assert_eq!(un(SimdUnary::I8x16ExtractLaneU(15), v), 0xff);
        assert_eq!(un(SimdUnary::I8x16ExtractLaneS(3), v), 3);
        let v = i16s([0, 0, 0, 0, 0, 0, -2, 0x7fff]);
        assert_eq!(un(SimdUnary::I16x8ExtractLaneS(6), v), 0xffff_fffe);
        assert_eq!(un(SimdUnary::I16x8ExtractLaneU(6), v), 0xfffe);
        assert_eq!(un(SimdUnary::I16x8ExtractLaneS(7), v), 0x7fff);
        assert_eq!(un(SimdUnary::I32x4ExtractLane(2), i32s([0, 0, -1, 0])), 0xffff_ffff);
        assert_eq!(un(SimdUnary::I64x2ExtractLane(1), i64s([0, -2])), 0xffff_ffff_ffff_fffe);
        let bits = un(SimdUnary::F32x4ExtractLane(3), f32s([0.0, 0.0, 0.0, -0.0]));
        assert_eq!(bits, 0x8000_0000);
        assert_eq!(un(SimdUnary::F64x2ExtractLane(0), f64s([1.0, 0.0])), 0x3ff0_0000_0000_0000);
    }

    #[test]
    fn replace_lane_changes_only_that_lane() {
        let v = u128::MAX;
        assert_eq!(bin(SimdBinary::I8x16ReplaceLane(0), v, 0x1234), v & !0xff | 0x34);
        assert_eq!(
            bin(SimdBinary::I16x8ReplaceLane(7), 0, 0xabcd_5678),
            u16s([0, 0, 0, 0, 0, 0, 0, 0x5678])
        );
        assert_eq!(bin(SimdBinary::I32x4ReplaceLane(1), i32s([1, 2, 3, 4]), 9), i32s([1, 9, 3, 4]));
        assert_eq!(bin(SimdBinary::I64x2ReplaceLane(1), i64s([1, 2]), u128::MAX), i64s([1, -1]));
        let f = (-0.5f32).to_bits().into();
        assert_eq!(
            bin(SimdBinary::F32x4ReplaceLane(2), f32s([1.0; 4]), f),
            f32s([1.0, 1.0, -0.5, 1.0])
        );
        let f = 8.0f64.to_bits().into();
        assert_eq!(bin(SimdBinary::F64x2ReplaceLane(0), f64s([1.0; 2]), f), f64s([8.0, 1.0]));
    }

    #[test]
    fn any_true_all_true_and_bitmask() {
        assert_eq!(un(SimdUnary::V128AnyTrue, 0), 0);
        assert_eq!(un(SimdUnary::V128AnyTrue, 1 << 127), 1);
        let mut one_zero_byte = [1i8; 16];
        one_zero_byte[9] = 0;
        assert_eq!(un(SimdUnary::I8x16AllTrue, i8s([1; 16])), 1);
        assert_eq!(un(SimdUnary::I8x16AllTrue, i8s(one_zero_byte)), 0);
        // Nonzero bytes that leave a 16-bit lane zero.
        assert_eq!(un(SimdUnary::I16x8AllTrue, i16s([0x100, 1, 1, 1, 1, 1, 1, 1])), 1);
        assert_eq!(un(SimdUnary::I16x8AllTrue, i16s([1, 1, 1, 0, 1, 1, 1, 1])), 0);
        assert_eq!(un(SimdUnary::I32x4AllTrue, i32s([-1, 1 << 31, 2, 3])), 1);
        assert_eq!(un(SimdUnary::I32x4AllTrue, u128::MAX >> 32), 0);
        assert_eq!(un(SimdUnary::I64x2AllTrue, i64s([1, 1 << 40])), 1);
        assert_eq!(un(SimdUnary::I64x2AllTrue, i64s([1, 0])), 0);

        let v = i8s([-1, 0, -128, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -5]);
        assert_eq!(un(SimdUnary::I8x16Bitmask, v), 0b1000_0000_0000_0101);
        assert_eq!(un(SimdUnary::I16x8Bitmask, i16s([0, -1, 0, 0, 0, 0, 0, i16::MIN])), 0x82);
        assert_eq!(un(SimdUnary::I32x4Bitmask, i32s([-1, 1, -1, 0x7fff_ffff])), 0b0101);
        assert_eq!(un(SimdUnary::I64x2Bitmask, i64s([5, -5])), 0b10);
    }

    #[test]
    fn shifts_take_the_count_modulo_the_lane_width() {
        let v = i8s([1, -128, 0x40, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        let shl1 = i8s([2, 0, -128, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6]);
        assert_eq!(bin(SimdBinary::I8x16Shl, v, 1), shl1);
        assert_eq!(bin(SimdBinary::I8x16Shl, v, 9), shl1);
        assert_eq!(bin(SimdBinary::I8x16Shl, v, 8), v);
        // Only the low 32 bits of the operand are the i32 count.
        assert_eq!(bin(SimdBinary::I8x16Shl, v, (1 << 32) | 1), shl1);
        let sar7 = i8s([0, -1, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bin(SimdBinary::I8x16ShrS, v, 7), sar7);
        assert_eq!(bin(SimdBinary::I8x16ShrS, v, 15), sar7);
        let shr7 = i8s([0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bin(SimdBinary::I8x16ShrU, v, 0xffff_ffff), shr7);

        let v = i16s([-32768, 1, 0, 0, 0, 0, 0, -1]);
        assert_eq!(bin(SimdBinary::I16x8Shl, v, 17), i16s([0, 2, 0, 0, 0, 0, 0, -2]));
        assert_eq!(bin(SimdBinary::I16x8ShrS, v, 16), v);
        assert_eq!(bin(SimdBinary::I16x8ShrS, v, 15), i16s([-1, 0, 0, 0, 0, 0, 0, -1]));
        assert_eq!(bin(SimdBinary::I16x8ShrU, v, 15), i16s([1, 0, 0, 0, 0, 0, 0, 1]));

        let v = i32s([i32::MIN, 3, -8, 1]);
        assert_eq!(bin(SimdBinary::I32x4Shl, v, 33), i32s([0, 6, -16, 2]));
        assert_eq!(bin(SimdBinary::I32x4ShrS, v, 2), i32s([-(1 << 29), 0, -2, 0]));
        assert_eq!(bin(SimdBinary::I32x4ShrU, v, 31), i32s([1, 0, 1, 0]));
        assert_eq!(bin(SimdBinary::I32x4ShrU, v, 32), v);

        let v = i64s([i64::MIN, 5]);
        assert_eq!(bin(SimdBinary::I64x2Shl, v, 64), v);
        assert_eq!(bin(SimdBinary::I64x2Shl, v, 65), i64s([0, 10]));
        assert_eq!(bin(SimdBinary::I64x2ShrS, v, 63), i64s([-1, 0]));
        assert_eq!(bin(SimdBinary::I64x2ShrU, v, 127), i64s([1, 0]));
    }

    #[test]
    fn bitwise_ops_and_bitselect() {
        let a = 0xff00_ff00_0000_0000_0000_0000_f0f0_f0f0u128;
        let b = 0x0ff0_0ff0_0000_0000_0000_0000_ffff_0000u128;
        assert_eq!(un(SimdUnary::V128Not, a), !a);
        assert_eq!(bin(SimdBinary::V128And, a, b), 0x0f00_0f00_0000_0000_0000_0000_f0f0_0000);
        assert_eq!(bin(SimdBinary::V128AndNot, a, b), 0xf000_f000_0000_0000_0000_0000_0000_f0f0);
        assert_eq!(bin(SimdBinary::V128Or, a, b), 0xfff0_fff0_0000_0000_0000_0000_ffff_f0f0);
        assert_eq!(bin(SimdBinary::V128Xor, a, b), 0xf0f0_f0f0_0000_0000_0000_0000_0f0f_f0f0);
        assert_eq!(bitselect(u128::MAX, 0, 0x00ff << 64 | 0xf), 0x00ff << 64 | 0xf);
        assert_eq!(bitselect(0xaaaa, 0x5555, 0xff00), 0xaa55);
    }

    #[test]
    fn swizzle_zeroes_out_of_range_indices() {
        let a = u8s(std::array::from_fn(|i| 0x10 + i as u8));
        let idx = u8s([15, 0, 16, 0x80, 0xff, 1, 2, 3, 31, 14, 13, 12, 11, 10, 9, 8]);
        let want = u8s([
            0x1f, 0x10, 0, 0, 0, 0x11, 0x12, 0x13, 0, 0x1e, 0x1d, 0x1c, 0x1b, 0x1a, 0x19, 0x18,
        ]);
        assert_eq!(bin(SimdBinary::I8x16Swizzle, a, idx), want);
    }

    #[test]
    fn shuffle_indices_at_or_above_16_select_from_b() {
        let a = u8s(std::array::from_fn(|i| i as u8));
        let b = u8s(std::array::from_fn(|i| 0x80 + i as u8));
        let lanes = [0, 16, 15, 31, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 30, 14];
        let want = u8s([0, 0x80, 15, 0x8f, 1, 0x81, 2, 0x82, 3, 0x83, 4, 0x84, 5, 0x85, 0x8e, 14]);
        assert_eq!(shuffle(&lanes, a, b), want);
        assert_eq!(shuffle(&std::array::from_fn(|i| 16 + i as u8), a, b), b);
    }

    #[test]
    fn integer_comparisons_respect_signedness() {
        let t = -1;
        let a = i8s([-1, 1, 5, -128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let b = i8s([1, -1, 5, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let lanes = |l: [i8; 4], rest: i8, last: i8| {
            let mut v = [rest; 16];
            v[..4].copy_from_slice(&l);
            v[15] = last;
            i8s(v)
        };
        assert_eq!(bin(SimdBinary::I8x16Eq, a, b), lanes([0, 0, t, 0], t, 0));
        assert_eq!(bin(SimdBinary::I8x16Ne, a, b), lanes([t, t, 0, t], 0, t));
        assert_eq!(bin(SimdBinary::I8x16LtS, a, b), lanes([t, 0, 0, t], 0, t));
        assert_eq!(bin(SimdBinary::I8x16LtU, a, b), lanes([0, t, 0, 0], 0, t));
        assert_eq!(bin(SimdBinary::I8x16GtS, a, b), lanes([0, t, 0, 0], 0, 0));
        assert_eq!(bin(SimdBinary::I8x16GtU, a, b), lanes([t, 0, 0, t], 0, 0));
        assert_eq!(bin(SimdBinary::I8x16LeS, a, b), lanes([t, 0, t, t], t, t));
        assert_eq!(bin(SimdBinary::I8x16LeU, a, b), lanes([0, t, t, 0], t, t));
        assert_eq!(bin(SimdBinary::I8x16GeS, a, b), lanes([0, t, t, 0], t, 0));
        assert_eq!(bin(SimdBinary::I8x16GeU, a, b), lanes([t, 0, t, t], t, 0));

        let a = i16s([-1, 2, 0, 0, 0, 0, 0, 0]);
        let b = i16s([1, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bin(SimdBinary::I16x8Eq, a, b), i16s([0, t.into(), -1, -1, -1, -1, -1, -1]));
        assert_eq!(bin(SimdBinary::I16x8Ne, a, b), i16s([-1, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8LtS, a, b), i16s([-1, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8LtU, a, b), 0);
        assert_eq!(bin(SimdBinary::I16x8GtS, a, b), 0);
        assert_eq!(bin(SimdBinary::I16x8GtU, a, b), i16s([-1, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8LeS, a, b), u128::MAX);
        assert_eq!(bin(SimdBinary::I16x8LeU, a, b), i16s([0, -1, -1, -1, -1, -1, -1, -1]));
        assert_eq!(bin(SimdBinary::I16x8GeS, a, b), i16s([0, -1, -1, -1, -1, -1, -1, -1]));
        assert_eq!(bin(SimdBinary::I16x8GeU, a, b), u128::MAX);

        let a = i32s([i32::MIN, 7, -3, 0]);
        let b = i32s([i32::MAX, 7, 3, 1]);
        assert_eq!(bin(SimdBinary::I32x4Eq, a, b), i32s([0, -1, 0, 0]));
        assert_eq!(bin(SimdBinary::I32x4Ne, a, b), i32s([-1, 0, -1, -1]));
        assert_eq!(bin(SimdBinary::I32x4LtS, a, b), i32s([-1, 0, -1, -1]));
        assert_eq!(bin(SimdBinary::I32x4LtU, a, b), i32s([0, 0, 0, -1]));
        assert_eq!(bin(SimdBinary::I32x4GtS, a, b), 0);
        assert_eq!(bin(SimdBinary::I32x4GtU, a, b), i32s([-1, 0, -1, 0]));
        assert_eq!(bin(SimdBinary::I32x4LeS, a, b), u128::MAX);
        assert_eq!(bin(SimdBinary::I32x4LeU, a, b), i32s([0, -1, 0, -1]));
        assert_eq!(bin(SimdBinary::I32x4GeS, a, b), i32s([0, -1, 0, 0]));
        assert_eq!(bin(SimdBinary::I32x4GeU, a, b), i32s([-1, -1, -1, 0]));

        let a = i64s([-1, 4]);
        let b = i64s([1, 4]);
        assert_eq!(bin(SimdBinary::I64x2Eq, a, b), i64s([0, -1]));
        assert_eq!(bin(SimdBinary::I64x2Ne, a, b), i64s([-1, 0]));
        assert_eq!(bin(SimdBinary::I64x2LtS, a, b), i64s([-1, 0]));
        assert_eq!(bin(SimdBinary::I64x2GtS, a, b), 0);
        assert_eq!(bin(SimdBinary::I64x2LeS, a, b), u128::MAX);
        assert_eq!(bin(SimdBinary::I64x2GeS, a, b), i64s([0, -1]));
    }

    #[test]
    fn float_comparisons_treat_nan_as_unordered_and_zeros_as_equal() {
        let a = f32s([NAN32, -0.0, 1.0, 2.0]);
        let b = f32s([NAN32, 0.0, 2.0, 1.0]);
        assert_eq!(bin(SimdBinary::F32x4Eq, a, b), i32s([0, -1, 0, 0]));
        assert_eq!(bin(SimdBinary::F32x4Ne, a, b), i32s([-1, 0, -1, -1]));
        assert_eq!(bin(SimdBinary::F32x4Lt, a, b), i32s([0, 0, -1, 0]));
        assert_eq!(bin(SimdBinary::F32x4Gt, a, b), i32s([0, 0, 0, -1]));
        assert_eq!(bin(SimdBinary::F32x4Le, a, b), i32s([0, -1, -1, 0]));
        assert_eq!(bin(SimdBinary::F32x4Ge, a, b), i32s([0, -1, 0, -1]));
        let a = f64s([NAN64, -0.0]);
        let b = f64s([1.0, 0.0]);
        assert_eq!(bin(SimdBinary::F64x2Eq, a, b), i64s([0, -1]));
        assert_eq!(bin(SimdBinary::F64x2Ne, a, b), i64s([-1, 0]));
        assert_eq!(bin(SimdBinary::F64x2Lt, a, b), 0);
        assert_eq!(bin(SimdBinary::F64x2Gt, a, b), 0);
        assert_eq!(bin(SimdBinary::F64x2Le, a, b), i64s([0, -1]));
        assert_eq!(bin(SimdBinary::F64x2Ge, a, b), i64s([0, -1]));
        let a = f64s([3.0, f64::INFINITY]);
        let b = f64s([2.0, f64::INFINITY]);
        assert_eq!(bin(SimdBinary::F64x2Gt, a, b), i64s([-1, 0]));
        assert_eq!(bin(SimdBinary::F64x2Lt, b, a), i64s([-1, 0]));
    }

    #[test]
    fn narrow_saturates_signed_inputs() {
        let a = i16s([300, -300, 127, -128, 128, -129, 255, 0]);
        let b = i16s([i16::MAX, i16::MIN, 1, -1, 256, 0, 0, 42]);
        assert_eq!(
            bin(SimdBinary::I8x16NarrowI16x8S, a, b),
            i8s([127, -128, 127, -128, 127, -128, 127, 0, 127, -128, 1, -1, 127, 0, 0, 42])
        );
        assert_eq!(
            bin(SimdBinary::I8x16NarrowI16x8U, a, b),
            u8s([255, 0, 127, 0, 128, 0, 255, 0, 255, 0, 1, 0, 255, 0, 0, 42])
        );
        let a = i32s([70000, -70000, 32767, -32768]);
        let b = i32s([65535, 65536, -1, 40000]);
        assert_eq!(
            bin(SimdBinary::I16x8NarrowI32x4S, a, b),
            i16s([32767, -32768, 32767, -32768, 32767, 32767, -1, 32767])
        );
        assert_eq!(
            bin(SimdBinary::I16x8NarrowI32x4U, a, b),
            u16s([65535, 0, 32767, 0, 65535, 65535, 0, 40000])
        );
    }

    #[test]
    fn extend_and_pairwise_add_widen_lanes() {
        let v = i8s([-1, 2, -128, 127, 0, 0, 0, 5, -2, 0, 0, 0, 0, 0, 0, -128]);
        assert_eq!(un(SimdUnary::I16x8ExtendLowI8x16S, v), i16s([-1, 2, -128, 127, 0, 0, 0, 5]));
        assert_eq!(un(SimdUnary::I16x8ExtendHighI8x16S, v), i16s([-2, 0, 0, 0, 0, 0, 0, -128]));
        assert_eq!(un(SimdUnary::I16x8ExtendLowI8x16U, v), i16s([255, 2, 128, 127, 0, 0, 0, 5]));
        assert_eq!(un(SimdUnary::I16x8ExtendHighI8x16U, v), i16s([254, 0, 0, 0, 0, 0, 0, 128]));
        let v = i16s([-1, 7, 0, 0, i16::MIN, 0, 0, 3]);
        assert_eq!(un(SimdUnary::I32x4ExtendLowI16x8S, v), i32s([-1, 7, 0, 0]));
        assert_eq!(un(SimdUnary::I32x4ExtendHighI16x8S, v), i32s([-32768, 0, 0, 3]));
        assert_eq!(un(SimdUnary::I32x4ExtendLowI16x8U, v), i32s([65535, 7, 0, 0]));
        assert_eq!(un(SimdUnary::I32x4ExtendHighI16x8U, v), i32s([32768, 0, 0, 3]));
        let v = i32s([-1, 2, i32::MIN, 9]);
        assert_eq!(un(SimdUnary::I64x2ExtendLowI32x4S, v), i64s([-1, 2]));
        assert_eq!(un(SimdUnary::I64x2ExtendHighI32x4S, v), i64s([i32::MIN.into(), 9]));
        assert_eq!(un(SimdUnary::I64x2ExtendLowI32x4U, v), i64s([0xffff_ffff, 2]));
        assert_eq!(un(SimdUnary::I64x2ExtendHighI32x4U, v), i64s([0x8000_0000, 9]));

        let v = i8s([-128, -128, 127, 127, -1, 1, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1]);
        assert_eq!(
            un(SimdUnary::I16x8ExtAddPairwiseI8x16S, v),
            i16s([-256, 254, 0, 0, 0, 0, 0, -2])
        );
        assert_eq!(
            un(SimdUnary::I16x8ExtAddPairwiseI8x16U, v),
            i16s([256, 254, 256, 0, 0, 0, 0, 510])
        );
        let v = i16s([i16::MIN, i16::MIN, i16::MAX, i16::MAX, -1, -1, 1, -1]);
        assert_eq!(un(SimdUnary::I32x4ExtAddPairwiseI16x8S, v), i32s([-65536, 65534, -2, 0]));
        assert_eq!(
            un(SimdUnary::I32x4ExtAddPairwiseI16x8U, v),
            i32s([65536, 65534, 131070, 65536])
        );
    }

    #[test]
    fn extmul_dot_and_q15mulr() {
        let a = i8s([-128, 127, -1, 2, 0, 0, 0, 3, -128, 0, 0, 0, 0, 0, 0, -1]);
        let b = i8s([-128, 127, 1, -2, 0, 0, 0, 4, 127, 0, 0, 0, 0, 0, 0, -1]);
        assert_eq!(
            bin(SimdBinary::I16x8ExtMulLowI8x16S, a, b),
            i16s([16384, 16129, -1, -4, 0, 0, 0, 12])
        );
        assert_eq!(
            bin(SimdBinary::I16x8ExtMulHighI8x16S, a, b),
            i16s([-16256, 0, 0, 0, 0, 0, 0, 1])
        );
        assert_eq!(
            bin(SimdBinary::I16x8ExtMulLowI8x16U, a, b),
            u16s([16384, 16129, 255, 508, 0, 0, 0, 12])
        );
        assert_eq!(
            bin(SimdBinary::I16x8ExtMulHighI8x16U, a, b),
            u16s([16256, 0, 0, 0, 0, 0, 0, 65025])
        );
        let a = i16s([-1, i16::MIN, 3, 0, -1, 0, 0, 0]);
        let b = i16s([-1, i16::MIN, -3, 0, 2, 0, 0, 0]);
        assert_eq!(bin(SimdBinary::I32x4ExtMulLowI16x8S, a, b), i32s([1, 1 << 30, -9, 0]));
        assert_eq!(bin(SimdBinary::I32x4ExtMulHighI16x8S, a, b), i32s([-2, 0, 0, 0]));
        assert_eq!(
            bin(SimdBinary::I32x4ExtMulLowI16x8U, a, b),
            u32s([0xfffe_0001, 1 << 30, 3 * 65533, 0])
        );
        assert_eq!(bin(SimdBinary::I32x4ExtMulHighI16x8U, a, b), u32s([65535 * 2, 0, 0, 0]));
        let a = i32s([-1, i32::MIN, -1, 2]);
        let b = i32s([-1, i32::MIN, 1, 3]);
        assert_eq!(bin(SimdBinary::I64x2ExtMulLowI32x4S, a, b), i64s([1, 1 << 62]));
        assert_eq!(bin(SimdBinary::I64x2ExtMulHighI32x4S, a, b), i64s([-1, 6]));
        assert_eq!(
            bin(SimdBinary::I64x2ExtMulLowI32x4U, a, b),
            i64s([0xffff_fffe_0000_0001u64 as i64, 1 << 62])
        );
        assert_eq!(bin(SimdBinary::I64x2ExtMulHighI32x4U, a, b), i64s([0xffff_ffff, 6]));

        // The one overflowing dot product wraps to i32::MIN.
        let a = i16s([i16::MIN, i16::MIN, 1, 2, -3, 4, 0, 0]);
        let b = i16s([i16::MIN, i16::MIN, 10, 100, 5, 5, 0, 0]);
        assert_eq!(bin(SimdBinary::I32x4DotI16x8S, a, b), i32s([i32::MIN, 210, 5, 0]));

        let a = i16s([i16::MIN, 16384, 1, -1, 16384, 100, 0x4000, -32767]);
        let b = i16s([i16::MIN, 16384, 16384, 16384, -16384, -200, 1, 32767]);
        // 1 * 0.5 in Q15 rounds half up to 1; -1 * 0.5 rounds to 0; 0x4000 * 1 rounds 0.5 up.
        assert_eq!(
            bin(SimdBinary::I16x8Q15MulrSatS, a, b),
            i16s([i16::MAX, 8192, 1, 0, -8192, -1, 1, -32766])
        );
    }

    #[test]
    fn integer_arithmetic_wraps_or_saturates() {
        let a = i8s([127, -128, -1, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let b = i8s([1, -1, -1, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2]);
        assert_eq!(
            bin(SimdBinary::I8x16Add, a, b),
            i8s([-128, 127, -2, -56, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1])
        );
        assert_eq!(
            bin(SimdBinary::I8x16AddSatS, a, b),
            i8s([127, -128, -2, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1])
        );
        assert_eq!(
            bin(SimdBinary::I8x16AddSatU, a, b),
            u8s([128, 255, 255, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255])
        );
        assert_eq!(
            bin(SimdBinary::I8x16Sub, a, b),
            i8s([126, -127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3])
        );
        assert_eq!(
            bin(SimdBinary::I8x16SubSatS, b, a),
            i8s([-126, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3])
        );
        assert_eq!(
            bin(SimdBinary::I8x16SubSatU, a, b),
            u8s([126, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            bin(SimdBinary::I8x16SubSatU, b, a),
            u8s([0, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253])
        );
        assert_eq!(
            bin(SimdBinary::I8x16MinS, a, b),
            i8s([1, -128, -1, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2])
        );
        assert_eq!(
            bin(SimdBinary::I8x16MinU, a, b),
            i8s([1, -128, -1, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        );
        assert_eq!(
            bin(SimdBinary::I8x16MaxS, a, b),
            i8s([127, -1, -1, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        );
        assert_eq!(
            bin(SimdBinary::I8x16MaxU, a, b),
            i8s([127, -1, -1, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2])
        );
        let x = u8s([255, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 254]);
        let y = u8s([255, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255]);
        assert_eq!(
            bin(SimdBinary::I8x16AvgrU, x, y),
            u8s([255, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255])
        );

        let a = i16s([i16::MAX, i16::MIN, -1, 300, 2, 0, 0, 0]);
        let b = i16s([1, 1, -1, 300, -3, 0, 0, 0]);
        assert_eq!(bin(SimdBinary::I16x8Add, a, b), i16s([i16::MIN, -32767, -2, 600, -1, 0, 0, 0]));
        assert_eq!(
            bin(SimdBinary::I16x8AddSatS, a, b),
            i16s([i16::MAX, -32767, -2, 600, -1, 0, 0, 0])
        );
        assert_eq!(
            bin(SimdBinary::I16x8AddSatU, a, b),
            u16s([32768, 32769, 65535, 600, 65535, 0, 0, 0])
        );
        assert_eq!(bin(SimdBinary::I16x8Sub, a, b), i16s([32766, i16::MAX, 0, 0, 5, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8SubSatS, a, b), i16s([32766, i16::MIN, 0, 0, 5, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8SubSatU, a, b), u16s([32766, 32767, 0, 0, 0, 0, 0, 0]));
        assert_eq!(
            bin(SimdBinary::I16x8Mul, a, b),
            i16s([i16::MAX, i16::MIN, 1, 24464, -6, 0, 0, 0])
        );
        assert_eq!(bin(SimdBinary::I16x8MinS, a, b), i16s([1, i16::MIN, -1, 300, -3, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8MinU, a, b), i16s([1, 1, -1, 300, 2, 0, 0, 0]));
        assert_eq!(bin(SimdBinary::I16x8MaxS, a, b), i16s([i16::MAX, 1, -1, 300, 2, 0, 0, 0]));
        assert_eq!(
            bin(SimdBinary::I16x8MaxU, a, b),
            i16s([i16::MAX, i16::MIN, -1, 300, -3, 0, 0, 0])
        );
        assert_eq!(
            bin(
                SimdBinary::I16x8AvgrU,
                u16s([65535, 3, 0, 0, 0, 0, 0, 0]),
                u16s([65535, 4, 1, 0, 0, 0, 0, 0])
            ),
            u16s([65535, 4, 1, 0, 0, 0, 0, 0])
        );

        let a = i32s([i32::MAX, i32::MIN, -5, 0x10000]);
        let b = i32s([1, -1, 3, 0x10000]);
        assert_eq!(bin(SimdBinary::I32x4Add, a, b), i32s([i32::MIN, i32::MAX, -2, 0x20000]));
        assert_eq!(bin(SimdBinary::I32x4Sub, a, b), i32s([i32::MAX - 1, i32::MIN + 1, -8, 0]));
        assert_eq!(bin(SimdBinary::I32x4Mul, a, b), i32s([i32::MAX, i32::MIN, -15, 0]));
        assert_eq!(bin(SimdBinary::I32x4MinS, a, b), i32s([1, i32::MIN, -5, 0x10000]));
        assert_eq!(bin(SimdBinary::I32x4MinU, a, b), i32s([1, i32::MIN, 3, 0x10000]));
        assert_eq!(bin(SimdBinary::I32x4MaxS, a, b), i32s([i32::MAX, -1, 3, 0x10000]));
        assert_eq!(bin(SimdBinary::I32x4MaxU, a, b), i32s([i32::MAX, -1, -5, 0x10000]));

        let a = i64s([i64::MAX, 1 << 32]);
        let b = i64s([1, 1 << 32]);
        assert_eq!(bin(SimdBinary::I64x2Add, a, b), i64s([i64::MIN, 1 << 33]));
        assert_eq!(bin(SimdBinary::I64x2Sub, b, a), i64s([i64::MIN + 2, 0]));
        assert_eq!(bin(SimdBinary::I64x2Mul, a, b), i64s([i64::MAX, 0]));
    }

    #[test]
    fn abs_neg_and_popcnt() {
        let v = i8s([-128, -1, 1, 0, 127, -127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(
            un(SimdUnary::I8x16Abs, v),
            i8s([-128, 1, 1, 0, 127, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5])
        );
        assert_eq!(
            un(SimdUnary::I8x16Neg, v),
            i8s([-128, 1, -1, 0, -127, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, -5])
        );
        assert_eq!(
            un(SimdUnary::I16x8Abs, i16s([i16::MIN, -2, 3, 0, 0, 0, 0, 0])),
            i16s([i16::MIN, 2, 3, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            un(SimdUnary::I16x8Neg, i16s([i16::MIN, -2, 3, 0, 0, 0, 0, 0])),
            i16s([i16::MIN, 2, -3, 0, 0, 0, 0, 0])
        );
        assert_eq!(un(SimdUnary::I32x4Abs, i32s([i32::MIN, -7, 7, 0])), i32s([i32::MIN, 7, 7, 0]));
        assert_eq!(un(SimdUnary::I32x4Neg, i32s([i32::MIN, -7, 7, 0])), i32s([i32::MIN, 7, -7, 0]));
        assert_eq!(un(SimdUnary::I64x2Abs, i64s([i64::MIN, -9])), i64s([i64::MIN, 9]));
        assert_eq!(un(SimdUnary::I64x2Neg, i64s([i64::MIN, -9])), i64s([i64::MIN, 9]));
        let v = u8s([0, 1, 0xff, 0x80, 0x55, 0x0f, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe]);
        assert_eq!(
            un(SimdUnary::I8x16Popcnt, v),
            u8s([0, 1, 8, 1, 4, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 7])
        );
    }

    #[test]
    fn float_min_max_propagate_nan_and_order_signed_zeros() {
        let a = f32s([NAN32, 1.0, -0.0, 0.0]);
        let b = f32s([1.0, NAN32, 0.0, -0.0]);
        let min = f32_lanes(bin(SimdBinary::F32x4Min, a, b));
        let max = f32_lanes(bin(SimdBinary::F32x4Max, a, b));
        assert!(min[0].is_nan() && min[1].is_nan() && max[0].is_nan() && max[1].is_nan());
        assert_eq!(min[2].to_bits(), (-0.0f32).to_bits());
        assert_eq!(min[3].to_bits(), (-0.0f32).to_bits());
        assert_eq!(max[2].to_bits(), 0.0f32.to_bits());
        assert_eq!(max[3].to_bits(), 0.0f32.to_bits());
        let plain = (f32s([1.0, -5.0, f32::INFINITY, 2.0]), f32s([2.0, -6.0, 3.0, 2.0]));
        assert_eq!(bin(SimdBinary::F32x4Min, plain.0, plain.1), f32s([1.0, -6.0, 3.0, 2.0]));
        assert_eq!(
            bin(SimdBinary::F32x4Max, plain.0, plain.1),
            f32s([2.0, -5.0, f32::INFINITY, 2.0])
        );

        let min = f64_lanes(bin(SimdBinary::F64x2Min, f64s([NAN64, -0.0]), f64s([-1.0, 0.0])));
        assert!(min[0].is_nan());
        assert_eq!(min[1].to_bits(), (-0.0f64).to_bits());
        let max = f64_lanes(bin(SimdBinary::F64x2Max, f64s([-0.0, 3.0]), f64s([0.0, NAN64])));
        assert_eq!(max[0].to_bits(), 0.0f64.to_bits());
        assert!(max[1].is_nan());
        assert_eq!(
            bin(SimdBinary::F64x2Min, f64s([1.0, 5.0]), f64s([2.0, -5.0])),
            f64s([1.0, -5.0])
        );
    }

    #[test]
    fn pmin_pmax_are_plain_comparisons() {
        // pmin is `b < a ? b : a`: with NaN or equal operands it returns `a` bit for bit.
        let a = f32s([NAN32, 1.0, -0.0, 0.0]);
        let b = f32s([1.0, NAN32, 0.0, -0.0]);
        assert_eq!(bin(SimdBinary::F32x4PMin, a, b), a);
        assert_eq!(bin(SimdBinary::F32x4PMax, a, b), a);
        let a = f32s([3.0, 1.0, -2.0, 5.0]);
        let b = f32s([2.0, 4.0, -2.5, 5.0]);
        assert_eq!(bin(SimdBinary::F32x4PMin, a, b), f32s([2.0, 1.0, -2.5, 5.0]));
        assert_eq!(bin(SimdBinary::F32x4PMax, a, b), f32s([3.0, 4.0, -2.0, 5.0]));
        let a = f64s([NAN64, -0.0]);
        let b = f64s([1.0, 0.0]);
        assert_eq!(bin(SimdBinary::F64x2PMin, a, b), a);
        assert_eq!(bin(SimdBinary::F64x2PMax, a, b), a);
        assert_eq!(
            bin(SimdBinary::F64x2PMin, f64s([2.0, 1.0]), f64s([1.0, 2.0])),
            f64s([1.0, 1.0])
        );
        assert_eq!(
            bin(SimdBinary::F64x2PMax, f64s([2.0, 1.0]), f64s([1.0, 2.0])),
            f64s([2.0, 2.0])
        );
    }

    #[test]
    fn float_arithmetic_and_rounding() {
        let a = f32s([1.5, -2.0, 1e30, 0.1]);
        let b = f32s([0.25, 4.0, 1e30, 0.2]);
        assert_eq!(bin(SimdBinary::F32x4Add, a, b), f32s([1.75, 2.0, 2e30, 0.1 + 0.2]));
        assert_eq!(bin(SimdBinary::F32x4Sub, a, b), f32s([1.25, -6.0, 0.0, 0.1 - 0.2]));
        assert_eq!(bin(SimdBinary::F32x4Mul, a, b), f32s([0.375, -8.0, f32::INFINITY, 0.1 * 0.2]));
        assert_eq!(bin(SimdBinary::F32x4Div, a, b), f32s([6.0, -0.5, 1.0, 0.5]));
        let q = f32_lanes(bin(
            SimdBinary::F32x4Div,
            f32s([0.0, 1.0, -1.0, NAN32]),
            f32s([0.0, 0.0, 0.0, 1.0]),
        ));
        assert!(q[0].is_nan() && q[3].is_nan());
        assert_eq!(&q[1..3], &[f32::INFINITY, f32::NEG_INFINITY]);
        let a = f64s([1.5, 1e300]);
        let b = f64s([0.5, 1e300]);
        assert_eq!(bin(SimdBinary::F64x2Add, a, b), f64s([2.0, 2e300]));
        assert_eq!(bin(SimdBinary::F64x2Sub, a, b), f64s([1.0, 0.0]));
        assert_eq!(bin(SimdBinary::F64x2Mul, a, b), f64s([0.75, f64::INFINITY]));
        assert_eq!(bin(SimdBinary::F64x2Div, a, b), f64s([3.0, 1.0]));

        let v = f32s([2.5, -0.5, 3.5, -1.5]);
        assert_eq!(un(SimdUnary::F32x4Nearest, v), f32s([2.0, -0.0, 4.0, -2.0]));
        assert_eq!(un(SimdUnary::F32x4Nearest, v) >> 32 & 0xffff_ffff, 0x8000_0000);
        assert_eq!(un(SimdUnary::F32x4Ceil, v), f32s([3.0, -0.0, 4.0, -1.0]));
        assert_eq!(un(SimdUnary::F32x4Ceil, v) >> 32 & 0xffff_ffff, 0x8000_0000);
        assert_eq!(un(SimdUnary::F32x4Floor, v), f32s([2.0, -1.0, 3.0, -2.0]));
        assert_eq!(un(SimdUnary::F32x4Trunc, v), f32s([2.0, -0.0, 3.0, -1.0]));
        assert_eq!(
            un(SimdUnary::F32x4Sqrt, f32s([4.0, 0.25, -0.0, 2.0])),
            f32s([2.0, 0.5, -0.0, 2f32.sqrt()])
        );
        assert!(f32_lanes(un(SimdUnary::F32x4Sqrt, f32s([-1.0; 4])))[0].is_nan());
        let v = f64s([-2.5, 0.5]);
        assert_eq!(un(SimdUnary::F64x2Nearest, v), f64s([-2.0, 0.0]));
        assert_eq!(un(SimdUnary::F64x2Ceil, v), f64s([-2.0, 1.0]));
        assert_eq!(un(SimdUnary::F64x2Floor, v), f64s([-3.0, 0.0]));
        assert_eq!(un(SimdUnary::F64x2Trunc, v), f64s([-2.0, 0.0]));
        assert_eq!(un(SimdUnary::F64x2Sqrt, f64s([9.0, 1e-300 * 1e-300])), f64s([3.0, 0.0]));
    }

    #[test]
    fn rounding_quiets_signalling_nans() {
        // Lanes: two signalling NaNs with payloads, a quiet NaN, and -2.0, which no rounding moves.
        let v = u32s([0x7fa0_0000, 0xffa0_0001, 0x7fc0_0000, 0xc000_0000]);
        let want = u32s([0x7fe0_0000, 0xffe0_0001, 0x7fc0_0000, 0xc000_0000]);
        for op in [
            SimdUnary::F32x4Ceil,
            SimdUnary::F32x4Floor,
            SimdUnary::F32x4Trunc,
            SimdUnary::F32x4Nearest,
        ] {
            assert_eq!(un(op, v), want, "{op:?}");
        }
        let v = 0xc000_0000_0000_0000_fff4_0000_0000_0001u128;
        let want = 0xc000_0000_0000_0000_fffc_0000_0000_0001u128;
        for op in [
            SimdUnary::F64x2Ceil,
            SimdUnary::F64x2Floor,
            SimdUnary::F64x2Trunc,
            SimdUnary::F64x2Nearest,
        ] {
            assert_eq!(un(op, v), want, "{op:?}");
        }
    }

    #[test]
    fn float_abs_and_neg_only_flip_the_sign_bit() {
        // A signalling NaN with a payload survives bit for bit.
        let v = 0x7f80_0001_ff80_0002_8000_0000_3f80_0000u128;
        assert_eq!(un(SimdUnary::F32x4Abs, v), 0x7f80_0001_7f80_0002_0000_0000_3f80_0000);
        assert_eq!(un(SimdUnary::F32x4Neg, v), 0xff80_0001_7f80_0002_0000_0000_bf80_0000);
        let v = 0xfff0_0000_0000_0001_3ff0_0000_0000_0000u128;
        assert_eq!(un(SimdUnary::F64x2Abs, v), 0x7ff0_0000_0000_0001_3ff0_0000_0000_0000);
        assert_eq!(un(SimdUnary::F64x2Neg, v), 0x7ff0_0000_0000_0001_bff0_0000_0000_0000);
    }

    #[test]
    fn conversions_saturate_and_round() {
        let v = f32s([NAN32, 3e9, -3e9, -1.9]);
        assert_eq!(un(SimdUnary::I32x4TruncSatF32x4S, v), i32s([0, i32::MAX, i32::MIN, -1]));
        assert_eq!(un(SimdUnary::I32x4TruncSatF32x4U, v), u32s([0, 3_000_000_000, 0, 0]));
        assert_eq!(
            un(SimdUnary::I32x4TruncSatF32x4U, f32s([5e9, 1.9, -0.9, 0.0])),
            u32s([u32::MAX, 1, 0, 0])
        );
        let v = f64s([-2147483648.9, 2147483647.9]);
        assert_eq!(un(SimdUnary::I32x4TruncSatF64x2SZero, v), i32s([i32::MIN, i32::MAX, 0, 0]));
        assert_eq!(
            un(SimdUnary::I32x4TruncSatF64x2SZero, f64s([NAN64, 1e100])),
            i32s([0, i32::MAX, 0, 0])
        );
        assert_eq!(
            un(SimdUnary::I32x4TruncSatF64x2UZero, f64s([4294967295.9, -1.0])),
            u32s([u32::MAX, 0, 0, 0])
        );
        assert_eq!(
            un(SimdUnary::I32x4TruncSatF64x2UZero, f64s([NAN64, 1e100])),
            u32s([0, u32::MAX, 0, 0])
        );

        let v = i32s([-1, i32::MAX, 16777217, i32::MIN]);
        assert_eq!(
            un(SimdUnary::F32x4ConvertI32x4S, v),
            f32s([-1.0, 2147483648.0, 16777216.0, -2147483648.0])
        );
        assert_eq!(
            un(SimdUnary::F32x4ConvertI32x4U, v),
            f32s([4294967296.0, 2147483648.0, 16777216.0, 2147483648.0])
        );
        assert_eq!(un(SimdUnary::F64x2ConvertLowI32x4S, v), f64s([-1.0, 2147483647.0]));
        assert_eq!(un(SimdUnary::F64x2ConvertLowI32x4U, v), f64s([4294967295.0, 2147483647.0]));

        let v = f64s([0.1, 1e300]);
        assert_eq!(un(SimdUnary::F32x4DemoteF64x2Zero, v), f32s([0.1, f32::INFINITY, 0.0, 0.0]));
        assert!(f32_lanes(un(SimdUnary::F32x4DemoteF64x2Zero, f64s([NAN64, 0.0])))[0].is_nan());
        let v = f32s([0.1, -0.0, 7.0, 8.0]);
        assert_eq!(un(SimdUnary::F64x2PromoteLowF32x4, v), f64s([f64::from(0.1f32), -0.0]));
        assert_eq!(un(SimdUnary::F64x2PromoteLowF32x4, v) >> 64, (-0.0f64).to_bits().into());
    }

    /// Runs a relaxed operator as the interpreter does: classified, then computed.
    fn relaxed(op: Operator<'_>, operands: &[u128]) -> u128 {
        match (classify(&op).unwrap_or_else(|| panic!("{op:?} not classified")), operands) {
            (SimdOp::Unary(u), &[a]) => unary(u, a),
            (SimdOp::Binary(b), &[a, x]) => binary(b, a, x),
            (SimdOp::Ternary(t), &[a, b, c]) => ternary(t, a, b, c),
            (SimdOp::Bitselect, &[a, b, mask]) => bitselect(a, b, mask),
            (other, _) => panic!("{op:?} classified as {other:?} for {} operands", operands.len()),
        }
    }

    #[test]
    fn relaxed_swizzle_zeroes_every_index_of_16_or_more() {
        let a = u8s(std::array::from_fn(|i| 0xa0 + i as u8));
        // 16..128 could select lane `index % 16` on some hardware; 128.. is 0 everywhere.
        let indices =
            u8s([0, 15, 16, 17, 31, 0x7f, 0x80, 0xff, 3, 0x13, 0x23, 5, 0x40, 7, 0x8f, 1]);
        assert_eq!(
            relaxed(Operator::I8x16RelaxedSwizzle, &[a, indices]),
            u8s([0xa0, 0xaf, 0, 0, 0, 0, 0, 0, 0xa3, 0, 0, 0xa5, 0, 0xa7, 0, 0xa1])
        );
    }

    #[test]
    fn relaxed_truncations_saturate_and_send_nan_to_zero() {
        let v = f32s([NAN32, 3e9, -3e9, -1.9]);
        assert_eq!(
            relaxed(Operator::I32x4RelaxedTruncF32x4S, &[v]),
            i32s([0, i32::MAX, i32::MIN, -1])
        );
        assert_eq!(
            relaxed(Operator::I32x4RelaxedTruncF32x4U, &[v]),
            u32s([0, 3_000_000_000, 0, 0])
        );
        let v = f32s([f32::INFINITY, -f32::INFINITY, 4294967296.0, 2147483520.0]);
        assert_eq!(
            relaxed(Operator::I32x4RelaxedTruncF32x4S, &[v]),
            i32s([i32::MAX, i32::MIN, i32::MAX, 2147483520])
        );
        assert_eq!(
            relaxed(Operator::I32x4RelaxedTruncF32x4U, &[v]),
            u32s([u32::MAX, 0, u32::MAX, 2147483520])
        );
        // The upper two lanes are zero whatever the input.
        let v = f64s([NAN64, -2147483649.0]);
        assert_eq!(relaxed(Operator::I32x4RelaxedTruncF64x2SZero, &[v]), i32s([0, i32::MIN, 0, 0]));
        assert_eq!(relaxed(Operator::I32x4RelaxedTruncF64x2UZero, &[v]), u32s([0, 0, 0, 0]));
        let v = f64s([4294967296.0, -0.9]);
        assert_eq!(relaxed(Operator::I32x4RelaxedTruncF64x2SZero, &[v]), i32s([i32::MAX, 0, 0, 0]));
        assert_eq!(relaxed(Operator::I32x4RelaxedTruncF64x2UZero, &[v]), u32s([u32::MAX, 0, 0, 0]));
    }

    #[test]
    fn relaxed_laneselect_selects_bit_by_bit_whatever_the_lane_width() {
        let a = u128::MAX;
        let b = 0;
        // Lanes mixing set and cleared bits, with the top bit of each lane both set and cleared:
        // selecting by the top bit alone would give all ones or all zeros per lane.
        let mask = 0x8000_0001_7fff_fffe_0f0f_f0f0_8001_0180u128;
        for op in [
            Operator::I8x16RelaxedLaneselect,
            Operator::I16x8RelaxedLaneselect,
            Operator::I32x4RelaxedLaneselect,
            Operator::I64x2RelaxedLaneselect,
        ] {
            assert_eq!(relaxed(op.clone(), &[a, b, mask]), mask, "{op:?}");
            assert_eq!(relaxed(op.clone(), &[b, a, mask]), !mask, "{op:?}");
        }
        let a = u32s([0x1234_5678, 0x9abc_def0, 0x0f0f_0f0f, 0xffff_0000]);
        let b = u32s([0xcafe_babe, 0xdead_beef, 0xf0f0_f0f0, 0x0000_ffff]);
        let mask = u32s([0xffff_0000, 0x8000_0001, 0x0000_0000, 0x00ff_ff00]);
        assert_eq!(
            relaxed(Operator::I32x4RelaxedLaneselect, &[a, b, mask]),
            u32s([0x1234_babe, 0xdead_beee, 0xf0f0_f0f0, 0x00ff_00ff])
        );
    }

    #[test]
    fn relaxed_min_max_are_the_nan_propagating_ones() {
        let a = f32s([NAN32, 1.0, -0.0, 0.0]);
        let b = f32s([1.0, NAN32, 0.0, -0.0]);
        let min = f32_lanes(relaxed(Operator::F32x4RelaxedMin, &[a, b]));
        let max = f32_lanes(relaxed(Operator::F32x4RelaxedMax, &[a, b]));
        // Returning the other operand, as x86's minps does for one NaN, would be allowed too.
        assert!(min[0].is_nan() && min[1].is_nan() && max[0].is_nan() && max[1].is_nan());
        assert_eq!(min[2..].iter().map(|z| z.to_bits()).collect::<Vec<_>>(), [0x8000_0000; 2]);
        assert_eq!(max[2..].iter().map(|z| z.to_bits()).collect::<Vec<_>>(), [0; 2]);
        let a = f64s([-0.0, NAN64]);
        let b = f64s([0.0, -7.0]);
        let min = f64_lanes(relaxed(Operator::F64x2RelaxedMin, &[a, b]));
        let max = f64_lanes(relaxed(Operator::F64x2RelaxedMax, &[b, a]));
        assert_eq!(min[0].to_bits(), (-0.0f64).to_bits());
        assert_eq!(max[0].to_bits(), 0.0f64.to_bits());
        assert!(min[1].is_nan() && max[1].is_nan());
        assert_eq!(
            relaxed(Operator::F64x2RelaxedMax, &[f64s([1.0, -2.0]), f64s([3.0, -4.0])]),
            f64s([3.0, -2.0])
        );
    }

    #[test]
    fn relaxed_q15mulr_saturates_the_one_overflow() {
        let a = i16s([i16::MIN, i16::MIN, 16384, -16384, 0x4000, 1, i16::MAX, -1]);
        let b = i16s([i16::MIN, i16::MAX, 16384, 16384, 1, 1, i16::MAX, 16384]);
        assert_eq!(
            relaxed(Operator::I16x8RelaxedQ15mulrS, &[a, b]),
            i16s([i16::MAX, -32767, 8192, -8192, 1, 0, 32766, 0])
        );
    }

    #[test]
    fn relaxed_madd_rounds_twice_and_nmadd_negates_the_product() {
        // x * y = 1 + 2^-15 + 2^-22 + 2^-37 rounds to 1 + 2^-15 + 2^-22 = -z, so the unfused sum
        // is 0; fused, it would be 2^-37.
        let (x, y) = (1.0 + 2f32.powi(-22), 1.0 + 2f32.powi(-15));
        let z = -(1.0 + 2f32.powi(-15) + 2f32.powi(-22));
        // Doubling the largest float overflows unless fused.
        let operands = [
            f32s([x, f32::MAX, 2.0, NAN32]),
            f32s([y, 2.0, 3.0, 1.0]),
            f32s([z, -f32::MAX, 0.5, 1.0]),
        ];
        let madd = f32_lanes(relaxed(Operator::F32x4RelaxedMadd, &operands));
        assert_eq!(madd[..3], [0.0, f32::INFINITY, 6.5]);
        assert!(madd[3].is_nan());
        let negated = [f32s([-x, -f32::MAX, -2.0, NAN32]), operands[1], operands[2]];
        let nmadd = f32_lanes(relaxed(Operator::F32x4RelaxedNmadd, &negated));
        assert_eq!(nmadd[..3], [0.0, f32::INFINITY, 6.5]);
        assert!(nmadd[3].is_nan());

        // x * y = 1 + 2^-23 + 2^-30 + 2^-53, a tie, rounds to the even 1 + 2^-23 + 2^-30 = -z.
        let (x, y) = (1.0 + 2f64.powi(-30), 1.0 + 2f64.powi(-23));
        let z = -(1.0 + 2f64.powi(-23) + 2f64.powi(-30));
        let operands = [f64s([x, f64::MAX]), f64s([y, 2.0]), f64s([z, -f64::MAX])];
        assert_eq!(relaxed(Operator::F64x2RelaxedMadd, &operands), f64s([0.0, f64::INFINITY]));
        let negated = [f64s([-x, -f64::MAX]), operands[1], operands[2]];
        assert_eq!(relaxed(Operator::F64x2RelaxedNmadd, &negated), f64s([0.0, f64::INFINITY]));
        assert_eq!(
            relaxed(
                Operator::F64x2RelaxedNmadd,
                &[f64s([2.0, 1.5]), f64s([3.0, 2.0]), f64s([1.0, 0.0])]
            ),
            f64s([-5.0, -3.0])
        );
    }

    #[test]
    fn relaxed_dot_multiplies_signed_by_signed_and_saturates_pairs() {
        // The second operand's lanes above 127 (0x81 = -127, 0x80 = -128) are read as signed,
        // not as unsigned 129 and 128.
        let a = i8s([-128, -128, -128, -128, 127, 127, 1, 2, 3, -4, 0, 0, 0, 0, -128, 5]);
        let b = i8s([-127, -127, -128, -128, 127, 127, 10, 20, 5, 6, 0, 0, 0, 0, 1, -1]);
        assert_eq!(
            relaxed(Operator::I16x8RelaxedDotI8x16I7x16S, &[a, b]),
            i16s([32512, i16::MAX, 32258, 50, -9, 0, 0, -133])
        );
        let c = i32s([1, i32::MAX, -5, 7]);
        // Adjacent saturated i16 sums added as i32s (32512 + 32767, 32258 + 50, -9 + 0, 0 - 133),
        // plus `c`, wrapping.
        assert_eq!(
            relaxed(Operator::I32x4RelaxedDotI8x16I7x16AddS, &[a, b, c]),
            i32s([65280, i32::MAX.wrapping_add(32308), -14, -126])
        );
    }

    fn memory() -> Vec<u8> {
        (0..32u8).map(|i| i.wrapping_mul(17).wrapping_add(0x80)).collect()
    }

    #[test]
    fn loads_read_little_endian_and_widen() {
        let mem: Vec<u8> = (0..32).collect();
        let at = |kind, addr| load(kind, &mem, addr).unwrap();
        assert_eq!(at(SimdLoad::V128, 16), u8s(std::array::from_fn(|i| 16 + i as u8)));
        assert_eq!(at(SimdLoad::Splat8, 5), u8s([5; 16]));
        assert_eq!(at(SimdLoad::Splat16, 1), u16s([0x0201; 8]));
        assert_eq!(at(SimdLoad::Splat32, 4), u32s([0x0706_0504; 4]));
        assert_eq!(at(SimdLoad::Splat64, 8), 0x0f0e_0d0c_0b0a_0908_0f0e_0d0c_0b0a_0908);
        assert_eq!(at(SimdLoad::Zero32, 4), 0x0706_0504);
        assert_eq!(at(SimdLoad::Zero64, 0), 0x0706_0504_0302_0100);

        let mem = memory(); // bytes 0x80, 0x91, 0xa2, ...: the first ones have the top bit set.
        let at = |kind| load(kind, &mem, 0).unwrap();
        assert_eq!(at(SimdLoad::I8x8S), i16s([-128, -111, -94, -77, -60, -43, -26, -9]));
        assert_eq!(at(SimdLoad::I8x8U), i16s([0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7]));
        assert_eq!(
            at(SimdLoad::I16x4S),
            i32s([0x9180 - 0x10000, 0xb3a2 - 0x10000, 0xd5c4 - 0x10000, 0xf7e6 - 0x10000])
        );
        assert_eq!(at(SimdLoad::I16x4U), i32s([0x9180, 0xb3a2, 0xd5c4, 0xf7e6]));
        assert_eq!(
            at(SimdLoad::I32x2S),
            i64s([0xb3a2_9180u32 as i32 as i64, 0xf7e6_d5c4u32 as i32 as i64])
        );
        assert_eq!(at(SimdLoad::I32x2U), i64s([0xb3a2_9180, 0xf7e6_d5c4]));
    }

    #[test]
    fn loads_are_none_when_any_byte_is_out_of_bounds() {
        let mem = memory();
        let sizes = [
            (SimdLoad::V128, 16),
            (SimdLoad::I8x8S, 8),
            (SimdLoad::I8x8U, 8),
            (SimdLoad::I16x4S, 8),
            (SimdLoad::I16x4U, 8),
            (SimdLoad::I32x2S, 8),
            (SimdLoad::I32x2U, 8),
            (SimdLoad::Splat8, 1),
            (SimdLoad::Splat16, 2),
            (SimdLoad::Splat32, 4),
            (SimdLoad::Splat64, 8),
            (SimdLoad::Zero32, 4),
            (SimdLoad::Zero64, 8),
        ];
        for (kind, size) in sizes {
            let last = 32 - size;
            assert!(load(kind, &mem, last).is_some(), "{kind:?}");
            assert_eq!(load(kind, &mem, last + 1), None, "{kind:?}");
            assert_eq!(load(kind, &mem, 32), None, "{kind:?}");
            assert_eq!(load(kind, &mem, u64::MAX), None, "{kind:?}");
            assert_eq!(load(kind, &mem, u64::MAX - size + 1), None, "{kind:?}");
            assert_eq!(load(kind, &[], 0), None, "{kind:?}");
        }
    }

    #[test]
    fn lane_loads_and_stores() {
        let mem: Vec<u8> = (0..32).collect();
        let v = u128::MAX;
        let ll = |width, lane, addr| load_lane(width, lane, &mem, addr, v);
        assert_eq!(ll(LaneWidth::B8, 15, 3), Some(v >> 8 | 3 << 120));
        assert_eq!(ll(LaneWidth::B16, 1, 4), Some(v & !(0xffff << 16) | 0x0504 << 16));
        assert_eq!(ll(LaneWidth::B32, 0, 28), Some(v & !0xffff_ffff | 0x1f1e_1d1c));
        assert_eq!(ll(LaneWidth::B64, 1, 8), Some(v >> 64 | 0x0f0e_0d0c_0b0a_0908 << 64));
        assert_eq!(ll(LaneWidth::B32, 0, 29), None);
        assert_eq!(ll(LaneWidth::B64, 1, 25), None);
        assert_eq!(ll(LaneWidth::B8, 0, u64::MAX), None);
        assert_eq!(ll(LaneWidth::B16, 0, u64::MAX), None);

        let v = u8s(std::array::from_fn(|i| 0xa0 + i as u8));
        let mut mem = [0u8; 20];
        assert_eq!(store(&mut mem, 4, v), Some(()));
        assert_eq!(mem[..4], [0; 4]);
        assert_eq!(mem[4..], v.to_le_bytes());
        assert_eq!(store(&mut mem, 5, 0), None);
        assert_eq!(store(&mut mem, u64::MAX - 3, 0), None);
        assert_eq!(mem[4..], v.to_le_bytes(), "a failed store writes nothing");

        let mut mem = [0u8; 8];
        assert_eq!(store_lane(LaneWidth::B8, 15, &mut mem, 7, v), Some(()));
        assert_eq!(store_lane(LaneWidth::B16, 3, &mut mem, 0, v), Some(()));
        assert_eq!(mem, [0xa6, 0xa7, 0, 0, 0, 0, 0, 0xaf]);
        assert_eq!(store_lane(LaneWidth::B32, 2, &mut mem, 4, v), Some(()));
        assert_eq!(mem[4..], [0xa8, 0xa9, 0xaa, 0xab]);
        assert_eq!(store_lane(LaneWidth::B64, 1, &mut mem, 0, v), Some(()));
        assert_eq!(mem, [0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);
        assert_eq!(store_lane(LaneWidth::B64, 0, &mut mem, 1, v), None);
        assert_eq!(store_lane(LaneWidth::B32, 0, &mut mem, 5, v), None);
        assert_eq!(store_lane(LaneWidth::B8, 0, &mut mem, u64::MAX, v), None);
        assert_eq!(mem, [0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);
    }
}
