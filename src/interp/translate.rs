//! Wasm function body -> interpreter bytecode, in one pass, the first time a function is needed.
//!
//! The translator keeps a *virtual* operand stack, as Liftoff and Winch do: an entry is a temporary
//! (living in the slot of its stack height), a local or a constant. `local.get` and `i32.const` emit
//! nothing; the instruction that consumes them reads the local's slot directly, or takes the
//! constant as an immediate (the handler families of `handlers.rs` have immediate forms for the
//! common shapes; elsewhere the constant is first written into its temporary). Entries that name
//! locals are materialized into temporaries before the local is overwritten and at every
//! control-flow boundary, so all paths into a label agree on where each value lives; constants
//! stay constants (nothing can change them), as in tier 1. A branch's moves run only when it is
//! taken, so emitting them must never change the virtual stack: the fall-through of a `br_if` and
//! the next entry of a `br_table` carry on with the stack as it was.
//!
//! Peepholes: an instruction whose result a `local.set` stores right away writes the local
//! instead; a comparison consumed by `br_if` or `if` fuses with the branch; a constant address
//! folds into the access's offset; a float `add`/`sub`/`mul` fuses into the one consuming its
//! result, and an `i32.mul`/`i32.shl` by a constant into the `i32.add` consuming it.
//!
//! It only ever sees bodies the front end has validated (`module.rs`), so it may rely on
//! well-typed input; it must never be handed one that was not.

use super::code::*;
use super::handlers::{self as h, Cond, Forms2, Forms3};
use super::simd::{self, SimdOp};
use crate::error::{Error, Result};
use crate::module::ModuleInner;
use crate::operators::MemoryAccess;
use crate::vm::frame::{FrameLayout, ends_fuel_segment};
use std::mem::offset_of;
use wasmparser::{BlockType, FunctionBody, Operator};

/// Translates one validated function body.
pub fn translate_function(
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
) -> Result<InterpFunc> {
    translate(module, func_index, body, false)
}

/// Translates one validated function body for a debugger (`super::debug`): a hook before every
/// wasm instruction, and no instruction fused with the one before it, so each wasm instruction
/// is a place to stop with every operand in a slot or a constant.
pub fn translate_for_debugging(
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
) -> Result<InterpFunc> {
    translate(module, func_index, body, true)
}

fn translate(
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
    debug: bool,
) -> Result<InterpFunc> {
    let wp = Error::from_wasmparser;
    let consume_fuel = module.config.consume_fuel;
    let ty = module.func_type(func_index);
    let num_params = ty.params().len() as u32;
    let num_results = ty.results().len() as u32;

    let mut num_locals = num_params;
    let mut locals = body.get_locals_reader().map_err(wp)?;
    for _ in 0..locals.get_count() {
        let (count, _) = locals.read().map_err(wp)?;
        num_locals += count;
    }
    // Results come back in the first slots, which may be more than the locals.
    let temp_base = num_locals.max(num_results);

    let mut t = Translator {
        module,
        code: CodeBuf::default(),
        stack: Vec::new(),
        max_height: 0,
        controls: Vec::new(),
        reachable: true,
        dead_depth: 0,
        temp_base,
        num_results,
        num_imported_funcs: module.num_imported_funcs,
        consume_fuel,
        fuel_segment: None,
        fuel_segments: Vec::new(),
        last: Last::NOTHING,
        history: Vec::new(),
        back_kind: super::exec::back_edge_kind(&module.config),
        profile_loops: (module.config.profiling_strategy == crate::ProfilingStrategy::Guest)
            .then_some(func_index),
        offset: 0,
        loop_headers: Vec::new(),
        debug_points: debug.then(Vec::new),
        wasm_offsets: WasmOffsetsBuilder::default(),
        try_ranges: Vec::new(),
    };
    t.controls.push(Control {
        kind: ControlKind::Function,
        height: 0,
        num_params: 0,
        num_results: num_results as usize,
        label: Label::Forward(Vec::new()),
        else_fixup: None,
        try_catches: None,
    });

    let mut ops = crate::operators::FastOperators::new(body).map_err(wp)?;
    let entry_offset = ops.original_position() as u32;
    while !ops.eof() {
        t.offset = ops.original_position() as u32;
        let op = ops.read().map_err(wp)?;
        t.visit(&op)?;
    }

    let frame_size = temp_base + t.max_height as u32;
    let fuel_segments = t.fuel_segments.iter().map(|&(_, amount)| amount).collect();
    for &(at, amount) in &t.fuel_segments {
        t.code.patch(at, amount);
    }
    let zero_slots = temp_base - num_params;
    let layout = FrameLayout {
        num_params,
        frame_init: vec![0; zero_slots as usize].into_boxed_slice(),
        num_locals: num_locals - num_params,
        frame_size,
        num_loops: t.loop_headers.len() as u32,
        fuel_segments,
    };
    let debug = t.debug_points.map(|points| {
        let local_types =
            ty.params().iter().copied().chain(declared_locals(module, body)).collect();
        Box::new(super::debug::DebugInfo::new(points, local_types))
    });
    let wasm_offsets = t.wasm_offsets.finish(entry_offset, t.code.len());
    Ok(InterpFunc {
        wasm_offsets,
        code: t.code.finish(),
        layout,
        loop_headers: t.loop_headers.into_boxed_slice(),
        zero_from: num_params * SLOT_BYTES,
        zero_slots,
        frame_bytes: frame_size * SLOT_BYTES,
        try_ranges: t.try_ranges.into_boxed_slice(),
        debug,
    })
}

/// The types of a body's declared locals, one per local.
fn declared_locals(module: &ModuleInner, body: &FunctionBody<'_>) -> Vec<crate::ValType> {
    let mut out = Vec::new();
    if let Ok(mut reader) = body.get_locals_reader() {
        for _ in 0..reader.get_count() {
            let Ok((count, ty)) = reader.read() else { break };
            let ty = crate::ValType::from_wasmparser(ty, &module.sigs);
            out.extend(std::iter::repeat_n(ty, count as usize));
        }
    }
    out
}

/// A constant on the virtual operand stack (floats as their bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imm {
    I32(u32),
    I64(u64),
    V128(u128),
}

/// Where a value on the virtual operand stack lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    /// In the temporary slot of its stack position.
    Temp,
    /// Still in a local's slot (a pending `local.get`), by local index.
    Local(u32),
    /// A constant, in no slot.
    Const(Imm),
}

/// An operand as an instruction takes it: a slot, or an immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Slot(Slot),
    Imm(Imm),
}

/// A comparison the translator just emitted, which a branch consuming its result may absorb.
#[derive(Clone, Copy, Debug)]
enum Compare {
    /// `a cond b` on i32 (or i64 when `wide`).
    Int { wide: bool, cond: Cond, a: Slot, b: Src },
    /// `src == 0` on i32 (or i64 when `wide`).
    Eqz { wide: bool, src: Slot },
    /// Float comparison `cond` (see [`h::F32_CMP`]) on f32 (or f64 when `wide`).
    Float { wide: bool, cond: u8, a: Slot, b: Src },
}

/// The last instruction's result, when it wrote a fresh temporary (which `local.set` may
/// redirect, and which only the next consumer reads).
#[derive(Clone, Copy, Debug)]
struct LastResult {
    dst: Slot,
    compare: Option<Compare>,
}

/// What the last instruction was, where a later one may fuse with it (its operands are read
/// back from the code, which `local.set` may have retargeted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LastOp {
    /// `i32_add_ri`.
    AddImm,
    /// `i32_add`.
    Add,
    /// `i64_add_ri`.
    AddImm64,
    /// `i64_add`.
    Add64,
    /// `i32_mul_ri` (or `i32_shl_ri` when `shift`): a scaled index `i32.add` may absorb.
    Scale { shift: bool },
    /// `copy`.
    Copy,
    /// `copy2`.
    Copy2,
    /// `i32_and_ri`.
    AndImm,
    /// `f32_add`, `f32_sub` or `f32_mul` (`op` 0, 1, 2, as in `h::FLOAT_THEN`; the f64 ones
    /// when `wide`), both operands in slots.
    Float { wide: bool, op: u8 },
}

/// What the translator knows about the last instruction emitted; reset by every emission and
/// by every label (another path comes in there).
#[derive(Clone, Copy, Debug)]
struct Last {
    /// Where it starts (`usize::MAX` after a label).
    start: usize,
    result: Option<LastResult>,
    /// The slot whose value the accumulator holds after it.
    acc: Option<Slot>,
    op: Option<LastOp>,
    /// For a fresh result: its handler and the twin that leaves the result in the accumulator
    /// only (`h::ACC_ONLY`), which replaces it once the next instruction reads the result there.
    acc_only: Option<(Handler, Handler)>,
    /// Whether the twin replaced it.
    acc_only_now: bool,
}

impl Last {
    const NOTHING: Last = Last {
        start: usize::MAX,
        result: None,
        acc: None,
        op: None,
        acc_only: None,
        acc_only_now: false,
    };
}

/// A handler that writes a result, with its accumulator-only twin if it has one.
#[derive(Clone, Copy)]
struct Producer {
    handler: Handler,
    acc_only: Option<Handler>,
}

impl From<Handler> for Producer {
    fn from(handler: Handler) -> Producer {
        Producer { handler, acc_only: None }
    }
}

/// The variant of `forms` in operand mode `mode`, with its twin.
fn pick<const N: usize>(forms: &h::Forms<N>, mode: usize) -> Producer {
    Producer { handler: forms.stored[mode], acc_only: Some(forms.acc_only[mode]) }
}

/// The handlers of one kind of load.
struct LoadForms {
    /// The address in a slot.
    plain: Forms2,
    /// The address an `i32.add` of an immediate.
    ri: Forms2,
    /// The address an `i32.add`.
    rr: Forms3,
    /// The address a constant.
    abs: h::Forms<1>,
}

/// How a binary operator takes a constant left operand.
#[derive(Clone, Copy)]
enum LeftImm {
    /// Commutative: the right-immediate form with the operands swapped.
    Swap,
    /// Its own left-immediate form.
    Form(Forms2),
    /// Not at all: the constant goes into a slot first.
    No,
}

#[derive(Debug, PartialEq, Eq)]
enum ControlKind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

/// A branch offset to fill in: the `i32` at byte `at`, relative to the instruction at `from`.
#[derive(Clone, Copy, Debug)]
struct Fixup {
    at: usize,
    from: usize,
}

#[derive(Debug)]
enum Label {
    /// Branches to a block's end, patched when the end is reached.
    Forward(Vec<Fixup>),
    /// A loop header's byte offset.
    Loop(usize),
}

#[derive(Debug)]
struct Control {
    kind: ControlKind,
    /// Operand stack height below the block's parameters.
    height: usize,
    num_params: usize,
    num_results: usize,
    label: Label,
    /// For `if`: the conditional branch to patch to the `else` (or the end).
    else_fixup: Option<Fixup>,
    /// For `try_table`: where its body's code starts, and its catch clauses.
    try_catches: Option<(usize, Vec<CatchPad>)>,
}

impl Control {
    /// Values a branch to this label carries.
    fn branch_arity(&self) -> usize {
        if self.kind == ControlKind::Loop { self.num_params } else { self.num_results }
    }
}

struct Translator<'m> {
    module: &'m ModuleInner,
    code: CodeBuf,
    stack: Vec<Operand>,
    max_height: usize,
    controls: Vec<Control>,
    reachable: bool,
    /// Blocks opened inside unreachable code, skipped without translation.
    dead_depth: u32,
    /// See [`InterpFunc::loop_headers`].
    loop_headers: Vec<u32>,
    /// The first temporary's slot index.
    temp_base: u32,
    num_results: u32,
    num_imported_funcs: u32,
    consume_fuel: bool,
    /// The open straight-line fuel segment: its entry in `fuel_segments`.
    fuel_segment: Option<usize>,
    /// Each `consume_fuel` instruction's amount field and amount, in order.
    fuel_segments: Vec<(usize, u32)>,
    last: Last,
    /// `last` as it was before each instruction since the last label, for taking them back.
    history: Vec<Last>,
    /// Byte offset of the operator being translated.
    offset: u32,
    /// Which operator each instruction comes from (see [`WasmOffsets`]).
    wasm_offsets: WasmOffsetsBuilder,
    /// What this module's loop back-edges do (see `h::FORWARD`).
    back_kind: u8,
    /// Under guest profiling (`vm::profile`), the function's index: loop headers then name
    /// their loop in the frame's profile entry, and returns pop it.
    profile_loops: Option<u32>,
    /// For a debug translation: the hooks emitted so far.
    debug_points: Option<Vec<super::debug::DebugPoint>>,
    /// The `try_table`s closed so far (inner ones first: they close first).
    try_ranges: Vec<TryRange>,
}

/// The byte offset of slot `index`.
fn slot(index: u32) -> Slot {
    index * SLOT_BYTES
}

macro_rules! unop {
    ($self:ident, $h:ident) => {
        $self.unary(forms2!(h::$h))
    };
}
macro_rules! int_bin {
    ($self:ident, $rr:ident, $ri:ident, $left:expr) => {
        $self.binary(forms3!(h::$rr), forms2!(h::$ri), $left)
    };
}
macro_rules! float_bin {
    ($self:ident, $rr:ident, $ri:ident) => {
        $self.binary(forms3!(h::$rr), forms2!(h::$ri), LeftImm::No)
    };
}
macro_rules! load {
    ($self:ident, $h:ident, $ri:ident, $rr:ident, $abs:ident, $memarg:expr) => {
        $self.load(
            LoadForms {
                plain: forms2!(h::$h),
                ri: forms2!(h::$ri),
                rr: forms3!(h::$rr),
                abs: forms1!(h::$abs),
            },
            $memarg.offset,
        )
    };
}
macro_rules! store {
    ($self:ident, $h:ident, $imm:ident, $abs:ident, $memarg:expr) => {
        $self.store(modes3!(h::$h), modes2!(h::$imm), modes2!(h::$abs), $memarg.offset)
    };
}

impl Translator<'_> {
    fn visit(&mut self, op: &Operator<'_>) -> Result<()> {
        if !self.reachable {
            return self.visit_unreachable(op);
        }
        if self.debug_points.is_some() {
            self.debug_hook(op);
        }
        if self.consume_fuel {
            self.charge_fuel();
        }
        match crate::operators::access_of(op) {
            Some(access) if access.memory != 0 || self.is_memory64(access.memory) => {
                self.in_memory(access, op)?
            }
            _ => self.visit_reachable(op)?,
        }
        if self.consume_fuel && ends_fuel_segment(op) {
            self.fuel_segment = None;
        }
        Ok(())
    }

    /// Whether memory `memory` is a 64-bit one.
    fn is_memory64(&self, memory: u32) -> bool {
        self.module.memories[memory as usize].memory64
    }

    /// `op`, an access to a memory other than 0 or to a 64-bit one. Another memory's access runs
    /// between instructions that make it the memory the handlers access and then memory 0
    /// again; a 64-bit memory's, after a check that its address and offset fit in 32 bits
    /// (tierup keeps 64-bit memories within 4 GiB, so an access beyond is out of bounds), which
    /// lets the ordinary 32-bit handlers do the rest. Nothing fuses with these instructions:
    /// `op` reads its operands from their slots, and what reads its result, from its slot.
    fn in_memory(&mut self, access: MemoryAccess, op: &Operator<'_>) -> Result<()> {
        if access.memory != 0 {
            self.code.emit(h::use_memory, UseMemory { memory: access.memory });
        }
        self.bind_label();
        if self.is_memory64(access.memory) {
            self.check_address64(access);
        }
        self.visit_reachable(op)?;
        if access.memory != 0 {
            self.code.emit(h::use_memory, UseMemory { memory: 0 });
            self.bind_label();
        }
        Ok(())
    }

    /// Before `table`'s element at the index in slot `index` is read (`table.get`, an indirect
    /// call): for a 64-bit table, a trap unless the index is below 2^32 (no table is larger), so
    /// the handler may read it as an `i32`. Every other table operation reads its operands by
    /// the table's type in the runtime (`ops::run`).
    fn check_index64(&mut self, table: u32, index: Slot) {
        if self.module.tables[table as usize].table64 {
            self.emit(h::check_index64, CheckIndex64 { index });
        }
    }

    /// For an access to a 64-bit memory: traps unless its address and offset are below 2^32.
    fn check_address64(&mut self, access: MemoryAccess) {
        let position = self.stack.len() - 1 - access.address_depth;
        let fits = |value: u64| u32::try_from(value).is_ok();
        match self.src_of(position) {
            _ if !fits(access.offset) => {
                self.code.emit(h::memory_out_of_bounds, Nothing {});
            }
            Src::Imm(imm) if !fits(imm_u64(imm)) => {
                self.code.emit(h::memory_out_of_bounds, Nothing {});
            }
            Src::Imm(_) => {}
            Src::Slot(addr) => {
                self.code.emit(h::check_address64, CheckAddress64 { addr });
            }
        }
        self.bind_label();
    }

    /// A debug translation's hook before `op`: records where each operand lives, then starts
    /// afresh as at a label, so `op` fuses with nothing before it and reads nothing from the
    /// accumulator (every operand is in its slot when the hook runs). Out of line: the ordinary
    /// translation, which never comes here, keeps its inlining as it was.
    #[cold]
    #[inline(never)]
    fn debug_hook(&mut self, op: &Operator<'_>) {
        let stack = (0..self.stack.len())
            .map(|position| match self.src_of(position) {
                Src::Slot(slot) => super::debug::StackValue::Slot(slot),
                Src::Imm(imm) => super::debug::StackValue::Const(imm_u128(imm)),
            })
            .collect();
        let call = match *op {
            Operator::Call { function_index } => {
                Some(super::debug::CallKind::Direct(function_index))
            }
            Operator::CallIndirect { table_index, .. }
            | Operator::ReturnCallIndirect { table_index, .. } => {
                Some(super::debug::CallKind::Indirect { table: table_index })
            }
            Operator::CallRef { .. } | Operator::ReturnCallRef { .. } => {
                Some(super::debug::CallKind::Reference)
            }
            Operator::ReturnCall { function_index } => {
                Some(super::debug::CallKind::Direct(function_index))
            }
            _ => None,
        };
        let points = self.debug_points.as_mut().expect("a debug translation");
        let point = points.len() as u32;
        let code_at = self.code.len() as u32;
        points.push(super::debug::DebugPoint { offset: self.offset, code_at, stack, call });
        // Nothing may take the hook back or fuse with it: a label's state, not `emit`'s.
        self.code.emit(h::debug_hook, DebugHook { point });
        self.bind_label();
    }

    /// Counts one operator against the current straight-line segment, opening one if needed.
    fn charge_fuel(&mut self) {
        let segment = match self.fuel_segment {
            Some(segment) => segment,
            None => {
                let start = self.emit(h::consume_fuel, Fuel { amount: 0 });
                self.fuel_segments.push((start + offset_of!(Fuel, amount) + HANDLER_BYTES, 0));
                self.fuel_segments.len() - 1
            }
        };
        self.fuel_segment = Some(segment);
        self.fuel_segments[segment].1 += 1;
    }

    /// In unreachable code only the block structure matters; nothing is emitted.
    fn visit_unreachable(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                if matches!(op, Operator::Loop { .. }) {
                    self.loop_headers.push(u32::MAX);
                }
                self.dead_depth += 1;
            }
            Operator::Else if self.dead_depth == 0 => self.visit_else(),
            Operator::End if self.dead_depth == 0 => self.visit_end(),
            Operator::End => self.dead_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    fn visit_reachable(&mut self, op: &Operator<'_>) -> Result<()> {
        use Cond::*;
        use Operator as O;
        match *op {
            O::Unreachable => {
                self.emit(h::unreachable, Nothing {});
                self.mark_unreachable();
            }
            O::Nop => {}
            O::Block { blockty } => self.visit_block(ControlKind::Block, blockty),
            O::Loop { blockty } => self.visit_block(ControlKind::Loop, blockty),
            O::If { blockty } => self.visit_block(ControlKind::If, blockty),
            O::Else => self.visit_else(),
            O::End => self.visit_end(),
            O::Br { relative_depth } => {
                self.branch(relative_depth);
                self.mark_unreachable();
            }
            O::BrIf { relative_depth } => self.visit_br_if(relative_depth),
            O::BrTable { ref targets } => {
                let depths = crate::module::br_table_depths(targets)?;
                self.visit_br_table(&depths);
            }
            O::Return => {
                self.emit_return();
                self.mark_unreachable();
            }
            O::Call { function_index } => {
                let ty = self.module.func_type(function_index);
                let (params, results) = (ty.params().len(), ty.results().len());
                let base = self.materialize_args(params);
                if function_index < self.num_imported_funcs {
                    self.emit(h::call_import, CallImport { func: function_index, base });
                } else {
                    let def = function_index - self.num_imported_funcs;
                    self.emit(h::CALL[self.back_kind as usize], Call { def, base });
                }
                self.push_temps(results);
            }
            O::CallIndirect { type_index, table_index } => {
                let ty = &self.module.types[type_index as usize];
                let (params, results) = (ty.params().len(), ty.results().len());
                let base = self.materialize_args(params + 1);
                let index = base + params as u32 * SLOT_BYTES;
                self.check_index64(table_index, index);
                let sig = self.module.sigs[type_index as usize].0;
                let call = CallIndirect { ty: type_index, table: table_index, base, index, sig };
                self.emit(h::CALL_INDIRECT[self.back_kind as usize], call);
                self.push_temps(results);
            }
            O::CallRef { type_index } => {
                let ty = &self.module.types[type_index as usize];
                let (params, results) = (ty.params().len(), ty.results().len());
                let base = self.materialize_args(params + 1);
                let callee = base + params as u32 * SLOT_BYTES;
                self.emit(h::call_ref, CallRef { base, callee });
                self.push_temps(results);
            }
            O::BrOnNull { relative_depth } => self.visit_br_on_null(relative_depth, true),
            O::BrOnNonNull { relative_depth } => self.visit_br_on_null(relative_depth, false),
            // Tail calls: the arguments go to temporaries like a call's; the handler moves them
            // to the frame's first slots and runs the callee in place of this function.
            O::ReturnCall { function_index } => {
                let args = self.module.func_type(function_index).params().len();
                let base = self.materialize_args(args);
                let args = args as u32;
                if function_index < self.num_imported_funcs {
                    let call = ReturnCallImport { func: function_index, base, args };
                    self.emit(h::return_call_import, call);
                } else {
                    let def = function_index - self.num_imported_funcs;
                    self.emit(h::return_call, ReturnCall { def, base, args });
                }
                self.mark_unreachable();
            }
            O::ReturnCallRef { type_index } => {
                let args = self.module.types[type_index as usize].params().len();
                let base = self.materialize_args(args + 1);
                let callee = base + args as u32 * SLOT_BYTES;
                let args = args as u32;
                self.emit(h::return_call_ref, ReturnCallRef { base, callee, args });
                self.mark_unreachable();
            }
            O::ReturnCallIndirect { type_index, table_index } => {
                let args = self.module.types[type_index as usize].params().len();
                let base = self.materialize_args(args + 1);
                let index = base + args as u32 * SLOT_BYTES;
                self.check_index64(table_index, index);
                let sig = self.module.sigs[type_index as usize].0;
                let (ty, table, args) = (type_index, table_index, args as u32);
                let call = ReturnCallIndirect { ty, table, base, index, sig, args };
                self.emit(h::return_call_indirect, call);
                self.mark_unreachable();
            }
            O::TryTable { ref try_table } => self.visit_try_table(try_table),
            O::Throw { tag_index } => {
                let ty = self.module.tags[tag_index as usize];
                let args = self.module.types[ty as usize].params().len();
                let base = self.materialize_args(args);
                self.emit(h::throw, Throw { tag: tag_index, base });
                self.mark_unreachable();
            }
            O::ThrowRef => {
                let src = self.pop_slot();
                self.emit(h::throw_ref, ThrowRef { src });
                self.mark_unreachable();
            }
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop_slot();
                let b = self.pop_slot();
                let a = self.pop_slot();
                // After the pops: a constant operand may have been written to its slot since.
                let mode = self.acc_use(cond) as usize;
                let select = pick(&forms2!(h::select), mode);
                self.produce(select, |dst| Select { dst, a, b, cond });
            }
            O::LocalGet { local_index } => self.push(Operand::Local(local_index)),
            O::LocalSet { local_index } => self.local_set(local_index),
            O::LocalTee { local_index } => {
                self.local_set(local_index);
                self.push(Operand::Local(local_index));
            }
            O::GlobalGet { global_index } => {
                self.push_result(h::global_get, |dst| GlobalGet { dst, global: global_index })
            }
            O::GlobalSet { global_index } => {
                let src = self.pop_slot();
                // The accumulator holds 64 bits: never a v128.
                let scalar =
                    self.module.globals[global_index as usize].content != crate::ValType::V128;
                let from_acc = scalar && self.acc_use(src);
                let global_set = modes2!(h::global_set)[from_acc as usize];
                self.emit(global_set, GlobalSet { src, global: global_index });
            }

            O::I32Load { memarg } | O::F32Load { memarg } => {
                load!(self, i32_load, i32_load_ri, i32_load_rr, i32_load_abs, memarg)
            }
            O::I64Load { memarg } | O::F64Load { memarg } => {
                load!(self, i64_load, i64_load_ri, i64_load_rr, i64_load_abs, memarg)
            }
            O::I32Load8S { memarg } => {
                load!(self, i32_load8_s, i32_load8_s_ri, i32_load8_s_rr, i32_load8_s_abs, memarg)
            }
            O::I32Load8U { memarg } => {
                load!(self, i32_load8_u, i32_load8_u_ri, i32_load8_u_rr, i32_load8_u_abs, memarg)
            }
            O::I32Load16S { memarg } => load!(
                self,
                i32_load16_s,
                i32_load16_s_ri,
                i32_load16_s_rr,
                i32_load16_s_abs,
                memarg
            ),
            O::I32Load16U { memarg } => load!(
                self,
                i32_load16_u,
                i32_load16_u_ri,
                i32_load16_u_rr,
                i32_load16_u_abs,
                memarg
            ),
            O::I64Load8S { memarg } => {
                load!(self, i64_load8_s, i64_load8_s_ri, i64_load8_s_rr, i64_load8_s_abs, memarg)
            }
            O::I64Load8U { memarg } => {
                load!(self, i64_load8_u, i64_load8_u_ri, i64_load8_u_rr, i64_load8_u_abs, memarg)
            }
            O::I64Load16S { memarg } => load!(
                self,
                i64_load16_s,
                i64_load16_s_ri,
                i64_load16_s_rr,
                i64_load16_s_abs,
                memarg
            ),
            O::I64Load16U { memarg } => load!(
                self,
                i64_load16_u,
                i64_load16_u_ri,
                i64_load16_u_rr,
                i64_load16_u_abs,
                memarg
            ),
            O::I64Load32S { memarg } => load!(
                self,
                i64_load32_s,
                i64_load32_s_ri,
                i64_load32_s_rr,
                i64_load32_s_abs,
                memarg
            ),
            O::I64Load32U { memarg } => load!(
                self,
                i64_load32_u,
                i64_load32_u_ri,
                i64_load32_u_rr,
                i64_load32_u_abs,
                memarg
            ),
            // Narrow stores write the low bytes of the value, whatever its width.
            O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
                store!(self, i32_store, i32_store_imm, i32_store_abs, memarg)
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                store!(self, i64_store, i64_store_imm, i64_store_abs, memarg)
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                store!(self, i32_store8, i32_store8_imm, i32_store8_abs, memarg)
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                store!(self, i32_store16, i32_store16_imm, i32_store16_abs, memarg)
            }
            O::MemorySize { mem: 0 } => self.push_result(h::memory_size, |dst| Dst { dst }),
            O::MemorySize { mem } => {
                self.code.emit(h::use_memory, UseMemory { memory: mem });
                self.bind_label();
                self.push_result(h::memory_size, |dst| Dst { dst });
                self.code.emit(h::use_memory, UseMemory { memory: 0 });
                self.bind_label();
            }
            O::MemoryGrow { mem: memory } => {
                let src = self.pop_slot();
                self.push_result(h::memory_grow, |dst| MemoryGrow { dst, src, memory });
            }
            O::MemoryFill { mem } => self.bulk(h::memory_fill, 3, mem, 0),
            O::MemoryCopy { dst_mem, src_mem } => self.bulk(h::memory_copy, 3, dst_mem, src_mem),
            O::MemoryInit { data_index, mem } => self.bulk(h::memory_init, 3, data_index, mem),
            O::DataDrop { data_index } => {
                self.emit(h::data_drop, Index { index: data_index });
            }

            O::TableGet { table } => {
                let index = self.pop_slot();
                self.check_index64(table, index);
                self.push_result(h::table_get, |dst| TableGet { dst, table, index });
            }
            O::TableSet { table } => self.bulk(h::table_set, 2, table, 0),
            O::TableSize { table } => {
                self.push_result(h::table_size, |dst| TableSize { dst, table })
            }
            O::TableGrow { table } => {
                self.bulk(h::table_grow, 2, table, 0);
                self.push_temps(1);
            }
            O::TableFill { table } => self.bulk(h::table_fill, 3, table, 0),
            O::TableCopy { dst_table, src_table } => {
                self.bulk(h::table_copy, 3, dst_table, src_table)
            }
            O::TableInit { elem_index, table } => self.bulk(h::table_init, 3, table, elem_index),
            O::ElemDrop { elem_index } => {
                self.emit(h::elem_drop, Index { index: elem_index });
            }

            O::RefNull { .. } => self.push(Operand::Const(Imm::I64(0))),
            O::RefIsNull => unop!(self, ref_is_null),
            O::RefAsNonNull => {
                // The reference stays where it is on the stack; only a null one traps.
                let src = self.top_slot();
                self.emit(h::ref_as_non_null, NonNull { src });
            }
            O::RefFunc { function_index } => {
                self.push_result(h::ref_func, |dst| RefFunc { dst, func: function_index })
            }

            O::I32Const { value } => self.push(Operand::Const(Imm::I32(value as u32))),
            O::I64Const { value } => self.push(Operand::Const(Imm::I64(value as u64))),
            O::F32Const { value } => self.push(Operand::Const(Imm::I32(value.bits()))),
            O::F64Const { value } => self.push(Operand::Const(Imm::I64(value.bits()))),

            // Slots hold raw bits, so reinterpretations are free.
            O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {}

            O::I32Eqz => self.eqz(false),
            O::I64Eqz => self.eqz(true),
            O::I32Clz => unop!(self, i32_clz),
            O::I32Ctz => unop!(self, i32_ctz),
            O::I32Popcnt => unop!(self, i32_popcnt),
            O::I64Clz => unop!(self, i64_clz),
            O::I64Ctz => unop!(self, i64_ctz),
            O::I64Popcnt => unop!(self, i64_popcnt),
            O::I32Extend8S => unop!(self, i32_extend8_s),
            O::I32Extend16S => unop!(self, i32_extend16_s),
            O::I64Extend8S => unop!(self, i64_extend8_s),
            O::I64Extend16S => unop!(self, i64_extend16_s),
            O::I64Extend32S => unop!(self, i64_extend32_s),
            O::I32WrapI64 => unop!(self, i32_wrap_i64),
            O::I64ExtendI32S => unop!(self, i64_extend_i32_s),
            O::I64ExtendI32U => unop!(self, i64_extend_i32_u),
            O::F32Abs => unop!(self, f32_abs),
            O::F32Neg => unop!(self, f32_neg),
            O::F32Ceil => unop!(self, f32_ceil),
            O::F32Floor => unop!(self, f32_floor),
            O::F32Trunc => unop!(self, f32_trunc),
            O::F32Nearest => unop!(self, f32_nearest),
            O::F32Sqrt => unop!(self, f32_sqrt),
            O::F64Abs => unop!(self, f64_abs),
            O::F64Neg => unop!(self, f64_neg),
            O::F64Ceil => unop!(self, f64_ceil),
            O::F64Floor => unop!(self, f64_floor),
            O::F64Trunc => unop!(self, f64_trunc),
            O::F64Nearest => unop!(self, f64_nearest),
            O::F64Sqrt => unop!(self, f64_sqrt),
            O::I32TruncF32S => unop!(self, i32_trunc_f32_s),
            O::I32TruncF32U => unop!(self, i32_trunc_f32_u),
            O::I32TruncF64S => unop!(self, i32_trunc_f64_s),
            O::I32TruncF64U => unop!(self, i32_trunc_f64_u),
            O::I64TruncF32S => unop!(self, i64_trunc_f32_s),
            O::I64TruncF32U => unop!(self, i64_trunc_f32_u),
            O::I64TruncF64S => unop!(self, i64_trunc_f64_s),
            O::I64TruncF64U => unop!(self, i64_trunc_f64_u),
            O::I32TruncSatF32S => unop!(self, i32_trunc_sat_f32_s),
            O::I32TruncSatF32U => unop!(self, i32_trunc_sat_f32_u),
            O::I32TruncSatF64S => unop!(self, i32_trunc_sat_f64_s),
            O::I32TruncSatF64U => unop!(self, i32_trunc_sat_f64_u),
            O::I64TruncSatF32S => unop!(self, i64_trunc_sat_f32_s),
            O::I64TruncSatF32U => unop!(self, i64_trunc_sat_f32_u),
            O::I64TruncSatF64S => unop!(self, i64_trunc_sat_f64_s),
            O::I64TruncSatF64U => unop!(self, i64_trunc_sat_f64_u),
            O::F32ConvertI32S => unop!(self, f32_convert_i32_s),
            O::F32ConvertI32U => unop!(self, f32_convert_i32_u),
            O::F32ConvertI64S => unop!(self, f32_convert_i64_s),
            O::F32ConvertI64U => unop!(self, f32_convert_i64_u),
            O::F64ConvertI32S => unop!(self, f64_convert_i32_s),
            O::F64ConvertI32U => unop!(self, f64_convert_i32_u),
            O::F64ConvertI64S => unop!(self, f64_convert_i64_s),
            O::F64ConvertI64U => unop!(self, f64_convert_i64_u),
            O::F32DemoteF64 => unop!(self, f32_demote_f64),
            O::F64PromoteF32 => unop!(self, f64_promote_f32),

            O::I32Eq => self.compare(false, Eq),
            O::I32Ne => self.compare(false, Ne),
            O::I32LtS => self.compare(false, LtS),
            O::I32LtU => self.compare(false, LtU),
            O::I32GtS => self.compare(false, GtS),
            O::I32GtU => self.compare(false, GtU),
            O::I32LeS => self.compare(false, LeS),
            O::I32LeU => self.compare(false, LeU),
            O::I32GeS => self.compare(false, GeS),
            O::I32GeU => self.compare(false, GeU),
            O::I64Eq => self.compare(true, Eq),
            O::I64Ne => self.compare(true, Ne),
            O::I64LtS => self.compare(true, LtS),
            O::I64LtU => self.compare(true, LtU),
            O::I64GtS => self.compare(true, GtS),
            O::I64GtU => self.compare(true, GtU),
            O::I64LeS => self.compare(true, LeS),
            O::I64LeU => self.compare(true, LeU),
            O::I64GeS => self.compare(true, GeS),
            O::I64GeU => self.compare(true, GeU),
            O::F32Eq => self.float_compare(false, 0),
            O::F32Ne => self.float_compare(false, 1),
            O::F32Lt => self.float_compare(false, 2),
            O::F32Gt => self.float_compare(false, 3),
            O::F32Le => self.float_compare(false, 4),
            O::F32Ge => self.float_compare(false, 5),
            O::F64Eq => self.float_compare(true, 0),
            O::F64Ne => self.float_compare(true, 1),
            O::F64Lt => self.float_compare(true, 2),
            O::F64Gt => self.float_compare(true, 3),
            O::F64Le => self.float_compare(true, 4),
            O::F64Ge => self.float_compare(true, 5),
            O::I32Add => self.i32_add(),
            O::I32Sub => int_bin!(self, i32_sub, i32_sub_ri, LeftImm::Form(forms2!(h::i32_sub_ir))),
            O::I32Mul => {
                let scales = self.one_i32_imm(true);
                int_bin!(self, i32_mul, i32_mul_ri, LeftImm::Swap);
                if scales {
                    self.last.op = Some(LastOp::Scale { shift: false });
                }
            }
            O::I32DivS => int_bin!(self, i32_div_s, i32_div_s_ri, LeftImm::No),
            O::I32DivU => int_bin!(self, i32_div_u, i32_div_u_ri, LeftImm::No),
            O::I32RemS => int_bin!(self, i32_rem_s, i32_rem_s_ri, LeftImm::No),
            O::I32RemU => int_bin!(self, i32_rem_u, i32_rem_u_ri, LeftImm::No),
            O::I32And => self.i32_and(),
            O::I32Or => int_bin!(self, i32_or, i32_or_ri, LeftImm::Swap),
            O::I32Xor => int_bin!(self, i32_xor, i32_xor_ri, LeftImm::Swap),
            O::I32Shl => {
                let scales = self.one_i32_imm(false);
                int_bin!(self, i32_shl, i32_shl_ri, LeftImm::Form(forms2!(h::i32_shl_ir)));
                if scales {
                    self.last.op = Some(LastOp::Scale { shift: true });
                }
            }
            O::I32ShrS => {
                int_bin!(self, i32_shr_s, i32_shr_s_ri, LeftImm::Form(forms2!(h::i32_shr_s_ir)))
            }
            O::I32ShrU => {
                int_bin!(self, i32_shr_u, i32_shr_u_ri, LeftImm::Form(forms2!(h::i32_shr_u_ir)))
            }
            O::I32Rotl => {
                int_bin!(self, i32_rotl, i32_rotl_ri, LeftImm::Form(forms2!(h::i32_rotl_ir)))
            }
            O::I32Rotr => {
                int_bin!(self, i32_rotr, i32_rotr_ri, LeftImm::Form(forms2!(h::i32_rotr_ir)))
            }
            O::I64Add => self.i64_add(),
            O::I64Sub => int_bin!(self, i64_sub, i64_sub_ri, LeftImm::Form(forms2!(h::i64_sub_ir))),
            O::I64Mul => int_bin!(self, i64_mul, i64_mul_ri, LeftImm::Swap),
            O::I64DivS => int_bin!(self, i64_div_s, i64_div_s_ri, LeftImm::No),
            O::I64DivU => int_bin!(self, i64_div_u, i64_div_u_ri, LeftImm::No),
            O::I64RemS => int_bin!(self, i64_rem_s, i64_rem_s_ri, LeftImm::No),
            O::I64RemU => int_bin!(self, i64_rem_u, i64_rem_u_ri, LeftImm::No),
            O::I64And => int_bin!(self, i64_and, i64_and_ri, LeftImm::Swap),
            O::I64Or => int_bin!(self, i64_or, i64_or_ri, LeftImm::Swap),
            O::I64Xor => int_bin!(self, i64_xor, i64_xor_ri, LeftImm::Swap),
            O::I64Shl => int_bin!(self, i64_shl, i64_shl_ri, LeftImm::Form(forms2!(h::i64_shl_ir))),
            O::I64ShrS => {
                int_bin!(self, i64_shr_s, i64_shr_s_ri, LeftImm::Form(forms2!(h::i64_shr_s_ir)))
            }
            O::I64ShrU => {
                int_bin!(self, i64_shr_u, i64_shr_u_ri, LeftImm::Form(forms2!(h::i64_shr_u_ir)))
            }
            O::I64Rotl => {
                int_bin!(self, i64_rotl, i64_rotl_ri, LeftImm::Form(forms2!(h::i64_rotl_ir)))
            }
            O::I64Rotr => {
                int_bin!(self, i64_rotr, i64_rotr_ri, LeftImm::Form(forms2!(h::i64_rotr_ir)))
            }
            O::F32Add => self.float_arith(false, 0),
            O::F32Sub => self.float_arith(false, 1),
            O::F32Mul => self.float_arith(false, 2),
            O::F32Div => float_bin!(self, f32_div, f32_div_ri),
            O::F32Min => float_bin!(self, f32_min, f32_min_ri),
            O::F32Max => float_bin!(self, f32_max, f32_max_ri),
            O::F32Copysign => float_bin!(self, f32_copysign, f32_copysign_ri),
            O::F64Add => self.float_arith(true, 0),
            O::F64Sub => self.float_arith(true, 1),
            O::F64Mul => self.float_arith(true, 2),
            O::F64Div => float_bin!(self, f64_div, f64_div_ri),
            O::F64Min => float_bin!(self, f64_min, f64_min_ri),
            O::F64Max => float_bin!(self, f64_max, f64_max_ri),
            O::F64Copysign => float_bin!(self, f64_copysign, f64_copysign_ri),

            ref other => match simd::classify(other) {
                Some(simd_op) => self.visit_simd(simd_op),
                None => {
                    return Err(Error::Unsupported(format!(
                        "operator {other:?} (at offset {:#x})",
                        self.offset
                    )));
                }
            },
        }
        Ok(())
    }

    fn visit_simd(&mut self, op: SimdOp) {
        match op {
            SimdOp::Const(value) => self.push(Operand::Const(Imm::V128(value))),
            SimdOp::Unary(op) => {
                let src = self.pop_slot();
                self.push_result(h::v128_unary, |dst| V128Un { dst, src, op });
            }
            SimdOp::Binary(op) => {
                let b = self.pop_slot();
                let a = self.pop_slot();
                self.push_result(h::v128_binary, |dst| V128Bin { dst, a, b, op });
            }
            SimdOp::Ternary(op) => {
                let c = self.pop_slot();
                let b = self.pop_slot();
                let a = self.pop_slot();
                self.push_result(h::v128_ternary, |dst| V128Ter { dst, a, b, c, op });
            }
            SimdOp::Bitselect => {
                let mask = self.pop_slot();
                let b = self.pop_slot();
                let a = self.pop_slot();
                self.push_result(h::v128_bitselect, |dst| V128Select { dst, a, b, mask });
            }
            SimdOp::Shuffle(lanes) => {
                let b = self.pop_slot();
                let a = self.pop_slot();
                self.push_result(h::v128_shuffle, |dst| V128Shuffle { dst, a, b, lanes });
            }
            SimdOp::Load { kind, offset } => {
                let addr = self.pop_slot();
                let offset = offset as u32;
                self.push_result(h::v128_load, |dst| V128Load { dst, addr, offset, kind });
            }
            SimdOp::LoadLane { width, lane, offset } => {
                let v = self.pop_slot();
                let addr = self.pop_slot();
                let offset = offset as u32;
                self.push_result(h::v128_load_lane, |dst| V128LoadLane {
                    dst,
                    addr,
                    v,
                    offset,
                    width,
                    lane,
                });
            }
            SimdOp::Store { offset } => {
                let val = self.pop_slot();
                let addr = self.pop_slot();
                let store = V128Store { addr, val, offset: offset as u32, width: None, lane: 0 };
                self.emit(h::v128_store, store);
            }
            SimdOp::StoreLane { width, lane, offset } => {
                let val = self.pop_slot();
                let addr = self.pop_slot();
                let offset = offset as u32;
                let store = V128Store { addr, val, offset, width: Some(width), lane };
                self.emit(h::v128_store, store);
            }
        }
    }

    // ---- operators by shape ----

    fn unary(&mut self, forms: Forms2) {
        let src = self.pop_slot();
        let handler = pick(&forms, self.acc_use(src) as usize);
        self.produce(handler, |dst| Un { dst, src });
    }

    /// A binary operator: the register forms `rr`, the right-immediate forms `ri`, and how it
    /// takes a constant left operand.
    fn binary(&mut self, rr: Forms3, ri: Forms2, left: LeftImm) {
        let (a, b) = self.binary_operands(!matches!(left, LeftImm::No));
        match (a, b) {
            (Src::Slot(a), Src::Slot(b)) => {
                let mode = self.mode(a, b);
                self.produce(pick(&rr, mode), |dst| Bin { dst, a, b })
            }
            (Src::Slot(a), Src::Imm(imm)) => self.push_imm_result(ri, a, imm),
            (Src::Imm(imm), Src::Slot(b)) => match left {
                LeftImm::Swap => self.push_imm_result(ri, b, imm),
                LeftImm::Form(ir) => self.push_imm_result(ir, b, imm),
                LeftImm::No => unreachable!("binary_operands put the constant in a slot"),
            },
            (Src::Imm(_), Src::Imm(_)) => unreachable!("binary_operands leaves one constant"),
        }
    }

    /// Which variant of a handler of [`Forms3`] to emit for slot operands `a` and `b`: the one
    /// that takes the operand the accumulator holds from there (see [`Self::acc_use`]).
    fn mode(&mut self, a: Slot, b: Slot) -> usize {
        if self.acc_use(b) {
            h::ACC_B as usize
        } else if self.acc_use(a) {
            h::ACC_A as usize
        } else {
            h::SLOTS as usize
        }
    }

    /// Pops the operands of a binary operator. At most one stays a constant: the right one, or
    /// the left one when `left_imm` and the right one is in a slot.
    fn binary_operands(&mut self, left_imm: bool) -> (Src, Src) {
        let top = self.stack.len() - 1;
        let (a_const, b_const) = (self.is_const(top - 1), self.is_const(top));
        if a_const && (b_const || !left_imm) {
            self.materialize(top - 1);
        }
        let b = self.pop_src();
        let a = self.pop_src();
        (a, b)
    }

    /// Emits one of `forms { dst, a, imm }` with the immediate at its width.
    fn push_imm_result(&mut self, forms: Forms2, a: Slot, imm: Imm) {
        let handler = pick(&forms, self.acc_use(a) as usize);
        match imm {
            Imm::I32(imm) => self.produce(handler, |dst| BinI32 { dst, a, imm }),
            Imm::I64(imm) => self.produce(handler, |dst| BinI64 { dst, a, imm }),
            Imm::V128(_) => unreachable!("no scalar operator takes a v128"),
        }
    }

    /// An integer comparison, remembered so a branch consuming it can absorb it.
    fn compare(&mut self, wide: bool, cond: Cond) {
        let (a, b) = self.binary_operands(true);
        let table = if wide { &h::I64_CMP } else { &h::I32_CMP };
        let compare = match (a, b) {
            (Src::Slot(a), b) => Compare::Int { wide, cond, a, b },
            (Src::Imm(imm), Src::Slot(b)) => {
                Compare::Int { wide, cond: cond.mirror(), a: b, b: Src::Imm(imm) }
            }
            (Src::Imm(_), Src::Imm(_)) => unreachable!("binary_operands leaves one constant"),
        };
        let Compare::Int { cond, a, b, .. } = compare else { unreachable!() };
        let forms = table[cond as usize];
        match b {
            Src::Slot(b) => {
                let mode = self.mode(a, b);
                self.produce(pick(&forms.rr, mode), |dst| Bin { dst, a, b })
            }
            Src::Imm(imm) => self.push_imm_result(forms.ri, a, imm),
        }
        self.remember_compare(compare);
    }

    /// A float comparison, remembered so a branch consuming it can absorb it.
    fn float_compare(&mut self, wide: bool, cond: u8) {
        let (a, b) = self.binary_operands(false);
        let Src::Slot(a) = a else { unreachable!("binary_operands put a left constant in a slot") };
        let forms = if wide { h::F64_CMP } else { h::F32_CMP }[cond as usize];
        match b {
            Src::Slot(b) => {
                let mode = self.mode(a, b);
                self.produce(pick(&forms.rr, mode), |dst| Bin { dst, a, b })
            }
            Src::Imm(imm) => self.push_imm_result(forms.ri, a, imm),
        }
        self.remember_compare(Compare::Float { wide, cond, a, b });
    }

    /// `f32.add`, `f32.sub`, `f32.mul` (`op` 0, 1, 2) or their f64 forms (`wide`). One of them
    /// computed just before as one of the operands (both of its operands in slots) fuses in; one
    /// with both operands in slots is remembered so the next may absorb it.
    fn float_arith(&mut self, wide: bool, op: u8) {
        let (rr, ri) = match (wide, op) {
            (false, 0) => (forms3!(h::f32_add), forms2!(h::f32_add_ri)),
            (false, 1) => (forms3!(h::f32_sub), forms2!(h::f32_sub_ri)),
            (false, _) => (forms3!(h::f32_mul), forms2!(h::f32_mul_ri)),
            (true, 0) => (forms3!(h::f64_add), forms2!(h::f64_add_ri)),
            (true, 1) => (forms3!(h::f64_sub), forms2!(h::f64_sub_ri)),
            (true, _) => (forms3!(h::f64_mul), forms2!(h::f64_mul_ri)),
        };
        let (a, b) = self.binary_operands(false);
        let Src::Slot(a) = a else { unreachable!("binary_operands put a left constant in a slot") };
        let b = match b {
            Src::Slot(b) => b,
            Src::Imm(imm) => return self.push_imm_result(ri, a, imm),
        };
        if let Some(LastOp::Float { wide: last_wide, op: op1 }) = self.last.op
            && last_wide == wide
        {
            // The last result is one operand; the other one, `c`, is in a slot.
            let first = match (self.fresh_result(a), self.fresh_result(b)) {
                (Some(_), _) => Some((b, true)),
                (_, Some(_)) => Some((a, false)),
                (None, None) => None,
            };
            if let Some((c, first)) = first {
                let Bin { a: x, b: y, .. } = self.last_operands();
                self.take_back();
                let mode = self.mode(x, y);
                let forms =
                    &h::FLOAT_THEN[wide as usize][op1 as usize][op as usize][first as usize];
                self.produce(pick(forms, mode), |dst| FloatThen { dst, c, a: x, b: y });
                return;
            }
        }
        let mode = self.mode(a, b);
        self.produce(pick(&rr, mode), |dst| Bin { dst, a, b });
        self.last.op = Some(LastOp::Float { wide, op });
    }

    /// `i32.and`, remembered when it takes an immediate so a branch testing it can absorb it.
    fn i32_and(&mut self) {
        let (a, b) = self.binary_operands(true);
        match (a, b) {
            (Src::Slot(a), Src::Imm(imm)) | (Src::Imm(imm), Src::Slot(a)) => {
                self.push_imm_result(forms2!(h::i32_and_ri), a, imm);
                self.last.op = Some(LastOp::AndImm);
            }
            (Src::Slot(a), Src::Slot(b)) => {
                let mode = self.mode(a, b);
                self.produce(pick(&forms3!(h::i32_and), mode), |dst| Bin { dst, a, b });
            }
            (Src::Imm(_), Src::Imm(_)) => unreachable!("binary_operands leaves one constant"),
        }
    }

    fn eqz(&mut self, wide: bool) {
        let src = self.pop_slot();
        let forms = if wide { forms2!(h::i64_eqz) } else { forms2!(h::i32_eqz) };
        let mode = self.acc_use(src) as usize;
        self.produce(pick(&forms, mode), |dst| Un { dst, src });
        self.remember_compare(Compare::Eqz { wide, src });
    }

    fn remember_compare(&mut self, compare: Compare) {
        if let Some(last) = &mut self.last.result {
            last.compare = Some(compare);
        }
    }

    /// A load; an address computed by the `i32.add` just before fuses into it.
    fn load(&mut self, forms: LoadForms, offset: u64) {
        let offset = offset as u32;
        let addr = match self.pop_src() {
            Src::Slot(addr) => addr,
            Src::Imm(imm) => {
                let ea = imm_u64(imm) as u32 as u64 + offset as u64;
                self.produce(pick(&forms.abs, 0), |dst| LoadAbs { dst, ea });
                return;
            }
        };
        match (self.fresh_result(addr).is_some(), self.last.op) {
            (true, Some(LastOp::AddImm)) => {
                let BinI32 { a, imm, .. } = self.last_operands();
                self.take_back();
                let handler = pick(&forms.ri, self.acc_use(a) as usize);
                self.produce(handler, |dst| LoadRi { dst, a, imm, offset });
            }
            (true, Some(LastOp::Add)) => {
                let Bin { a, b, .. } = self.last_operands();
                self.take_back();
                let mode = self.mode(a, b);
                self.produce(pick(&forms.rr, mode), |dst| LoadRr { dst, a, b, offset });
            }
            _ => {
                let handler = pick(&forms.plain, self.acc_use(addr) as usize);
                self.produce(handler, |dst| Load { dst, addr, offset })
            }
        }
    }

    /// `i64.add`, remembered so a branch on its result can absorb it.
    fn i64_add(&mut self) {
        match self.binary_operands(true) {
            (Src::Slot(a), Src::Imm(imm)) | (Src::Imm(imm), Src::Slot(a)) => {
                self.push_imm_result(forms2!(h::i64_add_ri), a, imm);
                self.last.op = Some(LastOp::AddImm64);
            }
            (Src::Slot(a), Src::Slot(b)) => {
                let mode = self.mode(a, b);
                self.produce(pick(&forms3!(h::i64_add), mode), |dst| Bin { dst, a, b });
                self.last.op = Some(LastOp::Add64);
            }
            (Src::Imm(_), Src::Imm(_)) => unreachable!("binary_operands leaves one constant"),
        }
    }

    /// Whether the binary i32 operator about to be translated takes its right operand (or, when
    /// `commutes`, either one) as an immediate and the other from a slot: the right-immediate
    /// form.
    fn one_i32_imm(&self, commutes: bool) -> bool {
        let top = self.stack.len() - 1;
        let (a_const, b_const) = (self.is_const(top - 1), self.is_const(top));
        (b_const && !a_const) || (commutes && a_const && !b_const)
    }

    /// `i32.add`; two additions of immediates in a row fuse into one instruction, and so does a
    /// multiplication or shift by an immediate computed just before as one operand.
    fn i32_add(&mut self) {
        let (a, b) = self.binary_operands(true);
        let (a, imm) = match (a, b) {
            (Src::Slot(a), Src::Imm(Imm::I32(imm))) | (Src::Imm(Imm::I32(imm)), Src::Slot(a)) => {
                (a, imm)
            }
            (Src::Slot(a), Src::Slot(b)) => {
                if let Some((base, shift)) = self.scaled(a, b) {
                    self.i32_add_scaled(base, shift);
                    return;
                }
                let mode = self.mode(a, b);
                self.produce(pick(&forms3!(h::i32_add), mode), |dst| Bin { dst, a, b });
                self.last.op = Some(LastOp::Add);
                return;
            }
            _ => unreachable!("binary_operands leaves one i32 constant"),
        };
        if let Some(LastOp::AddImm) = self.last.op {
            // The first addition writes its result to its slot and the accumulator, where the
            // second may read it.
            let a_acc = self.in_acc(a) as usize;
            let BinI32 { dst: dst0, a: a0, imm: imm0 } = self.last_operands();
            self.take_back();
            let a0_acc = self.acc_use(a0) as usize;
            let handler = pick(&h::ADD_RI2[a0_acc], a_acc);
            self.produce(handler, |dst| AddRi2 { dst, a, imm, dst0, a0, imm0 });
            return;
        }
        let handler = pick(&forms2!(h::i32_add_ri), self.acc_use(a) as usize);
        self.produce(handler, |dst| BinI32 { dst, a, imm });
        self.last.op = Some(LastOp::AddImm);
    }

    /// `base + index * scale` in place of the scaling just translated (`LastOp::Scale`, a shift
    /// when `shift`) and the `i32.add` of its result to `base`.
    fn i32_add_scaled(&mut self, base: Slot, shift: bool) {
        let BinI32 { a: index, imm, .. } = self.last_operands();
        // `x << k` is `x * 2^k` modulo 2^32, with `k` taken modulo 32 as `i32.shl` does.
        let scale = if shift { 1u32 << (imm & 31) } else { imm };
        self.take_back();
        let mode = self.mode(base, index);
        let forms = forms3!(h::i32_add_scaled);
        self.produce(pick(&forms, mode), |dst| AddScaled { dst, a: base, b: index, scale });
    }

    /// If the last instruction was a scaling (`LastOp::Scale`) computing `a` or `b`, which nothing
    /// else reads: the other operand (the base) and whether it was a shift.
    fn scaled(&self, a: Slot, b: Slot) -> Option<(Slot, bool)> {
        let Some(LastOp::Scale { shift }) = self.last.op else { return None };
        match (self.fresh_result(a), self.fresh_result(b)) {
            (Some(_), _) => Some((b, shift)),
            (_, Some(_)) => Some((a, shift)),
            (None, None) => None,
        }
    }

    fn store(&mut self, forms: h::Modes3, imm_val: h::Modes2, abs: h::Modes2, offset: u64) {
        let offset = offset as u32;
        let top = self.stack.len() - 1;
        if self.is_const(top - 1) && self.is_const(top) {
            self.materialize(top);
        }
        let val = self.pop_src();
        let addr = self.pop_src();
        match (addr, val) {
            (Src::Slot(addr), Src::Slot(val)) => {
                let mode = self.mode(addr, val);
                self.emit(forms[mode], Store { addr, val, offset });
            }
            (Src::Slot(addr), Src::Imm(imm)) => {
                let handler = imm_val[self.acc_use(addr) as usize];
                self.emit(handler, StoreImm { addr, offset, imm: imm_u64(imm) });
            }
            (Src::Imm(addr), Src::Slot(val)) => {
                let ea = imm_u64(addr) as u32 as u64 + offset as u64;
                let handler = abs[self.acc_use(val) as usize];
                self.emit(handler, StoreAbs { val, ea });
            }
            (Src::Imm(_), Src::Imm(_)) => unreachable!("the value was put in a slot"),
        }
    }

    /// A bulk memory or table operation on `n` operands in consecutive slots.
    fn bulk(&mut self, handler: Handler, n: usize, a: u32, b: u32) {
        let base = self.materialize_args(n);
        self.emit(handler, Bulk { a, b, base });
    }

    // ---- the virtual operand stack ----

    fn temp_slot(&self, position: usize) -> Slot {
        slot(self.temp_base + position as u32)
    }

    fn is_const(&self, position: usize) -> bool {
        matches!(self.stack[position], Operand::Const(_))
    }

    /// Where the entry at `position` can be read.
    fn src_of(&self, position: usize) -> Src {
        match self.stack[position] {
            Operand::Temp => Src::Slot(self.temp_slot(position)),
            Operand::Local(index) => Src::Slot(slot(index)),
            Operand::Const(imm) => Src::Imm(imm),
        }
    }

    fn push(&mut self, operand: Operand) {
        self.stack.push(operand);
        self.max_height = self.max_height.max(self.stack.len());
    }

    fn push_temps(&mut self, n: usize) {
        for _ in 0..n {
            self.push(Operand::Temp);
        }
    }

    fn pop(&mut self) -> Operand {
        self.stack.pop().expect("validated code never pops an empty stack")
    }

    /// Pops an operand, as a slot or an immediate.
    fn pop_src(&mut self) -> Src {
        let src = self.src_of(self.stack.len() - 1);
        self.pop();
        src
    }

    /// Pops an operand and returns the slot it can be read from (a constant goes into its
    /// temporary first).
    fn pop_slot(&mut self) -> Slot {
        let position = self.stack.len() - 1;
        if self.is_const(position) {
            self.materialize(position);
        }
        match self.pop_src() {
            Src::Slot(slot) => slot,
            Src::Imm(_) => unreachable!("materialized above"),
        }
    }

    /// The slot the top operand can be read from, left on the stack (a constant goes into its
    /// temporary first).
    fn top_slot(&mut self) -> Slot {
        let position = self.stack.len() - 1;
        if self.is_const(position) {
            self.materialize(position);
        }
        match self.src_of(position) {
            Src::Slot(slot) => slot,
            Src::Imm(_) => unreachable!("materialized above"),
        }
    }

    /// Moves the entry at `position` into its temporary slot.
    fn materialize(&mut self, position: usize) {
        let dst = self.temp_slot(position);
        match self.src_of(position) {
            Src::Slot(src) if src == dst => {}
            src => self.move_to(dst, src),
        }
        self.stack[position] = Operand::Temp;
    }

    /// Emits `dst = src`.
    fn move_to(&mut self, dst: Slot, src: Src) {
        match src {
            // Copies in a row fuse, up to three.
            Src::Slot(src) => match self.last.op {
                Some(LastOp::Copy) => {
                    let Un { dst: dst0, src: src0 } = self.last_operands();
                    self.take_back();
                    self.emit(h::copy2, Copy2 { dst, src, dst0, src0 });
                    self.last.op = Some(LastOp::Copy2);
                }
                Some(LastOp::Copy2) => {
                    let Copy2 { dst: dst1, src: src1, dst0, src0 } = self.last_operands();
                    self.take_back();
                    self.emit(h::copy3, Copy3 { dst, src, dst1, src1, dst0, src0 });
                }
                _ => {
                    self.emit(h::copy, Un { dst, src });
                    self.last.op = Some(LastOp::Copy);
                }
            },
            Src::Imm(Imm::I32(imm)) => {
                self.emit(h::const_i32, ConstI32 { dst, imm });
            }
            Src::Imm(Imm::I64(imm)) => {
                self.emit(h::const_i64, ConstI64 { dst, imm });
            }
            Src::Imm(Imm::V128(imm)) => {
                self.emit(h::const_v128, ConstV128 { dst, imm });
            }
        }
    }

    /// Materializes every pending `local.get`, so no entry depends on a local's future value.
    fn materialize_locals(&mut self) {
        for position in 0..self.stack.len() {
            if matches!(self.stack[position], Operand::Local(_)) {
                self.materialize(position);
            }
        }
    }

    /// Puts the top `n` operands in consecutive temporaries (call arguments, bulk operands) and pops them.
    fn materialize_args(&mut self, n: usize) -> Slot {
        let first = self.stack.len() - n;
        for position in first..self.stack.len() {
            self.materialize(position);
        }
        self.stack.truncate(first);
        self.temp_slot(first)
    }

    /// Emits an instruction that writes a new temporary on top of the stack (its operands
    /// start with `dst`).
    fn push_result<T: Copy>(&mut self, handler: Handler, make: impl FnOnce(Slot) -> T) {
        self.produce(Producer::from(handler), make)
    }

    /// [`Self::push_result`] with a handler that may have an accumulator-only twin.
    fn produce<T: Copy>(&mut self, producer: Producer, make: impl FnOnce(Slot) -> T) {
        let dst = self.temp_slot(self.stack.len());
        self.emit(producer.handler, make(dst));
        self.push(Operand::Temp);
        self.last.result = Some(LastResult { dst, compare: None });
        self.last.acc = Some(dst);
        self.last.acc_only = producer.acc_only.map(|twin| (producer.handler, twin));
    }

    /// [`Self::in_acc`], for an instruction about to be emitted that then reads `slot` in the
    /// accumulator: when `slot` is the fresh result of the last instruction, nothing else reads
    /// it, so that instruction stops storing it (until it is taken back, see
    /// [`Self::take_back`]).
    fn acc_use(&mut self, slot: Slot) -> bool {
        if !self.in_acc(slot) {
            return false;
        }
        if self.fresh_result(slot).is_some()
            && !self.last.acc_only_now
            && let Some((_, twin)) = self.last.acc_only
        {
            self.code.patch(self.last.start, twin);
            self.last.acc_only_now = true;
        }
        true
    }

    /// Whether the accumulator holds the value of `slot` when the next instruction runs: the
    /// last instruction emitted computed it (every result-writing handler leaves its result in
    /// the accumulator too), and no label lets another path in.
    fn in_acc(&self, slot: Slot) -> bool {
        self.last.acc == Some(slot)
    }

    /// The last instruction's result, if it computed `slot` and nothing else reads that result.
    fn fresh_result(&self, slot: Slot) -> Option<LastResult> {
        self.last.result.filter(|last| last.dst == slot)
    }

    /// If the instruction just emitted is a comparison computing `cond` (and nothing else reads
    /// it), takes it back so the branch consuming `cond` can do the comparison itself.
    fn take_compare(&mut self, cond: Slot) -> Option<Compare> {
        let compare = self.fresh_result(cond)?.compare?;
        self.take_back();
        Some(compare)
    }

    /// Removes the last instruction (which nothing refers to yet), back to the state before it;
    /// the instruction before stores its result again if only the removed one read it in the
    /// accumulator.
    fn take_back(&mut self) {
        self.code.truncate(self.last.start);
        self.last = self.history.pop().unwrap_or(Last::NOTHING);
        if self.last.acc_only_now
            && let Some((stored, _)) = self.last.acc_only
        {
            self.code.patch(self.last.start, stored);
            self.last.acc_only_now = false;
        }
    }

    /// The operands of the last instruction, which were written as a `T`.
    fn last_operands<T: Copy>(&self) -> T {
        self.code.read(self.last.start + HANDLER_BYTES)
    }

    fn local_set(&mut self, local: u32) {
        let value = self.stack.len() - 1;
        let pending_reads = self.stack[..value].contains(&Operand::Local(local));
        if pending_reads {
            for position in 0..value {
                if self.stack[position] == Operand::Local(local) {
                    self.materialize(position);
                }
            }
        }
        let src = self.src_of(value);
        let fresh = match src {
            Src::Slot(src) if !pending_reads => self.fresh_result(src),
            _ => None,
        };
        self.pop();
        if fresh.is_some() {
            // The value was just computed into a temporary: compute it into the local instead.
            self.code.patch(self.last.start + DST_AT, slot(local));
            self.last.result = None;
            self.last.acc = Some(slot(local));
        } else if src != Src::Slot(slot(local)) {
            self.move_to(slot(local), src);
        }
    }

    // ---- code emission ----

    fn emit<T: Copy>(&mut self, handler: Handler, operands: T) -> usize {
        self.history.push(self.last);
        let start = self.code.emit(handler, operands);
        self.wasm_offsets.note(start, self.offset);
        self.last = Last { start, ..Last::NOTHING };
        start
    }

    /// The handlers of returns without and with one result moved: under guest profiling, those
    /// that pop the frame's profile entry.
    fn ret_handlers(&self) -> (Handler, Handler) {
        match self.profile_loops {
            None => (h::ret, h::ret1),
            Some(_) => (h::ret_profiled, h::ret1_profiled),
        }
    }

    /// A branch target is bound here: no instruction before it may be retargeted any more, and
    /// the accumulator holds nothing known (other paths come in).
    fn bind_label(&mut self) -> usize {
        self.last = Last::NOTHING;
        self.history.clear();
        self.code.len()
    }

    /// Makes the branch whose offset is at `fixup` jump to `target`.
    fn patch(&mut self, fixup: Fixup, target: usize) {
        self.code.patch(fixup.at, (target as i64 - fixup.from as i64) as i32);
    }

    /// Whether control `index`'s label is a loop header (a branch to it is a back-edge).
    fn is_loop(&self, index: usize) -> bool {
        matches!(self.controls[index].label, Label::Loop(_))
    }

    /// Points the branch at `fixup` at the label of control `index` (now, or when it is bound).
    fn branch_to(&mut self, index: usize, fixup: Fixup) {
        match &mut self.controls[index].label {
            Label::Loop(target) => {
                let target = *target;
                self.patch(fixup, target);
            }
            Label::Forward(fixups) => fixups.push(fixup),
        }
    }

    fn mark_unreachable(&mut self) {
        self.reachable = false;
        let height = self.controls.last().expect("inside a function").height;
        self.stack.truncate(height.min(self.stack.len()));
    }

    // ---- control flow ----

    fn block_arity(&self, blockty: BlockType) -> (usize, usize) {
        match blockty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(t) => {
                let ty = &self.module.types[t as usize];
                (ty.params().len(), ty.results().len())
            }
        }
    }

    fn visit_block(&mut self, kind: ControlKind, blockty: BlockType) {
        let (num_params, num_results) = self.block_arity(blockty);
        let cond = if kind == ControlKind::If { Some(self.pop_slot()) } else { None };
        let compare = cond.and_then(|cond| self.take_compare(cond));
        // Every path into the block must agree on where values live: no pending local reads,
        // and the parameters in their own temporaries.
        self.materialize_locals();
        let height = self.stack.len() - num_params;
        for position in height..self.stack.len() {
            self.materialize(position);
        }
        let (label, else_fixup) = match kind {
            ControlKind::Loop => {
                let header = self.bind_label();
                if self.profile_loops.is_some() {
                    let ordinal = self.loop_headers.len() as u32;
                    let high =
                        crate::vm::profile::entry_high(crate::tier::Tier::Interp, Some(ordinal));
                    self.emit(h::profile_loop, ProfileLoop { high });
                    // Nothing may take the profiling instruction back.
                    self.bind_label();
                }
                self.loop_headers.push(header as u32);
                (Label::Loop(header), None)
            }
            ControlKind::If => {
                let cond = cond.expect("if has a condition");
                let fixup = self.conditional_branch(compare, cond, false, false);
                (Label::Forward(Vec::new()), Some(fixup))
            }
            _ => (Label::Forward(Vec::new()), None),
        };
        let try_catches = None;
        self.controls.push(Control {
            kind,
            height,
            num_params,
            num_results,
            label,
            else_fixup,
            try_catches,
        });
    }

    /// `try_table`: a block whose catch clauses each get a pad, emitted before the body (which
    /// jumps over them), that branches to the clause's label with the clause's values in the
    /// temporaries from the `try_table`'s height on: where an exception's payload lands
    /// (`Executor::catch_in_frame`). Below that height the stack is as the body leaves it (no
    /// body changes it), so the pads branch as code at the body's start would.
    fn visit_try_table(&mut self, try_table: &wasmparser::TryTable) {
        let (num_params, _) = self.block_arity(try_table.ty);
        self.materialize_locals();
        let height = self.stack.len() - num_params;
        for position in height..self.stack.len() {
            self.materialize(position);
        }
        self.bind_label();
        let over = self.jump(false);
        let stack = self.stack.clone();
        let mut catches = Vec::with_capacity(try_table.catches.len());
        for catch in &try_table.catches {
            let (tag, with_ref, label) = crate::operators::catch_clause(catch);
            let payload = match tag {
                crate::vm::exception::CATCH_ALL => 0,
                tag => {
                    let ty = self.module.tags[tag as usize];
                    self.module.types[ty as usize].params().len()
                }
            };
            let pad = self.bind_label() as u32;
            self.stack.truncate(height);
            self.push_temps(payload + with_ref as usize);
            // The try_table's own label is not open yet: `label` counts from its parent, as
            // catch clauses do.
            self.branch(label);
            self.stack.clone_from(&stack);
            catches.push(CatchPad { tag, with_ref, dest: self.temp_slot(height), pad });
        }
        let start = self.bind_label();
        self.patch(over, start);
        self.visit_block(ControlKind::Block, try_table.ty);
        let control = self.controls.last_mut().expect("just opened");
        control.try_catches = Some((start, catches));
    }

    /// Moves the top `arity` operands to the temporaries at `height..height + arity`.
    fn move_results(&mut self, height: usize, arity: usize) {
        let first = self.stack.len() - arity;
        for i in 0..arity {
            let src = self.src_of(first + i);
            let dst = self.temp_slot(height + i);
            if src != Src::Slot(dst) {
                self.move_to(dst, src);
            }
        }
    }

    /// Emits an unconditional branch (to a loop header when `back`) and returns its fixup.
    fn jump(&mut self, back: bool) -> Fixup {
        let handler = h::BR[self.kind(back)];
        let from = self.emit(handler, Br { offset: 0 });
        Fixup { at: from + HANDLER_BYTES + offset_of!(Br, offset), from }
    }

    fn visit_else(&mut self) {
        let frame = self.controls.last_mut().expect("else inside if");
        frame.kind = ControlKind::Else;
        let (height, num_params, num_results) = (frame.height, frame.num_params, frame.num_results);
        let else_fixup = frame.else_fixup.take();
        if self.reachable {
            self.move_results(height, num_results);
            let fixup = self.jump(false);
            self.branch_to(self.controls.len() - 1, fixup);
        }
        let here = self.bind_label();
        if let Some(fixup) = else_fixup {
            self.patch(fixup, here);
        }
        self.fuel_segment = None;
        self.stack.truncate(height);
        self.push_temps(num_params);
        self.reachable = true;
    }

    fn visit_end(&mut self) {
        let frame = self.controls.last().expect("end of a block");
        let (height, num_results) = (frame.height, frame.num_results);
        if frame.kind == ControlKind::Function {
            if self.reachable {
                self.emit_return();
            }
            self.controls.pop();
            return;
        }
        let body_end = self.code.len();
        if self.reachable {
            self.move_results(height, num_results);
        }
        let mut frame = self.controls.pop().expect("end of a block");
        if let Some((start, catches)) = frame.try_catches.take() {
            let (start, end) = (start as u32, body_end as u32);
            self.try_ranges.push(TryRange { start, end, catches: catches.into() });
        }
        let here = self.bind_label();
        if let Label::Forward(fixups) = frame.label {
            for fixup in fixups {
                self.patch(fixup, here);
            }
        }
        if let Some(fixup) = frame.else_fixup {
            self.patch(fixup, here);
        }
        self.fuel_segment = None;
        self.stack.truncate(height);
        self.push_temps(num_results);
        self.reachable = true;
    }

    /// Emits the moves and the jump of a `br relative_depth` (the branch is always taken).
    fn branch(&mut self, relative_depth: u32) {
        let index = self.controls.len() - 1 - relative_depth as usize;
        if index == 0 {
            self.emit_return();
            return;
        }
        let (height, arity) = (self.controls[index].height, self.controls[index].branch_arity());
        self.move_results(height, arity);
        let fixup = self.jump(self.is_loop(index));
        self.branch_to(index, fixup);
    }

    /// Whether a branch to `relative_depth` needs no value moves (so it can be a single instruction).
    fn branch_is_plain(&self, relative_depth: u32) -> bool {
        let index = self.controls.len() - 1 - relative_depth as usize;
        if index == 0 {
            return false;
        }
        let control = &self.controls[index];
        let arity = control.branch_arity();
        let first = self.stack.len() - arity;
        (0..arity).all(|i| self.src_of(first + i) == Src::Slot(self.temp_slot(control.height + i)))
    }

    fn visit_br_if(&mut self, relative_depth: u32) {
        let cond = self.pop_slot();
        if self.branch_is_plain(relative_depth) {
            let compare = self.take_compare(cond);
            let index = self.controls.len() - 1 - relative_depth as usize;
            let fixup = self.conditional_branch(compare, cond, true, self.is_loop(index));
            self.branch_to(index, fixup);
            return;
        }
        let skip = self.conditional_branch(None, cond, false, false);
        self.branch(relative_depth);
        let here = self.bind_label();
        self.patch(skip, here);
    }

    /// `br_on_null` (`on_null`) or `br_on_non_null`: branches on whether the reference on top
    /// is null. The reference stays in its temporary throughout: a taken `br_on_non_null`
    /// passes it on as its last value, a `br_on_null` that falls through keeps it.
    fn visit_br_on_null(&mut self, relative_depth: u32, on_null: bool) {
        let position = self.stack.len() - 1;
        self.materialize(position);
        let reference = self.temp_slot(position);
        if on_null {
            // What the branch carries is below the reference.
            self.pop();
        }
        let index = self.controls.len() - 1 - relative_depth as usize;
        let is_null = Some(Compare::Eqz { wide: true, src: reference });
        if self.branch_is_plain(relative_depth) {
            let back = self.is_loop(index);
            let fixup = self.conditional_branch(is_null, reference, on_null, back);
            self.branch_to(index, fixup);
        } else {
            let skip = self.conditional_branch(is_null, reference, !on_null, false);
            self.branch(relative_depth);
            let here = self.bind_label();
            self.patch(skip, here);
        }
        if on_null {
            self.push(Operand::Temp);
        } else {
            self.pop();
        }
    }

    fn visit_br_table(&mut self, depths: &[u32]) {
        let index = self.pop_slot();
        let len = depths.len() as u32 - 1;
        let from = self.emit(h::br_table, BrTable { index, len });
        // One offset per entry; entries that must move values jump to a stub emitted after the
        // table.
        let table_start = self.code.len();
        for _ in depths {
            self.code.push(0i32);
        }
        for (i, &depth) in depths.iter().enumerate() {
            let fixup = Fixup { at: table_start + 4 * i, from };
            let target = self.controls.len() - 1 - depth as usize;
            if self.branch_is_plain(depth) {
                self.branch_to(target, fixup);
            } else {
                let stub = self.bind_label();
                self.patch(fixup, stub);
                self.branch(depth);
            }
        }
        self.mark_unreachable();
    }

    /// Emits a branch taken when `cond` is non-zero (`when`) or zero (`!when`), fused with the
    /// comparison that computed `cond` when there is one; `back` when it goes to a loop header.
    /// Returns its fixup.
    fn conditional_branch(
        &mut self,
        compare: Option<Compare>,
        cond: Slot,
        when: bool,
        back: bool,
    ) -> Fixup {
        let (from, field) = match compare {
            None => {
                // Branching when `cond` is zero is `br_eqz`, when it is not `br_nez`.
                match self.take_and(cond, when, back) {
                    Some(fused) => fused,
                    None => {
                        let handler = self.test_branch(false, !when, back, cond);
                        (self.emit(handler, BrIf { cond, offset: 0 }), offset_of!(BrIf, offset))
                    }
                }
            }
            Some(Compare::Eqz { wide: false, src })
                if self.fresh_result(src).and_then(|last| last.compare).is_some() =>
            {
                // `src` is a comparison just computed: branching when it is false (it is zero)
                // is branching on the comparison with the other outcome.
                let inner = self.take_compare(src);
                return self.conditional_branch(inner, src, !when, back);
            }
            Some(Compare::Eqz { wide, src }) => {
                // Branching when `src == 0` holds is branching when `src` is zero.
                // (An `i32.and` only ever feeds an `i32.eqz`.)
                match if wide { None } else { self.take_and(src, !when, back) } {
                    Some(fused) => fused,
                    None => {
                        let handler = self.test_branch(wide, when, back, src);
                        (
                            self.emit(handler, BrIf { cond: src, offset: 0 }),
                            offset_of!(BrIf, offset),
                        )
                    }
                }
            }
            Some(Compare::Float { wide, cond, a, b }) => {
                let table = if wide { &h::F64_BR } else { &h::F32_BR };
                let forms = table[cond as usize][when as usize][self.kind(back)];
                match b {
                    Src::Slot(b) => {
                        let handler = forms.rr[self.mode(a, b)];
                        (self.emit(handler, BrCmp { a, b, offset: 0 }), offset_of!(BrCmp, offset))
                    }
                    Src::Imm(Imm::I32(imm)) => {
                        let handler = forms.ri[self.acc_use(a) as usize];
                        let operands = BrCmpI32 { a, imm, offset: 0 };
                        (self.emit(handler, operands), offset_of!(BrCmpI32, offset))
                    }
                    Src::Imm(imm) => {
                        let handler = forms.ri[self.acc_use(a) as usize];
                        let operands = BrCmpI64 { a, offset: 0, imm: imm_u64(imm) };
                        (self.emit(handler, operands), offset_of!(BrCmpI64, offset))
                    }
                }
            }
            Some(Compare::Int { wide, cond, a, b }) => {
                // Branching when a comparison is false is branching when its negation is true.
                let cond = if when { cond } else { cond.negate() };
                if let Some(fused) = self.take_add(wide, cond, a, b, back) {
                    return fused;
                }
                let table = if wide { &h::I64_BR } else { &h::I32_BR };
                let forms = table[cond as usize][self.kind(back)];
                match b {
                    Src::Slot(b) => {
                        let handler = forms.rr[self.mode(a, b)];
                        (self.emit(handler, BrCmp { a, b, offset: 0 }), offset_of!(BrCmp, offset))
                    }
                    Src::Imm(Imm::I32(imm)) => {
                        let handler = forms.ri[self.acc_use(a) as usize];
                        let operands = BrCmpI32 { a, imm, offset: 0 };
                        (self.emit(handler, operands), offset_of!(BrCmpI32, offset))
                    }
                    Src::Imm(imm) => {
                        let handler = forms.ri[self.acc_use(a) as usize];
                        let operands = BrCmpI64 { a, offset: 0, imm: imm_u64(imm) };
                        (self.emit(handler, operands), offset_of!(BrCmpI64, offset))
                    }
                }
            }
        };
        Fixup { at: from + HANDLER_BYTES + field, from }
    }

    /// If the instruction just emitted is an addition whose result is operand `a` or `b` of
    /// comparison `cond` (the accumulator holds it), takes the addition back and emits a branch
    /// on the comparison that does the addition itself (and still writes its result).
    fn take_add(&mut self, wide: bool, cond: Cond, a: Slot, b: Src, back: bool) -> Option<Fixup> {
        let z_imm = match (self.last.op?, wide) {
            (LastOp::AddImm, false) | (LastOp::AddImm64, true) => true,
            (LastOp::Add, false) | (LastOp::Add64, true) => false,
            _ => return None,
        };
        let (dst, x, z) = match (z_imm, wide) {
            (true, false) => {
                let BinI32 { dst, a, imm } = self.last_operands();
                (dst, a, imm as u64)
            }
            (true, true) => {
                let BinI64 { dst, a, imm } = self.last_operands();
                (dst, a, imm)
            }
            (false, _) => {
                let Bin { dst, a, b } = self.last_operands();
                (dst, a, b as u64)
            }
        };
        if !self.in_acc(dst) {
            return None;
        }
        let (cond, y) = match (a == dst, b == Src::Slot(dst)) {
            (true, false) => (cond, b),
            (false, true) => (cond.mirror(), Src::Slot(a)),
            _ => return None,
        };
        let (y, y_imm) = match y {
            Src::Slot(y) => (y as u64, false),
            Src::Imm(imm) => (imm_u64(imm), true),
        };
        // The addition's own operands are read from their slots: taking it back makes the
        // instruction before store its result again.
        self.take_back();
        let kind = self.kind(back);
        let handler = h::ADD_BR[cond as usize][wide as usize][z_imm as usize][y_imm as usize][kind];
        let from = self.emit(handler, AddBr { offset: 0, dst, x, z, y });
        Some(Fixup { at: from + HANDLER_BYTES + offset_of!(AddBr, offset), from })
    }

    /// If `cond` is the fresh result of an `i32.and` of an immediate, takes the `and` back and
    /// emits a branch taken when `cond` is non-zero (`nz`) or zero that does the `and` itself;
    /// returns where it starts and its offset field.
    fn take_and(&mut self, cond: Slot, nz: bool, back: bool) -> Option<(usize, usize)> {
        self.fresh_result(cond)?;
        let Some(LastOp::AndImm) = self.last.op else { return None };
        let BinI32 { a, imm, .. } = self.last_operands();
        self.take_back();
        let a_acc = self.acc_use(a) as usize;
        let handler = h::BR_AND[nz as usize][self.kind(back)][a_acc];
        Some((self.emit(handler, BrCmpI32 { a, imm, offset: 0 }), offset_of!(BrCmpI32, offset)))
    }

    /// The handler of a branch taken when `cond` (64 bits wide when `wide`) is zero (`if_zero`)
    /// or not, to a loop header when `back`.
    fn test_branch(&mut self, wide: bool, if_zero: bool, back: bool, cond: Slot) -> Handler {
        let acc = self.acc_use(cond) as usize;
        h::BR_TEST[wide as usize][if_zero as usize][self.kind(back)][acc]
    }

    /// The branch kind (`h::FORWARD`...) of a branch that goes back to a loop header or not.
    fn kind(&self, back: bool) -> usize {
        if back { self.back_kind as usize } else { h::FORWARD as usize }
    }

    /// Moves the results into slots `0..n` and returns.
    ///
    /// Leaves the operand stack as it was: a conditional branch to the function's end runs this
    /// code only when taken, so the fall-through path must not see any of its moves.
    fn emit_return(&mut self) {
        let n = self.num_results as usize;
        let first = self.stack.len() - n;
        if n == 1 {
            match self.src_of(first) {
                Src::Slot(0) => {}
                Src::Slot(src) => match self.fresh_result(src) {
                    // Computed just now (never the case for a branch's return, which follows a
                    // conditional branch or a label): compute it into slot 0 instead.
                    Some(_) => self.code.patch(self.last.start + DST_AT, 0 as Slot),
                    None => {
                        self.emit(self.ret_handlers().1, Return1 { src });
                        return;
                    }
                },
                imm => self.move_to(0, imm),
            }
            self.emit(self.ret_handlers().0, Nothing {});
            return;
        }
        // A result still in a low local could be overwritten by an earlier result's move: it is
        // read from its own temporary instead, which nothing else reads once the function returns.
        let sources: Vec<Src> = (first..self.stack.len())
            .map(|position| match self.stack[position] {
                Operand::Local(local) if local < self.num_results => {
                    let temp = self.temp_slot(position);
                    self.emit(h::copy, Un { dst: temp, src: slot(local) });
                    Src::Slot(temp)
                }
                _ => self.src_of(position),
            })
            .collect();
        for (i, src) in sources.into_iter().enumerate() {
            if src != Src::Slot(slot(i as u32)) {
                self.move_to(slot(i as u32), src);
            }
        }
        self.emit(self.ret_handlers().0, Nothing {});
    }
}

/// A scalar immediate's bits, zero-extended.
/// A constant's bits as a slot holds them.
fn imm_u128(imm: Imm) -> u128 {
    match imm {
        Imm::I32(v) => v as u128,
        Imm::I64(v) => v as u128,
        Imm::V128(v) => v,
    }
}

fn imm_u64(imm: Imm) -> u64 {
    match imm {
        Imm::I32(v) => v as u64,
        Imm::I64(v) => v,
        Imm::V128(_) => unreachable!("no scalar operand is a v128"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::code::{BrTable, HANDLER_BYTES, InterpFunc};
    use super::super::handlers::registry;
    use crate::{Config, Engine, Linker, Module, Store, Val};

    /// Each instruction of `code` as its handler's name and its operands as `u32` words (branch
    /// offsets print as negative numbers when they are).
    fn disassemble(code: &InterpFunc) -> Vec<String> {
        let bytes = &code.code;
        let word = |at: usize| -> u32 {
            // SAFETY: `at + 4 <= bytes.len()` (checked by the callers' loop bounds); the bytes
            // were written by the translator.
            unsafe { bytes.as_ptr().add(at).cast::<u32>().read_unaligned() }
        };
        let registry = registry();
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            // SAFETY: `at` is the start of an instruction (the loop steps over whole ones).
            let handler =
                unsafe { code.start().byte_add(at).cast::<super::Handler>().read_unaligned() };
            let (_, name, size) = registry
                .iter()
                .find(|(h, _, _)| std::ptr::fn_addr_eq(*h, handler))
                .unwrap_or_else(|| panic!("a handler missing from the registry at byte {at}"));
            let (name, size) = (name.as_str(), *size);
            let operands = at + HANDLER_BYTES;
            let mut line = name.to_string();
            for i in 0..size / 4 {
                line += &format!(" {}", word(operands + 4 * i) as i32);
            }
            at = operands + size;
            if name == "br_table" {
                let entries = word(operands + std::mem::offset_of!(BrTable, len)) as usize + 1;
                for i in 0..entries {
                    line += &format!(" {}", word(at + 4 * i) as i32);
                }
                at += 4 * entries;
            }
            out.push(line);
        }
        out
    }

    fn translate(wat: &str) -> Vec<String> {
        code_of(wat, 0)
    }

    /// The disassembly of defined function `def` of `wat`.
    fn code_of(wat: &str, def: u32) -> Vec<String> {
        let module = Module::new(&Engine::default(), wat).unwrap();
        disassemble(crate::tier::interp_code(&module.inner, def).unwrap())
    }

    /// Calls export `name` of `wat` in the interpreter.
    fn run(wat: &str, name: &str, args: &[Val]) -> Result<Val, crate::Error> {
        let tier = crate::Tiering::Pinned(crate::Tier::Interp);
        let engine = Engine::new(Config { tier, ..Config::default() });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let func = instance.get_func(&store, name).unwrap();
        let mut out = [Val::I32(0)];
        let n = func.ty(&store).results().len();
        func.call(&mut store, args, &mut out[..n]).map(|()| out[0])
    }

    #[test]
    fn a_select_reads_its_condition_from_the_slot_once_constants_were_written() {
        // The comparison leaves its result in the accumulator, but the constants `select`
        // takes are written to their slots after it (and through the accumulator).
        let wat = r#"(module (func (export "f") (param i32 i32) (result i32)
            (select (i32.const -1) (i32.const 1) (i32.gt_u (local.get 0) (local.get 1)))))"#;
        assert_eq!(run(wat, "f", &[Val::I32(5), Val::I32(3)]).unwrap(), Val::I32(-1));
        assert_eq!(run(wat, "f", &[Val::I32(3), Val::I32(5)]).unwrap(), Val::I32(1));
        let code = translate(wat);
        assert_eq!(code[..3], ["i32_gt_u 64 0 16", "const_i32 48 1", "const_i32 32 -1"]);
        assert_eq!(code[3], "select 0 32 48 64", "the condition from its slot");
    }

    #[test]
    fn float_comparisons_fuse_into_branches_that_respect_nan() {
        // `if` branches to the else arm when the comparison is false, which is not when the
        // opposite comparison is true: NaN compares false both ways.
        let wat = r#"(module (func (export "f") (param f64) (result i32)
            (if (result i32) (f64.lt (local.get 0) (f64.const 1))
              (then (i32.const 1)) (else (i32.const 2)))))"#;
        assert_eq!(translate(wat)[0], "br_if_not_f64_lt_ri 0 52 0 1072693248");
        for (x, expected) in [(0.5, 1), (2.0, 2), (f64::NAN, 2)] {
            assert_eq!(run(wat, "f", &[Val::F64(x.to_bits())]).unwrap(), Val::I32(expected));
        }
        let wat = r#"(module (func (export "f") (param f32 f32) (result i32)
            (block (br_if 0 (f32.ge (local.get 0) (local.get 1))) (return (i32.const 7)))
            (i32.const 8)))"#;
        assert_eq!(translate(wat)[0], "br_if_f32_ge 0 16 44");
        let bits = |x: f32| Val::F32(x.to_bits());
        for (x, y, expected) in [(1.0, 2.0, 7), (2.0, 2.0, 8), (f32::NAN, 2.0, 7)] {
            assert_eq!(run(wat, "f", &[bits(x), bits(y)]).unwrap(), Val::I32(expected));
        }
    }

    #[test]
    fn a_product_fuses_into_the_sum_and_rounds_twice() {
        let wat = r#"(module
            (func (export "mul_add") (param f64 f64 f64) (result f64)
              (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
            (func (export "sub_mul") (param f64 f64 f64) (result f64)
              (f64.sub (local.get 2) (f64.mul (local.get 0) (local.get 1)))))"#;
        assert_eq!(translate(wat), ["f64_mul_then_add 0 32 0 16", "ret"]);
        // (1 + 2^-30) * (1 - 2^-30) = 1 - 2^-60 rounds to 1: a fused multiply-add would give
        // -2^-60 + 1 - 1, not 0.
        let x = 1.0 + 2f64.powi(-30);
        let y = 1.0 - 2f64.powi(-30);
        let f = |x: f64| Val::F64(x.to_bits());
        let r = run(wat, "mul_add", &[f(x), f(y), f(-1.0)]).unwrap();
        assert_eq!(r, f(0.0));
        let r = run(wat, "sub_mul", &[f(x), f(y), f(1.0)]).unwrap();
        assert_eq!(r, f(0.0));
        let r = run(wat, "sub_mul", &[f(3.0), f(4.0), f(20.0)]).unwrap();
        assert_eq!(r, f(8.0));
    }

    #[test]
    fn float_operators_fuse_in_pairs_each_rounding() {
        let wat = r#"(module
            (func (export "add_sub") (param f64 f64 f64) (result f64)
              (f64.add (local.get 2) (f64.sub (local.get 0) (local.get 1))))
            (func (export "add_mul") (param f32 f32 f32) (result f32)
              (f32.mul (f32.add (local.get 0) (local.get 1)) (local.get 2)))
            (func (export "chain") (param f64 f64 f64) (result f64)
              (f64.mul (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2))
                       (local.get 2))))"#;
        let code = translate(wat);
        // Slots: params at 0, 16, 32; the result at 0. `_r`: the first result is the right
        // operand of the second operator.
        assert_eq!(code, ["f64_sub_then_add_r 0 32 0 16", "ret"]);
        let f = |x: f64| Val::F64(x.to_bits());
        // (2^53 + 2) - 1 rounds to 2^53 (ties to even), and 1 + 2^53 to 2^53 again: rounding
        // once, at the end, would give 2^53 + 2.
        let big = 2f64.powi(53);
        assert_eq!(run(wat, "add_sub", &[f(big + 2.0), f(1.0), f(1.0)]).unwrap(), f(big));
        assert_eq!(run(wat, "add_sub", &[f(5.0), f(3.0), f(0.5)]).unwrap(), f(2.5));
        let g = |x: f32| Val::F32(x.to_bits());
        assert_eq!(run(wat, "add_mul", &[g(1.5), g(2.0), g(4.0)]).unwrap(), g(14.0));
        // Only pairs fuse: the product fuses into the sum, the product of that is on its own
        // (reading the sum in the accumulator).
        let chain = code_of(wat, 2);
        let names: Vec<_> = chain.iter().map(|line| line.split(' ').next().unwrap()).collect();
        assert_eq!(names, ["f64_mul_then_add_o", "f64_mul_a", "ret"]);
        assert_eq!(run(wat, "chain", &[f(2.0), f(3.0), f(4.0)]).unwrap(), f(40.0));
    }

    #[test]
    fn a_scaled_index_fuses_into_its_addition() {
        let wat = r#"(module
            (func (export "shl") (param i32 i32) (result i32)
              (i32.add (local.get 0) (i32.shl (local.get 1) (i32.const 34))))
            (func (export "mul") (param i32 i32) (result i32)
              (i32.add (i32.mul (i32.const 40) (local.get 1)) (local.get 0))))"#;
        // The shift count is taken modulo 32: a scale of 4.
        assert_eq!(translate(wat), ["i32_add_scaled 0 0 16 4", "ret"]);
        assert_eq!(code_of(wat, 1), ["i32_add_scaled 0 0 16 40", "ret"]);
        let i = Val::I32;
        assert_eq!(run(wat, "shl", &[i(1000), i(7)]).unwrap(), i(1028));
        assert_eq!(run(wat, "mul", &[i(1000), i(7)]).unwrap(), i(1280));
        // Wrapping, as the two operators do.
        assert_eq!(run(wat, "shl", &[i(-1), i(0x4000_0001)]).unwrap(), i(3));
        assert_eq!(run(wat, "mul", &[i(5), i(0x4000_0000)]).unwrap(), i(5));
    }

    #[test]
    fn a_comparison_under_eqz_fuses_into_the_branch_with_the_other_outcome() {
        let wat = r#"(module (func (export "f") (param f64) (result i32)
            (block (br_if 0 (i32.eqz (f64.le (local.get 0) (f64.const 4)))) (return (i32.const 1)))
            (i32.const 2)))"#;
        assert_eq!(translate(wat)[0], "br_if_not_f64_le_ri 0 48 0 1074790400");
        for (x, expected) in [(1.0, 1), (5.0, 2), (f64::NAN, 2)] {
            assert_eq!(run(wat, "f", &[Val::F64(x.to_bits())]).unwrap(), Val::I32(expected));
        }
    }

    #[test]
    fn a_bit_test_fuses_into_the_branch() {
        let wat = r#"(module (func (export "f") (param i32) (result i32)
            (block (br_if 0 (i32.and (local.get 0) (i32.const 4))) (return (i32.const 1)))
            (block (br_if 0 (i32.eqz (i32.and (local.get 0) (i32.const 1)))) (return (i32.const 2)))
            (i32.const 3)))"#;
        let code = translate(wat);
        assert_eq!(code[0], "br_and_nz 0 4 44", "{code:?}");
        assert_eq!(code[3], "br_and_z 0 1 44", "{code:?}");
        for (x, expected) in [(0, 1), (4, 3), (5, 2), (6, 3), (1, 1)] {
            assert_eq!(run(wat, "f", &[Val::I32(x)]).unwrap(), Val::I32(expected), "f({x})");
        }
    }

    #[test]
    fn a_result_taken_back_from_its_reader_is_stored_again() {
        // The sum is read in the accumulator by the comparison, which the `if` takes back into
        // its branch; the pending `local.get 2` is then copied before the branch, which reads
        // the sum from its slot: the addition must store it again.
        let wat = r#"(module (func (export "f") (param i32 i32 i32) (result i32)
            (local.get 2)
            (if (result i32) (i32.lt_s (i32.add (local.get 0) (local.get 1)) (i32.const 10))
              (then (i32.const 100)) (else (i32.const 200)))
            (i32.add)))"#;
        let code = translate(wat);
        assert_eq!(code[..3], ["i32_add 64 0 16", "copy 48 32", "br_i32_ge_s_ri 64 10 48"]);
        let args = |a, b| [Val::I32(a), Val::I32(b), Val::I32(1)];
        assert_eq!(run(wat, "f", &args(3, 4)).unwrap(), Val::I32(101));
        assert_eq!(run(wat, "f", &args(30, 4)).unwrap(), Val::I32(201));
    }

    #[test]
    fn a_loop_counter_fuses_into_the_branch_on_it() {
        let wat = r#"(module
            (func (export "count") (param i32 i32) (result i32) (local i32)
              (loop $l
                (local.set 2 (i32.mul (local.get 2) (i32.const 3)))
                (br_if $l (i32.ne (local.tee 0 (i32.add (local.get 0) (i32.const 1)))
                                  (local.get 1))))
              (i32.add (local.get 0) (local.get 2)))
            (func (export "wide") (param i64) (result i64) (local i64)
              (loop $l
                (local.set 1 (i64.add (local.get 1) (local.get 0)))
                (br_if $l (i64.gt_u (i64.const 1000) (local.get 1))))
              (local.get 1)))"#;
        let code = translate(wat);
        // The comparison reads the sum in the accumulator; the addition writes it to local 0 too.
        assert_eq!(code[..2], ["i32_mul_ri 32 32 3", "i32_add_ri_br_ne_back -20 0 0 1 0 16 0"]);
        let count = run(wat, "count", &[Val::I32(0), Val::I32(5)]);
        assert_eq!(count.unwrap(), Val::I32(5), "five rounds, and 0 * 3 five times");
        // `1000 > x` is `x < 1000`, the comparand an immediate.
        assert_eq!(run(wat, "wide", &[Val::I64(7)]).unwrap(), Val::I64(1001));
    }

    #[test]
    fn a_counting_loop_is_three_instructions_per_iteration() {
        let code = translate(
            r#"(module (func (param i32) (result i32) (local i32)
                (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 3)))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                (local.get 1)))"#,
        );
        // Slots are byte offsets: param 0 at 0, local 1 at 16; constants are immediates; the
        // branch goes back over the two 20-byte instructions before it, testing the value the
        // accumulator holds (`_a`): the result of the subtraction just before.
        assert_eq!(
            code,
            ["i32_add_ri 16 16 3", "i32_sub_ri 0 0 1", "br_nez_back_a 0 -40", "ret1 16"]
        );
    }

    #[test]
    fn comparisons_fuse_into_the_branch_of_an_if() {
        let code = translate(
            r#"(module (func (param i32) (result i32)
                (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
                  (then (local.get 0)) (else (i32.const 7)))))"#,
        );
        // `if` branches to the else arm when the comparison is false: `ge_s`.
        assert_eq!(code[0], "br_i32_ge_s_ri 0 2 48");
        // Comparisons of i64 fuse too, a constant on the left mirrored to the right.
        let code = translate(
            r#"(module (func (param i64) (result i32)
                (block (br_if 0 (i64.gt_u (i64.const 9) (local.get 0))))
                (i32.const 1)))"#,
        );
        assert_eq!(code[0], "br_i64_lt_u_ri 0 24 9 0");
    }

    #[test]
    fn constants_fold_into_immediates_and_addresses() {
        let code = translate(
            r#"(module (memory 1) (func (param i32) (result i32)
                (i32.store (local.get 0) (i32.const 5))
                (i32.store offset=4 (i32.const 100) (local.get 0))
                (i32.sub (i32.const 0) (i32.shl (i32.const 1) (local.get 0)))
                (i32.add (i32.const 7))
                (i32.load offset=8 (i32.const 100))
                (i32.add)))"#,
        );
        assert_eq!(
            code,
            [
                "i32_store_imm 0 0 5 0",
                "i32_store_abs 0 104 0",
                // `_o`: the result goes to the accumulator only, where the next instruction
                // reads it.
                "i32_shl_ir_o 32 0 1",
                // `_a`: the first slot operand is the accumulator, the result of the instruction
                // before.
                "i32_sub_ir_o_a 16 32 0",
                // Commutative: the constant moves to the right.
                "i32_add_ri_a 16 16 7",
                "i32_load_abs_o 32 108 0",
                // Computed just before the return: straight into the result slot. `_b`: the
                // second operand is the accumulator.
                "i32_add_b 0 16 32",
                "ret",
            ]
        );
    }

    #[test]
    fn a_constant_goes_into_a_slot_only_where_no_form_takes_it() {
        let code = translate(
            r#"(module (func (param i32) (result i32)
                (i32.div_s (i32.const 100) (local.get 0))))"#,
        );
        assert_eq!(code, ["const_i32 16 100", "i32_div_s 0 16 0", "ret"]);
    }

    /// Prints the translation of one function, for people tuning the translator:
    /// `TIERUP_DUMP=prog.wasm:NAME_OR_INDEX cargo test --release --lib dump -- --ignored --nocapture`.
    #[test]
    #[ignore = "a tool: run it explicitly with TIERUP_DUMP set"]
    fn dump() {
        let spec = std::env::var("TIERUP_DUMP").expect("TIERUP_DUMP=file.wasm:function");
        let (path, func) = spec.rsplit_once(':').expect("TIERUP_DUMP=file.wasm:function");
        let module = Module::from_file(&Engine::default(), path).unwrap();
        let m = &module.inner;
        let index = func.parse().unwrap_or_else(|_| {
            (0..m.num_imported_funcs + m.tiers.len() as u32)
                .find(|&i| m.display_name(i) == Some(func))
                .expect("a function of that name")
        });
        let code = crate::tier::interp_code(m, index - m.num_imported_funcs).unwrap();
        println!("{:?}", code.layout);
        for line in disassemble(code) {
            println!("  {line}");
        }
    }

    #[test]
    fn every_corpus_function_reads_back() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for name in ["c-vm", "c-nbody", "rust-mandel", "rust-regex-json"] {
            let wasm = corpus.join(name).join(format!("{name}.wasm"));
            let module = Module::from_file(&Engine::default(), &wasm).unwrap();
            let m = &module.inner;
            for def in 0..m.tiers.len() as u32 {
                let code = crate::tier::interp_code(m, def).unwrap();
                let last = disassemble(code).pop().expect("code is never empty");
                let name = last.split(' ').next().unwrap();
                let ends = ["ret", "ret1", "br", "br_table", "unreachable"];
                assert!(ends.contains(&name), "function {def} ends in {last}");
            }
        }
    }

    /// Tier 0's frames have the slots tier 1 lays out without it (`frame::compact_layout`, no
    /// constant slots in either): the same canonical slot for every height at every label; the
    /// compact frame may reserve more temporaries than tier 0 ever writes.
    #[test]
    fn layout_agrees_with_the_compact_layout() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for name in ["c-vm", "c-nbody", "rust-mandel", "rust-regex-json"] {
            let wasm = corpus.join(name).join(format!("{name}.wasm"));
            let module = Module::from_file(&Engine::default(), &wasm).unwrap();
            let m = &module.inner;
            for def in 0..m.tiers.len() as u32 {
                let ours = &crate::tier::interp_code(m, def).unwrap().layout;
                let compact = crate::vm::frame::compact_layout(m, def).unwrap();
                let shape = |l: &crate::vm::frame::FrameLayout| {
                    (l.num_params, l.num_locals, l.temp_base(), l.num_loops)
                };
                assert_eq!(shape(ours), shape(&compact), "{name} function {def}");
                assert_eq!(ours.frame_init, compact.frame_init, "{name} function {def}");
                // Validation's height counts what tier 0 reads in place (locals, immediates).
                assert!(ours.frame_size <= compact.frame_size, "{name} function {def}");
            }
        }
    }

    /// Tier 0's translation throughput over the corpus: every function body of every program,
    /// translated afresh (not through the module's cache), the fastest of ten rounds, on one thread. A
    /// measurement, not a test; run it in release:
    /// `cargo test --release --lib translation_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement: run it explicitly, in release"]
    fn translation_throughput() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let mut programs: Vec<_> = std::fs::read_dir(&corpus)
            .unwrap()
            .filter_map(|e| {
                let dir = e.ok()?.path();
                let name = dir.file_name()?.to_str()?.to_owned();
                let wasm = dir.join(format!("{name}.wasm"));
                wasm.is_file().then_some((name, wasm))
            })
            .collect();
        programs.sort();
        let engine = Engine::default();
        let (mut all_bytes, mut all_time) = (0u64, std::time::Duration::ZERO);
        for (name, wasm) in programs {
            let module = Module::from_file(&engine, &wasm).unwrap();
            let m = &module.inner;
            let defs = 0..m.tiers.len() as u32;
            let bytes: u64 = defs.clone().map(|d| m.function_body(d).range().count() as u64).sum();
            // The fastest of several rounds: the machine is shared, and noise only adds time.
            let time = (0..10)
                .map(|_| {
                    let started = std::time::Instant::now();
                    for def in defs.clone() {
                        let body = m.function_body(def);
                        let code = super::translate_function(m, m.num_imported_funcs + def, &body);
                        std::hint::black_box(code.unwrap());
                    }
                    started.elapsed()
                })
                .min()
                .unwrap();
            println!(
                "{name:16} {:8.1} KB of bodies, {:8.2} ms, {:6.1} MB/s",
                bytes as f64 / 1e3,
                time.as_secs_f64() * 1e3,
                bytes as f64 / 1e6 / time.as_secs_f64()
            );
            all_bytes += bytes;
            all_time += time;
        }
        println!(
            "corpus: {:.2} MB of bodies in {:.1} ms: {:.1} MB/s",
            all_bytes as f64 / 1e6,
            all_time.as_secs_f64() * 1e3,
            all_bytes as f64 / 1e6 / all_time.as_secs_f64()
        );
    }
}
