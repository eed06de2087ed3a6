//! The aarch64 `MacroAssembler`: the only place that knows A64 encodings (through `dynasm!`).
//!
//! Register roles (AAPCS64 for every entry and for calls out):
//! - every entry is `(ctx, fp, func) -> status` (`vm::vmctx::FuncEntry`): `x0` is the
//!   `VmCtx` pointer and `x1` the frame pointer; the prologue (and each
//!   on-stack-replacement entry) moves them to `x19` (ctx) and `x20` (fp), callee-saved, so they
//!   stay pinned across calls: tier-1 callees through the function table (`blr`, arguments in
//!   `x0`-`x2`) and the runtime helpers (`call_indirect`, `memory_grow`, `runtime`, `unwind`);
//! - `x16`, `x17` (IP0/IP1): scratch for this backend only: materialized immediates, effective
//!   addresses, helper addresses; `x0`-`x4` carry call arguments; `v30`, `v31`: float and vector
//!   scratch (truncation bounds, `popcnt` through NEON `cnt` + `addv`, slot copies, zeroing);
//! - `x21`: the memory base (`VmCtx::mem_base`), pinned by every entry of a function that
//!   accesses memory;
//! - `x9`-`x15`, `x22`-`x28`: allocatable (caller-saved first; `x28` is the back-edge tally in
//!   functions with loops); `v0`-`v7`, `v16`-`v29`:
//!   allocatable floats, all caller-saved (the code generator spills every value before a call),
//!   so `v8`-`v15` (whose low halves AAPCS64 makes callee-saved) are never touched;
//! - `x29` (frame record), `x30` (link register), `x19`, `x20`, and those of `x21`-`x28` the
//!   code uses (told by `registers_used`) are saved by every entry, which `finish` puts in front
//!   of the code (`Assembled::entry_bytes`);
//!   `x18`, the platform register, is never touched.
//!
//! The prologue checks the value stack (`fp + frame bytes` against `VmCtx::stack_end`) and the
//! host stack (`sp` against `VmCtx::native_stack_limit`) before writing the frame image. Every
//! trap stub sets `w0` and jumps to the trap exit, which reports the frame to `VmCtx::unwind`
//! and returns its status, as on x64.
//!
//! As on x64, 32-bit results are written through `w` registers, which zero the upper half, so an
//! `i32` in a register always has its upper 32 bits clear. aarch64 immediates are narrow: every
//! operation falls back to materializing its constant in a scratch register (`imm.rs` decides);
//! tier 2 asks first (`imm::A64Immediates`) and gives such constants a register of their own.
//! `sdiv`/`udiv` never fault, so the zero divisor and `MIN / -1` traps are explicit checks.
//!
//! Floats map onto single instructions where wasm and A64 agree: `fmin`/`fmax` propagate NaNs
//! and order `-0 < +0`; `fabs`/`fneg` touch only the sign bit; `frintp`/`frintm`/`frintz`/
//! `frintn` are `ceil`/`floor`/`trunc`/`nearest`; `scvtf`/`ucvtf` round to nearest for every
//! width pair. `fcvtzs`/`fcvtzu` saturate (NaN gives 0), which is exactly `trunc_sat`; the
//! trapping truncations compare against `ConvertOp::trunc_bounds` first, as x64 does.
//!
//! Linear memory: with [`HeapBounds::GuardPages`], loads address `x21 + zero-extended address +
//! offset` unchecked (`unchecked_operand`: `[x21, w, uxtw]` at offset 0, a constant address as
//! an `ldur` displacement from `x21`, else one `add` with `uxtw` and the offset in the `ldur`),
//! inside the memory's 8 GiB reservation, and are recorded as heap accesses whose fault lands on
//! the `MemoryOutOfBounds` stub, as on x64. Stores are checked explicitly against
//! `VmCtx::mem_len` (`effective_address`): a store straddling into a guard page may write its
//! in-bounds bytes before faulting on aarch64, which wasm forbids; only a store at a constant
//! address aligned to its width, which cannot straddle, relies on the guard pages. With
//! [`HeapBounds::Explicit`] every access is checked.

// `dynasm!` converts dynamic register operands with `.into()`, which clippy flags as useless when
// the operand is already a `u8`; the expansion is not ours to change.
#![allow(clippy::useless_conversion)]

/// `dynasm!` for this architecture (defined before the submodules, which use it too).
macro_rules! a64 {
    ($ops:expr; $($t:tt)*) => {
        ::dynasmrt::dynasm!($ops ; .arch aarch64 ; $($t)*)
    };
}

mod asm;
mod imm;
#[cfg(test)]
pub(crate) mod tests;

use crate::isa::const_div::{self, Plan};
use crate::isa::masm::{
    AsmError, Assembled, BulkMemory, Callee, CodeMap, Comparison, Cond, ConvertOp, DivOp, FReg,
    FloatCmp, FloatOp, FloatUnaryOp, FrameSetup, GlobalCell, HeapBounds, Immediates, IntOp,
    LoadKind, MacroAssembler, OutOfLine, Reg, RegImm, RuntimeOp, SigSite, Size, StoreKind, UnaryOp,
};
use crate::tier::Tier;
use crate::vm::table::{Dispatch, ENTRY_BYTES, IndirectEntry};
use crate::vm::vmctx::{
    FuncCounters, HOT_AT_ENTRY, HOT_CONTINUE, MemoryView, TAIL_CALL_PENDING, VmCtx,
};
use crate::vm::{TrapCode, trap_status};
use asm::Cc;
use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

/// The pinned context pointer.
const CTX: u8 = 19;
/// The pinned frame pointer (the interpreter's frame, not `x29`).
const FP: u8 = 20;
/// Scratch registers (IP0, IP1).
const SCRATCH0: u8 = 16;
const SCRATCH1: u8 = 17;

/// The memory base (`VmCtx::mem_base`, which never changes for an instance), pinned in a
/// callee-saved register by every entry of a function that accesses memory.
const HEAP_BASE: u8 = 21;

/// The memory operand of a heap access (see `Aarch64Masm::unchecked_operand`).
#[derive(Clone, Copy)]
enum HeapOperand {
    /// `[base, #disp]` (`ldur`/`stur`: a 9-bit signed displacement).
    Unscaled(u8, i32),
    /// `[x21, w, uxtw]`: the memory base plus the zero-extended address register.
    Extended(u8),
    /// `[base, #disp]` (`ldr`/`str`: an unsigned displacement, a multiple of the access size
    /// below 4096 of them).
    Scaled(u8, u32),
}

/// Whether `offset` is an `ldr`/`str` displacement for an access of `bytes` bytes.
fn scaled_offset(offset: u32, bytes: u32) -> bool {
    offset.is_multiple_of(bytes) && offset / bytes < 1 << 12
}

/// Allocatable registers, caller-saved first; `x28` last (the back-edge tally takes it).
const ALLOCATABLE: [Reg; 14] = [
    Reg(9),
    Reg(10),
    Reg(11),
    Reg(12),
    Reg(13),
    Reg(14),
    Reg(15),
    Reg(22),
    Reg(23),
    Reg(24),
    Reg(25),
    Reg(26),
    Reg(27),
    Reg(28),
];

const CTX_MEM_BASE: u32 = std::mem::offset_of!(VmCtx, mem_base) as u32;
const INLINE_GLOBALS: u32 = crate::vm::vmctx::INLINE_GLOBALS as u32;
const CTX_MEM_LEN: u32 = std::mem::offset_of!(VmCtx, mem_len) as u32;
const CTX_MEMORIES: u32 = std::mem::offset_of!(VmCtx, memories) as u32;
const VIEW_BASE: usize = std::mem::offset_of!(MemoryView, base);
const VIEW_LEN: usize = std::mem::offset_of!(MemoryView, len);

/// The offset of `field` of memory `memory`'s view in `VmCtx::memories`.
fn view_field(memory: u32, field: usize) -> u32 {
    (memory as usize * size_of::<MemoryView>() + field) as u32
}
const CTX_GLOBALS: u32 = std::mem::offset_of!(VmCtx, globals) as u32;
const CTX_FUNCS: u32 = std::mem::offset_of!(VmCtx, funcs) as u32;
const CTX_UNWIND: u32 = std::mem::offset_of!(VmCtx, unwind) as u32;
const CTX_STACK_END: u32 = std::mem::offset_of!(VmCtx, stack_end) as u32;
const CTX_NATIVE_STACK_LIMIT: u32 = std::mem::offset_of!(VmCtx, native_stack_limit) as u32;
const CTX_FUEL: u32 = std::mem::offset_of!(VmCtx, fuel) as u32;
const CTX_RUNTIME: u32 = std::mem::offset_of!(VmCtx, runtime) as u32;
const CTX_CALL_INDIRECT: u32 = std::mem::offset_of!(VmCtx, call_indirect) as u32;
const CTX_CALL_REF: u32 = std::mem::offset_of!(VmCtx, call_ref) as u32;
const CTX_TAIL_CALL_REF: u32 = std::mem::offset_of!(VmCtx, tail_call_ref) as u32;
const CTX_MEMORY_GROW: u32 = std::mem::offset_of!(VmCtx, memory_grow) as u32;
const CTX_MEMORY_COPY: u32 = std::mem::offset_of!(VmCtx, memory_copy) as u32;
const CTX_MEMORY_FILL: u32 = std::mem::offset_of!(VmCtx, memory_fill) as u32;
const CTX_CALL_IMPORT: u32 = std::mem::offset_of!(VmCtx, call_import) as u32;
const CTX_COUNTERS: u32 = std::mem::offset_of!(VmCtx, counters) as u32;
const CTX_HOT: u32 = std::mem::offset_of!(VmCtx, hot) as u32;
const CTX_TAIL_CALL_IMPORT: u32 = std::mem::offset_of!(VmCtx, tail_call_import) as u32;
const CTX_TAIL_CALL_INDIRECT: u32 = std::mem::offset_of!(VmCtx, tail_call_indirect) as u32;
const CTX_TAIL_CALLS: u32 = std::mem::offset_of!(VmCtx, tail_calls) as u32;
const CTX_CATCH: u32 = std::mem::offset_of!(VmCtx, catch) as u32;
const CTX_TABLES: u32 = std::mem::offset_of!(VmCtx, tables) as u32;
const CTX_TABLE0: u32 = std::mem::offset_of!(VmCtx, table0) as u32;
const CTX_PROFILE_STACK: u32 = std::mem::offset_of!(VmCtx, profile_stack) as u32;
const PROFILE_ENTRIES: u32 = crate::vm::profile::PROFILE_ENTRIES_OFFSET;
const PROFILE_MASK: u64 = crate::vm::profile::PROFILE_MASK as u64;
const DISPATCH_ENTRIES: u32 = std::mem::offset_of!(Dispatch, entries) as u32;
const DISPATCH_LEN: u32 = std::mem::offset_of!(Dispatch, len) as u32;
const ENTRY_SIG: u32 = std::mem::offset_of!(IndirectEntry, sig) as u32;
const ENTRY_FUNC_INDEX: u32 = std::mem::offset_of!(IndirectEntry, func_index) as u32;
const ENTRY_ENTRY: u32 = std::mem::offset_of!(IndirectEntry, entry) as u32;
const ENTRY_CTX: u32 = std::mem::offset_of!(IndirectEntry, ctx) as u32;
const ENTRY_SHIFT: u32 = ENTRY_BYTES.trailing_zeros();
/// A function's counters: `FuncCounters` is `#[repr(C)]`, four 8-byte fields.
const COUNTERS_BYTES: u32 = std::mem::size_of::<FuncCounters>() as u32;
const COUNTER_CALLS: u32 = std::mem::offset_of!(FuncCounters, calls) as u32;
const COUNTER_BACK_EDGES: u32 = std::mem::offset_of!(FuncCounters, back_edges) as u32;
const COUNTER_BUDGET: u32 = std::mem::offset_of!(FuncCounters, budget) as u32;

/// Allocatable float registers: the caller-saved `v0`-`v7` and `v16`-`v29` (the code generator
/// spills every float before a call); `v30` and `v31` are this backend's scratch.
const ALLOCATABLE_FLOAT: [FReg; 22] = [
    FReg(0),
    FReg(1),
    FReg(2),
    FReg(3),
    FReg(4),
    FReg(5),
    FReg(6),
    FReg(7),
    FReg(16),
    FReg(17),
    FReg(18),
    FReg(19),
    FReg(20),
    FReg(21),
    FReg(22),
    FReg(23),
    FReg(24),
    FReg(25),
    FReg(26),
    FReg(27),
    FReg(28),
    FReg(29),
];

/// Assembles one function for aarch64.
pub struct Aarch64Masm {
    ops: VecAssembler<Aarch64Relocation>,
    epilogue: DynamicLabel,
    /// Where every trap leaves the function: `w0` holds the status.
    trap_exit: DynamicLabel,
    /// Where tail calls leave the function: restores the entry's saves and branches to `x16`
    /// (the callee's entry, its arguments in `x0`-`x2`).
    tail_exit: DynamicLabel,
    /// Whether any code branches to `tail_exit`.
    tail_exit_used: bool,
    /// The out-of-line stubs of the call sites (see `call_checked`).
    call_stubs: Vec<super::CallStub>,
    traps: super::TrapStubs,
    /// The function's module index, which the trap exit reports.
    func_index: u32,
    /// Loop headers to emit on-stack-replacement entries for, by loop ordinal.
    osr_targets: Vec<Option<DynamicLabel>>,
    bounds: HeapBounds,
    /// Offsets of the heap loads emitted so far that rely on guard pages (see `load_address`).
    heap_accesses: Vec<u32>,
    /// Where the code emitted so far holds interned signature ids (see `SigSite`).
    sig_sites: Vec<SigSite>,
    /// Conditional branches as an inverted branch over a `b`, for functions whose code outgrows
    /// the +-1 MiB reach of `b.cond`/`cbz` (see `jit::backend`).
    far: bool,
    /// Out-of-line code for counting points: flushes of the back-edge tally and calls of the
    /// `hot` helper.
    hot_stubs: Vec<HotStub>,
    /// Back-edges are tallied in `x28` (see `tally_back_edges`).
    tally: Option<Tally>,
    /// The allocatable registers the code writes, if the code generator said
    /// (`registers_used`); all of them otherwise.
    used: Option<Vec<Reg>>,
    /// Whether any code reads the memory base register.
    heap_base_used: bool,
    /// The memory the next heap access reaches (`set_memory`); 0 but around an access to
    /// another.
    memory: u32,
    /// The tier the code is for.
    tier: Tier,
    /// The module offset of the wasm operator being emitted (see `set_wasm_offset`).
    wasm_offset: u32,
    /// The wasm offset of each heap access in `heap_accesses`.
    heap_access_wasm: Vec<u32>,
    /// Where calls' trap statuses go instead of their trap stubs (`set_trap_handler`).
    trap_handler: Option<DynamicLabel>,
}

/// The back-edge tally of a function with loops: `x28` counts down from `chunk`.
#[derive(Clone, Copy, Debug)]
struct Tally {
    def: u32,
    chunk: u32,
}

/// An out-of-line counting stub.
#[derive(Clone, Copy, Debug)]
struct HotStub {
    stub: DynamicLabel,
    /// `HOT_AT_ENTRY` or a loop ordinal.
    site: u32,
    /// For back-edges: the tally ran out; `Some` budget to spend then, or `None` (only count).
    chunk: Option<Option<u64>>,
    resume: DynamicLabel,
}

thread_local! {
    /// The assembler of the last function this thread finished, emptied, with its buffers (as
    /// on x86-64): fresh buffers for each of thousands of functions cost reallocations.
    static SPARE_ASSEMBLER: std::cell::Cell<Option<VecAssembler<Aarch64Relocation>>> =
        const { std::cell::Cell::new(None) };
    /// The heap-access list of the last function this thread finished, emptied: the output
    /// gets an exact copy.
    static SPARE_HEAP_ACCESSES: std::cell::Cell<Vec<u32>> =
        const { std::cell::Cell::new(Vec::new()) };
}

impl Default for Aarch64Masm {
    fn default() -> Self {
        Aarch64Masm::new(false)
    }
}

impl Aarch64Masm {
    /// An assembler whose conditional branches reach +-1 MiB, or +-128 MiB when `far`.
    pub fn new(far: bool) -> Self {
        Aarch64Masm::with_bounds(far, HeapBounds::Explicit)
    }

    /// Like [`Aarch64Masm::new`], with loads bounded as `bounds` says (stores are always checked).
    pub fn with_bounds(far: bool, bounds: HeapBounds) -> Self {
        let mut ops = SPARE_ASSEMBLER.take().unwrap_or_else(|| VecAssembler::new(0));
        let epilogue = ops.new_dynamic_label();
        let trap_exit = ops.new_dynamic_label();
        let tail_exit = ops.new_dynamic_label();
        Aarch64Masm {
            ops,
            epilogue,
            trap_exit,
            tail_exit,
            tail_exit_used: false,
            call_stubs: Vec::new(),
            traps: super::TrapStubs::default(),
            func_index: u32::MAX,
            osr_targets: Vec::new(),
            bounds,
            heap_accesses: SPARE_HEAP_ACCESSES.take(),
            sig_sites: Vec::new(),
            far,
            hot_stubs: Vec::new(),
            tally: None,
            used: None,
            heap_base_used: false,
            memory: 0,
            tier: Tier::Baseline,
            wasm_offset: 0,
            heap_access_wasm: Vec::new(),
            trap_handler: None,
        }
    }

    /// The callee-saved registers every entry saves next to the frame record: `x19` and `x20`
    /// (the pinned context and frame pointers), the memory base's and the tally's when used,
    /// and those the code writes.
    fn saved_registers(&self) -> Vec<u8> {
        let writes = |r: u8| self.used.as_ref().is_none_or(|used| used.contains(&Reg(r)));
        (19..=28)
            .filter(|&r| match r {
                19 | 20 => true,
                HEAP_BASE => self.heap_base_used,
                28 => self.tally.is_some() || writes(r),
                _ => writes(r),
            })
            .collect()
    }

    /// Bytes of the save area for `saved`: the frame record, then the registers, 16-byte
    /// aligned.
    fn save_area(saved: &[u8]) -> u32 {
        (16 + 8 * saved.len() as u32).next_multiple_of(16)
    }

    /// What every entry (the function's and its on-stack-replacement ones) does first: saves the
    /// frame record and `saved`, pins the context and frame pointers and the memory base, and
    /// starts the back-edge tally.
    fn enter(&mut self, saved: &[u8]) {
        let area = Self::save_area(saved);
        a64!(self.ops ; stp x29, x30, [sp, -(area as i32)]! ; mov x29, sp);
        for (i, pair) in saved.chunks(2).enumerate() {
            let at = 16 + 16 * i as i32;
            match *pair {
                [a, b] => a64!(self.ops ; stp X(a), X(b), [sp, at]),
                [a] => a64!(self.ops ; str X(a), [sp, at as u32]),
                _ => unreachable!("chunks of two"),
            }
        }
        a64!(self.ops ; mov x19, x0 ; mov x20, x1);
        if self.heap_base_used {
            self.load_ctx(HEAP_BASE, CTX_MEM_BASE);
        }
        if let Some(tally) = self.tally {
            self.mov_imm(Size::S64, 28, tally.chunk as i64);
        }
    }

    /// Restores what [`Aarch64Masm::enter`] saved and returns.
    fn leave(&mut self, saved: &[u8]) {
        self.restore(saved);
        a64!(self.ops ; ret);
    }

    /// Restores what [`Aarch64Masm::enter`] saved (the link register included), leaving `sp` as
    /// the entry found it.
    fn restore(&mut self, saved: &[u8]) {
        for (i, pair) in saved.chunks(2).enumerate() {
            let at = 16 + 16 * i as i32;
            match *pair {
                [a, b] => a64!(self.ops ; ldp X(a), X(b), [sp, at]),
                [a] => a64!(self.ops ; ldr X(a), [sp, at as u32]),
                _ => unreachable!("chunks of two"),
            }
        }
        let area = Self::save_area(saved);
        a64!(self.ops ; ldp x29, x30, [sp], area as i32);
    }

    /// `x16` = the counters of defined function `def`.
    fn counters_address(&mut self, def: u32) {
        self.load_ctx(SCRATCH0, CTX_COUNTERS);
        self.add_imm(Size::S64, SCRATCH0, SCRATCH0, (def * COUNTERS_BYTES) as i64);
    }

    /// Adds the back-edges tallied since the last flush to the counters (`x16` = the counters
    /// after it; `x1`, `x17` scratch; `w0`, the status, is kept), and restarts the tally.
    fn flush_tally(&mut self) {
        if let Some(Tally { def, chunk }) = self.tally {
            self.counters_address(def);
            self.mov_imm(Size::S64, 1, chunk as i64);
            a64!(self.ops
                ; sub x17, x1, x28
                ; mov x28, x1
                ; ldr x1, [x16, COUNTER_BACK_EDGES]
                ; add x1, x1, x17
                ; str x1, [x16, COUNTER_BACK_EDGES]
            );
        }
    }

    /// Writes `image` over the slots from byte offset `first`: each slot is zeroed with one
    /// 16-byte store, then its nonzero halves are written.
    fn init_slots(&mut self, first: u32, image: &[u128]) {
        if image.is_empty() {
            return;
        }
        a64!(self.ops ; movi v31.d2, 0);
        for (i, &bits) in image.iter().enumerate() {
            let at = first + i as u32 * 16;
            let (base, off) = self.address(FP, at, 4);
            a64!(self.ops ; str q31, [XSP(base), off]);
            for (half, value) in [(0, bits as u64), (8, (bits >> 64) as u64)] {
                if value != 0 {
                    self.mov_imm(Size::S64, SCRATCH0, value as i64);
                    let (base, off) = self.address(FP, at + half, 3);
                    a64!(self.ops ; str x16, [XSP(base), off]);
                }
            }
        }
    }

    /// Where a call made now goes when the callee returns a trap status: a stub naming the
    /// call's wasm offset on the way to the trap exit.
    fn call_trap_label(&mut self) -> DynamicLabel {
        if let Some(handler) = self.trap_handler {
            return handler;
        }
        let ops = &mut self.ops;
        self.traps.label(None, self.wasm_offset, || ops.new_dynamic_label())
    }

    /// Calls the function pointer in `x16` (the arguments are in place, the callee's frame at
    /// slot offset `callee_fp`) and checks its status ([`Self::check_call_status`]).
    fn call_checked(&mut self, callee_fp: u32) {
        let trap_exit = self.call_trap_label();
        a64!(self.ops ; blr x16);
        self.check_call_status(trap_exit, callee_fp);
    }

    /// After a call of an entry: a nonzero status goes to the call site's stub, which runs a
    /// pending tail call chain (`VmCtx::tail_calls`) and comes back, or leaves through `trap`.
    fn check_call_status(&mut self, trap: DynamicLabel, callee_fp: u32) {
        let (stub, resume) = (self.new_label(), self.new_label());
        self.cbz(Size::S32, 0, true, stub);
        a64!(self.ops ; =>resume);
        self.call_stubs.push(super::CallStub { stub, resume, trap, callee_fp });
    }

    /// `x17` = the element of `table`'s dispatch array (`vm::table`) at the index in slot
    /// `index_slot` (loaded into `w2`) when that index is in bounds and the element has signature
    /// `sig` (module type `ty`'s interned id) and this instance's context; otherwise branches to
    /// `slow`. `table` must be below 4096 (an immediate offset); `x3` and `x4` are clobbered.
    fn own_dispatch_entry(
        &mut self,
        ty: u32,
        sig: u32,
        table: u32,
        index_slot: u32,
        slow: DynamicLabel,
    ) {
        self.load_slot(Size::S32, Reg(2), index_slot);
        if table == 0 {
            self.load_ctx(SCRATCH1, CTX_TABLE0);
        } else {
            self.load_ctx(SCRATCH1, CTX_TABLES);
            a64!(self.ops ; ldr x17, [x17, table * 8]);
        }
        a64!(self.ops
            ; ldr x3, [x17, DISPATCH_LEN]
            ; cmp x2, x3
        );
        self.b_cc(Cc::Hs, slow);
        a64!(self.ops
            ; ldr x17, [x17, DISPATCH_ENTRIES]
            ; add x17, x17, x2, lsl ENTRY_SHIFT
            ; ldr w3, [x17, ENTRY_SIG]
        );
        // Always the two-instruction form, so a loader can write another process's id for `ty`
        // in place (`masm::patch_sig_site`).
        self.sig_sites.push(SigSite { offset: self.offset(), ty });
        a64!(self.ops
            ; movz w4, sig & 0xffff
            ; movk w4, sig >> 16, lsl 16
            ; cmp w3, w4
        );
        self.b_cc(Cc::Ne, slow);
        a64!(self.ops ; ldr x3, [x17, ENTRY_CTX] ; cmp x3, x19);
        self.b_cc(Cc::Ne, slow);
    }

    /// Leaves for a tail callee's entry: flushes the back-edge tally (clobbering `x1`, `x16`,
    /// `x17`), then `target` puts the entry in `x16` and its function index in `w2`; the context
    /// and frame go to `x0` and `x1`.
    fn jump_to_tail_exit(&mut self, target: impl FnOnce(&mut Self)) {
        self.flush_tally();
        target(self);
        a64!(self.ops ; mov x0, x19 ; mov x1, x20);
        self.tail_exit_used = true;
        let tail_exit = self.tail_exit;
        a64!(self.ops ; b =>tail_exit);
    }

    /// `v30 = value` at `size` (through `x16`).
    fn float_const_v30(&mut self, size: Size, value: f64) {
        match size {
            Size::S32 => {
                self.mov_imm(Size::S32, SCRATCH0, (value as f32).to_bits() as i64);
                a64!(self.ops ; fmov s30, w16);
            }
            Size::S64 => {
                self.mov_imm(Size::S64, SCRATCH0, value.to_bits() as i64);
                a64!(self.ops ; fmov d30, x16);
            }
        }
    }

    /// `fcmp lhs, rhs` at `size`.
    fn fcmp(&mut self, size: Size, lhs: u8, rhs: u8) {
        match size {
            Size::S32 => a64!(self.ops ; fcmp S(lhs), S(rhs)),
            Size::S64 => a64!(self.ops ; fcmp D(lhs), D(rhs)),
        }
    }

    /// `dst = lhs op rhs` with the right operand in a register.
    fn int_op_reg(&mut self, op: IntOp, size: Size, d: u8, l: u8, r: u8) {
        match (op, size) {
            (IntOp::Add, Size::S32) => a64!(self.ops ; add W(d), W(l), W(r)),
            (IntOp::Add, Size::S64) => a64!(self.ops ; add X(d), X(l), X(r)),
            (IntOp::Sub, Size::S32) => a64!(self.ops ; sub W(d), W(l), W(r)),
            (IntOp::Sub, Size::S64) => a64!(self.ops ; sub X(d), X(l), X(r)),
            (IntOp::Mul, Size::S32) => a64!(self.ops ; mul W(d), W(l), W(r)),
            (IntOp::Mul, Size::S64) => a64!(self.ops ; mul X(d), X(l), X(r)),
            (IntOp::And, Size::S32) => a64!(self.ops ; and W(d), W(l), W(r)),
            (IntOp::And, Size::S64) => a64!(self.ops ; and X(d), X(l), X(r)),
            (IntOp::Or, Size::S32) => a64!(self.ops ; orr W(d), W(l), W(r)),
            (IntOp::Or, Size::S64) => a64!(self.ops ; orr X(d), X(l), X(r)),
            (IntOp::Xor, Size::S32) => a64!(self.ops ; eor W(d), W(l), W(r)),
            (IntOp::Xor, Size::S64) => a64!(self.ops ; eor X(d), X(l), X(r)),
            // The variable shifts take the count modulo the width, as wasm requires.
            (IntOp::Shl, Size::S32) => a64!(self.ops ; lsl W(d), W(l), W(r)),
            (IntOp::Shl, Size::S64) => a64!(self.ops ; lsl X(d), X(l), X(r)),
            (IntOp::ShrS, Size::S32) => a64!(self.ops ; asr W(d), W(l), W(r)),
            (IntOp::ShrS, Size::S64) => a64!(self.ops ; asr X(d), X(l), X(r)),
            (IntOp::ShrU, Size::S32) => a64!(self.ops ; lsr W(d), W(l), W(r)),
            (IntOp::ShrU, Size::S64) => a64!(self.ops ; lsr X(d), X(l), X(r)),
            (IntOp::Rotr, Size::S32) => a64!(self.ops ; ror W(d), W(l), W(r)),
            (IntOp::Rotr, Size::S64) => a64!(self.ops ; ror X(d), X(l), X(r)),
            // There is no rotate left: rotating right by `-n` is the same modulo the width.
            (IntOp::Rotl, Size::S32) => {
                a64!(self.ops ; neg w16, W(r) ; ror W(d), W(l), w16)
            }
            (IntOp::Rotl, Size::S64) => {
                a64!(self.ops ; neg x16, X(r) ; ror X(d), X(l), x16)
            }
        }
    }

    /// `dst = lhs op imm` for the operations that have an immediate form the value fits;
    /// false (nothing emitted) otherwise.
    fn int_op_imm(&mut self, op: IntOp, size: Size, d: u8, l: u8, imm: i64) -> bool {
        let bits = match size {
            Size::S32 => 32,
            Size::S64 => 64,
        };
        let count = (imm as u32) & (bits - 1);
        match op {
            IntOp::Add | IntOp::Sub => {
                let imm = imm::truncate(size, imm);
                let value =
                    imm::truncate(size, if op == IntOp::Add { imm } else { imm.wrapping_neg() });
                if imm::add_imm(value).is_none() {
                    return false;
                }
                if value == 0 {
                    self.mov(size, Reg(d), RegImm::Reg(Reg(l)));
                } else {
                    self.add_imm(size, d, l, value);
                }
                true
            }
            IntOp::And | IntOp::Or | IntOp::Xor if imm::is_logical(size, imm) => {
                match (op, size) {
                    (IntOp::And, Size::S32) => a64!(self.ops ; and WSP(d), W(l), imm as u32),
                    (IntOp::And, Size::S64) => a64!(self.ops ; and XSP(d), X(l), imm as u64),
                    (IntOp::Or, Size::S32) => a64!(self.ops ; orr WSP(d), W(l), imm as u32),
                    (IntOp::Or, Size::S64) => a64!(self.ops ; orr XSP(d), X(l), imm as u64),
                    (IntOp::Xor, Size::S32) => a64!(self.ops ; eor WSP(d), W(l), imm as u32),
                    (IntOp::Xor, Size::S64) => a64!(self.ops ; eor XSP(d), X(l), imm as u64),
                    _ => unreachable!("only logical operations reach here"),
                }
                true
            }
            IntOp::Shl | IntOp::ShrS | IntOp::ShrU | IntOp::Rotl | IntOp::Rotr => {
                if count == 0 {
                    self.mov(size, Reg(d), RegImm::Reg(Reg(l)));
                    return true;
                }
                match (op, size) {
                    (IntOp::Shl, Size::S32) => a64!(self.ops ; lsl W(d), W(l), count),
                    (IntOp::Shl, Size::S64) => a64!(self.ops ; lsl X(d), X(l), count),
                    (IntOp::ShrS, Size::S32) => a64!(self.ops ; asr W(d), W(l), count),
                    (IntOp::ShrS, Size::S64) => a64!(self.ops ; asr X(d), X(l), count),
                    (IntOp::ShrU, Size::S32) => a64!(self.ops ; lsr W(d), W(l), count),
                    (IntOp::ShrU, Size::S64) => a64!(self.ops ; lsr X(d), X(l), count),
                    (IntOp::Rotr, Size::S32) => a64!(self.ops ; ror W(d), W(l), count),
                    (IntOp::Rotr, Size::S64) => a64!(self.ops ; ror X(d), X(l), count),
                    (IntOp::Rotl, Size::S32) => a64!(self.ops ; ror W(d), W(l), bits - count),
                    (IntOp::Rotl, Size::S64) => a64!(self.ops ; ror X(d), X(l), bits - count),
                    _ => unreachable!("only shifts and rotates reach here"),
                }
                true
            }
            _ => false,
        }
    }

    /// Sets the flags for `lhs - rhs` at `size`.
    fn cmp(&mut self, size: Size, lhs: Reg, rhs: RegImm) {
        let l = lhs.0;
        match (rhs, size) {
            (RegImm::Reg(r), Size::S32) => a64!(self.ops ; cmp W(l), W(r.0)),
            (RegImm::Reg(r), Size::S64) => a64!(self.ops ; cmp X(l), X(r.0)),
            (RegImm::Imm(imm), size) => self.cmp_imm(size, l, imm),
        }
    }

    /// `x16 = zero-extended addr + offset + bytes`, trapping unless `x16 <= memory length`;
    /// then `x16 = memory base + x16`, so the access is at `[x16, #-bytes]`.
    fn effective_address(&mut self, addr: Option<Reg>, offset: u32, bytes: u32) {
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        match addr {
            Some(addr) => {
                a64!(self.ops ; mov w16, W(addr.0));
                self.add_imm(Size::S64, SCRATCH0, SCRATCH0, offset as i64 + bytes as i64);
            }
            None => self.mov_imm(Size::S64, SCRATCH0, offset as i64 + bytes as i64),
        }
        match self.memory {
            0 => self.load_ctx(SCRATCH1, CTX_MEM_LEN),
            // `x21` holds the memory views (`set_memory`).
            memory => {
                let (base, at) = self.address(HEAP_BASE, view_field(memory, VIEW_LEN), 3);
                a64!(self.ops ; ldr x17, [XSP(base), at]);
            }
        }
        a64!(self.ops ; cmp x16, x17);
        self.b_cc(Cc::Hi, oob);
        self.heap_base_used = true;
        self.memory_base();
        a64!(self.ops ; add x16, X(HEAP_BASE), x16);
    }

    /// For an access to a memory other than 0: `x21` = its base, from the views `set_memory`
    /// left there.
    fn memory_base(&mut self) {
        if self.memory != 0 {
            let (base, at) = self.address(HEAP_BASE, view_field(self.memory, VIEW_BASE), 3);
            a64!(self.ops ; ldr X(HEAP_BASE), [XSP(base), at]);
        }
    }

    /// The operand of a load: as for [`Aarch64Masm::effective_address`] with explicit checks;
    /// with guard pages, without the check ([`Aarch64Masm::unchecked_operand`]), and the load
    /// (the next instruction, which must be the only one) is recorded as a heap access.
    fn load_operand(&mut self, addr: Option<Reg>, offset: u32, bytes: u32) -> HeapOperand {
        match self.bounds {
            HeapBounds::Explicit => {
                self.effective_address(addr, offset, bytes);
                HeapOperand::Unscaled(SCRATCH0, -(bytes as i32))
            }
            HeapBounds::GuardPages => self.recorded_operand(addr, offset, bytes),
        }
    }

    /// The operand of a store: checked explicitly (a store straddling into a guard page may
    /// write its in-bounds bytes before faulting), except, with guard pages, at a constant
    /// address aligned to the access width, which cannot straddle (the memory's length is a
    /// multiple of 64 KiB): that store is recorded like a load.
    fn store_operand(&mut self, addr: Option<Reg>, offset: u32, bytes: u32) -> HeapOperand {
        if self.bounds == HeapBounds::GuardPages && addr.is_none() && offset.is_multiple_of(bytes) {
            return self.recorded_operand(addr, offset, bytes);
        }
        self.effective_address(addr, offset, bytes);
        HeapOperand::Unscaled(SCRATCH0, -(bytes as i32))
    }

    /// [`Aarch64Masm::unchecked_operand`], with the access that follows recorded as a heap
    /// access whose fault lands on the out-of-bounds stub.
    fn recorded_operand(&mut self, addr: Option<Reg>, offset: u32, bytes: u32) -> HeapOperand {
        self.heap_base_used = true;
        self.memory_base();
        let operand = self.unchecked_operand(addr, offset, bytes);
        let at = self.offset();
        self.heap_accesses.push(at);
        self.heap_access_wasm.push(self.wasm_offset);
        operand
    }

    /// `x21 + zero-extended addr + offset` as an access's operand, unchecked: the register
    /// itself (`[x21, w, uxtw]`) at offset 0, else a displacement from `x21` (a constant
    /// address) or from `x16` (computed here): `ldur`/`stur`'s 9 signed bits, or `ldr`/`str`'s
    /// scaled 12 unsigned bits for an aligned offset beyond them. The address stays below base +
    /// 8 GiB + 16, inside the memory's reservation.
    fn unchecked_operand(&mut self, addr: Option<Reg>, offset: u32, bytes: u32) -> HeapOperand {
        match addr {
            Some(addr) if offset == 0 => HeapOperand::Extended(addr.0),
            None if offset < 256 => HeapOperand::Unscaled(HEAP_BASE, offset as i32),
            None if scaled_offset(offset, bytes) => HeapOperand::Scaled(HEAP_BASE, offset),
            None => {
                self.add_imm(Size::S64, SCRATCH0, HEAP_BASE, offset as i64);
                HeapOperand::Unscaled(SCRATCH0, 0)
            }
            Some(addr) if offset < 256 => {
                a64!(self.ops ; add x16, XSP(HEAP_BASE), W(addr.0), UXTW);
                HeapOperand::Unscaled(SCRATCH0, offset as i32)
            }
            Some(addr) if scaled_offset(offset, bytes) => {
                a64!(self.ops ; add x16, XSP(HEAP_BASE), W(addr.0), UXTW);
                HeapOperand::Scaled(SCRATCH0, offset)
            }
            Some(addr) => {
                a64!(self.ops ; mov w16, W(addr.0));
                self.add_imm(Size::S64, SCRATCH0, SCRATCH0, offset as i64 + bytes as i64);
                a64!(self.ops ; add x16, X(HEAP_BASE), x16);
                HeapOperand::Unscaled(SCRATCH0, -(bytes as i32))
            }
        }
    }

    /// `x16 = &globals[index]` (the cell's address).
    /// The base register and offset of a global's cell, for an access scaled by `1 << scale`:
    /// the context's inline cell (no load), or an imported global's cell pointer loaded into
    /// `x16`.
    fn global_cell(&mut self, global: GlobalCell, scale: u32) -> (u8, u32) {
        match global {
            GlobalCell::Inline(defined) => self.address(CTX, INLINE_GLOBALS + defined * 16, scale),
            GlobalCell::Imported(index) => {
                self.load_ctx(SCRATCH0, CTX_GLOBALS);
                let (base, at) = self.address(SCRATCH0, index * 8, 3);
                a64!(self.ops ; ldr x16, [XSP(base), at]);
                (SCRATCH0, 0)
            }
        }
    }

    /// Calls the helper at context offset `field` with `x0` = ctx (the other arguments are in
    /// place), leaving its status in `w0`.
    fn call_helper(&mut self, field: u32) {
        self.load_ctx(SCRATCH0, field);
        a64!(self.ops ; mov x0, x19 ; blr x16);
    }
}

impl Aarch64Masm {
    /// `div` by a constant divisor with a plan ([`const_div::plan`]): the quotient by multiplying
    /// in x16 (constants in x17), then moved to `dst`, or the remainder `n - q * d` by `msub`
    /// (which reads the dividend last: `dst` may be `lhs`).
    fn div_by_constant(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, d: i64, plan: Plan) {
        let (dr, l) = (dst.0, lhs.0);
        let wide = size == Size::S64;
        match plan {
            Plan::One if wide => a64!(self.ops ; mov x16, X(l)),
            Plan::One => a64!(self.ops ; mov w16, W(l)),
            Plan::UnsignedPowerOfTwo { shift } if wide => a64!(self.ops ; lsr x16, X(l), shift),
            Plan::UnsignedPowerOfTwo { shift } => a64!(self.ops ; lsr w16, W(l), shift),
            Plan::SignedPowerOfTwo { shift, negative } => {
                // Negative dividends plus |d| - 1, so the arithmetic shift rounds towards zero.
                if wide {
                    let bias_shift = 64 - shift;
                    a64!(self.ops ; asr x16, X(l), 63 ; add x16, X(l), x16, lsr bias_shift
                        ; asr x16, x16, shift);
                    if negative {
                        a64!(self.ops ; neg x16, x16);
                    }
                } else {
                    let bias_shift = 32 - shift;
                    a64!(self.ops ; asr w16, W(l), 31 ; add w16, W(l), w16, lsr bias_shift
                        ; asr w16, w16, shift);
                    if negative {
                        a64!(self.ops ; neg w16, w16);
                    }
                }
            }
            Plan::Unsigned32 { multiplier } => {
                // The dividend zero-extended (a 32-bit move clears the upper half) times the
                // 64-bit multiplier: the product's high half is the quotient.
                self.mov_imm(Size::S64, SCRATCH1, multiplier as i64);
                a64!(self.ops ; mov w16, W(l) ; umulh x16, x16, x17);
            }
            Plan::Unsigned64 { multiplier, shift, add } => {
                self.mov_imm(Size::S64, SCRATCH1, multiplier as i64);
                a64!(self.ops ; umulh x16, X(l), x17);
                if add {
                    a64!(self.ops ; sub x17, X(l), x16 ; add x16, x16, x17, lsr 1);
                }
                if shift > 0 {
                    a64!(self.ops ; lsr x16, x16, shift);
                }
            }
            Plan::Signed { multiplier, shift, add, negative } if !wide => {
                // The 64-bit product of the 32-bit operands (`smull`) is exact: its high half is
                // the 32-bit multiply-high.
                self.mov_imm(Size::S32, SCRATCH1, multiplier);
                a64!(self.ops ; smull x16, W(l), w17);
                match (add, negative) {
                    (false, _) => {
                        let shift = 32 + shift;
                        a64!(self.ops ; asr x16, x16, shift);
                    }
                    (true, false) => a64!(self.ops ; asr x16, x16, 32 ; add w16, w16, W(l)),
                    (true, true) => a64!(self.ops ; asr x16, x16, 32 ; sub w16, w16, W(l)),
                }
                if add && shift > 0 {
                    a64!(self.ops ; asr w16, w16, shift);
                }
                a64!(self.ops ; add w16, w16, w16, lsr 31);
            }
            Plan::Signed { multiplier, shift, add, negative } => {
                self.mov_imm(Size::S64, SCRATCH1, multiplier);
                a64!(self.ops ; smulh x16, X(l), x17);
                match (add, negative) {
                    (false, _) => {}
                    (true, false) => a64!(self.ops ; add x16, x16, X(l)),
                    (true, true) => a64!(self.ops ; sub x16, x16, X(l)),
                }
                if shift > 0 {
                    a64!(self.ops ; asr x16, x16, shift);
                }
                a64!(self.ops ; add x16, x16, x16, lsr 63);
            }
        }
        match op {
            DivOp::DivS | DivOp::DivU if wide => a64!(self.ops ; mov X(dr), x16),
            DivOp::DivS | DivOp::DivU => a64!(self.ops ; mov W(dr), w16),
            _ => {
                self.mov_imm(size, SCRATCH1, d);
                match size {
                    Size::S32 => a64!(self.ops ; msub W(dr), w16, w17, W(l)),
                    Size::S64 => a64!(self.ops ; msub X(dr), x16, x17, X(l)),
                }
            }
        }
    }
}

impl MacroAssembler for Aarch64Masm {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    fn offset(&self) -> u32 {
        self.ops.offset().0 as u32
    }

    fn bind(&mut self, label: DynamicLabel) {
        a64!(self.ops ; =>label);
    }

    fn registers_used(&mut self, regs: &[Reg]) {
        self.used = Some(regs.to_vec());
    }

    fn reserve(&mut self, bytes: usize) {
        self.ops.reserve_ops(bytes);
    }

    fn set_tier(&mut self, tier: Tier) {
        self.tier = tier;
    }

    fn set_wasm_offset(&mut self, offset: u32) {
        self.wasm_offset = offset;
    }

    fn immediates(&self) -> &'static dyn Immediates {
        &imm::A64Immediates
    }

    fn scratch_regs(&self) -> (Reg, FReg) {
        (Reg(SCRATCH0), FReg(31))
    }

    fn heap_bounds(&self) -> HeapBounds {
        self.bounds
    }

    fn caller_saved(&self) -> (&'static [Reg], &'static [FReg]) {
        // x9-x15 are caller-saved in AAPCS64, x22-x28 callee-saved (every entry saves those the
        // code writes, as `registers_used` says);
        // every allocatable float register is caller-saved here (v8-v15 are never used).
        (&ALLOCATABLE[..7], &ALLOCATABLE_FLOAT)
    }

    fn allocatable(&self) -> &'static [Reg] {
        // `x28` is last: without it, the rest.
        if self.tally.is_some() { &ALLOCATABLE[..ALLOCATABLE.len() - 1] } else { &ALLOCATABLE }
    }

    fn has_unary(&self, _op: UnaryOp) -> bool {
        // Advanced SIMD (for `popcnt`) is part of every AArch64 Linux system.
        true
    }

    fn has_float_unary(&self, _op: FloatUnaryOp) -> bool {
        // `frintn`/`frintm`/`frintp`/`frintz` are base FP instructions.
        true
    }

    fn prologue(&mut self, frame: &FrameSetup<'_>) {
        // What every entry does first (`enter`) is prepended by `finish`, once it knows which
        // registers the code uses.
        self.func_index = frame.func_index;
        // Both stacks are checked before the frame is touched: the value stack against its end,
        // the host stack (tier-1 calls recurse on it) against the thread's limit.
        if frame.checks_stacks() {
            let overflow = self.trap_label(TrapCode::StackOverflow);
            self.add_imm(Size::S64, SCRATCH0, FP, frame.frame_bytes as i64);
            self.load_ctx(SCRATCH1, CTX_STACK_END);
            a64!(self.ops ; cmp x16, x17);
            self.b_cc(Cc::Hi, overflow);
            self.load_ctx(SCRATCH1, CTX_NATIVE_STACK_LIMIT);
            a64!(self.ops ; mov x16, sp ; cmp x16, x17);
            self.b_cc(Cc::Lo, overflow);
        }
        self.init_slots(frame.init_offset, frame.init);
    }

    fn ret(&mut self) {
        let epilogue = self.epilogue;
        a64!(self.ops ; mov w0, wzr ; b =>epilogue);
    }

    fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        let ops = &mut self.ops;
        self.traps.label(Some(code), self.wasm_offset, || ops.new_dynamic_label())
    }

    fn load_slot(&mut self, size: Size, dst: Reg, slot: u32) {
        let d = dst.0;
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; ldr W(d), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; ldr X(d), [XSP(base), off]);
            }
        }
    }

    fn store_slot(&mut self, size: Size, src: Reg, slot: u32) {
        let s = src.0;
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; str W(s), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; str X(s), [XSP(base), off]);
            }
        }
    }

    fn store_slot_imm(&mut self, size: Size, imm: i64, slot: u32) {
        // The zero register needs no materialization.
        let src = if imm::truncate(size, imm) == 0 {
            31
        } else {
            self.mov_imm(size, SCRATCH0, imm);
            SCRATCH0
        };
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; str W(src), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; str X(src), [XSP(base), off]);
            }
        }
    }

    fn copy_slot(&mut self, dst: u32, src: u32) {
        let (base, off) = self.address(FP, src, 4);
        a64!(self.ops ; ldr q31, [XSP(base), off]);
        let (base, off) = self.address(FP, dst, 4);
        a64!(self.ops ; str q31, [XSP(base), off]);
    }

    fn copy_value(&mut self, size: Size, dst: u32, src: u32) {
        self.load_slot(size, Reg(SCRATCH0), src);
        self.store_slot(size, Reg(SCRATCH0), dst);
    }

    fn mov(&mut self, size: Size, dst: Reg, src: RegImm) {
        let d = dst.0;
        match (src, size) {
            (RegImm::Reg(s), _) if s == dst => {}
            (RegImm::Reg(s), Size::S32) => a64!(self.ops ; mov W(d), W(s.0)),
            (RegImm::Reg(s), Size::S64) => a64!(self.ops ; mov X(d), X(s.0)),
            (RegImm::Imm(imm), size) => self.mov_imm(size, d, imm),
        }
    }

    fn int_op(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        let r = match rhs {
            RegImm::Reg(r) => r.0,
            RegImm::Imm(imm) => {
                if self.int_op_imm(op, size, dst.0, lhs.0, imm) {
                    return;
                }
                self.mov_imm(size, SCRATCH0, imm);
                SCRATCH0
            }
        };
        self.int_op_reg(op, size, dst.0, lhs.0, r);
    }

    fn add_scaled(&mut self, size: Size, dst: Reg, base: Reg, index: Option<(Reg, u8)>, disp: i32) {
        let (d, b) = (dst.0, base.0);
        let Some((i, shift)) = index else {
            self.int_op(IntOp::Add, size, dst, base, RegImm::Imm(disp as i64));
            return;
        };
        let (i, shift) = (i.0, shift as u32);
        match size {
            Size::S32 => a64!(self.ops ; add W(d), W(b), W(i), lsl shift),
            Size::S64 => a64!(self.ops ; add X(d), X(b), X(i), lsl shift),
        }
        if disp != 0 {
            self.int_op(IntOp::Add, size, dst, dst, RegImm::Imm(disp as i64));
        }
    }

    fn div(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        if let Some((divisor, plan)) = const_div::for_div(op, size, rhs) {
            return self.div_by_constant(op, size, dst, lhs, divisor, plan);
        }
        // The divisor: its register, or a constant in x17, which needs no zero check unless it
        // is zero and no `MIN / -1` check unless it is -1.
        let (r, divisor) = match rhs {
            RegImm::Reg(r) => (r.0, None),
            RegImm::Imm(v) => {
                let v = imm::truncate(size, v);
                self.mov_imm(size, SCRATCH1, v);
                (SCRATCH1, Some(v))
            }
        };
        let (d, l) = (dst.0, lhs.0);
        // aarch64 division never faults: `x / 0` is 0 and `MIN / -1` is MIN, so wasm's traps are
        // explicit. `MIN % -1` needs no check: `MIN - (MIN / -1) * -1` wraps to 0, as wasm says.
        if divisor.is_none_or(|v| v == 0) {
            let by_zero = self.trap_label(TrapCode::IntegerDivideByZero);
            self.cbz(size, r, false, by_zero);
        }
        if op == DivOp::DivS && divisor.is_none_or(|v| v == -1) {
            let overflow = self.trap_label(TrapCode::IntegerOverflow);
            // V is set when `rhs == -1` and `lhs - 1` overflows, i.e. `lhs == MIN`.
            match size {
                Size::S32 => a64!(self.ops ; cmn WSP(r), 1 ; ccmp W(l), 1, 0, eq),
                Size::S64 => a64!(self.ops ; cmn XSP(r), 1 ; ccmp X(l), 1, 0, eq),
            }
            self.b_cc(Cc::Vs, overflow);
        }
        match (op, size) {
            (DivOp::DivS, Size::S32) => a64!(self.ops ; sdiv W(d), W(l), W(r)),
            (DivOp::DivS, Size::S64) => a64!(self.ops ; sdiv X(d), X(l), X(r)),
            (DivOp::DivU, Size::S32) => a64!(self.ops ; udiv W(d), W(l), W(r)),
            (DivOp::DivU, Size::S64) => a64!(self.ops ; udiv X(d), X(l), X(r)),
            (DivOp::RemS, Size::S32) => {
                a64!(self.ops ; sdiv w16, W(l), W(r) ; msub W(d), w16, W(r), W(l))
            }
            (DivOp::RemS, Size::S64) => {
                a64!(self.ops ; sdiv x16, X(l), X(r) ; msub X(d), x16, X(r), X(l))
            }
            (DivOp::RemU, Size::S32) => {
                a64!(self.ops ; udiv w16, W(l), W(r) ; msub W(d), w16, W(r), W(l))
            }
            (DivOp::RemU, Size::S64) => {
                a64!(self.ops ; udiv x16, X(l), X(r) ; msub X(d), x16, X(r), X(l))
            }
        }
    }

    fn unary(&mut self, op: UnaryOp, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.0, src.0);
        match (op, size) {
            (UnaryOp::Clz, Size::S32) => a64!(self.ops ; clz W(d), W(s)),
            (UnaryOp::Clz, Size::S64) => a64!(self.ops ; clz X(d), X(s)),
            // Trailing zeros are the leading zeros of the bit-reversed value.
            (UnaryOp::Ctz, Size::S32) => a64!(self.ops ; rbit w16, W(s) ; clz W(d), w16),
            (UnaryOp::Ctz, Size::S64) => a64!(self.ops ; rbit x16, X(s) ; clz X(d), x16),
            // Per-byte counts in the vector unit, summed across the lanes.
            (UnaryOp::Popcnt, Size::S32) => a64!(self.ops
                ; fmov s31, W(s) ; cnt v31.b8, v31.b8 ; addv b31, v31.b8 ; fmov W(d), s31),
            (UnaryOp::Popcnt, Size::S64) => a64!(self.ops
                ; fmov d31, X(s) ; cnt v31.b8, v31.b8 ; addv b31, v31.b8 ; fmov W(d), s31),
            (UnaryOp::Eqz, Size::S32) => a64!(self.ops ; cmp WSP(s), 0 ; cset W(d), eq),
            (UnaryOp::Eqz, Size::S64) => a64!(self.ops ; cmp XSP(s), 0 ; cset W(d), eq),
            (UnaryOp::Extend8S, Size::S32) => a64!(self.ops ; sxtb W(d), W(s)),
            (UnaryOp::Extend8S, Size::S64) => a64!(self.ops ; sxtb X(d), W(s)),
            (UnaryOp::Extend16S, Size::S32) => a64!(self.ops ; sxth W(d), W(s)),
            (UnaryOp::Extend16S, Size::S64) => a64!(self.ops ; sxth X(d), W(s)),
            (UnaryOp::Extend32S, _) => a64!(self.ops ; sxtw X(d), W(s)),
            (UnaryOp::Extend32U, _) => a64!(self.ops ; mov W(d), W(s)),
        }
    }

    fn compare(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        self.cmp(size, lhs, rhs);
        self.cset(Cc::of(cond), dst.0);
    }

    fn select(&mut self, size: Size, dst: Reg, cond: Reg, other: Reg) {
        let (d, c, o) = (dst.0, cond.0, other.0);
        match size {
            Size::S32 => a64!(self.ops ; cmp WSP(c), 0 ; csel W(d), W(d), W(o), ne),
            Size::S64 => a64!(self.ops ; cmp WSP(c), 0 ; csel X(d), X(d), X(o), ne),
        }
    }

    fn select_compare(&mut self, size: Size, dst: Reg, cmp: Comparison, other: Reg) {
        self.cmp(cmp.size, cmp.lhs, cmp.rhs);
        self.csel(size, dst.0, other.0, Cc::of(cmp.cond));
    }

    fn jump(&mut self, target: DynamicLabel) {
        a64!(self.ops ; b =>target);
    }

    fn branch(&mut self, cond: Cond, size: Size, lhs: Reg, rhs: RegImm, target: DynamicLabel) {
        match (cond, rhs) {
            (Cond::Eq, RegImm::Imm(0)) => self.cbz(size, lhs.0, false, target),
            (Cond::Ne, RegImm::Imm(0)) => self.cbz(size, lhs.0, true, target),
            _ => {
                self.cmp(size, lhs, rhs);
                self.b_cc(Cc::of(cond), target);
            }
        }
    }

    fn branch_test(
        &mut self,
        size: Size,
        reg: Reg,
        mask: i64,
        nonzero: bool,
        target: DynamicLabel,
    ) {
        let mask = imm::truncate(size, mask);
        let bits = match size {
            Size::S32 => mask as u32 as u64,
            Size::S64 => mask as u64,
        };
        if bits.is_power_of_two() {
            self.tbz(reg.0, bits.trailing_zeros(), nonzero, target);
            return;
        }
        match size {
            Size::S32 => a64!(self.ops ; tst W(reg.0), bits as u32),
            Size::S64 => a64!(self.ops ; tst X(reg.0), bits),
        }
        self.b_cc(if nonzero { Cc::Ne } else { Cc::Eq }, target);
    }

    fn jump_table(&mut self, index: Reg, targets: &[DynamicLabel]) {
        // A bounds check, then a computed jump into a table of `b` instructions (one per case,
        // each reaching +-128 MiB): position-independent and constant time.
        let (default, cases) = targets.split_last().expect("br_table has a default");
        let default = *default;
        if !cases.is_empty() {
            let table = self.ops.new_dynamic_label();
            self.cmp_imm(Size::S32, index.0, cases.len() as i64);
            self.b_cc(Cc::Hs, default);
            a64!(self.ops
                ; adr x16, =>table
                ; add x16, x16, W(index.0), uxtw 2
                ; br x16
                ; =>table
            );
            for &target in cases {
                a64!(self.ops ; b =>target);
            }
        } else {
            a64!(self.ops ; b =>default);
        }
    }

    fn load_heap(&mut self, kind: LoadKind, dst: Reg, addr: Option<Reg>, offset: u32) {
        let d = dst.0;
        match self.load_operand(addr, offset, kind.bytes()) {
            HeapOperand::Unscaled(b, back) => match kind {
                LoadKind::I32 => a64!(self.ops ; ldur W(d), [XSP(b), back]),
                LoadKind::I64 => a64!(self.ops ; ldur X(d), [XSP(b), back]),
                LoadKind::I32_8S => a64!(self.ops ; ldursb W(d), [XSP(b), back]),
                LoadKind::I32_8U | LoadKind::I64_8U => a64!(self.ops ; ldurb W(d), [XSP(b), back]),
                LoadKind::I32_16S => a64!(self.ops ; ldursh W(d), [XSP(b), back]),
                LoadKind::I32_16U | LoadKind::I64_16U => {
                    a64!(self.ops ; ldurh W(d), [XSP(b), back])
                }
                LoadKind::I64_8S => a64!(self.ops ; ldursb X(d), [XSP(b), back]),
                LoadKind::I64_16S => a64!(self.ops ; ldursh X(d), [XSP(b), back]),
                LoadKind::I64_32S => a64!(self.ops ; ldursw X(d), [XSP(b), back]),
                LoadKind::I64_32U => a64!(self.ops ; ldur W(d), [XSP(b), back]),
            },
            HeapOperand::Extended(i) => match kind {
                LoadKind::I32 => a64!(self.ops ; ldr W(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I64 => a64!(self.ops ; ldr X(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I32_8S => a64!(self.ops ; ldrsb W(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I32_8U | LoadKind::I64_8U => {
                    a64!(self.ops ; ldrb W(d), [XSP(HEAP_BASE), W(i), UXTW])
                }
                LoadKind::I32_16S => a64!(self.ops ; ldrsh W(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I32_16U | LoadKind::I64_16U => {
                    a64!(self.ops ; ldrh W(d), [XSP(HEAP_BASE), W(i), UXTW])
                }
                LoadKind::I64_8S => a64!(self.ops ; ldrsb X(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I64_16S => a64!(self.ops ; ldrsh X(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I64_32S => a64!(self.ops ; ldrsw X(d), [XSP(HEAP_BASE), W(i), UXTW]),
                LoadKind::I64_32U => a64!(self.ops ; ldr W(d), [XSP(HEAP_BASE), W(i), UXTW]),
            },
            HeapOperand::Scaled(b, at) => match kind {
                LoadKind::I32 => a64!(self.ops ; ldr W(d), [XSP(b), at]),
                LoadKind::I64 => a64!(self.ops ; ldr X(d), [XSP(b), at]),
                LoadKind::I32_8S => a64!(self.ops ; ldrsb W(d), [XSP(b), at]),
                LoadKind::I32_8U | LoadKind::I64_8U => a64!(self.ops ; ldrb W(d), [XSP(b), at]),
                LoadKind::I32_16S => a64!(self.ops ; ldrsh W(d), [XSP(b), at]),
                LoadKind::I32_16U | LoadKind::I64_16U => a64!(self.ops ; ldrh W(d), [XSP(b), at]),
                LoadKind::I64_8S => a64!(self.ops ; ldrsb X(d), [XSP(b), at]),
                LoadKind::I64_16S => a64!(self.ops ; ldrsh X(d), [XSP(b), at]),
                LoadKind::I64_32S => a64!(self.ops ; ldrsw X(d), [XSP(b), at]),
                LoadKind::I64_32U => a64!(self.ops ; ldr W(d), [XSP(b), at]),
            },
        }
    }

    fn store_heap(&mut self, kind: StoreKind, src: Reg, addr: Option<Reg>, offset: u32) {
        let s = src.0;
        match (self.store_operand(addr, offset, kind.bytes()), kind) {
            (HeapOperand::Unscaled(b, back), StoreKind::B8) => {
                a64!(self.ops ; sturb W(s), [XSP(b), back])
            }
            (HeapOperand::Unscaled(b, back), StoreKind::B16) => {
                a64!(self.ops ; sturh W(s), [XSP(b), back])
            }
            (HeapOperand::Unscaled(b, back), StoreKind::B32) => {
                a64!(self.ops ; stur W(s), [XSP(b), back])
            }
            (HeapOperand::Unscaled(b, back), StoreKind::B64) => {
                a64!(self.ops ; stur X(s), [XSP(b), back])
            }
            (HeapOperand::Scaled(b, at), StoreKind::B8) => a64!(self.ops ; strb W(s), [XSP(b), at]),
            (HeapOperand::Scaled(b, at), StoreKind::B16) => {
                a64!(self.ops ; strh W(s), [XSP(b), at])
            }
            (HeapOperand::Scaled(b, at), StoreKind::B32) => a64!(self.ops ; str W(s), [XSP(b), at]),
            (HeapOperand::Scaled(b, at), StoreKind::B64) => a64!(self.ops ; str X(s), [XSP(b), at]),
            (HeapOperand::Extended(_), _) => unreachable!("stores are never at a register offset"),
        }
    }

    fn load_global(&mut self, size: Size, dst: Reg, global: GlobalCell) {
        match size {
            Size::S32 => {
                let (base, at) = self.global_cell(global, 2);
                a64!(self.ops ; ldr W(dst.0), [XSP(base), at])
            }
            Size::S64 => {
                let (base, at) = self.global_cell(global, 3);
                a64!(self.ops ; ldr X(dst.0), [XSP(base), at])
            }
        }
    }

    fn store_global(&mut self, size: Size, src: Reg, global: GlobalCell) {
        // Only the value's own bytes (the contract of `MacroAssembler::store_global`).
        match size {
            Size::S32 => {
                let (base, at) = self.global_cell(global, 2);
                a64!(self.ops ; str W(src.0), [XSP(base), at])
            }
            Size::S64 => {
                let (base, at) = self.global_cell(global, 3);
                a64!(self.ops ; str X(src.0), [XSP(base), at])
            }
        }
    }

    fn call(&mut self, callee: Callee, callee_fp: u32) {
        // The callee's entry `(ctx, fp, func) -> status`: a defined function's from the module's
        // function table, an import's is the runtime's `call_import`. x19 and x20 (ctx and fp)
        // are callee-saved, so they survive the call.
        self.add_imm(Size::S64, 1, FP, callee_fp as i64);
        match callee {
            Callee::Defined { def, func } => {
                self.mov_imm(Size::S32, 2, func as i64);
                self.load_ctx(SCRATCH0, CTX_FUNCS);
                let (base, at) = self.address(SCRATCH0, def * 8, 3);
                a64!(self.ops ; ldr x16, [XSP(base), at]);
            }
            Callee::Import(index) => {
                self.mov_imm(Size::S32, 2, index as i64);
                self.load_ctx(SCRATCH0, CTX_CALL_IMPORT);
            }
        }
        a64!(self.ops ; mov x0, x19);
        self.call_checked(callee_fp);
    }

    fn set_trap_handler(&mut self, handler: Option<DynamicLabel>) {
        self.trap_handler = handler;
    }

    fn catch_exception(&mut self, tag: u32, with_ref: bool, dest_slot: u32, caught: DynamicLabel) {
        // The status is in w0; x19 and x20 (context and frame) survive the call.
        a64!(self.ops ; mov w1, w0 ; mov x0, x19);
        self.add_imm(Size::S64, 2, FP, dest_slot as i64);
        self.mov_imm(Size::S32, 3, tag as i64);
        self.mov_imm(Size::S32, 4, with_ref as i64);
        self.load_ctx(SCRATCH0, CTX_CATCH);
        a64!(self.ops ; blr x16);
        self.cbz(Size::S32, 0, false, caught);
    }

    fn pass_trap_on(&mut self) {
        let trap = self.call_trap_label();
        self.jump(trap);
    }

    fn tail_call(&mut self, callee: Callee) {
        match callee {
            Callee::Defined { def, func } => self.jump_to_tail_exit(|m| {
                m.mov_imm(Size::S32, 2, func as i64);
                m.load_ctx(SCRATCH0, CTX_FUNCS);
                let (base, at) = m.address(SCRATCH0, def * 8, 3);
                a64!(m.ops ; ldr x16, [XSP(base), at]);
            }),
            Callee::Import(index) => self.jump_to_tail_exit(|m| {
                m.mov_imm(Size::S32, 2, index as i64);
                m.load_ctx(SCRATCH0, CTX_TAIL_CALL_IMPORT);
            }),
        }
    }

    fn tail_call_indirect(&mut self, ty: u32, sig: u32, table: u32, index_slot: u32) {
        let (slow, trap_exit) = (self.new_label(), self.call_trap_label());
        if table < 4096 {
            self.own_dispatch_entry(ty, sig, table, index_slot, slow);
            // The entry and index go to x3 and w2, which the tally's flush keeps.
            a64!(self.ops
                ; ldr w2, [x17, ENTRY_FUNC_INDEX]
                ; ldr x3, [x17, ENTRY_ENTRY]
                ; ldr x3, [x3]
            );
            self.jump_to_tail_exit(|m| a64!(m.ops ; mov x16, x3));
        }
        // Anything else: the helper checks the element and leaves the call pending, which this
        // function returns through its epilogue.
        a64!(self.ops ; =>slow ; mov x0, x19 ; mov x1, x20);
        self.mov_imm(Size::S32, 2, ty as i64);
        self.mov_imm(Size::S32, 3, table as i64);
        self.load_slot(Size::S32, Reg(4), index_slot);
        self.load_ctx(SCRATCH0, CTX_TAIL_CALL_INDIRECT);
        a64!(self.ops ; blr x16);
        self.cmp_imm(Size::S32, 0, TAIL_CALL_PENDING as i64);
        self.b_cc(Cc::Ne, trap_exit);
        let epilogue = self.epilogue;
        a64!(self.ops ; b =>epilogue);
    }

    fn tally_back_edges(&mut self, def: u32, chunk: u32) {
        self.tally = Some(Tally { def, chunk });
    }

    fn count_call(&mut self, def: u32, weight: Option<u32>) {
        // x16 = this function's counters. Plain loads and stores: a count lost to a concurrent
        // update only delays a tier-up decision.
        // The budget first: when newer code takes the call, it counts it itself.
        if let Some(weight) = weight {
            // x0 is free outside calls.
            let (stub, resume) = (self.new_label(), self.new_label());
            self.counters_address(def);
            self.mov_imm(Size::S64, 0, weight as i64);
            a64!(self.ops
                ; ldr x17, [x16, COUNTER_BUDGET]
                ; subs x17, x17, x0
                ; str x17, [x16, COUNTER_BUDGET]
            );
            self.b_cc(Cc::Le, stub);
            a64!(self.ops ; =>resume);
            self.hot_stubs.push(HotStub { stub, site: HOT_AT_ENTRY, chunk: None, resume });
        }
        self.counters_address(def);
        a64!(self.ops
            ; ldr x17, [x16, COUNTER_CALLS]
            ; add x17, x17, 1
            ; str x17, [x16, COUNTER_CALLS]
        );
    }

    fn count_back_edge(&mut self, ordinal: u32, weight: Option<u32>, resume: DynamicLabel) {
        let tally = self.tally.expect("`tally_back_edges` before counting back-edges");
        let stub = self.new_label();
        a64!(self.ops ; subs x28, x28, 1);
        self.b_cc(Cc::Eq, stub);
        let budget = weight.map(|w| w as u64 * tally.chunk as u64);
        self.hot_stubs.push(HotStub { stub, site: ordinal, chunk: Some(budget), resume });
    }

    fn call_indirect(&mut self, ty: u32, table: u32, callee_fp: u32) {
        self.add_imm(Size::S64, 1, FP, callee_fp as i64);
        self.mov_imm(Size::S32, 2, ty as i64);
        self.mov_imm(Size::S32, 3, table as i64);
        self.load_ctx(SCRATCH0, CTX_CALL_INDIRECT);
        a64!(self.ops ; mov x0, x19);
        self.call_checked(callee_fp);
    }

    fn call_ref(&mut self, ty: u32, callee_fp: u32) {
        self.add_imm(Size::S64, 1, FP, callee_fp as i64);
        self.mov_imm(Size::S32, 2, ty as i64);
        self.load_ctx(SCRATCH0, CTX_CALL_REF);
        a64!(self.ops ; mov x0, x19);
        self.call_checked(callee_fp);
    }

    fn tail_call_ref(&mut self, ref_slot: u32) {
        // The helper checks the reference and leaves the call pending, which this function
        // returns through its epilogue.
        let trap_exit = self.call_trap_label();
        a64!(self.ops ; mov x0, x19 ; mov x1, x20);
        self.load_slot(Size::S64, Reg(2), ref_slot);
        self.load_ctx(SCRATCH0, CTX_TAIL_CALL_REF);
        a64!(self.ops ; blr x16);
        self.cmp_imm(Size::S32, 0, TAIL_CALL_PENDING as i64);
        self.b_cc(Cc::Ne, trap_exit);
        let epilogue = self.epilogue;
        a64!(self.ops ; b =>epilogue);
    }

    fn call_indirect_inline(
        &mut self,
        ty: u32,
        sig: u32,
        table: u32,
        callee_fp: u32,
        index_slot: u32,
    ) {
        if table >= 4096 {
            // The table's head beyond an immediate offset: the helper alone.
            return self.call_indirect(ty, table, callee_fp);
        }
        let (slow, done, trap_exit) = (self.new_label(), self.new_label(), self.call_trap_label());
        // x1 = the callee's frame (both paths); x2 = the index; x17 = the table's dispatch
        // head, then &entries[index]; x0, x3, x4 scratch until the call.
        self.add_imm(Size::S64, 1, FP, callee_fp as i64);
        self.own_dispatch_entry(ty, sig, table, index_slot, slow);
        a64!(self.ops
            ; ldr w2, [x17, ENTRY_FUNC_INDEX]
            ; ldr x16, [x17, ENTRY_ENTRY]
            ; ldr x16, [x16]
            ; mov x0, x19
            ; blr x16
            ; b =>done
            ; =>slow
        );
        self.mov_imm(Size::S32, 2, ty as i64);
        self.mov_imm(Size::S32, 3, table as i64);
        self.load_ctx(SCRATCH0, CTX_CALL_INDIRECT);
        a64!(self.ops ; mov x0, x19 ; blr x16 ; =>done);
        self.check_call_status(trap_exit, callee_fp);
    }

    fn check_address64(&mut self, addr: Reg, offset: u64) {
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        if u32::try_from(offset).is_err() {
            a64!(self.ops ; b =>oob);
            return;
        }
        // Any of the upper 32 bits set is out of bounds (`cbnz`, as x64's `jnz`).
        a64!(self.ops ; lsr x16, X(addr.0), 32);
        self.cbz(Size::S64, SCRATCH0, true, oob);
    }

    fn check_slot_index64(&mut self, slot: u32) {
        let oob = self.trap_label(TrapCode::TableOutOfBounds);
        // The upper half of the little-endian i64.
        let (base, off) = self.address(FP, slot + 4, 2);
        a64!(self.ops ; ldr w16, [XSP(base), off]);
        self.cbz(Size::S32, SCRATCH0, true, oob);
    }

    fn set_memory(&mut self, memory: u32) {
        self.heap_base_used = true;
        match memory {
            0 => self.load_ctx(HEAP_BASE, CTX_MEM_BASE),
            _ => self.load_ctx(HEAP_BASE, CTX_MEMORIES),
        }
        self.memory = memory;
    }

    fn memory_size(&mut self, dst: Reg) {
        self.load_ctx(dst.0, CTX_MEM_LEN);
        a64!(self.ops ; lsr X(dst.0), X(dst.0), 16);
    }

    fn memory_grow(&mut self, dst: Reg, delta: Reg) {
        a64!(self.ops ; mov w1, W(delta.0));
        self.call_helper(CTX_MEMORY_GROW);
        a64!(self.ops ; mov W(dst.0), w0);
    }

    fn bulk_memory(&mut self, op: BulkMemory, [dst, second, len]: [Reg; 3]) {
        let helper = match op {
            BulkMemory::Copy => CTX_MEMORY_COPY,
            BulkMemory::Fill => CTX_MEMORY_FILL,
        };
        // No operand is in an argument register (none is allocatable).
        a64!(self.ops ; mov w1, W(dst.0) ; mov w2, W(second.0) ; mov w3, W(len.0));
        self.call_helper(helper);
        let trap_exit = self.call_trap_label();
        self.cbz(Size::S32, 0, true, trap_exit);
    }

    fn allocatable_float(&self) -> &'static [FReg] {
        &ALLOCATABLE_FLOAT
    }

    fn load_slot_float(&mut self, size: Size, dst: FReg, slot: u32) {
        let d = dst.0;
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; ldr S(d), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; ldr D(d), [XSP(base), off]);
            }
        }
    }

    fn store_slot_float(&mut self, size: Size, src: FReg, slot: u32) {
        let s = src.0;
        match size {
            Size::S32 => {
                let (base, off) = self.address(FP, slot, 2);
                a64!(self.ops ; str S(s), [XSP(base), off]);
            }
            Size::S64 => {
                let (base, off) = self.address(FP, slot, 3);
                a64!(self.ops ; str D(s), [XSP(base), off]);
            }
        }
    }

    fn load_float_const(&mut self, size: Size, dst: FReg, bits: u64) {
        let d = dst.0;
        match size {
            Size::S32 if bits as u32 == 0 => a64!(self.ops ; fmov S(d), wzr),
            Size::S64 if bits == 0 => a64!(self.ops ; fmov D(d), xzr),
            Size::S32 => {
                self.mov_imm(Size::S32, SCRATCH0, bits as u32 as i64);
                a64!(self.ops ; fmov S(d), w16);
            }
            Size::S64 => {
                self.mov_imm(Size::S64, SCRATCH0, bits as i64);
                a64!(self.ops ; fmov D(d), x16);
            }
        }
    }

    fn mov_float(&mut self, dst: FReg, src: FReg) {
        if dst != src {
            a64!(self.ops ; fmov D(dst.0), D(src.0));
        }
    }

    fn float_op(&mut self, op: FloatOp, size: Size, dst: FReg, lhs: FReg, rhs: FReg) {
        let (d, l, r) = (dst.0, lhs.0, rhs.0);
        // Three-operand forms: no operand is clobbered before it is read, whatever aliases.
        // `fmin`/`fmax` are wasm's `min`/`max`: a NaN operand gives a NaN (the operand's,
        // quieted, as the other arithmetic does), and -0 orders below +0.
        match (op, size) {
            (FloatOp::Add, Size::S32) => a64!(self.ops ; fadd S(d), S(l), S(r)),
            (FloatOp::Add, Size::S64) => a64!(self.ops ; fadd D(d), D(l), D(r)),
            (FloatOp::Sub, Size::S32) => a64!(self.ops ; fsub S(d), S(l), S(r)),
            (FloatOp::Sub, Size::S64) => a64!(self.ops ; fsub D(d), D(l), D(r)),
            (FloatOp::Mul, Size::S32) => a64!(self.ops ; fmul S(d), S(l), S(r)),
            (FloatOp::Mul, Size::S64) => a64!(self.ops ; fmul D(d), D(l), D(r)),
            (FloatOp::Div, Size::S32) => a64!(self.ops ; fdiv S(d), S(l), S(r)),
            (FloatOp::Div, Size::S64) => a64!(self.ops ; fdiv D(d), D(l), D(r)),
            (FloatOp::Min, Size::S32) => a64!(self.ops ; fmin S(d), S(l), S(r)),
            (FloatOp::Min, Size::S64) => a64!(self.ops ; fmin D(d), D(l), D(r)),
            (FloatOp::Max, Size::S32) => a64!(self.ops ; fmax S(d), S(l), S(r)),
            (FloatOp::Max, Size::S64) => a64!(self.ops ; fmax D(d), D(l), D(r)),
            // A bit operation through the scratch registers, so NaN payloads survive.
            (FloatOp::Copysign, Size::S32) => a64!(self.ops
                ; fmov w16, S(l) ; fmov w17, S(r)
                ; and w16, w16, 0x7fff_ffff ; and w17, w17, 0x8000_0000 ; orr w16, w16, w17
                ; fmov S(d), w16),
            (FloatOp::Copysign, Size::S64) => a64!(self.ops
                ; fmov x16, D(l) ; fmov x17, D(r)
                ; and x16, x16, 0x7fff_ffff_ffff_ffff ; and x17, x17, 0x8000_0000_0000_0000
                ; orr x16, x16, x17
                ; fmov D(d), x16),
        }
    }

    fn float_unary(&mut self, op: FloatUnaryOp, size: Size, dst: FReg, src: FReg) {
        let (d, s) = (dst.0, src.0);
        // `fabs` and `fneg` only touch the sign bit (NaN payloads survive); the roundings quiet
        // a NaN.
        match (op, size) {
            (FloatUnaryOp::Abs, Size::S32) => a64!(self.ops ; fabs S(d), S(s)),
            (FloatUnaryOp::Abs, Size::S64) => a64!(self.ops ; fabs D(d), D(s)),
            (FloatUnaryOp::Neg, Size::S32) => a64!(self.ops ; fneg S(d), S(s)),
            (FloatUnaryOp::Neg, Size::S64) => a64!(self.ops ; fneg D(d), D(s)),
            (FloatUnaryOp::Sqrt, Size::S32) => a64!(self.ops ; fsqrt S(d), S(s)),
            (FloatUnaryOp::Sqrt, Size::S64) => a64!(self.ops ; fsqrt D(d), D(s)),
            (FloatUnaryOp::Ceil, Size::S32) => a64!(self.ops ; frintp S(d), S(s)),
            (FloatUnaryOp::Ceil, Size::S64) => a64!(self.ops ; frintp D(d), D(s)),
            (FloatUnaryOp::Floor, Size::S32) => a64!(self.ops ; frintm S(d), S(s)),
            (FloatUnaryOp::Floor, Size::S64) => a64!(self.ops ; frintm D(d), D(s)),
            (FloatUnaryOp::Trunc, Size::S32) => a64!(self.ops ; frintz S(d), S(s)),
            (FloatUnaryOp::Trunc, Size::S64) => a64!(self.ops ; frintz D(d), D(s)),
            (FloatUnaryOp::Nearest, Size::S32) => a64!(self.ops ; frintn S(d), S(s)),
            (FloatUnaryOp::Nearest, Size::S64) => a64!(self.ops ; frintn D(d), D(s)),
        }
    }

    fn float_compare(&mut self, cmp: FloatCmp, size: Size, dst: Reg, lhs: FReg, rhs: FReg) {
        // Unordered sets NZCV to 0011: `eq`, `mi` (less), `gt`, `ls` (less or equal) and `ge` are
        // then false, `ne` true, as wasm says.
        self.fcmp(size, lhs.0, rhs.0);
        let d = dst.0;
        match cmp {
            FloatCmp::Eq => a64!(self.ops ; cset W(d), eq),
            FloatCmp::Ne => a64!(self.ops ; cset W(d), ne),
            FloatCmp::Lt => a64!(self.ops ; cset W(d), mi),
            FloatCmp::Gt => a64!(self.ops ; cset W(d), gt),
            FloatCmp::Le => a64!(self.ops ; cset W(d), ls),
            FloatCmp::Ge => a64!(self.ops ; cset W(d), ge),
        }
    }

    fn branch_float(
        &mut self,
        cmp: FloatCmp,
        size: Size,
        lhs: FReg,
        rhs: FReg,
        target: DynamicLabel,
    ) {
        // The conditions of `float_compare`; after `fcmp`, `lo` (C clear) is `mi`: only
        // "less" clears C.
        self.fcmp(size, lhs.0, rhs.0);
        let cc = match cmp {
            FloatCmp::Eq => Cc::Eq,
            FloatCmp::Ne => Cc::Ne,
            FloatCmp::Lt => Cc::Lo,
            FloatCmp::Gt => Cc::Gt,
            FloatCmp::Le => Cc::Ls,
            FloatCmp::Ge => Cc::Ge,
        };
        self.b_cc(cc, target);
    }

    fn select_float(&mut self, _size: Size, dst: FReg, cond: Reg, other: FReg) {
        let (d, c, o) = (dst.0, cond.0, other.0);
        a64!(self.ops ; cmp WSP(c), 0 ; fcsel D(d), D(d), D(o), ne);
    }

    fn select_float_compare(&mut self, _size: Size, dst: FReg, cmp: Comparison, other: FReg) {
        self.cmp(cmp.size, cmp.lhs, cmp.rhs);
        self.fcsel(dst.0, other.0, Cc::of(cmp.cond));
    }

    fn float_to_int(&mut self, op: ConvertOp, dst: Reg, src: FReg) {
        let (d, s) = (dst.0, src.0);
        match op {
            ConvertOp::Reinterpret { to_float: false, size: Size::S32 } => {
                a64!(self.ops ; fmov W(d), S(s))
            }
            ConvertOp::Reinterpret { to_float: false, size: Size::S64 } => {
                a64!(self.ops ; fmov X(d), D(s))
            }
            ConvertOp::Trunc { signed, saturating, int, float } => {
                if !saturating {
                    // `fcvtz*` saturate (and give 0 for NaN): the trapping forms check NaN, then
                    // the exact exclusive bounds, first.
                    let (lo, hi) = ConvertOp::trunc_bounds(signed, int, float);
                    let overflow = self.trap_label(TrapCode::IntegerOverflow);
                    let nan = self.trap_label(TrapCode::BadConversionToInteger);
                    self.fcmp(float, s, s);
                    self.b_cc(Cc::Vs, nan);
                    self.float_const_v30(float, lo);
                    self.fcmp(float, s, 30);
                    self.b_cc(Cc::Ls, overflow);
                    self.float_const_v30(float, hi);
                    self.fcmp(float, s, 30);
                    self.b_cc(Cc::Ge, overflow);
                }
                match (signed, int, float) {
                    (true, Size::S32, Size::S32) => a64!(self.ops ; fcvtzs W(d), S(s)),
                    (true, Size::S32, Size::S64) => a64!(self.ops ; fcvtzs W(d), D(s)),
                    (true, Size::S64, Size::S32) => a64!(self.ops ; fcvtzs X(d), S(s)),
                    (true, Size::S64, Size::S64) => a64!(self.ops ; fcvtzs X(d), D(s)),
                    (false, Size::S32, Size::S32) => a64!(self.ops ; fcvtzu W(d), S(s)),
                    (false, Size::S32, Size::S64) => a64!(self.ops ; fcvtzu W(d), D(s)),
                    (false, Size::S64, Size::S32) => a64!(self.ops ; fcvtzu X(d), S(s)),
                    (false, Size::S64, Size::S64) => a64!(self.ops ; fcvtzu X(d), D(s)),
                }
            }
            other => unreachable!("{other:?} does not go from float to integer"),
        }
    }

    fn int_to_float(&mut self, op: ConvertOp, dst: FReg, src: Reg) {
        let (d, s) = (dst.0, src.0);
        match op {
            ConvertOp::Reinterpret { to_float: true, size: Size::S32 } => {
                a64!(self.ops ; fmov S(d), W(s))
            }
            ConvertOp::Reinterpret { to_float: true, size: Size::S64 } => {
                a64!(self.ops ; fmov D(d), X(s))
            }
            // Rounded to nearest, ties to even, in one instruction for every combination.
            ConvertOp::Convert { signed, int, float } => match (signed, int, float) {
                (true, Size::S32, Size::S32) => a64!(self.ops ; scvtf S(d), W(s)),
                (true, Size::S32, Size::S64) => a64!(self.ops ; scvtf D(d), W(s)),
                (true, Size::S64, Size::S32) => a64!(self.ops ; scvtf S(d), X(s)),
                (true, Size::S64, Size::S64) => a64!(self.ops ; scvtf D(d), X(s)),
                (false, Size::S32, Size::S32) => a64!(self.ops ; ucvtf S(d), W(s)),
                (false, Size::S32, Size::S64) => a64!(self.ops ; ucvtf D(d), W(s)),
                (false, Size::S64, Size::S32) => a64!(self.ops ; ucvtf S(d), X(s)),
                (false, Size::S64, Size::S64) => a64!(self.ops ; ucvtf D(d), X(s)),
            },
            other => unreachable!("{other:?} does not go from integer to float"),
        }
    }

    fn float_to_float(&mut self, op: ConvertOp, dst: FReg, src: FReg) {
        let (d, s) = (dst.0, src.0);
        match op {
            ConvertOp::Resize { to: Size::S64 } => a64!(self.ops ; fcvt D(d), S(s)),
            ConvertOp::Resize { to: Size::S32 } => a64!(self.ops ; fcvt S(d), D(s)),
            other => unreachable!("{other:?} does not go from float to float"),
        }
    }

    fn load_heap_float(&mut self, size: Size, dst: FReg, addr: Option<Reg>, offset: u32) {
        let bytes = if size == Size::S32 { 4 } else { 8 };
        let d = dst.0;
        match (self.load_operand(addr, offset, bytes), size) {
            (HeapOperand::Unscaled(b, back), Size::S32) => {
                a64!(self.ops ; ldur S(d), [XSP(b), back])
            }
            (HeapOperand::Unscaled(b, back), Size::S64) => {
                a64!(self.ops ; ldur D(d), [XSP(b), back])
            }
            (HeapOperand::Extended(i), Size::S32) => {
                a64!(self.ops ; ldr S(d), [XSP(HEAP_BASE), W(i), UXTW])
            }
            (HeapOperand::Extended(i), Size::S64) => {
                a64!(self.ops ; ldr D(d), [XSP(HEAP_BASE), W(i), UXTW])
            }
            (HeapOperand::Scaled(b, at), Size::S32) => a64!(self.ops ; ldr S(d), [XSP(b), at]),
            (HeapOperand::Scaled(b, at), Size::S64) => a64!(self.ops ; ldr D(d), [XSP(b), at]),
        }
    }

    fn store_heap_float(&mut self, size: Size, src: FReg, addr: Option<Reg>, offset: u32) {
        let bytes = if size == Size::S32 { 4 } else { 8 };
        let s = src.0;
        match (self.store_operand(addr, offset, bytes), size) {
            (HeapOperand::Unscaled(b, back), Size::S32) => {
                a64!(self.ops ; stur S(s), [XSP(b), back])
            }
            (HeapOperand::Unscaled(b, back), Size::S64) => {
                a64!(self.ops ; stur D(s), [XSP(b), back])
            }
            (HeapOperand::Scaled(b, at), Size::S32) => a64!(self.ops ; str S(s), [XSP(b), at]),
            (HeapOperand::Scaled(b, at), Size::S64) => a64!(self.ops ; str D(s), [XSP(b), at]),
            (HeapOperand::Extended(_), _) => unreachable!("stores are never at a register offset"),
        }
    }

    fn load_global_float(&mut self, size: Size, dst: FReg, global: GlobalCell) {
        match size {
            Size::S32 => {
                let (base, at) = self.global_cell(global, 2);
                a64!(self.ops ; ldr S(dst.0), [XSP(base), at])
            }
            Size::S64 => {
                let (base, at) = self.global_cell(global, 3);
                a64!(self.ops ; ldr D(dst.0), [XSP(base), at])
            }
        }
    }

    fn store_global_float(&mut self, size: Size, src: FReg, global: GlobalCell) {
        // Only the value's own bytes, as for integers.
        match size {
            Size::S32 => {
                let (base, at) = self.global_cell(global, 2);
                a64!(self.ops ; str S(src.0), [XSP(base), at])
            }
            Size::S64 => {
                let (base, at) = self.global_cell(global, 3);
                a64!(self.ops ; str D(src.0), [XSP(base), at])
            }
        }
    }

    fn runtime(&mut self, op: RuntimeOp, a: u32, b: u32, args: u32) {
        self.add_imm(Size::S64, 4, FP, args as i64);
        self.mov_imm(Size::S32, 1, op as i64);
        self.mov_imm(Size::S32, 2, a as i64);
        self.mov_imm(Size::S32, 3, b as i64);
        self.load_ctx(SCRATCH0, CTX_RUNTIME);
        // A runtime operation never leaves a tail call: only a trap is checked for.
        let trap_exit = self.call_trap_label();
        a64!(self.ops ; mov x0, x19 ; blr x16);
        self.cbz(Size::S32, 0, true, trap_exit);
    }

    fn consume_fuel(&mut self, amount: u32) {
        let out_of_fuel = self.trap_label(TrapCode::OutOfFuel);
        self.load_ctx(SCRATCH0, CTX_FUEL);
        self.mov_imm(Size::S64, 1, amount as i64);
        a64!(self.ops ; ldr x17, [x16] ; subs x17, x17, x1);
        self.b_cc(Cc::Lo, out_of_fuel);
        a64!(self.ops ; str x17, [x16]);
    }

    fn profile_push(&mut self, entry: u64) {
        // x16 = the stack, x17 = its depth, x0 = the entry's slot (less the entries' offset),
        // x1 = the entry: both are free outside calls. The release store of the new depth
        // publishes the entry to the sampler.
        self.load_ctx(SCRATCH0, CTX_PROFILE_STACK);
        a64!(self.ops
            ; ldr x17, [x16]
            ; and x0, x17, PROFILE_MASK
            ; add x0, x16, x0, lsl 3
        );
        self.mov_imm(Size::S64, 1, entry as i64);
        a64!(self.ops
            ; str x1, [x0, PROFILE_ENTRIES]
            ; add x17, x17, 1
            ; stlr x17, [x16]
        );
    }

    fn profile_set_top(&mut self, high: u32) {
        self.load_ctx(SCRATCH0, CTX_PROFILE_STACK);
        a64!(self.ops
            ; ldr x17, [x16]
            ; sub x17, x17, 1
            ; and x17, x17, PROFILE_MASK
            ; add x16, x16, x17, lsl 3
        );
        self.mov_imm(Size::S32, SCRATCH1, high as i64);
        a64!(self.ops ; str w17, [x16, PROFILE_ENTRIES + 4]);
    }

    fn profile_pop(&mut self) {
        self.load_ctx(SCRATCH0, CTX_PROFILE_STACK);
        a64!(self.ops
            ; ldr x17, [x16]
            ; sub x17, x17, 1
            ; str x17, [x16]
        );
    }

    fn osr_entry(&mut self, label: DynamicLabel) {
        self.osr_targets.push(Some(label));
    }

    fn no_osr_entry(&mut self) {
        self.osr_targets.push(None);
    }

    fn finish(mut self) -> Result<Assembled, AsmError> {
        // On-stack-replacement entries: the frame is the interpreter's, set up and checked.
        let saved = self.saved_registers();
        let mut osr_entries = Vec::with_capacity(self.osr_targets.len());
        for target in std::mem::take(&mut self.osr_targets) {
            osr_entries.push(target.map(|label| {
                let offset = self.offset();
                self.enter(&saved);
                a64!(self.ops ; b =>label);
                offset
            }));
        }
        let (epilogue, trap_exit) = (self.epilogue, self.trap_exit);
        let mut out_of_line = Vec::new();
        // Counting stubs: a back-edge tally that ran out is added to the counters (and its
        // budget spent); a budget that is gone asks tiering (`VmCtx::hot`), which answers with
        // a resume or the status of newer code that ran the rest.
        for HotStub { stub, site, chunk, resume } in std::mem::take(&mut self.hot_stubs) {
            out_of_line.push((self.offset(), OutOfLine::HotStub));
            a64!(self.ops ; =>stub);
            if let Some(budget) = chunk {
                self.flush_tally();
                let Some(budget) = budget else {
                    a64!(self.ops ; b =>resume);
                    continue;
                };
                self.mov_imm(Size::S64, 0, budget.min(i64::MAX as u64) as i64);
                a64!(self.ops
                    ; ldr x17, [x16, COUNTER_BUDGET]
                    ; subs x17, x17, x0
                    ; str x17, [x16, COUNTER_BUDGET]
                );
                self.b_cc(Cc::Gt, resume);
            }
            a64!(self.ops ; mov x0, x19 ; mov x1, x20);
            self.mov_imm(Size::S32, 2, self.func_index as i64);
            self.mov_imm(Size::S32, 3, site as i64);
            self.mov_imm(Size::S32, 4, self.tier as i64);
            self.load_ctx(SCRATCH0, CTX_HOT);
            a64!(self.ops ; blr x16);
            self.cmp_imm(Size::S32, 0, HOT_CONTINUE as i64);
            self.b_cc(Cc::Eq, resume);
            a64!(self.ops ; b =>epilogue);
        }
        // Call sites' stubs: a callee that left a tail call pending has the chain run here; any
        // other status is a trap.
        for super::CallStub { stub, resume, trap, callee_fp } in
            std::mem::take(&mut self.call_stubs)
        {
            out_of_line.push((self.offset(), OutOfLine::TailCallStub));
            a64!(self.ops ; =>stub);
            self.cmp_imm(Size::S32, 0, TAIL_CALL_PENDING as i64);
            self.b_cc(Cc::Ne, trap);
            a64!(self.ops ; mov x0, x19);
            self.add_imm(Size::S64, 1, FP, callee_fp as i64);
            self.load_ctx(SCRATCH0, CTX_TAIL_CALLS);
            a64!(self.ops ; blr x16);
            self.cbz(Size::S32, 0, false, resume);
            a64!(self.ops ; b =>trap);
        }
        // Trap stubs: the status (unless a callee's trap is passing) and the operator's wasm
        // offset in `w4`, the unwind helper's fifth argument.
        for (code, wasm_offset, label) in self.traps.take() {
            a64!(self.ops ; =>label);
            match code {
                Some(code) => {
                    out_of_line.push((self.offset(), OutOfLine::TrapStub(code.clone())));
                    a64!(self.ops ; movz w0, trap_status(&code));
                }
                None => out_of_line.push((self.offset(), OutOfLine::CallTrapStub)),
            }
            self.mov_imm(Size::S32, 4, wasm_offset as i64);
            a64!(self.ops ; b =>trap_exit);
        }
        // The landing pad of faulting heap accesses: it needs only `x19` (the context), which
        // every access leaves intact, and `w4`, which the fault handler sets.
        let mut oob_landing = None;
        if !self.heap_accesses.is_empty() {
            oob_landing = Some(self.offset());
            out_of_line.push((self.offset(), OutOfLine::OobLanding));
            let status = trap_status(&TrapCode::MemoryOutOfBounds);
            a64!(self.ops ; movz w0, status ; b =>trap_exit);
        }
        // The trap exit: the runtime records this frame for the backtrace and turns the status
        // into a pending trap (its result is this function's status).
        out_of_line.push((self.offset(), OutOfLine::TrapExit));
        a64!(self.ops ; =>trap_exit ; mov w1, w0);
        self.mov_imm(Size::S32, 2, self.func_index as i64);
        self.mov_imm(Size::S32, 3, self.tier as i64);
        self.load_ctx(SCRATCH0, CTX_UNWIND);
        a64!(self.ops ; mov x0, x19 ; blr x16);
        // Every way out passes here (the trap exit too: `x19` survives the unwind helper), so
        // the back-edge tally is flushed once.
        out_of_line.push((self.offset(), OutOfLine::Epilogue));
        a64!(self.ops ; =>epilogue);
        self.flush_tally();
        self.leave(&saved);
        // The tail exit: the stack as the entry found it, so the callee's entry returns to this
        // function's caller.
        if self.tail_exit_used {
            out_of_line.push((self.offset(), OutOfLine::TailExit));
            let tail_exit = self.tail_exit;
            a64!(self.ops ; =>tail_exit);
            self.restore(&saved);
            a64!(self.ops ; br x16);
        }
        // The entry's first instructions go in front: the body is position-independent, and
        // everything recorded so far moves by their length.
        let body_end = self.offset();
        self.enter(&saved);
        let mut code: Vec<u8> = self.ops.drain().map_err(|e| AsmError(format!("{e:?}")))?.collect();
        SPARE_ASSEMBLER.set(Some(std::mem::replace(&mut self.ops, VecAssembler::new(0))));
        let entry = code.split_off(body_end as usize);
        let shift = entry.len() as u32;
        code.splice(0..0, entry);
        let out_of_line = out_of_line.into_iter().map(|(at, what)| (at + shift, what)).collect();
        let code_map = CodeMap { out_of_line, ..CodeMap::default() };
        let heap_accesses = self.heap_accesses.iter().map(|at| at + shift).collect();
        let heap_access_wasm = std::mem::take(&mut self.heap_access_wasm);
        let mut spare = std::mem::take(&mut self.heap_accesses);
        spare.clear();
        SPARE_HEAP_ACCESSES.set(spare);
        let osr_entries = osr_entries.into_iter().map(|e| e.map(|at| at + shift)).collect();
        let oob_landing = oob_landing.map(|at| at + shift);
        let sig_sites = std::mem::take(&mut self.sig_sites)
            .into_iter()
            .map(|site| SigSite { offset: site.offset + shift, ..site })
            .collect();
        Ok(Assembled {
            code,
            heap_accesses,
            heap_access_wasm,
            oob_landing,
            osr_entries,
            code_map,
            sig_sites,
            register_entry: None,
            direct_calls: Vec::new(),
            entry_bytes: shift,
        })
    }
}
