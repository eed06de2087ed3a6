//! The interpreter's bytecode: what a wasm function body is translated into, once, before it runs.
//!
//! The bytecode is slot-addressed (a register machine): every operand names a 16-byte slot of the
//! current frame, so no instruction pushes or pops. A frame is laid out as
//!
//! ```text
//! fp -> [params][locals][result padding][constants][temporaries: one slot per wasm stack height]
//! ```
//!
//! Branch targets are offsets (in instructions, as `i32` bits) from the instruction after the
//! branch, so the executor needs no code base. The only backward branches are branches to loop
//! headers, so the executor counts a back-edge whenever a branch goes backwards.
//!
//! Constants are deduplicated per function and copied into the frame on entry, so an operand is always
//! just a slot index and `i32.const` inside a loop costs nothing. Each instruction is at most 16 bytes
//! (checked below) so the dispatch loop copies one small value per step.

use super::simd::{LaneWidth, SimdBinary, SimdLoad, SimdUnary};
use crate::vm::frame::FrameLayout;

/// A frame-relative slot: an index while translating, a byte offset (`index * 16`) in the code the
/// executor runs (see [`Instr::scale_slots`]).
pub type Slot = u32;

/// A translated function body, ready to execute.
#[derive(Debug)]
pub struct InterpFunc {
    pub code: Box<[Instr]>,
    /// The function's frame, which every tier shares. Its `frame_init` is copied over the slots
    /// right after the parameters on every entry: zeros for the declared locals and the result
    /// padding, then the constants. One copy sets up both, because the two regions are adjacent.
    pub layout: FrameLayout,
    /// The instruction index of each loop's header, by the loop's ordinal in the body (every
    /// `loop` operator counts, `u32::MAX` for loops in dead code): how on-stack replacement finds
    /// tier 1's entry for the loop the interpreter is in.
    pub loop_headers: Box<[u32]>,
}

macro_rules! define_instrs {
    (
        $( $(#[$meta:meta])* $name:ident $( { $($field:ident : $ty:ident),* $(,)? } )? ),* $(,)?
    ) => {
        /// One bytecode instruction. Branch targets are relative offsets (see the module doc).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Instr {
            $( $(#[$meta])* $name $( { $($field: $ty),* } )? ),*
        }

        impl Instr {
            /// Turns every slot operand from a slot index into its byte offset from the frame
            /// pointer (`index * 16`), the form the executor addresses with: x86 and aarch64
            /// addressing modes scale by at most 8, so a pre-scaled offset saves a shift per
            /// operand in the dispatch loop.
            pub fn scale_slots(&mut self) {
                match self {
                    $( Instr::$name $( { $($field),* } )? => {
                        $( $( scale_slot!($ty, $field); )* )?
                    } )*
                }
            }
        }
    };
}

/// Scales one field if its declared type is `Slot`.
macro_rules! scale_slot {
    (Slot, $field:ident) => {
        *$field *= SLOT_BYTES
    };
    ($other:ident, $field:ident) => {
        let _ = $field;
    };
}

pub use crate::vm::frame::SLOT_BYTES;

define_instrs! {
    // ---- control ----
    Unreachable,
    /// Consumes `amount` units of fuel (only emitted when fuel is enabled).
    ConsumeFuel { amount: u32 },
    Br { target: u32 },
    BrIfNez { cond: Slot, target: u32 },
    BrIfEqz { cond: Slot, target: u32 },
    /// Compare-and-branch: jumps when the `i32` comparison of `a` and `b` holds. The translator fuses
    /// a comparison with the `br_if` or `if` that consumes it.
    BrIfI32Eq { a: Slot, b: Slot, target: u32 },
    BrIfI32Ne { a: Slot, b: Slot, target: u32 },
    BrIfI32LtS { a: Slot, b: Slot, target: u32 },
    BrIfI32LtU { a: Slot, b: Slot, target: u32 },
    BrIfI32GtS { a: Slot, b: Slot, target: u32 },
    BrIfI32GtU { a: Slot, b: Slot, target: u32 },
    BrIfI32LeS { a: Slot, b: Slot, target: u32 },
    BrIfI32LeU { a: Slot, b: Slot, target: u32 },
    BrIfI32GeS { a: Slot, b: Slot, target: u32 },
    BrIfI32GeU { a: Slot, b: Slot, target: u32 },
    /// Jumps to the `min(index, len)`-th of the `len + 1` branch instructions that follow.
    BrTable { index: Slot, len: u32 },
    /// Returns; the results are already in slots `0..n`.
    Return,
    /// Calls function `func` (module index space) with its arguments in slots `base..`; results land there.
    Call { func: u32, base: Slot },
    /// Calls through `table`; arguments in `base..base+n`, the table index in `base+n`.
    CallIndirect { ty: u32, table: u32, base: Slot },

    // ---- data movement ----
    Copy { dst: Slot, src: Slot },
    /// `dst = cond != 0 ? dst : other` (the first operand is already in `dst`).
    Select { dst: Slot, cond: Slot, other: Slot },
    GlobalGet { dst: Slot, global: u32 },
    GlobalSet { src: Slot, global: u32 },
    RefIsNull { dst: Slot, src: Slot },
    RefFunc { dst: Slot, func: u32 },

    // ---- memory ----
    I32Load { dst: Slot, addr: Slot, offset: u32 },
    I64Load { dst: Slot, addr: Slot, offset: u32 },
    I32Load8S { dst: Slot, addr: Slot, offset: u32 },
    I32Load8U { dst: Slot, addr: Slot, offset: u32 },
    I32Load16S { dst: Slot, addr: Slot, offset: u32 },
    I32Load16U { dst: Slot, addr: Slot, offset: u32 },
    I64Load8S { dst: Slot, addr: Slot, offset: u32 },
    I64Load8U { dst: Slot, addr: Slot, offset: u32 },
    I64Load16S { dst: Slot, addr: Slot, offset: u32 },
    I64Load16U { dst: Slot, addr: Slot, offset: u32 },
    I64Load32S { dst: Slot, addr: Slot, offset: u32 },
    I64Load32U { dst: Slot, addr: Slot, offset: u32 },
    I32Store { addr: Slot, val: Slot, offset: u32 },
    I64Store { addr: Slot, val: Slot, offset: u32 },
    I32Store8 { addr: Slot, val: Slot, offset: u32 },
    I32Store16 { addr: Slot, val: Slot, offset: u32 },
    MemorySize { dst: Slot },
    MemoryGrow { dst: Slot, delta: Slot },
    /// Operands (dst, value, len) in `base..base+3`.
    MemoryFill { base: Slot },
    /// Operands (dst, src, len) in `base..base+3`.
    MemoryCopy { base: Slot },
    /// Operands (dst, src, len) in `base..base+3`.
    MemoryInit { segment: u32, base: Slot },
    DataDrop { segment: u32 },

    // ---- tables ----
    TableGet { dst: Slot, table: u32, index: Slot },
    /// Operands (index, value) in `base..base+2`.
    TableSet { table: u32, base: Slot },
    TableSize { dst: Slot, table: u32 },
    /// Operands (init, delta) in `base..base+2`; the result replaces `init`.
    TableGrow { table: u32, base: Slot },
    /// Operands (index, value, len) in `base..base+3`.
    TableFill { table: u32, base: Slot },
    /// Operands (dst, src, len) in `base..base+3`.
    TableCopy { dst_table: u32, src_table: u32, base: Slot },
    /// Operands (dst, src, len) in `base..base+3`.
    TableInit { table: u32, segment: u32, base: Slot },
    ElemDrop { segment: u32 },

    // ---- SIMD (semantics in `simd.rs`) ----
    V128Unary { op: SimdUnary, dst: Slot, src: Slot },
    V128Binary { op: SimdBinary, dst: Slot, a: Slot, b: Slot },
    /// `dst = bitselect(dst, b, mask)`.
    V128Bitselect { dst: Slot, b: Slot, mask: Slot },
    /// `dst = shuffle(lanes, dst, b)` where `lanes` is a constant slot holding the 16 indices.
    V128Shuffle { dst: Slot, b: Slot, lanes: Slot },
    V128Load { kind: SimdLoad, dst: Slot, addr: Slot, offset: u32 },
    /// `dst` holds the vector to update; `lane` is packed with the width.
    V128LoadLane { width: LaneWidth, lane: u8, dst: Slot, addr: Slot, offset: u32 },
    V128Store { addr: Slot, val: Slot, offset: u32 },
    V128StoreLane { width: LaneWidth, lane: u8, addr: Slot, val: Slot, offset: u32 },

    // ---- numeric: (dst, src) unary and (dst, a, b) binary, one variant per operator ----
    I32Eqz { dst: Slot, src: Slot }, I64Eqz { dst: Slot, src: Slot },
    I32Clz { dst: Slot, src: Slot }, I32Ctz { dst: Slot, src: Slot }, I32Popcnt { dst: Slot, src: Slot },
    I64Clz { dst: Slot, src: Slot }, I64Ctz { dst: Slot, src: Slot }, I64Popcnt { dst: Slot, src: Slot },
    I32Extend8S { dst: Slot, src: Slot }, I32Extend16S { dst: Slot, src: Slot },
    I64Extend8S { dst: Slot, src: Slot }, I64Extend16S { dst: Slot, src: Slot },
    I64Extend32S { dst: Slot, src: Slot },
    I32WrapI64 { dst: Slot, src: Slot }, I64ExtendI32S { dst: Slot, src: Slot },
    I64ExtendI32U { dst: Slot, src: Slot },
    F32Abs { dst: Slot, src: Slot }, F32Neg { dst: Slot, src: Slot }, F32Ceil { dst: Slot, src: Slot },
    F32Floor { dst: Slot, src: Slot }, F32Trunc { dst: Slot, src: Slot },
    F32Nearest { dst: Slot, src: Slot }, F32Sqrt { dst: Slot, src: Slot },
    F64Abs { dst: Slot, src: Slot }, F64Neg { dst: Slot, src: Slot }, F64Ceil { dst: Slot, src: Slot },
    F64Floor { dst: Slot, src: Slot }, F64Trunc { dst: Slot, src: Slot },
    F64Nearest { dst: Slot, src: Slot }, F64Sqrt { dst: Slot, src: Slot },
    I32TruncF32S { dst: Slot, src: Slot }, I32TruncF32U { dst: Slot, src: Slot },
    I32TruncF64S { dst: Slot, src: Slot }, I32TruncF64U { dst: Slot, src: Slot },
    I64TruncF32S { dst: Slot, src: Slot }, I64TruncF32U { dst: Slot, src: Slot },
    I64TruncF64S { dst: Slot, src: Slot }, I64TruncF64U { dst: Slot, src: Slot },
    I32TruncSatF32S { dst: Slot, src: Slot }, I32TruncSatF32U { dst: Slot, src: Slot },
    I32TruncSatF64S { dst: Slot, src: Slot }, I32TruncSatF64U { dst: Slot, src: Slot },
    I64TruncSatF32S { dst: Slot, src: Slot }, I64TruncSatF32U { dst: Slot, src: Slot },
    I64TruncSatF64S { dst: Slot, src: Slot }, I64TruncSatF64U { dst: Slot, src: Slot },
    F32ConvertI32S { dst: Slot, src: Slot }, F32ConvertI32U { dst: Slot, src: Slot },
    F32ConvertI64S { dst: Slot, src: Slot }, F32ConvertI64U { dst: Slot, src: Slot },
    F64ConvertI32S { dst: Slot, src: Slot }, F64ConvertI32U { dst: Slot, src: Slot },
    F64ConvertI64S { dst: Slot, src: Slot }, F64ConvertI64U { dst: Slot, src: Slot },
    F32DemoteF64 { dst: Slot, src: Slot }, F64PromoteF32 { dst: Slot, src: Slot },

    I32Eq { dst: Slot, a: Slot, b: Slot }, I32Ne { dst: Slot, a: Slot, b: Slot },
    I32LtS { dst: Slot, a: Slot, b: Slot }, I32LtU { dst: Slot, a: Slot, b: Slot },
    I32GtS { dst: Slot, a: Slot, b: Slot }, I32GtU { dst: Slot, a: Slot, b: Slot },
    I32LeS { dst: Slot, a: Slot, b: Slot }, I32LeU { dst: Slot, a: Slot, b: Slot },
    I32GeS { dst: Slot, a: Slot, b: Slot }, I32GeU { dst: Slot, a: Slot, b: Slot },
    I64Eq { dst: Slot, a: Slot, b: Slot }, I64Ne { dst: Slot, a: Slot, b: Slot },
    I64LtS { dst: Slot, a: Slot, b: Slot }, I64LtU { dst: Slot, a: Slot, b: Slot },
    I64GtS { dst: Slot, a: Slot, b: Slot }, I64GtU { dst: Slot, a: Slot, b: Slot },
    I64LeS { dst: Slot, a: Slot, b: Slot }, I64LeU { dst: Slot, a: Slot, b: Slot },
    I64GeS { dst: Slot, a: Slot, b: Slot }, I64GeU { dst: Slot, a: Slot, b: Slot },
    F32Eq { dst: Slot, a: Slot, b: Slot }, F32Ne { dst: Slot, a: Slot, b: Slot },
    F32Lt { dst: Slot, a: Slot, b: Slot }, F32Gt { dst: Slot, a: Slot, b: Slot },
    F32Le { dst: Slot, a: Slot, b: Slot }, F32Ge { dst: Slot, a: Slot, b: Slot },
    F64Eq { dst: Slot, a: Slot, b: Slot }, F64Ne { dst: Slot, a: Slot, b: Slot },
    F64Lt { dst: Slot, a: Slot, b: Slot }, F64Gt { dst: Slot, a: Slot, b: Slot },
    F64Le { dst: Slot, a: Slot, b: Slot }, F64Ge { dst: Slot, a: Slot, b: Slot },
    I32Add { dst: Slot, a: Slot, b: Slot }, I32Sub { dst: Slot, a: Slot, b: Slot },
    I32Mul { dst: Slot, a: Slot, b: Slot }, I32DivS { dst: Slot, a: Slot, b: Slot },
    I32DivU { dst: Slot, a: Slot, b: Slot }, I32RemS { dst: Slot, a: Slot, b: Slot },
    I32RemU { dst: Slot, a: Slot, b: Slot }, I32And { dst: Slot, a: Slot, b: Slot },
    I32Or { dst: Slot, a: Slot, b: Slot }, I32Xor { dst: Slot, a: Slot, b: Slot },
    I32Shl { dst: Slot, a: Slot, b: Slot }, I32ShrS { dst: Slot, a: Slot, b: Slot },
    I32ShrU { dst: Slot, a: Slot, b: Slot }, I32Rotl { dst: Slot, a: Slot, b: Slot },
    I32Rotr { dst: Slot, a: Slot, b: Slot },
    I64Add { dst: Slot, a: Slot, b: Slot }, I64Sub { dst: Slot, a: Slot, b: Slot },
    I64Mul { dst: Slot, a: Slot, b: Slot }, I64DivS { dst: Slot, a: Slot, b: Slot },
    I64DivU { dst: Slot, a: Slot, b: Slot }, I64RemS { dst: Slot, a: Slot, b: Slot },
    I64RemU { dst: Slot, a: Slot, b: Slot }, I64And { dst: Slot, a: Slot, b: Slot },
    I64Or { dst: Slot, a: Slot, b: Slot }, I64Xor { dst: Slot, a: Slot, b: Slot },
    I64Shl { dst: Slot, a: Slot, b: Slot }, I64ShrS { dst: Slot, a: Slot, b: Slot },
    I64ShrU { dst: Slot, a: Slot, b: Slot }, I64Rotl { dst: Slot, a: Slot, b: Slot },
    I64Rotr { dst: Slot, a: Slot, b: Slot },
    F32Add { dst: Slot, a: Slot, b: Slot }, F32Sub { dst: Slot, a: Slot, b: Slot },
    F32Mul { dst: Slot, a: Slot, b: Slot }, F32Div { dst: Slot, a: Slot, b: Slot },
    F32Min { dst: Slot, a: Slot, b: Slot }, F32Max { dst: Slot, a: Slot, b: Slot },
    F32Copysign { dst: Slot, a: Slot, b: Slot },
    F64Add { dst: Slot, a: Slot, b: Slot }, F64Sub { dst: Slot, a: Slot, b: Slot },
    F64Mul { dst: Slot, a: Slot, b: Slot }, F64Div { dst: Slot, a: Slot, b: Slot },
    F64Min { dst: Slot, a: Slot, b: Slot }, F64Max { dst: Slot, a: Slot, b: Slot },
    F64Copysign { dst: Slot, a: Slot, b: Slot },
}

// Keeping instructions small keeps the dispatch loop's working set small.
const _: () = assert!(std::mem::size_of::<Instr>() <= 16);
