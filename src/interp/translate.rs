//! Wasm function body -> interpreter bytecode, in one pass, the first time a function is needed.
//!
//! The translator keeps a *virtual* operand stack, as Liftoff and Winch do: an entry is a temporary
//! (living in the slot of its stack height), a local or a constant. `local.get` and `i32.const` emit
//! nothing; the instruction that consumes them reads the local's or constant's slot directly. Entries
//! that name locals are materialized into temporaries before the local is overwritten and at every
//! control-flow boundary, so all paths into a label agree on where each value lives.
//!
//! It only ever sees bodies the front end has validated (`module.rs`), so it may rely on
//! well-typed input; it must never be handed one that was not.

use super::code::{Instr, InterpFunc, Slot};
use super::simd::{self, SimdOp};
use crate::error::{Error, Result};
use crate::module::ModuleInner;
use crate::vm::frame::{FrameLayout, ends_fuel_segment};
use std::collections::HashMap;
use wasmparser::{BlockType, FunctionBody, Operator};

/// Translates one validated function body.
pub fn translate_function(
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
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

    let consts = collect_constants(body).map_err(wp)?;
    let zeroed_end = num_locals.max(num_results);
    let const_base = zeroed_end;
    let temp_base = const_base + consts.values.len() as u32;

    let mut t = Translator {
        module,
        code: Vec::new(),
        stack: Vec::new(),
        max_height: 0,
        controls: Vec::new(),
        reachable: true,
        dead_depth: 0,
        temp_base,
        const_base,
        consts,
        num_results,
        consume_fuel,
        fuel_instr: None,
        last_result: None,
        offset: 0,
        loop_headers: Vec::new(),
    };
    t.controls.push(Control {
        kind: ControlKind::Function,
        height: 0,
        num_params: 0,
        num_results: num_results as usize,
        label: Label::Forward(Vec::new()),
        else_fixup: None,
    });

    let mut ops = body.get_operators_reader().map_err(wp)?;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset().map_err(wp)?;
        t.offset = offset as u32;
        t.visit(&op)?;
    }

    let frame_size = temp_base + t.max_height as u32;
    let zeros = std::iter::repeat_n(0, (zeroed_end - num_params) as usize);
    let fuel_segments = t
        .code
        .iter()
        .filter_map(|instr| match instr {
            Instr::ConsumeFuel { amount } => Some(*amount),
            _ => None,
        })
        .collect();
    for (index, instr) in t.code.iter_mut().enumerate() {
        instr.scale_slots();
        relativize_branch(instr, index);
    }
    let layout = FrameLayout {
        num_params,
        frame_init: zeros.chain(t.consts.values).collect(),
        num_locals: num_locals - num_params,
        frame_size,
        num_loops: t.loop_headers.len() as u32,
        fuel_segments,
    };
    Ok(InterpFunc {
        code: t.code.into_boxed_slice(),
        layout,
        loop_headers: t.loop_headers.into_boxed_slice(),
    })
}

/// Deduplicated constants of one function, in order of first appearance.
#[derive(Default)]
struct ConstPool {
    index: HashMap<u128, u32>,
    values: Vec<u128>,
}

impl ConstPool {
    fn add(&mut self, value: u128) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.index.entry(value) {
            e.insert(self.values.len() as u32);
            self.values.push(value);
        }
    }
}

/// Pre-scan for every constant the body uses, so the frame layout is known before translation.
fn collect_constants(body: &FunctionBody<'_>) -> wasmparser::Result<ConstPool> {
    let mut pool = ConstPool::default();
    // `ref.null` and zero are common; the executor also relies on no particular order.
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        match ops.read()? {
            Operator::I32Const { value } => pool.add(value as u32 as u128),
            Operator::I64Const { value } => pool.add(value as u64 as u128),
            Operator::F32Const { value } => pool.add(value.bits() as u128),
            Operator::F64Const { value } => pool.add(value.bits() as u128),
            Operator::V128Const { value } => pool.add(value.i128() as u128),
            Operator::RefNull { .. } => pool.add(0),
            Operator::I8x16Shuffle { lanes } => pool.add(u128::from_le_bytes(lanes)),
            _ => {}
        }
    }
    Ok(pool)
}

/// Where a value on the virtual operand stack lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    /// In the temporary slot of its stack position.
    Temp,
    /// Still in a local's slot (a pending `local.get`).
    Local(Slot),
    /// In a constant slot.
    Const(Slot),
}

#[derive(Debug, PartialEq, Eq)]
enum ControlKind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

#[derive(Debug)]
enum Label {
    /// Branches to a block's end, patched when the end is reached.
    Forward(Vec<usize>),
    /// A loop header's instruction index.
    Loop(u32),
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
    else_fixup: Option<usize>,
}

impl Control {
    /// Values a branch to this label carries.
    fn branch_arity(&self) -> usize {
        if self.kind == ControlKind::Loop { self.num_params } else { self.num_results }
    }
}

struct Translator<'m> {
    module: &'m ModuleInner,
    code: Vec<Instr>,
    stack: Vec<Operand>,
    max_height: usize,
    controls: Vec<Control>,
    reachable: bool,
    /// Blocks opened inside unreachable code, skipped without translation.
    dead_depth: u32,
    /// See [`InterpFunc::loop_headers`].
    loop_headers: Vec<u32>,
    temp_base: Slot,
    const_base: Slot,
    consts: ConstPool,
    num_results: u32,
    consume_fuel: bool,
    /// The open `ConsumeFuel` instruction charging the current straight-line segment.
    fuel_instr: Option<usize>,
    /// The last instruction, if it wrote a fresh temporary that `local.set` may retarget.
    last_result: Option<(usize, Slot)>,
    /// Byte offset of the operator being translated.
    offset: u32,
}

macro_rules! unop {
    ($self:ident, $name:ident) => {
        $self.unary(|dst, src| Instr::$name { dst, src })
    };
}
macro_rules! binop {
    ($self:ident, $name:ident) => {
        $self.binary(|dst, a, b| Instr::$name { dst, a, b })
    };
}
macro_rules! load {
    ($self:ident, $name:ident, $memarg:expr) => {{
        let offset = $memarg.offset as u32;
        $self.unary(|dst, addr| Instr::$name { dst, addr, offset })
    }};
}
macro_rules! store {
    ($self:ident, $name:ident, $memarg:expr) => {{
        let offset = $memarg.offset as u32;
        let val = $self.pop_slot();
        let addr = $self.pop_slot();
        $self.emit(Instr::$name { addr, val, offset });
    }};
}

impl Translator<'_> {
    fn visit(&mut self, op: &Operator<'_>) -> Result<()> {
        if !self.reachable {
            return self.visit_unreachable(op);
        }
        if self.consume_fuel {
            self.charge_fuel();
        }
        self.visit_reachable(op)?;
        if self.consume_fuel && ends_fuel_segment(op) {
            self.fuel_instr = None;
        }
        Ok(())
    }

    /// Counts one operator against the current straight-line segment, opening one if needed.
    fn charge_fuel(&mut self) {
        let index = match self.fuel_instr {
            Some(i) => i,
            None => {
                self.emit(Instr::ConsumeFuel { amount: 0 });
                let i = self.code.len() - 1;
                self.fuel_instr = Some(i);
                i
            }
        };
        if let Instr::ConsumeFuel { amount } = &mut self.code[index] {
            *amount += 1;
        }
    }

    /// In unreachable code only the block structure matters; nothing is emitted.
    fn visit_unreachable(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
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
        use Operator as O;
        match *op {
            O::Unreachable => {
                self.emit(Instr::Unreachable);
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
                self.emit(Instr::Call { func: function_index, base });
                self.push_temps(results);
            }
            O::CallIndirect { type_index, table_index } => {
                let ty = &self.module.types[type_index as usize];
                let (params, results) = (ty.params().len(), ty.results().len());
                let base = self.materialize_args(params + 1);
                self.emit(Instr::CallIndirect { ty: type_index, table: table_index, base });
                self.push_temps(results);
            }
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop_slot();
                let other = self.pop_slot();
                let dst = self.pop_into_place();
                self.emit(Instr::Select { dst, cond, other });
                self.push_temps(1);
            }
            O::LocalGet { local_index } => self.push(Operand::Local(local_index)),
            O::LocalSet { local_index } => self.local_set(local_index),
            O::LocalTee { local_index } => {
                self.local_set(local_index);
                self.push(Operand::Local(local_index));
            }
            O::GlobalGet { global_index } => {
                self.push_result(|dst| Instr::GlobalGet { dst, global: global_index })
            }
            O::GlobalSet { global_index } => {
                let src = self.pop_slot();
                self.emit(Instr::GlobalSet { src, global: global_index });
            }

            O::I32Load { memarg } | O::F32Load { memarg } => load!(self, I32Load, memarg),
            O::I64Load { memarg } | O::F64Load { memarg } => load!(self, I64Load, memarg),
            O::I32Load8S { memarg } => load!(self, I32Load8S, memarg),
            O::I32Load8U { memarg } => load!(self, I32Load8U, memarg),
            O::I32Load16S { memarg } => load!(self, I32Load16S, memarg),
            O::I32Load16U { memarg } => load!(self, I32Load16U, memarg),
            O::I64Load8S { memarg } => load!(self, I64Load8S, memarg),
            O::I64Load8U { memarg } => load!(self, I64Load8U, memarg),
            O::I64Load16S { memarg } => load!(self, I64Load16S, memarg),
            O::I64Load16U { memarg } => load!(self, I64Load16U, memarg),
            O::I64Load32S { memarg } => load!(self, I64Load32S, memarg),
            O::I64Load32U { memarg } => load!(self, I64Load32U, memarg),
            // Narrow stores write the low bytes of the slot, whatever the value's width.
            O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
                store!(self, I32Store, memarg)
            }
            O::I64Store { memarg } | O::F64Store { memarg } => store!(self, I64Store, memarg),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => store!(self, I32Store8, memarg),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                store!(self, I32Store16, memarg)
            }
            O::MemorySize { .. } => self.push_result(|dst| Instr::MemorySize { dst }),
            O::MemoryGrow { .. } => self.unary(|dst, delta| Instr::MemoryGrow { dst, delta }),
            O::MemoryFill { .. } => {
                let base = self.materialize_args(3);
                self.emit(Instr::MemoryFill { base });
            }
            O::MemoryCopy { .. } => {
                let base = self.materialize_args(3);
                self.emit(Instr::MemoryCopy { base });
            }
            O::MemoryInit { data_index, .. } => {
                let base = self.materialize_args(3);
                self.emit(Instr::MemoryInit { segment: data_index, base });
            }
            O::DataDrop { data_index } => self.emit(Instr::DataDrop { segment: data_index }),

            O::TableGet { table } => self.unary(|dst, index| Instr::TableGet { dst, table, index }),
            O::TableSet { table } => {
                let base = self.materialize_args(2);
                self.emit(Instr::TableSet { table, base });
            }
            O::TableSize { table } => self.push_result(|dst| Instr::TableSize { dst, table }),
            O::TableGrow { table } => {
                let base = self.materialize_args(2);
                self.emit(Instr::TableGrow { table, base });
                self.push_temps(1);
            }
            O::TableFill { table } => {
                let base = self.materialize_args(3);
                self.emit(Instr::TableFill { table, base });
            }
            O::TableCopy { dst_table, src_table } => {
                let base = self.materialize_args(3);
                self.emit(Instr::TableCopy { dst_table, src_table, base });
            }
            O::TableInit { elem_index, table } => {
                let base = self.materialize_args(3);
                self.emit(Instr::TableInit { table, segment: elem_index, base });
            }
            O::ElemDrop { elem_index } => self.emit(Instr::ElemDrop { segment: elem_index }),

            O::RefNull { .. } => self.push_const(0),
            O::RefIsNull => unop!(self, RefIsNull),
            O::RefFunc { function_index } => {
                self.push_result(|dst| Instr::RefFunc { dst, func: function_index })
            }

            O::I32Const { value } => self.push_const(value as u32 as u128),
            O::I64Const { value } => self.push_const(value as u64 as u128),
            O::F32Const { value } => self.push_const(value.bits() as u128),
            O::F64Const { value } => self.push_const(value.bits() as u128),

            // Slots hold raw bits, so reinterpretations are free.
            O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => {}

            O::I32Eqz => unop!(self, I32Eqz),
            O::I64Eqz => unop!(self, I64Eqz),
            O::I32Clz => unop!(self, I32Clz),
            O::I32Ctz => unop!(self, I32Ctz),
            O::I32Popcnt => unop!(self, I32Popcnt),
            O::I64Clz => unop!(self, I64Clz),
            O::I64Ctz => unop!(self, I64Ctz),
            O::I64Popcnt => unop!(self, I64Popcnt),
            O::I32Extend8S => unop!(self, I32Extend8S),
            O::I32Extend16S => unop!(self, I32Extend16S),
            O::I64Extend8S => unop!(self, I64Extend8S),
            O::I64Extend16S => unop!(self, I64Extend16S),
            O::I64Extend32S => unop!(self, I64Extend32S),
            O::I32WrapI64 => unop!(self, I32WrapI64),
            O::I64ExtendI32S => unop!(self, I64ExtendI32S),
            O::I64ExtendI32U => unop!(self, I64ExtendI32U),
            O::F32Abs => unop!(self, F32Abs),
            O::F32Neg => unop!(self, F32Neg),
            O::F32Ceil => unop!(self, F32Ceil),
            O::F32Floor => unop!(self, F32Floor),
            O::F32Trunc => unop!(self, F32Trunc),
            O::F32Nearest => unop!(self, F32Nearest),
            O::F32Sqrt => unop!(self, F32Sqrt),
            O::F64Abs => unop!(self, F64Abs),
            O::F64Neg => unop!(self, F64Neg),
            O::F64Ceil => unop!(self, F64Ceil),
            O::F64Floor => unop!(self, F64Floor),
            O::F64Trunc => unop!(self, F64Trunc),
            O::F64Nearest => unop!(self, F64Nearest),
            O::F64Sqrt => unop!(self, F64Sqrt),
            O::I32TruncF32S => unop!(self, I32TruncF32S),
            O::I32TruncF32U => unop!(self, I32TruncF32U),
            O::I32TruncF64S => unop!(self, I32TruncF64S),
            O::I32TruncF64U => unop!(self, I32TruncF64U),
            O::I64TruncF32S => unop!(self, I64TruncF32S),
            O::I64TruncF32U => unop!(self, I64TruncF32U),
            O::I64TruncF64S => unop!(self, I64TruncF64S),
            O::I64TruncF64U => unop!(self, I64TruncF64U),
            O::I32TruncSatF32S => unop!(self, I32TruncSatF32S),
            O::I32TruncSatF32U => unop!(self, I32TruncSatF32U),
            O::I32TruncSatF64S => unop!(self, I32TruncSatF64S),
            O::I32TruncSatF64U => unop!(self, I32TruncSatF64U),
            O::I64TruncSatF32S => unop!(self, I64TruncSatF32S),
            O::I64TruncSatF32U => unop!(self, I64TruncSatF32U),
            O::I64TruncSatF64S => unop!(self, I64TruncSatF64S),
            O::I64TruncSatF64U => unop!(self, I64TruncSatF64U),
            O::F32ConvertI32S => unop!(self, F32ConvertI32S),
            O::F32ConvertI32U => unop!(self, F32ConvertI32U),
            O::F32ConvertI64S => unop!(self, F32ConvertI64S),
            O::F32ConvertI64U => unop!(self, F32ConvertI64U),
            O::F64ConvertI32S => unop!(self, F64ConvertI32S),
            O::F64ConvertI32U => unop!(self, F64ConvertI32U),
            O::F64ConvertI64S => unop!(self, F64ConvertI64S),
            O::F64ConvertI64U => unop!(self, F64ConvertI64U),
            O::F32DemoteF64 => unop!(self, F32DemoteF64),
            O::F64PromoteF32 => unop!(self, F64PromoteF32),

            O::I32Eq => binop!(self, I32Eq),
            O::I32Ne => binop!(self, I32Ne),
            O::I32LtS => binop!(self, I32LtS),
            O::I32LtU => binop!(self, I32LtU),
            O::I32GtS => binop!(self, I32GtS),
            O::I32GtU => binop!(self, I32GtU),
            O::I32LeS => binop!(self, I32LeS),
            O::I32LeU => binop!(self, I32LeU),
            O::I32GeS => binop!(self, I32GeS),
            O::I32GeU => binop!(self, I32GeU),
            O::I64Eq => binop!(self, I64Eq),
            O::I64Ne => binop!(self, I64Ne),
            O::I64LtS => binop!(self, I64LtS),
            O::I64LtU => binop!(self, I64LtU),
            O::I64GtS => binop!(self, I64GtS),
            O::I64GtU => binop!(self, I64GtU),
            O::I64LeS => binop!(self, I64LeS),
            O::I64LeU => binop!(self, I64LeU),
            O::I64GeS => binop!(self, I64GeS),
            O::I64GeU => binop!(self, I64GeU),
            O::F32Eq => binop!(self, F32Eq),
            O::F32Ne => binop!(self, F32Ne),
            O::F32Lt => binop!(self, F32Lt),
            O::F32Gt => binop!(self, F32Gt),
            O::F32Le => binop!(self, F32Le),
            O::F32Ge => binop!(self, F32Ge),
            O::F64Eq => binop!(self, F64Eq),
            O::F64Ne => binop!(self, F64Ne),
            O::F64Lt => binop!(self, F64Lt),
            O::F64Gt => binop!(self, F64Gt),
            O::F64Le => binop!(self, F64Le),
            O::F64Ge => binop!(self, F64Ge),
            O::I32Add => binop!(self, I32Add),
            O::I32Sub => binop!(self, I32Sub),
            O::I32Mul => binop!(self, I32Mul),
            O::I32DivS => binop!(self, I32DivS),
            O::I32DivU => binop!(self, I32DivU),
            O::I32RemS => binop!(self, I32RemS),
            O::I32RemU => binop!(self, I32RemU),
            O::I32And => binop!(self, I32And),
            O::I32Or => binop!(self, I32Or),
            O::I32Xor => binop!(self, I32Xor),
            O::I32Shl => binop!(self, I32Shl),
            O::I32ShrS => binop!(self, I32ShrS),
            O::I32ShrU => binop!(self, I32ShrU),
            O::I32Rotl => binop!(self, I32Rotl),
            O::I32Rotr => binop!(self, I32Rotr),
            O::I64Add => binop!(self, I64Add),
            O::I64Sub => binop!(self, I64Sub),
            O::I64Mul => binop!(self, I64Mul),
            O::I64DivS => binop!(self, I64DivS),
            O::I64DivU => binop!(self, I64DivU),
            O::I64RemS => binop!(self, I64RemS),
            O::I64RemU => binop!(self, I64RemU),
            O::I64And => binop!(self, I64And),
            O::I64Or => binop!(self, I64Or),
            O::I64Xor => binop!(self, I64Xor),
            O::I64Shl => binop!(self, I64Shl),
            O::I64ShrS => binop!(self, I64ShrS),
            O::I64ShrU => binop!(self, I64ShrU),
            O::I64Rotl => binop!(self, I64Rotl),
            O::I64Rotr => binop!(self, I64Rotr),
            O::F32Add => binop!(self, F32Add),
            O::F32Sub => binop!(self, F32Sub),
            O::F32Mul => binop!(self, F32Mul),
            O::F32Div => binop!(self, F32Div),
            O::F32Min => binop!(self, F32Min),
            O::F32Max => binop!(self, F32Max),
            O::F32Copysign => binop!(self, F32Copysign),
            O::F64Add => binop!(self, F64Add),
            O::F64Sub => binop!(self, F64Sub),
            O::F64Mul => binop!(self, F64Mul),
            O::F64Div => binop!(self, F64Div),
            O::F64Min => binop!(self, F64Min),
            O::F64Max => binop!(self, F64Max),
            O::F64Copysign => binop!(self, F64Copysign),

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
            SimdOp::Const(value) => self.push_const(value),
            SimdOp::Unary(op) => self.unary(|dst, src| Instr::V128Unary { op, dst, src }),
            SimdOp::Binary(op) => self.binary(|dst, a, b| Instr::V128Binary { op, dst, a, b }),
            SimdOp::Bitselect => {
                let mask = self.pop_slot();
                let b = self.pop_slot();
                let dst = self.pop_into_place();
                self.emit(Instr::V128Bitselect { dst, b, mask });
                self.push_temps(1);
            }
            SimdOp::Shuffle(lanes) => {
                let lanes = self.const_slot(u128::from_le_bytes(lanes));
                let b = self.pop_slot();
                let dst = self.pop_into_place();
                self.emit(Instr::V128Shuffle { dst, b, lanes });
                self.push_temps(1);
            }
            SimdOp::Load { kind, offset } => {
                let offset = offset as u32;
                self.unary(|dst, addr| Instr::V128Load { kind, dst, addr, offset })
            }
            SimdOp::LoadLane { width, lane, offset } => {
                // The vector is updated in its own slot, then moved down to the result position.
                let vec = self.pop_into_place();
                let addr = self.pop_slot();
                let offset = offset as u32;
                self.emit(Instr::V128LoadLane { width, lane, dst: vec, addr, offset });
                self.push_temps(1);
                let dst = self.top_slot();
                self.emit(Instr::Copy { dst, src: vec });
            }
            SimdOp::Store { offset } => {
                let val = self.pop_slot();
                let addr = self.pop_slot();
                self.emit(Instr::V128Store { addr, val, offset: offset as u32 });
            }
            SimdOp::StoreLane { width, lane, offset } => {
                let val = self.pop_slot();
                let addr = self.pop_slot();
                let offset = offset as u32;
                self.emit(Instr::V128StoreLane { width, lane, addr, val, offset });
            }
        }
    }

    // ---- the virtual operand stack ----

    fn temp_slot(&self, position: usize) -> Slot {
        self.temp_base + position as Slot
    }

    fn slot_of(&self, position: usize) -> Slot {
        match self.stack[position] {
            Operand::Temp => self.temp_slot(position),
            Operand::Local(s) | Operand::Const(s) => s,
        }
    }

    fn top_slot(&self) -> Slot {
        self.slot_of(self.stack.len() - 1)
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

    fn const_slot(&self, value: u128) -> Slot {
        self.const_base + self.consts.index[&value]
    }

    fn push_const(&mut self, value: u128) {
        let slot = self.const_slot(value);
        self.push(Operand::Const(slot));
    }

    fn pop(&mut self) -> Operand {
        self.stack.pop().expect("validated code never pops an empty stack")
    }

    /// Pops an operand and returns the slot it can be read from.
    fn pop_slot(&mut self) -> Slot {
        let slot = self.top_slot();
        self.pop();
        slot
    }

    /// Pops an operand that an instruction updates in place, moving it into its temporary slot first.
    fn pop_into_place(&mut self) -> Slot {
        let position = self.stack.len() - 1;
        self.materialize(position);
        self.pop();
        self.temp_slot(position)
    }

    /// Moves the entry at `position` into its temporary slot.
    fn materialize(&mut self, position: usize) {
        if self.stack[position] != Operand::Temp {
            let (dst, src) = (self.temp_slot(position), self.slot_of(position));
            self.emit(Instr::Copy { dst, src });
            self.stack[position] = Operand::Temp;
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

    fn unary(&mut self, make: impl FnOnce(Slot, Slot) -> Instr) {
        let src = self.pop_slot();
        self.push_result(|dst| make(dst, src));
    }

    fn binary(&mut self, make: impl FnOnce(Slot, Slot, Slot) -> Instr) {
        let b = self.pop_slot();
        let a = self.pop_slot();
        self.push_result(|dst| make(dst, a, b));
    }

    /// Emits an instruction that writes a new temporary on top of the stack.
    fn push_result(&mut self, make: impl FnOnce(Slot) -> Instr) {
        let dst = self.temp_slot(self.stack.len());
        self.emit(make(dst));
        self.push(Operand::Temp);
        self.last_result = Some((self.code.len() - 1, dst));
    }

    /// If the instruction just emitted is an `i32` comparison computing `cond` (and nothing else
    /// reads it), removes it so the branch consuming `cond` can do the comparison itself.
    fn take_compare(&mut self, cond: Slot) -> Option<Instr> {
        let (index, slot) = self.last_result?;
        let fusable = matches!(
            self.code[index],
            Instr::I32Eqz { .. }
                | Instr::I32Eq { .. }
                | Instr::I32Ne { .. }
                | Instr::I32LtS { .. }
                | Instr::I32LtU { .. }
                | Instr::I32GtS { .. }
                | Instr::I32GtU { .. }
                | Instr::I32LeS { .. }
                | Instr::I32LeU { .. }
                | Instr::I32GeS { .. }
                | Instr::I32GeU { .. }
        );
        if index + 1 != self.code.len() || slot != cond || !fusable {
            return None;
        }
        self.last_result = None;
        self.code.pop()
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
        let src = self.slot_of(value);
        let retarget = match self.last_result {
            Some((index, slot)) => !pending_reads && index + 1 == self.code.len() && slot == src,
            None => false,
        };
        self.pop();
        if retarget {
            // The value was just computed into a temporary: compute it into the local instead.
            let index = self.code.len() - 1;
            set_dst(&mut self.code[index], local);
            self.last_result = None;
        } else if src != local {
            self.emit(Instr::Copy { dst: local, src });
        }
    }

    // ---- code emission ----

    fn emit(&mut self, instr: Instr) {
        self.code.push(instr);
    }

    fn here(&self) -> u32 {
        self.code.len() as u32
    }

    /// A branch target is bound here: no instruction before it may be retargeted any more.
    fn bind_label(&mut self) -> u32 {
        self.last_result = None;
        self.here()
    }

    fn patch(&mut self, at: usize, target: u32) {
        match branch_target(&mut self.code[at]) {
            Some(t) => *t = target,
            None => unreachable!("patching a non-branch {:?}", self.code[at]),
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
                self.loop_headers.push(header);
                (Label::Loop(header), None)
            }
            ControlKind::If => {
                let cond = cond.expect("if has a condition");
                self.emit(conditional_branch(compare, cond, false, u32::MAX));
                (Label::Forward(Vec::new()), Some(self.code.len() - 1))
            }
            _ => (Label::Forward(Vec::new()), None),
        };
        self.controls.push(Control { kind, height, num_params, num_results, label, else_fixup });
    }

    /// Moves the top `arity` operands to the temporaries at `height..height + arity`.
    fn move_results(&mut self, height: usize, arity: usize) {
        let first = self.stack.len() - arity;
        for i in 0..arity {
            let src = self.slot_of(first + i);
            let dst = self.temp_slot(height + i);
            if src != dst {
                self.emit(Instr::Copy { dst, src });
            }
        }
    }

    fn visit_else(&mut self) {
        let frame = self.controls.last_mut().expect("else inside if");
        frame.kind = ControlKind::Else;
        let (height, num_params, num_results) = (frame.height, frame.num_params, frame.num_results);
        let else_fixup = frame.else_fixup.take();
        if self.reachable {
            self.move_results(height, num_results);
            self.emit(Instr::Br { target: u32::MAX });
            let at = self.code.len() - 1;
            self.add_fixup(self.controls.len() - 1, at);
        }
        let here = self.bind_label();
        if let Some(at) = else_fixup {
            self.patch(at, here);
        }
        self.fuel_instr = None;
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
        if self.reachable {
            self.move_results(height, num_results);
        }
        let frame = self.controls.pop().expect("end of a block");
        let here = self.bind_label();
        if let Label::Forward(fixups) = frame.label {
            for at in fixups {
                self.patch(at, here);
            }
        }
        if let Some(at) = frame.else_fixup {
            self.patch(at, here);
        }
        self.fuel_instr = None;
        self.stack.truncate(height);
        self.push_temps(num_results);
        self.reachable = true;
    }

    fn add_fixup(&mut self, control: usize, at: usize) {
        match &mut self.controls[control].label {
            Label::Forward(fixups) => fixups.push(at),
            Label::Loop(_) => unreachable!("loop labels are bound at their header"),
        }
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
        match self.controls[index].label {
            Label::Loop(target) => self.emit(Instr::Br { target }),
            Label::Forward(_) => {
                self.emit(Instr::Br { target: u32::MAX });
                self.add_fixup(index, self.code.len() - 1);
            }
        }
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
        (0..arity).all(|i| self.slot_of(first + i) == self.temp_slot(control.height + i))
    }

    fn visit_br_if(&mut self, relative_depth: u32) {
        let cond = self.pop_slot();
        if self.branch_is_plain(relative_depth) {
            let compare = self.take_compare(cond);
            let index = self.controls.len() - 1 - relative_depth as usize;
            match self.controls[index].label {
                Label::Loop(target) => self.emit(conditional_branch(compare, cond, true, target)),
                Label::Forward(_) => {
                    self.emit(conditional_branch(compare, cond, true, u32::MAX));
                    self.add_fixup(index, self.code.len() - 1);
                }
            }
            return;
        }
        self.emit(Instr::BrIfEqz { cond, target: u32::MAX });
        let skip = self.code.len() - 1;
        self.branch(relative_depth);
        let here = self.bind_label();
        self.patch(skip, here);
    }

    fn visit_br_table(&mut self, depths: &[u32]) {
        let index = self.pop_slot();
        let len = depths.len() as u32 - 1;
        self.emit(Instr::BrTable { index, len });
        // One jump per entry; entries that must move values jump to a stub emitted after the table.
        let table_start = self.code.len();
        for _ in depths {
            self.emit(Instr::Br { target: u32::MAX });
        }
        for (i, &depth) in depths.iter().enumerate() {
            let entry = table_start + i;
            let target = self.controls.len() - 1 - depth as usize;
            if self.branch_is_plain(depth) {
                match self.controls[target].label {
                    Label::Loop(t) => self.code[entry] = Instr::Br { target: t },
                    Label::Forward(_) => self.add_fixup(target, entry),
                }
            } else {
                let stub = self.here();
                self.patch(entry, stub);
                self.branch(depth);
            }
        }
        self.mark_unreachable();
    }

    /// Moves the results into slots `0..n` and returns.
    fn emit_return(&mut self) {
        let n = self.num_results as usize;
        let first = self.stack.len() - n;
        // A result still in a low local could be overwritten by an earlier result's move.
        for position in first..self.stack.len() {
            if let Operand::Local(s) = self.stack[position]
                && s < self.num_results
            {
                self.materialize(position);
            }
        }
        for i in 0..n {
            let src = self.slot_of(first + i);
            if src != i as Slot {
                self.emit(Instr::Copy { dst: i as Slot, src });
            }
        }
        self.emit(Instr::Return);
    }
}

/// A branch to `target` taken when `cond` is non-zero (`when == true`) or zero (`when == false`),
/// fused with the comparison that computed `cond` when there is one.
fn conditional_branch(compare: Option<Instr>, cond: Slot, when: bool, target: u32) -> Instr {
    use Instr as I;
    let Some(compare) = compare else {
        return if when { I::BrIfNez { cond, target } } else { I::BrIfEqz { cond, target } };
    };
    // Branching when a comparison is false is branching when its negation is true.
    match (compare, when) {
        (I::I32Eqz { src, .. }, true) => I::BrIfEqz { cond: src, target },
        (I::I32Eqz { src, .. }, false) => I::BrIfNez { cond: src, target },
        (I::I32Eq { a, b, .. }, true) | (I::I32Ne { a, b, .. }, false) => {
            I::BrIfI32Eq { a, b, target }
        }
        (I::I32Ne { a, b, .. }, true) | (I::I32Eq { a, b, .. }, false) => {
            I::BrIfI32Ne { a, b, target }
        }
        (I::I32LtS { a, b, .. }, true) | (I::I32GeS { a, b, .. }, false) => {
            I::BrIfI32LtS { a, b, target }
        }
        (I::I32LtU { a, b, .. }, true) | (I::I32GeU { a, b, .. }, false) => {
            I::BrIfI32LtU { a, b, target }
        }
        (I::I32GtS { a, b, .. }, true) | (I::I32LeS { a, b, .. }, false) => {
            I::BrIfI32GtS { a, b, target }
        }
        (I::I32GtU { a, b, .. }, true) | (I::I32LeU { a, b, .. }, false) => {
            I::BrIfI32GtU { a, b, target }
        }
        (I::I32LeS { a, b, .. }, true) | (I::I32GtS { a, b, .. }, false) => {
            I::BrIfI32LeS { a, b, target }
        }
        (I::I32LeU { a, b, .. }, true) | (I::I32GtU { a, b, .. }, false) => {
            I::BrIfI32LeU { a, b, target }
        }
        (I::I32GeS { a, b, .. }, true) | (I::I32LtS { a, b, .. }, false) => {
            I::BrIfI32GeS { a, b, target }
        }
        (I::I32GeU { a, b, .. }, true) | (I::I32LtU { a, b, .. }, false) => {
            I::BrIfI32GeU { a, b, target }
        }
        (other, _) => unreachable!("{other:?} is not a fusable comparison"),
    }
}

/// Turns a branch's absolute target index into an offset from the instruction after it, so the
/// executor needs no code base pointer (stored as the bits of an `i32`).
fn relativize_branch(instr: &mut Instr, index: usize) {
    let next = index as i64 + 1;
    if let Some(target) = branch_target(instr) {
        *target = (*target as i64 - next) as i32 as u32;
    }
}

/// The target field of a branch instruction.
fn branch_target(instr: &mut Instr) -> Option<&mut u32> {
    match instr {
        Instr::Br { target }
        | Instr::BrIfNez { target, .. }
        | Instr::BrIfEqz { target, .. }
        | Instr::BrIfI32Eq { target, .. }
        | Instr::BrIfI32Ne { target, .. }
        | Instr::BrIfI32LtS { target, .. }
        | Instr::BrIfI32LtU { target, .. }
        | Instr::BrIfI32GtS { target, .. }
        | Instr::BrIfI32GtU { target, .. }
        | Instr::BrIfI32LeS { target, .. }
        | Instr::BrIfI32LeU { target, .. }
        | Instr::BrIfI32GeS { target, .. }
        | Instr::BrIfI32GeU { target, .. } => Some(target),
        _ => None,
    }
}

/// Redirects the result of an instruction emitted by `push_result`.
fn set_dst(instr: &mut Instr, new_dst: Slot) {
    macro_rules! retarget {
        ($($name:ident),* $(,)?) => {
            match instr {
                $(Instr::$name { dst, .. })|* => *dst = new_dst,
                other => unreachable!("{other:?} has no retargetable result"),
            }
        };
    }
    retarget!(
        GlobalGet,
        RefIsNull,
        RefFunc,
        I32Load,
        I64Load,
        I32Load8S,
        I32Load8U,
        I32Load16S,
        I32Load16U,
        I64Load8S,
        I64Load8U,
        I64Load16S,
        I64Load16U,
        I64Load32S,
        I64Load32U,
        MemorySize,
        MemoryGrow,
        TableGet,
        TableSize,
        V128Unary,
        V128Binary,
        V128Load,
        I32Eqz,
        I64Eqz,
        I32Clz,
        I32Ctz,
        I32Popcnt,
        I64Clz,
        I64Ctz,
        I64Popcnt,
        I32Extend8S,
        I32Extend16S,
        I64Extend8S,
        I64Extend16S,
        I64Extend32S,
        I32WrapI64,
        I64ExtendI32S,
        I64ExtendI32U,
        F32Abs,
        F32Neg,
        F32Ceil,
        F32Floor,
        F32Trunc,
        F32Nearest,
        F32Sqrt,
        F64Abs,
        F64Neg,
        F64Ceil,
        F64Floor,
        F64Trunc,
        F64Nearest,
        F64Sqrt,
        I32TruncF32S,
        I32TruncF32U,
        I32TruncF64S,
        I32TruncF64U,
        I64TruncF32S,
        I64TruncF32U,
        I64TruncF64S,
        I64TruncF64U,
        I32TruncSatF32S,
        I32TruncSatF32U,
        I32TruncSatF64S,
        I32TruncSatF64U,
        I64TruncSatF32S,
        I64TruncSatF32U,
        I64TruncSatF64S,
        I64TruncSatF64U,
        F32ConvertI32S,
        F32ConvertI32U,
        F32ConvertI64S,
        F32ConvertI64U,
        F64ConvertI32S,
        F64ConvertI32U,
        F64ConvertI64S,
        F64ConvertI64U,
        F32DemoteF64,
        F64PromoteF32,
        I32Eq,
        I32Ne,
        I32LtS,
        I32LtU,
        I32GtS,
        I32GtU,
        I32LeS,
        I32LeU,
        I32GeS,
        I32GeU,
        I64Eq,
        I64Ne,
        I64LtS,
        I64LtU,
        I64GtS,
        I64GtU,
        I64LeS,
        I64LeU,
        I64GeS,
        I64GeU,
        F32Eq,
        F32Ne,
        F32Lt,
        F32Gt,
        F32Le,
        F32Ge,
        F64Eq,
        F64Ne,
        F64Lt,
        F64Gt,
        F64Le,
        F64Ge,
        I32Add,
        I32Sub,
        I32Mul,
        I32DivS,
        I32DivU,
        I32RemS,
        I32RemU,
        I32And,
        I32Or,
        I32Xor,
        I32Shl,
        I32ShrS,
        I32ShrU,
        I32Rotl,
        I32Rotr,
        I64Add,
        I64Sub,
        I64Mul,
        I64DivS,
        I64DivU,
        I64RemS,
        I64RemU,
        I64And,
        I64Or,
        I64Xor,
        I64Shl,
        I64ShrS,
        I64ShrU,
        I64Rotl,
        I64Rotr,
        F32Add,
        F32Sub,
        F32Mul,
        F32Div,
        F32Min,
        F32Max,
        F32Copysign,
        F64Add,
        F64Sub,
        F64Mul,
        F64Div,
        F64Min,
        F64Max,
        F64Copysign,
    )
}

#[cfg(test)]
mod tests {
    use crate::interp::code::Instr;
    use crate::{Engine, Module};

    fn translate(wat: &str) -> Vec<Instr> {
        let module = Module::new(&Engine::default(), wat).unwrap();
        crate::tier::interp_code(&module.inner, 0).unwrap().code.to_vec()
    }

    #[test]
    fn a_counting_loop_is_three_instructions_per_iteration() {
        let code = translate(
            r#"(module (func (param i32) (result i32) (local i32)
                (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 3)))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                (local.get 1)))"#,
        );
        // Slots are byte offsets: param 0 at 0, local 1 at 16, constants 3 and 1 at 32 and 48.
        assert_eq!(
            code,
            [
                Instr::I32Add { dst: 16, a: 16, b: 32 },
                Instr::I32Sub { dst: 0, a: 0, b: 48 },
                Instr::BrIfNez { cond: 0, target: -3i32 as u32 },
                Instr::Copy { dst: 0, src: 16 },
                Instr::Return,
            ]
        );
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

    #[test]
    fn comparisons_fuse_into_the_branch_of_an_if() {
        let code = translate(
            r#"(module (func (param i32) (result i32)
                (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
                  (then (local.get 0)) (else (i32.const 7)))))"#,
        );
        // `if` branches to the else arm when the comparison is false: `ge_s`.
        assert_eq!(code[0], Instr::BrIfI32GeS { a: 0, b: 16, target: 2 });
    }
}
