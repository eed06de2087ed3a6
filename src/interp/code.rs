//! The interpreter's bytecode: what a wasm function body is translated into, once, before it runs.
//!
//! The bytecode is threaded code for a register machine. Each instruction is the address of its
//! handler (a Rust function in `handlers.rs`) followed by its operands, packed without padding:
//!
//! ```text
//! ip -> [handler: fn pointer][operands: a #[repr(C, packed)] struct of this module]
//! ```
//!
//! so executing an instruction is one indirect call (or jump) through the word at `ip`, and each
//! handler knows how long its instruction is. Operands are slots, immediates or branch offsets:
//! - a slot is the byte offset (`index * SLOT_BYTES`) from the frame pointer of a 16-byte slot of
//!   the current frame (`vm::frame`): `[params][locals][result padding][temporaries]`;
//! - an immediate is a constant folded into the instruction (`i32.const` and friends never occupy
//!   a slot, so entering a function copies no constant pool);
//! - a branch offset is in bytes from the start of the branch instruction. The only backward
//!   branches are branches to loop headers, so a backward branch is a loop back-edge.
//!
//! The code is built once per function by `translate.rs` and never changes afterwards; it ends in
//! an instruction that never falls through (a return, a branch or a trap).

use super::exec::Executor;
use crate::vm::frame::FrameLayout;
use std::mem::{MaybeUninit, size_of};

pub use crate::vm::frame::SLOT_BYTES;

/// A frame-relative slot: the byte offset of a slot from the frame pointer.
pub type Slot = u32;

/// What a handler returns once execution leaves the chain of handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Not done: the next instruction's state waits in the executor (`Executor::resume`). The
    /// loop dispatch returns this after every instruction; the tail dispatch only when its
    /// host-stack guard trips.
    Continue,
    /// The function the interpreter was entered for returned; its results are in place.
    Return,
    /// A trap, waiting in the executor.
    Trap,
    /// The function the interpreter was entered for left by a tail call the interpreter does not
    /// run itself: the callee waits in the store for the entry's caller
    /// (`vmctx::TAIL_CALL_PENDING`).
    TailCall,
}

/// The base of linear memory 0 (dangling without one); with its length, a handler argument.
pub type Mem = *mut u8;

/// One instruction's behaviour: runs the instruction at `ip` in the frame at `fp`, with memory 0 at
/// `mem` (`len` accessible bytes), then continues with the next instruction (see `dispatch!`).
/// `acc` is the accumulator: every instruction that writes a result slot leaves the result's low
/// 64 bits there too, and an instruction right after it may read its operand there instead of
/// from the slot (the translator chooses such a handler only where nothing else can run in
/// between), so values passed from one instruction to the next stay in a register.
pub type Handler = fn(ip: Ip, fp: Fp, mem: Mem, len: usize, ex: &mut Executor, acc: u64) -> Flow;

/// Bytes of the handler word that starts every instruction.
pub const HANDLER_BYTES: usize = size_of::<Handler>();

/// A translated function body, ready to execute.
#[derive(Debug)]
pub struct InterpFunc {
    /// The instructions (see the module doc). `MaybeUninit` because operand structs may hold
    /// enums with padding bytes; every byte an instruction reads was written as that type.
    pub code: Box<[MaybeUninit<u8>]>,
    /// The function's frame, which every tier shares: its `frame_init` (zeros for the declared
    /// locals and the result padding) is written over the slots after the parameters on entry.
    pub layout: FrameLayout,
    /// The byte offset in `code` of each loop's header, by the loop's ordinal in the body (every
    /// `loop` operator counts, `u32::MAX` for loops in dead code): how on-stack replacement finds
    /// tier 1's entry for the loop the interpreter is in.
    pub loop_headers: Box<[u32]>,
    /// The call path's view of `layout`: bytes from the frame pointer to the first slot to zero.
    pub zero_from: u32,
    /// Slots to zero on entry (`frame_init.len()`).
    pub zero_slots: u32,
    /// Bytes the frame needs (`frame_size * SLOT_BYTES`).
    pub frame_bytes: u32,
    /// For a debug translation (`super::debug`) only: what each of its hooks knows.
    pub debug: Option<Box<super::debug::DebugInfo>>,
    /// Which wasm operator each instruction came from, for backtraces.
    pub wasm_offsets: WasmOffsets,
    /// Every `try_table`'s body, inner ones before the ones around them: read only when an
    /// exception passes (`Executor::catch_in_frame`).
    pub try_ranges: Box<[TryRange]>,
}

/// A `try_table`: the code its body translated to and its catch clauses, in order.
#[derive(Debug)]
pub struct TryRange {
    /// Code offsets of the body, `start..end`.
    pub start: u32,
    pub end: u32,
    pub catches: Box<[CatchPad]>,
}

/// One catch clause of a [`TryRange`]: what it catches, where its values go and where the code
/// branching to its label (with those values in place) starts.
#[derive(Clone, Copy, Debug)]
pub struct CatchPad {
    /// Module tag index, or `vm::exception::CATCH_ALL`.
    pub tag: u32,
    /// `catch_ref`/`catch_all_ref`: the `exnref` follows the payload.
    pub with_ref: bool,
    /// The slot of the first value: the temporary at the `try_table`'s height.
    pub dest: Slot,
    /// Code offset of the pad.
    pub pad: u32,
}

impl InterpFunc {
    /// The first instruction.
    pub fn start(&self) -> Ip {
        Ip(self.code.as_ptr().cast())
    }

    /// The instruction at code offset `offset`, which must start one.
    pub fn ip_at(&self, offset: u32) -> Ip {
        assert!((offset as usize) < self.code.len(), "an offset inside the code");
        // SAFETY: inside the code's allocation, checked above.
        Ip(unsafe { self.code.as_ptr().cast::<u8>().add(offset as usize) })
    }

    /// The catch clauses in scope at code offset `pos`, innermost `try_table` first.
    pub fn catches_at(&self, pos: u32) -> impl Iterator<Item = &CatchPad> {
        self.try_ranges
            .iter()
            .filter(move |range| (range.start..range.end).contains(&pos))
            .flat_map(|range| range.catches.iter())
    }

    /// Whether `ip` points into this code.
    pub fn contains(&self, ip: Ip) -> bool {
        let start = self.code.as_ptr() as usize;
        (start..start + self.code.len()).contains(&(ip.0 as usize))
    }
}

/// Code position -> module byte offset of the wasm operator an instruction was translated from:
/// a side table read only when a trap passes (never on the path of an instruction). Stored as
/// runs, one per instruction whose operator differs from the previous instruction's, each the
/// LEB128 deltas of its code position and of its wasm offset (both only grow: instructions are
/// emitted in operator order), about two bytes an instruction.
#[derive(Debug, Default)]
pub struct WasmOffsets {
    /// The module offset of the body's first operator: where a frame is before its first
    /// instruction runs (a call that overflows the stack on entry).
    pub entry: u32,
    runs: Box<[u8]>,
}

impl WasmOffsets {
    /// The module offset of the operator the instruction at code position `pos` (or the one that
    /// contains `pos`) was translated from.
    pub fn at(&self, pos: u32) -> u32 {
        let mut found = self.entry;
        let (mut code, mut wasm, mut bytes) = (0u32, self.entry, &self.runs[..]);
        while !bytes.is_empty() {
            code += leb128(&mut bytes);
            wasm += leb128(&mut bytes);
            if code > pos {
                break;
            }
            found = wasm;
        }
        found
    }
}

/// Reads one unsigned LEB128 number from the front of `bytes`.
fn leb128(bytes: &mut &[u8]) -> u32 {
    let (mut value, mut shift) = (0u32, 0);
    while let Some((&byte, rest)) = bytes.split_first() {
        *bytes = rest;
        value |= u32::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    value
}

/// Builds a [`WasmOffsets`] as the translator emits (and takes back) instructions.
#[derive(Debug, Default)]
pub struct WasmOffsetsBuilder {
    /// `(code position, wasm offset)` where each run starts, ascending.
    runs: Vec<(u32, u32)>,
}

impl WasmOffsetsBuilder {
    /// The instruction at code position `pos` comes from the operator at module offset `wasm`;
    /// runs at or after `pos` belong to instructions taken back.
    pub fn note(&mut self, pos: usize, wasm: u32) {
        let pos = pos as u32;
        while self.runs.last().is_some_and(|&(at, _)| at >= pos) {
            self.runs.pop();
        }
        if self.runs.last().is_none_or(|&(_, last)| last != wasm) {
            self.runs.push((pos, wasm));
        }
    }

    /// The table for code of `len` bytes whose body's first operator is at module offset
    /// `entry`.
    pub fn finish(mut self, entry: u32, len: usize) -> WasmOffsets {
        while self.runs.last().is_some_and(|&(at, _)| at as usize >= len) {
            self.runs.pop();
        }
        let mut runs = Vec::with_capacity(self.runs.len() * 2);
        let (mut code, mut wasm) = (0u32, entry);
        for (at, offset) in self.runs {
            // Offsets only grow in emission order; a smaller one would be a translator change
            // this table must follow, and is clamped rather than wrapped meanwhile.
            debug_assert!(offset >= wasm, "wasm offsets in emission order");
            let offset = offset.max(wasm);
            push_leb128(&mut runs, at - code);
            push_leb128(&mut runs, offset - wasm);
            (code, wasm) = (at, offset);
        }
        WasmOffsets { entry, runs: runs.into_boxed_slice() }
    }
}

/// Appends `value` as unsigned LEB128.
fn push_leb128(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An instruction pointer: the address of an instruction's handler word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Ip(*const u8);

impl Ip {
    /// An instruction pointer that points nowhere (never dispatched).
    pub fn dangling() -> Ip {
        Ip(std::ptr::null())
    }

    /// The handler of the instruction at `self`.
    ///
    /// # Safety
    /// `self` must point at an instruction of live code.
    #[inline(always)]
    pub unsafe fn handler(self) -> Handler {
        // SAFETY: guaranteed by the caller; the word was written as a `Handler`.
        unsafe { self.0.cast::<Handler>().read_unaligned() }
    }

    /// The operands of the instruction at `self`.
    ///
    /// # Safety
    /// `self` must point at an instruction of live code whose operands are a `T`.
    #[inline(always)]
    pub unsafe fn operands<T: Copy>(self) -> T {
        // SAFETY: guaranteed by the caller; the operands were written as a `T`.
        unsafe { self.0.add(HANDLER_BYTES).cast::<T>().read_unaligned() }
    }

    /// The instruction after the one at `self`, whose operands are a `T`.
    ///
    /// # Safety
    /// As for [`Ip::operands`]; the code goes on after the instruction (it never ends in one
    /// that falls through).
    #[inline(always)]
    pub unsafe fn skip<T>(self) -> Ip {
        // SAFETY: guaranteed by the caller.
        Ip(unsafe { self.0.add(HANDLER_BYTES + size_of::<T>()) })
    }

    /// The instruction `offset` bytes from `self`.
    ///
    /// # Safety
    /// `offset` must be a branch offset the translator computed for the branch at `self`.
    #[inline(always)]
    pub unsafe fn jump(self, offset: i32) -> Ip {
        // SAFETY: guaranteed by the caller: branch targets are instructions of the same code.
        Ip(unsafe { self.0.offset(offset as isize) })
    }

    /// `self`'s byte offset from `start` (both in the same code).
    pub fn offset_from(self, start: Ip) -> usize {
        self.0 as usize - start.0 as usize
    }

    /// A pointer to `bytes` bytes after `self` (for tables of offsets after an instruction).
    ///
    /// # Safety
    /// The result must stay inside the code.
    #[inline(always)]
    pub unsafe fn byte_add(self, bytes: usize) -> *const u8 {
        // SAFETY: guaranteed by the caller.
        unsafe { self.0.add(bytes) }
    }
}

/// A frame pointer: the address of slot 0 of a frame on the value stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Fp(*mut u8);

impl Fp {
    pub fn new(ptr: *mut u128) -> Fp {
        Fp(ptr.cast())
    }

    pub fn as_ptr(self) -> *mut u128 {
        self.0.cast()
    }

    /// Reads the value at the start of `slot`.
    ///
    /// # Safety
    /// `slot` must be a slot of the live frame at `self`; `T` at most 16 bytes.
    #[inline(always)]
    pub unsafe fn get<T: Copy>(self, slot: Slot) -> T {
        // SAFETY: guaranteed by the caller; slots are 16-byte aligned.
        unsafe { self.0.add(slot as usize).cast::<T>().read() }
    }

    /// Writes `value` at the start of `slot`.
    ///
    /// # Safety
    /// As for [`Fp::get`].
    #[inline(always)]
    pub unsafe fn set<T: SlotValue>(self, slot: Slot, value: T) {
        let value = value.widen();
        // SAFETY: guaranteed by the caller; slots are 16-byte aligned.
        unsafe { self.0.add(slot as usize).cast::<T::Stored>().write(value) }
    }

    /// The frame starting at `slot` (a callee's, whose arguments are there). Wrapping: the
    /// callee's frame is checked against the stack's end before it is used.
    #[inline(always)]
    pub fn at(self, slot: Slot) -> Fp {
        Fp(self.0.wrapping_add(slot as usize))
    }

    /// The address `bytes` past `self` (for the frame-size check), wrapping.
    #[inline(always)]
    pub fn end(self, bytes: u32) -> *mut u8 {
        self.0.wrapping_add(bytes as usize)
    }
}

/// A value as a slot stores it: 32-bit values zero-extended to 64 bits. A load wider than the
/// store it reads from cannot take its value from the store buffer and waits for the store to
/// reach the cache (a store-forwarding stall of a dozen cycles on current x86-64 cores), and
/// copies, selects and returns read 16 bytes; so every store writes at least the 8 bytes a
/// scalar read may cover. The upper half of a 16-byte slot may keep stale bytes, which no read of
/// a scalar looks at.
pub trait SlotValue: Copy {
    type Stored: Copy;
    fn widen(self) -> Self::Stored;
    /// The value as the accumulator holds it: its low 64 bits, zero-extended.
    fn acc(self) -> u64;
}

impl SlotValue for u32 {
    type Stored = u64;
    #[inline(always)]
    fn widen(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn acc(self) -> u64 {
        self as u64
    }
}

impl SlotValue for u64 {
    type Stored = u64;
    #[inline(always)]
    fn widen(self) -> u64 {
        self
    }
    #[inline(always)]
    fn acc(self) -> u64 {
        self
    }
}

impl SlotValue for u128 {
    type Stored = u128;
    #[inline(always)]
    fn widen(self) -> u128 {
        self
    }
    #[inline(always)]
    fn acc(self) -> u64 {
        self as u64
    }
}

/// Code under construction: the translator's output buffer.
#[derive(Default)]
pub struct CodeBuf {
    bytes: Vec<MaybeUninit<u8>>,
}

impl CodeBuf {
    /// Appends the instruction `handler(operands)`; returns where it starts.
    #[inline]
    pub fn emit<T: Copy>(&mut self, handler: Handler, operands: T) -> usize {
        let at = self.bytes.len();
        self.push(handler);
        self.push(operands);
        at
    }

    /// Appends one value's bytes.
    #[inline]
    pub fn push<T: Copy>(&mut self, value: T) {
        let n = size_of::<T>();
        self.bytes.reserve(n);
        // SAFETY: `reserve` made room for `n` bytes after the initialized ones; the bytes are
        // `MaybeUninit`, so writing a `T` with padding leaves nothing claimed initialized that
        // is not.
        unsafe {
            let end = self.bytes.as_mut_ptr().add(self.bytes.len());
            end.cast::<T>().write_unaligned(value);
            self.bytes.set_len(self.bytes.len() + n);
        }
    }

    /// Overwrites the `T` at byte `at` (which an earlier `push` wrote as a `T`).
    #[inline]
    pub fn patch<T: Copy>(&mut self, at: usize, value: T) {
        assert!(at + size_of::<T>() <= self.bytes.len(), "patch inside the code");
        // SAFETY: in bounds (checked above); unaligned write into `MaybeUninit` bytes.
        unsafe { self.bytes.as_mut_ptr().add(at).cast::<T>().write_unaligned(value) }
    }

    /// Reads the `T` at byte `at` (which an earlier `push` wrote as a `T`).
    #[inline]
    pub fn read<T: Copy>(&self, at: usize) -> T {
        assert!(at + size_of::<T>() <= self.bytes.len(), "read inside the code");
        // SAFETY: in bounds (checked above); those bytes were written as a `T` (caller).
        unsafe { self.bytes.as_ptr().add(at).cast::<T>().read_unaligned() }
    }

    /// Drops everything from byte `at` on (an instruction the translator takes back).
    pub fn truncate(&mut self, at: usize) {
        self.bytes.truncate(at);
    }

    /// Bytes so far: where the next instruction starts.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn finish(self) -> Box<[MaybeUninit<u8>]> {
        self.bytes.into_boxed_slice()
    }
}

/// Declares operand structs: packed (no padding, read unaligned), `Copy`.
macro_rules! operands {
    ($( $(#[$meta:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? } )*) => {
        $(
            $(#[$meta])*
            #[repr(C, packed)]
            #[derive(Clone, Copy, Debug)]
            pub struct $name { $(pub $field: $ty),* }
        )*
    };
}

// Every operand struct whose instruction writes a result the translator may redirect (to a local,
// for `local.set`) has that result slot as its first field, `dst`: see `DST_AT`.
operands! {
    /// No operands.
    Nothing {}
    /// `dst = op(src)`.
    Un { dst: Slot, src: Slot }
    /// `dst = op(a, b)`.
    Bin { dst: Slot, a: Slot, b: Slot }
    /// `dst = (a op1 b) op2 c` (or `c op2 (a op1 b)`): a float operator fused into the one that
    /// consumes its result (rounded twice, as the two operators are).
    FloatThen { dst: Slot, c: Slot, a: Slot, b: Slot }
    /// `dst = op(a, imm)` (or `op(imm, a)`), 32-bit immediate.
    BinI32 { dst: Slot, a: Slot, imm: u32 }
    /// `dst = op(a, imm)` (or `op(imm, a)`), 64-bit immediate.
    BinI64 { dst: Slot, a: Slot, imm: u64 }
    /// Two `i32.add`s of immediates in one instruction: `dst0 = a0 + imm0`, then
    /// `dst = a + imm` (the second's operands first, so `dst` is where `DST_AT` says).
    AddRi2 { dst: Slot, a: Slot, imm: u32, dst0: Slot, a0: Slot, imm0: u32 }
    /// `dst = a + b * scale` on i32 (wrapping): an `i32.mul` or `i32.shl` of an immediate fused
    /// into the `i32.add` that consumes it (scaled indexes).
    AddScaled { dst: Slot, a: Slot, b: Slot, scale: u32 }
    /// Consecutive copies in one instruction, in order: `dst0 = src0`, then `dst = src`.
    Copy2 { dst: Slot, src: Slot, dst0: Slot, src0: Slot }
    /// Three consecutive copies: `dst0 = src0`, `dst1 = src1`, then `dst = src`.
    Copy3 { dst: Slot, src: Slot, dst1: Slot, src1: Slot, dst0: Slot, src0: Slot }
    /// `dst = imm` (32 bits).
    ConstI32 { dst: Slot, imm: u32 }
    /// `dst = imm` (64 bits).
    ConstI64 { dst: Slot, imm: u64 }
    /// `dst = imm` (128 bits).
    ConstV128 { dst: Slot, imm: u128 }
    /// `dst = cond != 0 ? a : b`.
    Select { dst: Slot, a: Slot, b: Slot, cond: Slot }
    /// Unconditional branch.
    Br { offset: i32 }
    /// `dst = x + z`, then branch when `dst cmp y`: an addition fused into the compare-and-branch
    /// on its result (loop counters). `z` and `y` are slots or immediates, as the handler says.
    AddBr { offset: i32, dst: Slot, x: Slot, z: u64, y: u64 }
    /// Branch when `cond` is (or is not) zero.
    BrIf { cond: Slot, offset: i32 }
    /// Branch when `a op b`.
    BrCmp { a: Slot, b: Slot, offset: i32 }
    /// Branch when `a op imm`, 32-bit immediate.
    BrCmpI32 { a: Slot, imm: u32, offset: i32 }
    /// Branch when `a op imm`, 64-bit immediate.
    BrCmpI64 { a: Slot, offset: i32, imm: u64 }
    /// Jumps by the `min(index, len)`-th of the `len + 1` `i32` offsets that follow the
    /// instruction (offsets from the `BrTable` instruction's start).
    BrTable { index: Slot, len: u32 }
    /// Consumes `amount` units of fuel.
    Fuel { amount: u32 }
    /// Returns `src` as the only result.
    Return1 { src: Slot }
    /// A debug translation's hook before a wasm instruction: its index in the function's
    /// `DebugInfo::points`.
    DebugHook { point: u32 }
    /// Guest profiling at a loop header: the upper half of the running frame's profile entry
    /// (`vm::profile::entry_high`: its tier and this loop).
    ProfileLoop { high: u32 }
    /// Calls defined function `def` (of this instance) with its arguments in slots `base..`.
    Call { def: u32, base: Slot }
    /// Calls imported function `func` with its arguments in slots `base..`.
    CallImport { func: u32, base: Slot }
    /// Calls through `table` with module type `ty` (`sig` its engine-wide interned signature,
    /// which the table's dispatch array holds per element); arguments from `base`, the table
    /// index in slot `index`.
    CallIndirect { ty: u32, table: u32, base: Slot, index: Slot, sig: u32 }
    /// Calls the function the reference in slot `callee` names (`call_ref`; traps when it is
    /// null), with its arguments in slots `base..`.
    CallRef { base: Slot, callee: Slot }
    /// Traps when the reference in slot `src` is null (`ref.as_non_null`); writes nothing.
    NonNull { src: Slot }
    /// `return_call` of defined function `def` (of this instance), the `args` arguments in slots
    /// `base..`.
    ReturnCall { def: u32, base: Slot, args: u32 }
    /// `return_call` of imported function `func`, as [`ReturnCall`].
    ReturnCallImport { func: u32, base: Slot, args: u32 }
    /// `return_call_indirect`, as [`CallIndirect`] with `args` arguments.
    ReturnCallIndirect { ty: u32, table: u32, base: Slot, index: Slot, sig: u32, args: u32 }
    /// `return_call_ref`, the reference in slot `callee`, as [`ReturnCall`] otherwise.
    ReturnCallRef { base: Slot, callee: Slot, args: u32 }
    /// `throw` of module tag `tag`, its payload in slots `base..`.
    Throw { tag: u32, base: Slot }
    /// `throw_ref` of the `exnref` in `src`.
    ThrowRef { src: Slot }
    /// `dst = global`.
    GlobalGet { dst: Slot, global: u32 }
    /// `global = src`.
    GlobalSet { src: Slot, global: u32 }
    /// `dst = ref.func func`.
    RefFunc { dst: Slot, func: u32 }
    /// `dst = load(addr + offset)`.
    Load { dst: Slot, addr: Slot, offset: u32 }
    /// `dst = load((a + imm) + offset)`: the address was an `i32.add` of an immediate, fused (the
    /// sum wraps at 32 bits, as the `i32.add` did).
    LoadRi { dst: Slot, a: Slot, imm: u32, offset: u32 }
    /// `dst = load((a + b) + offset)`: the address was an `i32.add`, fused.
    LoadRr { dst: Slot, a: Slot, b: Slot, offset: u32 }
    /// `dst = load(ea)`: the address was a constant, folded with the offset.
    LoadAbs { dst: Slot, ea: u64 }
    /// `store(addr + offset, val)`.
    Store { addr: Slot, val: Slot, offset: u32 }
    /// `store(addr + offset, imm)`, the value a constant (its low bytes for narrow stores).
    StoreImm { addr: Slot, offset: u32, imm: u64 }
    /// `store(ea, val)`: the address was a constant, folded with the offset.
    StoreAbs { val: Slot, ea: u64 }
    /// `dst` only (memory.size).
    Dst { dst: Slot }
    /// `dst = memory.grow(src)` on memory `memory`.
    MemoryGrow { dst: Slot, src: Slot, memory: u32 }
    /// Makes memory `memory` the one the next instructions access (multi-memory).
    UseMemory { memory: u32 }
    /// Traps unless the `i64` address in `addr` is below 2^32 (memory64).
    CheckAddress64 { addr: Slot }
    /// Traps unless the `i64` element index in `index` is below 2^32 (a 64-bit table).
    CheckIndex64 { index: Slot }
    /// Bulk memory and table operations: an immediate or two, operands in slots `base..`.
    Bulk { a: u32, b: u32, base: Slot }
    /// `dst = table[index]`.
    TableGet { dst: Slot, table: u32, index: Slot }
    /// `dst = table.size`.
    TableSize { dst: Slot, table: u32 }
    /// One immediate (a segment to drop).
    Index { index: u32 }
    /// `dst = op(src)` on v128 (and splats, extracts).
    V128Un { dst: Slot, src: Slot, op: super::simd::SimdUnary }
    /// `dst = op(a, b)` on v128 (and shifts, replaces).
    V128Bin { dst: Slot, a: Slot, b: Slot, op: super::simd::SimdBinary }
    /// `dst = op(a, b, c)` on v128.
    V128Ter { dst: Slot, a: Slot, b: Slot, c: Slot, op: super::simd::SimdTernary }
    /// `dst = bitselect(a, b, mask)`.
    V128Select { dst: Slot, a: Slot, b: Slot, mask: Slot }
    /// `dst = shuffle(lanes, a, b)`.
    V128Shuffle { dst: Slot, a: Slot, b: Slot, lanes: [u8; 16] }
    /// `dst = load(addr + offset)` of one of the v128 load kinds.
    V128Load { dst: Slot, addr: Slot, offset: u32, kind: super::simd::SimdLoad }
    /// `dst = v` with lane `lane` loaded from `addr + offset`.
    V128LoadLane { dst: Slot, addr: Slot, v: Slot, offset: u32, width: super::simd::LaneWidth, lane: u8 }
    /// Stores lane `lane` of `val` (or all of it, `width: None`) at `addr + offset`.
    V128Store { addr: Slot, val: Slot, offset: u32, width: Option<super::simd::LaneWidth>, lane: u8 }
}

/// Where the `dst` field of a result-writing instruction sits: right after the handler word.
pub const DST_AT: usize = HANDLER_BYTES;

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups land on the run containing the position; instructions taken back leave no run
    /// behind; offsets of any size survive the encoding.
    #[test]
    fn wasm_offsets_map_code_positions_to_the_operator_they_came_from() {
        let mut table = WasmOffsetsBuilder::default();
        table.note(0, 0x20);
        table.note(16, 0x20);
        table.note(32, 0x25);
        // Taken back and emitted again for a later operator (a fused comparison and branch).
        table.note(48, 0x27);
        table.note(48, 0x29);
        table.note(72, 0x10_0000);
        let offsets = table.finish(0x1e, 96);
        let at: Vec<u32> = [0, 15, 16, 31, 32, 47, 48, 71, 72, 95].map(|p| offsets.at(p)).into();
        assert_eq!(at, [0x20, 0x20, 0x20, 0x20, 0x25, 0x25, 0x29, 0x29, 0x10_0000, 0x10_0000]);
        assert_eq!(offsets.entry, 0x1e);
        // A run past the end (an instruction taken back last) is dropped.
        let mut table = WasmOffsetsBuilder::default();
        table.note(0, 5);
        table.note(8, 9);
        assert_eq!(table.finish(3, 8).at(100), 5);
    }
}
