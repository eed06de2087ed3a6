//! The x86-64 `MacroAssembler`: the only place that knows x86 encodings (through `dynasm!`,
//! except the most frequent forms, encoded by hand: frame-slot moves ([`frame_access`]), heap
//! accesses, register and constant moves, `lea` sums ([`lea`]) and ALU immediates
//! ([`alu_imm`]). `dynasm!`'s general encoder costs several times as much host work for each,
//! and with a register, displacement or immediate known only at run time it writes the longest
//! form: a REX prefix, a SIB byte, a 32-bit displacement and immediate. The hand encodings take
//! the shortest form (sqlite: tier-2 code 6.73 -> 6.18 MiB, tier-1 7.45 -> 6.70 MiB, `tierup run
//! --stats`, with the first of them); tests decode each against `dynasm!`'s).
//!
//! Register roles (System V calling convention for the entry and for calls out):
//! - `rdi`: the `VmCtx` pointer, `rsi`: the frame pointer; both pinned, and saved around calls
//!   (entries and the runtime's helpers are System V functions), but around tier 2's calls of
//!   register entries, which keep them on every way out;
//! - `rax`, `rcx`, `rdx`: scratch for this file only: x86's fixed registers for division and
//!   shift counts, and the two-operand forms, are absorbed here; `rcx` and `rdx` are lent to
//!   tier 2's allocator between the operations that use them (`lent_scratch`, whose contract
//!   `lent_scratch_tests` checks on the decoded code of every operation);
//! - `r14`: the memory base (`VmCtx::mem_base`), pinned by every entry of a function that
//!   accesses memory or calls a register entry; a register entry finds it pinned (tier 2's code
//!   never writes it, and the adapter in front of the register entry loads it);
//! - `r8`-`r11`, `rbx`, `r12`, `r13`, `r15`: allocatable (`r15` is the back-edge tally in
//!   functions with loops), and `rbp` in tier 2; entries save the callee-saved registers the
//!   code writes (told by `registers_used`), an odd number of them so calls stay 16-byte aligned
//!   (a leaf's may save an even number: its trap exit aligns its one call itself), and `finish`
//!   puts those saves in front of the code (`Assembled::entry_bytes`);
//! - `xmm0`, `xmm1`: float scratch for this file only (two-operand forms, constants, the
//!   truncation bounds); `xmm2`-`xmm15`: allocatable floats, all caller-saved, which the code
//!   generator respects by spilling every value before a call.
//!
//! Integer results of 32-bit operations are written with 32-bit instructions, which zero the
//! upper half, so an `i32` in a register always has its upper 32 bits clear. Float sign operations
//! (`abs`, `neg`, `copysign`) go through `rax`/`rcx` as bit operations, so NaN payloads survive;
//! the roundings need SSE4.1 (`roundss`/`roundsd`), which the code generator checks.
//!
//! Linear memory: every load and store goes through [`X64Masm::heap_access`], which addresses
//! `[r14 + index + disp]` with `r14` = the memory base and `index` the register holding the
//! wasm address (zero-extended: an `i32` in a register has its upper half clear), none for a
//! constant address the code generator folded into the offset (`[r14 + disp]`), or `rax` =
//! address + offset when the offset does not fit a disp32, so the access lies below base + 8 GiB +
//! the access width, inside the memory's reservation (`vm::memory::RESERVATION`). With
//! [`HeapBounds::GuardPages`] (the default wherever `jit::signals` is installed) nothing is
//! compared: the access instruction's offset is recorded, and a fault on it lands on the
//! function's `MemoryOutOfBounds` stub, which leaves through the usual trap exit. With
//! [`HeapBounds::Explicit`] the address is compared against `VmCtx::mem_len` first, as
//! everywhere when signals are unavailable or disabled (`Config::signals_based_traps`).
//! Heap accesses only happen at the function body's stack depth (never between the pushes
//! around a call), so the landing pad's call into the runtime finds the stack aligned.

// `dynasm!` converts dynamic register operands with `.into()`, which clippy flags as useless when
// the operand is already a `u8`; the expansion is not ours to change.
#![allow(clippy::useless_conversion)]

use crate::isa::const_div::{self, Plan};
use crate::isa::masm::{
    ArgLoc, AsmError, Assembled, BulkMemory, CODE_ALIGN, Callee, CodeMap, Comparison, Cond,
    ConvertOp, DirectCallSite, DivOp, FReg, FloatCmp, FloatOp, FloatUnaryOp, FrameSetup,
    GlobalCell, HeapBounds, Immediates, IntOp, LoadKind, MacroAssembler, OutOfLine, Reg, RegImm,
    RuntimeOp, SigSite, Size, StoreKind, UnaryOp,
};
use crate::tier::Tier;
use crate::vm::frame::SLOT_BYTES;
use crate::vm::table::{Dispatch, ENTRY_BYTES, IndirectEntry};
use crate::vm::vmctx::{
    FuncCounters, HOT_AT_ENTRY, HOT_CONTINUE, MemoryView, TAIL_CALL_PENDING, VmCtx,
};
use crate::vm::{TrapCode, trap_status};
use dynasmrt::x64::X64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm};

/// Allocatable registers, caller-saved first; `r15` last (the back-edge tally takes it).
const ALLOCATABLE: [Reg; 8] = [Reg(8), Reg(9), Reg(10), Reg(11), Reg(3), Reg(12), Reg(13), Reg(15)];

/// Tier 2's allocatable registers: tier 1's and `rbp`, which no code uses as a frame pointer.
/// Tier 1 leaves it out: its code generator's cost model is tuned to eight registers.
const ALLOCATABLE_OPTIMIZED: [Reg; 9] =
    [Reg(8), Reg(9), Reg(10), Reg(11), Reg(3), Reg(12), Reg(13), Reg(5), Reg(15)];

/// `rcx` and `rdx`: scratch inside the operations that need a second and third register
/// (shifts by a register, division, some compares and conversions, fuel, calls), allocatable by
/// tier 2 between them (`MacroAssembler::lent_scratch`).
const LENT_SCRATCH: [Reg; 2] = [Reg(1), Reg(2)];

/// Bytes per `br_table` jump table entry: a 64-bit offset of the case's code from the table.
const JUMP_TABLE_ENTRY: usize = 8;

/// Tier 2's register convention (`MacroAssembler::argument_registers`): the caller-saved
/// allocatable registers, so a call clobbers nothing it would not clobber anyway. The first
/// integer and the first float argument register also carry the first result.
const ARGUMENT_REGISTERS: [Reg; 4] = [Reg(8), Reg(9), Reg(10), Reg(11)];
const ARGUMENT_FLOAT_REGISTERS: [FReg; 8] =
    [FReg(2), FReg(3), FReg(4), FReg(5), FReg(6), FReg(7), FReg(8), FReg(9)];

/// The callee-saved registers, which an entry saves when the function's code writes them.
const CALLEE_SAVED: [u8; 6] = [3, 5, 12, 13, 14, 15];

/// Pushed (and popped) only to keep the stack 16-byte aligned when every callee-saved register
/// is saved: a scratch register, which holds nothing across an entry or its return.
const ALIGNMENT_PAD: u8 = 1;

/// `rsp` in a SIB byte's index field means "no index": a heap access at a constant address is
/// `[r14 + disp]` through the same instruction templates as every other (see `heap_access`).
const NO_INDEX: u8 = 4;

/// `rsi`, the frame pointer, and `rdi`, the context, as the hand encoders name base registers.
const FRAME: u8 = 6;
const CONTEXT: u8 = 7;

/// The memory base (`VmCtx::mem_base`, which never changes for an instance), pinned in a
/// callee-saved register by every entry of a function that accesses memory.
const HEAP_BASE: u8 = 14;

/// Allocatable float registers: `xmm0` and `xmm1` are this file's scratch registers.
const ALLOCATABLE_FLOAT: [FReg; 14] = [
    FReg(2),
    FReg(3),
    FReg(4),
    FReg(5),
    FReg(6),
    FReg(7),
    FReg(8),
    FReg(9),
    FReg(10),
    FReg(11),
    FReg(12),
    FReg(13),
    FReg(14),
    FReg(15),
];

const CTX_RUNTIME: i32 = std::mem::offset_of!(VmCtx, runtime) as i32;
const CTX_MEM_BASE: i32 = std::mem::offset_of!(VmCtx, mem_base) as i32;
const CTX_MEM_LEN: i32 = std::mem::offset_of!(VmCtx, mem_len) as i32;
const CTX_MEMORIES: i32 = std::mem::offset_of!(VmCtx, memories) as i32;
const CTX_GLOBALS: i32 = std::mem::offset_of!(VmCtx, globals) as i32;
const CTX_FUNCS: i32 = std::mem::offset_of!(VmCtx, funcs) as i32;
const CTX_REGISTER_ENTRIES: i32 = std::mem::offset_of!(VmCtx, register_entries) as i32;
const CTX_UNWIND: i32 = std::mem::offset_of!(VmCtx, unwind) as i32;
const CTX_STACK_END: i32 = std::mem::offset_of!(VmCtx, stack_end) as i32;
const CTX_FUEL: i32 = std::mem::offset_of!(VmCtx, fuel) as i32;
const CTX_NATIVE_STACK_LIMIT: i32 = std::mem::offset_of!(VmCtx, native_stack_limit) as i32;
const CTX_CALL_INDIRECT: i32 = std::mem::offset_of!(VmCtx, call_indirect) as i32;
const CTX_CALL_REF: i32 = std::mem::offset_of!(VmCtx, call_ref) as i32;
const CTX_TAIL_CALL_REF: i32 = std::mem::offset_of!(VmCtx, tail_call_ref) as i32;
const CTX_MEMORY_GROW: i32 = std::mem::offset_of!(VmCtx, memory_grow) as i32;
const CTX_MEMORY_COPY: i32 = std::mem::offset_of!(VmCtx, memory_copy) as i32;
const CTX_MEMORY_FILL: i32 = std::mem::offset_of!(VmCtx, memory_fill) as i32;
const CTX_CALL_IMPORT: i32 = std::mem::offset_of!(VmCtx, call_import) as i32;
const CTX_COUNTERS: i32 = std::mem::offset_of!(VmCtx, counters) as i32;
const CTX_HOT: i32 = std::mem::offset_of!(VmCtx, hot) as i32;
const CTX_TABLES: i32 = std::mem::offset_of!(VmCtx, tables) as i32;
const CTX_TABLE0: i32 = std::mem::offset_of!(VmCtx, table0) as i32;
const CTX_PROFILE_STACK: i32 = std::mem::offset_of!(VmCtx, profile_stack) as i32;
const CTX_TAIL_CALL_IMPORT: i32 = std::mem::offset_of!(VmCtx, tail_call_import) as i32;
const CTX_TAIL_CALL_INDIRECT: i32 = std::mem::offset_of!(VmCtx, tail_call_indirect) as i32;
const CTX_TAIL_CALLS: i32 = std::mem::offset_of!(VmCtx, tail_calls) as i32;
const CTX_CATCH: i32 = std::mem::offset_of!(VmCtx, catch) as i32;
const PROFILE_ENTRIES: i32 = crate::vm::profile::PROFILE_ENTRIES_OFFSET as i32;
const PROFILE_MASK: i32 = crate::vm::profile::PROFILE_MASK as i32;
const INLINE_GLOBALS: i32 = crate::vm::vmctx::INLINE_GLOBALS as i32;
const DISPATCH_ENTRIES: i32 = std::mem::offset_of!(Dispatch, entries) as i32;
const DISPATCH_LEN: i32 = std::mem::offset_of!(Dispatch, len) as i32;
const ENTRY_SIG: i32 = std::mem::offset_of!(IndirectEntry, sig) as i32;
const ENTRY_FUNC_INDEX: i32 = std::mem::offset_of!(IndirectEntry, func_index) as i32;
const ENTRY_ENTRY: i32 = std::mem::offset_of!(IndirectEntry, entry) as i32;
const ENTRY_CTX: i32 = std::mem::offset_of!(IndirectEntry, ctx) as i32;
const ENTRY_REGISTER_ENTRY: i32 = std::mem::offset_of!(IndirectEntry, register_entry) as i32;
const ENTRY_SHIFT: i8 = ENTRY_BYTES.trailing_zeros() as i8;
/// A function's counters: `FuncCounters` is `#[repr(C)]`, four 8-byte fields.
const COUNTERS_BYTES: u32 = std::mem::size_of::<FuncCounters>() as u32;
const COUNTER_CALLS: u32 = std::mem::offset_of!(FuncCounters, calls) as u32;
const COUNTER_BACK_EDGES: u32 = std::mem::offset_of!(FuncCounters, back_edges) as u32;
const COUNTER_BUDGET: u32 = std::mem::offset_of!(FuncCounters, budget) as u32;

/// The widest single access to linear memory (a `v128`).
const MAX_ACCESS_BYTES: usize = 16;
// An unchecked access reaches at most `u32::MAX` (address) + `u32::MAX` (offset) + its width
// past the base, which must stay inside the reservation for the guard pages to catch it.
const _: () = assert!(
    2 * u32::MAX as usize + MAX_ACCESS_BYTES <= crate::vm::memory::RESERVATION,
    "unchecked heap accesses could leave the memory's reservation"
);

macro_rules! asm {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops ; .arch x64 ; $($t)*)
    };
}

thread_local! {
    /// The assembler of the last function this thread finished, emptied, with its buffers: a
    /// compile thread assembles thousands of functions, and fresh buffers for each cost a tenth
    /// of tier 1's time in reallocations and page faults.
    static SPARE_ASSEMBLER: std::cell::Cell<Option<VecAssembler<X64Relocation>>> =
        const { std::cell::Cell::new(None) };
    /// The heap-access list of the last function this thread finished, emptied: the output
    /// gets an exact copy, so growing the list one function at a time costs nothing.
    static SPARE_HEAP_ACCESSES: std::cell::Cell<Vec<u32>> =
        const { std::cell::Cell::new(Vec::new()) };
}

/// Assembles one function for x86-64.
pub struct X64Masm {
    ops: VecAssembler<X64Relocation>,
    epilogue: DynamicLabel,
    /// Where every trap leaves the function: `eax` holds the status.
    trap_exit: DynamicLabel,
    /// Where tail calls leave the function: restores the entry's saves and jumps to `rax` (the
    /// callee's entry, its arguments in `rdi`, `rsi`, `edx`).
    tail_exit: DynamicLabel,
    /// Whether any code jumps to `tail_exit`.
    tail_exit_used: bool,
    /// Whether the code calls nothing (`FrameSetup::calls`): its only call is the trap exit's,
    /// which aligns the stack itself, so the entry saves no register just for alignment.
    leaf: bool,
    /// The out-of-line stubs of the call sites (see `check_call_status`).
    call_stubs: Vec<super::CallStub>,
    /// Whether a direct call of a defined function may return a pending tail call
    /// (`set_module_tail_calls`).
    own_tail_calls: bool,
    traps: super::TrapStubs,
    /// The function's module index, which the trap exit reports.
    func_index: u32,
    /// Loop headers to emit on-stack-replacement entries for, by loop ordinal.
    osr_targets: Vec<Option<DynamicLabel>>,
    bounds: HeapBounds,
    /// Offsets of the heap-access instructions emitted so far (see `heap_access`).
    heap_accesses: Vec<u32>,
    /// Where the code emitted so far holds interned signature ids (see `SigSite`).
    sig_sites: Vec<SigSite>,
    /// What the target has beyond baseline x86-64.
    features: X64Features,
    /// Out-of-line code for counting points: flushes of the back-edge tally and calls of the
    /// `hot` helper.
    hot_stubs: Vec<HotStub>,
    /// Back-edges are tallied in `r15` (see `tally_back_edges`).
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
    /// The register convention's parameters and result, when the function is entered by it
    /// (`enter_by_registers`): `finish` puts the adapter in front.
    register_entry: Option<(Vec<ArgLoc>, ArgLoc)>,
    /// The out-of-line halves of the register calls (`call_by_registers`).
    register_calls: Vec<RegisterCall>,
    /// The largest alignment the body asked for (`align_code`): `finish` places the body at an
    /// offset that is a multiple of it.
    body_align: u32,
    /// The `br_table` jump tables (`jump_table`), placed after the out-of-line code: each
    /// table's label and its cases' targets.
    jump_tables: Vec<(DynamicLabel, Vec<DynamicLabel>)>,
    /// The calls `call_by_registers` made of defined functions (body offsets until `finish`).
    direct_calls: Vec<DirectCallSite>,
}

/// Where a table index is (`own_dispatch_entry`).
#[derive(Clone, Copy, Debug)]
enum TableIndex {
    Slot(u32),
    Reg(Reg),
}

/// The out-of-line half of a call in the register convention (emitted in `finish`): where the
/// callee has no register entry, the arguments go to their slots and its slot-convention entry
/// is called.
#[derive(Clone, Debug)]
struct RegisterCall {
    callee: RegisterCallee,
    /// Where the callee without a register entry is called, with the context and frame pointer
    /// pushed and `rsi` = the callee's frame.
    slow: DynamicLabel,
    /// Where the call site goes on, the result in its register.
    done: DynamicLabel,
    trap: DynamicLabel,
    callee_fp: u32,
    args: Vec<ArgLoc>,
    result: ArgLoc,
}

#[derive(Clone, Copy, Debug)]
enum RegisterCallee {
    /// Defined function `def`, module index `func`: through the function table.
    Direct { def: u32, func: u32 },
    /// `call_indirect`: at `slow`, `rax` is the dispatch element, whose entry is called; every
    /// other case goes to `helper` (nothing pushed), which calls the runtime's `call_indirect`
    /// with the table index from `index` stored in the slot after the arguments.
    Indirect { ty: u32, table: u32, index: Reg, helper: DynamicLabel },
}

/// The back-edge tally of a function with loops: `r15` counts down from `chunk`.
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
    chunk: Option<Option<i32>>,
    resume: DynamicLabel,
}

/// The instruction-set extensions tier-1 code may use; without one, functions needing it stay
/// interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X64Features {
    /// `popcnt` (x86-64-v2).
    pub popcnt: bool,
    /// `roundss`/`roundsd` (SSE4.1, x86-64-v2): float `ceil`, `floor`, `trunc`, `nearest`.
    pub sse41: bool,
    /// `shlx`/`shrx`/`sarx` (BMI2, x86-64-v3): shifts by a count in any register into any
    /// register, instead of through `cl` and copies. Optional: without it, shifts take `cl`.
    pub bmi2: bool,
}

impl X64Features {
    /// The host's features when it is x86-64, else an x86-64-v2 machine's.
    pub fn host() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            X64Features {
                popcnt: std::arch::is_x86_feature_detected!("popcnt"),
                sse41: std::arch::is_x86_feature_detected!("sse4.1"),
                bmi2: std::arch::is_x86_feature_detected!("bmi2"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            X64Features { popcnt: true, sse41: true, bmi2: false }
        }
    }
}

impl X64Masm {
    /// An assembler for the host's features (see [`X64Features::host`]).
    pub fn new(bounds: HeapBounds) -> Self {
        X64Masm::with_features(bounds, X64Features::host())
    }

    /// An assembler for a target with `features`.
    pub fn with_features(bounds: HeapBounds, features: X64Features) -> Self {
        let mut ops = SPARE_ASSEMBLER.take().unwrap_or_else(|| VecAssembler::new(0));
        let epilogue = ops.new_dynamic_label();
        let trap_exit = ops.new_dynamic_label();
        let tail_exit = ops.new_dynamic_label();
        X64Masm {
            ops,
            epilogue,
            trap_exit,
            tail_exit,
            tail_exit_used: false,
            leaf: false,
            call_stubs: Vec::new(),
            own_tail_calls: true,
            traps: super::TrapStubs::default(),
            func_index: u32::MAX,
            osr_targets: Vec::new(),
            bounds,
            heap_accesses: SPARE_HEAP_ACCESSES.take(),
            sig_sites: Vec::new(),
            features,
            hot_stubs: Vec::new(),
            tally: None,
            used: None,
            heap_base_used: false,
            memory: 0,
            tier: Tier::Baseline,
            wasm_offset: 0,
            heap_access_wasm: Vec::new(),
            trap_handler: None,
            register_entry: None,
            direct_calls: Vec::new(),
            register_calls: Vec::new(),
            body_align: 1,
            jump_tables: Vec::new(),
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

    /// After a call of an entry (context and frame pointer popped back): a nonzero status goes
    /// to the call site's stub, which runs a pending tail call chain (`VmCtx::tail_calls`) and
    /// comes back, or leaves through the trap exit.
    /// `may_tail_call`: the callee may leave a tail call pending; if not, a nonzero status is a
    /// trap and goes to `trap` directly, no stub.
    fn check_call_status(&mut self, trap: DynamicLabel, callee_fp: u32, may_tail_call: bool) {
        if !may_tail_call {
            asm!(self.ops ; test eax, eax ; jnz =>trap);
            return;
        }
        let (stub, resume) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        asm!(self.ops ; test eax, eax ; jnz =>stub ; =>resume);
        self.call_stubs.push(super::CallStub { stub, resume, trap, callee_fp });
    }

    /// The rest of a call in the register convention, the callee's register entry (or 0) in
    /// `rcx`, `rsi` = the callee's frame: calls the entry if there is one (its code is tier 2's,
    /// which never leaves a tail call pending: any nonzero status is a trap, and which returns
    /// with `rdi`, `rsi` and `r14` as it found them), else goes to `slow`, the out-of-line half
    /// `finish` emits. The callee finds the memory base in `r14`, so this function keeps it there
    /// from its entry on (`saved_registers`).
    fn call_register_entry(
        &mut self,
        callee: RegisterCallee,
        slow: DynamicLabel,
        callee_fp: u32,
        args: &[ArgLoc],
        result: ArgLoc,
    ) -> u32 {
        self.heap_base_used = true;
        let (trap, done) = (self.call_trap_label(), self.ops.new_dynamic_label());
        asm!(self.ops ; test rcx, rcx ; jz =>slow ; call rcx);
        let returns_at = self.ops.offset().0 as u32;
        lea(&mut self.ops, true, FRAME, FRAME, None, -(callee_fp as i32));
        asm!(self.ops ; test eax, eax ; jnz =>trap ; =>done);
        let args = args.to_vec();
        self.register_calls.push(RegisterCall {
            callee,
            slow,
            done,
            trap,
            callee_fp,
            args,
            result,
        });
        returns_at
    }

    /// `rax` = the element of `table`'s dispatch array (`vm::table`) at the index (in a slot or a
    /// register) when that index is in bounds and the element has signature `sig` (module type
    /// `ty`'s interned id) and this instance's context; otherwise jumps to `slow`, where the
    /// index's register still holds it. Clobbers `rcx`, or `rdx` when the index is in `rcx`
    /// (tier 2 may put it there: `lent_scratch`).
    fn own_dispatch_entry(
        &mut self,
        ty: u32,
        sig: u32,
        table: u32,
        index: TableIndex,
        slow: DynamicLabel,
    ) {
        match index {
            TableIndex::Slot(slot) => asm!(self.ops ; mov eax, DWORD [rsi + slot as i32]),
            TableIndex::Reg(r) => asm!(self.ops ; mov eax, Rd(r.0)),
        }
        // `head` (rcx, or rdx when the index is in rcx) = the table's dispatch head.
        let head = if matches!(index, TableIndex::Reg(Reg(1))) { 2 } else { 1 };
        let ops = &mut self.ops;
        if table == 0 {
            load_qword(ops, head, CONTEXT, CTX_TABLE0);
        } else {
            load_qword(ops, head, CONTEXT, CTX_TABLES);
            load_qword(ops, head, head, (table * 8) as i32);
        }
        // `cmp rax, QWORD [head + DISPATCH_LEN]` (3B /r).
        mem_access(ops, None, true, &[0x3B], 0, head, None, DISPATCH_LEN, &[]);
        asm!(ops ; jae =>slow ; shl rax, ENTRY_SHIFT);
        // `add rax, QWORD [head + DISPATCH_ENTRIES]` (03 /r).
        mem_access(ops, None, true, &[0x03], 0, head, None, DISPATCH_ENTRIES, &[]);
        // `cmp DWORD [rax + ENTRY_SIG], sig` (81 /7 id), its last four bytes the immediate: the
        // process's id for `ty`, which `sig_sites` patches.
        mem_access(ops, None, false, &[0x81], 7, 0, None, ENTRY_SIG, &(sig as i32).to_le_bytes());
        self.sig_sites.push(SigSite { offset: self.ops.offset().0 as u32 - 4, ty });
        asm!(self.ops ; jne =>slow);
        // `cmp rdi, QWORD [rax + ENTRY_CTX]` (3B /r).
        mem_access(&mut self.ops, None, true, &[0x3B], CONTEXT, 0, None, ENTRY_CTX, &[]);
        asm!(self.ops ; jne =>slow);
    }

    /// Leaves for a tail callee's entry, in `rax`, with `edx` set by `func_index` (flushing the
    /// back-edge tally first, which clobbers `rcx` and `rdx`).
    fn jump_to_tail_exit(&mut self, func_index: impl FnOnce(&mut Self)) {
        self.flush_tally(false);
        func_index(self);
        self.tail_exit_used = true;
        let tail_exit = self.tail_exit;
        asm!(self.ops ; jmp =>tail_exit);
    }

    /// An immediate that fits a sign-extended 32-bit field, or the value moved into `rcx`.
    fn imm_or_rcx(&mut self, imm: i64) -> Option<i32> {
        match i32::try_from(imm) {
            Ok(v) => Some(v),
            Err(_) => {
                asm!(self.ops ; mov rcx, QWORD imm);
                None
            }
        }
    }

    /// `rax = rax op rhs` for the arithmetic and logic operations.
    fn alu_rax(&mut self, op: IntOp, size: Size, rhs: RegImm) {
        let rhs = match rhs {
            RegImm::Reg(r) => Some(r),
            RegImm::Imm(imm) => match self.imm_or_rcx(imm) {
                Some(v) => {
                    self.alu_rax_imm(op, size, v);
                    return;
                }
                None => Some(Reg(1)),
            },
        };
        let r = rhs.expect("a register operand").0;
        match (op, size) {
            (IntOp::Add, Size::S32) => asm!(self.ops ; add eax, Rd(r)),
            (IntOp::Add, Size::S64) => asm!(self.ops ; add rax, Rq(r)),
            (IntOp::Sub, Size::S32) => asm!(self.ops ; sub eax, Rd(r)),
            (IntOp::Sub, Size::S64) => asm!(self.ops ; sub rax, Rq(r)),
            (IntOp::Mul, Size::S32) => asm!(self.ops ; imul eax, Rd(r)),
            (IntOp::Mul, Size::S64) => asm!(self.ops ; imul rax, Rq(r)),
            (IntOp::And, Size::S32) => asm!(self.ops ; and eax, Rd(r)),
            (IntOp::And, Size::S64) => asm!(self.ops ; and rax, Rq(r)),
            (IntOp::Or, Size::S32) => asm!(self.ops ; or eax, Rd(r)),
            (IntOp::Or, Size::S64) => asm!(self.ops ; or rax, Rq(r)),
            (IntOp::Xor, Size::S32) => asm!(self.ops ; xor eax, Rd(r)),
            (IntOp::Xor, Size::S64) => asm!(self.ops ; xor rax, Rq(r)),
            (shift, size) => {
                asm!(self.ops ; mov rcx, Rq(r));
                self.shift_rax_cl(shift, size);
            }
        }
    }

    fn alu_rax_imm(&mut self, op: IntOp, size: Size, v: i32) {
        match (op, size) {
            (IntOp::Add, Size::S32) => asm!(self.ops ; add eax, v),
            (IntOp::Add, Size::S64) => asm!(self.ops ; add rax, v),
            (IntOp::Sub, Size::S32) => asm!(self.ops ; sub eax, v),
            (IntOp::Sub, Size::S64) => asm!(self.ops ; sub rax, v),
            (IntOp::Mul, Size::S32) => asm!(self.ops ; imul eax, eax, v),
            (IntOp::Mul, Size::S64) => asm!(self.ops ; imul rax, rax, v),
            (IntOp::And, Size::S32) => asm!(self.ops ; and eax, v),
            (IntOp::And, Size::S64) => asm!(self.ops ; and rax, v),
            (IntOp::Or, Size::S32) => asm!(self.ops ; or eax, v),
            (IntOp::Or, Size::S64) => asm!(self.ops ; or rax, v),
            (IntOp::Xor, Size::S32) => asm!(self.ops ; xor eax, v),
            (IntOp::Xor, Size::S64) => asm!(self.ops ; xor rax, v),
            (shift, size) => {
                // Wasm takes shift counts modulo the width, as x86 does; the mask keeps the
                // immediate in the encodable range.
                let count = (v as u32 & if size == Size::S32 { 31 } else { 63 }) as i8;
                match (shift, size) {
                    (IntOp::Shl, Size::S32) => asm!(self.ops ; shl eax, count),
                    (IntOp::Shl, Size::S64) => asm!(self.ops ; shl rax, count),
                    (IntOp::ShrS, Size::S32) => asm!(self.ops ; sar eax, count),
                    (IntOp::ShrS, Size::S64) => asm!(self.ops ; sar rax, count),
                    (IntOp::ShrU, Size::S32) => asm!(self.ops ; shr eax, count),
                    (IntOp::ShrU, Size::S64) => asm!(self.ops ; shr rax, count),
                    (IntOp::Rotl, Size::S32) => asm!(self.ops ; rol eax, count),
                    (IntOp::Rotl, Size::S64) => asm!(self.ops ; rol rax, count),
                    (IntOp::Rotr, Size::S32) => asm!(self.ops ; ror eax, count),
                    (IntOp::Rotr, Size::S64) => asm!(self.ops ; ror rax, count),
                    _ => unreachable!("only shifts and rotates reach here"),
                }
            }
        }
    }

    /// Places the jump tables (after all code; x86 loads them unaligned) with zeroed entries; returns
    /// where each entry goes and the offset it holds, for `finish` to write once the code is
    /// drained (offsets in the body's own coordinates).
    fn place_jump_tables(
        &mut self,
        out_of_line: &mut Vec<(u32, OutOfLine)>,
    ) -> Result<Vec<(usize, i64)>, AsmError> {
        let mut entries = Vec::new();
        for (table, targets) in std::mem::take(&mut self.jump_tables) {
            out_of_line.push((self.offset(), OutOfLine::JumpTable { cases: targets.len() as u32 }));
            asm!(self.ops ; =>table);
            let at = self.ops.offset().0;
            self.ops.extend(std::iter::repeat_n(0, JUMP_TABLE_ENTRY * targets.len()));
            for (n, target) in targets.into_iter().enumerate() {
                let resolved = self.ops.labels().resolve_dynamic(target);
                let target = resolved.map_err(|e| AsmError(format!("{e:?}")))?.0;
                entries.push((at + JUMP_TABLE_ENTRY * n, target as i64 - at as i64));
            }
        }
        Ok(entries)
    }

    /// `dst = dst op rhs` in x86's two-operand form, the common case (the code generator computes
    /// into the left operand's register); `false` if `op` needs the general path.
    fn int_op_in_place(&mut self, op: IntOp, size: Size, dst: Reg, rhs: RegImm) -> bool {
        let d = dst.0;
        match rhs {
            RegImm::Reg(r) => {
                let r = r.0;
                match (op, size) {
                    (IntOp::Add, Size::S32) => asm!(self.ops ; add Rd(d), Rd(r)),
                    (IntOp::Add, Size::S64) => asm!(self.ops ; add Rq(d), Rq(r)),
                    (IntOp::Sub, Size::S32) => asm!(self.ops ; sub Rd(d), Rd(r)),
                    (IntOp::Sub, Size::S64) => asm!(self.ops ; sub Rq(d), Rq(r)),
                    (IntOp::Mul, Size::S32) => asm!(self.ops ; imul Rd(d), Rd(r)),
                    (IntOp::Mul, Size::S64) => asm!(self.ops ; imul Rq(d), Rq(r)),
                    (IntOp::And, Size::S32) => asm!(self.ops ; and Rd(d), Rd(r)),
                    (IntOp::And, Size::S64) => asm!(self.ops ; and Rq(d), Rq(r)),
                    (IntOp::Or, Size::S32) => asm!(self.ops ; or Rd(d), Rd(r)),
                    (IntOp::Or, Size::S64) => asm!(self.ops ; or Rq(d), Rq(r)),
                    (IntOp::Xor, Size::S32) => asm!(self.ops ; xor Rd(d), Rd(r)),
                    (IntOp::Xor, Size::S64) => asm!(self.ops ; xor Rq(d), Rq(r)),
                    _ => return false,
                }
            }
            RegImm::Imm(imm) => {
                let Ok(v) = i32::try_from(imm) else { return false };
                let count = (v as u32 & if size == Size::S32 { 31 } else { 63 }) as i8;
                let wide = size == Size::S64;
                match (op, size) {
                    (IntOp::Add, _) => alu_imm(&mut self.ops, 0, wide, d, v),
                    (IntOp::Or, _) => alu_imm(&mut self.ops, 1, wide, d, v),
                    (IntOp::And, _) => alu_imm(&mut self.ops, 4, wide, d, v),
                    (IntOp::Sub, _) => alu_imm(&mut self.ops, 5, wide, d, v),
                    (IntOp::Xor, _) => alu_imm(&mut self.ops, 6, wide, d, v),
                    (IntOp::Mul, Size::S32) => asm!(self.ops ; imul Rd(d), Rd(d), v),
                    (IntOp::Mul, Size::S64) => asm!(self.ops ; imul Rq(d), Rq(d), v),
                    (IntOp::Shl, Size::S32) => asm!(self.ops ; shl Rd(d), count),
                    (IntOp::Shl, Size::S64) => asm!(self.ops ; shl Rq(d), count),
                    (IntOp::ShrS, Size::S32) => asm!(self.ops ; sar Rd(d), count),
                    (IntOp::ShrS, Size::S64) => asm!(self.ops ; sar Rq(d), count),
                    (IntOp::ShrU, Size::S32) => asm!(self.ops ; shr Rd(d), count),
                    (IntOp::ShrU, Size::S64) => asm!(self.ops ; shr Rq(d), count),
                    (IntOp::Rotl, Size::S32) => asm!(self.ops ; rol Rd(d), count),
                    (IntOp::Rotl, Size::S64) => asm!(self.ops ; rol Rq(d), count),
                    (IntOp::Rotr, Size::S32) => asm!(self.ops ; ror Rd(d), count),
                    (IntOp::Rotr, Size::S64) => asm!(self.ops ; ror Rq(d), count),
                }
            }
        }
        true
    }

    /// `dst = lhs shift count` in one BMI2 instruction (any registers, no flags; the count
    /// masked to the width, as wasm requires); `false` for rotates, which BMI2 has only by a
    /// constant.
    fn shift_bmi2(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, count: Reg) -> bool {
        let (d, l, c) = (dst.0, lhs.0, count.0);
        match (op, size) {
            (IntOp::Shl, Size::S32) => asm!(self.ops ; shlx Rd(d), Rd(l), Rd(c)),
            (IntOp::Shl, Size::S64) => asm!(self.ops ; shlx Rq(d), Rq(l), Rq(c)),
            (IntOp::ShrS, Size::S32) => asm!(self.ops ; sarx Rd(d), Rd(l), Rd(c)),
            (IntOp::ShrS, Size::S64) => asm!(self.ops ; sarx Rq(d), Rq(l), Rq(c)),
            (IntOp::ShrU, Size::S32) => asm!(self.ops ; shrx Rd(d), Rd(l), Rd(c)),
            (IntOp::ShrU, Size::S64) => asm!(self.ops ; shrx Rq(d), Rq(l), Rq(c)),
            _ => return false,
        }
        true
    }

    /// `rax = rax shift cl` (x86 masks the count to the width, as wasm requires).
    fn shift_rax_cl(&mut self, op: IntOp, size: Size) {
        match (op, size) {
            (IntOp::Shl, Size::S32) => asm!(self.ops ; shl eax, cl),
            (IntOp::Shl, Size::S64) => asm!(self.ops ; shl rax, cl),
            (IntOp::ShrS, Size::S32) => asm!(self.ops ; sar eax, cl),
            (IntOp::ShrS, Size::S64) => asm!(self.ops ; sar rax, cl),
            (IntOp::ShrU, Size::S32) => asm!(self.ops ; shr eax, cl),
            (IntOp::ShrU, Size::S64) => asm!(self.ops ; shr rax, cl),
            (IntOp::Rotl, Size::S32) => asm!(self.ops ; rol eax, cl),
            (IntOp::Rotl, Size::S64) => asm!(self.ops ; rol rax, cl),
            (IntOp::Rotr, Size::S32) => asm!(self.ops ; ror eax, cl),
            (IntOp::Rotr, Size::S64) => asm!(self.ops ; ror rax, cl),
            (other, _) => unreachable!("{other:?} is not a shift"),
        }
    }

    /// `cmp lhs, rhs` at `size`.
    fn cmp(&mut self, size: Size, lhs: Reg, rhs: RegImm) {
        let l = lhs.0;
        match rhs {
            RegImm::Reg(r) => match size {
                Size::S32 => asm!(self.ops ; cmp Rd(l), Rd(r.0)),
                Size::S64 => asm!(self.ops ; cmp Rq(l), Rq(r.0)),
            },
            RegImm::Imm(imm) => match (self.imm_or_rcx(imm), size) {
                (Some(v), size) => alu_imm(&mut self.ops, 7, size == Size::S64, l, v),
                (None, Size::S32) => asm!(self.ops ; cmp Rd(l), ecx),
                (None, Size::S64) => asm!(self.ops ; cmp Rq(l), rcx),
            },
        }
    }

    /// `cmp lhs, frame[slot]` (`3B /r`).
    fn cmp_slot(&mut self, size: Size, lhs: Reg, slot: u32) {
        frame_access(&mut self.ops, None, size == Size::S64, &[0x3B], lhs.0, slot as i32, &[]);
    }

    /// `dst = (cond holds after compare) as i32`, for `compare(self)` setting the flags. The
    /// zeroing goes first (`xor` would clobber the flags `set` reads): in `dst` itself when
    /// `in_place` (`dst` is no operand of the compare), else in the scratch `eax` (never a lent
    /// register: `lent_scratch`), copied after.
    fn set_on(&mut self, cond: Cond, dst: Reg, in_place: bool, compare: impl FnOnce(&mut Self)) {
        let d = if in_place { dst.0 } else { 0 };
        asm!(self.ops ; xor Rd(d), Rd(d));
        compare(self);
        match cond {
            Cond::Eq => asm!(self.ops ; sete Rb(d)),
            Cond::Ne => asm!(self.ops ; setne Rb(d)),
            Cond::LtS => asm!(self.ops ; setl Rb(d)),
            Cond::LtU => asm!(self.ops ; setb Rb(d)),
            Cond::GtS => asm!(self.ops ; setg Rb(d)),
            Cond::GtU => asm!(self.ops ; seta Rb(d)),
            Cond::LeS => asm!(self.ops ; setle Rb(d)),
            Cond::LeU => asm!(self.ops ; setbe Rb(d)),
            Cond::GeS => asm!(self.ops ; setge Rb(d)),
            Cond::GeU => asm!(self.ops ; setae Rb(d)),
        }
        if !in_place {
            asm!(self.ops ; mov Rd(dst.0), eax);
        }
    }

    /// Jumps to `target` when `cond` holds after a `cmp`.
    fn jump_on(&mut self, cond: Cond, target: DynamicLabel) {
        match cond {
            Cond::Eq => asm!(self.ops ; je =>target),
            Cond::Ne => asm!(self.ops ; jne =>target),
            Cond::LtS => asm!(self.ops ; jl =>target),
            Cond::LtU => asm!(self.ops ; jb =>target),
            Cond::GtS => asm!(self.ops ; jg =>target),
            Cond::GtU => asm!(self.ops ; ja =>target),
            Cond::LeS => asm!(self.ops ; jle =>target),
            Cond::LeU => asm!(self.ops ; jbe =>target),
            Cond::GeS => asm!(self.ops ; jge =>target),
            Cond::GeU => asm!(self.ops ; jae =>target),
        }
    }

    /// `dst = src` at `size` when `cond` holds after a `cmp`.
    fn cmov(&mut self, cond: Cond, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.0, src.0);
        match (cond, size) {
            (Cond::Eq, Size::S32) => asm!(self.ops ; cmove Rd(d), Rd(s)),
            (Cond::Eq, Size::S64) => asm!(self.ops ; cmove Rq(d), Rq(s)),
            (Cond::Ne, Size::S32) => asm!(self.ops ; cmovne Rd(d), Rd(s)),
            (Cond::Ne, Size::S64) => asm!(self.ops ; cmovne Rq(d), Rq(s)),
            (Cond::LtS, Size::S32) => asm!(self.ops ; cmovl Rd(d), Rd(s)),
            (Cond::LtS, Size::S64) => asm!(self.ops ; cmovl Rq(d), Rq(s)),
            (Cond::LtU, Size::S32) => asm!(self.ops ; cmovb Rd(d), Rd(s)),
            (Cond::LtU, Size::S64) => asm!(self.ops ; cmovb Rq(d), Rq(s)),
            (Cond::GtS, Size::S32) => asm!(self.ops ; cmovg Rd(d), Rd(s)),
            (Cond::GtS, Size::S64) => asm!(self.ops ; cmovg Rq(d), Rq(s)),
            (Cond::GtU, Size::S32) => asm!(self.ops ; cmova Rd(d), Rd(s)),
            (Cond::GtU, Size::S64) => asm!(self.ops ; cmova Rq(d), Rq(s)),
            (Cond::LeS, Size::S32) => asm!(self.ops ; cmovle Rd(d), Rd(s)),
            (Cond::LeS, Size::S64) => asm!(self.ops ; cmovle Rq(d), Rq(s)),
            (Cond::LeU, Size::S32) => asm!(self.ops ; cmovbe Rd(d), Rd(s)),
            (Cond::LeU, Size::S64) => asm!(self.ops ; cmovbe Rq(d), Rq(s)),
            (Cond::GeS, Size::S32) => asm!(self.ops ; cmovge Rd(d), Rd(s)),
            (Cond::GeS, Size::S64) => asm!(self.ops ; cmovge Rq(d), Rq(s)),
            (Cond::GeU, Size::S32) => asm!(self.ops ; cmovae Rd(d), Rd(s)),
            (Cond::GeU, Size::S64) => asm!(self.ops ; cmovae Rq(d), Rq(s)),
        }
    }

    /// The callee-saved registers every entry saves and the epilogue restores: those the code
    /// writes, the memory base's and the tally's when used, and one more when needed for an odd
    /// count, so the pushes after the return address leave the stack 16-byte aligned.
    ///
    /// Code with a register entry finds the memory base in `r14` (its callers' code keeps it
    /// there, and the adapter in front of it loads it: `register_entry_adapter`), so it neither
    /// saves nor loads it.
    fn saved_registers(&self) -> Vec<u8> {
        let writes = |r: u8| self.used.as_ref().is_none_or(|used| used.contains(&Reg(r)));
        let mut saved: Vec<u8> = CALLEE_SAVED
            .into_iter()
            .filter(|&r| match r {
                HEAP_BASE => self.loads_heap_base(),
                15 => self.tally.is_some() || writes(r),
                // Only tier 2 allocates `rbp`, and always says what it writes.
                5 => self.used.as_ref().is_some_and(|used| used.contains(&Reg(5))),
                _ => writes(r),
            })
            .collect();
        if saved.len().is_multiple_of(2) && !self.leaf {
            let pad = CALLEE_SAVED.into_iter().find(|r| !saved.contains(r));
            saved.push(pad.unwrap_or(ALIGNMENT_PAD));
            saved.sort_unstable();
        }
        saved
    }

    /// Whether the entry loads the memory base into `r14` (and saves the caller's).
    fn loads_heap_base(&self) -> bool {
        self.heap_base_used && self.register_entry.is_none()
    }

    /// What every entry does first: saves `saved`, pins the memory base (`heap`) and starts the
    /// back-edge tally.
    fn enter(
        ops: &mut VecAssembler<X64Relocation>,
        saved: &[u8],
        heap: bool,
        tally: Option<Tally>,
    ) {
        for &r in saved {
            asm!(ops ; push Rq(r));
        }
        if heap {
            asm!(ops ; mov Rq(HEAP_BASE), QWORD [rdi + CTX_MEM_BASE]);
        }
        if let Some(tally) = tally {
            asm!(ops ; mov r15d, tally.chunk as i32);
        }
    }

    /// Adds the back-edges tallied since the last flush to the counters (`rcx`, `rdx` scratch;
    /// `rax`, the status, is kept), and restarts the tally when the code goes on counting (not
    /// on the way out, where `r15` is restored next).
    fn flush_tally(&mut self, restart: bool) {
        if let Some(Tally { def, chunk }) = self.tally {
            let at = (def * COUNTERS_BYTES + COUNTER_BACK_EDGES) as i32;
            asm!(self.ops
                ; mov rcx, QWORD [rdi + CTX_COUNTERS]
                ; mov edx, chunk as i32
                ; sub edx, r15d
                ; add QWORD [rcx + at], rdx
            );
            if restart {
                asm!(self.ops ; mov r15d, chunk as i32);
            }
        }
    }

    /// Writes `image` over the slots from byte offset `first`: each slot is zeroed with one
    /// 16-byte store, then its nonzero halves are written.
    fn init_slots(&mut self, first: u32, image: &[u128]) {
        if image.is_empty() {
            return;
        }
        asm!(self.ops ; xorps xmm0, xmm0);
        for (i, &bits) in image.iter().enumerate() {
            let at = (first + i as u32 * 16) as i32;
            asm!(self.ops ; movups [rsi + at], xmm0);
            for (half, value) in [(0, bits as u64), (8, (bits >> 64) as u64)] {
                match (value, i32::try_from(value as i64)) {
                    (0, _) => {}
                    (_, Ok(v)) => asm!(self.ops ; mov QWORD [rsi + at + half], v),
                    (_, Err(_)) => {
                        asm!(self.ops ; mov rax, QWORD value as i64 ; mov [rsi + at + half], rax)
                    }
                }
            }
        }
    }

    /// `xmm0 = value` at `size` (through `rax`).
    fn float_const_xmm0(&mut self, size: Size, value: f64) {
        match size {
            Size::S32 => {
                asm!(self.ops ; mov eax, (value as f32).to_bits() as i32 ; movd xmm0, eax)
            }
            Size::S64 => asm!(self.ops ; mov rax, QWORD value.to_bits() as i64 ; movq xmm0, rax),
        }
    }

    /// `ucomiss`/`ucomisd lhs, rhs`.
    fn ucomis(&mut self, size: Size, lhs: u8, rhs: u8) {
        match size {
            Size::S32 => asm!(self.ops ; ucomiss Rx(lhs), Rx(rhs)),
            Size::S64 => asm!(self.ops ; ucomisd Rx(lhs), Rx(rhs)),
        }
    }

    /// `rax = ` the truncation of `src`, known to be in range of the integer type.
    fn truncate_in_range(&mut self, signed: bool, int: Size, float: Size, src: u8) {
        match (signed, int, float) {
            // Values in range of a 32-bit type (signed or not) fit a signed 64-bit conversion.
            (_, Size::S32, Size::S32) | (true, Size::S64, Size::S32) => {
                asm!(self.ops ; cvttss2si rax, Rx(src))
            }
            (_, Size::S32, Size::S64) | (true, Size::S64, Size::S64) => {
                asm!(self.ops ; cvttsd2si rax, Rx(src))
            }
            (false, Size::S64, float) => {
                // At or above 2^63, the signed conversion overflows: convert `src - 2^63` and set
                // the top bit back.
                let (big, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
                self.float_const_xmm0(float, 9223372036854775808.0);
                self.ucomis(float, src, 0);
                asm!(self.ops ; jae =>big);
                match float {
                    Size::S32 => asm!(self.ops
                        ; cvttss2si rax, Rx(src) ; jmp =>done
                        ; =>big ; movaps xmm1, Rx(src) ; subss xmm1, xmm0 ; cvttss2si rax, xmm1),
                    Size::S64 => asm!(self.ops
                        ; cvttsd2si rax, Rx(src) ; jmp =>done
                        ; =>big ; movaps xmm1, Rx(src) ; subsd xmm1, xmm0 ; cvttsd2si rax, xmm1),
                }
                asm!(self.ops ; btc rax, 63 ; =>done);
            }
        }
    }

    /// `dst = float(rax)` for a value whose top bit is clear or that is signed.
    fn cvtsi2s_rax(&mut self, float: Size, dst: u8) {
        match float {
            Size::S32 => asm!(self.ops ; cvtsi2ss Rx(dst), rax),
            Size::S64 => asm!(self.ops ; cvtsi2sd Rx(dst), rax),
        }
    }

    /// The base register and displacement of a global's cell: the context's inline cell (no
    /// load), or an imported global's cell pointer loaded into `rax`.
    fn global_cell(&mut self, global: GlobalCell) -> (u8, i32) {
        match global {
            GlobalCell::Inline(defined) => (7, INLINE_GLOBALS + (defined * 16) as i32),
            GlobalCell::Imported(index) => {
                let at = (index * 8) as i32;
                asm!(self.ops ; mov rax, QWORD [rdi + CTX_GLOBALS] ; mov rax, QWORD [rax + at]);
                (0, 0)
            }
        }
    }

    /// Emits one access of `bytes` bytes to linear memory at wasm address `addr + offset`: every
    /// load and store of every kind goes through here, so each gets the same bounds discipline.
    /// `access` must emit exactly one instruction, whose memory operand is `[r14 + index + disp]`
    /// with the `disp` it is given; it must not use `rax` or `rcx` otherwise.
    ///
    /// With guard pages, that instruction's offset is recorded as a heap access: only a fault with
    /// the pc at its start becomes a trap (a fault anywhere else in the code aborts the process as
    /// a tierup bug), so an `access` emitting more than one instruction fails loudly, never
    /// silently.
    fn heap_access(
        &mut self,
        addr: Option<Reg>,
        offset: u32,
        bytes: u32,
        access: impl FnOnce(&mut VecAssembler<X64Relocation>, u8, i32),
    ) {
        debug_assert!(bytes as usize <= MAX_ACCESS_BYTES);
        self.heap_base_used = true;
        let (index, disp) = match self.bounds {
            HeapBounds::Explicit => {
                self.effective_address(addr, offset, bytes);
                self.memory_base();
                (0, 0)
            }
            HeapBounds::GuardPages => {
                self.memory_base();
                // An i32 in a register has its upper half clear: the register is the
                // zero-extended wasm address. A disp32 is sign-extended: offsets of 2 GiB and more
                // are added in a register (`mov edx, imm32` zero-extends), which keeps the sum
                // below 8 GiB.
                let (index, disp) = match (addr, i32::try_from(offset)) {
                    (Some(addr), Ok(disp)) => (addr.0, disp),
                    (None, Ok(disp)) => (NO_INDEX, disp),
                    (Some(addr), Err(_)) => {
                        asm!(self.ops ; mov eax, Rd(addr.0) ; mov edx, offset as i32 ; add rax, rdx);
                        (0, 0)
                    }
                    (None, Err(_)) => {
                        asm!(self.ops ; mov eax, offset as i32);
                        (0, 0)
                    }
                };
                self.heap_accesses.push(self.ops.offset().0 as u32);
                self.heap_access_wasm.push(self.wasm_offset);
                (index, disp)
            }
        };
        access(&mut self.ops, index, disp);
    }

    /// `rax = zero-extended addr + offset`, then traps unless `rax + bytes <= memory length`.
    fn effective_address(&mut self, addr: Option<Reg>, offset: u32, bytes: u32) {
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        match addr {
            Some(addr) => asm!(self.ops ; mov eax, Rd(addr.0)),
            None => asm!(self.ops ; xor eax, eax),
        }
        asm!(self.ops
            ; mov ecx, offset as i32
            ; add rax, rcx
            ; lea rcx, [rax + bytes as i32]
        );
        match self.memory {
            0 => asm!(self.ops ; cmp rcx, QWORD [rdi + CTX_MEM_LEN]),
            // `r14` holds the memory views (`set_memory`).
            memory => asm!(self.ops ; cmp rcx, QWORD [r14 + view_field(memory, VIEW_LEN)]),
        }
        asm!(self.ops ; ja =>oob);
    }

    /// For an access to a memory other than 0: `r14` = its base, from the views `set_memory`
    /// left there.
    fn memory_base(&mut self) {
        if self.memory != 0 {
            let at = view_field(self.memory, VIEW_BASE);
            asm!(self.ops ; mov r14, QWORD [r14 + at]);
        }
    }
}

const VIEW_BASE: usize = std::mem::offset_of!(MemoryView, base);
const VIEW_LEN: usize = std::mem::offset_of!(MemoryView, len);

/// The displacement of `field` of memory `memory`'s view in `VmCtx::memories`.
fn view_field(memory: u32, field: usize) -> i32 {
    (memory as usize * size_of::<MemoryView>() + field) as i32
}

/// x86-64 takes any 32-bit immediate in its ALU operations and compares, and moves any constant
/// into a register in one instruction; its ALU operations are two-operand but for BMI2's shifts.
struct X64Immediates {
    bmi2: bool,
}

impl Immediates for X64Immediates {
    fn tied(&self, op: IntOp, _size: Size, by_register: bool) -> bool {
        let bmi2_shift = matches!(op, IntOp::Shl | IntOp::ShrS | IntOp::ShrU);
        !(self.bmi2 && by_register && bmi2_shift)
    }
    fn int_op_takes(&self, _op: IntOp, _size: Size, imm: i64) -> bool {
        i32::try_from(imm).is_ok()
    }
    fn compare_takes(&self, _size: Size, imm: i64) -> bool {
        i32::try_from(imm).is_ok()
    }
    fn one_instruction(&self, _size: Size, _imm: i64) -> bool {
        true
    }
    fn scaled_sum_takes_displacement(&self) -> bool {
        true
    }
    fn slot_operand(&self, op: Option<IntOp>) -> bool {
        op.is_none_or(|op| alu_from_memory(op).is_some())
    }
}

impl MacroAssembler for X64Masm {
    type Label = DynamicLabel;

    fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    fn offset(&self) -> u32 {
        self.ops.offset().0 as u32
    }

    fn bind(&mut self, label: DynamicLabel) {
        asm!(self.ops ; =>label);
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

    fn set_module_tail_calls(&mut self, has_tail_calls: bool) {
        self.own_tail_calls = has_tail_calls;
    }

    fn immediates(&self) -> &'static dyn Immediates {
        match self.features.bmi2 {
            true => &X64Immediates { bmi2: true },
            false => &X64Immediates { bmi2: false },
        }
    }

    fn scratch_regs(&self) -> (Reg, FReg) {
        (Reg(0), FReg(0))
    }

    fn lent_scratch(&self) -> &'static [Reg] {
        &LENT_SCRATCH
    }

    fn heap_bounds(&self) -> HeapBounds {
        self.bounds
    }

    fn caller_saved(&self) -> (&'static [Reg], &'static [FReg]) {
        // r8-r11 are caller-saved in System V; rbx, r12, r13 and r15 are saved by every entry
        // that writes them (`registers_used`).
        (&ALLOCATABLE[..4], &ALLOCATABLE_FLOAT)
    }

    fn allocatable(&self) -> &'static [Reg] {
        let all: &'static [Reg] =
            if self.tier == Tier::Optimized { &ALLOCATABLE_OPTIMIZED } else { &ALLOCATABLE };
        // `r15` is last: without it, the rest.
        if self.tally.is_some() { &all[..all.len() - 1] } else { all }
    }

    fn has_unary(&self, op: UnaryOp) -> bool {
        op != UnaryOp::Popcnt || self.features.popcnt
    }

    fn has_float_unary(&self, op: FloatUnaryOp) -> bool {
        match op {
            FloatUnaryOp::Abs | FloatUnaryOp::Neg | FloatUnaryOp::Sqrt => true,
            FloatUnaryOp::Ceil | FloatUnaryOp::Floor | FloatUnaryOp::Trunc => self.features.sse41,
            FloatUnaryOp::Nearest => self.features.sse41,
        }
    }

    fn prologue(&mut self, frame: &FrameSetup<'_>) {
        // What every entry does first (`enter`) is prepended by `finish`, once it knows which
        // registers the code uses.
        self.func_index = frame.func_index;
        self.leaf = !frame.calls;
        // Both stacks are checked before the frame is touched: the value stack against its end,
        // the host stack (tier-1 calls recurse on it) against the thread's limit.
        if frame.checks_stacks() {
            let overflow = self.trap_label(TrapCode::StackOverflow);
            asm!(self.ops
                ; lea rax, [rsi + frame.frame_bytes as i32]
                ; cmp rax, QWORD [rdi + CTX_STACK_END]
                ; ja =>overflow
                ; cmp rsp, QWORD [rdi + CTX_NATIVE_STACK_LIMIT]
                ; jb =>overflow
            );
        }
        self.init_slots(frame.init_offset, frame.init);
    }

    fn ret(&mut self) {
        let epilogue = self.epilogue;
        asm!(self.ops ; xor eax, eax ; jmp =>epilogue);
    }

    fn trap_label(&mut self, code: TrapCode) -> DynamicLabel {
        let ops = &mut self.ops;
        self.traps.label(Some(code), self.wasm_offset, || ops.new_dynamic_label())
    }

    fn load_slot(&mut self, size: Size, dst: Reg, slot: u32) {
        // `mov Rd(dst), DWORD [rsi + slot]` / `mov Rq(dst), QWORD [rsi + slot]`.
        frame_access(&mut self.ops, None, size == Size::S64, &[0x8B], dst.0, slot as i32, &[]);
    }

    fn store_slot(&mut self, size: Size, src: Reg, slot: u32) {
        // `mov DWORD [rsi + slot], Rd(src)` / `mov QWORD [rsi + slot], Rq(src)`.
        frame_access(&mut self.ops, None, size == Size::S64, &[0x89], src.0, slot as i32, &[]);
    }

    fn store_slot_imm(&mut self, size: Size, imm: i64, slot: u32) {
        let s = slot as i32;
        match size {
            Size::S32 => asm!(self.ops ; mov DWORD [rsi + s], imm as i32),
            Size::S64 => match i32::try_from(imm) {
                // `mov QWORD [rsi + slot], imm32` (opcode C7 /0).
                Ok(v) => frame_access(&mut self.ops, None, true, &[0xC7], 0, s, &v.to_le_bytes()),
                Err(_) => asm!(self.ops ; mov rax, QWORD imm ; mov QWORD [rsi + s], rax),
            },
        }
    }

    fn copy_slot(&mut self, dst: u32, src: u32) {
        asm!(self.ops ; movups xmm0, [rsi + src as i32] ; movups [rsi + dst as i32], xmm0);
    }

    fn copy_value(&mut self, size: Size, dst: u32, src: u32) {
        let (d, s) = (dst as i32, src as i32);
        match size {
            Size::S32 => asm!(self.ops ; mov eax, DWORD [rsi + s] ; mov DWORD [rsi + d], eax),
            Size::S64 => asm!(self.ops ; mov rax, QWORD [rsi + s] ; mov QWORD [rsi + d], rax),
        }
    }

    fn mov(&mut self, size: Size, dst: Reg, src: RegImm) {
        // Hand-encoded, in the shortest of the forms `dynasm!` would choose from (the tests
        // decode and compare): `mov Rd/Rq(dst), Rd/Rq(src)` is 89 /r, `mov Rd(dst), imm32` B8+r
        // (also for a 64-bit constant below 2^32: the upper half is zeroed), `mov Rq(dst),
        // imm32` sign-extended C7 /0, `mov Rq(dst), QWORD imm64` B8+r; a REX prefix only when a
        // bit of it is set (`dynasm!` writes one for every register chosen at run time).
        let d = dst.0;
        let w = if size == Size::S64 { 0x08 } else { 0 };
        let imm32 = |ops: &mut VecAssembler<X64Relocation>, v: u32| {
            let [i0, i1, i2, i3] = v.to_le_bytes();
            match d >> 3 {
                0 => emit(ops, [0xB8 + d, i0, i1, i2, i3]),
                _ => emit(ops, [0x41, 0xB8 + (d & 7), i0, i1, i2, i3]),
            }
        };
        match (src, size) {
            (RegImm::Reg(s), _) => {
                let s = s.0;
                let modrm = 0xC0 | (s & 7) << 3 | (d & 7);
                match w | (s >> 3 & 1) << 2 | (d >> 3 & 1) {
                    0 => emit(&mut self.ops, [0x89, modrm]),
                    rex => emit(&mut self.ops, [0x40 | rex, 0x89, modrm]),
                }
            }
            (RegImm::Imm(imm), Size::S32) => imm32(&mut self.ops, imm as u32),
            (RegImm::Imm(imm), Size::S64) if u32::try_from(imm).is_ok() => {
                imm32(&mut self.ops, imm as u32)
            }
            (RegImm::Imm(imm), Size::S64) if i32::try_from(imm).is_ok() => {
                let [i0, i1, i2, i3] = (imm as i32).to_le_bytes();
                let rex = 0x48 | (d >> 3 & 1);
                emit(&mut self.ops, [rex, 0xC7, 0xC0 | (d & 7), i0, i1, i2, i3]);
            }
            (RegImm::Imm(imm), Size::S64) => {
                let [i0, i1, i2, i3, i4, i5, i6, i7] = imm.to_le_bytes();
                let (rex, op) = (0x48 | (d >> 3 & 1), 0xB8 + (d & 7));
                emit(&mut self.ops, [rex, op, i0, i1, i2, i3, i4, i5, i6, i7]);
            }
        }
    }

    fn int_op(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        if let RegImm::Reg(count) = rhs
            && self.features.bmi2
            && self.shift_bmi2(op, size, dst, lhs, count)
        {
            return;
        }
        if dst == lhs && self.int_op_in_place(op, size, dst, rhs) {
            return;
        }
        let shift =
            matches!(op, IntOp::Shl | IntOp::ShrS | IntOp::ShrU | IntOp::Rotl | IntOp::Rotr);
        match rhs {
            // `lea` adds without touching an operand (32-bit: wraps and zero-extends).
            RegImm::Imm(imm) if op == IntOp::Add && i32::try_from(imm).is_ok() => {
                let (d, l, v) = (dst.0, lhs.0, imm as i32);
                lea(&mut self.ops, size == Size::S64, d, l, None, v);
                return;
            }
            // A copy, then the two-operand form, when the copy clobbers no operand.
            RegImm::Imm(imm) if i32::try_from(imm).is_ok() => {
                self.mov(size, dst, RegImm::Reg(lhs));
                let done = self.int_op_in_place(op, size, dst, rhs);
                debug_assert!(done);
                return;
            }
            RegImm::Reg(r) if r != dst && !shift => {
                self.mov(size, dst, RegImm::Reg(lhs));
                let done = self.int_op_in_place(op, size, dst, rhs);
                debug_assert!(done);
                return;
            }
            _ => {}
        }
        // Computed in rax so no operand is clobbered before it is read, whatever aliases.
        asm!(self.ops ; mov rax, Rq(lhs.0));
        self.alu_rax(op, size, rhs);
        self.mov(size, dst, RegImm::Reg(Reg(0)));
    }

    fn int_op_slot(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, slot: u32) {
        let opcode = alu_from_memory(op)
            .unwrap_or_else(|| unreachable!("{op:?} takes no slot operand (slot_operand)"));
        // `dst` is the allocator's own register for the result: never the slot's value.
        if dst != lhs {
            self.mov(size, dst, RegImm::Reg(lhs));
        }
        frame_access(&mut self.ops, None, size == Size::S64, opcode, dst.0, slot as i32, &[]);
    }

    fn add_scaled(&mut self, size: Size, dst: Reg, base: Reg, index: Option<(Reg, u8)>, disp: i32) {
        let (d, b) = (dst.0, base.0);
        match index {
            // The two-operand `add` where the allocator gave `dst` an operand's register (one
            // byte shorter than `lea`, and `lea` with a base of rbp or r13 needs a displacement).
            None if d == b => {
                if disp != 0 {
                    self.int_op(IntOp::Add, size, dst, dst, RegImm::Imm(disp as i64));
                }
            }
            None => self.int_op(IntOp::Add, size, dst, base, RegImm::Imm(disp as i64)),
            Some((i, 0)) if disp == 0 && (d == b || d == i.0) => {
                let other = if d == b { i } else { base };
                self.int_op(IntOp::Add, size, dst, dst, RegImm::Reg(other));
            }
            Some((i, shift)) => {
                // A 32-bit `lea` keeps the low half of the 64-bit sum: wasm's wrapping `i32.add`,
                // whatever the operands' upper halves hold.
                lea(&mut self.ops, size == Size::S64, d, b, Some((i.0, shift)), disp);
            }
        }
    }

    fn div(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        if let Some((divisor, plan)) = const_div::for_div(op, size, rhs) {
            return self.div_by_constant(op, size, dst, lhs, divisor, plan);
        }
        // The dividend to `rax` first: the operands may be in `rcx` or `rdx` (`lent_scratch`).
        // The divisor: its register (moved to `rcx` from `rdx`, which the division writes), or a
        // constant in `rcx`, which needs no zero check unless it is zero and no `MIN / -1` check
        // unless it is -1.
        let l = lhs.0;
        match size {
            Size::S32 => asm!(self.ops ; mov eax, Rd(l)),
            Size::S64 => asm!(self.ops ; mov rax, Rq(l)),
        }
        let (r, divisor) = match rhs {
            RegImm::Reg(Reg(2)) => {
                asm!(self.ops ; mov rcx, rdx);
                (1, None)
            }
            RegImm::Reg(r) => (r.0, None),
            RegImm::Imm(v) => {
                let v = if size == Size::S32 { v as i32 as i64 } else { v };
                self.mov(size, Reg(1), RegImm::Imm(v));
                (1, Some(v))
            }
        };
        let done = self.ops.new_dynamic_label();
        let divide = self.ops.new_dynamic_label();
        if divisor.is_none_or(|v| v == 0) {
            let by_zero = self.trap_label(TrapCode::IntegerDivideByZero);
            match size {
                Size::S32 => asm!(self.ops ; test Rd(r), Rd(r) ; jz =>by_zero),
                Size::S64 => asm!(self.ops ; test Rq(r), Rq(r) ; jz =>by_zero),
            }
        }
        match (op, size) {
            (DivOp::DivU | DivOp::RemU, Size::S32) => asm!(self.ops ; xor edx, edx ; div Rd(r)),
            (DivOp::DivU | DivOp::RemU, Size::S64) => asm!(self.ops ; xor edx, edx ; div Rq(r)),
            (_, Size::S32) if divisor.is_some_and(|v| v != -1) => {
                asm!(self.ops ; cdq ; idiv Rd(r))
            }
            (_, Size::S64) if divisor.is_some_and(|v| v != -1) => {
                asm!(self.ops ; cqo ; idiv Rq(r))
            }
            (signed, size) => {
                // `MIN / -1` overflows (a trap for div, 0 for rem) and faults on x86: test first
                // (`lhs - 1` overflows exactly for `MIN`).
                let min_by_minus_one = match signed {
                    DivOp::DivS => self.trap_label(TrapCode::IntegerOverflow),
                    _ => done,
                };
                if signed == DivOp::RemS {
                    asm!(self.ops ; xor edx, edx);
                }
                match size {
                    Size::S32 => asm!(self.ops
                        ; cmp Rd(r), -1 ; jne =>divide
                        ; cmp eax, 1 ; jo =>min_by_minus_one
                        ; =>divide ; cdq ; idiv Rd(r)),
                    Size::S64 => asm!(self.ops
                        ; cmp Rq(r), -1 ; jne =>divide
                        ; cmp rax, 1 ; jo =>min_by_minus_one
                        ; =>divide ; cqo ; idiv Rq(r)),
                }
            }
        }
        asm!(self.ops ; =>done);
        let result = if matches!(op, DivOp::DivS | DivOp::DivU) { Reg(0) } else { Reg(2) };
        self.mov(size, dst, RegImm::Reg(result));
    }

    fn unary(&mut self, op: UnaryOp, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.0, src.0);
        match (op, size) {
            // bsr leaves its destination undefined for zero: the cmov supplies the answer. The
            // source is read before `ecx` is written (it may be there: `lent_scratch`); `mov`
            // keeps the flags.
            (UnaryOp::Clz, Size::S32) => {
                asm!(self.ops ; bsr eax, Rd(s) ; mov ecx, 63 ; cmovz eax, ecx ; xor eax, 31)
            }
            (UnaryOp::Clz, Size::S64) => {
                asm!(self.ops ; bsr rax, Rq(s) ; mov ecx, 127 ; cmovz rax, rcx ; xor rax, 63)
            }
            (UnaryOp::Ctz, Size::S32) => {
                asm!(self.ops ; bsf eax, Rd(s) ; mov ecx, 32 ; cmovz eax, ecx)
            }
            (UnaryOp::Ctz, Size::S64) => {
                asm!(self.ops ; bsf rax, Rq(s) ; mov ecx, 64 ; cmovz rax, rcx)
            }
            // These write their destination only after reading the source: `dst` directly.
            (UnaryOp::Popcnt, Size::S32) => return asm!(self.ops ; popcnt Rd(d), Rd(s)),
            (UnaryOp::Popcnt, Size::S64) => return asm!(self.ops ; popcnt Rq(d), Rq(s)),
            (UnaryOp::Extend8S, Size::S32) => return asm!(self.ops ; movsx Rd(d), Rb(s)),
            (UnaryOp::Extend8S, Size::S64) => return asm!(self.ops ; movsx Rq(d), Rb(s)),
            (UnaryOp::Extend16S, Size::S32) => return asm!(self.ops ; movsx Rd(d), Rw(s)),
            (UnaryOp::Extend16S, Size::S64) => return asm!(self.ops ; movsx Rq(d), Rw(s)),
            (UnaryOp::Extend32S, _) => return asm!(self.ops ; movsxd Rq(d), Rd(s)),
            (UnaryOp::Extend32U, _) => return asm!(self.ops ; mov Rd(d), Rd(s)),
            // Zeroing first clobbers the operand when it is the destination: then in `eax`.
            (UnaryOp::Eqz, size) => {
                let z = if d == s { 0 } else { d };
                asm!(self.ops ; xor Rd(z), Rd(z));
                match size {
                    Size::S32 => asm!(self.ops ; test Rd(s), Rd(s) ; sete Rb(z)),
                    Size::S64 => asm!(self.ops ; test Rq(s), Rq(s) ; sete Rb(z)),
                }
                if z != d {
                    asm!(self.ops ; mov Rd(d), eax);
                }
                return;
            }
        }
        self.mov(size, dst, RegImm::Reg(Reg(0)));
    }

    fn compare(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, rhs: RegImm) {
        let in_place = dst != lhs && rhs != RegImm::Reg(dst);
        self.set_on(cond, dst, in_place, |masm| masm.cmp(size, lhs, rhs));
    }

    fn compare_slot(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, slot: u32) {
        self.set_on(cond, dst, dst != lhs, |masm| masm.cmp_slot(size, lhs, slot));
    }

    fn select(&mut self, size: Size, dst: Reg, cond: Reg, other: Reg) {
        let (d, c, o) = (dst.0, cond.0, other.0);
        match size {
            Size::S32 => asm!(self.ops ; test Rd(c), Rd(c) ; cmovz Rd(d), Rd(o)),
            Size::S64 => asm!(self.ops ; test Rd(c), Rd(c) ; cmovz Rq(d), Rq(o)),
        }
    }

    fn select_compare(&mut self, size: Size, dst: Reg, cmp: Comparison, other: Reg) {
        self.cmp(cmp.size, cmp.lhs, cmp.rhs);
        self.cmov(cmp.cond.invert(), size, dst, other);
    }

    fn jump(&mut self, target: DynamicLabel) {
        asm!(self.ops ; jmp =>target);
    }

    fn branch(&mut self, cond: Cond, size: Size, lhs: Reg, rhs: RegImm, target: DynamicLabel) {
        self.cmp(size, lhs, rhs);
        self.jump_on(cond, target);
    }

    fn branch_slot(&mut self, cond: Cond, size: Size, lhs: Reg, slot: u32, target: DynamicLabel) {
        self.cmp_slot(size, lhs, slot);
        self.jump_on(cond, target);
    }

    fn branch_test(
        &mut self,
        size: Size,
        reg: Reg,
        mask: i64,
        nonzero: bool,
        target: DynamicLabel,
    ) {
        let (r, mask) = (reg.0, mask as i32);
        match size {
            Size::S32 => asm!(self.ops ; test Rd(r), mask),
            Size::S64 => asm!(self.ops ; test Rq(r), mask),
        }
        if nonzero {
            asm!(self.ops ; jnz =>target);
        } else {
            asm!(self.ops ; jz =>target);
        }
    }

    fn jump_table(&mut self, index: Reg, targets: &[DynamicLabel]) {
        let (default, cases) = targets.split_last().expect("br_table has a default");
        let default = *default;
        if cases.len() < 4 {
            // A short compare chain beats the indirect jump.
            for (i, target) in cases.iter().enumerate() {
                let target = *target;
                asm!(self.ops ; cmp Rd(index.0), i as i32 ; je =>target);
            }
            asm!(self.ops ; jmp =>default);
            return;
        }
        // A bounds check, then one indirect jump to the table's address plus the case's entry:
        // a 64-bit offset from the table (filled in by `finish`), so the code stays
        // position-independent, as Cranelift's tables are, and needs no register but `rax`
        // (32-bit entries would need a second one to sign-extend into, which tier 2 would then
        // lose at every `br_table`: see `lent_scratch`). A table of `jmp rel32`s (one more
        // jump per dispatch, 5 bytes per case) ran c-vm and c-dispatch no slower on either tier.
        // An i32 in a register has its upper half clear, so the index scales as it is.
        let table = self.ops.new_dynamic_label();
        let i = index.0;
        asm!(self.ops
            ; cmp Rd(i), cases.len() as i32
            ; jae =>default
            ; lea rax, [=>table]
            ; add rax, QWORD [rax + Rq(i) * 8]
            ; jmp rax
        );
        self.jump_tables.push((table, cases.to_vec()));
    }

    fn load_heap(&mut self, kind: LoadKind, dst: Reg, addr: Option<Reg>, offset: u32) {
        let d = dst.0;
        // (REX.W, opcode) of `mov`/`movsx`/`movzx`/`movsxd` `dst, [r14 + index + disp]`; the
        // zero-extending loads into an i64 write the 32-bit register, which clears the rest.
        let (wide, opcode): (bool, &[u8]) = match kind {
            LoadKind::I32 | LoadKind::I64_32U => (false, &[0x8B]),
            LoadKind::I64 => (true, &[0x8B]),
            LoadKind::I32_8S => (false, &[0x0F, 0xBE]),
            LoadKind::I64_8S => (true, &[0x0F, 0xBE]),
            LoadKind::I32_8U | LoadKind::I64_8U => (false, &[0x0F, 0xB6]),
            LoadKind::I32_16S => (false, &[0x0F, 0xBF]),
            LoadKind::I64_16S => (true, &[0x0F, 0xBF]),
            LoadKind::I32_16U | LoadKind::I64_16U => (false, &[0x0F, 0xB7]),
            LoadKind::I64_32S => (true, &[0x63]),
        };
        self.heap_access(addr, offset, kind.bytes(), |ops, index, disp| {
            heap_operand_access(ops, None, wide, opcode, d, index, disp)
        });
    }

    fn store_heap(&mut self, kind: StoreKind, src: Reg, addr: Option<Reg>, offset: u32) {
        let s = src.0;
        // (operand-size prefix, REX.W, opcode) of `mov [r14 + index + disp], src`.
        let (prefix, wide, opcode) = match kind {
            StoreKind::B8 => (None, false, 0x88),
            StoreKind::B16 => (Some(0x66), false, 0x89),
            StoreKind::B32 => (None, false, 0x89),
            StoreKind::B64 => (None, true, 0x89),
        };
        self.heap_access(addr, offset, kind.bytes(), |ops, index, disp| {
            heap_operand_access(ops, prefix, wide, &[opcode], s, index, disp)
        });
    }

    fn load_global(&mut self, size: Size, dst: Reg, global: GlobalCell) {
        let (base, at) = self.global_cell(global);
        match size {
            Size::S32 => asm!(self.ops ; mov Rd(dst.0), DWORD [Rq(base) + at]),
            Size::S64 => asm!(self.ops ; mov Rq(dst.0), QWORD [Rq(base) + at]),
        }
    }

    fn store_global(&mut self, size: Size, src: Reg, global: GlobalCell) {
        let (base, at) = self.global_cell(global);
        // Only the value's own bytes (the contract of `MacroAssembler::store_global`).
        match size {
            Size::S32 => asm!(self.ops ; mov DWORD [Rq(base) + at], Rd(src.0)),
            Size::S64 => asm!(self.ops ; mov QWORD [Rq(base) + at], Rq(src.0)),
        }
    }

    fn call(&mut self, callee: Callee, callee_fp: u32) {
        // rdi and rsi are the pinned context and frame pointer; the two pushes keep the stack
        // 16-byte aligned at the call (five saved registers plus the return address before them).
        // A defined function's entry comes from the module's function table; an import's is the
        // runtime's `call_import`.
        let trap_exit = self.call_trap_label();
        asm!(self.ops ; push rdi ; push rsi);
        lea(&mut self.ops, true, FRAME, FRAME, None, callee_fp as i32);
        match callee {
            Callee::Defined { def, func } => {
                self.mov(Size::S32, Reg(2), RegImm::Imm(func as i64));
                load_qword(&mut self.ops, 0, CONTEXT, CTX_FUNCS);
                call_qword(&mut self.ops, 0, (def * 8) as i32);
            }
            Callee::Import(index) => {
                self.mov(Size::S32, Reg(2), RegImm::Imm(index as i64));
                call_qword(&mut self.ops, CONTEXT, CTX_CALL_IMPORT);
            }
        }
        asm!(self.ops ; pop rsi ; pop rdi);
        // A defined function of a module without tail calls never leaves one pending.
        let may_tail_call = matches!(callee, Callee::Import(_)) || self.own_tail_calls;
        self.check_call_status(trap_exit, callee_fp, may_tail_call);
    }

    fn set_trap_handler(&mut self, handler: Option<DynamicLabel>) {
        self.trap_handler = handler;
    }

    fn argument_registers(&self) -> (&'static [Reg], &'static [FReg]) {
        (&ARGUMENT_REGISTERS, &ARGUMENT_FLOAT_REGISTERS)
    }

    fn enter_by_registers(&mut self, params: &[ArgLoc], result: ArgLoc) {
        self.register_entry = Some((params.to_vec(), result));
    }

    fn call_by_registers(
        &mut self,
        def: u32,
        func: u32,
        callee_fp: u32,
        args: &[ArgLoc],
        result: ArgLoc,
    ) {
        // As `call`, but through the callee's register entry when it has one, which keeps the
        // context, the frame pointer and the memory base (nothing pushed around the call).
        // The lookup, from the table load to the call, is a `DirectCallSite` a loader may link.
        let slow = self.ops.new_dynamic_label();
        lea(&mut self.ops, true, FRAME, FRAME, None, callee_fp as i32);
        let start = self.ops.offset().0 as u32;
        load_qword(&mut self.ops, 1, CONTEXT, CTX_REGISTER_ENTRIES);
        load_qword(&mut self.ops, 1, 1, (def * 8) as i32);
        let callee = RegisterCallee::Direct { def, func };
        let end = self.call_register_entry(callee, slow, callee_fp, args, result);
        self.direct_calls.push(DirectCallSite { start, end, callee: func });
    }

    fn call_indirect_by_registers(
        &mut self,
        ty: u32,
        sig: u32,
        table: u32,
        callee_fp: u32,
        index: Reg,
        args: &[ArgLoc],
        result: ArgLoc,
    ) {
        // As `call_indirect_inline`, through the element's register entry when it has one.
        let (helper, slow) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.own_dispatch_entry(ty, sig, table, TableIndex::Reg(index), helper);
        lea(&mut self.ops, true, FRAME, FRAME, None, callee_fp as i32);
        load_qword(&mut self.ops, 1, 0, ENTRY_REGISTER_ENTRY);
        asm!(self.ops ; mov rcx, QWORD [rcx]);
        let callee = RegisterCallee::Indirect { ty, table, index, helper };
        self.call_register_entry(callee, slow, callee_fp, args, result);
    }

    fn catch_exception(&mut self, tag: u32, with_ref: bool, dest_slot: u32, caught: DynamicLabel) {
        // The status is in eax; the pushes keep the call aligned, as at a call site.
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea rdx, [rsi + dest_slot as i32]
            ; mov esi, eax
            ; mov ecx, tag as i32
            ; mov r8d, with_ref as i32
            ; call QWORD [rdi + CTX_CATCH]
            ; pop rsi
            ; pop rdi
            ; test eax, eax
            ; jz =>caught
        );
    }

    fn pass_trap_on(&mut self) {
        let trap = self.call_trap_label();
        asm!(self.ops ; jmp =>trap);
    }

    fn tail_call(&mut self, callee: Callee) {
        // rdi and rsi are already the callee's context and frame.
        match callee {
            Callee::Defined { def, func } => self.jump_to_tail_exit(|m| {
                asm!(m.ops
                    ; mov edx, func as i32
                    ; mov rax, QWORD [rdi + CTX_FUNCS]
                    ; mov rax, QWORD [rax + (def * 8) as i32]
                )
            }),
            Callee::Import(index) => self.jump_to_tail_exit(|m| {
                asm!(m.ops
                    ; mov edx, index as i32
                    ; mov rax, QWORD [rdi + CTX_TAIL_CALL_IMPORT]
                )
            }),
        }
    }

    fn tail_call_indirect(&mut self, ty: u32, sig: u32, table: u32, index_slot: u32) {
        let (trap_exit, slow) = (self.call_trap_label(), self.ops.new_dynamic_label());
        self.own_dispatch_entry(ty, sig, table, TableIndex::Slot(index_slot), slow);
        // The tally's flush keeps rax.
        self.jump_to_tail_exit(|m| {
            asm!(m.ops
                ; mov edx, DWORD [rax + ENTRY_FUNC_INDEX]
                ; mov rax, QWORD [rax + ENTRY_ENTRY]
                ; mov rax, QWORD [rax]
            )
        });
        // Anything else: the helper checks the element and leaves the call pending, which this
        // function returns through its epilogue.
        let epilogue = self.epilogue;
        asm!(self.ops
            ; =>slow
            ; mov r8d, DWORD [rsi + index_slot as i32]
            ; push rdi
            ; push rsi
            ; mov edx, ty as i32
            ; mov ecx, table as i32
            ; call QWORD [rdi + CTX_TAIL_CALL_INDIRECT]
            ; pop rsi
            ; pop rdi
            ; cmp eax, TAIL_CALL_PENDING as i32
            ; jne =>trap_exit
            ; jmp =>epilogue
        );
    }

    fn tally_back_edges(&mut self, def: u32, chunk: u32) {
        self.tally = Some(Tally { def, chunk });
    }

    fn count_call(&mut self, def: u32, weight: Option<u32>) {
        // Plain read-modify-writes: a count lost to a concurrent update only delays a tier-up
        // decision. `sub` leaves the flags of `budget - weight`: `jle` when it is spent.
        // The budget first: when newer code takes the call, it counts it itself.
        let base = (def * COUNTERS_BYTES) as i32;
        if let Some(weight) = weight {
            let stub = self.ops.new_dynamic_label();
            let resume = self.ops.new_dynamic_label();
            asm!(self.ops
                ; mov rax, QWORD [rdi + CTX_COUNTERS]
                ; sub QWORD [rax + base + COUNTER_BUDGET as i32], weight.min(i32::MAX as u32) as i32
                ; jle =>stub
                ; =>resume
            );
            self.hot_stubs.push(HotStub { stub, site: HOT_AT_ENTRY, chunk: None, resume });
        }
        asm!(self.ops
            ; mov rax, QWORD [rdi + CTX_COUNTERS]
            ; add QWORD [rax + base + COUNTER_CALLS as i32], 1
        );
    }

    fn count_back_edge(&mut self, ordinal: u32, weight: Option<u32>, resume: DynamicLabel) {
        let tally = self.tally.expect("`tally_back_edges` before counting back-edges");
        let stub = self.ops.new_dynamic_label();
        asm!(self.ops ; sub r15d, 1 ; jz =>stub);
        let budget = weight.map(|w| (w as u64 * tally.chunk as u64).min(i32::MAX as u64) as i32);
        self.hot_stubs.push(HotStub { stub, site: ordinal, chunk: Some(budget), resume });
    }

    fn call_indirect(&mut self, ty: u32, table: u32, callee_fp: u32) {
        let trap_exit = self.call_trap_label();
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea rsi, [rsi + callee_fp as i32]
            ; mov edx, ty as i32
            ; mov ecx, table as i32
            ; call QWORD [rdi + CTX_CALL_INDIRECT]
            ; pop rsi
            ; pop rdi
        );
        self.check_call_status(trap_exit, callee_fp, true);
    }

    fn call_ref(&mut self, ty: u32, callee_fp: u32) {
        let trap_exit = self.call_trap_label();
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea rsi, [rsi + callee_fp as i32]
            ; mov edx, ty as i32
            ; call QWORD [rdi + CTX_CALL_REF]
            ; pop rsi
            ; pop rdi
        );
        self.check_call_status(trap_exit, callee_fp, true);
    }

    fn tail_call_ref(&mut self, ref_slot: u32) {
        // The helper checks the reference and leaves the call pending, which this function
        // returns through its epilogue.
        let (trap_exit, epilogue) = (self.call_trap_label(), self.epilogue);
        asm!(self.ops
            ; mov rdx, QWORD [rsi + ref_slot as i32]
            ; push rdi
            ; push rsi
            ; call QWORD [rdi + CTX_TAIL_CALL_REF]
            ; pop rsi
            ; pop rdi
            ; cmp eax, TAIL_CALL_PENDING as i32
            ; jne =>trap_exit
            ; jmp =>epilogue
        );
    }

    fn call_indirect_inline(
        &mut self,
        ty: u32,
        sig: u32,
        table: u32,
        callee_fp: u32,
        index_slot: u32,
    ) {
        let (trap_exit, slow, done) =
            (self.call_trap_label(), self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        self.own_dispatch_entry(ty, sig, table, TableIndex::Slot(index_slot), slow);
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea rsi, [rsi + callee_fp as i32]
            ; mov edx, DWORD [rax + ENTRY_FUNC_INDEX]
            ; mov rax, QWORD [rax + ENTRY_ENTRY]
            ; call QWORD [rax]
            ; jmp =>done
            ; =>slow
            ; push rdi
            ; push rsi
            ; lea rsi, [rsi + callee_fp as i32]
            ; mov edx, ty as i32
            ; mov ecx, table as i32
            ; call QWORD [rdi + CTX_CALL_INDIRECT]
            ; =>done
            ; pop rsi
            ; pop rdi
        );
        self.check_call_status(trap_exit, callee_fp, true);
    }

    fn check_address64(&mut self, addr: Reg, offset: u64) {
        let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
        if u32::try_from(offset).is_err() {
            asm!(self.ops ; jmp =>oob);
            return;
        }
        asm!(self.ops
            ; mov rax, Rq(addr.0)
            ; shr rax, 32
            ; jnz =>oob
        );
    }

    fn check_slot_index64(&mut self, slot: u32) {
        let oob = self.trap_label(TrapCode::TableOutOfBounds);
        // The upper half of the little-endian i64.
        asm!(self.ops
            ; mov eax, DWORD [rsi + (slot + 4) as i32]
            ; test eax, eax
            ; jnz =>oob
        );
    }

    fn set_memory(&mut self, memory: u32) {
        self.heap_base_used = true;
        match memory {
            0 => asm!(self.ops ; mov r14, QWORD [rdi + CTX_MEM_BASE]),
            _ => asm!(self.ops ; mov r14, QWORD [rdi + CTX_MEMORIES]),
        }
        self.memory = memory;
    }

    fn memory_size(&mut self, dst: Reg) {
        asm!(self.ops ; mov rax, QWORD [rdi + CTX_MEM_LEN] ; shr rax, 16 ; mov Rd(dst.0), eax);
    }

    fn memory_grow(&mut self, dst: Reg, delta: Reg) {
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; mov esi, Rd(delta.0)
            ; call QWORD [rdi + CTX_MEMORY_GROW]
            ; pop rsi
            ; pop rdi
            ; mov Rd(dst.0), eax
        );
    }

    fn bulk_memory(&mut self, op: BulkMemory, [dst, second, len]: [Reg; 3]) {
        let helper = match op {
            BulkMemory::Copy => CTX_MEMORY_COPY,
            BulkMemory::Fill => CTX_MEMORY_FILL,
        };
        let trap = self.call_trap_label();
        // The helper's arguments go to esi, edx and ecx, where tier 2 may hold the operands
        // (it allocates rcx and rdx): esi first (it holds none), the second through eax.
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; mov esi, Rd(dst.0)
            ; mov eax, Rd(second.0)
            ; mov ecx, Rd(len.0)
            ; mov edx, eax
            ; call QWORD [rdi + helper]
            ; pop rsi
            ; pop rdi
            ; test eax, eax
            ; jnz =>trap
        );
    }

    fn allocatable_float(&self) -> &'static [FReg] {
        &ALLOCATABLE_FLOAT
    }

    fn load_slot_float(&mut self, size: Size, dst: FReg, slot: u32) {
        // `movss Rx(dst), DWORD [rsi + slot]` / `movsd Rx(dst), QWORD [rsi + slot]`.
        let prefix = if size == Size::S32 { 0xF3 } else { 0xF2 };
        frame_access(&mut self.ops, Some(prefix), false, &[0x0F, 0x10], dst.0, slot as i32, &[]);
    }

    fn store_slot_float(&mut self, size: Size, src: FReg, slot: u32) {
        // `movss DWORD [rsi + slot], Rx(src)` / `movsd QWORD [rsi + slot], Rx(src)`.
        let prefix = if size == Size::S32 { 0xF3 } else { 0xF2 };
        frame_access(&mut self.ops, Some(prefix), false, &[0x0F, 0x11], src.0, slot as i32, &[]);
    }

    fn load_float_const(&mut self, size: Size, dst: FReg, bits: u64) {
        let d = dst.0;
        match size {
            _ if bits == 0 => asm!(self.ops ; xorps Rx(d), Rx(d)),
            Size::S32 => asm!(self.ops ; mov eax, bits as u32 as i32 ; movd Rx(d), eax),
            Size::S64 => asm!(self.ops ; mov rax, QWORD bits as i64 ; movq Rx(d), rax),
        }
    }

    fn mov_float(&mut self, dst: FReg, src: FReg) {
        if dst != src {
            asm!(self.ops ; movaps Rx(dst.0), Rx(src.0));
        }
    }

    fn float_op(&mut self, op: FloatOp, size: Size, dst: FReg, lhs: FReg, rhs: FReg) {
        let r = rhs.0;
        let arithmetic = matches!(op, FloatOp::Add | FloatOp::Sub | FloatOp::Mul | FloatOp::Div);
        if arithmetic && (dst == lhs || dst != rhs) {
            // The two-operand form on the destination: the left operand's register (the code
            // generator reuses it when it may), or a copy of it that overwrites no operand.
            let d = dst.0;
            if dst != lhs {
                asm!(self.ops ; movaps Rx(d), Rx(lhs.0));
            }
            match (op, size) {
                (FloatOp::Add, Size::S32) => return asm!(self.ops ; addss Rx(d), Rx(r)),
                (FloatOp::Add, Size::S64) => return asm!(self.ops ; addsd Rx(d), Rx(r)),
                (FloatOp::Sub, Size::S32) => return asm!(self.ops ; subss Rx(d), Rx(r)),
                (FloatOp::Sub, Size::S64) => return asm!(self.ops ; subsd Rx(d), Rx(r)),
                (FloatOp::Mul, Size::S32) => return asm!(self.ops ; mulss Rx(d), Rx(r)),
                (FloatOp::Mul, Size::S64) => return asm!(self.ops ; mulsd Rx(d), Rx(r)),
                (FloatOp::Div, Size::S32) => return asm!(self.ops ; divss Rx(d), Rx(r)),
                (FloatOp::Div, Size::S64) => return asm!(self.ops ; divsd Rx(d), Rx(r)),
                _ => {}
            }
        }
        // Computed in xmm0 so no operand is clobbered before it is read, whatever aliases.
        asm!(self.ops ; movaps xmm0, Rx(lhs.0));
        match (op, size) {
            (FloatOp::Add, Size::S32) => asm!(self.ops ; addss xmm0, Rx(r)),
            (FloatOp::Add, Size::S64) => asm!(self.ops ; addsd xmm0, Rx(r)),
            (FloatOp::Sub, Size::S32) => asm!(self.ops ; subss xmm0, Rx(r)),
            (FloatOp::Sub, Size::S64) => asm!(self.ops ; subsd xmm0, Rx(r)),
            (FloatOp::Mul, Size::S32) => asm!(self.ops ; mulss xmm0, Rx(r)),
            (FloatOp::Mul, Size::S64) => asm!(self.ops ; mulsd xmm0, Rx(r)),
            (FloatOp::Div, Size::S32) => asm!(self.ops ; divss xmm0, Rx(r)),
            (FloatOp::Div, Size::S64) => asm!(self.ops ; divsd xmm0, Rx(r)),
            (FloatOp::Min | FloatOp::Max, size) => {
                // minss/maxss return the second operand for NaNs and for equal operands (so
                // for -0 vs +0): those cases are handled first. Unordered: the sum propagates
                // a NaN operand, quieted; equal: OR (min) or AND (max) of the bits picks the
                // right zero.
                let (nan, equal, done) = (
                    self.ops.new_dynamic_label(),
                    self.ops.new_dynamic_label(),
                    self.ops.new_dynamic_label(),
                );
                self.ucomis(size, 0, r);
                asm!(self.ops ; jp =>nan ; je =>equal);
                match (op, size) {
                    (FloatOp::Min, Size::S32) => asm!(self.ops ; minss xmm0, Rx(r)),
                    (FloatOp::Min, Size::S64) => asm!(self.ops ; minsd xmm0, Rx(r)),
                    (_, Size::S32) => asm!(self.ops ; maxss xmm0, Rx(r)),
                    (_, Size::S64) => asm!(self.ops ; maxsd xmm0, Rx(r)),
                }
                asm!(self.ops ; jmp =>done ; =>equal);
                match op {
                    FloatOp::Min => asm!(self.ops ; orps xmm0, Rx(r)),
                    _ => asm!(self.ops ; andps xmm0, Rx(r)),
                }
                asm!(self.ops ; jmp =>done ; =>nan);
                match size {
                    Size::S32 => asm!(self.ops ; addss xmm0, Rx(r)),
                    Size::S64 => asm!(self.ops ; addsd xmm0, Rx(r)),
                }
                asm!(self.ops ; =>done);
            }
            (FloatOp::Copysign, Size::S32) => asm!(self.ops
                ; movd eax, xmm0 ; movd ecx, Rx(r)
                ; and eax, 0x7fff_ffff ; and ecx, i32::MIN ; or eax, ecx
                ; movd xmm0, eax),
            (FloatOp::Copysign, Size::S64) => asm!(self.ops
                ; movq rax, xmm0 ; movq rcx, Rx(r)
                ; btr rax, 63 ; shr rcx, 63 ; shl rcx, 63 ; or rax, rcx
                ; movq xmm0, rax),
        }
        asm!(self.ops ; movaps Rx(dst.0), xmm0);
    }

    fn float_unary(&mut self, op: FloatUnaryOp, size: Size, dst: FReg, src: FReg) {
        let (d, s) = (dst.0, src.0);
        // roundss/roundsd immediates: 0 nearest (ties to even), 1 down, 2 up, 3 toward zero;
        // bit 3 suppresses the precision exception.
        let mode = match op {
            FloatUnaryOp::Nearest => 8,
            FloatUnaryOp::Floor => 9,
            FloatUnaryOp::Ceil => 10,
            FloatUnaryOp::Trunc => 11,
            _ => 0,
        };
        match (op, size) {
            (FloatUnaryOp::Abs, Size::S32) => {
                asm!(self.ops ; movd eax, Rx(s) ; and eax, 0x7fff_ffff ; movd Rx(d), eax)
            }
            (FloatUnaryOp::Abs, Size::S64) => {
                asm!(self.ops ; movq rax, Rx(s) ; btr rax, 63 ; movq Rx(d), rax)
            }
            (FloatUnaryOp::Neg, Size::S32) => {
                asm!(self.ops ; movd eax, Rx(s) ; xor eax, i32::MIN ; movd Rx(d), eax)
            }
            (FloatUnaryOp::Neg, Size::S64) => {
                asm!(self.ops ; movq rax, Rx(s) ; btc rax, 63 ; movq Rx(d), rax)
            }
            (FloatUnaryOp::Sqrt, Size::S32) => asm!(self.ops ; sqrtss Rx(d), Rx(s)),
            (FloatUnaryOp::Sqrt, Size::S64) => asm!(self.ops ; sqrtsd Rx(d), Rx(s)),
            (_, Size::S32) => asm!(self.ops ; roundss Rx(d), Rx(s), mode),
            (_, Size::S64) => asm!(self.ops ; roundsd Rx(d), Rx(s), mode),
        }
    }

    fn float_compare(&mut self, cmp: FloatCmp, size: Size, dst: Reg, lhs: FReg, rhs: FReg) {
        // Unordered sets ZF, PF and CF. `lt`/`le` swap the operands so that `a`/`ae` (CF clear)
        // are false on unordered; `eq` needs ZF without PF, `ne` ZF clear or PF.
        let (l, r) = (lhs.0, rhs.0);
        asm!(self.ops ; xor edx, edx ; xor ecx, ecx);
        match cmp {
            FloatCmp::Lt | FloatCmp::Le => self.ucomis(size, r, l),
            _ => self.ucomis(size, l, r),
        }
        match cmp {
            FloatCmp::Eq => asm!(self.ops ; sete dl ; setnp cl ; and edx, ecx),
            FloatCmp::Ne => asm!(self.ops ; setne dl ; setp cl ; or edx, ecx),
            FloatCmp::Lt | FloatCmp::Gt => asm!(self.ops ; seta dl),
            FloatCmp::Le | FloatCmp::Ge => asm!(self.ops ; setae dl),
        }
        asm!(self.ops ; mov Rd(dst.0), edx);
    }

    fn branch_float(
        &mut self,
        cmp: FloatCmp,
        size: Size,
        lhs: FReg,
        rhs: FReg,
        target: DynamicLabel,
    ) {
        // The flags as in `float_compare`: unordered sets ZF, PF and CF.
        let (l, r) = (lhs.0, rhs.0);
        match cmp {
            FloatCmp::Lt | FloatCmp::Le => self.ucomis(size, r, l),
            _ => self.ucomis(size, l, r),
        }
        match cmp {
            FloatCmp::Eq => {
                let unordered = self.ops.new_dynamic_label();
                asm!(self.ops ; jp =>unordered ; je =>target ; =>unordered);
            }
            FloatCmp::Ne => asm!(self.ops ; jp =>target ; jne =>target),
            FloatCmp::Lt | FloatCmp::Gt => asm!(self.ops ; ja =>target),
            FloatCmp::Le | FloatCmp::Ge => asm!(self.ops ; jae =>target),
        }
    }

    fn select_float(&mut self, _size: Size, dst: FReg, cond: Reg, other: FReg) {
        let keep = self.ops.new_dynamic_label();
        asm!(self.ops ; test Rd(cond.0), Rd(cond.0) ; jnz =>keep);
        self.mov_float(dst, other);
        asm!(self.ops ; =>keep);
    }

    fn select_float_compare(&mut self, _size: Size, dst: FReg, cmp: Comparison, other: FReg) {
        // No conditional move between xmm registers: a branch around the move.
        let keep = self.ops.new_dynamic_label();
        self.branch(cmp.cond, cmp.size, cmp.lhs, cmp.rhs, keep);
        self.mov_float(dst, other);
        asm!(self.ops ; =>keep);
    }

    fn float_to_int(&mut self, op: ConvertOp, dst: Reg, src: FReg) {
        let (d, s) = (dst.0, src.0);
        match op {
            ConvertOp::Reinterpret { to_float: false, size: Size::S32 } => {
                asm!(self.ops ; movd Rd(d), Rx(s))
            }
            ConvertOp::Reinterpret { to_float: false, size: Size::S64 } => {
                asm!(self.ops ; movq Rq(d), Rx(s))
            }
            ConvertOp::Trunc { signed, saturating, int, float } => {
                let (lo, hi) = ConvertOp::trunc_bounds(signed, int, float);
                let done = self.ops.new_dynamic_label();
                let (nan, below, above) = if saturating {
                    (
                        self.ops.new_dynamic_label(),
                        self.ops.new_dynamic_label(),
                        self.ops.new_dynamic_label(),
                    )
                } else {
                    let overflow = self.trap_label(TrapCode::IntegerOverflow);
                    (self.trap_label(TrapCode::BadConversionToInteger), overflow, overflow)
                };
                self.ucomis(float, s, s);
                asm!(self.ops ; jp =>nan);
                self.float_const_xmm0(float, lo);
                self.ucomis(float, s, 0);
                asm!(self.ops ; jbe =>below);
                self.float_const_xmm0(float, hi);
                self.ucomis(float, s, 0);
                asm!(self.ops ; jae =>above);
                self.truncate_in_range(signed, int, float, s);
                if saturating {
                    let (min, max): (i64, i64) = match (signed, int) {
                        (true, Size::S32) => (i32::MIN as i64, i32::MAX as i64),
                        (true, Size::S64) => (i64::MIN, i64::MAX),
                        (false, Size::S32) => (0, u32::MAX as i64),
                        (false, Size::S64) => (0, -1),
                    };
                    asm!(self.ops
                        ; jmp =>done
                        ; =>nan ; xor eax, eax ; jmp =>done
                        ; =>below ; mov rax, QWORD min ; jmp =>done
                        ; =>above ; mov rax, QWORD max
                    );
                }
                asm!(self.ops ; =>done);
                self.mov(int, dst, RegImm::Reg(Reg(0)));
            }
            other => unreachable!("{other:?} does not go from float to integer"),
        }
    }

    fn int_to_float(&mut self, op: ConvertOp, dst: FReg, src: Reg) {
        let (d, s) = (dst.0, src.0);
        match op {
            ConvertOp::Reinterpret { to_float: true, size: Size::S32 } => {
                asm!(self.ops ; movd Rx(d), Rd(s))
            }
            ConvertOp::Reinterpret { to_float: true, size: Size::S64 } => {
                asm!(self.ops ; movq Rx(d), Rq(s))
            }
            ConvertOp::Convert { signed, int, float } => {
                // Clearing the destination first breaks the dependency cvtsi2s* has on it.
                match (signed, int) {
                    (true, Size::S32) => asm!(self.ops ; movsxd rax, Rd(s)),
                    // Zero-extended, a u32 is a non-negative i64: the signed conversion is exact.
                    (false, Size::S32) => asm!(self.ops ; mov eax, Rd(s)),
                    (_, Size::S64) => asm!(self.ops ; mov rax, Rq(s)),
                }
                asm!(self.ops ; xorps Rx(d), Rx(d));
                if signed || int == Size::S32 {
                    self.cvtsi2s_rax(float, d);
                    return;
                }
                // u64 with the top bit set: halve (keeping the lowest bit sticky so the rounding
                // is right), convert, double.
                let (big, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
                asm!(self.ops ; test rax, rax ; js =>big);
                self.cvtsi2s_rax(float, d);
                asm!(self.ops
                    ; jmp =>done
                    ; =>big ; mov rcx, rax ; shr rcx, 1 ; and eax, 1 ; or rax, rcx
                );
                self.cvtsi2s_rax(float, d);
                match float {
                    Size::S32 => asm!(self.ops ; addss Rx(d), Rx(d)),
                    Size::S64 => asm!(self.ops ; addsd Rx(d), Rx(d)),
                }
                asm!(self.ops ; =>done);
            }
            other => unreachable!("{other:?} does not go from integer to float"),
        }
    }

    fn float_to_float(&mut self, op: ConvertOp, dst: FReg, src: FReg) {
        let (d, s) = (dst.0, src.0);
        match op {
            ConvertOp::Resize { to: Size::S64 } => asm!(self.ops ; cvtss2sd Rx(d), Rx(s)),
            ConvertOp::Resize { to: Size::S32 } => asm!(self.ops ; cvtsd2ss Rx(d), Rx(s)),
            other => unreachable!("{other:?} does not go from float to float"),
        }
    }

    fn load_heap_float(&mut self, size: Size, dst: FReg, addr: Option<Reg>, offset: u32) {
        let (bytes, d) = (if size == Size::S32 { 4 } else { 8 }, dst.0);
        // dynasm encodes a displacement known only at run time in 32 bits: none for offset 0.
        self.heap_access(addr, offset, bytes, |ops, index, disp| match (size, disp) {
            (Size::S32, 0) => asm!(ops ; movss Rx(d), DWORD [r14 + Rq(index)]),
            (Size::S64, 0) => asm!(ops ; movsd Rx(d), QWORD [r14 + Rq(index)]),
            (Size::S32, _) => asm!(ops ; movss Rx(d), DWORD [r14 + Rq(index) + disp]),
            (Size::S64, _) => asm!(ops ; movsd Rx(d), QWORD [r14 + Rq(index) + disp]),
        });
    }

    fn store_heap_float(&mut self, size: Size, src: FReg, addr: Option<Reg>, offset: u32) {
        let (bytes, r) = (if size == Size::S32 { 4 } else { 8 }, src.0);
        self.heap_access(addr, offset, bytes, |ops, index, disp| match (size, disp) {
            (Size::S32, 0) => asm!(ops ; movss DWORD [r14 + Rq(index)], Rx(r)),
            (Size::S64, 0) => asm!(ops ; movsd QWORD [r14 + Rq(index)], Rx(r)),
            (Size::S32, _) => asm!(ops ; movss DWORD [r14 + Rq(index) + disp], Rx(r)),
            (Size::S64, _) => asm!(ops ; movsd QWORD [r14 + Rq(index) + disp], Rx(r)),
        });
    }

    fn load_global_float(&mut self, size: Size, dst: FReg, global: GlobalCell) {
        let (base, at) = self.global_cell(global);
        match size {
            Size::S32 => asm!(self.ops ; movss Rx(dst.0), DWORD [Rq(base) + at]),
            Size::S64 => asm!(self.ops ; movsd Rx(dst.0), QWORD [Rq(base) + at]),
        }
    }

    fn store_global_float(&mut self, size: Size, src: FReg, global: GlobalCell) {
        let (base, at) = self.global_cell(global);
        // Only the value's own bytes, as for integers.
        match size {
            Size::S32 => asm!(self.ops ; movss DWORD [Rq(base) + at], Rx(src.0)),
            Size::S64 => asm!(self.ops ; movsd QWORD [Rq(base) + at], Rx(src.0)),
        }
    }

    fn runtime(&mut self, op: RuntimeOp, a: u32, b: u32, args: u32) {
        let trap_exit = self.call_trap_label();
        asm!(self.ops
            ; push rdi
            ; push rsi
            ; lea r8, [rsi + args as i32]
            ; mov esi, op as i32
            ; mov edx, a as i32
            ; mov ecx, b as i32
            ; call QWORD [rdi + CTX_RUNTIME]
            ; pop rsi
            ; pop rdi
            ; test eax, eax
            ; jnz =>trap_exit
        );
    }

    fn consume_fuel(&mut self, amount: u32) {
        let out_of_fuel = self.trap_label(TrapCode::OutOfFuel);
        asm!(self.ops
            ; mov rax, QWORD [rdi + CTX_FUEL]
            ; mov rcx, QWORD [rax]
            ; mov edx, amount as i32
            ; sub rcx, rdx
            ; jb =>out_of_fuel
            ; mov QWORD [rax], rcx
        );
    }

    fn profile_push(&mut self, entry: u64) {
        // rax = the stack, rcx = its depth; the entry is written before the depth grows (x86-64
        // keeps stores in order, so a sampler that sees the new depth sees the entry).
        asm!(self.ops
            ; mov rax, QWORD [rdi + CTX_PROFILE_STACK]
            ; mov rcx, QWORD [rax]
            ; and ecx, PROFILE_MASK
            ; mov DWORD [rax + rcx * 8 + PROFILE_ENTRIES], entry as u32 as i32
            ; mov DWORD [rax + rcx * 8 + PROFILE_ENTRIES + 4], (entry >> 32) as u32 as i32
            ; add QWORD [rax], 1
        );
    }

    fn profile_set_top(&mut self, high: u32) {
        asm!(self.ops
            ; mov rax, QWORD [rdi + CTX_PROFILE_STACK]
            ; mov rcx, QWORD [rax]
            ; sub ecx, 1
            ; and ecx, PROFILE_MASK
            ; mov DWORD [rax + rcx * 8 + PROFILE_ENTRIES + 4], high as i32
        );
    }

    fn profile_pop(&mut self) {
        asm!(self.ops
            ; mov rax, QWORD [rdi + CTX_PROFILE_STACK]
            ; sub QWORD [rax], 1
        );
    }

    fn osr_entry(&mut self, label: DynamicLabel) {
        self.osr_targets.push(Some(label));
    }

    fn align_code(&mut self, bytes: u32) {
        debug_assert!(bytes.is_power_of_two() && bytes <= CODE_ALIGN);
        self.body_align = self.body_align.max(bytes);
        let pad = (bytes - self.ops.offset().0 as u32 % bytes) % bytes;
        nops(&mut self.ops, pad as usize);
    }

    fn no_osr_entry(&mut self) {
        self.osr_targets.push(None);
    }

    fn finish(mut self) -> Result<Assembled, AsmError> {
        debug_assert!(
            !self.leaf || (self.hot_stubs.is_empty() && self.call_stubs.is_empty()),
            "a leaf (FrameSetup::calls false) calls nothing at the body's depth"
        );
        // On-stack-replacement entries: the frame is the interpreter's, set up and checked.
        let saved = self.saved_registers();
        let (heap, tally) = (self.loads_heap_base(), self.tally);
        let mut osr_entries = Vec::with_capacity(self.osr_targets.len());
        for target in std::mem::take(&mut self.osr_targets) {
            osr_entries.push(target.map(|label| {
                let offset = self.ops.offset().0 as u32;
                Self::enter(&mut self.ops, &saved, heap, tally);
                asm!(self.ops ; jmp =>label);
                offset
            }));
        }
        let (epilogue, trap_exit) = (self.epilogue, self.trap_exit);
        let mut out_of_line = Vec::new();
        // Counting stubs: a back-edge tally that ran out is added to the counters (and its
        // budget spent); a budget that is gone asks tiering (`VmCtx::hot`), which answers with
        // a resume or the status of newer code that ran the rest. At the body's stack depth, so
        // the pushes keep the call aligned.
        let func_index = self.func_index as i32;
        for HotStub { stub, site, chunk, resume } in std::mem::take(&mut self.hot_stubs) {
            out_of_line.push((self.offset(), OutOfLine::HotStub));
            asm!(self.ops ; =>stub);
            if let Some(budget) = chunk {
                self.flush_tally(true);
                let Some(budget) = budget else {
                    asm!(self.ops ; jmp =>resume);
                    continue;
                };
                let def = self.tally.expect("a tally").def;
                let at = (def * COUNTERS_BYTES + COUNTER_BUDGET) as i32;
                asm!(self.ops ; sub QWORD [rcx + at], budget ; jg =>resume);
            }
            asm!(self.ops
                ; push rdi
                ; push rsi
                ; mov edx, func_index
                ; mov ecx, site as i32
                ; mov r8d, self.tier as i32
                ; call QWORD [rdi + CTX_HOT]
                ; pop rsi
                ; pop rdi
                ; cmp eax, HOT_CONTINUE as i32
                ; je =>resume
                ; jmp =>epilogue
            );
        }
        // Register calls whose callee has no register entry: the arguments to their slots, the
        // function table's entry called (which may clobber the context and frame pointer: they
        // are pushed), the status checked as after `call`, the result loaded into its register.
        for RegisterCall { callee, slow, done, trap, callee_fp, args, result } in
            std::mem::take(&mut self.register_calls)
        {
            out_of_line.push((self.offset(), OutOfLine::RegisterCallBySlots));
            if let RegisterCallee::Indirect { ty, table, index, helper } = callee {
                // The runtime's `call_indirect` finds the index in the slot after the arguments.
                asm!(self.ops ; =>helper);
                for (n, &loc) in args.iter().enumerate() {
                    store_argument(&mut self.ops, loc, callee_fp + n as u32 * SLOT_BYTES);
                }
                let index_slot = callee_fp + args.len() as u32 * SLOT_BYTES;
                store_argument(&mut self.ops, ArgLoc::Int(index, Size::S32), index_slot);
                asm!(self.ops
                    ; push rdi
                    ; push rsi
                    ; lea rsi, [rsi + callee_fp as i32]
                    ; mov edx, ty as i32
                    ; mov ecx, table as i32
                    ; call QWORD [rdi + CTX_CALL_INDIRECT]
                    ; jmp >called
                );
            }
            // `rsi` is the callee's frame here.
            asm!(self.ops ; =>slow);
            for (n, &loc) in args.iter().enumerate() {
                store_argument(&mut self.ops, loc, n as u32 * SLOT_BYTES);
            }
            asm!(self.ops ; push rdi);
            lea(&mut self.ops, true, 1, FRAME, None, -(callee_fp as i32));
            asm!(self.ops ; push rcx);
            match callee {
                RegisterCallee::Direct { def, func } => {
                    self.mov(Size::S32, Reg(2), RegImm::Imm(func as i64));
                    load_qword(&mut self.ops, 0, CONTEXT, CTX_FUNCS);
                    call_qword(&mut self.ops, 0, (def * 8) as i32);
                }
                RegisterCallee::Indirect { .. } => {
                    // `mov edx, DWORD [rax + ENTRY_FUNC_INDEX]`.
                    mem_access(
                        &mut self.ops,
                        None,
                        false,
                        &[0x8B],
                        2,
                        0,
                        None,
                        ENTRY_FUNC_INDEX,
                        &[],
                    );
                    load_qword(&mut self.ops, 0, 0, ENTRY_ENTRY);
                    call_qword(&mut self.ops, 0, 0);
                }
            }
            asm!(self.ops
                ; called:
                ; pop rsi
                ; pop rdi
            );
            let may_tail_call =
                matches!(callee, RegisterCallee::Indirect { .. }) || self.own_tail_calls;
            self.check_call_status(trap, callee_fp, may_tail_call);
            load_argument(&mut self.ops, result, callee_fp);
            asm!(self.ops ; jmp =>done);
        }
        // Call sites' stubs: a callee that left a tail call pending has the chain run here (at
        // the body's stack depth, so the pushes keep the call aligned); any other status is a
        // trap.
        for super::CallStub { stub, resume, trap, callee_fp } in
            std::mem::take(&mut self.call_stubs)
        {
            out_of_line.push((self.offset(), OutOfLine::TailCallStub));
            asm!(self.ops ; =>stub);
            alu_imm(&mut self.ops, 7, false, 0, TAIL_CALL_PENDING as i32);
            asm!(self.ops ; jne =>trap ; push rdi ; push rsi);
            lea(&mut self.ops, true, FRAME, FRAME, None, callee_fp as i32);
            call_qword(&mut self.ops, CONTEXT, CTX_TAIL_CALLS);
            asm!(self.ops
                ; pop rsi
                ; pop rdi
                ; test eax, eax
                ; jz =>resume
                ; jmp =>trap
            );
        }
        // Trap stubs: the status (unless a callee's trap is passing) and the operator's wasm
        // offset in `r8d`, the unwind helper's fifth argument.
        for (code, wasm_offset, label) in self.traps.take() {
            asm!(self.ops ; =>label);
            match code {
                Some(code) => {
                    out_of_line.push((self.offset(), OutOfLine::TrapStub(code.clone())));
                    let status = trap_status(&code) as i32;
                    asm!(self.ops ; mov eax, status);
                }
                None => out_of_line.push((self.offset(), OutOfLine::CallTrapStub)),
            }
            asm!(self.ops ; mov r8d, wasm_offset as i32 ; jmp =>trap_exit);
        }
        // The landing pad of faulting heap accesses: it needs only `rdi` (the context), which
        // every heap access leaves intact, and `r8d`, which the fault handler sets.
        let mut oob_landing = None;
        if !self.heap_accesses.is_empty() {
            oob_landing = Some(self.ops.offset().0 as u32);
            out_of_line.push((self.offset(), OutOfLine::OobLanding));
            let status = trap_status(&TrapCode::MemoryOutOfBounds) as i32;
            asm!(self.ops ; mov eax, status ; jmp =>trap_exit);
        }
        // The trap exit: the runtime records this frame for the backtrace (rdi is the context
        // wherever a trap is raised, r8d the wasm offset) and turns the status into a pending
        // trap.
        // The tally is flushed on every way out: here before the unwind helper (which does not
        // keep `rdi`), on the epilogue's own path otherwise.
        // A register entry's caller finds the context and frame pointer kept on this way out
        // too (`call_register_entry`), so they are pushed around the helper then.
        let restore = self.ops.new_dynamic_label();
        out_of_line.push((self.offset(), OutOfLine::TrapExit));
        asm!(self.ops ; =>trap_exit);
        self.flush_tally(false);
        let keep = self.register_entry.is_some();
        // A leaf's entry may save an even number of registers (`saved_registers`): the stack
        // is then 8 bytes off the alignment the helper's call needs.
        let realign = saved.len().is_multiple_of(2);
        if realign {
            asm!(self.ops ; sub rsp, 8);
        }
        if keep {
            asm!(self.ops ; push rdi ; push rsi);
        }
        asm!(self.ops
            ; mov esi, eax
            ; mov edx, func_index
            ; mov ecx, self.tier as i32
            ; call QWORD [rdi + CTX_UNWIND]
        );
        if keep {
            asm!(self.ops ; pop rsi ; pop rdi);
        }
        if realign {
            asm!(self.ops ; add rsp, 8);
        }
        if self.tally.is_some() {
            asm!(self.ops ; jmp =>restore);
        }
        out_of_line.push((self.offset(), OutOfLine::Epilogue));
        asm!(self.ops ; =>epilogue);
        self.flush_tally(false);
        asm!(self.ops ; =>restore);
        for &r in saved.iter().rev() {
            asm!(self.ops ; pop Rq(r));
        }
        asm!(self.ops ; ret);
        // The tail exit: the stack as the entry found it, so the callee's entry returns to this
        // function's caller.
        if self.tail_exit_used {
            out_of_line.push((self.offset(), OutOfLine::TailExit));
            let tail_exit = self.tail_exit;
            asm!(self.ops ; =>tail_exit);
            for &r in saved.iter().rev() {
                asm!(self.ops ; pop Rq(r));
            }
            asm!(self.ops ; jmp rax);
        }
        let table_entries = self.place_jump_tables(&mut out_of_line)?;
        // The entry's first instructions go in front: the body is position-independent, and
        // everything recorded so far moves by their length.
        // With `align_code` used, the body starts at an offset that is a multiple of the
        // alignment it asked for: the padding goes between the adapter and the register entry
        // (never run), or after the entry's first instructions (run once per call).
        let mut entry = VecAssembler::<X64Relocation>::new(0);
        let align = self.body_align as usize;
        let register_entry = self.register_entry.take().map(|(params, result)| {
            register_entry_adapter(&mut entry, &params, result);
            // The register entry 16-byte aligned itself, or wherever puts the body (after the
            // entry's first instructions) at a multiple of `align`.
            let at = entry.offset().0;
            let start = match align {
                1 => at.next_multiple_of(16),
                _ => {
                    let mut enter = VecAssembler::<X64Relocation>::new(0);
                    Self::enter(&mut enter, &saved, heap, tally);
                    let enter_len = enter.offset().0;
                    (at + enter_len).next_multiple_of(align) - enter_len
                }
            };
            entry.extend(std::iter::repeat_n(0xCC, start - at));
            asm!(entry ; register_entry:);
            entry.offset().0 as u32
        });
        Self::enter(&mut entry, &saved, heap, tally);
        let body_pad = entry.offset().0.next_multiple_of(align) - entry.offset().0;
        nops(&mut entry, body_pad);
        let entry = entry.finalize().map_err(|e| AsmError(format!("{e:?}")))?;
        let shift = entry.len() as u32;
        let mut code = Vec::with_capacity(entry.len() + self.ops.offset().0);
        code.extend_from_slice(&entry);
        code.extend(self.ops.drain().map_err(|e| AsmError(format!("{e:?}")))?);
        for (at, offset) in table_entries {
            let at = shift as usize + at;
            code[at..at + JUMP_TABLE_ENTRY].copy_from_slice(&offset.to_le_bytes());
        }
        SPARE_ASSEMBLER.set(Some(std::mem::replace(&mut self.ops, VecAssembler::new(0))));
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
        let direct_calls = std::mem::take(&mut self.direct_calls)
            .into_iter()
            .map(|site| DirectCallSite { start: site.start + shift, end: site.end + shift, ..site })
            .collect();
        Ok(Assembled {
            code,
            heap_accesses,
            heap_access_wasm,
            oob_landing,
            osr_entries,
            code_map,
            sig_sites,
            register_entry,
            direct_calls,
            entry_bytes: shift,
        })
    }
}

/// The function's [`crate::vm::vmctx::FuncEntry`] in front of its register entry (which `finish`
/// binds after the padding it puts here): pins the memory base (saving the caller's `r14`, which
/// the push also aligns the call with), loads the parameters the register convention passes in
/// registers from their slots, calls the register entry (which keeps `rsi`), and stores a
/// register result into slot 0 unless the status is a trap.
fn register_entry_adapter(
    ops: &mut VecAssembler<X64Relocation>,
    params: &[ArgLoc],
    result: ArgLoc,
) {
    asm!(ops
        ; push Rq(HEAP_BASE)
        ; mov Rq(HEAP_BASE), QWORD [rdi + CTX_MEM_BASE]
    );
    for (n, &loc) in params.iter().enumerate() {
        load_argument(ops, loc, n as u32 * SLOT_BYTES);
    }
    asm!(ops
        ; call >register_entry
        ; pop Rq(HEAP_BASE)
        ; test eax, eax
        ; jnz >out
    );
    store_argument(ops, result, 0);
    asm!(ops
        ; out:
        ; ret
    );
}

/// One instruction's bytes as a hand encoder puts them together (at most 15, x86's limit), to
/// append to the code in one copy.
#[derive(Default)]
struct Encoding {
    bytes: [u8; 15],
    len: usize,
}

impl Encoding {
    #[inline(always)]
    fn put(&mut self, b: &[u8]) {
        self.bytes[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Emits an instruction on linear memory `[r14 + index + disp]` (`index` [`NO_INDEX`] for
/// none) with register operand `reg`: `prefix`, a REX prefix (W when `wide`), `opcode`, ModRM,
/// SIB and the shortest displacement. The same instruction `dynasm!` emits for these forms with
/// registers chosen at run time, less its always-32-bit displacement (the tests decode the two
/// and compare), hand-encoded for the reason [`frame_access`] is: every wasm load and store is
/// one.
#[inline]
fn heap_operand_access(
    ops: &mut VecAssembler<X64Relocation>,
    prefix: Option<u8>,
    wide: bool,
    opcode: &[u8],
    reg: u8,
    index: u8,
    disp: i32,
) {
    // REX: 0100 W R X B, B set for `r14`.
    let rex = 0x40 | (wide as u8) << 3 | (reg >> 3 & 1) << 2 | (index >> 3 & 1) << 1 | 1;
    // ModRM: mod (00: no displacement, 01: disp8, 10: disp32), reg, rm 100 (a SIB follows); SIB:
    // scale 1, index, base 110 (`r14`, which needs no displacement, unlike r13). The shortest
    // displacement: most accesses have offset 0 or a small field offset, and 3-4 bytes less per
    // access is what dynasm's disp32 for an offset known only at run time would cost.
    let mut e = Encoding::default();
    if let Some(prefix) = prefix {
        e.put(&[prefix]);
    }
    e.put(&[rex]);
    e.put(opcode);
    let sib = (index & 7) << 3 | 6;
    match i8::try_from(disp) {
        Ok(0) => e.put(&[(reg & 7) << 3 | 0x04, sib]),
        Ok(d8) => e.put(&[0x44 | (reg & 7) << 3, sib, d8 as u8]),
        Err(_) => {
            e.put(&[0x84 | (reg & 7) << 3, sib]);
            e.put(&disp.to_le_bytes());
        }
    }
    ops.extend(e.bytes());
}

/// Appends `bytes`, a length the compiler knows: no call to a general copy.
#[inline(always)]
fn emit<const N: usize>(ops: &mut VecAssembler<X64Relocation>, bytes: [u8; N]) {
    ops.extend(&bytes);
}

/// The opcode of `op r, r/m` (the second operand from memory), for the operations that have
/// one; shifts and rotates count only in `cl`, divisions work in rax/rdx.
fn alu_from_memory(op: IntOp) -> Option<&'static [u8]> {
    match op {
        IntOp::Add => Some(&[0x03]),
        IntOp::Or => Some(&[0x0B]),
        IntOp::And => Some(&[0x23]),
        IntOp::Sub => Some(&[0x2B]),
        IntOp::Xor => Some(&[0x33]),
        IntOp::Mul => Some(&[0x0F, 0xAF]),
        _ => None,
    }
}

/// Emits an instruction on frame slot `[rsi + disp]` with register operand `reg` (or the
/// opcode extension in the ModRM reg field), as [`mem_access`] does: tier 1's most frequent
/// instructions, and where tier 2 spills and reloads (spill slots and the frame's first slots
/// are mostly within 127 bytes of `rsi`).
#[inline]
fn frame_access(
    ops: &mut VecAssembler<X64Relocation>,
    prefix: Option<u8>,
    wide: bool,
    opcode: &[u8],
    reg: u8,
    disp: i32,
    imm: &[u8],
) {
    mem_access(ops, prefix, wide, opcode, reg, FRAME, None, disp, imm);
}

/// Emits `lea dst, [base + index << shift + disp]` (64-bit when `wide`, else the low half,
/// zero-extended) through [`mem_access`]: `dynasm!` took 8 bytes for `lea r9d, [rcx + 1]`, 4
/// do.
#[inline]
fn lea(
    ops: &mut VecAssembler<X64Relocation>,
    wide: bool,
    dst: u8,
    base: u8,
    index: Option<(u8, u8)>,
    disp: i32,
) {
    mem_access(ops, None, wide, &[0x8D], dst, base, index, disp, &[]);
}

/// `dst = QWORD [base + disp]`, through [`mem_access`].
#[inline]
fn load_qword(ops: &mut VecAssembler<X64Relocation>, dst: u8, base: u8, disp: i32) {
    mem_access(ops, None, true, &[0x8B], dst, base, None, disp, &[]);
}

/// `call QWORD [base + disp]` (FF /2), through [`mem_access`].
#[inline]
fn call_qword(ops: &mut VecAssembler<X64Relocation>, base: u8, disp: i32) {
    mem_access(ops, None, false, &[0xFF], 2, base, None, disp, &[]);
}

/// Emits an instruction with a memory operand `[base + index << shift + disp]` and register
/// operand `reg` (or the opcode extension in ModRM's reg field): `prefix` (a mandatory one such
/// as `F2`), a REX prefix only when one of its bits is set (W when `wide`), `opcode`, ModRM, a
/// SIB byte only when an index or a base of `rsp`/`r12` needs one, the shortest displacement
/// (none, 8 or 32 bits; `rbp`/`r13` as a base need at least a zero disp8), then `imm`. Not for
/// byte registers (`sil`, `dil`, ... need a REX prefix with no bit set). `dynasm!` writes the
/// longest form for a register or displacement known only at run time, a REX prefix, a SIB byte
/// and a 32-bit displacement, even for a named constant: up to 5 bytes more per instruction (the
/// tests decode the two and compare).
#[allow(clippy::too_many_arguments)]
#[inline]
fn mem_access(
    ops: &mut VecAssembler<X64Relocation>,
    prefix: Option<u8>,
    wide: bool,
    opcode: &[u8],
    reg: u8,
    base: u8,
    index: Option<(u8, u8)>,
    disp: i32,
    imm: &[u8],
) {
    debug_assert!(index.is_none_or(|(i, shift)| i != NO_INDEX && shift <= 3));
    let mut e = Encoding::default();
    if let Some(prefix) = prefix {
        e.put(&[prefix]);
    }
    let x = index.map_or(0, |(i, _)| i >> 3 & 1);
    let rex = (wide as u8) << 3 | (reg >> 3 & 1) << 2 | x << 1 | (base >> 3 & 1);
    if rex != 0 {
        e.put(&[0x40 | rex]);
    }
    e.put(opcode);
    // rm 100 asks for a SIB byte; rm 101 with mod 00 would mean rip-relative, not rbp/r13.
    let sib = index.is_some() || base & 7 == NO_INDEX;
    let rm = if sib { NO_INDEX } else { base & 7 };
    let reg_field = (reg & 7) << 3;
    let (mode, short) = match i8::try_from(disp) {
        Ok(0) if base & 7 != 5 => (0x00, None),
        Ok(d8) => (0x40, Some(d8)),
        Err(_) => (0x80, None),
    };
    e.put(&[mode | reg_field | rm]);
    if sib {
        let (i, shift) = index.unwrap_or((NO_INDEX, 0));
        e.put(&[shift << 6 | (i & 7) << 3 | (base & 7)]);
    }
    match (mode, short) {
        (0x40, Some(d8)) => e.put(&[d8 as u8]),
        (0x80, _) => e.put(&disp.to_le_bytes()),
        _ => {}
    }
    e.put(imm);
    ops.extend(e.bytes());
}

/// Emits `op reg, imm` for the ALU group 1 (`ext` in ModRM's reg field: 0 `add`, 1 `or`, 4
/// `and`, 5 `sub`, 6 `xor`, 7 `cmp`) at 64 bits when `wide`: the sign-extended 8-bit immediate
/// form (83 /ext ib) when `imm` fits it, else 81 /ext id, and a REX prefix only when a bit of
/// it is set. `dynasm!` writes 81 and a REX prefix for every immediate and register known only
/// at run time: 4 bytes more for the small constants most of these operations have.
#[inline]
fn alu_imm(ops: &mut VecAssembler<X64Relocation>, ext: u8, wide: bool, reg: u8, imm: i32) {
    let mut e = Encoding::default();
    let rex = (wide as u8) << 3 | (reg >> 3 & 1);
    if rex != 0 {
        e.put(&[0x40 | rex]);
    }
    let modrm = 0xC0 | ext << 3 | (reg & 7);
    match i8::try_from(imm) {
        Ok(b) => e.put(&[0x83, modrm, b as u8]),
        Err(_) => {
            e.put(&[0x81, modrm]);
            e.put(&imm.to_le_bytes());
        }
    }
    ops.extend(e.bytes());
}

impl X64Masm {
    /// `div` by a constant divisor with a plan ([`const_div::plan`]): the quotient by multiplying
    /// in `rax`, `rcx` and `rdx` (the dividend read first: it may be in `rcx` or `rdx`,
    /// `lent_scratch`), the remainder as `n - q * d`.
    fn div_by_constant(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, d: i64, plan: Plan) {
        let l = lhs.0;
        let wide = size == Size::S64;
        // The dividend in rcx, extended to 64 bits as the plan reads it.
        match (size, plan) {
            (Size::S32, Plan::Signed { .. } | Plan::SignedPowerOfTwo { .. }) => {
                asm!(self.ops ; movsxd rcx, Rd(l))
            }
            (Size::S32, _) => asm!(self.ops ; mov ecx, Rd(l)),
            (Size::S64, _) if l == 1 => {}
            (Size::S64, _) => asm!(self.ops ; mov rcx, Rq(l)),
        }
        // The quotient in rax.
        match plan {
            Plan::One => asm!(self.ops ; mov rax, rcx),
            Plan::UnsignedPowerOfTwo { shift } => {
                let shift = shift as i8;
                asm!(self.ops ; mov rax, rcx ; shr rax, shift)
            }
            Plan::SignedPowerOfTwo { shift, negative } => {
                // Negative dividends plus |d| - 1, so the arithmetic shift rounds towards zero.
                let (bias_shift, shift) = ((const_div::size_bits(size) - shift) as i8, shift as i8);
                if wide {
                    asm!(self.ops ; mov rax, rcx ; sar rax, 63 ; shr rax, bias_shift
                        ; add rax, rcx ; sar rax, shift);
                    if negative {
                        asm!(self.ops ; neg rax);
                    }
                } else {
                    asm!(self.ops ; mov eax, ecx ; sar eax, 31 ; shr eax, bias_shift
                        ; add eax, ecx ; sar eax, shift);
                    if negative {
                        asm!(self.ops ; neg eax);
                    }
                }
            }
            Plan::Unsigned32 { multiplier } => {
                self.mov(Size::S64, Reg(0), RegImm::Imm(multiplier as i64));
                asm!(self.ops ; mul rcx ; mov rax, rdx);
            }
            Plan::Unsigned64 { multiplier, shift, add } => {
                self.mov(Size::S64, Reg(0), RegImm::Imm(multiplier as i64));
                asm!(self.ops ; mul rcx);
                if add {
                    asm!(self.ops ; mov rax, rcx ; sub rax, rdx ; shr rax, 1 ; add rax, rdx);
                } else {
                    asm!(self.ops ; mov rax, rdx);
                }
                if shift > 0 {
                    let shift = shift as i8;
                    asm!(self.ops ; shr rax, shift);
                }
            }
            Plan::Signed { multiplier, shift, add, negative } if !wide => {
                // The 64-bit product of the sign-extended operands is exact: its high half is the
                // 32-bit multiply-high.
                let (multiplier, shift) = (multiplier as i32, shift as i8);
                asm!(self.ops ; imul rax, rcx, multiplier);
                match (add, negative) {
                    (false, _) => {
                        let shift = 32 + shift;
                        asm!(self.ops ; sar rax, shift);
                    }
                    (true, false) => asm!(self.ops ; sar rax, 32 ; add eax, ecx ; sar eax, shift),
                    (true, true) => asm!(self.ops ; sar rax, 32 ; sub eax, ecx ; sar eax, shift),
                }
                asm!(self.ops ; mov edx, eax ; shr edx, 31 ; add eax, edx);
            }
            Plan::Signed { multiplier, shift, add, negative } => {
                self.mov(Size::S64, Reg(0), RegImm::Imm(multiplier));
                asm!(self.ops ; imul rcx);
                match (add, negative) {
                    (false, _) => {}
                    (true, false) => asm!(self.ops ; add rdx, rcx),
                    (true, true) => asm!(self.ops ; sub rdx, rcx),
                }
                let shift = shift as i8;
                asm!(self.ops ; sar rdx, shift ; mov rax, rdx ; shr rax, 63 ; add rax, rdx);
            }
        }
        if matches!(op, DivOp::DivS | DivOp::DivU) {
            self.mov(size, dst, RegImm::Reg(Reg(0)));
            return;
        }
        // The remainder: n - q * d, in rcx.
        match i32::try_from(d) {
            Ok(d) if wide => asm!(self.ops ; imul rax, rax, d),
            _ if !wide => {
                let d = d as i32;
                asm!(self.ops ; imul eax, eax, d)
            }
            _ => {
                self.mov(Size::S64, Reg(2), RegImm::Imm(d));
                asm!(self.ops ; imul rax, rdx);
            }
        }
        if wide {
            asm!(self.ops ; sub rcx, rax);
        } else {
            asm!(self.ops ; sub ecx, eax);
        }
        self.mov(size, dst, RegImm::Reg(Reg(1)));
    }
}

/// `len` bytes of no-ops, in as few instructions as the recommended multi-byte forms allow.
fn nops(ops: &mut VecAssembler<X64Relocation>, len: usize) {
    ops.extend(nop_bytes(len));
}

/// `len` bytes of the fewest recommended multi-byte NOPs (Intel's optimization manual, 1 to 9
/// bytes each).
fn nop_bytes(mut len: usize) -> impl Iterator<Item = u8> {
    const FORMS: [&[u8]; 9] = [
        &[0x90],
        &[0x66, 0x90],
        &[0x0F, 0x1F, 0x00],
        &[0x0F, 0x1F, 0x40, 0x00],
        &[0x0F, 0x1F, 0x44, 0x00, 0x00],
        &[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
        &[0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
        &[0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    std::iter::from_fn(move || {
        let n = len.min(FORMS.len());
        len -= n;
        (n > 0).then(|| FORMS[n - 1])
    })
    .flatten()
    .copied()
}

/// `masm::link_direct_call` on x86-64: NOPs over the lookup and `call rel32` in its last five
/// bytes, so the return address stays the site's end.
pub(crate) fn link_direct_call(
    code: &mut [u8],
    site: std::ops::Range<usize>,
    target: isize,
) -> Option<()> {
    const CALL_REL32: usize = 5;
    let std::ops::Range { start, end } = site;
    let call = end.checked_sub(CALL_REL32).filter(|&call| call >= start)?;
    if end > code.len() {
        return None;
    }
    let rel = i32::try_from(target.checked_sub_unsigned(end)?).ok()?;
    for (byte, nop) in code[start..call].iter_mut().zip(nop_bytes(call - start)) {
        *byte = nop;
    }
    code[call] = 0xE8;
    code[call + 1..end].copy_from_slice(&rel.to_le_bytes());
    Some(())
}

/// `loc`'s register = the value in the slot at `slot` (nothing for [`ArgLoc::Slot`]): integers
/// at their width, floats with `movss`/`movsd`.
fn load_argument(ops: &mut VecAssembler<X64Relocation>, loc: ArgLoc, slot: u32) {
    match loc {
        ArgLoc::Int(r, size) => {
            frame_access(ops, None, size == Size::S64, &[0x8B], r.0, slot as i32, &[])
        }
        ArgLoc::Float(r, size) => {
            let prefix = if size == Size::S32 { 0xF3 } else { 0xF2 };
            frame_access(ops, Some(prefix), false, &[0x0F, 0x10], r.0, slot as i32, &[])
        }
        ArgLoc::Slot => {}
    }
}

/// The slot at `slot` = `loc`'s register (nothing for [`ArgLoc::Slot`]): integers whole, as
/// tier 1 and tier 2's slot stores write them, floats at their width.
fn store_argument(ops: &mut VecAssembler<X64Relocation>, loc: ArgLoc, slot: u32) {
    match loc {
        ArgLoc::Int(r, _) => frame_access(ops, None, true, &[0x89], r.0, slot as i32, &[]),
        ArgLoc::Float(r, size) => {
            let prefix = if size == Size::S32 { 0xF3 } else { 0xF2 };
            frame_access(ops, Some(prefix), false, &[0x0F, 0x11], r.0, slot as i32, &[])
        }
        ArgLoc::Slot => {}
    }
}

#[cfg(test)]
mod lent_scratch_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Formatter, GasFormatter};

    #[test]
    fn heap_accesses_encode_as_dynasm_does() {
        let loads = [
            LoadKind::I32,
            LoadKind::I64,
            LoadKind::I32_8S,
            LoadKind::I32_8U,
            LoadKind::I32_16S,
            LoadKind::I32_16U,
            LoadKind::I64_8S,
            LoadKind::I64_8U,
            LoadKind::I64_16S,
            LoadKind::I64_16U,
            LoadKind::I64_32S,
            LoadKind::I64_32U,
        ];
        let stores = [StoreKind::B8, StoreKind::B16, StoreKind::B32, StoreKind::B64];
        for r in 0..16u8 {
            for index in (0..16u8).map(Some).chain([None]) {
                for offset in [0u32, 0x7f, 0x11e064, 0x7fff_ffff] {
                    let mut masm = X64Masm::new(HeapBounds::GuardPages);
                    let mut expected = VecAssembler::<X64Relocation>::new(0);
                    let (i, d) = (index.unwrap_or(NO_INDEX), offset as i32);
                    for kind in loads {
                        masm.load_heap(kind, Reg(r), index.map(Reg), offset);
                        match kind {
                            LoadKind::I32 => asm!(expected ; mov Rd(r), DWORD [r14 + Rq(i) + d]),
                            LoadKind::I64 => asm!(expected ; mov Rq(r), QWORD [r14 + Rq(i) + d]),
                            LoadKind::I32_8S => {
                                asm!(expected ; movsx Rd(r), BYTE [r14 + Rq(i) + d])
                            }
                            LoadKind::I32_8U => {
                                asm!(expected ; movzx Rd(r), BYTE [r14 + Rq(i) + d])
                            }
                            LoadKind::I32_16S => {
                                asm!(expected ; movsx Rd(r), WORD [r14 + Rq(i) + d])
                            }
                            LoadKind::I32_16U => {
                                asm!(expected ; movzx Rd(r), WORD [r14 + Rq(i) + d])
                            }
                            LoadKind::I64_8S => {
                                asm!(expected ; movsx Rq(r), BYTE [r14 + Rq(i) + d])
                            }
                            LoadKind::I64_8U => {
                                asm!(expected ; movzx Rd(r), BYTE [r14 + Rq(i) + d])
                            }
                            LoadKind::I64_16S => {
                                asm!(expected ; movsx Rq(r), WORD [r14 + Rq(i) + d])
                            }
                            LoadKind::I64_16U => {
                                asm!(expected ; movzx Rd(r), WORD [r14 + Rq(i) + d])
                            }
                            LoadKind::I64_32S => {
                                asm!(expected ; movsxd Rq(r), DWORD [r14 + Rq(i) + d])
                            }
                            LoadKind::I64_32U => {
                                asm!(expected ; mov Rd(r), DWORD [r14 + Rq(i) + d])
                            }
                        }
                    }
                    for kind in stores {
                        masm.store_heap(kind, Reg(r), index.map(Reg), offset);
                        match kind {
                            StoreKind::B8 => asm!(expected ; mov BYTE [r14 + Rq(i) + d], Rb(r)),
                            StoreKind::B16 => asm!(expected ; mov WORD [r14 + Rq(i) + d], Rw(r)),
                            StoreKind::B32 => asm!(expected ; mov DWORD [r14 + Rq(i) + d], Rd(r)),
                            StoreKind::B64 => asm!(expected ; mov QWORD [r14 + Rq(i) + d], Rq(r)),
                        }
                    }
                    let got = masm.ops.take().unwrap();
                    let want = expected.take().unwrap();
                    let what = format!("r{r}, index {index:?}, offset {offset:#x}");
                    let gas = |code: &[u8]| format_code(code, |_| String::new());
                    assert_eq!(gas(&got), gas(&want), "{what}");
                    // dynasm's displacement is 32 bits; ours 0 or 8 bits where they suffice.
                    let saved = match offset {
                        0 => 4,
                        0x7f => 3,
                        _ => 0,
                    };
                    let accesses = loads.len() + stores.len();
                    assert_eq!(got.len() + saved * accesses, want.len(), "{what}");
                }
            }
        }
    }

    #[test]
    fn alu_immediates_decode_as_dynasm_encodes_them_in_fewer_bytes() {
        let gas = |code: &[u8]| format_code(code, |_| String::new());
        for r in 0..16u8 {
            for imm in [0i64, 1, -1, 127, 128, -128, -129, 0x1234_5678, i32::MIN as i64] {
                for size in [Size::S32, Size::S64] {
                    let mut masm = X64Masm::new(HeapBounds::GuardPages);
                    let mut expected = VecAssembler::<X64Relocation>::new(0);
                    let v = imm as i32;
                    for op in [IntOp::Add, IntOp::Sub, IntOp::And, IntOp::Or, IntOp::Xor] {
                        assert!(masm.int_op_in_place(op, size, Reg(r), RegImm::Imm(imm)));
                    }
                    masm.cmp(size, Reg(r), RegImm::Imm(imm));
                    match size {
                        Size::S32 => asm!(expected
                            ; add Rd(r), v ; sub Rd(r), v ; and Rd(r), v ; or Rd(r), v
                            ; xor Rd(r), v ; cmp Rd(r), v
                        ),
                        Size::S64 => asm!(expected
                            ; add Rq(r), v ; sub Rq(r), v ; and Rq(r), v ; or Rq(r), v
                            ; xor Rq(r), v ; cmp Rq(r), v
                        ),
                    }
                    let (got, want) = (masm.ops.take().unwrap(), expected.take().unwrap());
                    let what = format!("r{r}, {imm:#x}, {size:?}");
                    assert_eq!(gas(&got), gas(&want), "{what}");
                    // Three bytes less per operation with an 8-bit immediate, one less without
                    // a REX prefix.
                    let short = i8::try_from(imm).is_ok() as usize * 3;
                    let no_rex = (r < 8 && size == Size::S32) as usize;
                    assert_eq!(got.len() + 6 * (short + no_rex), want.len(), "{what}");
                }
            }
        }
    }

    #[test]
    fn memory_operands_decode_as_dynasm_encodes_them_in_fewer_bytes() {
        let gas = |code: &[u8]| format_code(code, |_| String::new());
        for d in [0u8, 1, 8, 9] {
            // Every base, among them rsp and r12 (a SIB byte) and rbp and r13 (a displacement).
            for b in 0..16u8 {
                for disp in [0i32, 1, -128, 127, 128, -0x1234_5678] {
                    let mut got = VecAssembler::<X64Relocation>::new(0);
                    let mut want = VecAssembler::<X64Relocation>::new(0);
                    lea(&mut got, false, d, b, None, disp);
                    lea(&mut got, true, d, b, None, disp);
                    load_qword(&mut got, d, b, disp);
                    call_qword(&mut got, b, disp);
                    asm!(want
                        ; lea Rd(d), [Rq(b) + disp] ; lea Rq(d), [Rq(b) + disp]
                        ; mov Rq(d), QWORD [Rq(b) + disp] ; call QWORD [Rq(b) + disp]
                    );
                    for i in [0u8, 5, 12, 13, 15] {
                        for shift in 0..4u8 {
                            lea(&mut got, shift % 2 == 1, d, b, Some((i, shift)), disp);
                            match (shift, shift % 2 == 1) {
                                (0, _) => asm!(want ; lea Rd(d), [Rq(b) + Rq(i) + disp]),
                                (1, _) => asm!(want ; lea Rq(d), [Rq(b) + Rq(i) * 2 + disp]),
                                (2, _) => asm!(want ; lea Rd(d), [Rq(b) + Rq(i) * 4 + disp]),
                                _ => asm!(want ; lea Rq(d), [Rq(b) + Rq(i) * 8 + disp]),
                            }
                        }
                    }
                    let (got, want) = (got.take().unwrap(), want.take().unwrap());
                    let what = format!("r{d}, base r{b}, disp {disp:#x}");
                    assert_eq!(gas(&got), gas(&want), "{what}");
                    assert!(got.len() <= want.len(), "{what}: longer than dynasm's");
                }
            }
        }
    }

    #[test]
    fn frame_slot_and_register_moves_decode_as_dynasm_encodes_them() {
        for r in 0..16u8 {
            for slot in [0u32, 8, 0x7f, 0x80, 0x1234, 0x7fff_fff0] {
                let s = slot as i32;
                for size in [Size::S32, Size::S64] {
                    let mut masm = X64Masm::new(HeapBounds::GuardPages);
                    let mut expected = VecAssembler::<X64Relocation>::new(0);
                    masm.load_slot(size, Reg(r), slot);
                    masm.store_slot(size, Reg(r), slot);
                    masm.load_slot_float(size, FReg(r), slot);
                    masm.store_slot_float(size, FReg(r), slot);
                    match size {
                        Size::S32 => asm!(expected
                            ; mov Rd(r), DWORD [rsi + s]
                            ; mov DWORD [rsi + s], Rd(r)
                            ; movss Rx(r), DWORD [rsi + s]
                            ; movss DWORD [rsi + s], Rx(r)
                        ),
                        Size::S64 => asm!(expected
                            ; mov Rq(r), QWORD [rsi + s]
                            ; mov QWORD [rsi + s], Rq(r)
                            ; movsd Rx(r), QWORD [rsi + s]
                            ; movsd QWORD [rsi + s], Rx(r)
                        ),
                    }
                    for imm in [0i64, -1, i32::MAX as i64] {
                        masm.store_slot_imm(Size::S64, imm, slot);
                        let v = imm as i32;
                        asm!(expected ; mov QWORD [rsi + s], v);
                    }
                    for other in 0..16u8 {
                        masm.mov(size, Reg(r), RegImm::Reg(Reg(other)));
                        match size {
                            Size::S32 => asm!(expected ; mov Rd(r), Rd(other)),
                            Size::S64 => asm!(expected ; mov Rq(r), Rq(other)),
                        }
                    }
                    for imm in [0i64, -1, 0x1234_5678, i64::MIN + 5] {
                        masm.mov(size, Reg(r), RegImm::Imm(imm));
                        // A 64-bit constant takes the shortest form that gives its value.
                        match size {
                            Size::S32 => asm!(expected ; mov Rd(r), imm as i32),
                            Size::S64 if u32::try_from(imm).is_ok() => {
                                asm!(expected ; mov Rd(r), imm as i32)
                            }
                            Size::S64 if i32::try_from(imm).is_ok() => {
                                asm!(expected ; mov Rq(r), imm as i32)
                            }
                            Size::S64 => asm!(expected ; mov Rq(r), QWORD imm),
                        }
                    }
                    let (got, want) = (masm.ops.take().unwrap(), expected.take().unwrap());
                    let what = format!("r{r}, slot {slot:#x}, {size:?}");
                    let gas = |code: &[u8]| format_code(code, |_| String::new());
                    assert_eq!(gas(&got), gas(&want), "{what}");
                    assert!(got.len() <= want.len(), "{what}: longer than dynasm's");
                }
            }
        }
    }

    /// The code `emit` assembles, one instruction per line in AT&T syntax.
    fn disassemble(emit: impl FnOnce(&mut X64Masm)) -> String {
        disassemble_with(HeapBounds::GuardPages, emit).0
    }

    /// The code `emit` assembles with `bounds`, one instruction per line, and what `finish`
    /// reported.
    fn disassemble_with(
        bounds: HeapBounds,
        emit: impl FnOnce(&mut X64Masm),
    ) -> (String, Assembled) {
        let mut masm = X64Masm::new(bounds);
        emit(&mut masm);
        masm.registers_used(&[]);
        let mut assembled = masm.finish().unwrap();
        // The entry's register saves go: offsets in body terms, as the code emitted them.
        let shift = assembled.entry_bytes;
        assembled.code.drain(..shift as usize);
        assembled.heap_accesses.iter_mut().for_each(|at| *at -= shift);
        assembled.oob_landing = assembled.oob_landing.map(|at| at - shift);
        (format_code(&assembled.code, |_| String::new()), assembled)
    }

    /// One instruction per line, each prefixed with `prefix(offset)`.
    fn format_code(code: &[u8], prefix: impl Fn(u32) -> String) -> String {
        let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
        let mut formatter = GasFormatter::new();
        let mut out = String::new();
        for instruction in &mut decoder {
            let mut line = String::new();
            formatter.format(&instruction, &mut line);
            out.push_str(&prefix(instruction.ip() as u32));
            out.push_str(line.trim());
            out.push('\n');
        }
        out
    }

    #[test]
    fn an_add_scaled_is_one_lea_whatever_its_registers() {
        const Q: [&str; 16] = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15",
        ];
        const D: [&str; 16] = [
            "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d",
            "r12d", "r13d", "r14d", "r15d",
        ];
        let regs = || (0..16u8).filter(|&r| r != 4);
        for (base, index) in regs().flat_map(|b| regs().map(move |i| (b, i))) {
            let dst = (0..3u8).find(|r| ![base, index].contains(r)).unwrap();
            for shift in 0..4u8 {
                for disp in [0i32, 0x7f, -0x440, 0x12345] {
                    for (size, names) in [(Size::S32, D), (Size::S64, Q)] {
                        let mut masm = X64Masm::new(HeapBounds::GuardPages);
                        masm.add_scaled(size, Reg(dst), Reg(base), Some((Reg(index), shift)), disp);
                        let got = format_code(&masm.ops.take().unwrap(), |_| String::new());
                        let disp = match disp {
                            0 => String::new(),
                            d if d < 0 => format!("-0x{:X}", -d),
                            d => format!("0x{d:X}"),
                        };
                        let scale =
                            if shift == 0 { String::new() } else { format!(",{}", 1 << shift) };
                        let (b, i, d) = (Q[base as usize], Q[index as usize], names[dst as usize]);
                        assert_eq!(got, format!("lea {disp}(%{b},%{i}{scale}),%{d}\n"));
                    }
                }
            }
        }
    }

    #[test]
    fn an_add_with_an_immediate_is_one_instruction_in_place() {
        let code = disassemble(|m| {
            m.int_op(IntOp::Add, Size::S32, Reg(8), Reg(8), RegImm::Imm(3));
            m.ret();
        });
        let expected = "add $3,%r8d\nxor %eax,%eax\njmp 0x000000000000001D\n\
                        mov %eax,%esi\nmov $0xFFFFFFFF,%edx\nmov $1,%ecx\ncallq *0x30(%rdi)\n\
                        pop %rbx\nret\n";
        assert_eq!(code, expected);
    }

    #[test]
    fn the_prologue_checks_both_stacks_then_writes_the_frame_image() {
        let image = [0u128, 7, (1u128 << 64) | 0x1234_5678_9abc];
        let frame = FrameSetup {
            func_index: 3,
            frame_bytes: 96,
            init_offset: 16,
            init: &image,
            calls: true,
        };
        let code = disassemble(|m| m.prologue(&frame));
        let lines: Vec<&str> = code.lines().collect();
        let body = &lines[..lines.iter().position(|l| l.starts_with("mov $5,%eax")).unwrap()];
        let expected = [
            "lea 0x60(%rsi),%rax",
            "cmp 0x38(%rdi),%rax",
            "ja 0x0000000000000060",
            "cmp 0x40(%rdi),%rsp",
            "jb 0x0000000000000060",
            "xorps %xmm0,%xmm0",
            "movups %xmm0,0x10(%rsi)",
            "movups %xmm0,0x20(%rsi)",
            "movq $7,0x20(%rsi)",
            "movups %xmm0,0x30(%rsi)",
            "movabs $0x123456789ABC,%rax",
            "mov %rax,0x30(%rsi)",
            "movq $1,0x38(%rsi)",
        ];
        assert_eq!(body, expected, "{code}");
        assert!(code.contains("mov $3,%edx"), "the trap exit names the function: {code}");
    }

    #[test]
    fn a_leaf_checks_its_stacks_only_when_its_frame_outgrows_the_spare_past_the_end() {
        use crate::vm::stack::LEAF_FRAME_BYTES;
        let checks = |frame_bytes: usize, calls: bool| {
            let frame_bytes = frame_bytes as u32;
            let frame = FrameSetup { func_index: 0, frame_bytes, init_offset: 0, init: &[], calls };
            disassemble(|m| m.prologue(&frame)).contains("cmp 0x40(%rdi),%rsp")
        };
        assert!(!checks(64, false), "a small leaf");
        assert!(!checks(LEAF_FRAME_BYTES, false), "a leaf filling the spare");
        assert!(checks(LEAF_FRAME_BYTES + 16, false), "a leaf with a bigger frame");
        assert!(checks(64, true), "a function that calls");
    }

    #[test]
    fn a_leaf_saves_no_register_for_alignment_and_its_trap_exit_aligns_the_call() {
        // `disassemble` leaves out the entry's saves; `entry_bytes` counts them.
        let assemble = |calls: bool| {
            let mut masm = X64Masm::new(HeapBounds::GuardPages);
            let frame =
                FrameSetup { func_index: 0, frame_bytes: 32, init_offset: 0, init: &[], calls };
            masm.prologue(&frame);
            masm.int_op(IntOp::Add, Size::S32, Reg(8), Reg(8), RegImm::Imm(1));
            let trap = masm.trap_label(TrapCode::Unreachable);
            masm.jump(trap);
            masm.ret();
            masm.registers_used(&[Reg(8)]);
            let assembled = masm.finish().unwrap();
            (assembled.entry_bytes, format_code(&assembled.code, |_| String::new()))
        };
        let unwind = format!("callq *{CTX_UNWIND:#X}(%rdi)");
        let (entry_bytes, code) = assemble(false);
        assert_eq!(entry_bytes, 0, "nothing saved: {code}");
        let exit: Vec<&str> = code.lines().skip_while(|l| !l.starts_with("sub $8,%rsp")).collect();
        assert!(exit.len() > 5 && exit[4] == unwind && exit[5] == "add $8,%rsp", "{code}");
        let (entry_bytes, code) = assemble(true);
        assert!(entry_bytes > 0 && code.starts_with("push %rbx\n"), "aligns calls: {code}");
        assert!(code.contains(&unwind) && !code.contains("sub $8,%rsp"), "{code}");
    }

    /// The code `emit` assembles with guard pages, heap accesses marked `heap:` and the landing
    /// pad `landing:`.
    fn disassemble_heap(emit: impl FnOnce(&mut X64Masm)) -> (String, Assembled) {
        let (_, assembled) = disassemble_with(HeapBounds::GuardPages, emit);
        let code = format_code(&assembled.code, |offset| {
            if assembled.heap_accesses.contains(&offset) {
                "heap: ".into()
            } else if assembled.oob_landing == Some(offset) {
                "landing: ".into()
            } else {
                String::new()
            }
        });
        (code, assembled)
    }

    #[test]
    fn heap_loads_compute_the_address_without_a_check_and_record_the_access() {
        let (code, _) = disassemble_heap(|m| m.load_heap(LoadKind::I32, Reg(9), Some(Reg(8)), 16));
        let lines: Vec<&str> = code.lines().collect();
        let expected = ["heap: mov 0x10(%r14,%r8),%r9d", "landing: mov $4,%eax"];
        assert_eq!(lines[..2], expected, "{code}");
        assert!(!code.contains("cmp") && !code.contains("ja "), "no bounds check: {code}");
    }

    #[test]
    fn constant_addresses_are_a_displacement_from_the_memory_base_alone() {
        let (code, assembled) = disassemble_heap(|m| {
            m.load_heap(LoadKind::I32, Reg(9), None, 1024);
            m.store_heap(StoreKind::B8, Reg(9), None, 0);
            m.load_heap(LoadKind::I64, Reg(9), None, u32::MAX);
        });
        let lines: Vec<&str> = code.lines().collect();
        let expected = [
            "heap: mov 0x400(%r14),%r9d",
            "heap: mov %r9b,(%r14)",
            "mov $0xFFFFFFFF,%eax",
            "heap: mov (%r14,%rax),%r9",
        ];
        assert_eq!(lines[..expected.len()], expected, "{code}");
        assert_eq!(assembled.heap_accesses.len(), 3);
    }

    #[test]
    fn offsets_beyond_a_disp32_are_added_in_a_register() {
        let (code, _) = disassemble_heap(|m| {
            m.store_heap(StoreKind::B64, Reg(9), Some(Reg(8)), i32::MAX as u32);
            m.load_heap(LoadKind::I64, Reg(9), Some(Reg(8)), 1 << 31);
            m.load_heap(LoadKind::I32_8U, Reg(9), Some(Reg(8)), u32::MAX);
        });
        let lines: Vec<&str> = code.lines().collect();
        let expected = [
            "heap: mov %r9,0x7FFFFFFF(%r14,%r8)",
            "mov %r8d,%eax",
            "mov $0x80000000,%edx",
            "add %rdx,%rax",
            "heap: mov (%r14,%rax),%r9",
            "mov %r8d,%eax",
            "mov $0xFFFFFFFF,%edx",
            "add %rdx,%rax",
            "heap: movzbl (%r14,%rax),%r9d",
        ];
        assert_eq!(lines[..expected.len()], expected, "{code}");
    }

    #[test]
    fn every_load_and_store_kind_records_exactly_its_access_instruction() {
        use iced_x86::Register;
        let loads = [
            LoadKind::I32,
            LoadKind::I64,
            LoadKind::I32_8S,
            LoadKind::I32_8U,
            LoadKind::I32_16S,
            LoadKind::I32_16U,
            LoadKind::I64_8S,
            LoadKind::I64_8U,
            LoadKind::I64_16S,
            LoadKind::I64_16U,
            LoadKind::I64_32S,
            LoadKind::I64_32U,
        ];
        let stores = [StoreKind::B8, StoreKind::B16, StoreKind::B32, StoreKind::B64];
        let (code, assembled) = disassemble_heap(|m| {
            for (i, kind) in loads.iter().enumerate() {
                m.load_heap(*kind, Reg(9), Some(Reg(8)), [0, 5, 1 << 31][i % 3]);
            }
            for (i, kind) in stores.iter().enumerate() {
                m.store_heap(*kind, Reg(9), Some(Reg(8)), [u32::MAX, 0][i % 2]);
            }
        });
        assert_eq!(assembled.heap_accesses.len(), loads.len() + stores.len(), "{code}");
        let mut decoder = Decoder::new(64, &assembled.code, DecoderOptions::NONE);
        let mut accesses = Vec::new();
        for instruction in &mut decoder {
            if instruction.memory_base() == Register::R14 {
                accesses.push(instruction.ip() as u32);
            }
        }
        assert_eq!(accesses, assembled.heap_accesses, "{code}");
        assert!(assembled.oob_landing.is_some());
    }

    #[test]
    fn explicit_bounds_checks_compare_against_the_context() {
        let (code, assembled) = disassemble_with(HeapBounds::Explicit, |m| {
            m.load_heap(LoadKind::I32, Reg(9), Some(Reg(8)), 16)
        });
        let lines: Vec<&str> = code.lines().collect();
        assert_eq!(lines[0], "mov %r8d,%eax", "the address is zero-extended");
        assert!(lines.iter().any(|l| l.starts_with("cmp 8(%rdi),%rcx")), "{code}");
        assert!(lines.iter().any(|l| l.starts_with("ja ")), "{code}");
        assert!(lines.contains(&"mov (%r14,%rax),%r9d"), "{code}");
        assert!(lines.contains(&"mov $4,%eax"), "the out-of-bounds stub: {code}");
        assert!(assembled.heap_accesses.is_empty(), "nothing relies on the fault handler");
    }

    /// Linking a direct call site fills it with NOPs and ends it with `call rel32` (the return
    /// address unchanged), reaching backwards, forwards or outside the bytes; a site too short
    /// for the call or a target out of rel32 reach is left as it was.
    #[test]
    fn linking_a_direct_call_keeps_the_return_address_and_refuses_what_it_cannot_reach() {
        let site_bytes = [0xAAu8; 21];
        let mut code = vec![0xCCu8; 64];
        code[16..37].copy_from_slice(&site_bytes);
        let decoded = |code: &[u8]| {
            let lines = format_code(&code[16..37], |_| String::new());
            lines.lines().map(str::to_string).collect::<Vec<_>>()
        };
        // Backwards to offset 4: rel32 = 4 - 37.
        assert!(link_direct_call(&mut code, 16..37, 4).is_some());
        let lines = decoded(&code);
        assert!(lines[..lines.len() - 1].iter().all(|l| l.starts_with("nop")), "{lines:?}");
        assert_eq!(code[32], 0xE8);
        assert_eq!(i32::from_le_bytes(code[33..37].try_into().unwrap()), 4 - 37);
        assert_eq!(&code[..16], &[0xCC; 16], "nothing before the site");
        assert_eq!(&code[37..], &[0xCC; 27], "nothing after it");
        // Outside the bytes, either way, within reach.
        assert!(link_direct_call(&mut code, 16..37, -(1 << 20)).is_some());
        assert_eq!(i32::from_le_bytes(code[33..37].try_into().unwrap()), -(1 << 20) - 37);
        // Out of reach, and too short: untouched.
        let before = code.clone();
        assert!(link_direct_call(&mut code, 16..37, i32::MAX as isize + 100).is_none());
        assert!(link_direct_call(&mut code, 16..20, 4).is_none());
        assert!(link_direct_call(&mut code, 60..70, 4).is_none(), "past the end");
        assert_eq!(code, before);
    }

    // Runs the x64 code it assembles.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_fault_in_jit_code_that_is_no_heap_access_aborts_with_a_message() {
        let output = crate::vm::signals::in_child_process(
            "isa::x64::tests::a_fault_in_jit_code_that_is_no_heap_access_aborts_with_a_message",
            || {
                assert!(crate::vm::signals::install());
                let mut m = X64Masm::new(HeapBounds::GuardPages);
                // The debug fault: a load from address 16 that is not a recorded heap access
                // (the function has a recorded one, and so a landing pad, after it).
                asm!(m.ops ; mov eax, 16 ; mov eax, DWORD [rax]);
                m.load_heap(LoadKind::I32, Reg(8), Some(Reg(8)), 0);
                m.ret();
                let assembled = m.finish().unwrap();
                let func = crate::code::CompiledFunc::new(crate::code::CompiledParts {
                    code: assembled.code,
                    tier: Tier::Baseline,
                    func_index: 42,
                    heap_accesses: assembled.heap_accesses,
                    heap_access_wasm: assembled.heap_access_wasm,
                    oob_landing: assembled.oob_landing,
                    osr_entries: assembled.osr_entries,
                    register_entry: None,
                    compile_time: Default::default(),
                    stats: Vec::new(),
                    wasm_offsets: Vec::new(),
                    sig_sites: Vec::new(),
                    direct_calls: Vec::new(),
                    loaded: false,
                })
                .unwrap();
                // The entry pins the memory base from the context: a zeroed stand-in.
                let mut ctx = [0u64; 32];
                // SAFETY: the entry reads the stand-in context's first word, then the code faults
                // on the debug load, before it reads anything else.
                unsafe { func.entry()(ctx.as_mut_ptr().cast(), std::ptr::null_mut(), 0) };
            },
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.lines().find(|l| l.starts_with("tierup: fatal:")).unwrap_or_default();
        assert!(
            message.starts_with("tierup: fatal: unexpected SIGSEGV in JIT code at pc 0x"),
            "{stderr}"
        );
        assert!(
            message.ends_with(", function 42, fault address 0x10: this is a tierup bug"),
            "{stderr}"
        );
        let signal = std::os::unix::process::ExitStatusExt::signal(&output.status);
        assert_eq!(signal, Some(libc::SIGABRT), "{stderr}");
    }

    /// The code `emit` assembles, without the shared epilogue.
    fn body(emit: impl FnOnce(&mut X64Masm)) -> String {
        let code = disassemble(emit);
        let end = code.find("mov %eax,%esi\n").expect("the trap exit");
        code[..end].to_string()
    }

    #[test]
    fn float_min_handles_nan_and_signed_zeros_before_minss() {
        let code = body(|m| m.float_op(FloatOp::Min, Size::S32, FReg(2), FReg(2), FReg(3)));
        let expected = "movaps %xmm2,%xmm0\nucomiss %xmm3,%xmm0\n\
                        jp 0x0000000000000027\nje 0x000000000000001E\n\
                        minss %xmm3,%xmm0\njmp 0x000000000000002C\n\
                        orps %xmm3,%xmm0\njmp 0x000000000000002C\n\
                        addss %xmm3,%xmm0\nmovaps %xmm0,%xmm2\n";
        assert_eq!(code, expected);
    }

    #[test]
    fn float_arithmetic_uses_the_two_operand_form_in_place() {
        let code = body(|m| m.float_op(FloatOp::Add, Size::S64, FReg(2), FReg(2), FReg(3)));
        assert_eq!(code, "addsd %xmm3,%xmm2\n");
        let code = body(|m| m.float_op(FloatOp::Sub, Size::S32, FReg(4), FReg(2), FReg(4)));
        assert_eq!(code, "movaps %xmm2,%xmm0\nsubss %xmm4,%xmm0\nmovaps %xmm0,%xmm4\n");
    }

    #[test]
    fn float_equality_is_false_on_unordered() {
        let code = body(|m| m.float_compare(FloatCmp::Eq, Size::S64, Reg(8), FReg(2), FReg(3)));
        let expected = "xor %edx,%edx\nxor %ecx,%ecx\nucomisd %xmm3,%xmm2\n\
                        sete %dl\nsetnp %cl\nand %ecx,%edx\nmov %edx,%r8d\n";
        assert_eq!(code, expected);
        // `lt` swaps the operands so that `seta` (false on unordered) decides.
        let code = body(|m| m.float_compare(FloatCmp::Lt, Size::S64, Reg(8), FReg(2), FReg(3)));
        assert!(code.contains("ucomisd %xmm2,%xmm3\nseta %dl\n"), "{code}");
    }

    #[test]
    fn u64_to_float_halves_values_with_the_top_bit_set() {
        let op = ConvertOp::Convert { signed: false, int: Size::S64, float: Size::S64 };
        let code = body(|m| m.int_to_float(op, FReg(2), Reg(8)));
        let expected = "mov %r8,%rax\nxorps %xmm2,%xmm2\ntest %rax,%rax\n\
                        js 0x000000000000001A\ncvtsi2sd %rax,%xmm2\njmp 0x0000000000000031\n\
                        mov %rax,%rcx\nshr $1,%rcx\nand $1,%eax\nor %rcx,%rax\n\
                        cvtsi2sd %rax,%xmm2\naddsd %xmm2,%xmm2\n";
        assert_eq!(code, expected);
    }

    #[test]
    fn trapping_truncation_checks_nan_then_the_exact_bounds() {
        let op =
            ConvertOp::Trunc { signed: true, saturating: false, int: Size::S32, float: Size::S32 };
        let code = disassemble(|m| m.float_to_int(op, Reg(8), FReg(2)));
        let lines: Vec<&str> = code.lines().collect();
        assert_eq!(lines[..2], ["ucomiss %xmm2,%xmm2", "jp 0x0000000000000048"], "{code}");
        // -2147483904.0f32 and 2^31: the exclusive bounds.
        assert!(code.contains("mov $0xCF000001,%eax\nmovd %eax,%xmm0\nucomiss %xmm0,%xmm2\njbe "));
        assert!(code.contains("mov $0x4F000000,%eax\nmovd %eax,%xmm0\nucomiss %xmm0,%xmm2\njae "));
        assert!(code.contains("cvttss2si %xmm2,%rax\nmov %eax,%r8d\n"), "{code}");
        // The stubs: integer overflow (3), then invalid conversion (7).
        assert!(code.contains("mov $3,%eax\n") && code.contains("mov $7,%eax\n"), "{code}");
    }

    #[test]
    fn roundings_use_sse41_immediates() {
        let code = body(|m| m.float_unary(FloatUnaryOp::Nearest, Size::S64, FReg(2), FReg(2)));
        assert_eq!(code, "roundsd $8,%xmm2,%xmm2\n");
        let code = body(|m| m.float_unary(FloatUnaryOp::Floor, Size::S32, FReg(4), FReg(5)));
        assert_eq!(code, "roundss $9,%xmm5,%xmm4\n");
    }

    /// A constant divisor is a multiplication (`isa::const_div`): `% 1000` as Lemire's
    /// multiply-high and `n - q * d`, `/ -7` as the signed multiply-high with its shift and
    /// rounding towards zero; no check, no divide instruction.
    #[test]
    fn division_by_a_constant_multiplies() {
        let code = body(|m| {
            m.div(DivOp::RemU, Size::S32, Reg(9), Reg(8), RegImm::Imm(1000));
            m.div(DivOp::DivS, Size::S64, Reg(9), Reg(8), RegImm::Imm(-7));
        });
        let expected = "mov %r8d,%ecx\nmovabs $0x4189374BC6A7F0,%rax\nmul %rcx\nmov %rdx,%rax\n\
                        imul $0x3E8,%eax\nsub %eax,%ecx\nmov %ecx,%r9d\n\
                        mov %r8,%rcx\nmovabs $0xB6DB6DB6DB6DB6DB,%rax\nimul %rcx\nsar $1,%rdx\n\
                        mov %rdx,%rax\nshr $0x3F,%rax\nadd %rdx,%rax\nmov %rax,%r9\n";
        assert_eq!(code, expected);
    }

    /// The divisors without a multiplication keep the divide instruction and only the check they
    /// can fail: 0 always traps, -1 checks for `MIN / -1`.
    #[test]
    fn division_by_zero_or_minus_one_checks_only_what_it_can_fail() {
        let code = body(|m| {
            m.div(DivOp::DivU, Size::S32, Reg(9), Reg(8), RegImm::Imm(0));
            m.div(DivOp::DivS, Size::S64, Reg(9), Reg(8), RegImm::Imm(-1));
        });
        assert!(code.contains("test %ecx,%ecx\n"), "{code}");
        assert!(code.contains("cmp $0xFFFFFFFFFFFFFFFF,%rcx\n"), "{code}");
        assert_eq!(code.matches("div").count(), 2, "{code}");
    }

    #[test]
    fn comparisons_and_extensions_write_their_destination_directly() {
        let code = body(|m| {
            m.compare(Cond::LtU, Size::S32, Reg(9), Reg(8), RegImm::Imm(2));
            // The destination is an operand: through `eax`.
            m.compare(Cond::Eq, Size::S64, Reg(8), Reg(8), RegImm::Reg(Reg(9)));
            m.unary(UnaryOp::Extend8S, Size::S32, Reg(9), Reg(8));
            m.unary(UnaryOp::Extend32U, Size::S64, Reg(9), Reg(9));
            m.unary(UnaryOp::Eqz, Size::S32, Reg(9), Reg(8));
            m.unary(UnaryOp::Eqz, Size::S64, Reg(8), Reg(8));
        });
        let expected = "xor %r9d,%r9d\ncmp $2,%r8d\nsetb %r9b\n\
                        xor %eax,%eax\ncmp %r9,%r8\nsete %al\nmov %eax,%r8d\n\
                        movsbl %r8b,%r9d\nmov %r9d,%r9d\n\
                        xor %r9d,%r9d\ntest %r8d,%r8d\nsete %r9b\n\
                        xor %eax,%eax\ntest %r8,%r8\nsete %al\nmov %eax,%r8d\n";
        assert_eq!(code, expected);
    }

    #[test]
    fn the_instances_own_globals_are_one_access_away_from_the_context() {
        use crate::isa::masm::GlobalCell::{Imported, Inline};
        let code = body(|m| {
            m.load_global(Size::S64, Reg(8), Inline(2));
            m.store_global(Size::S32, Reg(8), Inline(2));
            m.load_global(Size::S32, Reg(9), Imported(1));
        });
        let at = crate::vm::vmctx::INLINE_GLOBALS + 2 * 16;
        let expected = format!(
            "mov {at:#X}(%rdi),%r8\nmov %r8d,{at:#X}(%rdi)\n\
             mov 0x10(%rdi),%rax\nmov 8(%rax),%rax\nmov (%rax),%r9d\n",
        );
        assert_eq!(code, expected);
    }

    #[test]
    fn wide_jump_tables_jump_through_a_table_of_offsets() {
        let mut bound = Vec::new();
        let (code, assembled) = disassemble_with(HeapBounds::GuardPages, |m| {
            let targets: Vec<_> = (0..5).map(|_| m.new_label()).collect();
            m.jump_table(Reg(8), &targets);
            for &t in &targets {
                m.bind(t);
                bound.push(m.offset() as i64);
                m.mov(Size::S32, Reg(9), RegImm::Imm(1));
            }
        });
        let lines: Vec<&str> = code.lines().collect();
        let default = format!("jae 0x{:016X}", bound[4]);
        assert_eq!(lines[..2], ["cmp $4,%r8d", default.as_str()], "{code}");
        // The table's address, rip-relative (shown as the address it computes), after all code.
        let map = &assembled.code_map.out_of_line;
        let (at, part) = map.last().expect("the table");
        assert_eq!(part, &OutOfLine::JumpTable { cases: 4 });
        let at = (at - assembled.entry_bytes) as usize;
        let lea = format!("lea 0x{at:X},%rax");
        assert_eq!(lines[2..5], [lea.as_str(), "add (%rax,%r8,8),%rax", "jmp *%rax"]);
        // Four 64-bit entries, each its case's offset from the table.
        for (case, &target) in bound[..4].iter().enumerate() {
            let entry = &assembled.code[at + 8 * case..][..8];
            let offset = i64::from_le_bytes(entry.try_into().unwrap());
            assert_eq!(at as i64 + offset, target, "case {case}");
        }
    }

    #[test]
    fn runtime_operations_call_the_context_helper() {
        let code = body(|m| m.runtime(RuntimeOp::TableGet, 1, 0, 48));
        let expected = format!(
            "push %rdi\npush %rsi\nlea 0x30(%rsi),%r8\nmov $4,%esi\nmov $1,%edx\n\
             mov $0,%ecx\ncallq *{CTX_RUNTIME:#x}(%rdi)\npop %rsi\npop %rdi\n\
             test %eax,%eax\njne 0x0000000000000028\n\
             mov $0,%r8d\njmp 0x0000000000000033\n"
        );
        assert_eq!(code, expected);
    }

    #[test]
    fn tail_calls_restore_the_entry_then_jump_to_the_callee() {
        let code = disassemble(|m| {
            m.tail_call(Callee::Defined { def: 3, func: 5 });
            m.tail_call(Callee::Import(1));
            m.tail_call_indirect(2, 7, 0, 48);
        });
        let expected = "mov $5,%edx\n\
                        mov 0x18(%rdi),%rax\n\
                        mov 0x18(%rax),%rax\n\
                        jmp 0x00000000000000BA\n\
                        mov $1,%edx\n\
                        mov 0x88(%rdi),%rax\n\
                        jmp 0x00000000000000BA\n\
                        mov 0x30(%rsi),%eax\n\
                        mov 0x50(%rdi),%rcx\n\
                        cmp 8(%rcx),%rax\n\
                        jae 0x000000000000006F\n\
                        shl $5,%rax\n\
                        add (%rcx),%rax\n\
                        cmpl $7,(%rax)\n\
                        jne 0x000000000000006F\n\
                        cmp 0x10(%rax),%rdi\n\
                        jne 0x000000000000006F\n\
                        mov 4(%rax),%edx\n\
                        mov 8(%rax),%rax\n\
                        mov (%rax),%rax\n\
                        jmp 0x00000000000000BA\n\
                        mov 0x30(%rsi),%r8d\n\
                        push %rdi\n\
                        push %rsi\n\
                        mov $2,%edx\n\
                        mov $0,%ecx\n\
                        callq *0x90(%rdi)\n\
                        pop %rsi\n\
                        pop %rdi\n\
                        cmp $0xFFFFFFFD,%eax\n\
                        jne 0x000000000000009A\n\
                        jmp 0x00000000000000B7\n\
                        mov $0,%r8d\n\
                        jmp 0x00000000000000A5\n\
                        mov %eax,%esi\n\
                        mov $0xFFFFFFFF,%edx\n\
                        mov $1,%ecx\n\
                        callq *0x30(%rdi)\n\
                        pop %rbx\n\
                        ret\n\
                        pop %rbx\n\
                        jmp *%rax\n";
        assert_eq!(code, expected, "\n{code}");
    }

    #[test]
    fn calls_of_a_module_without_tail_calls_need_no_stub_for_one() {
        let pending = "cmp $0xFFFFFFFD,%eax";
        let code = disassemble(|m| {
            m.set_module_tail_calls(false);
            m.call(Callee::Defined { def: 3, func: 3 }, 96);
            m.ret();
        });
        assert!(!code.contains(pending), "{code}");
        assert!(code.contains("test %eax,%eax\njne"), "{code}");
        // An import may be another module's function, with tail calls of its own.
        let code = disassemble(|m| {
            m.set_module_tail_calls(false);
            m.call(Callee::Import(1), 96);
            m.ret();
        });
        assert!(code.contains(pending), "{code}");
    }

    #[test]
    fn a_call_site_runs_a_pending_tail_call_chain_out_of_line() {
        let code = disassemble(|m| {
            m.call(Callee::Defined { def: 3, func: 3 }, 96);
            m.ret();
        });
        let expected = "push %rdi\n\
                        push %rsi\n\
                        lea 0x60(%rsi),%rsi\n\
                        mov $3,%edx\n\
                        mov 0x18(%rdi),%rax\n\
                        callq *0x18(%rax)\n\
                        pop %rsi\n\
                        pop %rdi\n\
                        test %eax,%eax\n\
                        jne 0x0000000000000023\n\
                        xor %eax,%eax\n\
                        jmp 0x0000000000000064\n\
                        cmp $0xFFFFFFFD,%eax\n\
                        jne 0x0000000000000047\n\
                        push %rdi\n\
                        push %rsi\n\
                        lea 0x60(%rsi),%rsi\n\
                        callq *0x98(%rdi)\n\
                        pop %rsi\n\
                        pop %rdi\n\
                        test %eax,%eax\n\
                        je 0x000000000000001C\n\
                        jmp 0x0000000000000047\n\
                        mov $0,%r8d\n\
                        jmp 0x0000000000000052\n\
                        mov %eax,%esi\n\
                        mov $0xFFFFFFFF,%edx\n\
                        mov $1,%ecx\n\
                        callq *0x30(%rdi)\n\
                        pop %rbx\n\
                        ret\n";
        assert_eq!(code, expected, "\n{code}");
    }
}
