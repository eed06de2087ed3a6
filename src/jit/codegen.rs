//! The tier-1 code generator: one pass over a validated function body, no IR.
//!
//! A virtual value stack tracks where each wasm value lives: an immediate, a local's slot, a
//! register, or its canonical slot (`temp_base + stack position`, the interpreter's layout). Values
//! stay in registers within straight-line code; at every label (block and loop boundaries, branch
//! targets, calls) all of them are in their canonical slots, so every path into a label agrees,
//! exactly as in the interpreter's translator. It must never emit code for an operator it does not handle:
//! anything unknown refuses the whole function.

use super::CompileError;
use super::masm::{
    Cond, DivOp, IntOp, LoadKind, MacroAssembler, Reg, RegImm, Size, StoreKind, UnaryOp,
};
use crate::interp::code::{InterpFunc, SLOT_BYTES};
use crate::module::ModuleInner;
use crate::types::ValType;
use crate::vm::TrapCode;
use wasmparser::{BlockType, FunctionBody, Operator};

/// Integer types, the only ones this tier handles so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    I32,
    I64,
}

impl Ty {
    fn size(self) -> Size {
        match self {
            Ty::I32 => Size::S32,
            Ty::I64 => Size::S64,
        }
    }

    fn from_val(ty: ValType) -> Result<Ty, CompileError> {
        match ty {
            ValType::I32 => Ok(Ty::I32),
            ValType::I64 => Ok(Ty::I64),
            other => Err(unsupported(format!("values of type {other}"))),
        }
    }
}

fn unsupported(what: impl Into<String>) -> CompileError {
    CompileError::Unsupported(what.into())
}

/// Where a value on the virtual stack lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Imm(i64),
    /// In the slot of this local.
    Local(u32),
    Reg(Reg),
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
    params: Vec<Ty>,
    results: Vec<Ty>,
    /// The branch target: the loop header, or the end.
    label: L,
    /// For `if`: where the false branch starts.
    else_label: Option<L>,
}

impl<L> Control<L> {
    fn branch_types(&self) -> &[Ty] {
        if self.kind == Kind::Loop { &self.params } else { &self.results }
    }
}

/// Compiles one function with `masm`.
pub fn compile<M: MacroAssembler>(
    masm: M,
    module: &ModuleInner,
    func_index: u32,
    body: &FunctionBody<'_>,
    layout: &InterpFunc,
) -> Result<Vec<u8>, CompileError> {
    let ty = module.func_type(func_index);
    let mut locals = ty.params().iter().map(|t| Ty::from_val(*t)).collect::<Result<Vec<_>, _>>()?;
    let results = ty.results().iter().map(|t| Ty::from_val(*t)).collect::<Result<Vec<_>, _>>()?;
    let wp = |e: wasmparser::BinaryReaderError| CompileError::Internal(e.to_string());
    let mut reader = body.get_locals_reader().map_err(wp)?;
    for _ in 0..reader.get_count() {
        let (count, ty) = reader.read().map_err(wp)?;
        let ty = Ty::from_val(ValType::from_wasmparser(ty))?;
        locals.extend(std::iter::repeat_n(ty, count as usize));
    }
    let temp_base = layout.num_params + layout.frame_init.len() as u32;
    let free = masm.allocatable().iter().rev().copied().collect();
    let mut g = CodeGen {
        masm,
        module,
        locals,
        temp_base,
        stack: Vec::new(),
        controls: Vec::new(),
        free,
        reachable: true,
        dead_depth: 0,
        results: results.clone(),
    };
    let end = g.masm.new_label();
    g.controls.push(Control {
        kind: Kind::Function,
        height: 0,
        params: Vec::new(),
        results,
        label: end,
        else_label: None,
    });
    g.masm.prologue();
    let mut ops = body.get_operators_reader().map_err(wp)?;
    while !ops.eof() {
        let op = ops.read().map_err(wp)?;
        g.visit(&op)?;
    }
    g.masm.finish().map_err(|e| CompileError::Internal(e.to_string()))
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
    reachable: bool,
    dead_depth: u32,
    results: Vec<Ty>,
}

impl<M: MacroAssembler> CodeGen<'_, M> {
    fn visit(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        if !self.reachable {
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    self.dead_depth += 1
                }
                Operator::Else if self.dead_depth == 0 => self.visit_else(),
                Operator::End if self.dead_depth == 0 => self.visit_end(),
                Operator::End => self.dead_depth -= 1,
                _ => {}
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
            O::CallIndirect { type_index, table_index } => {
                self.visit_call_indirect(type_index, table_index)?
            }
            O::MemorySize { .. } => {
                let dst = self.alloc();
                self.masm.memory_size(dst);
                self.push_reg(Ty::I32, dst);
            }
            O::MemoryGrow { .. } => {
                // The helper clobbers every register: everything else goes to its slot first.
                self.spill_all_but_top();
                let (delta, _) = self.pop_reg();
                self.masm.memory_grow(delta, delta);
                self.push_reg(Ty::I32, delta);
            }
            O::Drop => {
                let v = self.pop();
                self.release(v);
            }
            O::Select => self.visit_select(),
            O::TypedSelect { ty } => {
                Ty::from_val(ValType::from_wasmparser(ty))?;
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
                let dst = self.alloc();
                self.masm.load_global(ty.size(), dst, global_index);
                self.stack.push(Value { ty, loc: Loc::Reg(dst) });
            }
            O::GlobalSet { global_index } => {
                let (src, ty) = self.pop_reg();
                self.masm.store_global(ty.size(), src, global_index);
                self.free.push(src);
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
            O::I32Eqz => self.unary(UnaryOp::Eqz, Ty::I32, Ty::I32),
            O::I64Eqz => self.unary(UnaryOp::Eqz, Ty::I64, Ty::I32),
            O::I32Extend8S => self.unary(UnaryOp::Extend8S, Ty::I32, Ty::I32),
            O::I32Extend16S => self.unary(UnaryOp::Extend16S, Ty::I32, Ty::I32),
            O::I64Extend8S => self.unary(UnaryOp::Extend8S, Ty::I64, Ty::I64),
            O::I64Extend16S => self.unary(UnaryOp::Extend16S, Ty::I64, Ty::I64),
            O::I64Extend32S => self.unary(UnaryOp::Extend32S, Ty::I64, Ty::I64),
            O::I64ExtendI32S => self.unary(UnaryOp::Extend32S, Ty::I64, Ty::I64),
            O::I64ExtendI32U => self.unary(UnaryOp::Extend32U, Ty::I64, Ty::I64),
            O::I32WrapI64 => self.unary(UnaryOp::Extend32U, Ty::I64, Ty::I32),
            O::I32Eq => self.compare(Cond::Eq, Ty::I32),
            O::I32Ne => self.compare(Cond::Ne, Ty::I32),
            O::I32LtS => self.compare(Cond::LtS, Ty::I32),
            O::I32LtU => self.compare(Cond::LtU, Ty::I32),
            O::I32GtS => self.compare(Cond::GtS, Ty::I32),
            O::I32GtU => self.compare(Cond::GtU, Ty::I32),
            O::I32LeS => self.compare(Cond::LeS, Ty::I32),
            O::I32LeU => self.compare(Cond::LeU, Ty::I32),
            O::I32GeS => self.compare(Cond::GeS, Ty::I32),
            O::I32GeU => self.compare(Cond::GeU, Ty::I32),
            O::I64Eq => self.compare(Cond::Eq, Ty::I64),
            O::I64Ne => self.compare(Cond::Ne, Ty::I64),
            O::I64LtS => self.compare(Cond::LtS, Ty::I64),
            O::I64LtU => self.compare(Cond::LtU, Ty::I64),
            O::I64GtS => self.compare(Cond::GtS, Ty::I64),
            O::I64GtU => self.compare(Cond::GtU, Ty::I64),
            O::I64LeS => self.compare(Cond::LeS, Ty::I64),
            O::I64LeU => self.compare(Cond::LeU, Ty::I64),
            O::I64GeS => self.compare(Cond::GeS, Ty::I64),
            O::I64GeU => self.compare(Cond::GeU, Ty::I64),
            ref other => return Err(unsupported(format!("{other:?}"))),
        }
        Ok(())
    }

    // ---- registers and the value stack ----

    /// Byte offset of the canonical slot of stack position `position`.
    fn canonical(&self, position: usize) -> u32 {
        (self.temp_base + position as u32) * SLOT_BYTES
    }

    fn local_slot(local: u32) -> u32 {
        local * SLOT_BYTES
    }

    /// A free register, spilling the deepest register-held value if none is free.
    fn alloc(&mut self) -> Reg {
        if let Some(r) = self.free.pop() {
            return r;
        }
        let position = self
            .stack
            .iter()
            .position(|v| matches!(v.loc, Loc::Reg(_)))
            .expect("more registers than values in flight");
        self.spill(position);
        self.free.pop().expect("spilling freed a register")
    }

    /// Moves the value at `position` into its canonical slot.
    fn spill(&mut self, position: usize) {
        let value = self.stack[position];
        let slot = self.canonical(position);
        match value.loc {
            Loc::Slot => return,
            Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, slot),
            Loc::Local(l) => self.masm.copy_slot(slot, Self::local_slot(l)),
            Loc::Reg(r) => {
                self.masm.store_slot(Size::S64, r, slot);
                self.free.push(r);
            }
        }
        self.stack[position].loc = Loc::Slot;
    }

    /// Every value into its canonical slot: the state all paths into a label share.
    fn spill_all(&mut self) {
        for position in 0..self.stack.len() {
            self.spill(position);
        }
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated code never pops an empty stack")
    }

    /// Frees the register a popped value held.
    fn release(&mut self, value: Value) {
        if let Loc::Reg(r) = value.loc {
            self.free.push(r);
        }
    }

    /// Pops a value into a register the caller now owns.
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
            Loc::Local(l) => self.masm.load_slot(size, r, Self::local_slot(l)),
            Loc::Slot => self.masm.load_slot(size, r, self.canonical(position)),
            Loc::Reg(_) => unreachable!("handled above"),
        }
        self.stack.pop();
        (r, value.ty)
    }

    /// Pops a value as an operand that may stay an immediate.
    fn pop_operand(&mut self) -> RegImm {
        match self.stack.last().expect("an operand").loc {
            Loc::Imm(imm) => {
                self.stack.pop();
                RegImm::Imm(imm)
            }
            _ => RegImm::Reg(self.pop_reg().0),
        }
    }

    fn release_operand(&mut self, operand: RegImm) {
        if let RegImm::Reg(r) = operand {
            self.free.push(r);
        }
    }

    fn push_reg(&mut self, ty: Ty, r: Reg) {
        self.stack.push(Value { ty, loc: Loc::Reg(r) });
    }

    // ---- operations ----

    fn int_op(&mut self, op: IntOp, ty: Ty) {
        let rhs = self.pop_operand();
        let (lhs, _) = self.pop_reg();
        self.masm.int_op(op, ty.size(), lhs, lhs, rhs);
        self.release_operand(rhs);
        self.push_reg(ty, lhs);
    }

    fn div(&mut self, op: DivOp, ty: Ty) {
        let (rhs, _) = self.pop_reg();
        let (lhs, _) = self.pop_reg();
        self.masm.div(op, ty.size(), lhs, lhs, rhs);
        self.free.push(rhs);
        self.push_reg(ty, lhs);
    }

    fn unary(&mut self, op: UnaryOp, operand: Ty, result: Ty) {
        let (src, _) = self.pop_reg();
        self.masm.unary(op, operand.size(), src, src);
        self.push_reg(result, src);
    }

    fn compare(&mut self, cond: Cond, ty: Ty) {
        let rhs = self.pop_operand();
        let (lhs, _) = self.pop_reg();
        self.masm.compare(cond, ty.size(), lhs, lhs, rhs);
        self.release_operand(rhs);
        self.push_reg(Ty::I32, lhs);
    }

    /// A call: every value goes to its canonical slot (the arguments thereby land where the
    /// callee's frame starts), and the results come back in the callee's first slots.
    fn visit_call(&mut self, func: u32) -> Result<(), CompileError> {
        let ty = self.module.func_type(func);
        let params = ty.params().iter().map(|t| Ty::from_val(*t)).collect::<Result<Vec<_>, _>>()?;
        let results =
            ty.results().iter().map(|t| Ty::from_val(*t)).collect::<Result<Vec<_>, _>>()?;
        self.spill_all();
        let base = self.stack.len() - params.len();
        let callee_fp = self.canonical(base);
        self.masm.call(func, callee_fp);
        self.stack.truncate(base);
        self.stack.extend(results.into_iter().map(|ty| Value { ty, loc: Loc::Slot }));
        Ok(())
    }

    fn visit_call_indirect(&mut self, type_index: u32, table: u32) -> Result<(), CompileError> {
        let ty = &self.module.types[type_index as usize];
        let ints = |tys: &[ValType]| -> Result<Vec<Ty>, CompileError> {
            tys.iter().map(|t| Ty::from_val(*t)).collect()
        };
        let (params, results) = (ints(ty.params())?, ints(ty.results())?);
        // The table index sits above the arguments, in the slot right after them.
        self.spill_all();
        let base = self.stack.len() - 1 - params.len();
        let callee_fp = self.canonical(base);
        self.masm.call_indirect(type_index, table, callee_fp);
        self.stack.truncate(base);
        self.stack.extend(results.into_iter().map(|ty| Value { ty, loc: Loc::Slot }));
        Ok(())
    }

    /// Every value but the top one into its canonical slot.
    fn spill_all_but_top(&mut self) {
        for position in 0..self.stack.len().saturating_sub(1) {
            self.spill(position);
        }
    }

    fn visit_select(&mut self) {
        let (cond, _) = self.pop_reg();
        let (other, _) = self.pop_reg();
        let (dst, ty) = self.pop_reg();
        self.masm.select(ty.size(), dst, cond, other);
        self.free.push(cond);
        self.free.push(other);
        self.push_reg(ty, dst);
    }

    fn load(&mut self, kind: LoadKind, ty: Ty, offset: u64) {
        let (addr, _) = self.pop_reg();
        self.masm.load_heap(kind, addr, addr, offset as u32);
        self.push_reg(ty, addr);
    }

    fn store(&mut self, kind: StoreKind, offset: u64) {
        let (value, _) = self.pop_reg();
        let (addr, _) = self.pop_reg();
        self.masm.store_heap(kind, value, addr, offset as u32);
        self.free.push(value);
        self.free.push(addr);
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
        match v.loc {
            Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, slot),
            Loc::Local(l) if l == local => {}
            Loc::Local(l) => self.masm.copy_slot(slot, Self::local_slot(l)),
            Loc::Reg(r) => {
                self.masm.store_slot(size, r, slot);
                self.free.push(r);
            }
            Loc::Slot => self.masm.copy_slot(slot, self.canonical(value)),
        }
        self.stack.pop();
    }

    // ---- control flow ----

    fn block_types(&self, blockty: BlockType) -> Result<(Vec<Ty>, Vec<Ty>), CompileError> {
        let convert = |tys: &[ValType]| -> Result<Vec<Ty>, CompileError> {
            tys.iter().map(|t| Ty::from_val(*t)).collect()
        };
        match blockty {
            BlockType::Empty => Ok((Vec::new(), Vec::new())),
            BlockType::Type(t) => {
                Ok((Vec::new(), vec![Ty::from_val(ValType::from_wasmparser(t))?]))
            }
            BlockType::FuncType(t) => {
                let ty = &self.module.types[t as usize];
                Ok((convert(ty.params())?, convert(ty.results())?))
            }
        }
    }

    fn visit_block(&mut self, kind: Kind, blockty: BlockType) -> Result<(), CompileError> {
        let (params, results) = self.block_types(blockty)?;
        let cond = if kind == Kind::If { Some(self.pop_reg().0) } else { None };
        self.spill_all();
        let height = self.stack.len() - params.len();
        let label = self.masm.new_label();
        let mut else_label = None;
        match kind {
            Kind::Loop => self.masm.bind(label),
            Kind::If => {
                let cond = cond.expect("if has a condition");
                let target = self.masm.new_label();
                self.masm.branch(Cond::Eq, Size::S32, cond, RegImm::Imm(0), target);
                self.free.push(cond);
                else_label = Some(target);
            }
            _ => {}
        }
        self.controls.push(Control { kind, height, params, results, label, else_label });
        Ok(())
    }

    /// Moves the top `types.len()` values into the canonical slots starting at `height`.
    fn move_results(&mut self, height: usize, count: usize) {
        let first = self.stack.len() - count;
        for i in 0..count {
            let value = self.stack[first + i];
            let dst = self.canonical(height + i);
            match value.loc {
                Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, dst),
                Loc::Local(l) => self.masm.copy_slot(dst, Self::local_slot(l)),
                Loc::Reg(r) => self.masm.store_slot(Size::S64, r, dst),
                Loc::Slot if first + i == height + i => {}
                Loc::Slot => self.masm.copy_slot(dst, self.canonical(first + i)),
            }
        }
    }

    /// Resets the stack to a label's state: `height` canonical values below, then `types`.
    fn reset_stack(&mut self, height: usize, types: &[Ty]) {
        let all: Vec<Reg> = self.masm.allocatable().iter().rev().copied().collect();
        self.free = all;
        self.stack.truncate(height);
        self.stack.extend(types.iter().map(|&ty| Value { ty, loc: Loc::Slot }));
    }

    fn visit_else(&mut self) {
        let index = self.controls.len() - 1;
        let (height, results) = (self.controls[index].height, self.controls[index].results.len());
        if self.reachable {
            self.move_results(height, results);
            let end = self.controls[index].label;
            self.masm.jump(end);
        }
        let control = &mut self.controls[index];
        control.kind = Kind::Else;
        let else_label = control.else_label.take().expect("else follows an if");
        let params = control.params.clone();
        self.masm.bind(else_label);
        self.reset_stack(height, &params);
        self.reachable = true;
    }

    fn visit_end(&mut self) {
        let control = self.controls.pop().expect("end closes a block");
        if control.kind == Kind::Function {
            if self.reachable {
                self.stack_into_results();
            }
            return;
        }
        if self.reachable {
            self.move_results(control.height, control.results.len());
        }
        if control.kind != Kind::Loop {
            self.masm.bind(control.label);
        }
        if let Some(else_label) = control.else_label {
            self.masm.bind(else_label);
        }
        self.reset_stack(control.height, &control.results);
        self.reachable = true;
    }

    fn mark_unreachable(&mut self) {
        self.reachable = false;
        let height = self.controls.last().expect("inside the function").height;
        self.reset_stack(height.min(self.stack.len()), &[]);
    }

    /// Whether a branch to `relative_depth` finds its values in place already.
    fn branch_is_plain(&self, relative_depth: u32) -> bool {
        let index = self.controls.len() - 1 - relative_depth as usize;
        if index == 0 {
            return false;
        }
        let control = &self.controls[index];
        let count = control.branch_types().len();
        let first = self.stack.len() - count;
        (0..count).all(|i| self.stack[first + i].loc == Loc::Slot && first == control.height)
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
        let label = self.controls[index].label;
        self.masm.jump(label);
    }

    fn visit_br_if(&mut self, relative_depth: u32) {
        let (cond, _) = self.pop_reg();
        self.free.push(cond);
        if self.branch_is_plain(relative_depth) {
            let index = self.controls.len() - 1 - relative_depth as usize;
            let label = self.controls[index].label;
            self.masm.branch(Cond::Ne, Size::S32, cond, RegImm::Imm(0), label);
            return;
        }
        let skip = self.masm.new_label();
        self.masm.branch(Cond::Eq, Size::S32, cond, RegImm::Imm(0), skip);
        self.branch(relative_depth);
        self.masm.bind(skip);
    }

    fn visit_br_table(&mut self, depths: &[u32]) {
        let (index, _) = self.pop_reg();
        self.free.push(index);
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
    fn stack_into_results(&mut self) {
        let count = self.results.len();
        let first = self.stack.len() - count;
        // A result still in a low local could be overwritten by an earlier result's move.
        for position in first..self.stack.len() {
            if let Loc::Local(l) = self.stack[position].loc
                && (l as usize) < count
            {
                self.spill(position);
            }
        }
        for i in 0..count {
            let value = self.stack[first + i];
            let dst = Self::local_slot(i as u32);
            match value.loc {
                Loc::Imm(imm) => self.masm.store_slot_imm(Size::S64, imm, dst),
                Loc::Local(l) if l as usize == i => {}
                Loc::Local(l) => self.masm.copy_slot(dst, Self::local_slot(l)),
                Loc::Reg(r) => self.masm.store_slot(Size::S64, r, dst),
                Loc::Slot => self.masm.copy_slot(dst, self.canonical(first + i)),
            }
        }
        self.masm.ret();
    }

    fn emit_return(&mut self) {
        self.stack_into_results();
    }
}
