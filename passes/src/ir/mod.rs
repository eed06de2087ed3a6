//! The SSA IR: modules of functions of basic blocks with block parameters.
//!
//! Entities are `u32` newtypes whose `Display` is their text form (`v3`, `block2`, `fn1`).
//! A function owns arenas of values, instructions and blocks; `layout` orders the live blocks and
//! each block lists its instructions, the last of which is its terminator. Control flow merges
//! through block parameters, not phis: a branch passes arguments, so a merge is just a block with
//! parameters, removing an edge removes its arguments with it, and nothing needs the "phi nodes
//! first" ordering rule.
//!
//! This module must never know about wasmparser or the runtime; it only describes programs.

mod ops;
mod types;

pub use ops::{NumOp, eval_num};
pub use types::{Const, Signature, TrapCode, Type, Val};

use std::fmt;

macro_rules! entity {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The index, for arenas.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

entity!(
    /// An SSA value: a block parameter or an instruction result.
    Value,
    "v"
);
entity!(
    /// A basic block.
    Block,
    "block"
);
entity!(
    /// An instruction (not named in the text form).
    Inst,
    "inst"
);
entity!(
    /// A function of the module (imports first, as in wasm's index space).
    FuncId,
    "fn"
);

/// A memory load operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum LoadOp {
    I32Load,
    I64Load,
    F32Load,
    F64Load,
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
}

impl LoadOp {
    /// Every load.
    pub const ALL: [LoadOp; 14] = [
        LoadOp::I32Load,
        LoadOp::I64Load,
        LoadOp::F32Load,
        LoadOp::F64Load,
        LoadOp::I32Load8S,
        LoadOp::I32Load8U,
        LoadOp::I32Load16S,
        LoadOp::I32Load16U,
        LoadOp::I64Load8S,
        LoadOp::I64Load8U,
        LoadOp::I64Load16S,
        LoadOp::I64Load16U,
        LoadOp::I64Load32S,
        LoadOp::I64Load32U,
    ];

    /// `(name, result type, bytes read, sign-extending)`.
    pub fn info(self) -> (&'static str, Type, u32, bool) {
        use LoadOp::*;
        match self {
            I32Load => ("i32.load", Type::I32, 4, false),
            I64Load => ("i64.load", Type::I64, 8, false),
            F32Load => ("f32.load", Type::F32, 4, false),
            F64Load => ("f64.load", Type::F64, 8, false),
            I32Load8S => ("i32.load8_s", Type::I32, 1, true),
            I32Load8U => ("i32.load8_u", Type::I32, 1, false),
            I32Load16S => ("i32.load16_s", Type::I32, 2, true),
            I32Load16U => ("i32.load16_u", Type::I32, 2, false),
            I64Load8S => ("i64.load8_s", Type::I64, 1, true),
            I64Load8U => ("i64.load8_u", Type::I64, 1, false),
            I64Load16S => ("i64.load16_s", Type::I64, 2, true),
            I64Load16U => ("i64.load16_u", Type::I64, 2, false),
            I64Load32S => ("i64.load32_s", Type::I64, 4, true),
            I64Load32U => ("i64.load32_u", Type::I64, 4, false),
        }
    }
}

/// A memory store operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum StoreOp {
    I32Store,
    I64Store,
    F32Store,
    F64Store,
    I32Store8,
    I32Store16,
    I64Store8,
    I64Store16,
    I64Store32,
}

impl StoreOp {
    /// Every store.
    pub const ALL: [StoreOp; 9] = [
        StoreOp::I32Store,
        StoreOp::I64Store,
        StoreOp::F32Store,
        StoreOp::F64Store,
        StoreOp::I32Store8,
        StoreOp::I32Store16,
        StoreOp::I64Store8,
        StoreOp::I64Store16,
        StoreOp::I64Store32,
    ];

    /// `(name, stored operand type, bytes written)`.
    pub fn info(self) -> (&'static str, Type, u32) {
        use StoreOp::*;
        match self {
            I32Store => ("i32.store", Type::I32, 4),
            I64Store => ("i64.store", Type::I64, 8),
            F32Store => ("f32.store", Type::F32, 4),
            F64Store => ("f64.store", Type::F64, 8),
            I32Store8 => ("i32.store8", Type::I32, 1),
            I32Store16 => ("i32.store16", Type::I32, 2),
            I64Store8 => ("i64.store8", Type::I64, 1),
            I64Store16 => ("i64.store16", Type::I64, 2),
            I64Store32 => ("i64.store32", Type::I64, 4),
        }
    }
}

/// What an instruction does. Operands are in [`InstData::args`], branch targets in
/// [`InstData::targets`]; the comment on each variant gives the operand order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InstKind {
    /// A constant; no operands.
    Const(Const),
    /// A scalar numeric operator; operands as wasm orders them.
    Num(NumOp),
    /// `select a, b, cond`: `a` if `cond != 0`, else `b`.
    Select,
    /// `copy a`: the same value (left by rewrites; `copyprop` removes it).
    Copy,
    /// `load addr`: reads linear memory `mem` at `addr + offset`; traps out of bounds.
    Load {
        /// Which load.
        op: LoadOp,
        /// Static offset added to the address (no wrapping: 33-bit effective address).
        offset: u64,
        /// Memory index.
        mem: u32,
    },
    /// `store addr, value`.
    Store {
        /// Which store.
        op: StoreOp,
        /// Static offset.
        offset: u64,
        /// Memory index.
        mem: u32,
    },
    /// Reads a global.
    GlobalGet(u32),
    /// `global.set value`.
    GlobalSet(u32),
    /// Memory size in pages.
    MemorySize(u32),
    /// `memory.grow delta` -> old size or -1.
    MemoryGrow(u32),
    /// `memory.fill dst, value, len`.
    MemoryFill(u32),
    /// `memory.copy dst, src, len`.
    MemoryCopy {
        /// Destination memory.
        dst: u32,
        /// Source memory.
        src: u32,
    },
    /// `memory.init dst, src, len` from a data segment.
    MemoryInit {
        /// Memory.
        mem: u32,
        /// Data segment.
        data: u32,
    },
    /// Drops a data segment.
    DataDrop(u32),
    /// `table.get index`.
    TableGet(u32),
    /// `table.set index, ref`.
    TableSet(u32),
    /// Table size.
    TableSize(u32),
    /// `table.grow ref, delta` -> old size or -1.
    TableGrow(u32),
    /// `table.fill index, ref, len`.
    TableFill(u32),
    /// `table.copy dst, src, len`.
    TableCopy {
        /// Destination table.
        dst: u32,
        /// Source table.
        src: u32,
    },
    /// `table.init dst, src, len` from an element segment.
    TableInit {
        /// Table.
        table: u32,
        /// Element segment.
        elem: u32,
    },
    /// Drops an element segment.
    ElemDrop(u32),
    /// Charges this much fuel (with fuel metering: one unit per wasm operator, charged per
    /// straight-line segment exactly where every tier charges it); traps when less is left. An
    /// ordered effect: passes never remove, merge or move it across other effects, so a program's
    /// fuel, and its state when fuel runs out, are the same in every tier.
    Fuel(u32),
    /// `ref.is_null r`.
    RefIsNull,
    /// A reference to a function.
    RefFunc(FuncId),
    /// Direct call; operands are the arguments.
    Call(FuncId),
    /// `call_indirect args.., index` through `table`, checked against signature `sig`.
    CallIndirect {
        /// Index into the module's signature list.
        sig: u32,
        /// Table.
        table: u32,
    },
    /// A SIMD operator, kept opaque: the builder gives its name, immediates and result type; no
    /// pass looks inside, the evaluator does not run it. Loads and stores among them may trap and
    /// touch memory; the rest are pure.
    Simd(Box<SimdOp>),
    /// Terminator: `jump target`.
    Jump,
    /// Terminator: `brif cond, then, else`.
    Brif,
    /// Terminator: `br_table index, [targets..], default` (the default is the last target).
    BrTable,
    /// Terminator: returns the operands.
    Return,
    /// Terminator: traps.
    Trap(TrapCode),
}

impl InstKind {
    /// Whether this ends a block.
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            InstKind::Jump
                | InstKind::Brif
                | InstKind::BrTable
                | InstKind::Return
                | InstKind::Trap(_)
        )
    }

    /// Whether executing it may trap.
    pub fn may_trap(&self) -> bool {
        use InstKind::*;
        match self {
            Num(op) => op.may_trap(),
            Load { .. } | Store { .. } | MemoryFill(_) | MemoryCopy { .. } | MemoryInit { .. } => {
                true
            }
            TableGet(_) | TableSet(_) | TableFill(_) | TableCopy { .. } | TableInit { .. } => true,
            Call(_) | CallIndirect { .. } | Trap(_) | Fuel(_) => true,
            Simd(op) => op.mem.is_some(),
            _ => false,
        }
    }

    /// Whether it changes state other code can observe (memory, globals, tables, segments, or
    /// anything through a call).
    pub fn writes_state(&self) -> bool {
        use InstKind::*;
        if let Simd(op) = self {
            return op.is_store();
        }
        matches!(
            self,
            Store { .. }
                | GlobalSet(_)
                | MemoryGrow(_)
                | MemoryFill(_)
                | MemoryCopy { .. }
                | MemoryInit { .. }
                | DataDrop(_)
                | TableSet(_)
                | TableGrow(_)
                | TableFill(_)
                | TableCopy { .. }
                | TableInit { .. }
                | ElemDrop(_)
                | Fuel(_)
                | Call(_)
                | CallIndirect { .. }
        )
    }

    /// Whether its result depends on state that writes can change.
    pub fn reads_state(&self) -> bool {
        use InstKind::*;
        matches!(self, Load { .. } | GlobalGet(_) | MemorySize(_) | TableGet(_) | TableSize(_))
            || self.writes_state()
    }

    /// Removable when its results are unused: it neither traps nor writes state.
    pub fn is_removable(&self) -> bool {
        !self.may_trap() && !self.writes_state() && !self.is_terminator()
    }

    /// A pure function of its operands: removable, movable, and equal operands give equal
    /// results.
    pub fn is_pure(&self) -> bool {
        self.is_removable() && !self.reads_state()
    }
}

/// An opaque SIMD operator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SimdOp {
    /// The operator's name with `_` for `.` after the shape (`i8x16_add`, `v128_load`).
    pub name: String,
    /// Result type, if it has one.
    pub result: Option<Type>,
    /// `(memory, offset)` for loads and stores.
    pub mem: Option<(u32, u64)>,
    /// Lane index or shuffle bytes (little-endian), else 0.
    pub imm: u128,
}

impl SimdOp {
    /// Whether it reads memory.
    pub fn is_load(&self) -> bool {
        self.mem.is_some() && self.name.contains("load")
    }
    /// Whether it writes memory.
    pub fn is_store(&self) -> bool {
        self.mem.is_some() && self.name.contains("store")
    }
}

/// A branch target with its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlockCall {
    /// The target block.
    pub block: Block,
    /// One argument per block parameter.
    pub args: Vec<Value>,
}

/// One instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstData {
    /// What it does.
    pub kind: InstKind,
    /// Value operands.
    pub args: Vec<Value>,
    /// Results.
    pub results: Vec<Value>,
    /// Branch targets (terminators only).
    pub targets: Vec<BlockCall>,
    /// The module byte offset of the wasm operator it was built from, when known: kept by
    /// passes that copy an instruction (an inlined one takes the offset of the call it
    /// replaces, so offsets stay in the body of the function being compiled), for backtraces
    /// and tools that map machine code back to wasm. Never printed, never compared by passes.
    pub srcloc: Option<u32>,
}

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// Parameter `n` of a block.
    Param(Block, u32),
    /// Result `n` of an instruction.
    Result(Inst, u32),
    /// An id the text form skipped, or a value whose definition was deleted.
    None,
}

/// A value's type and definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueData {
    /// Its type.
    pub ty: Type,
    /// Its definition.
    pub def: ValueDef,
}

/// A basic block: parameters and instructions, the last a terminator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockData {
    /// Parameters.
    pub params: Vec<Value>,
    /// Instructions in order.
    pub insts: Vec<Inst>,
}

/// A function. Imported functions have a signature and no blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Function {
    /// Name for humans (export or name-section name), maybe empty.
    pub name: String,
    /// Signature.
    pub sig: Signature,
    /// `(module, field)` when imported.
    pub import: Option<(String, String)>,
    /// Value arena.
    pub values: Vec<ValueData>,
    /// Instruction arena.
    pub insts: Vec<InstData>,
    /// Block arena.
    pub blocks: Vec<BlockData>,
    /// Live blocks in order; the first is the entry, whose parameters are the function's.
    pub layout: Vec<Block>,
}

impl Function {
    /// An empty function with a signature.
    pub fn new(name: impl Into<String>, sig: Signature) -> Function {
        Function { name: name.into(), sig, ..Function::default() }
    }

    /// The entry block.
    pub fn entry(&self) -> Block {
        self.layout[0]
    }

    /// Whether the function has a body.
    pub fn is_defined(&self) -> bool {
        self.import.is_none()
    }

    /// A fresh block, not yet in the layout.
    pub fn make_block(&mut self) -> Block {
        self.blocks.push(BlockData::default());
        Block(self.blocks.len() as u32 - 1)
    }

    /// A fresh block appended to the layout.
    pub fn add_block(&mut self) -> Block {
        let b = self.make_block();
        self.layout.push(b);
        b
    }

    /// A fresh value.
    pub fn make_value(&mut self, ty: Type, def: ValueDef) -> Value {
        self.values.push(ValueData { ty, def });
        Value(self.values.len() as u32 - 1)
    }

    /// Type of a value.
    pub fn ty(&self, v: Value) -> Type {
        self.values[v.index()].ty
    }

    /// Appends a parameter to a block (branches to it must be given an argument).
    pub fn add_param(&mut self, block: Block, ty: Type) -> Value {
        let n = self.blocks[block.index()].params.len() as u32;
        let v = self.make_value(ty, ValueDef::Param(block, n));
        self.blocks[block.index()].params.push(v);
        v
    }

    /// Renumbers the definitions of a block's parameters after editing its list.
    pub fn renumber_params(&mut self, block: Block) {
        for (i, &p) in self.blocks[block.index()].params.iter().enumerate() {
            self.values[p.index()].def = ValueDef::Param(block, i as u32);
        }
    }

    /// Creates an instruction (not placed in a block) with results of the given types.
    pub fn make_inst(
        &mut self,
        kind: InstKind,
        args: Vec<Value>,
        targets: Vec<BlockCall>,
        result_types: &[Type],
    ) -> Inst {
        let inst = Inst(self.insts.len() as u32);
        let results = result_types
            .iter()
            .enumerate()
            .map(|(i, &t)| self.make_value(t, ValueDef::Result(inst, i as u32)))
            .collect();
        self.insts.push(InstData { kind, args, results, targets, srcloc: None });
        inst
    }

    /// Creates an instruction and appends it to `block`.
    pub fn push_inst(
        &mut self,
        block: Block,
        kind: InstKind,
        args: Vec<Value>,
        targets: Vec<BlockCall>,
        result_types: &[Type],
    ) -> Inst {
        let inst = self.make_inst(kind, args, targets, result_types);
        self.blocks[block.index()].insts.push(inst);
        inst
    }

    /// The first result of an instruction.
    pub fn result(&self, inst: Inst) -> Value {
        self.insts[inst.index()].results[0]
    }

    /// The block's terminator, if it has one.
    pub fn terminator(&self, block: Block) -> Option<Inst> {
        let last = *self.blocks[block.index()].insts.last()?;
        self.insts[last.index()].kind.is_terminator().then_some(last)
    }

    /// Successor blocks in target order (duplicates kept).
    pub fn successors(&self, block: Block) -> impl Iterator<Item = Block> + '_ {
        self.terminator(block)
            .into_iter()
            .flat_map(move |t| self.insts[t.index()].targets.iter().map(|c| c.block))
    }

    /// The defining instruction of a value that is a result.
    pub fn def_inst(&self, v: Value) -> Option<Inst> {
        match self.values[v.index()].def {
            ValueDef::Result(i, _) => Some(i),
            _ => None,
        }
    }

    /// The constant a value is defined by, if it is one.
    pub fn const_of(&self, v: Value) -> Option<Const> {
        match self.insts[self.def_inst(v)?.index()].kind {
            InstKind::Const(c) => Some(c),
            _ => None,
        }
    }

    /// Rewrites every operand and branch argument through `map`.
    pub fn map_uses(&mut self, mut map: impl FnMut(Value) -> Value) {
        for &b in &self.layout {
            for &i in &self.blocks[b.index()].insts {
                let data = &mut self.insts[i.index()];
                for a in &mut data.args {
                    *a = map(*a);
                }
                for t in &mut data.targets {
                    for a in &mut t.args {
                        *a = map(*a);
                    }
                }
            }
        }
    }

    /// Replaces uses through a substitution table (`subst[v]`, followed transitively).
    pub fn apply_substitution(&mut self, subst: &[Option<Value>]) {
        let resolve = |mut v: Value| {
            let mut n = 0;
            while let Some(Some(w)) = subst.get(v.index()) {
                v = *w;
                n += 1;
                debug_assert!(n < 1_000_000, "substitution cycle");
            }
            v
        };
        self.map_uses(resolve);
    }

    /// Number of instructions in live blocks.
    pub fn inst_count(&self) -> usize {
        self.layout.iter().map(|b| self.blocks[b.index()].insts.len()).sum()
    }

    /// Which blocks of the arena are in the layout.
    pub fn block_in_layout(&self) -> Vec<bool> {
        let mut live = vec![false; self.blocks.len()];
        for &b in &self.layout {
            live[b.index()] = true;
        }
        live
    }
}

/// A constant expression: global initializers, segment offsets and element items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstExpr {
    /// A constant.
    Const(Const),
    /// The value of an (imported) global.
    GlobalGet(u32),
    /// A function reference.
    RefFunc(FuncId),
}

/// A global variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// Type.
    pub ty: Type,
    /// Whether `global.set` may write it.
    pub mutable: bool,
    /// Initializer; `None` when imported, or when only instantiation knows it (an extended
    /// constant expression over imported globals, which `ConstExpr` cannot hold).
    pub init: Option<ConstExpr>,
}

/// A linear memory (sizes in 64 KiB pages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Initial pages.
    pub min: u64,
    /// Maximum pages.
    pub max: Option<u64>,
    /// Whether imported.
    pub imported: bool,
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Element type.
    pub ty: Type,
    /// Initial size.
    pub min: u64,
    /// Maximum size.
    pub max: Option<u64>,
    /// Whether imported.
    pub imported: bool,
}

/// A data segment: active at `(memory, offset)`, or passive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// Where an active segment is copied at instantiation; `None` for a passive one, or when
    /// only instantiation knows its offset (see [`Global::init`]).
    pub active: Option<(u32, ConstExpr)>,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elem {
    /// Element type.
    pub ty: Type,
    /// Where an active segment is copied at instantiation; `None` for a passive one, or when
    /// only instantiation knows its offset (see [`Global::init`]).
    pub active: Option<(u32, ConstExpr)>,
    /// Declarative segments are dropped at instantiation.
    pub declared: bool,
    /// Items.
    pub items: Vec<ConstExpr>,
}

/// Everything a function can refer to besides other functions' bodies: the module's signatures,
/// globals, memories, tables and segments, and every function's signature.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The type section, for `call_indirect`.
    pub sigs: Vec<Signature>,
    /// Signature of each function.
    pub func_sigs: Vec<Signature>,
    /// Globals.
    pub globals: Vec<Global>,
    /// Memories.
    pub memories: Vec<Memory>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Data segments.
    pub datas: Vec<Data>,
    /// Element segments.
    pub elems: Vec<Elem>,
}

/// A module: its environment and all its functions, so passes can work across them.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// Globals, memories, tables, segments, signatures. Shared: passes only read it, and an
    /// engine compiling one function at a time builds a module around the same environment for
    /// each (`Arc::make_mut` for the rare writer).
    pub env: std::sync::Arc<Env>,
    /// Functions, imports first.
    pub funcs: Vec<Function>,
}

impl Module {
    /// Finds a function by name or by `fnN` id.
    pub fn find_func(&self, name: &str) -> Option<FuncId> {
        if let Some(i) = self.funcs.iter().position(|f| f.name == name) {
            return Some(FuncId(i as u32));
        }
        let n: u32 = name.strip_prefix("fn")?.parse().ok()?;
        ((n as usize) < self.funcs.len()).then_some(FuncId(n))
    }
}

/// The result types of an instruction, given its operands' types (for `select`) and the module
/// environment.
pub fn result_types(env: &Env, kind: &InstKind, arg_types: &[Type]) -> Vec<Type> {
    use InstKind::*;
    match kind {
        Const(c) => vec![c.ty()],
        Num(op) => vec![op.result()],
        Select | Copy => arg_types.first().map(|&t| vec![t]).unwrap_or_default(),
        Load { op, .. } => vec![op.info().1],
        GlobalGet(g) => env.globals.get(*g as usize).map(|g| vec![g.ty]).unwrap_or_default(),
        TableGet(t) => env.tables.get(*t as usize).map(|t| vec![t.ty]).unwrap_or_default(),
        MemorySize(_) | MemoryGrow(_) | TableSize(_) | TableGrow(_) | RefIsNull => vec![Type::I32],
        RefFunc(_) => vec![Type::FuncRef],
        Call(f) => env.func_sigs.get(f.index()).map(|s| s.results.clone()).unwrap_or_default(),
        CallIndirect { sig, .. } => {
            env.sigs.get(*sig as usize).map(|s| s.results.clone()).unwrap_or_default()
        }
        Simd(op) => op.result.into_iter().collect(),
        _ => vec![],
    }
}
