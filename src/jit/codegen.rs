//! The tier-1 code generator: one pass over a validated function body, no IR.
//!
//! A virtual value stack tracks where each wasm value lives: an immediate (a float's bits for
//! floats), a local's slot, a register (integer or float: two register classes, each with its own
//! free list), or its canonical slot (`temp_base + stack position`, the interpreter's layout). Values
//! stay in registers within straight-line code; at every label (block and loop boundaries, branch
//! targets, calls) all of them are in their canonical slots, so every path into a label agrees,
//! exactly as in the interpreter's translator. Locals may stay cached in registers across labels:
//! each label has a register state every path into it establishes first (see [`Cache`]), and
//! cached locals are lent to operators that only read them. A branch's moves run only when it is
//! taken, so emitting them never changes the virtual stack (nor the register state) that a
//! `br_if`'s fall-through or the next `br_table` entry continues with. With counting on, the
//! prologue and every loop back-edge count into the module's profile counters, as the
//! interpreter does. Operators the executor implements (tables, bulk memory, `ref.func`) are
//! runtime calls on operands in canonical slots; `call_indirect` checks the table's dispatch
//! array inline. It must never emit code for an operator it does not handle: anything unknown
//! (SIMD) refuses the whole function.

use super::Options;
use super::reg_cache::{
    Cache, CacheView, LOCAL_LIMIT, LabelState, LabelStates, MOST_FLOAT_REGS, MOST_INT_REGS,
    entry_reg_number, unpack,
};
use crate::isa::masm::{
    Assembled, Callee, Cond, ConvertOp, DivOp, FReg, FloatCmp, FloatOp, FloatUnaryOp, FrameSetup,
    GlobalCell, IntOp, LOOP_ALIGN, LoadKind, MacroAssembler, Reg, RegImm, RuntimeOp, Size,
    StoreKind, UnaryOp,
};
use crate::loop_locals::{BodyScan, LoopLocals};
use crate::module::ModuleInner;
use crate::operators::FastOperators;
use crate::tier::compiler::CompileError;
use crate::types::ValType;
use crate::vm::TrapCode;
use crate::vm::frame::{FrameLayout, SLOT_BYTES, ends_fuel_segment};
use smallvec::SmallVec;
use wasmparser::{BlockType, FunctionBody, Operator};

/// The types of a block's parameters or results: almost always none or one.
type Types = SmallVec<[Ty; 2]>;

/// The value types this tier handles: everything but `v128`. Floats live in float registers;
/// references are 64-bit integers (the interpreter's slot bits: 0 for null, a store handle + 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
    ExnRef,
}

impl Ty {
    fn size(self) -> Size {
        match self {
            Ty::I32 | Ty::F32 => Size::S32,
            Ty::I64 | Ty::F64 | Ty::FuncRef | Ty::ExternRef | Ty::ExnRef => Size::S64,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Ty::F32 | Ty::F64)
    }

    fn from_val(ty: ValType) -> Result<Ty, CompileError> {
        match ty {
            ValType::I32 => Ok(Ty::I32),
            ValType::I64 => Ok(Ty::I64),
            ValType::F32 => Ok(Ty::F32),
            ValType::F64 => Ok(Ty::F64),
            ValType::Ref(r) if r.heap == crate::types::HeapType::Exn => Ok(Ty::ExnRef),
            ValType::Ref(r) if r.is_func() => Ok(Ty::FuncRef),
            ValType::Ref(_) => Ok(Ty::ExternRef),
            ValType::V128 => Err(unsupported("values of type v128 (SIMD)")),
        }
    }
}

fn unsupported(what: impl Into<String>) -> CompileError {
    CompileError::Unsupported(what.into())
}

/// Where a value on the virtual stack lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    /// An integer, or a float's bits.
    Imm(i64),
    /// In the slot of this local.
    Local(u32),
    Reg(Reg),
    /// In a float register (float values only).
    FReg(FReg),
    /// In its canonical slot.
    Slot,
}

#[derive(Clone, Copy, Debug)]
struct Value {
    ty: Ty,
    loc: Loc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

struct Control<L> {
    kind: Kind,
    /// Stack height below the block's parameters.
    height: usize,
    params: Types,
    results: Types,
    /// The branch target: the loop header, or the end.
    label: L,
    /// For `if`: where the false branch starts.
    else_label: Option<L>,
    /// The register state every path into the label agrees on (see [`Cache`]), in
    /// [`CodeGen::label_states`]: for blocks and `if`s the state at their start, for loops the
    /// one chosen for the header.
    state: LabelState,
    /// For `try_table`: its catch clauses, in order.
    catches: Vec<CatchClause<L>>,
}

/// A catch clause of a `try_table`: what it catches, where its values go (the canonical slots
/// from its target label's height on, so the branch moves nothing) and its pad (the code that
/// branches to the label once they are there).
#[derive(Clone, Copy, Debug)]
struct CatchClause<L> {
    /// Module tag index, or `vm::exception::CATCH_ALL`.
    tag: u32,
    with_ref: bool,
    /// Slot offset of the first value.
    dest: u32,
    pad: L,
}

/// The out-of-line code a call or throw inside `try_table`s goes to when a trap status comes
/// back: each clause in scope tried in turn, then the trap exit, naming the call's offset.
struct TrapHandler<L> {
    label: L,
    wasm_offset: u32,
    clauses: Vec<CatchClause<L>>,
}

impl<L> Control<L> {
    fn branch_types(&self) -> &[Ty] {
        if self.kind == Kind::Loop { &self.params } else { &self.results }
    }
}

/// Who owns an operand's register: the operator (free it afterwards), or a cached local lent for
/// reading only (taken out of the cache meanwhile, so no allocation can take it, and put back),
/// or lent already to another operand of the same operator (`x * x`: nothing to give back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    Owned,
    Lent(u32),
    Shared,
}

/// The code generator's lists, kept by each thread from one function to the next (their
/// contents are not: each function clears them first): a compile thread generates thousands of
/// functions, and allocating their lists afresh for each costs.
#[derive(Default)]
struct Scratch {
    locals: Vec<Ty>,
    results: Vec<Ty>,
    stack: Vec<Value>,
    free: Vec<Reg>,
    free_float: Vec<FReg>,
    used: Vec<Reg>,
    /// All zeros between uses (see [`BodyScan::loop_locals`]).
    local_counts: Vec<u32>,
    label_states: LabelStates,
}

thread_local! {
    /// The lists of the last function this thread compiled (none after a failed compile).
    static SPARE_SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

/// Compiles one function with `masm`, on the frame `layout` describes. With
/// `options.record_offsets`, the output's code map says where each operator's code starts (for
/// `tierup explore`); without, nothing is recorded.
pub fn compile<M: MacroAssembler>(
    masm: M,
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
    layout: &FrameLayout,
    options: Options,
) -> Result<Assembled, CompileError> {
    let record_offsets = options.record_offsets;
    let ty = module.func_type(func_index);
    let scratch = SPARE_SCRATCH.take().unwrap_or_default();
    let mut locals = scratch.locals;
    locals.clear();
    for &param in ty.params() {
        locals.push(Ty::from_val(param)?);
    }
    let mut results = scratch.results;
    results.clear();
    for &result in ty.results() {
        results.push(Ty::from_val(result)?);
    }
    let wp = |e: wasmparser::BinaryReaderError| CompileError::Internal(e.to_string());
    let mut reader = body.get_locals_reader().map_err(wp)?;
    for _ in 0..reader.get_count() {
        let (count, ty) = reader.read().map_err(wp)?;
        let ty = Ty::from_val(ValType::from_wasmparser(ty, &module.sigs))?;
        locals.extend(std::iter::repeat_n(ty, count as usize));
    }
    if locals.len() > LOCAL_LIMIT {
        return Err(unsupported(format!("more than {LOCAL_LIMIT} locals")));
    }
    let temp_base = layout.temp_base();
    let def = func_index - module.num_imported_funcs;
    // What validation recorded of the loops, or a scan of this body when it recorded nothing.
    let scanned;
    let scan = match module.loop_locals.body(def as usize) {
        Some(scan) => scan,
        None => {
            scanned = LoopLocals::scan(body).map_err(wp)?;
            scanned.body(0).expect("one body scanned")
        }
    };
    let mut masm = masm;
    masm.set_module_tail_calls(module.tail_calls);
    // Tier-1 code is about twice the size of the wasm it comes from.
    let body_bytes = (body.range().end - body.range().start) as usize;
    masm.reserve(2 * body_bytes + 256);
    if options.counting && layout.num_loops > 0 {
        masm.tally_back_edges(def, options.back_edge_chunk);
    }
    // Every allocatable register fits the register state of cached locals.
    assert!(
        masm.allocatable().len() <= MOST_INT_REGS,
        "more integer registers than the cache holds"
    );
    assert!(
        masm.allocatable_float().len() <= MOST_FLOAT_REGS,
        "more float registers than the cache holds"
    );
    let mut local_counts = scratch.local_counts;
    local_counts.clear();
    local_counts.resize(locals.len(), 0);
    let mut free = scratch.free;
    free.clear();
    free.extend(masm.allocatable().iter().rev().copied());
    let mut free_float = scratch.free_float;
    free_float.clear();
    free_float.extend(masm.allocatable_float().iter().rev().copied());
    let mut stack = scratch.stack;
    stack.clear();
    // Deep enough for most functions: growing it costs more than the space.
    stack.reserve(64);
    let mut used = scratch.used;
    used.clear();
    let mut label_states = scratch.label_states;
    label_states.clear();
    let mut g = CodeGen {
        free_float,
        masm,
        module,
        locals,
        temp_base,
        stack,
        controls: Vec::with_capacity(32),
        free,
        reachable: true,
        dead_depth: 0,
        results,
        wasm_offset: 0,
        handlers: Vec::new(),
        fuel: &layout.fuel_segments,
        next_fuel: 0,
        def,
        options,
        address64: None,
        other_memories: module.memories.len() > 1 || module.memories.iter().any(|m| m.memory64),
        next_loop: 0,
        in_fuel_segment: false,
        cache: Cache::default(),
        lent: Cache::default(),
        label_states,
        used,
        used_mask: 0,
        local_counts,
        scan,
    };
    let end = g.masm.new_label();
    g.controls.push(Control {
        kind: Kind::Function,
        height: 0,
        params: Types::new(),
        results: g.results.iter().copied().collect(),
        label: end,
        else_label: None,
        state: LabelState::EMPTY,
        catches: Vec::new(),
    });
    // Only the declared locals need their zeros: tier-1 code keeps constants as immediates and
    // never reads the interpreter's constant slots or result padding.
    let declared_locals = layout.num_locals as usize;
    debug_assert_eq!(declared_locals, g.locals.len() - layout.num_params as usize);
    let mut ops = FastOperators::new(body).map_err(wp)?;
    // A stack overflow on entry names the body's first operator, as in every tier.
    g.masm.set_wasm_offset(ops.original_position() as u32);
    g.masm.prologue(&FrameSetup {
        func_index,
        frame_bytes: layout.frame_size * SLOT_BYTES,
        init_offset: layout.num_params * SLOT_BYTES,
        init: &layout.frame_init[..declared_locals],
        // Tier 1 emits the prologue before it reads the body, so it cannot know a leaf.
        calls: true,
    });
    if options.counting {
        let weight = options.budget_checks.then_some(options.call_weight);
        g.masm.count_call(g.def, weight);
    }
    if options.guest_profile {
        // After the counting: when newer code takes the call there, it pushes its own entry.
        g.masm.profile_push(crate::vm::profile::encode_entry(
            func_index,
            crate::tier::Tier::Baseline,
            None,
        ));
    }
    let mut op_offsets = Vec::new();
    let mut max_height = 0;
    while !ops.eof() {
        max_height = max_height.max(g.stack.len());
        let wasm_offset = ops.original_position() as u32;
        g.masm.set_wasm_offset(wasm_offset);
        g.wasm_offset = wasm_offset;
        // Borrowed where `read` left it: moving an operator out costs more than reading it.
        let read = ops.read();
        let op = match &read {
            Ok(op) => op,
            Err(e) => return Err(wp(e.clone())),
        };
        if record_offsets {
            op_offsets.push((wasm_offset, g.masm.offset()));
        }
        // An integer comparison directly followed by the `br_if` or `if` that consumes it
        // becomes one compare-and-branch: the next operator's first byte tells, so nothing is
        // decoded ahead (operators are large, and moving them around costs).
        match int_comparison(op) {
            Some(comparison) if g.reachable && next_is_branch(&ops) => {
                let branch_offset = ops.original_position() as u32;
                let branch = ops.read().map_err(wp)?;
                g.visit_compare_and_branch(op, comparison, &branch)?;
                // The branch's code is the comparison's.
                if record_offsets {
                    op_offsets.push((branch_offset, g.masm.offset()));
                }
            }
            _ => g.visit(op)?,
        }
    }
    for handler in std::mem::take(&mut g.handlers) {
        g.masm.bind(handler.label);
        for c in &handler.clauses {
            g.masm.catch_exception(c.tag, c.with_ref, c.dest, c.pad);
        }
        g.masm.set_wasm_offset(handler.wasm_offset);
        g.masm.pass_trap_on();
    }
    if temp_base + max_height as u32 > layout.frame_size {
        return Err(CompileError::Internal(format!(
            "{max_height} temporaries do not fit the frame of {} slots",
            layout.frame_size
        )));
    }
    if g.next_fuel != g.fuel.len() {
        let (charged, expected) = (g.next_fuel, g.fuel.len());
        return Err(CompileError::Internal(format!(
            "fuel segments disagree with the interpreter: {charged} charged, {expected} expected"
        )));
    }
    let body_end = g.masm.offset();
    g.masm.registers_used(&g.used);
    let mut assembled = g.masm.finish().map_err(|e| CompileError::Internal(e.to_string()))?;
    SPARE_SCRATCH.set(Some(Scratch {
        locals: g.locals,
        results: g.results,
        stack: g.stack,
        free: g.free,
        free_float: g.free_float,
        used: g.used,
        local_counts: g.local_counts,
        label_states: g.label_states,
    }));
    let shift = assembled.entry_bytes;
    assembled.code_map.ops = op_offsets.into_iter().map(|(op, at)| (op, at + shift)).collect();
    assembled.code_map.body_end = body_end + shift;
    Ok(assembled)
}

/// Refills free list `free` with the registers of `allocatable` whose bits (by `number`) are
/// clear in `taken`, last first (so the first is popped first). Written without a branch per
/// register: block ends and branches reset the free lists all the time.
fn refill_free<R: Copy>(free: &mut Vec<R>, allocatable: &[R], taken: u64, number: fn(R) -> u8) {
    const MOST: usize = 32;
    assert!(allocatable.len() <= MOST, "more allocatable registers than the free lists' buffer");
    free.clear();
    let Some(&first) = allocatable.first() else { return };
    let mut buffer = [first; MOST];
    let mut count = 0;
    for &r in allocatable.iter().rev() {
        buffer[count] = r;
        count += (taken >> number(r) & 1 == 0) as usize;
    }
    free.extend_from_slice(&buffer[..count]);
}

/// The order in which [`CodeGen::conform_from`]'s general loop emits `moves` (destination,
/// local, source) when no move reads another's destination, which is nearly always: that loop
/// then takes the first move each time and `swap_remove` puts the last one in its place, so the
/// order is the first, then the rest from the last back. `None` when some move depends on
/// another (the loop orders those). Emitting in this order without the loop's search for a
/// ready move keeps the code byte for byte the same, at a fraction of the work.
fn independent_order<R: Copy + PartialEq, L>(
    moves: &[(R, L, Option<R>)],
) -> Option<impl Iterator<Item = usize>> {
    let reads_a_destination =
        |&(_, _, src): &(R, L, Option<R>)| src.is_some_and(|src| moves.iter().any(|m| m.0 == src));
    if moves.iter().any(reads_a_destination) {
        return None;
    }
    Some((!moves.is_empty()).then_some(0).into_iter().chain((1..moves.len()).rev()))
}

/// Emits `moves` (destination, local, source: a register, or the local's slot when `None`) as
/// one parallel assignment through `emit`: no move overwrites a register another move still
/// reads; a cycle is broken by loading its first destination from its slot instead. The order
/// is [`independent_order`]'s when no move reads another's destination.
fn emit_parallel_moves<R: Copy + PartialEq>(
    mut moves: SmallVec<[(R, u32, Option<R>); 16]>,
    mut emit: impl FnMut(R, u32, Option<R>),
) {
    if let Some(order) = independent_order(&moves) {
        for i in order {
            let (dst, local, src) = moves[i];
            emit(dst, local, src);
        }
        return;
    }
    while !moves.is_empty() {
        let ready = (0..moves.len())
            .find(|&i| !moves.iter().any(|m| m.2 == Some(moves[i].0)))
            .unwrap_or_else(|| {
                // A cycle: the first destination is loaded from its slot, so no move reads it
                // any more.
                let dst = moves[0].0;
                moves.iter_mut().filter(|m| m.2 == Some(dst)).for_each(|m| m.2 = None);
                0
            });
        let (dst, local, src) = moves.swap_remove(ready);
        emit(dst, local, src);
    }
}

struct CodeGen<'m, M: MacroAssembler> {
    masm: M,
    module: &'m ModuleInner,
    locals: Vec<Ty>,
    temp_base: u32,
    stack: Vec<Value>,
    controls: Vec<Control<M::Label>>,
    /// Registers holding nothing, popped from the end.
    free: Vec<Reg>,
    /// Float registers holding nothing, popped from the end.
    free_float: Vec<FReg>,
    reachable: bool,
    dead_depth: u32,
    results: Vec<Ty>,
    /// The module offset of the operator being compiled.
    wasm_offset: u32,
    /// The trap handlers of the calls and throws inside `try_table`s so far, emitted after the
    /// body.
    handlers: Vec<TrapHandler<M::Label>>,
    /// The fuel each straight-line segment costs, in order, when fuel is metered (empty when
    /// not): taken from the interpreter's translation, so both tiers charge the same amounts at
    /// the same points (see `translate::ends_fuel_segment`).
    fuel: &'m [u32],
    /// The next segment's index in `fuel`.
    next_fuel: usize,
    /// Whether the current segment has been charged.
    in_fuel_segment: bool,
    /// The function's defined-function index (its profile counters).
    def: u32,
    options: Options,
    /// While compiling an access to a 64-bit memory: its static offset (the address is checked
    /// to fit in 32 bits with it, see [`CodeGen::pop_address`]).
    address64: Option<u64>,
    /// Whether the module has a memory other than a 32-bit memory 0, so that an access may need
    /// [`MacroAssembler::set_memory`] or a 64-bit address check (most modules do not: deciding
    /// per operator costs a match).
    other_memories: bool,
    /// The ordinal the next `loop` operator gets (every one counts, in dead code too).
    next_loop: u32,
    /// Locals whose current value is also in a register (written through by `local.set`, so
    /// the slot is always current too). Dropped at anything that clobbers registers (calls);
    /// cached registers are neither free nor held by the value stack, and an allocation that
    /// finds no free register takes one from here.
    ///
    /// Since a slot is always current, any cache state can be established by loads alone: this
    /// is the register state carried across labels. Each label has one (its control's `state`);
    /// every branch to it and the fall-through into it first make the registers agree with it
    /// ([`CodeGen::conform_to_state`]), and the code after the label starts from it. Loop
    /// headers cache the locals their loop touches most (from the [`BodyScan`]), loaded on
    /// entry, on every on-stack-replacement entry and after every call of the tiering hook.
    cache: Cache,
    /// Cached locals lent to the operands of the operator being compiled (see [`Held`]).
    lent: Cache,
    /// The register states of the open controls' labels (each control's `state`).
    label_states: LabelStates,
    /// Every register the code writes (each came from `free` at least once), in order.
    used: Vec<Reg>,
    /// `used` by register number.
    used_mask: u64,
    /// Scratch space for [`BodyScan::loop_locals`], one zero per local.
    local_counts: Vec<u32>,
    scan: BodyScan<'m>,
}

/// A condition `lhs cond rhs` at a size, not yet materialized as a boolean, with who holds the
/// operands' registers.
#[derive(Clone, Copy, Debug)]
struct Comparison {
    cond: Cond,
    size: Size,
    lhs: Reg,
    lhs_held: Held,
    rhs: RegImm,
    rhs_held: Held,
}

/// Whether the operator `ops` reads next is a `br_if` or an `if` (from its opcode byte).
fn next_is_branch(ops: &FastOperators<'_>) -> bool {
    const BR_IF: u8 = 0x0D;
    const IF: u8 = 0x04;
    matches!(ops.peek_opcode(), Some(BR_IF | IF))
}

/// The condition and operand type of an integer comparison operator (`eqz` compares with 0).
fn int_comparison(op: &Operator<'_>) -> Option<(Cond, Ty)> {
    use Operator as O;
    Some(match op {
        O::I32Eqz | O::I32Eq => (Cond::Eq, Ty::I32),
        O::I32Ne => (Cond::Ne, Ty::I32),
        O::I32LtS => (Cond::LtS, Ty::I32),
        O::I32LtU => (Cond::LtU, Ty::I32),
        O::I32GtS => (Cond::GtS, Ty::I32),
        O::I32GtU => (Cond::GtU, Ty::I32),
        O::I32LeS => (Cond::LeS, Ty::I32),
        O::I32LeU => (Cond::LeU, Ty::I32),
        O::I32GeS => (Cond::GeS, Ty::I32),
        O::I32GeU => (Cond::GeU, Ty::I32),
        O::I64Eqz | O::I64Eq => (Cond::Eq, Ty::I64),
        O::I64Ne => (Cond::Ne, Ty::I64),
        O::I64LtS => (Cond::LtS, Ty::I64),
        O::I64LtU => (Cond::LtU, Ty::I64),
        O::I64GtS => (Cond::GtS, Ty::I64),
        O::I64GtU => (Cond::GtU, Ty::I64),
        O::I64LeS => (Cond::LeS, Ty::I64),
        O::I64LeU => (Cond::LeU, Ty::I64),
        O::I64GeS => (Cond::GeS, Ty::I64),
        O::I64GeU => (Cond::GeU, Ty::I64),
        _ => return None,
    })
}

impl<M: MacroAssembler> CodeGen<'_, M> {
    fn visit(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        debug_assert!(self.lent.is_empty(), "every lent register given back");
        if self.reachable && !self.fuel.is_empty() {
            self.charge_fuel()?;
        }
        let access = if self.other_memories && self.reachable {
            crate::operators::access_of(op)
        } else {
            None
        };
        let switched = match access {
            Some(access) if access.memory != 0 || self.is_memory64(access.memory) => {
                self.masm.set_memory(access.memory);
                self.address64 = self.is_memory64(access.memory).then_some(access.offset);
                true
            }
            _ => false,
        };
        // One call site, so that it inlines here (an error ends the whole compile).
        self.visit_op(op)?;
        if switched {
            self.address64 = None;
            self.masm.set_memory(0);
        }
        // Segments matter only when fuel is metered (and deciding costs a match per operator).
        if !self.fuel.is_empty() && ends_fuel_segment(op) {
            self.in_fuel_segment = false;
        }
        Ok(())
    }

    /// An integer comparison (`op`, whose condition and operand type are `comparison`) directly
    /// followed by the `br_if` or `if` that consumes it (`branch`), as one compare-and-branch
    /// with no boolean in between.
    fn visit_compare_and_branch(
        &mut self,
        op: &Operator<'_>,
        (cond, ty): (Cond, Ty),
        branch: &Operator<'_>,
    ) -> Result<(), CompileError> {
        if !self.fuel.is_empty() {
            // The branch is in the comparison's segment (a comparison never ends one).
            self.charge_fuel()?;
        }
        let (rhs, rhs_held) = if matches!(op, Operator::I32Eqz | Operator::I64Eqz) {
            (RegImm::Imm(0), Held::Owned)
        } else {
            self.pop_operand()
        };
        let (lhs, lhs_held) = self.pop_read();
        let operands = Comparison { cond, size: ty.size(), lhs, lhs_held, rhs, rhs_held };
        match *branch {
            Operator::BrIf { relative_depth } => self.branch_if(operands, relative_depth),
            Operator::If { blockty } => self.visit_if(operands, blockty)?,
            ref other => {
                return Err(CompileError::Internal(format!("{other:?} fused with a comparison")));
            }
        }
        self.in_fuel_segment = false;
        Ok(())
    }

    /// Charges the segment the next operator opens, if it opens one.
    fn charge_fuel(&mut self) -> Result<(), CompileError> {
        if self.in_fuel_segment {
            return Ok(());
        }
        let amount = *self.fuel.get(self.next_fuel).ok_or_else(|| {
            CompileError::Internal("more fuel segments than the interpreter's".into())
        })?;
        self.masm.consume_fuel(amount);
        self.next_fuel += 1;
        self.in_fuel_segment = true;
        Ok(())
    }

    fn visit_op(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        if !self.reachable {
            match op {
                Operator::Loop { .. } => {
                    self.masm.no_osr_entry();
                    self.next_loop += 1;
                    self.dead_depth += 1
                }
                Operator::Block { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                    self.dead_depth += 1
                }
                Operator::Else if self.dead_depth == 0 => self.visit_else(),
                Operator::End if self.dead_depth == 0 => self.visit_end(),
                Operator::End => self.dead_depth -= 1,
                _ => {}
            }
            return Ok(());
        }
        if let Some((cond, ty)) = int_comparison(op) {
            match op {
                Operator::I32Eqz | Operator::I64Eqz => self.unary(UnaryOp::Eqz, ty, Ty::I32),
                _ => self.compare(cond, ty),
            }
            return Ok(());
        }
        use Operator as O;
        match *op {
            O::Unreachable => {
                let trap = self.masm.trap_label(TrapCode::Unreachable);
                self.masm.jump(trap);
                self.mark_unreachable();
            }
            O::Nop => {}
            O::Block { blockty } => self.visit_block(Kind::Block, blockty)?,
            O::TryTable { ref try_table } => self.visit_try_table(try_table)?,
            O::Throw { tag_index } => {
                let ty = self.module.tags[tag_index as usize];
                let args = self.module.types[ty as usize].params().len();
                self.handled(|g| g.runtime(RuntimeOp::Throw, tag_index, 0, args, None));
                self.mark_unreachable();
            }
            O::ThrowRef => {
                self.handled(|g| g.runtime(RuntimeOp::ThrowRef, 0, 0, 1, None));
                self.mark_unreachable();
            }
            O::Loop { blockty } => self.visit_block(Kind::Loop, blockty)?,
            O::If { blockty } => self.visit_block(Kind::If, blockty)?,
            O::Else => self.visit_else(),
            O::End => self.visit_end(),
            O::Br { relative_depth } => {
                self.branch(relative_depth);
                self.mark_unreachable();
            }
            O::BrIf { relative_depth } => self.visit_br_if(relative_depth),
            O::BrTable { ref targets } => {
                let depths = crate::module::br_table_depths(targets)
                    .map_err(|e| CompileError::Internal(e.to_string()))?;
                self.visit_br_table(&depths);
            }
            O::Return => {
                self.emit_return();
                self.mark_unreachable();
            }
            O::Call { function_index } => self.visit_call(function_index)?,
            O::ReturnCall { function_index } => {
                self.visit_return_call(function_index);
                self.mark_unreachable();
            }
            O::ReturnCallIndirect { type_index, table_index } => {
                self.visit_return_call_indirect(type_index, table_index);
                self.mark_unreachable();
            }
            O::ReturnCallRef { type_index } => {
                self.visit_return_call_ref(type_index);
                self.mark_unreachable();
            }
            O::CallIndirect { type_index, table_index } => {
                self.visit_call_indirect(type_index, table_index)?
            }
            O::CallRef { type_index } => self.visit_call_ref(type_index)?,
            O::BrOnNull { relative_depth } => self.visit_br_on_null(relative_depth, true),
            O::BrOnNonNull { relative_depth } => self.visit_br_on_null(relative_depth, false),
            O::RefAsNonNull => self.visit_ref_as_non_null(),
            O::MemorySize { mem: memory @ 1.. } => {
                let ty = if self.is_memory64(memory) { Ty::I64 } else { Ty::I32 };
                self.runtime(RuntimeOp::MemorySize, memory, 0, 0, Some(ty))
            }
            O::MemoryGrow { mem: memory } if memory != 0 || self.is_memory64(0) => {
                let ty = if self.is_memory64(memory) { Ty::I64 } else { Ty::I32 };
                self.runtime(RuntimeOp::MemoryGrow, memory, 0, 1, Some(ty))
            }
            O::MemorySize { .. } => {
                let dst = self.alloc();
                // The page count fits in 32 bits, zero-extended for a 64-bit memory's `i64`.
                self.masm.memory_size(dst);
                let ty = if self.is_memory64(0) { Ty::I64 } else { Ty::I32 };
                self.push_reg(ty, dst);
            }
            O::MemoryGrow { .. } => {
                // The helper clobbers every register: everything else goes to its slot first.
                self.drop_local_cache();
                self.spill_all_but_top();
                let (delta, _) = self.pop_reg();
                self.masm.memory_grow(delta, delta);
                self.drop_local_cache();
                self.push_reg(Ty::I32, delta);
            }
            O::Drop => {
                let v = self.pop();
                self.release(v);
            }
            O::Select => self.visit_select(),
            O::TypedSelect { ty } => {
                Ty::from_val(ValType::from_wasmparser(ty, &self.module.sigs))?;
                self.visit_select()
            }
            O::LocalGet { local_index } => {
                let ty = self.locals[local_index as usize];
                self.stack.push(Value { ty, loc: Loc::Local(local_index) });
            }
            O::LocalSet { local_index } => self.local_set(local_index),
            O::LocalTee { local_index } => {
                self.local_set(local_index);
                let ty = self.locals[local_index as usize];
                self.stack.push(Value { ty, loc: Loc::Local(local_index) });
            }
            O::GlobalGet { global_index } => {
                let ty = Ty::from_val(self.module.globals[global_index as usize].content)?;
                if ty.is_float() {
                    let dst = self.alloc_float();
                    let global = self.global_cell(global_index);
                    self.masm.load_global_float(ty.size(), dst, global);
                    self.stack.push(Value { ty, loc: Loc::FReg(dst) });
                    return Ok(());
                }
                let dst = self.alloc();
                let global = self.global_cell(global_index);
                self.masm.load_global(ty.size(), dst, global);
                self.stack.push(Value { ty, loc: Loc::Reg(dst) });
            }
            O::GlobalSet { global_index } if self.top_is_float() => {
                let ty = self.stack.last().expect("an operand").ty;
                let (src, held) = self.pop_fread();
                let global = self.global_cell(global_index);
                self.masm.store_global_float(ty.size(), src, global);
                self.release_fread(src, held);
            }
            O::GlobalSet { global_index } => {
                let ty = self.stack.last().expect("an operand").ty;
                let (src, held) = self.pop_read();
                let global = self.global_cell(global_index);
                self.masm.store_global(ty.size(), src, global);
                self.release_read(src, held);
            }
            O::I32Const { value } => {
                self.stack.push(Value { ty: Ty::I32, loc: Loc::Imm(value as i64) })
            }
            O::I64Const { value } => self.stack.push(Value { ty: Ty::I64, loc: Loc::Imm(value) }),

            O::I32Load { memarg } => self.load(LoadKind::I32, Ty::I32, memarg.offset),
            O::I64Load { memarg } => self.load(LoadKind::I64, Ty::I64, memarg.offset),
            O::I32Load8S { memarg } => self.load(LoadKind::I32_8S, Ty::I32, memarg.offset),
            O::I32Load8U { memarg } => self.load(LoadKind::I32_8U, Ty::I32, memarg.offset),
            O::I32Load16S { memarg } => self.load(LoadKind::I32_16S, Ty::I32, memarg.offset),
            O::I32Load16U { memarg } => self.load(LoadKind::I32_16U, Ty::I32, memarg.offset),
            O::I64Load8S { memarg } => self.load(LoadKind::I64_8S, Ty::I64, memarg.offset),
            O::I64Load8U { memarg } => self.load(LoadKind::I64_8U, Ty::I64, memarg.offset),
            O::I64Load16S { memarg } => self.load(LoadKind::I64_16S, Ty::I64, memarg.offset),
            O::I64Load16U { memarg } => self.load(LoadKind::I64_16U, Ty::I64, memarg.offset),
            O::I64Load32S { memarg } => self.load(LoadKind::I64_32S, Ty::I64, memarg.offset),
            O::I64Load32U { memarg } => self.load(LoadKind::I64_32U, Ty::I64, memarg.offset),
            O::I32Store { memarg } | O::I64Store32 { memarg } => {
                self.store(StoreKind::B32, memarg.offset)
            }
            O::I64Store { memarg } => self.store(StoreKind::B64, memarg.offset),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(StoreKind::B8, memarg.offset)
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(StoreKind::B16, memarg.offset)
            }

            O::I32Add => self.int_op(IntOp::Add, Ty::I32),
            O::I32Sub => self.int_op(IntOp::Sub, Ty::I32),
            O::I32Mul => self.int_op(IntOp::Mul, Ty::I32),
            O::I32And => self.int_op(IntOp::And, Ty::I32),
            O::I32Or => self.int_op(IntOp::Or, Ty::I32),
            O::I32Xor => self.int_op(IntOp::Xor, Ty::I32),
            O::I32Shl => self.int_op(IntOp::Shl, Ty::I32),
            O::I32ShrS => self.int_op(IntOp::ShrS, Ty::I32),
            O::I32ShrU => self.int_op(IntOp::ShrU, Ty::I32),
            O::I32Rotl => self.int_op(IntOp::Rotl, Ty::I32),
            O::I32Rotr => self.int_op(IntOp::Rotr, Ty::I32),
            O::I64Add => self.int_op(IntOp::Add, Ty::I64),
            O::I64Sub => self.int_op(IntOp::Sub, Ty::I64),
            O::I64Mul => self.int_op(IntOp::Mul, Ty::I64),
            O::I64And => self.int_op(IntOp::And, Ty::I64),
            O::I64Or => self.int_op(IntOp::Or, Ty::I64),
            O::I64Xor => self.int_op(IntOp::Xor, Ty::I64),
            O::I64Shl => self.int_op(IntOp::Shl, Ty::I64),
            O::I64ShrS => self.int_op(IntOp::ShrS, Ty::I64),
            O::I64ShrU => self.int_op(IntOp::ShrU, Ty::I64),
            O::I64Rotl => self.int_op(IntOp::Rotl, Ty::I64),
            O::I64Rotr => self.int_op(IntOp::Rotr, Ty::I64),
            O::I32DivS => self.div(DivOp::DivS, Ty::I32),
            O::I32DivU => self.div(DivOp::DivU, Ty::I32),
            O::I32RemS => self.div(DivOp::RemS, Ty::I32),
            O::I32RemU => self.div(DivOp::RemU, Ty::I32),
            O::I64DivS => self.div(DivOp::DivS, Ty::I64),
            O::I64DivU => self.div(DivOp::DivU, Ty::I64),
            O::I64RemS => self.div(DivOp::RemS, Ty::I64),
            O::I64RemU => self.div(DivOp::RemU, Ty::I64),
            O::I32Clz => self.unary(UnaryOp::Clz, Ty::I32, Ty::I32),
            O::I32Ctz => self.unary(UnaryOp::Ctz, Ty::I32, Ty::I32),
            O::I32Popcnt if self.masm.has_unary(UnaryOp::Popcnt) => {
                self.unary(UnaryOp::Popcnt, Ty::I32, Ty::I32)
            }
            O::I64Clz => self.unary(UnaryOp::Clz, Ty::I64, Ty::I64),
            O::I64Ctz => self.unary(UnaryOp::Ctz, Ty::I64, Ty::I64),
            O::I64Popcnt if self.masm.has_unary(UnaryOp::Popcnt) => {
                self.unary(UnaryOp::Popcnt, Ty::I64, Ty::I64)
            }
            O::I32Extend8S => self.unary(UnaryOp::Extend8S, Ty::I32, Ty::I32),
            O::I32Extend16S => self.unary(UnaryOp::Extend16S, Ty::I32, Ty::I32),
            O::I64Extend8S => self.unary(UnaryOp::Extend8S, Ty::I64, Ty::I64),
            O::I64Extend16S => self.unary(UnaryOp::Extend16S, Ty::I64, Ty::I64),
            O::I64Extend32S => self.unary(UnaryOp::Extend32S, Ty::I64, Ty::I64),
            O::I64ExtendI32S => self.unary(UnaryOp::Extend32S, Ty::I64, Ty::I64),
            O::I64ExtendI32U => {
                // An i32 in a register has its upper half clear: the value, retyped.
                if let Some(Value { loc: Loc::Imm(imm), .. }) = self.stack.last() {
                    let value = *imm as u32 as i64;
                    self.stack.pop();
                    self.stack.push(Value { ty: Ty::I64, loc: Loc::Imm(value) });
                } else {
                    let (r, _) = self.pop_reg();
                    self.push_reg(Ty::I64, r);
                }
            }
            O::I32WrapI64 => self.unary(UnaryOp::Extend32U, Ty::I64, Ty::I32),
            ref other => return self.visit_float_or_ref(other),
        }
        Ok(())
    }

    /// Float, reference, table and bulk-memory operators (the ones `visit` does not handle).
    fn visit_float_or_ref(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        use ConvertOp::{Convert, Reinterpret, Resize, Trunc};
        use FloatCmp as C;
        use FloatOp as F;
        use FloatUnaryOp as U;
        use Operator as O;
        use Size::{S32, S64};
        let trunc = |signed, saturating, int, float| Trunc { signed, saturating, int, float };
        let convert = |signed, int, float| Convert { signed, int, float };
        match *op {
            O::F32Const { value } => {
                self.stack.push(Value { ty: Ty::F32, loc: Loc::Imm(value.bits() as i64) })
            }
            O::F64Const { value } => {
                self.stack.push(Value { ty: Ty::F64, loc: Loc::Imm(value.bits() as i64) })
            }
            O::F32Load { memarg } => self.load_float(Ty::F32, memarg.offset),
            O::F64Load { memarg } => self.load_float(Ty::F64, memarg.offset),
            O::F32Store { memarg } => self.store_float(S32, memarg.offset),
            O::F64Store { memarg } => self.store_float(S64, memarg.offset),

            O::F32Add => self.float_op(F::Add, Ty::F32),
            O::F32Sub => self.float_op(F::Sub, Ty::F32),
            O::F32Mul => self.float_op(F::Mul, Ty::F32),
            O::F32Div => self.float_op(F::Div, Ty::F32),
            O::F32Min => self.float_op(F::Min, Ty::F32),
            O::F32Max => self.float_op(F::Max, Ty::F32),
            O::F32Copysign => self.float_op(F::Copysign, Ty::F32),
            O::F64Add => self.float_op(F::Add, Ty::F64),
            O::F64Sub => self.float_op(F::Sub, Ty::F64),
            O::F64Mul => self.float_op(F::Mul, Ty::F64),
            O::F64Div => self.float_op(F::Div, Ty::F64),
            O::F64Min => self.float_op(F::Min, Ty::F64),
            O::F64Max => self.float_op(F::Max, Ty::F64),
            O::F64Copysign => self.float_op(F::Copysign, Ty::F64),
            O::F32Abs => self.float_unary(U::Abs, Ty::F32),
            O::F32Neg => self.float_unary(U::Neg, Ty::F32),
            O::F32Sqrt => self.float_unary(U::Sqrt, Ty::F32),
            O::F32Ceil if self.masm.has_float_unary(U::Ceil) => self.float_unary(U::Ceil, Ty::F32),
            O::F32Floor if self.masm.has_float_unary(U::Floor) => {
                self.float_unary(U::Floor, Ty::F32)
            }
            O::F32Trunc if self.masm.has_float_unary(U::Trunc) => {
                self.float_unary(U::Trunc, Ty::F32)
            }
            O::F32Nearest if self.masm.has_float_unary(U::Nearest) => {
                self.float_unary(U::Nearest, Ty::F32)
            }
            O::F64Abs => self.float_unary(U::Abs, Ty::F64),
            O::F64Neg => self.float_unary(U::Neg, Ty::F64),
            O::F64Sqrt => self.float_unary(U::Sqrt, Ty::F64),
            O::F64Ceil if self.masm.has_float_unary(U::Ceil) => self.float_unary(U::Ceil, Ty::F64),
            O::F64Floor if self.masm.has_float_unary(U::Floor) => {
                self.float_unary(U::Floor, Ty::F64)
            }
            O::F64Trunc if self.masm.has_float_unary(U::Trunc) => {
                self.float_unary(U::Trunc, Ty::F64)
            }
            O::F64Nearest if self.masm.has_float_unary(U::Nearest) => {
                self.float_unary(U::Nearest, Ty::F64)
            }
            O::F32Eq => self.float_compare(C::Eq, Ty::F32),
            O::F32Ne => self.float_compare(C::Ne, Ty::F32),
            O::F32Lt => self.float_compare(C::Lt, Ty::F32),
            O::F32Gt => self.float_compare(C::Gt, Ty::F32),
            O::F32Le => self.float_compare(C::Le, Ty::F32),
            O::F32Ge => self.float_compare(C::Ge, Ty::F32),
            O::F64Eq => self.float_compare(C::Eq, Ty::F64),
            O::F64Ne => self.float_compare(C::Ne, Ty::F64),
            O::F64Lt => self.float_compare(C::Lt, Ty::F64),
            O::F64Gt => self.float_compare(C::Gt, Ty::F64),
            O::F64Le => self.float_compare(C::Le, Ty::F64),
            O::F64Ge => self.float_compare(C::Ge, Ty::F64),

            O::I32TruncF32S => self.float_to_int(trunc(true, false, S32, S32), Ty::I32),
            O::I32TruncF32U => self.float_to_int(trunc(false, false, S32, S32), Ty::I32),
            O::I32TruncF64S => self.float_to_int(trunc(true, false, S32, S64), Ty::I32),
            O::I32TruncF64U => self.float_to_int(trunc(false, false, S32, S64), Ty::I32),
            O::I64TruncF32S => self.float_to_int(trunc(true, false, S64, S32), Ty::I64),
            O::I64TruncF32U => self.float_to_int(trunc(false, false, S64, S32), Ty::I64),
            O::I64TruncF64S => self.float_to_int(trunc(true, false, S64, S64), Ty::I64),
            O::I64TruncF64U => self.float_to_int(trunc(false, false, S64, S64), Ty::I64),
            O::I32TruncSatF32S => self.float_to_int(trunc(true, true, S32, S32), Ty::I32),
            O::I32TruncSatF32U => self.float_to_int(trunc(false, true, S32, S32), Ty::I32),
            O::I32TruncSatF64S => self.float_to_int(trunc(true, true, S32, S64), Ty::I32),
            O::I32TruncSatF64U => self.float_to_int(trunc(false, true, S32, S64), Ty::I32),
            O::I64TruncSatF32S => self.float_to_int(trunc(true, true, S64, S32), Ty::I64),
            O::I64TruncSatF32U => self.float_to_int(trunc(false, true, S64, S32), Ty::I64),
            O::I64TruncSatF64S => self.float_to_int(trunc(true, true, S64, S64), Ty::I64),
            O::I64TruncSatF64U => self.float_to_int(trunc(false, true, S64, S64), Ty::I64),
            O::I32ReinterpretF32 => {
                self.float_to_int(Reinterpret { to_float: false, size: S32 }, Ty::I32)
            }
            O::I64ReinterpretF64 => {
                self.float_to_int(Reinterpret { to_float: false, size: S64 }, Ty::I64)
            }
            O::F32ConvertI32S => self.int_to_float(convert(true, S32, S32), Ty::F32),
            O::F32ConvertI32U => self.int_to_float(convert(false, S32, S32), Ty::F32),
            O::F32ConvertI64S => self.int_to_float(convert(true, S64, S32), Ty::F32),
            O::F32ConvertI64U => self.int_to_float(convert(false, S64, S32), Ty::F32),
            O::F64ConvertI32S => self.int_to_float(convert(true, S32, S64), Ty::F64),
            O::F64ConvertI32U => self.int_to_float(convert(false, S32, S64), Ty::F64),
            O::F64ConvertI64S => self.int_to_float(convert(true, S64, S64), Ty::F64),
            O::F64ConvertI64U => self.int_to_float(convert(false, S64, S64), Ty::F64),
            O::F32ReinterpretI32 => {
                self.int_to_float(Reinterpret { to_float: true, size: S32 }, Ty::F32)
            }
            O::F64ReinterpretI64 => {
                self.int_to_float(Reinterpret { to_float: true, size: S64 }, Ty::F64)
            }
            O::F32DemoteF64 => self.float_to_float(Resize { to: S32 }, Ty::F32),
            O::F64PromoteF32 => self.float_to_float(Resize { to: S64 }, Ty::F64),

            O::RefNull { hty } => {
                // Concrete heap types are function types (no GC).
                let ty =
                    if hty == wasmparser::HeapType::EXTERN { Ty::ExternRef } else { Ty::FuncRef };
                self.stack.push(Value { ty, loc: Loc::Imm(0) })
            }
            O::RefIsNull => self.unary(UnaryOp::Eqz, Ty::I64, Ty::I32),
            O::RefFunc { function_index } => {
                self.runtime(RuntimeOp::RefFunc, function_index, 0, 0, Some(Ty::FuncRef))
            }
            O::TableGet { table } => {
                let ty = Ty::from_val(self.module.tables[table as usize].element)?;
                self.runtime(RuntimeOp::TableGet, table, 0, 1, Some(ty))
            }
            O::TableSet { table } => self.runtime(RuntimeOp::TableSet, table, 0, 2, None),
            O::TableSize { table } => {
                let ty = self.table_index_type(table);
                self.runtime(RuntimeOp::TableSize, table, 0, 0, Some(ty))
            }
            O::TableGrow { table } => {
                let ty = self.table_index_type(table);
                self.runtime(RuntimeOp::TableGrow, table, 0, 2, Some(ty))
            }
            O::TableFill { table } => self.runtime(RuntimeOp::TableFill, table, 0, 3, None),
            O::TableCopy { dst_table, src_table } => {
                self.runtime(RuntimeOp::TableCopy, dst_table, src_table, 3, None)
            }
            O::TableInit { elem_index, table } => {
                self.runtime(RuntimeOp::TableInit, table, elem_index, 3, None)
            }
            O::ElemDrop { elem_index } => self.runtime(RuntimeOp::ElemDrop, elem_index, 0, 0, None),
            O::MemoryFill { mem } => self.runtime(RuntimeOp::MemoryFill, mem, 0, 3, None),
            O::MemoryCopy { dst_mem, src_mem } => {
                self.runtime(RuntimeOp::MemoryCopy, dst_mem, src_mem, 3, None)
            }
            O::MemoryInit { data_index, mem } => {
                self.runtime(RuntimeOp::MemoryInit, data_index, mem, 3, None)
            }
            O::DataDrop { data_index } => self.runtime(RuntimeOp::DataDrop, data_index, 0, 0, None),
            ref other => return Err(unsupported(format!("{other:?}"))),
        }
        Ok(())
    }

    /// Where global `index` is.
    fn global_cell(&self, index: u32) -> GlobalCell {
        GlobalCell::of(index, self.module.num_imported_globals)
    }

    // ---- registers and the value stack ----

    /// Byte offset of the canonical slot of stack position `position`.
    fn canonical(&self, position: usize) -> u32 {
        (self.temp_base + position as u32) * SLOT_BYTES
    }

    fn local_slot(local: u32) -> u32 {
        local * SLOT_BYTES
    }

    /// A free register: a free one, else one a cached local gives up, else the deepest
    /// register-held value is spilled.
    fn alloc(&mut self) -> Reg {
        if let Some(r) = self.take_free() {
            return r;
        }
        if let Some(r) = self.cache.ints.remove_first() {
            return r;
        }
        let position = self
            .stack
            .iter()
            .position(|v| matches!(v.loc, Loc::Reg(_)))
            .expect("more registers than values in flight");
        self.spill(position);
        self.take_free().expect("spilling freed a register")
    }

    /// A register off the free list, noted as used.
    fn take_free(&mut self) -> Option<Reg> {
        let r = self.free.pop()?;
        if self.used_mask & 1 << r.0 == 0 {
            self.used_mask |= 1 << r.0;
            self.used.push(r);
        }
        Some(r)
    }

    /// A free float register, like [`CodeGen::alloc`].
    fn alloc_float(&mut self) -> FReg {
        if let Some(r) = self.free_float.pop() {
            return r;
        }
        if let Some(r) = self.cache.floats.remove_first() {
            return r;
        }
        let position = self
            .stack
            .iter()
            .position(|v| matches!(v.loc, Loc::FReg(_)))
            .expect("more float registers than values in flight");
        self.spill(position);
        self.free_float.pop().expect("spilling freed a float register")
    }

    fn top_is_float(&self) -> bool {
        self.stack.last().expect("an operand").ty.is_float()
    }

    /// Moves the value at `position` out of registers and locals into its canonical slot.
    /// Constants stay constants: nothing can change them, so every path agrees on them without a
    /// store, and the interpreter keeps them in its constant slots too (which on-stack
    /// replacement relies on: a value below a loop is a constant in both tiers or in its
    /// canonical slot in both).
    fn spill(&mut self, position: usize) {
        if !matches!(self.stack[position].loc, Loc::Imm(_)) {
            self.materialize(position);
        }
    }

    /// Puts the value at `position` in its canonical slot, constants included.
    fn materialize(&mut self, position: usize) {
        let value = self.stack[position];
        let slot = self.canonical(position);
        match value.loc {
            Loc::Slot => return,
            Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, slot),
            Loc::Local(l) => self.copy_local(slot, l),
            Loc::Reg(r) => {
                self.masm.store_slot(Size::S64, r, slot);
                self.free.push(r);
            }
            Loc::FReg(r) => {
                self.masm.store_slot_float(value.ty.size(), r, slot);
                self.free_float.push(r);
            }
        }
        self.stack[position].loc = Loc::Slot;
    }

    /// Copies local `local` into the slot at byte offset `slot`: from its register when cached
    /// (the bits above the value are never read at the value's type), else slot to slot.
    fn copy_local(&mut self, slot: u32, local: u32) {
        let size = self.locals[local as usize].size();
        if let Some(r) = self.cached(local) {
            self.masm.store_slot(Size::S64, r, slot);
        } else if let Some(r) = self.cached_float(local) {
            self.masm.store_slot_float(size, r, slot);
        } else {
            self.masm.copy_value(size, slot, Self::local_slot(local));
        }
    }

    /// Every value into its canonical slot or a constant: the state all paths into a label share.
    fn spill_all(&mut self) {
        for position in 0..self.stack.len() {
            self.spill(position);
        }
    }

    /// The values from `position` up into their canonical slots, constants included (call
    /// arguments, block parameters).
    fn materialize_from(&mut self, position: usize) {
        for position in position..self.stack.len() {
            self.materialize(position);
        }
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated code never pops an empty stack")
    }

    /// Frees the register a popped value held.
    fn release(&mut self, value: Value) {
        match value.loc {
            Loc::Reg(r) => self.free.push(r),
            Loc::FReg(r) => self.free_float.push(r),
            _ => {}
        }
    }

    /// Pops a value into a register the caller now owns (and may write).
    fn pop_reg(&mut self) -> (Reg, Ty) {
        let position = self.stack.len() - 1;
        let value = self.stack[position];
        if let Loc::Reg(r) = value.loc {
            self.stack.pop();
            return (r, value.ty);
        }
        let r = self.alloc();
        let size = value.ty.size();
        match value.loc {
            Loc::Imm(imm) => self.masm.mov(size, r, RegImm::Imm(imm)),
            Loc::Local(l) => match self.cached(l) {
                Some(cached) => self.masm.mov(size, r, RegImm::Reg(cached)),
                None => self.masm.load_slot(size, r, Self::local_slot(l)),
            },
            Loc::Slot => self.masm.load_slot(size, r, self.canonical(position)),
            Loc::Reg(_) => unreachable!("handled above"),
            Loc::FReg(_) => unreachable!("validated code never uses a float as an integer"),
        }
        self.stack.pop();
        (r, value.ty)
    }

    /// Pops a value the caller only reads: a cached local's own register is lent (out of the
    /// cache until [`CodeGen::release_read`]), anything else comes as from `pop_reg`.
    fn pop_read(&mut self) -> (Reg, Held) {
        if let Some(&Value { loc: Loc::Local(local), .. }) = self.stack.last() {
            if let Some(r) = self.cache.ints.swap_take(local) {
                self.stack.pop();
                self.lent.ints.push(local, r);
                return (r, Held::Lent(local));
            }
            if let Some(r) = self.lent.ints.find(local) {
                self.stack.pop();
                return (r, Held::Shared);
            }
        }
        (self.pop_reg().0, Held::Owned)
    }

    fn release_read(&mut self, r: Reg, held: Held) {
        match held {
            Held::Owned => self.free.push(r),
            Held::Lent(local) => {
                self.lent.ints.remove(local);
                self.cache.ints.push(local, r);
            }
            Held::Shared => {}
        }
    }

    /// A register for the result of an operation reading `src`: `src` itself when owned.
    fn result_reg(&mut self, src: Reg, held: Held) -> Reg {
        match held {
            Held::Owned => src,
            Held::Lent(_) | Held::Shared => self.alloc(),
        }
    }

    /// Like [`CodeGen::result_reg`], for floats.
    fn result_freg(&mut self, src: FReg, held: Held) -> FReg {
        match held {
            Held::Owned => src,
            Held::Lent(_) | Held::Shared => self.alloc_float(),
        }
    }

    /// The register caching local `local`, if any.
    fn cached(&self, local: u32) -> Option<Reg> {
        self.cache.ints.find(local)
    }

    /// The float register caching local `local`, if any.
    fn cached_float(&self, local: u32) -> Option<FReg> {
        self.cache.floats.find(local)
    }

    /// Forgets local `local`'s cached register, which becomes free.
    fn uncache(&mut self, local: u32) {
        if let Some(r) = self.cache.ints.swap_take(local) {
            self.free.push(r);
        }
        if let Some(r) = self.cache.floats.swap_take(local) {
            self.free_float.push(r);
        }
    }

    /// Forgets every cached local: before a call, or anything else that may change registers
    /// behind the code generator's back.
    fn drop_local_cache(&mut self) {
        self.free.extend(self.cache.ints.iter().map(|(_, r)| r));
        self.free_float.extend(self.cache.floats.iter().map(|(_, r)| r));
        self.cache.clear();
    }

    /// Pops a float value into a float register the caller now owns.
    fn pop_freg(&mut self) -> (FReg, Ty) {
        let position = self.stack.len() - 1;
        let value = self.stack[position];
        if let Loc::FReg(r) = value.loc {
            self.stack.pop();
            return (r, value.ty);
        }
        let r = self.alloc_float();
        let size = value.ty.size();
        match value.loc {
            Loc::Imm(bits) => self.masm.load_float_const(size, r, bits as u64),
            Loc::Local(l) => match self.cached_float(l) {
                Some(cached) => self.masm.mov_float(r, cached),
                None => self.masm.load_slot_float(size, r, Self::local_slot(l)),
            },
            Loc::Slot => self.masm.load_slot_float(size, r, self.canonical(position)),
            Loc::FReg(_) => unreachable!("handled above"),
            Loc::Reg(_) => unreachable!("validated code never uses an integer as a float"),
        }
        self.stack.pop();
        (r, value.ty)
    }

    /// [`CodeGen::pop_read`] for floats.
    fn pop_fread(&mut self) -> (FReg, Held) {
        if let Some(&Value { loc: Loc::Local(local), .. }) = self.stack.last() {
            if let Some(r) = self.cache.floats.swap_take(local) {
                self.stack.pop();
                self.lent.floats.push(local, r);
                return (r, Held::Lent(local));
            }
            if let Some(r) = self.lent.floats.find(local) {
                self.stack.pop();
                return (r, Held::Shared);
            }
        }
        (self.pop_freg().0, Held::Owned)
    }

    fn release_fread(&mut self, r: FReg, held: Held) {
        match held {
            Held::Owned => self.free_float.push(r),
            Held::Lent(local) => {
                self.lent.floats.remove(local);
                self.cache.floats.push(local, r);
            }
            Held::Shared => {}
        }
    }

    /// Pops a value the caller only reads, which may stay an immediate.
    fn pop_operand(&mut self) -> (RegImm, Held) {
        match self.stack.last().expect("an operand").loc {
            Loc::Imm(imm) => {
                self.stack.pop();
                (RegImm::Imm(imm), Held::Owned)
            }
            _ => {
                let (r, held) = self.pop_read();
                (RegImm::Reg(r), held)
            }
        }
    }

    fn release_operand(&mut self, operand: RegImm, held: Held) {
        if let RegImm::Reg(r) = operand {
            self.release_read(r, held);
        }
    }

    fn push_reg(&mut self, ty: Ty, r: Reg) {
        self.stack.push(Value { ty, loc: Loc::Reg(r) });
    }

    fn push_freg(&mut self, ty: Ty, r: FReg) {
        self.stack.push(Value { ty, loc: Loc::FReg(r) });
    }

    // ---- operations ----

    fn int_op(&mut self, op: IntOp, ty: Ty) {
        let (rhs, rhs_held) = self.pop_operand();
        let (lhs, lhs_held) = self.pop_read();
        let dst = self.result_reg(lhs, lhs_held);
        self.masm.int_op(op, ty.size(), dst, lhs, rhs);
        self.release_operand(rhs, rhs_held);
        if dst != lhs {
            self.release_read(lhs, lhs_held);
        }
        self.push_reg(ty, dst);
    }

    fn div(&mut self, op: DivOp, ty: Ty) {
        let (rhs, rhs_held) = self.pop_operand();
        let (lhs, lhs_held) = self.pop_read();
        let dst = self.result_reg(lhs, lhs_held);
        self.masm.div(op, ty.size(), dst, lhs, rhs);
        self.release_operand(rhs, rhs_held);
        if dst != lhs {
            self.release_read(lhs, lhs_held);
        }
        self.push_reg(ty, dst);
    }

    fn unary(&mut self, op: UnaryOp, operand: Ty, result: Ty) {
        let (src, held) = self.pop_read();
        let dst = self.result_reg(src, held);
        self.masm.unary(op, operand.size(), dst, src);
        if dst != src {
            self.release_read(src, held);
        }
        self.push_reg(result, dst);
    }

    fn float_op(&mut self, op: FloatOp, ty: Ty) {
        let (rhs, rhs_held) = self.pop_fread();
        let (lhs, lhs_held) = self.pop_fread();
        let dst = self.result_freg(lhs, lhs_held);
        self.masm.float_op(op, ty.size(), dst, lhs, rhs);
        self.release_fread(rhs, rhs_held);
        if dst != lhs {
            self.release_fread(lhs, lhs_held);
        }
        self.push_freg(ty, dst);
    }

    fn float_unary(&mut self, op: FloatUnaryOp, ty: Ty) {
        let (src, held) = self.pop_fread();
        let dst = self.result_freg(src, held);
        self.masm.float_unary(op, ty.size(), dst, src);
        if dst != src {
            self.release_fread(src, held);
        }
        self.push_freg(ty, dst);
    }

    fn float_compare(&mut self, cmp: FloatCmp, ty: Ty) {
        let (rhs, rhs_held) = self.pop_fread();
        let (lhs, lhs_held) = self.pop_fread();
        let dst = self.alloc();
        self.masm.float_compare(cmp, ty.size(), dst, lhs, rhs);
        self.release_fread(rhs, rhs_held);
        self.release_fread(lhs, lhs_held);
        self.push_reg(Ty::I32, dst);
    }

    fn float_to_int(&mut self, op: ConvertOp, result: Ty) {
        let (src, held) = self.pop_fread();
        let dst = self.alloc();
        self.masm.float_to_int(op, dst, src);
        self.release_fread(src, held);
        self.push_reg(result, dst);
    }

    fn int_to_float(&mut self, op: ConvertOp, result: Ty) {
        let (src, held) = self.pop_read();
        let dst = self.alloc_float();
        self.masm.int_to_float(op, dst, src);
        self.release_read(src, held);
        self.push_freg(result, dst);
    }

    fn float_to_float(&mut self, op: ConvertOp, result: Ty) {
        let (src, held) = self.pop_fread();
        let dst = self.result_freg(src, held);
        self.masm.float_to_float(op, dst, src);
        if dst != src {
            self.release_fread(src, held);
        }
        self.push_freg(result, dst);
    }

    /// An operation the executor implements: every value goes to its canonical slot (so the
    /// `operands` top values are consecutive slots), and the result, if any, comes back in the
    /// first operand's slot.
    fn runtime(&mut self, op: RuntimeOp, a: u32, b: u32, operands: usize, result: Option<Ty>) {
        self.spill_all();
        let base = self.stack.len() - operands;
        self.materialize_from(base);
        self.drop_local_cache();
        let args = self.canonical(base);
        self.masm.runtime(op, a, b, args);
        self.stack.truncate(base);
        if let Some(ty) = result {
            self.stack.push(Value { ty, loc: Loc::Slot });
        }
    }

    fn compare(&mut self, cond: Cond, ty: Ty) {
        let (rhs, rhs_held) = self.pop_operand();
        let (lhs, lhs_held) = self.pop_read();
        let dst = self.result_reg(lhs, lhs_held);
        self.masm.compare(cond, ty.size(), dst, lhs, rhs);
        self.release_operand(rhs, rhs_held);
        if dst != lhs {
            self.release_read(lhs, lhs_held);
        }
        self.push_reg(Ty::I32, dst);
    }

    /// A call: every value goes to its canonical slot (the arguments thereby land where the
    /// callee's frame starts), and the results come back in the callee's first slots.
    fn visit_call(&mut self, func: u32) -> Result<(), CompileError> {
        let ty = self.module.func_type(func);
        self.spill_all();
        let base = self.stack.len() - ty.params().len();
        self.materialize_from(base);
        self.drop_local_cache();
        let callee_fp = self.canonical(base);
        let callee = match func.checked_sub(self.module.num_imported_funcs) {
            Some(def) => Callee::Defined { def, func },
            None => Callee::Import(func),
        };
        self.handled(|g| g.masm.call(callee, callee_fp));
        self.push_call_results(base, ty.results())
    }

    /// `return_call`: the callee takes over this frame (see [`Self::leave_for_tail_call`]).
    fn visit_return_call(&mut self, func: u32) {
        let args = self.module.func_type(func).params().len();
        let base = self.stack.len() - args;
        self.leave_for_tail_call(base, args);
        let callee = match func.checked_sub(self.module.num_imported_funcs) {
            Some(def) => Callee::Defined { def, func },
            None => Callee::Import(func),
        };
        self.masm.tail_call(callee);
    }

    /// `return_call_indirect`, as [`Self::visit_return_call`]; the table index sits above the
    /// arguments and stays in its slot for the check.
    fn visit_return_call_indirect(&mut self, type_index: u32, table: u32) {
        let args = self.module.types[type_index as usize].params().len();
        let base = self.stack.len() - 1 - args;
        let index_slot = self.canonical(base + args);
        self.leave_for_tail_call(base, args);
        if self.module.tables[table as usize].table64 {
            self.masm.check_slot_index64(index_slot);
        }
        let sig = self.module.sigs[type_index as usize].0;
        self.masm.tail_call_indirect(type_index, sig, table, index_slot);
    }

    /// `return_call_ref`, as [`Self::visit_return_call`]; the reference sits above the arguments
    /// and stays in its slot for the helper.
    fn visit_return_call_ref(&mut self, type_index: u32) {
        let args = self.module.types[type_index as usize].params().len();
        let base = self.stack.len() - 1 - args;
        let ref_slot = self.canonical(base + args);
        self.leave_for_tail_call(base, args);
        self.masm.tail_call_ref(ref_slot);
    }

    /// Before a tail call whose `args` arguments start at stack position `base`: every value to
    /// its canonical slot, then the arguments to the frame's first slots, where the callee, which
    /// runs on this frame in place of this function, expects them; and under guest profiling,
    /// this frame's profile entry popped (the callee pushes its own).
    fn leave_for_tail_call(&mut self, base: usize, args: usize) {
        self.spill_all();
        self.materialize_from(base);
        self.drop_local_cache();
        // Upwards: an argument's canonical slot is at or above its destination, so no move
        // overwrites an argument still to be moved.
        for i in 0..args {
            let (dst, src) = (Self::local_slot(i as u32), self.canonical(base + i));
            if dst != src {
                self.masm.copy_slot(dst, src);
            }
        }
        if self.options.guest_profile {
            self.masm.profile_pop();
        }
    }

    /// After a call whose arguments started at stack position `base`: its results, in their
    /// canonical slots from `base` on.
    fn push_call_results(&mut self, base: usize, results: &[ValType]) -> Result<(), CompileError> {
        self.stack.truncate(base);
        for &ty in results {
            self.stack.push(Value { ty: Ty::from_val(ty)?, loc: Loc::Slot });
        }
        Ok(())
    }

    fn visit_call_indirect(&mut self, type_index: u32, table: u32) -> Result<(), CompileError> {
        let ty = &self.module.types[type_index as usize];
        // The table index sits above the arguments, in the slot right after them.
        let base = self.materialize_call_operands(ty.params().len());
        let callee_fp = self.canonical(base);
        let index_slot = self.canonical(base + ty.params().len());
        if self.module.tables[table as usize].table64 {
            self.masm.check_slot_index64(index_slot);
        }
        let sig = self.module.sigs[type_index as usize].0;
        self.handled(|g| {
            g.masm.call_indirect_inline(type_index, sig, table, callee_fp, index_slot)
        });
        self.push_call_results(base, ty.results())
    }

    /// Before a call through a table or a reference: every value in its canonical slot, the
    /// `params` arguments and the operand above them (the table index or the reference)
    /// included, and no local cached. Returns the first argument's stack position.
    fn materialize_call_operands(&mut self, params: usize) -> usize {
        self.spill_all();
        let base = self.stack.len() - 1 - params;
        self.materialize_from(base);
        self.drop_local_cache();
        base
    }

    fn visit_call_ref(&mut self, type_index: u32) -> Result<(), CompileError> {
        let ty = &self.module.types[type_index as usize];
        // The function reference sits above the arguments, in the slot right after them.
        let base = self.materialize_call_operands(ty.params().len());
        let callee_fp = self.canonical(base);
        self.handled(|g| g.masm.call_ref(type_index, callee_fp));
        self.push_call_results(base, ty.results())
    }

    /// `br_on_null` (`on_null`) or `br_on_non_null`: branches on whether the reference on top
    /// is null. The reference is held in a register of its own throughout: a taken
    /// `br_on_non_null` passes it on as its last value, a `br_on_null` that falls through keeps
    /// it (a taken `br_on_null` drops it, so its moves may reuse the register).
    fn visit_br_on_null(&mut self, relative_depth: u32, on_null: bool) {
        let (reference, ty) = self.pop_reg();
        if !on_null {
            self.push_reg(ty, reference);
        }
        let (taken, skipped) = if on_null { (Cond::Eq, Cond::Ne) } else { (Cond::Ne, Cond::Eq) };
        let null = RegImm::Imm(0);
        if self.branch_is_plain(relative_depth) {
            let index = self.controls.len() - 1 - relative_depth as usize;
            let label = self.controls[index].label;
            self.masm.branch(taken, Size::S64, reference, null, label);
        } else {
            let skip = self.masm.new_label();
            self.masm.branch(skipped, Size::S64, reference, null, skip);
            self.branch(relative_depth);
            self.masm.bind(skip);
        }
        if on_null {
            self.push_reg(ty, reference);
        } else {
            let dropped = self.pop();
            self.release(dropped);
        }
    }

    /// `ref.as_non_null`: traps on null; the reference stays on the stack, in a register.
    fn visit_ref_as_non_null(&mut self) {
        let (reference, ty) = self.pop_reg();
        let trap = self.masm.trap_label(TrapCode::NullReference);
        self.masm.branch(Cond::Eq, Size::S64, reference, RegImm::Imm(0), trap);
        self.push_reg(ty, reference);
    }

    /// Every value but the top one into its canonical slot.
    fn spill_all_but_top(&mut self) {
        for position in 0..self.stack.len().saturating_sub(1) {
            self.spill(position);
        }
    }

    fn visit_select(&mut self) {
        if self.stack[self.stack.len() - 2].ty.is_float() {
            let (cond, cond_held) = self.pop_read();
            let (other, other_held) = self.pop_fread();
            let (dst, ty) = self.pop_freg();
            self.masm.select_float(ty.size(), dst, cond, other);
            self.release_read(cond, cond_held);
            self.release_fread(other, other_held);
            self.push_freg(ty, dst);
            return;
        }
        let (cond, cond_held) = self.pop_read();
        let (other, other_held) = self.pop_read();
        let (dst, ty) = self.pop_reg();
        self.masm.select(ty.size(), dst, cond, other);
        self.release_read(cond, cond_held);
        self.release_read(other, other_held);
        self.push_reg(ty, dst);
    }

    /// The type of `table`'s indices and sizes: `i64` for a 64-bit table.
    fn table_index_type(&self, table: u32) -> Ty {
        if self.module.tables[table as usize].table64 { Ty::I64 } else { Ty::I32 }
    }

    /// Whether memory `memory` is a 64-bit one.
    fn is_memory64(&self, memory: u32) -> bool {
        self.module.memories[memory as usize].memory64
    }

    /// The address operand of the access being compiled, popped: for a 64-bit memory, checked
    /// to fit in 32 bits with its offset (tierup keeps 64-bit memories within 4 GiB), so the
    /// access goes on as a 32-bit one.
    fn pop_address(&mut self) -> (Reg, Held) {
        let (addr, held) = self.pop_read();
        if let Some(offset) = self.address64 {
            self.masm.check_address64(addr, offset);
        }
        (addr, held)
    }

    fn load(&mut self, kind: LoadKind, ty: Ty, offset: u64) {
        let (addr, held) = self.pop_address();
        let dst = self.result_reg(addr, held);
        self.masm.load_heap(kind, dst, Some(addr), offset as u32);
        if dst != addr {
            self.release_read(addr, held);
        }
        self.push_reg(ty, dst);
    }

    fn load_float(&mut self, ty: Ty, offset: u64) {
        let (addr, held) = self.pop_address();
        let dst = self.alloc_float();
        self.masm.load_heap_float(ty.size(), dst, Some(addr), offset as u32);
        self.release_read(addr, held);
        self.push_freg(ty, dst);
    }

    fn store_float(&mut self, size: Size, offset: u64) {
        let (value, value_held) = self.pop_fread();
        let (addr, addr_held) = self.pop_address();
        self.masm.store_heap_float(size, value, Some(addr), offset as u32);
        self.release_fread(value, value_held);
        self.release_read(addr, addr_held);
    }

    fn store(&mut self, kind: StoreKind, offset: u64) {
        let (value, value_held) = self.pop_read();
        let (addr, addr_held) = self.pop_address();
        self.masm.store_heap(kind, value, Some(addr), offset as u32);
        self.release_read(value, value_held);
        self.release_read(addr, addr_held);
    }

    fn local_set(&mut self, local: u32) {
        let value = self.stack.len() - 1;
        // Pending reads of the local must see its old value.
        for position in 0..value {
            if self.stack[position].loc == Loc::Local(local) {
                self.spill(position);
            }
        }
        let slot = Self::local_slot(local);
        let v = self.stack[value];
        let size = v.ty.size();
        if v.loc != Loc::Local(local) {
            self.uncache(local);
        }
        match v.loc {
            Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, slot),
            Loc::Local(l) if l == local => {}
            Loc::Local(l) => self.copy_local(slot, l),
            Loc::Reg(r) => {
                // Written through: the slot is current, and later reads take the register.
                self.masm.store_slot(size, r, slot);
                self.cache.ints.push(local, r);
            }
            Loc::FReg(r) => {
                self.masm.store_slot_float(size, r, slot);
                self.cache.floats.push(local, r);
            }
            Loc::Slot if v.ty.is_float() => {
                // Through a register, which then caches the local.
                let r = self.alloc_float();
                self.masm.load_slot_float(size, r, self.canonical(value));
                self.masm.store_slot_float(size, r, slot);
                self.cache.floats.push(local, r);
            }
            Loc::Slot => {
                let r = self.alloc();
                self.masm.load_slot(size, r, self.canonical(value));
                self.masm.store_slot(size, r, slot);
                self.cache.ints.push(local, r);
            }
        }
        self.stack.pop();
    }

    // ---- control flow ----

    fn block_types(&self, blockty: BlockType) -> Result<(Types, Types), CompileError> {
        let convert = |tys: &[ValType]| -> Result<Types, CompileError> {
            tys.iter().map(|t| Ty::from_val(*t)).collect()
        };
        match blockty {
            BlockType::Empty => Ok((Types::new(), Types::new())),
            BlockType::Type(t) => {
                let ty = ValType::from_wasmparser(t, &self.module.sigs);
                Ok((Types::new(), smallvec::smallvec![Ty::from_val(ty)?]))
            }
            BlockType::FuncType(t) => {
                let ty = &self.module.types[t as usize];
                Ok((convert(ty.params())?, convert(ty.results())?))
            }
        }
    }

    /// `if` on a condition still in the form of a comparison: the false branch is taken when it
    /// does not hold.
    /// Emits a call or throw with `emit`: inside `try_table`s, a trap status coming back goes to
    /// a handler of its own that tries every clause in scope, innermost first.
    fn handled(&mut self, emit: impl FnOnce(&mut Self)) {
        let clauses: Vec<_> =
            self.controls.iter().rev().flat_map(|c| c.catches.iter().copied()).collect();
        if clauses.is_empty() {
            return emit(self);
        }
        let label = self.masm.new_label();
        self.masm.set_trap_handler(Some(label));
        emit(self);
        self.masm.set_trap_handler(None);
        self.handlers.push(TrapHandler { label, wasm_offset: self.wasm_offset, clauses });
    }

    /// `try_table`: a block whose catch clauses each get a pad, emitted before the body (which
    /// jumps over them), that branches to the clause's label with the clause's values already
    /// in its canonical slots. The pads start from the state every call and throw inside
    /// leaves: the stack below the body in canonical slots or constants (nothing inside changes
    /// it) and no local cached (calls drop the cache; slots are always current).
    fn visit_try_table(&mut self, try_table: &wasmparser::TryTable) -> Result<(), CompileError> {
        use crate::vm::exception::CATCH_ALL;
        self.spill_all();
        self.drop_local_cache();
        let over = self.masm.new_label();
        self.masm.jump(over);
        let stack = self.stack.clone();
        let mut catches = Vec::with_capacity(try_table.catches.len());
        for catch in &try_table.catches {
            let (tag, with_ref, label) = crate::operators::catch_clause(catch);
            let mut types: Types = match tag {
                CATCH_ALL => Types::new(),
                tag => {
                    let ty = &self.module.types[self.module.tags[tag as usize] as usize];
                    ty.params().iter().map(|&t| Ty::from_val(t)).collect::<Result<_, _>>()?
                }
            };
            if with_ref {
                types.push(Ty::ExnRef);
            }
            // The try_table's own label is not open yet: `label` counts from its parent.
            let height = self.controls[self.controls.len() - 1 - label as usize].height;
            let pad = self.masm.new_label();
            self.masm.bind(pad);
            self.stack.truncate(height);
            self.stack.extend(types.iter().map(|&ty| Value { ty, loc: Loc::Slot }));
            self.branch(label);
            self.stack.clone_from(&stack);
            catches.push(CatchClause { tag, with_ref, dest: self.canonical(height), pad });
        }
        self.masm.bind(over);
        self.open_block(Kind::Block, try_table.ty, None)?;
        self.controls.last_mut().expect("just opened").catches = catches;
        Ok(())
    }

    fn visit_if(&mut self, comparison: Comparison, blockty: BlockType) -> Result<(), CompileError> {
        self.open_block(Kind::If, blockty, Some(comparison))
    }

    fn visit_block(&mut self, kind: Kind, blockty: BlockType) -> Result<(), CompileError> {
        let cond = if kind == Kind::If {
            let (lhs, lhs_held) = self.pop_read();
            let rhs = RegImm::Imm(0);
            Some(Comparison {
                cond: Cond::Ne,
                size: Size::S32,
                lhs,
                lhs_held,
                rhs,
                rhs_held: Held::Owned,
            })
        } else {
            None
        };
        self.open_block(kind, blockty, cond)
    }

    /// Opens a block; an `if` comes with the comparison that selects its true branch, whose
    /// operands are already popped.
    fn open_block(
        &mut self,
        kind: Kind,
        blockty: BlockType,
        cond: Option<Comparison>,
    ) -> Result<(), CompileError> {
        let (params, results) = self.block_types(blockty)?;
        if let Some(c) = cond {
            // Released before anything is allocated, read by the branch below: nothing emitted
            // in between writes a register.
            self.release_read(c.lhs, c.lhs_held);
            self.release_operand(c.rhs, c.rhs_held);
        }
        self.spill_all();
        let height = self.stack.len() - params.len();
        self.materialize_from(height);
        let mut label = self.masm.new_label();
        let mut else_label = None;
        match kind {
            Kind::Loop => {
                let header = label;
                let ordinal = self.next_loop;
                self.next_loop += 1;
                self.enter_loop_state(ordinal);
                // Entries from outside the straight-line path (on-stack replacement, and a
                // resume after the tiering hook, which clobbers registers) load the header's
                // cached locals first.
                let reload = (!self.cache.is_empty()).then(|| self.masm.new_label());
                if self.options.counting || reload.is_some() {
                    self.masm.jump(header);
                }
                if let Some(reload) = reload {
                    self.masm.bind(reload);
                    let (masm, locals) = (&mut self.masm, &self.locals[..]);
                    Self::conform_from(masm, locals, CacheView::EMPTY, self.cache.view());
                    if self.options.counting {
                        self.masm.jump(header);
                    }
                }
                // The loop's first instruction starts a fetch block (see tier 2's loop headers).
                self.masm.align_code(LOOP_ALIGN);
                if self.options.counting {
                    // Back-edges branch to a counting block just above the header; entering
                    // the loop jumps over it.
                    let back_edge = self.masm.new_label();
                    self.masm.bind(back_edge);
                    let options = &self.options;
                    let weight = options.budget_checks.then_some(options.back_edge_weight);
                    self.masm.count_back_edge(ordinal, weight, reload.unwrap_or(header));
                    label = back_edge;
                }
                self.masm.bind(header);
                if self.options.guest_profile {
                    // Also names the tier when an on-stack replacement enters here.
                    let high =
                        crate::vm::profile::entry_high(crate::tier::Tier::Baseline, Some(ordinal));
                    self.masm.profile_set_top(high);
                }
                self.masm.osr_entry(reload.unwrap_or(header));
            }
            Kind::If => {
                let c = cond.expect("if has a condition");
                let target = self.masm.new_label();
                self.masm.branch(c.cond.invert(), c.size, c.lhs, c.rhs, target);
                else_label = Some(target);
            }
            _ => {}
        }
        let state = self.label_states.save(&self.cache);
        let catches = Vec::new();
        let control = Control { kind, height, params, results, label, else_label, state, catches };
        self.controls.push(control);
        Ok(())
    }

    /// Chooses the register state of loop `ordinal`'s header: the integer and float locals the
    /// loop touches most, as many as leave room for temporaries, and loads those not cached yet.
    fn enter_loop_state(&mut self, ordinal: u32) {
        const KEEP_FREE: usize = 4;
        let ranked = self.scan.loop_locals(ordinal, &mut self.local_counts);
        let int_room = self.masm.allocatable().len().saturating_sub(KEEP_FREE);
        let float_room = self.masm.allocatable_float().len().saturating_sub(KEEP_FREE);
        let (mut ints, mut floats) = (SmallVec::<[u32; 16]>::new(), SmallVec::<[u32; 16]>::new());
        for (local, _) in ranked {
            let ty = self.locals[local as usize];
            if ty.is_float() {
                if floats.len() < float_room {
                    floats.push(local);
                }
            } else if ints.len() < int_room {
                ints.push(local);
            }
        }
        // Cached locals the loop does not want give their registers back first.
        let old = self.cache;
        self.cache.clear();
        for (local, r) in old.ints.iter() {
            if ints.contains(&local) {
                self.cache.ints.push(local, r);
            } else {
                self.free.push(r);
            }
        }
        for (local, r) in old.floats.iter() {
            if floats.contains(&local) {
                self.cache.floats.push(local, r);
            } else {
                self.free_float.push(r);
            }
        }
        for local in ints {
            if self.cached(local).is_none() {
                let r = self.take_free().expect("registers to spare at a loop header");
                let size = self.locals[local as usize].size();
                self.masm.load_slot(size, r, Self::local_slot(local));
                self.cache.ints.push(local, r);
            }
        }
        for local in floats {
            if self.cached_float(local).is_none() {
                let r = self.free_float.pop().expect("float registers to spare at a loop header");
                let size = self.locals[local as usize].size();
                self.masm.load_slot_float(size, r, Self::local_slot(local));
                self.cache.floats.push(local, r);
            }
        }
    }

    /// Emits what makes the registers agree with label state `state`, coming from the current
    /// state, on a path where no register holds anything else that is needed (a taken branch,
    /// or the fall-through into a label once its values are in their slots). The code
    /// generator's own state is left as it was.
    fn conform_to_state(&mut self, state: LabelState) {
        let target = self.label_states.view(state);
        let current = self.cache.view();
        if current.covers(target) {
            return;
        }
        Self::conform_from(&mut self.masm, &self.locals, current, target);
    }

    /// [`CodeGen::conform_to_state`] to the state of the label of control `index`.
    fn conform_to_label(&mut self, index: usize) {
        self.conform_to_state(self.controls[index].state);
    }

    /// [`CodeGen::conform_to_state`] from state `current`: register moves where the value is cached
    /// elsewhere (ordered so no source is overwritten first), loads from the always-current
    /// local slots otherwise, and to break cycles.
    fn conform_from(masm: &mut M, locals: &[Ty], current: CacheView<'_>, target: CacheView<'_>) {
        if !target.ints.is_empty() {
            Self::conform_ints(masm, locals, current, target);
        }
        if !target.floats.is_empty() {
            Self::conform_floats(masm, locals, current, target);
        }
    }

    /// The integer registers' part of [`CodeGen::conform_from`].
    fn conform_ints(masm: &mut M, locals: &[Ty], current: CacheView<'_>, target: CacheView<'_>) {
        // (destination, local, source)
        let mut moves: SmallVec<[(Reg, u32, Option<Reg>); 16]> = SmallVec::new();
        for &entry in target.ints {
            if !current.ints.contains(&entry) {
                let (local, r) = unpack(entry);
                moves.push((r, local, current.int_of(local)));
            }
        }
        emit_parallel_moves(moves, |dst, local, src| match src {
            Some(src) => masm.mov(Size::S64, dst, RegImm::Reg(src)),
            None => masm.load_slot(locals[local as usize].size(), dst, Self::local_slot(local)),
        });
    }

    /// The float registers' part of [`CodeGen::conform_from`].
    fn conform_floats(masm: &mut M, locals: &[Ty], current: CacheView<'_>, target: CacheView<'_>) {
        let mut moves: SmallVec<[(FReg, u32, Option<FReg>); 16]> = SmallVec::new();
        for &entry in target.floats {
            if !current.floats.contains(&entry) {
                let (local, r) = unpack(entry);
                moves.push((r, local, current.float_of(local)));
            }
        }
        emit_parallel_moves(moves, |dst, local, src| match src {
            Some(src) => masm.mov_float(dst, src),
            None => {
                let size = locals[local as usize].size();
                masm.load_slot_float(size, dst, Self::local_slot(local));
            }
        });
    }

    /// Moves the top `types.len()` values into the canonical slots starting at `height`.
    fn move_results(&mut self, height: usize, count: usize) {
        let first = self.stack.len() - count;
        for i in 0..count {
            let value = self.stack[first + i];
            let dst = self.canonical(height + i);
            match value.loc {
                Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, dst),
                Loc::Local(l) => self.copy_local(dst, l),
                Loc::Reg(r) => self.masm.store_slot(Size::S64, r, dst),
                Loc::FReg(r) => self.masm.store_slot_float(value.ty.size(), r, dst),
                Loc::Slot if first + i == height + i => {}
                Loc::Slot => self.masm.copy_value(value.ty.size(), dst, self.canonical(first + i)),
            }
        }
    }

    /// Resets the stack to a label's state: `height` canonical values below, then `types`, and
    /// the registers as `state` says.
    fn reset_stack(&mut self, height: usize, types: &[Ty], state: LabelState) {
        let state = self.label_states.view(state);
        // Registers by number: those the state's locals hold.
        let taken = |entries: &[u32]| {
            entries.iter().fold(0u64, |taken, &e| taken | 1 << entry_reg_number(e))
        };
        let (int_taken, float_taken) = (taken(state.ints), taken(state.floats));
        self.cache.set(state);
        refill_free(&mut self.free, self.masm.allocatable(), int_taken, |r| r.0);
        refill_free(&mut self.free_float, self.masm.allocatable_float(), float_taken, |r| r.0);
        self.stack.truncate(height);
        self.stack.extend(types.iter().map(|&ty| Value { ty, loc: Loc::Slot }));
    }

    fn visit_else(&mut self) {
        self.in_fuel_segment = false;
        let index = self.controls.len() - 1;
        let (height, results) = (self.controls[index].height, self.controls[index].results.len());
        if self.reachable {
            self.move_results(height, results);
            self.conform_to_label(index);
            let end = self.controls[index].label;
            self.masm.jump(end);
        }
        let control = &mut self.controls[index];
        control.kind = Kind::Else;
        let else_label = control.else_label.take().expect("else follows an if");
        let params = control.params.clone();
        self.masm.bind(else_label);
        // The false branch starts in the state of the `if`, which the end keeps.
        let state = self.controls[index].state;
        self.reset_stack(height, &params, state);
        self.reachable = true;
    }

    fn visit_end(&mut self) {
        self.in_fuel_segment = false;
        let control = self.controls.pop().expect("end closes a block");
        if control.kind == Kind::Function {
            if self.reachable {
                self.stack_into_results();
            }
            return;
        }
        if control.kind == Kind::Loop {
            // No label: only the fall-through arrives, with the registers as they are.
            if self.reachable {
                self.move_results(control.height, control.results.len());
                for position in control.height..self.stack.len() {
                    let value = self.stack[position];
                    self.release(value);
                }
                self.stack.truncate(control.height);
                self.stack.extend(control.results.iter().map(|&ty| Value { ty, loc: Loc::Slot }));
            } else {
                self.reset_stack(control.height, &control.results, LabelState::EMPTY);
            }
            self.label_states.release(control.state);
            self.reachable = true;
            return;
        }
        if self.reachable {
            self.move_results(control.height, control.results.len());
            self.conform_to_state(control.state);
        }
        self.masm.bind(control.label);
        if let Some(else_label) = control.else_label {
            self.masm.bind(else_label);
        }
        self.reset_stack(control.height, &control.results, control.state);
        self.label_states.release(control.state);
        self.reachable = true;
    }

    fn mark_unreachable(&mut self) {
        self.reachable = false;
        let height = self.controls.last().expect("inside the function").height;
        self.reset_stack(height.min(self.stack.len()), &[], LabelState::EMPTY);
    }

    /// Whether a branch to `relative_depth` finds its values and registers in place already.
    fn branch_is_plain(&self, relative_depth: u32) -> bool {
        let index = self.controls.len() - 1 - relative_depth as usize;
        if index == 0 {
            return false;
        }
        let control = &self.controls[index];
        let count = control.branch_types().len();
        let first = self.stack.len() - count;
        (0..count).all(|i| self.stack[first + i].loc == Loc::Slot && first == control.height)
            && self.cache.view().covers(self.label_states.view(control.state))
    }

    /// Emits the moves and the jump of a taken branch; the value stack is left as it was.
    fn branch(&mut self, relative_depth: u32) {
        let index = self.controls.len() - 1 - relative_depth as usize;
        if index == 0 {
            self.stack_into_results();
            return;
        }
        let (height, count) =
            (self.controls[index].height, self.controls[index].branch_types().len());
        // Values below the branched-over blocks are canonical already (spilled at block entry);
        // only this block's values may still be in registers, and the branch drops them.
        self.move_results(height, count);
        self.conform_to_label(index);
        let label = self.controls[index].label;
        self.masm.jump(label);
    }

    fn visit_br_if(&mut self, relative_depth: u32) {
        let (cond, held) = self.pop_read();
        let rhs = RegImm::Imm(0);
        let c = Comparison {
            cond: Cond::Ne,
            size: Size::S32,
            lhs: cond,
            lhs_held: held,
            rhs,
            rhs_held: Held::Owned,
        };
        self.branch_if(c, relative_depth);
    }

    /// Branches to `relative_depth` when the comparison holds; its registers are released.
    fn branch_if(&mut self, c: Comparison, relative_depth: u32) {
        // Released before anything is allocated: the moves of a taken branch only store and
        // conform registers, after the compare-and-branch has read them.
        self.release_read(c.lhs, c.lhs_held);
        self.release_operand(c.rhs, c.rhs_held);
        if self.branch_is_plain(relative_depth) {
            let index = self.controls.len() - 1 - relative_depth as usize;
            let label = self.controls[index].label;
            self.masm.branch(c.cond, c.size, c.lhs, c.rhs, label);
            return;
        }
        let skip = self.masm.new_label();
        self.masm.branch(c.cond.invert(), c.size, c.lhs, c.rhs, skip);
        self.branch(relative_depth);
        self.masm.bind(skip);
    }

    fn visit_br_table(&mut self, depths: &[u32]) {
        let (index, held) = self.pop_read();
        self.release_read(index, held);
        let mut targets = Vec::with_capacity(depths.len());
        let mut stubs = Vec::new();
        for &depth in depths {
            if self.branch_is_plain(depth) {
                let control = self.controls.len() - 1 - depth as usize;
                targets.push(self.controls[control].label);
            } else {
                let stub = self.masm.new_label();
                targets.push(stub);
                stubs.push((stub, depth));
            }
        }
        self.masm.jump_table(index, &targets);
        for (stub, depth) in stubs {
            self.masm.bind(stub);
            self.branch(depth);
        }
        self.mark_unreachable();
    }

    /// Moves the results into slots `0..n` and returns.
    ///
    /// Leaves the value stack as it was: a conditional branch to the function's end runs this
    /// code only when taken, so the fall-through path must not see any of its moves.
    fn stack_into_results(&mut self) {
        let count = self.results.len();
        let first = self.stack.len() - count;
        // A result still in a low local could be overwritten by an earlier result's move: it is
        // read from its canonical slot instead, which nothing else reads once the function returns.
        let mut values: SmallVec<[Value; 4]> = self.stack[first..].iter().copied().collect();
        for (i, value) in values.iter_mut().enumerate() {
            if let Loc::Local(l) = value.loc
                && (l as usize) < count
            {
                self.masm.copy_slot(self.canonical(first + i), Self::local_slot(l));
                value.loc = Loc::Slot;
            }
        }
        for (i, value) in values.into_iter().enumerate() {
            let dst = Self::local_slot(i as u32);
            match value.loc {
                Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, dst),
                Loc::Local(l) if l as usize == i => {}
                Loc::Local(l) => self.copy_local(dst, l),
                Loc::Reg(r) => self.masm.store_slot(Size::S64, r, dst),
                Loc::FReg(r) => self.masm.store_slot_float(value.ty.size(), r, dst),
                Loc::Slot => self.masm.copy_value(value.ty.size(), dst, self.canonical(first + i)),
            }
        }
        if self.options.guest_profile {
            self.masm.profile_pop();
        }
        self.masm.ret();
    }

    fn emit_return(&mut self) {
        self.stack_into_results();
    }
}

#[cfg(test)]
mod tests {
    use super::independent_order;

    /// The order the general loop of `CodeGen::conform_ints` emits independent moves in.
    fn loop_order(moves: &[(u8, u32, Option<u8>)]) -> Vec<u32> {
        let mut moves = moves.to_vec();
        let mut order = Vec::new();
        while !moves.is_empty() {
            let ready = (0..moves.len())
                .find(|&i| !moves.iter().any(|m| m.2 == Some(moves[i].0)))
                .expect("independent moves are all ready");
            order.push(moves.swap_remove(ready).1);
        }
        order
    }

    #[test]
    fn independent_moves_keep_the_general_loops_order() {
        for n in 0..7u8 {
            // Destinations 0..n; sources from 10 up (never a destination), every other one.
            let moves: Vec<_> =
                (0..n).map(|i| (i, i as u32, (i % 2 == 0).then_some(10 + i))).collect();
            let fast: Vec<u32> =
                independent_order(&moves).expect("independent").map(|i| moves[i].1).collect();
            assert_eq!(fast, loop_order(&moves), "{n} moves");
        }
        // A move reading another's destination leaves the order to the loop.
        assert!(independent_order(&[(0u8, 0u32, None), (1, 1, Some(0u8))]).is_none());
        assert!(independent_order(&[(0u8, 0u32, Some(1u8)), (1, 1, Some(0))]).is_none());
    }
}
