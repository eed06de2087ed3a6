//! `MacroAssembler`: the ISA-free vocabulary the tier-1 code generator speaks.
//!
//! Everything above this trait is ISA-independent; everything below it (`isa/<arch>/`) is the only
//! place that knows instruction encodings. Each ISA absorbs its own quirks behind it: x64's
//! two-operand forms and fixed registers for shifts and division, aarch64's immediate limits.
//! Operation families are small enums with the operand size as data, as in Winch.
//!
//! The frame is every tier's (`vm::frame`): 16-byte slots addressed by byte offset from the frame
//! pointer, so tier-1 code and the other tiers can hand a frame to each other.

use crate::vm::TrapCode;
pub use crate::vm::ops::RuntimeOp;

/// A machine register, by its hardware encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg(pub u8);

/// A floating-point (vector) register, by its hardware encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FReg(pub u8);

/// Width of an operation: `i32`/`f32` or `i64`/`f64` (and references, which are 64-bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    S32,
    S64,
}

/// A register or an immediate second operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegImm {
    Reg(Reg),
    Imm(i64),
}

/// Two-operand integer operations `dst = lhs op rhs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
}

/// Integer division and remainder, which trap on a zero divisor (and `DivS` on overflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivOp {
    DivS,
    DivU,
    RemS,
    RemU,
}

/// One-operand integer operations `dst = op src`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Clz,
    Ctz,
    Popcnt,
    /// `src == 0` as 0 or 1.
    Eqz,
    Extend8S,
    Extend16S,
    /// 64-bit only: sign-extends the low 32 bits (`i64.extend32_s`, `i64.extend_i32_s`).
    Extend32S,
    /// Zero-extends the low 32 bits (`i64.extend_i32_u`, `i32.wrap_i64`).
    Extend32U,
}

/// Integer comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

/// An integer comparison `lhs cond rhs` at `size`, as a fused select tests it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub cond: Cond,
    pub size: Size,
    pub lhs: Reg,
    pub rhs: RegImm,
}

impl Cond {
    /// The condition that holds exactly when `self` does not.
    pub fn invert(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::LtS => Cond::GeS,
            Cond::LtU => Cond::GeU,
            Cond::GtS => Cond::LeS,
            Cond::GtU => Cond::LeU,
            Cond::LeS => Cond::GtS,
            Cond::LeU => Cond::GtU,
            Cond::GeS => Cond::LtS,
            Cond::GeU => Cond::LtU,
        }
    }
}

/// Linear-memory loads: width and extension into a 32- or 64-bit result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    I32,
    I64,
    I32_8S,
    I32_8U,
    I32_16S,
    I32_16U,
    I64_8S,
    I64_8U,
    I64_16S,
    I64_16U,
    I64_32S,
    I64_32U,
}

impl LoadKind {
    /// Bytes the load reads.
    pub fn bytes(self) -> u32 {
        match self {
            LoadKind::I32_8S | LoadKind::I32_8U | LoadKind::I64_8S | LoadKind::I64_8U => 1,
            LoadKind::I32_16S | LoadKind::I32_16U | LoadKind::I64_16S | LoadKind::I64_16U => 2,
            LoadKind::I32 | LoadKind::I64_32S | LoadKind::I64_32U => 4,
            LoadKind::I64 => 8,
        }
    }
}

/// Linear-memory stores: how many low bytes of the value are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    B8,
    B16,
    B32,
    B64,
}

impl StoreKind {
    /// Bytes the store writes.
    pub fn bytes(self) -> u32 {
        match self {
            StoreKind::B8 => 1,
            StoreKind::B16 => 2,
            StoreKind::B32 => 4,
            StoreKind::B64 => 8,
        }
    }
}

/// What a function's prologue sets up: the checks and the frame image the interpreter's `enter`
/// would otherwise do, so tier-1 code can be called directly.
#[derive(Clone, Copy, Debug)]
pub struct FrameSetup<'a> {
    /// The function's index in the module's function index space (named in backtraces).
    pub func_index: u32,
    /// Bytes the frame occupies from the frame pointer; the prologue traps with
    /// `StackOverflow` if they do not fit below the context's `stack_end`.
    pub frame_bytes: u32,
    /// Byte offset of the first slot the image initializes (the slot after the parameters).
    pub init_offset: u32,
    /// The slots' initial contents (the declared locals' zeros).
    pub init: &'a [u128],
    /// Whether the code may call anything (a function, a runtime helper): a leaf's prologue
    /// may skip the stack checks (see [`FrameSetup::checks_stacks`]).
    pub calls: bool,
}

impl FrameSetup<'_> {
    /// Whether the prologue checks the value stack and the host stack: always, but for a
    /// function that calls nothing with a frame of at most `vm::stack::LEAF_FRAME_BYTES`, which
    /// the value stack keeps spare past its end (a leaf's frame starts inside its caller's
    /// checked one, and a leaf cannot recurse).
    pub fn checks_stacks(&self) -> bool {
        self.calls || self.frame_bytes as usize > crate::vm::stack::LEAF_FRAME_BYTES
    }
}

/// The alignment compiled code is placed at (`code::ExecutableCode`), and so the most
/// [`MacroAssembler::align_code`] can ask for.
pub const CODE_ALIGN: u32 = 64;

/// Where loop headers start (`MacroAssembler::align_code`): a 64-byte cache line, so a loop's
/// first instructions take as few lines (and decoded-instruction cache blocks) as they can,
/// wherever the code before the loop ends. At 32 bytes, a change that shortened code before
/// c-vm's dispatch loop by a few stores moved the loop's header from a line's start to its
/// middle, its 118-byte dispatch block from two lines to three, and the program ran 1.17x slower
/// (same instructions; `tierup bench --tier optimized`, 7 runs side by side: 317 vs 271 ms);
/// 64 bytes instead of 32 measured 1.01x faster over the corpus (c-vm 1.17x, c-hash 1.04x, c-fib
/// 0.96x).
pub const LOOP_ALIGN: u32 = 64;

/// Where a value crosses a call between tier-2 functions in their register convention
/// (`opt::abi`): in an argument register (at its wasm width), or in its slot of the callee's
/// frame, where every entry convention has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLoc {
    Int(Reg, Size),
    Float(FReg, Size),
    Slot,
}

/// Whom a direct call calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callee {
    /// Import number `index` (module index space), through the context's `call_import`.
    Import(u32),
    /// Defined function `def`, module index `func`, through the module's function table.
    Defined { def: u32, func: u32 },
}

/// Where a global's cell is, as compiled code reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalCell {
    /// One of the instance's own globals, by defined-global index: its cell is inline after the
    /// context (`vm::vmctx::INLINE_GLOBALS`), one load away.
    Inline(u32),
    /// An imported global, by module global index: through the context's cell pointers.
    Imported(u32),
}

impl GlobalCell {
    /// Global `index` of a module with `imported` imported globals.
    pub fn of(index: u32, imported: u32) -> GlobalCell {
        match index.checked_sub(imported) {
            Some(defined) => GlobalCell::Inline(defined),
            None => GlobalCell::Imported(index),
        }
    }
}

/// How tier-1 code keeps linear-memory accesses inside the memory (see `vm::signals`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeapBounds {
    /// No check in the code: every access computes `mem_base + zero-extended address + offset`,
    /// which stays inside the memory's 8 GiB reservation, and an access that reaches a
    /// `PROT_NONE` page faults. The backend records each such instruction in
    /// [`Assembled::heap_accesses`]; the signal handler turns a fault at exactly those
    /// instructions into a jump to [`Assembled::oob_landing`].
    GuardPages,
    /// A compare and branch against `VmCtx::mem_len` before every access; nothing relies on
    /// signals (and no instruction is recorded as a heap access).
    Explicit,
}

/// What [`MacroAssembler::finish`] hands back: the machine code of one function and what the
/// runtime must know about it to run it.
#[derive(Clone, Debug, Default)]
pub struct Assembled {
    /// Position-independent machine code; the function's entry is at offset 0.
    pub code: Vec<u8>,
    /// Offsets (ascending) of every instruction that accesses linear memory and relies on guard
    /// pages for its bounds ([`HeapBounds::GuardPages`]); empty with explicit checks.
    pub heap_accesses: Vec<u32>,
    /// The module offset of the wasm operator of each heap access, as `heap_accesses` orders
    /// them: the fault handler passes it to the landing pad.
    pub heap_access_wasm: Vec<u32>,
    /// Offset of the out-of-bounds landing pad: code that, entered with the registers as they are
    /// at any recorded heap access and the access's wasm offset in the trap exit's offset
    /// register (x86-64 `r8`, aarch64 `x4`: the fault handler writes it), raises `MemoryOutOfBounds` through the function's
    /// trap exit. `Some` whenever `heap_accesses` is not empty.
    pub oob_landing: Option<u32>,
    /// Offsets of the on-stack-replacement entries, by loop ordinal (see
    /// [`MacroAssembler::osr_entry`]); `None` for loops in dead code.
    pub osr_entries: Vec<Option<u32>>,
    /// Where each part of the code starts, for `tierup explore`; see [`CodeMap`].
    pub code_map: CodeMap,
    /// Where the code holds an engine-wide interned signature id (`SigId`), the one value in
    /// compiled code that belongs to the process rather than to the module and the
    /// configuration; a loader patches them ([`SigSite`]).
    pub sig_sites: Vec<SigSite>,
    /// Offset of the register entry ([`MacroAssembler::enter_by_registers`]), when the code has
    /// one.
    pub register_entry: Option<u32>,
    /// The calls of defined functions through the register-entry table
    /// ([`MacroAssembler::call_by_registers`]), which a loader may turn into direct calls
    /// ([`DirectCallSite`]).
    pub direct_calls: Vec<DirectCallSite>,
    /// Bytes `finish` put in front of the code emitted before it (the entry's register saves,
    /// once it knows which registers the code uses): offsets [`MacroAssembler::offset`] reported
    /// are this much lower than the same positions in `code`. Every offset in this struct is
    /// already in `code`'s terms.
    pub entry_bytes: u32,
}

/// A place in compiled code holding the interned signature id (`SigId`) of module type `ty`
/// (inline `call_indirect`'s signature check): code loaded into another engine or process gets
/// that engine's id written there ([`patch_sig_site`]). Every other value the code uses comes
/// from the context register, the frame or the module: the code is otherwise position- and
/// process-independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigSite {
    /// Code offset of the encoding: x86-64, the little-endian `imm32` of a `cmp`; aarch64, a
    /// `movz w, #lo16` followed by a `movk w, #hi16, lsl 16`.
    pub offset: u32,
    /// The module type whose id it holds.
    pub ty: u32,
}

/// A call of defined function `callee` (module function index) in the register convention,
/// which looks its register entry up in the module's table at run time
/// ([`MacroAssembler::call_by_registers`]). Code placed where the callee's register entry is in
/// the call's reach (in one mapping with it, or after it was installed) may call that entry
/// directly instead ([`link_direct_call`]): same registers, same return address, no table
/// load and no check for an entry. Valid only while the callee's entry there
/// is the one its callers should take, which tier-2 code is for the code's life: tier 2 is the
/// last tier, and only a debugger holding the callee would send its callers elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectCallSite {
    /// Code offset of the lookup: from its first instruction to the end of the call (the return
    /// address), which a direct call may replace.
    pub start: u32,
    /// Code offset of the end of the call (the return address).
    pub end: u32,
    /// The callee's index in the module's function index space.
    pub callee: u32,
}

/// Turns the direct call site at `site` (its start and end, as offsets in `code`; code compiled
/// for `isa`, at the address it runs from) into a direct call of the code `target` bytes from
/// `code`'s start (negative or past its end for code in another mapping). The call keeps its
/// return address. `None` when the site does not fit, the target is out of the call's reach or
/// `isa` has no such sites; nothing is written then.
pub fn link_direct_call(
    isa: super::Isa,
    code: &mut [u8],
    site: std::ops::Range<usize>,
    target: isize,
) -> Option<()> {
    match isa {
        super::Isa::X64 => super::x64::link_direct_call(code, site, target),
        super::Isa::Aarch64 => None,
    }
}

/// Bytes a [`SigSite`] spans on `isa`.
pub fn sig_site_len(isa: super::Isa) -> usize {
    match isa {
        super::Isa::X64 => 4,
        super::Isa::Aarch64 => 8,
    }
}

/// Writes signature id `sig` into the site at `offset` of `code`, compiled for `isa`. `None` if
/// the site does not fit in `code` or (aarch64) its instructions are not the expected pair, in
/// which case nothing is written.
pub fn patch_sig_site(isa: super::Isa, code: &mut [u8], offset: usize, sig: u32) -> Option<()> {
    let end = offset.checked_add(sig_site_len(isa))?;
    let site = code.get_mut(offset..end)?;
    match isa {
        super::Isa::X64 => site.copy_from_slice(&sig.to_le_bytes()),
        super::Isa::Aarch64 => {
            // MOVZ (32-bit, hw 0) and MOVK (32-bit, hw 1): opcode bits outside imm16 (bits 5..21)
            // and the register (bits 0..5).
            const MOVZ_W_HW0: u32 = 0x5280_0000;
            const MOVK_W_HW1: u32 = 0x72a0_0000;
            const OPCODE_MASK: u32 = !(0xffff << 5) & !0x1f;
            let word = |i: usize| u32::from_le_bytes(site[i..i + 4].try_into().expect("4 bytes"));
            let (movz, movk) = (word(0), word(4));
            if movz & OPCODE_MASK != MOVZ_W_HW0 || movk & OPCODE_MASK != MOVK_W_HW1 {
                return None;
            }
            let with = |insn: u32, imm16: u32| (insn & !(0xffff << 5)) | (imm16 << 5);
            site[0..4].copy_from_slice(&with(movz, sig & 0xffff).to_le_bytes());
            site[4..8].copy_from_slice(&with(movk, sig >> 16).to_le_bytes());
        }
    }
    Some(())
}

/// Where the parts of a function's code start (code offsets), for readers of the machine code
/// (`tierup explore`). The per-operator offsets are recorded only when the compile asks for them.
#[derive(Clone, Debug, Default)]
pub struct CodeMap {
    /// `(wasm byte offset, code offset)` of each operator, in body order: where the operator at
    /// that module offset starts emitting. Empty unless recording was asked for.
    pub ops: Vec<(u32, u32)>,
    /// Where the out-of-line code starts (everything [`MacroAssembler::finish`] emits).
    pub body_end: u32,
    /// The labelled pieces of the out-of-line code, in code order (OSR entries are in
    /// [`Assembled::osr_entries`]).
    pub out_of_line: Vec<(u32, OutOfLine)>,
}

/// A piece of out-of-line code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutOfLine {
    /// A call of the `hot` helper when a budget runs out, or a flush of the back-edge tally.
    HotStub,
    /// The stub that returns this trap's status (from one wasm operator).
    TrapStub(TrapCode),
    /// The stub of a call site that passes a callee's trap on, naming the call's offset.
    CallTrapStub,
    /// The stub of a call site whose callee left a tail call pending
    /// (`vmctx::TAIL_CALL_PENDING`): runs the chain through `VmCtx::tail_calls`.
    TailCallStub,
    /// A register call whose callee has no register entry: the arguments go to their slots and
    /// the function table's entry is called (`MacroAssembler::call_by_registers`).
    RegisterCallBySlots,
    /// Where tail calls leave: restores what the entry saved and jumps to the callee's entry.
    TailExit,
    /// Where a faulting heap access continues (the fault handler names its offset).
    OobLanding,
    /// Where every trap leaves the function.
    TrapExit,
    /// The shared return path.
    Epilogue,
    /// A `br_table`'s jump table: data, not code (the cases' offsets from its start, in the ISA's
    /// width).
    JumpTable {
        /// How many entries.
        cases: u32,
    },
}

/// Two-operand float operations `dst = lhs op rhs`, with wasm's semantics: `Min`/`Max` return
/// a NaN when either operand is one and order `-0 < +0`; `Copysign` is a bit operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

/// One-operand float operations. `Abs` and `Neg` only touch the sign bit (NaNs keep their
/// payload); the roundings return a quiet NaN for a NaN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatUnaryOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    /// Round to nearest, ties to even.
    Nearest,
}

/// Float comparisons: false whenever an operand is NaN, except `Ne`, which is then true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatCmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Conversions between integer and float registers, and between float widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertOp {
    /// `iN.trunc_fM_{s,u}`: traps with `invalid conversion to integer` on NaN and with
    /// `integer overflow` outside the integer's range; `trunc_sat` saturates instead (NaN gives 0).
    Trunc { signed: bool, saturating: bool, int: Size, float: Size },
    /// `fM.convert_iN_{s,u}`: round to nearest.
    Convert { signed: bool, int: Size, float: Size },
    /// `f64.promote_f32` (`to == S64`) and `f32.demote_f64` (`to == S32`).
    Resize { to: Size },
    /// `fN.reinterpret_iN` (`to_float`) and `iN.reinterpret_fN`: the bits, unchanged.
    Reinterpret { to_float: bool, size: Size },
}

impl ConvertOp {
    /// For `Trunc`: the exclusive bounds of the values that truncate into range, exactly
    /// representable in the source float type (so the range test itself never rounds).
    pub fn trunc_bounds(signed: bool, int: Size, float: Size) -> (f64, f64) {
        match (signed, int, float) {
            (true, Size::S32, Size::S32) => (-2147483904.0, 2147483648.0),
            (true, Size::S32, Size::S64) => (-2147483649.0, 2147483648.0),
            (false, Size::S32, _) => (-1.0, 4294967296.0),
            (true, Size::S64, Size::S32) => (-9223373136366403584.0, 9223372036854775808.0),
            (true, Size::S64, Size::S64) => (-9223372036854777856.0, 9223372036854775808.0),
            (false, Size::S64, _) => (-1.0, 18446744073709551616.0),
        }
    }
}

/// Which integer constants an ISA takes as immediate operands, and which it puts in a register
/// in one instruction: what instruction selection asks before folding a constant into an
/// operation or rematerializing it at a use. Never emits code.
pub trait Immediates {
    /// Whether `dst = lhs op rhs` at `size` (`rhs` in a register when `by_register`, else an
    /// immediate) is one instruction only with `dst` in `lhs`'s register: x86's two-operand
    /// forms. Where the ISA has a three-operand form (aarch64, x86-64's BMI2 shifts), the
    /// allocator is free to put `dst` anywhere, and no copy of `lhs` is needed when it lives on.
    fn tied(&self, op: IntOp, size: Size, by_register: bool) -> bool;
    /// Whether `lhs op imm` at `size` encodes `imm` in the instruction itself (no scratch
    /// register, no extra instruction). `imm` fits 32 bits, sign-extended.
    fn int_op_takes(&self, op: IntOp, size: Size, imm: i64) -> bool;
    /// Whether a comparison of a register with `imm` at `size` encodes `imm` in the instruction.
    fn compare_takes(&self, size: Size, imm: i64) -> bool;
    /// Whether putting `imm` into a register at `size` takes a single instruction.
    fn one_instruction(&self, size: Size, imm: i64) -> bool;
    /// Whether a scaled sum with two registers, `base + (index << k) + disp`, is one instruction
    /// whatever its 32-bit `disp` (x86-64's `lea`), so a constant costs nothing there.
    fn scaled_sum_takes_displacement(&self) -> bool;
    /// Whether the second operand of `op` (`None`: of a comparison) may be read from a frame
    /// slot by the instruction itself ([`MacroAssembler::int_op_slot`],
    /// [`MacroAssembler::compare_slot`], [`MacroAssembler::branch_slot`]): x86's memory
    /// operands, which let a spilled value be used where it is instead of reloaded first.
    fn slot_operand(&self, _op: Option<IntOp>) -> bool {
        false
    }
}

/// The bulk memory operations on memory 0 with a helper of their own
/// ([`MacroAssembler::bulk_memory`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkMemory {
    Copy,
    Fill,
}

/// A failure to assemble: always a compiler bug or a resource problem, never the guest's fault.
#[derive(Debug, thiserror::Error)]
#[error("assembler: {0}")]
pub struct AsmError(pub String);

/// The ISA-independent assembler interface of tier 1.
///
/// Slots are byte offsets from the frame pointer (see `interp::code`). Every method emits code for
/// the current position; nothing is reordered. Every integer result at [`Size::S32`] is left
/// zero-extended in its 64-bit register (both ISAs' 32-bit writes do it): x86-64 heap accesses
/// use an `i32` address register as it is, and tier 2 lowers `i64.extend_i32_u` to a copy.
pub trait MacroAssembler {
    /// A position in the code, bound once, jumped to any number of times.
    type Label: Copy;

    fn new_label(&mut self) -> Self::Label;
    /// Which tier the code is for (named by the trap exit and the tiering hook; tier 1 unless
    /// set before the prologue).
    fn set_tier(&mut self, tier: crate::tier::Tier);
    /// The module byte offset of the wasm operator the code emitted from now on comes from: a
    /// trap raised there, or passing through a call made there, names it in the backtrace.
    /// Set before the prologue to the body's first operator (a stack overflow on entry).
    fn set_wasm_offset(&mut self, offset: u32);
    /// Whether the module has tail calls (`ModuleInner::tail_calls`; assumed until told): without,
    /// a direct call of one of its defined functions never returns a pending tail call, and the
    /// ISA may leave that call site's stub for one out (x86-64 does: the stubs were 10.8% of the bytes
    /// of sqlite's tier-2 code in `tierup explore`).
    fn set_module_tail_calls(&mut self, _has_tail_calls: bool) {}
    /// Registers free between operations (never allocatable, used inside some operations):
    /// what a register allocator may use to resolve moves.
    fn scratch_regs(&self) -> (Reg, FReg);
    /// Integer registers the assembler writes inside only some operations, which tier 2's
    /// register allocator may therefore hold values in between them (none by default; tier 1
    /// never allocates them). The contract, checked per operation by the ISA's tests:
    /// - these operations never write one: `mov`, the frame-slot and global loads and stores,
    ///   `load_float_const`, `mov_float`, `add_scaled`, `compare`, the selects, branches,
    ///   `branch_test`, `jump`, `jump_table`, `float_unary`, `float_to_float`, `float_to_int`,
    ///   `int_op` but shifts and rotates by a register, `unary` but `Clz` and `Ctz`, `float_op` but
    ///   `Copysign`, `int_to_float` but the unsigned 64-bit conversion, and, with guard pages
    ///   for bounds, the heap accesses of offsets below 2^31 (all with immediates the ISA's
    ///   [`Immediates`] takes);
    /// - every other operation may write them, but only after reading its register operands
    ///   (the allocator may put an operand in one), except that a heap store reads the value it
    ///   stores last, so that value must be elsewhere; the calls clobber them with the rest of
    ///   [`MacroAssembler::caller_saved`].
    fn lent_scratch(&self) -> &'static [Reg] {
        &[]
    }
    /// How the code keeps heap accesses in bounds.
    fn heap_bounds(&self) -> HeapBounds;
    /// Which constants the ISA folds into instructions and materializes in one (tier 2's
    /// instruction selection asks).
    fn immediates(&self) -> &'static dyn Immediates;
    /// The allocatable registers a call (to an entry or a runtime helper) clobbers; the other
    /// allocatable registers survive calls.
    fn caller_saved(&self) -> (&'static [Reg], &'static [FReg]);
    /// The current code offset: where the next instruction will be emitted.
    fn offset(&self) -> u32;
    fn bind(&mut self, label: Self::Label);
    /// Registers the code generator may allocate, in order of preference.
    fn allocatable(&self) -> &'static [Reg];
    /// Tells the backend which of [`Self::allocatable`]'s registers the code writes (before
    /// [`Self::finish`]): callee-saved ones it never writes need no saving. Without this call the
    /// backend assumes every one.
    fn registers_used(&mut self, _regs: &[Reg]) {}
    /// Room for about `bytes` more bytes of code, so the buffer need not grow while emitting.
    fn reserve(&mut self, _bytes: usize) {}
    /// Whether this ISA (as configured) can emit `op`; the code generator refuses a function
    /// that needs an operation the target lacks (x86-64 without `popcnt`, say).
    fn has_unary(&self, op: UnaryOp) -> bool;
    /// Like [`MacroAssembler::has_unary`] for float operations (x86-64 without SSE4.1 has no
    /// roundings).
    fn has_float_unary(&self, op: FloatUnaryOp) -> bool;

    /// Function entry: saves what the calling convention requires, checks the value stack and
    /// the host stack (trapping with `StackOverflow`), and initializes the frame from `frame`.
    fn prologue(&mut self, frame: &FrameSetup<'_>);
    /// Returns to the caller with status 0 (the results are already in their slots).
    fn ret(&mut self);
    /// A label that, when jumped to, returns trap status `code` (shared per code and wasm
    /// operator: see [`Self::set_wasm_offset`]).
    fn trap_label(&mut self, code: TrapCode) -> Self::Label;

    fn load_slot(&mut self, size: Size, dst: Reg, slot: u32);
    fn store_slot(&mut self, size: Size, src: Reg, slot: u32);
    fn store_slot_imm(&mut self, size: Size, imm: i64, slot: u32);
    /// Copies a whole 16-byte slot.
    fn copy_slot(&mut self, dst: u32, src: u32);
    /// Copies the low `size` bits of a slot (a value of that width: what its readers read, so
    /// the copy's load is forwarded from the store that wrote it).
    fn copy_value(&mut self, _size: Size, dst: u32, src: u32) {
        self.copy_slot(dst, src);
    }
    fn mov(&mut self, size: Size, dst: Reg, src: RegImm);

    fn int_op(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm);
    /// `dst = lhs op frame[slot]`, for an `op` that [`Immediates::slot_operand`] allows (the
    /// slot's low half at 32 bits). Only called where that says yes.
    fn int_op_slot(&mut self, op: IntOp, size: Size, dst: Reg, lhs: Reg, slot: u32) {
        let _ = (op, size, dst, lhs, slot);
        unreachable!("Immediates::slot_operand allows no slot operand on this ISA")
    }
    /// `dst = base + (index << shift) + disp`, wrapping at `size`, without the two-operand
    /// form's tie of `dst` to an operand (x86-64 `lea`, aarch64's shifted-register `add`):
    /// tier 2's sums of a base, a scaled index and a constant, the shape of every array
    /// address. `shift` is at most 3; `disp` is an immediate `Add` takes
    /// ([`Immediates::int_op_takes`]).
    fn add_scaled(&mut self, size: Size, dst: Reg, base: Reg, index: Option<(Reg, u8)>, disp: i32);
    /// `dst = lhs op rhs`, trapping on a zero divisor and on `MIN / -1`; a constant divisor
    /// is a multiplication ([`crate::isa::const_div`]), but for 0 and -1, which keep the
    /// division and only the check they can fail.
    fn div(&mut self, op: DivOp, size: Size, dst: Reg, lhs: Reg, rhs: RegImm);
    fn unary(&mut self, op: UnaryOp, size: Size, dst: Reg, src: Reg);
    /// `dst = (lhs cond rhs) as i32`.
    fn compare(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, rhs: RegImm);
    /// [`MacroAssembler::compare`] with `frame[slot]` as `rhs` (see [`Self::int_op_slot`]).
    fn compare_slot(&mut self, cond: Cond, size: Size, dst: Reg, lhs: Reg, slot: u32) {
        let _ = (cond, size, dst, lhs, slot);
        unreachable!("Immediates::slot_operand allows no slot operand on this ISA")
    }
    /// `dst = cond != 0 ? dst : other`.
    fn select(&mut self, size: Size, dst: Reg, cond: Reg, other: Reg);
    /// `dst = cmp holds ? dst : other`: [`MacroAssembler::select`] with its condition compared
    /// in place (`cmov`, `csel`) rather than materialized in a register first.
    fn select_compare(&mut self, size: Size, dst: Reg, cmp: Comparison, other: Reg);

    fn jump(&mut self, target: Self::Label);
    fn branch(&mut self, cond: Cond, size: Size, lhs: Reg, rhs: RegImm, target: Self::Label);
    /// [`MacroAssembler::branch`] with `frame[slot]` as `rhs` (see [`Self::int_op_slot`]).
    fn branch_slot(&mut self, cond: Cond, size: Size, lhs: Reg, slot: u32, target: Self::Label) {
        let _ = (cond, size, lhs, slot, target);
        unreachable!("Immediates::slot_operand allows no slot operand on this ISA")
    }
    /// Branches to `target` when `reg & mask` (at `size`) is nonzero, or zero unless `nonzero`,
    /// without computing the `and` into a register. `mask` is an immediate the ISA's `and` takes
    /// ([`Immediates::int_op_takes`]).
    fn branch_test(&mut self, size: Size, reg: Reg, mask: i64, nonzero: bool, target: Self::Label);
    /// Jumps to `targets[index]`, or to the last target when `index` is out of range.
    fn jump_table(&mut self, index: Reg, targets: &[Self::Label]);

    /// Makes `memory` the memory the next heap access (`load_heap`, `store_heap` and their float
    /// forms) reaches; memory 0 again (the default) right after it. Memory 0 stays in the
    /// pinned base register; another memory costs a load or two of its view from the context
    /// (`VmCtx::memories`) around its access (multi-memory).
    fn set_memory(&mut self, memory: u32);

    /// Before an access to a 64-bit memory whose `i64` address is in `addr`: traps as out of
    /// bounds unless the address and `offset` are below 2^32 (tierup keeps 64-bit memories
    /// within 4 GiB), leaving `addr` a valid 32-bit address register (upper half clear).
    fn check_address64(&mut self, addr: Reg, offset: u64);

    /// Before an indirect call through a 64-bit table whose `i64` element index is in slot
    /// `slot`: traps as out of bounds unless the index is below 2^32 (no table is larger), so
    /// the call reads it as an `i32`.
    fn check_slot_index64(&mut self, slot: u32);

    /// `dst = memory[addr + offset]`, trapping when out of bounds (by an explicit check or
    /// through the guard pages, as the backend's [`HeapBounds`] says). `addr` is a register
    /// holding an `i32` (its upper half clear), or `None` for an address operand of 0: a code
    /// generator that knows a constant address folds it into `offset`, sparing the register.
    fn load_heap(&mut self, kind: LoadKind, dst: Reg, addr: Option<Reg>, offset: u32);
    /// `memory[addr + offset] = src`, trapping when out of bounds, like `load_heap`.
    fn store_heap(&mut self, kind: StoreKind, src: Reg, addr: Option<Reg>, offset: u32);
    /// Loads the low `size` bits of a global.
    fn load_global(&mut self, size: Size, dst: Reg, global: GlobalCell);
    /// Stores the low `size` bits of a global, and nothing else of its 16-byte cell: every
    /// reader of a global reads its type's width (compiled code, the interpreter's typed reads,
    /// `Val::from_raw`), so the rest of the cell is never looked at. (Clearing it took two more
    /// stores per `global.set`, which C and Rust programs run twice per call of a function with
    /// a shadow-stack frame.)
    fn store_global(&mut self, size: Size, src: Reg, global: GlobalCell);

    /// Calls `callee` with its frame at slot offset `callee_fp`. Every allocatable register is
    /// clobbered; a trap status from the callee leaves this function through its trap exit at
    /// once. A callee that leaves a tail call pending (`vmctx::TAIL_CALL_PENDING`) has the chain
    /// run out of line (`VmCtx::tail_calls`) before the code goes on (as after every call of an
    /// entry).
    fn call(&mut self, callee: Callee, callee_fp: u32);

    /// Exception handling: from now on (until `None`), a call, `call_indirect` or runtime
    /// operation whose status is a trap goes to `handler` (after any pending tail call chain)
    /// instead of its trap stub, the status kept for [`Self::catch_exception`] and
    /// [`Self::pass_trap_on`].
    fn set_trap_handler(&mut self, handler: Option<Self::Label>);
    /// At a trap handler: asks the context's `catch` helper whether a clause for module tag
    /// `tag` (`vm::exception::CATCH_ALL`: any) catches the exception behind the status; if so,
    /// its values are in the slots from slot offset `dest_slot` on and the code jumps to
    /// `caught`, else it falls through with the status intact.
    fn catch_exception(&mut self, tag: u32, with_ref: bool, dest_slot: u32, caught: Self::Label);
    /// At a trap handler, after its clauses: the status leaves through the trap exit, naming
    /// the call at the current wasm offset.
    fn pass_trap_on(&mut self);

    /// `return_call` of `callee`, whose arguments are already in this frame's first slots: leaves
    /// this function as a return does (the back-edge tally flushed, the entry's saves restored)
    /// and jumps to the callee's entry with this context and frame, so the callee returns to
    /// this function's caller and the host stack does not grow. An import's "entry" is the
    /// context's `tail_call_import`, which leaves the call pending for the caller.
    fn tail_call(&mut self, callee: Callee);
    /// `return_call_indirect` with module type `ty` (interned id `sig`) through `table`, the table
    /// index in slot `index_slot` (above the arguments, which are already in this frame's first
    /// slots): an element of this instance with that signature is continued in as by
    /// [`Self::tail_call`]; anything else goes through the context's `tail_call_indirect`, which
    /// traps (through this function's trap exit) or leaves the call pending for the caller.
    fn tail_call_indirect(&mut self, ty: u32, sig: u32, table: u32, index_slot: u32);
    /// `return_call_ref`, the function reference in slot `ref_slot` (above the arguments, which
    /// are already in this frame's first slots): the context's `tail_call_ref` traps on null
    /// (through this function's trap exit) or leaves the call pending for the caller.
    fn tail_call_ref(&mut self, ref_slot: u32);

    /// Counts back-edges in a register of their own (taken out of [`Self::allocatable`]), added to
    /// defined function `def`'s back-edge counter every `chunk` back-edges and on every way out
    /// of the function (return, trap, hand-over to newer code), so a back-edge costs a register
    /// decrement rather than a memory update. Called before the prologue, for functions with loops.
    fn tally_back_edges(&mut self, def: u32, chunk: u32);

    /// Counts a call of defined function `def` (at its entry, after the prologue) in the
    /// module's profile counters. With a `weight`, also spends that much of its tier-up budget
    /// and, when it is spent, calls the context's `hot` helper: if that ran newer code to the
    /// function's end, returns its status, otherwise continues.
    fn count_call(&mut self, def: u32, weight: Option<u32>);

    /// A back-edge to the header of loop `ordinal` (at `resume`, bound by the caller after this),
    /// with every value in its canonical slot: one more in the tally. Every `chunk`th, the tally
    /// is added to the counters and, with a `weight`, `chunk * weight` of the budget is spent, the
    /// `hot` helper called when it is gone (returning newer code's status, or resuming).
    fn count_back_edge(&mut self, ordinal: u32, weight: Option<u32>, resume: Self::Label);

    /// The registers tier 2's register convention passes arguments and the first result in
    /// (integer, float), in order of use. Empty (the default) when the backend has none: its
    /// tier-2 calls then all take the function table with their arguments in slots, and
    /// [`Self::enter_by_registers`] and [`Self::call_by_registers`] are never called.
    fn argument_registers(&self) -> (&'static [Reg], &'static [FReg]) {
        (&[], &[])
    }

    /// Before the prologue: the function is entered in the register convention, each parameter
    /// where `params` says (a register, or its slot), its first result left where `result` says
    /// (other results in their slots). `finish` puts an adapter in front, at offset 0, for
    /// callers of the [`crate::vm::vmctx::FuncEntry`] convention: it loads the register
    /// parameters from their slots, calls the register entry, and stores a register result
    /// into slot 0; [`Assembled::register_entry`] says where the register entry starts.
    /// Unlike the slot convention's entry, the register entry keeps the pinned registers (the
    /// context, the frame pointer and the memory base, which it expects pinned on entry) on every
    /// way out, a trap's included: its callers save nothing around the call.
    fn enter_by_registers(&mut self, params: &[ArgLoc], result: ArgLoc) {
        let _ = (params, result);
        unreachable!("a backend without argument registers has no register entries");
    }

    /// Calls defined function `def` (module index `func`), whose frame starts at slot offset
    /// `callee_fp`, in the register convention: arguments already where `args` says (registers,
    /// or their slots of the callee's frame), its first result left where `result` says, other
    /// results in their slots. The context's `register_entries` has the callee's register entry;
    /// when it has none (0: not in tier 2, or held by a debugger), the arguments are stored to
    /// their slots and the function table's entry is called, as [`Self::call`] does, the result
    /// then loaded into its register. Clobbers every caller-saved register (the result's
    /// excepted); a trap leaves through the trap exit. The lookup is recorded as a
    /// [`DirectCallSite`], which placing the code may turn into a direct call.
    fn call_by_registers(
        &mut self,
        def: u32,
        func: u32,
        callee_fp: u32,
        args: &[ArgLoc],
        result: ArgLoc,
    ) {
        let _ = (def, func, callee_fp, args, result);
        unreachable!("a backend without argument registers makes no register calls");
    }

    /// `call_indirect` in the register convention: as [`Self::call_indirect_inline`], with the
    /// table index in register `index` and the arguments and first result where `args` and
    /// `result` say (as for [`Self::call_by_registers`]). An element of this instance with
    /// signature `sig` is called at its register entry (the dispatch element's
    /// `register_entry`) when it has one, else at its entry with the register arguments stored
    /// to their slots; anything else goes through the runtime helper, the index stored in the
    /// slot after the arguments.
    #[allow(clippy::too_many_arguments)]
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
        let _ = (ty, sig, table, callee_fp, index, args, result);
        unreachable!("a backend without argument registers makes no register calls");
    }

    /// `call_indirect` with module type `ty` through `table`; the table index is in the slot after
    /// the arguments. Like [`MacroAssembler::call`] otherwise.
    fn call_indirect(&mut self, ty: u32, table: u32, callee_fp: u32);
    /// `call_ref` with module type `ty`: the function reference is in the slot after the
    /// arguments; the context's `call_ref` helper calls the function or traps on null. Like
    /// [`MacroAssembler::call`] otherwise.
    fn call_ref(&mut self, ty: u32, callee_fp: u32);
    /// `call_indirect` as [`MacroAssembler::call_indirect`], with the common case inline: when
    /// the table index (in slot `index_slot`, the one after the arguments) is below the table's
    /// size and its element in the table's dispatch array (`vm::table`) has signature `sig` (the
    /// module type's interned `SigId`) and this instance's context, the element's entry is
    /// called directly; anything else goes through the runtime helper, which calls or traps.
    fn call_indirect_inline(
        &mut self,
        ty: u32,
        sig: u32,
        table: u32,
        callee_fp: u32,
        index_slot: u32,
    ) {
        let _ = (sig, index_slot);
        self.call_indirect(ty, table, callee_fp);
    }
    /// `dst = memory.size` in pages.
    fn memory_size(&mut self, dst: Reg);
    /// `dst = memory.grow(delta)` through the context's helper; clobbers every allocatable
    /// register but `dst`.
    fn memory_grow(&mut self, dst: Reg, delta: Reg);
    /// `memory.copy` within memory 0 (`op` [`BulkMemory::Copy`]: `dst`, `src`, `len`) or
    /// `memory.fill` of it ([`BulkMemory::Fill`]: `dst`, `value`, `len`), on `i32` operands in
    /// registers, through the context's helper (`VmCtx::memory_copy`, `VmCtx::memory_fill`):
    /// clobbers every caller-saved register; a range out of bounds leaves through the trap exit.
    fn bulk_memory(&mut self, op: BulkMemory, operands: [Reg; 3]);

    // ---- floats (a second register class) ----

    /// Float registers the code generator may allocate, in order of preference.
    fn allocatable_float(&self) -> &'static [FReg];
    fn load_slot_float(&mut self, size: Size, dst: FReg, slot: u32);
    fn store_slot_float(&mut self, size: Size, src: FReg, slot: u32);
    /// `dst = ` the float whose bits are `bits` (the low 32 for `S32`).
    fn load_float_const(&mut self, size: Size, dst: FReg, bits: u64);
    fn mov_float(&mut self, dst: FReg, src: FReg);
    fn float_op(&mut self, op: FloatOp, size: Size, dst: FReg, lhs: FReg, rhs: FReg);
    fn float_unary(&mut self, op: FloatUnaryOp, size: Size, dst: FReg, src: FReg);
    /// `dst = (lhs cmp rhs) as i32`.
    fn float_compare(&mut self, cmp: FloatCmp, size: Size, dst: Reg, lhs: FReg, rhs: FReg);
    /// Jumps to `target` when `lhs cmp rhs` (as [`MacroAssembler::float_compare`] would give 1).
    fn branch_float(
        &mut self,
        cmp: FloatCmp,
        size: Size,
        lhs: FReg,
        rhs: FReg,
        target: Self::Label,
    );
    /// `dst = cond != 0 ? dst : other`.
    fn select_float(&mut self, size: Size, dst: FReg, cond: Reg, other: FReg);
    /// `dst = cmp holds ? dst : other`, as [`MacroAssembler::select_compare`].
    fn select_float_compare(&mut self, size: Size, dst: FReg, cmp: Comparison, other: FReg);
    /// `Trunc` and `Reinterpret { to_float: false }`: float register to integer register.
    fn float_to_int(&mut self, op: ConvertOp, dst: Reg, src: FReg);
    /// `Convert` and `Reinterpret { to_float: true }`: integer register to float register.
    fn int_to_float(&mut self, op: ConvertOp, dst: FReg, src: Reg);
    /// `Resize`.
    fn float_to_float(&mut self, op: ConvertOp, dst: FReg, src: FReg);
    /// `dst = memory[addr + offset]` (`f32`/`f64`), trapping when out of bounds.
    fn load_heap_float(&mut self, size: Size, dst: FReg, addr: Option<Reg>, offset: u32);
    /// `memory[addr + offset] = src` (`f32`/`f64`), trapping when out of bounds.
    fn store_heap_float(&mut self, size: Size, src: FReg, addr: Option<Reg>, offset: u32);
    fn load_global_float(&mut self, size: Size, dst: FReg, global: GlobalCell);
    /// As [`Self::store_global`]: the value's own bytes only.
    fn store_global_float(&mut self, size: Size, src: FReg, global: GlobalCell);

    /// Runs `op` with immediates `a` and `b` on the operands in the canonical slots from
    /// `args` on, through the context's runtime helper; a trap status returns from this function at
    /// once. Every allocatable register (of both classes) is clobbered.
    fn runtime(&mut self, op: RuntimeOp, a: u32, b: u32, args: u32);

    /// Subtracts `amount` from the store's fuel, trapping with `OutOfFuel` (fuel unchanged) if
    /// less is left.
    fn consume_fuel(&mut self, amount: u32);

    /// Guest profiling (`vm::profile`; emitted only under `ProfilingStrategy::Guest`): pushes
    /// `entry` on the store's profile stack (`VmCtx::profile_stack`). Clobbers scratch registers
    /// only, and the registers no value lives in between operations (x86-64 `rcx`, aarch64 `x0`
    /// and `x1`).
    fn profile_push(&mut self, entry: u64);
    /// Guest profiling: rewrites the upper half of the top profile entry (`high`: tier and
    /// innermost loop), at a loop header, or where code entered by on-stack replacement takes
    /// over a frame. Clobbers as [`Self::profile_push`].
    fn profile_set_top(&mut self, high: u32);
    /// Guest profiling: pops the top profile entry, right before a normal return.
    fn profile_pop(&mut self);

    /// Pads with no-ops up to the next multiple of `bytes` (a power of two, at most
    /// [`CODE_ALIGN`]) of the offset the code will have once placed: where a loop starts, so
    /// its few hot bytes straddle as few fetch blocks and cache lines as they must (the same
    /// loop ran 7-10% slower on one 64-byte-line crossing more). `finish` keeps the body at an
    /// offset aligned that far. The default does nothing.
    fn align_code(&mut self, bytes: u32) {
        let _ = bytes;
    }

    /// Records an on-stack-replacement entry that jumps to `label` (a loop header, bound by the
    /// caller, where every value is in its canonical slot) after doing what the prologue does
    /// except checking the stacks and initializing the frame. Entries are numbered in call order.
    fn osr_entry(&mut self, label: Self::Label);
    /// Records that the next loop in the body has no entry (it is in dead code).
    fn no_osr_entry(&mut self);

    /// The finished, position-independent machine code, its entry points and its heap-access
    /// table.
    fn finish(self) -> Result<Assembled, AsmError>;
}

#[cfg(test)]
mod sig_site_tests {
    use super::*;
    use crate::isa::Isa;
    use crate::isa::aarch64::Aarch64Masm;
    use crate::isa::x64::X64Masm;

    /// Inline `call_indirect` for signature id `sig`, assembled for `isa` (on any host).
    fn assemble(isa: Isa, sig: u32) -> Assembled {
        fn with<M: MacroAssembler>(mut masm: M, sig: u32) -> Assembled {
            masm.call_indirect_inline(3, sig, 0, 64, 48);
            masm.ret();
            masm.finish().unwrap()
        }
        match isa {
            Isa::X64 => with(X64Masm::new(HeapBounds::Explicit), sig),
            Isa::Aarch64 => with(Aarch64Masm::with_bounds(false, HeapBounds::Explicit), sig),
        }
    }

    /// Patching a site gives exactly the code compiled with that id in the first place, on both
    /// ISAs, and a site that is not the expected encoding is left alone.
    #[test]
    fn patched_signature_sites_equal_code_compiled_for_the_new_id() {
        for isa in [Isa::X64, Isa::Aarch64] {
            let before = assemble(isa, 7);
            let after = assemble(isa, 0xdead_beef);
            assert_eq!(before.sig_sites.len(), 1, "{isa:?}");
            assert_eq!(before.sig_sites[0].ty, 3);
            let mut patched = before.code.clone();
            let site = before.sig_sites[0].offset as usize;
            patch_sig_site(isa, &mut patched, site, 0xdead_beef).unwrap();
            assert_eq!(patched, after.code, "{isa:?}");
            let near_end = patched.len() - 2;
            assert!(patch_sig_site(isa, &mut patched, near_end, 1).is_none());
        }
        let mut not_a_site = assemble(Isa::Aarch64, 7).code;
        assert!(patch_sig_site(Isa::Aarch64, &mut not_a_site, 0, 1).is_none());
    }
}
