//! wasm -> SSA: decodes and validates a module with wasmparser and builds `tierup-passes` IR for
//! every function, constructing SSA directly with Braun et al.'s on-the-fly algorithm ("Simple
//! and Efficient Construction of Static Single Assignment Form", CC 2013): wasm locals become SSA
//! values as the body is read, merges become block parameters, and no local is left in memory.
//!
//! - Structured control flow maps to blocks: `block`/`if` get a continuation block whose
//!   parameters are the results; a `loop` header's parameters are its params; `br_if` splits the
//!   current block. Code after an unconditional branch is skipped (it has no predecessors).
//! - A block is *sealed* once all its predecessors are known (a loop header at the loop's `end`);
//!   reading a local in an unsealed block adds a parameter that is completed at sealing.
//!   Trivial parameters (every incoming value the same) are removed at the end.
//! - Every WebAssembly 2.0 instruction is built. SIMD operators become opaque IR operators
//!   (`InstKind::Simd`: name, immediates and result type, from wasmparser's operator table); an
//!   operator outside WebAssembly 2.0 makes the function a stub reported in
//!   [`BuildReport::unsupported`], never silently mistranslated.
//!
//! It must never run wasm, and never leave a module half-built: a function either builds
//! completely or is reported.

use std::collections::HashMap;
use tierup_passes::hash::FxHashMap;
use tierup_passes::ir::{
    Block, BlockCall, Const, ConstExpr, Data, Elem, Env, FuncId, Function, Global, Inst, InstKind,
    LoadOp, Memory, Module, NumOp, Signature, SimdOp, StoreOp, Table, TrapCode, Type, Value,
};
use wasmparser::{BlockType, Operator, Parser, Payload, Validator, WasmFeatures};

/// Why a module could not be built at all.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The module does not decode or validate.
    #[error("invalid module: {0}")]
    Invalid(String),
}

impl From<wasmparser::BinaryReaderError> for BuildError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        BuildError::Invalid(e.to_string())
    }
}

/// A built module and what could not be built.
#[derive(Debug)]
pub struct BuildReport {
    /// The module; a function that could not be built is left as an import-less stub with no
    /// blocks and listed in `unsupported`.
    pub module: Module,
    /// `(function, reason)` for every function the builder does not support.
    pub unsupported: Vec<(FuncId, String)>,
    /// Bytes of function bodies (the code section), for throughput.
    pub code_bytes: usize,
    /// Time spent building each function's SSA (imports: zero).
    pub func_time: Vec<std::time::Duration>,
    /// Body size in bytes of each function (imports: zero).
    pub func_bytes: Vec<usize>,
    /// Exported functions by export name.
    pub exports: Vec<(String, FuncId)>,
    /// The start function.
    pub start: Option<FuncId>,
}

impl BuildReport {
    /// Whether function `f` was built.
    pub fn is_built(&self, f: FuncId) -> bool {
        self.module.funcs[f.index()].import.is_none()
            && !self.module.funcs[f.index()].layout.is_empty()
    }
}

fn ty(t: wasmparser::ValType) -> Type {
    match t {
        wasmparser::ValType::I32 => Type::I32,
        wasmparser::ValType::I64 => Type::I64,
        wasmparser::ValType::F32 => Type::F32,
        wasmparser::ValType::F64 => Type::F64,
        wasmparser::ValType::V128 => Type::V128,
        wasmparser::ValType::Ref(r) => heap_type(r.heap_type()),
    }
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, BuildError> {
    let mut reader = expr.get_operators_reader();
    Ok(match reader.read()? {
        Operator::I32Const { value } => ConstExpr::Const(Const::I32(value as u32)),
        Operator::I64Const { value } => ConstExpr::Const(Const::I64(value as u64)),
        Operator::F32Const { value } => ConstExpr::Const(Const::F32(value.bits())),
        Operator::F64Const { value } => ConstExpr::Const(Const::F64(value.bits())),
        Operator::V128Const { value } => ConstExpr::Const(Const::V128(value.i128() as u128)),
        Operator::RefNull { hty } => ConstExpr::Const(Const::Null(heap_type(hty))),
        Operator::RefFunc { function_index } => ConstExpr::RefFunc(FuncId(function_index)),
        Operator::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
        other => return Err(BuildError::Invalid(format!("constant expression {other:?}"))),
    })
}

/// The IR type of references to `h`: host values and exceptions are opaque handles (`exnref` as
/// `externref`, as the module environment types it: tier 2 refuses every function that throws
/// or catches); concrete heap types are function types (function references, no GC).
fn heap_type(h: wasmparser::HeapType) -> Type {
    use wasmparser::AbstractHeapType::{Exn, Extern, NoExn, NoExtern};
    match h {
        wasmparser::HeapType::Abstract { ty: Extern | NoExtern | Exn | NoExn, .. } => {
            Type::ExternRef
        }
        _ => Type::FuncRef,
    }
}

/// Builds SSA for every function of a binary module (validated with the WebAssembly 2.0
/// feature set). Runs on a thread with a large stack: SSA construction recurses along merges.
pub fn build_module(binary: &[u8]) -> Result<BuildReport, BuildError> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("ssa-build".into())
            .stack_size(1 << 30)
            .spawn_scoped(s, || build_module_here(binary))
            .expect("cannot spawn the SSA builder thread")
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn build_module_here(binary: &[u8]) -> Result<BuildReport, BuildError> {
    let mut validator = Validator::new_with_features(WasmFeatures::WASM2);
    let mut env = Env::default();
    let mut funcs: Vec<Function> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut exports: HashMap<u32, String> = HashMap::new();
    let mut export_list: Vec<(String, FuncId)> = Vec::new();
    let mut start = None;
    let mut bodies: Vec<wasmparser::FunctionBody<'_>> = Vec::new();
    let mut code_bytes = 0usize;
    for payload in Parser::new(0).parse_all(binary) {
        let payload = payload?;
        if let wasmparser::ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let mut v = func.into_validator(Default::default());
            v.validate(&body)?;
            code_bytes += (body.range().end - body.range().start) as usize;
            bodies.push(body);
            continue;
        }
        match payload {
            Payload::TypeSection(reader) => {
                for t in reader.into_iter_err_on_gc_types() {
                    let t = t?;
                    env.sigs.push(Signature {
                        params: t.params().iter().map(|&p| ty(p)).collect(),
                        results: t.results().iter().map(|&p| ty(p)).collect(),
                    });
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    match import.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            func_types.push(t);
                            let mut f = Function::new(
                                format!("{}.{}", import.module, import.name),
                                env.sigs[t as usize].clone(),
                            );
                            f.import = Some((import.module.into(), import.name.into()));
                            funcs.push(f);
                        }
                        wasmparser::TypeRef::Table(t) => env.tables.push(Table {
                            ty: ty(wasmparser::ValType::Ref(t.element_type)),
                            min: t.initial,
                            max: t.maximum,
                            imported: true,
                        }),
                        wasmparser::TypeRef::Memory(m) => env.memories.push(Memory {
                            min: m.initial,
                            max: m.maximum,
                            imported: true,
                        }),
                        wasmparser::TypeRef::Global(g) => env.globals.push(Global {
                            ty: ty(g.content_type),
                            mutable: g.mutable,
                            init: None,
                        }),
                        wasmparser::TypeRef::Tag(_) => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    let t = t?;
                    func_types.push(t);
                    funcs.push(Function::new("", env.sigs[t as usize].clone()));
                }
            }
            Payload::TableSection(reader) => {
                for t in reader {
                    let t = t?.ty;
                    env.tables.push(Table {
                        ty: ty(wasmparser::ValType::Ref(t.element_type)),
                        min: t.initial,
                        max: t.maximum,
                        imported: false,
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    let m = m?;
                    env.memories.push(Memory { min: m.initial, max: m.maximum, imported: false });
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    env.globals.push(Global {
                        ty: ty(g.ty.content_type),
                        mutable: g.ty.mutable,
                        init: Some(const_expr(&g.init_expr)?),
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    if matches!(e.kind, wasmparser::ExternalKind::Func) {
                        exports.entry(e.index).or_insert_with(|| e.name.to_string());
                        export_list.push((e.name.to_string(), FuncId(e.index)));
                    }
                }
            }
            Payload::StartSection { func, .. } => start = Some(FuncId(func)),
            Payload::ElementSection(reader) => {
                for e in reader {
                    let e = e?;
                    let (active, declared) = match e.kind {
                        wasmparser::ElementKind::Passive => (None, false),
                        wasmparser::ElementKind::Declared => (None, true),
                        wasmparser::ElementKind::Active { table_index, offset_expr } => {
                            (Some((table_index.unwrap_or(0), const_expr(&offset_expr)?)), false)
                        }
                    };
                    let (ety, items) = match e.items {
                        wasmparser::ElementItems::Functions(fs) => (
                            Type::FuncRef,
                            fs.into_iter()
                                .map(|f| Ok(ConstExpr::RefFunc(FuncId(f?))))
                                .collect::<Result<Vec<_>, BuildError>>()?,
                        ),
                        wasmparser::ElementItems::Expressions(rt, es) => (
                            ty(wasmparser::ValType::Ref(rt)),
                            es.into_iter()
                                .map(|x| const_expr(&x?))
                                .collect::<Result<Vec<_>, _>>()?,
                        ),
                    };
                    env.elems.push(Elem { ty: ety, active, declared, items });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    let d = d?;
                    let active = match d.kind {
                        wasmparser::DataKind::Passive => None,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => {
                            Some((memory_index, const_expr(&offset_expr)?))
                        }
                    };
                    env.datas.push(Data { active, bytes: d.data.to_vec() });
                }
            }
            Payload::CustomSection(reader) => {
                if let wasmparser::KnownCustom::Name(section) = reader.as_known() {
                    for name in section.into_iter().flatten() {
                        if let wasmparser::Name::Function(map) = name {
                            for n in map.into_iter().flatten() {
                                names.insert(n.index, n.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    env.func_sigs = funcs.iter().map(|f| f.sig.clone()).collect();
    let num_imported = funcs.iter().filter(|f| f.import.is_some()).count();
    let mut unsupported = Vec::new();
    let mut func_time = vec![std::time::Duration::ZERO; funcs.len()];
    let mut func_bytes = vec![0; funcs.len()];
    for (i, body) in bodies.iter().enumerate() {
        let index = num_imported + i;
        let name = names
            .get(&(index as u32))
            .or_else(|| exports.get(&(index as u32)))
            .cloned()
            .unwrap_or_default();
        let sig = funcs[index].sig.clone();
        let start = std::time::Instant::now();
        let built = FnBuilder::new(&env, name.clone(), sig.clone()).build(body).map(|(f, _)| f);
        func_time[index] = start.elapsed();
        func_bytes[index] = (body.range().end - body.range().start) as usize;
        match built {
            Ok(f) => funcs[index] = f,
            Err(why) => {
                funcs[index] = Function::new(name, sig);
                unsupported.push((FuncId(index as u32), why));
            }
        }
    }
    for (i, f) in funcs.iter_mut().enumerate() {
        if f.import.is_some()
            && let Some(n) = names.get(&(i as u32))
        {
            f.name = n.clone();
        }
    }
    Ok(BuildReport {
        module: Module { env: std::sync::Arc::new(env), funcs },
        unsupported,
        code_bytes,
        func_time,
        func_bytes,
        exports: export_list,
        start,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Block,
    Loop,
    If,
    Else,
}

struct Frame {
    kind: FrameKind,
    /// Where a branch to this frame goes: the loop header, or the continuation.
    label: Block,
    /// Continuation (unused for loops, whose continuation is the fall-through).
    end: Block,
    /// For `if`: the else block (which jumps to `end` with `params` if there is no `else`).
    else_block: Option<Block>,
    params: Vec<Value>,
    param_types: Vec<Type>,
    results: Vec<Type>,
    height: usize,
    /// Opened while the code was unreachable: everything up to its `end` is skipped.
    dead: bool,
    /// For the loop entered by on-stack replacement: how many operand-stack values below its
    /// parameters its header carries as parameters too (a branch to it passes them).
    carried: usize,
}

/// What the second walk of an on-stack-replacement build needs of the first at the loop it
/// enters: where the loop's operator is, the frames around it and the operand stack's types
/// (with the constants among them).
struct OsrSnapshot {
    position: u64,
    frames: Vec<FrameShape>,
    stack: Vec<(Type, Option<Const>)>,
    /// How many of `stack`'s values are the loop's own parameters (on top).
    loop_params: usize,
}

/// A frame around the loop entered by on-stack replacement, as the second walk remakes it.
struct FrameShape {
    kind: FrameKind,
    /// For a loop: the first walk's header, which the second walk's back-edges also reach.
    header: Option<Block>,
    param_types: Vec<Type>,
    results: Vec<Type>,
    height: usize,
}

/// Where an on-stack-replacement entry finds one of its values: tier 0 and tier 1 keep every wasm
/// local in its slot and every non-constant value of the wasm operand stack in its canonical slot
/// (`temp_base + height`) at a loop header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsrSource {
    /// Local number `n` (parameters first): slot `n`.
    Local(u32),
    /// The operand-stack value at this height: slot `temp_base + height`.
    Stack(u32),
}

/// What the builder needs beyond the body for tier 2: fuel segments to charge, and the loop to
/// build an on-stack-replacement entry at.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// With fuel metering, each straight-line segment's cost, in the order the operator walk
    /// opens them (`FrameLayout::fuel_segments`): every tier charges these amounts at these points.
    pub fuel_segments: Option<Vec<u32>>,
    /// Build the function entered at the header of this loop (by ordinal: every `loop` operator
    /// counts, dead ones too) on a frame another tier was running: its entry block's parameters
    /// are the values live there, in the order of [`Built::osr_sources`].
    pub osr_loop: Option<u32>,
}

/// A function built for tier 2.
pub struct Built {
    /// The function.
    pub func: Function,
    /// For an on-stack-replacement build, where each entry parameter comes from.
    pub osr_sources: Vec<OsrSource>,
}

/// Builds defined function `index` (module index space) from its validated `body`, in `env`
/// (the module's environment), with `options`.
pub fn build_function(
    env: &Env,
    name: String,
    index: u32,
    body: &wasmparser::FunctionBody<'_>,
    options: BuildOptions,
) -> Result<Built, String> {
    let sig = env.func_sigs[index as usize].clone();
    let mut b = FnBuilder::new(env, name, sig);
    b.fuel = options.fuel_segments;
    b.osr_loop = options.osr_loop;
    let func = b.build(body)?;
    Ok(Built { func: func.0, osr_sources: func.1 })
}

struct FnBuilder<'a> {
    env: &'a Env,
    /// Fuel segment costs still to charge, and whether the current segment is charged.
    fuel: Option<Vec<u32>>,
    next_fuel: usize,
    in_fuel_segment: bool,
    /// The loop to enter by on-stack replacement, and the loops seen so far.
    osr_loop: Option<u32>,
    loops_seen: u32,
    osr_sources: Vec<OsrSource>,
    /// Building the on-stack-replacement entry's own copy of the code from its loop on (the
    /// second walk, see [`FnBuilder::build`]).
    copying: bool,
    /// The first walk's state at the loop entered by on-stack replacement, for the second.
    osr_snapshot: Option<OsrSnapshot>,
    /// Headers of the loops around the one entered by on-stack replacement: the second walk's
    /// back-edges reach them too, so they are sealed after it.
    deferred_seals: Vec<Block>,
    f: Function,
    locals: Vec<Type>,
    defs: FxHashMap<(u32, Block), Value>,
    sealed: Vec<bool>,
    incomplete: Vec<Vec<(u32, Value)>>,
    /// Predecessor edges of each block: (branching block, terminator, target index).
    preds: Vec<Vec<(Block, Inst, usize)>>,
    alias: Vec<Option<Value>>,
    /// The single-predecessor blocks `read_var` walked through, for all its active calls (each
    /// uses the part above where it started): one vector rather than one per read.
    chain: Vec<Block>,
    /// Scratch for [`FnBuilder::ins`]: the operand types of the instruction being added.
    arg_types: Vec<Type>,
    stack: Vec<Value>,
    ctrl: Vec<Frame>,
    cur: Option<Block>,
    /// Zero constants made for reads of never-written locals, by type and the block they are in
    /// (a block without predecessors: the entry, or code nothing reaches).
    zeros: FxHashMap<(Type, Block), Value>,
    entry: Block,
}

type R<T> = Result<T, String>;

impl<'a> FnBuilder<'a> {
    fn new(env: &'a Env, name: String, sig: Signature) -> Self {
        FnBuilder {
            env,
            fuel: None,
            next_fuel: 0,
            in_fuel_segment: false,
            osr_loop: None,
            loops_seen: 0,
            osr_sources: Vec::new(),
            copying: false,
            osr_snapshot: None,
            deferred_seals: Vec::new(),
            f: Function::new(name, sig),
            locals: Vec::new(),
            defs: FxHashMap::default(),
            sealed: Vec::new(),
            incomplete: Vec::new(),
            preds: Vec::new(),
            alias: Vec::new(),
            chain: Vec::new(),
            arg_types: Vec::new(),
            stack: Vec::new(),
            ctrl: Vec::new(),
            cur: None,
            zeros: FxHashMap::default(),
            entry: Block(0),
        }
    }

    fn new_block(&mut self) -> Block {
        let b = self.f.make_block();
        self.sealed.push(false);
        self.incomplete.push(Vec::new());
        self.preds.push(Vec::new());
        b
    }

    fn switch_to(&mut self, b: Block) {
        self.f.layout.push(b);
        self.cur = Some(b);
    }

    fn resolve(&self, mut v: Value) -> Value {
        while let Some(Some(w)) = self.alias.get(v.index()) {
            v = *w;
        }
        v
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated: operand stack underflow")
    }

    fn pop_n(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn top_n(&self, n: usize) -> Vec<Value> {
        self.stack[self.stack.len() - n..].to_vec()
    }

    /// Appends a non-terminator to the current block and pushes its results.
    fn ins(&mut self, kind: InstKind, args: Vec<Value>) -> Inst {
        self.arg_types.clear();
        self.arg_types.extend(args.iter().map(|&a| self.f.ty(a)));
        let result_types = tierup_passes::ir::result_types(self.env, &kind, &self.arg_types);
        let b = self.cur.expect("emitting into unreachable code");
        let inst = self.f.push_inst(b, kind, args, vec![], &result_types);
        self.stack.extend(self.f.insts[inst.index()].results.iter().copied());
        inst
    }

    fn terminate(&mut self, kind: InstKind, args: Vec<Value>, targets: Vec<BlockCall>) {
        let b = self.cur.take().expect("terminating unreachable code");
        let inst = self.f.push_inst(b, kind, args, targets, &[]);
        for (i, t) in self.f.insts[inst.index()].targets.iter().enumerate() {
            self.preds[t.block.index()].push((b, inst, i));
        }
    }

    fn jump(&mut self, target: Block, args: Vec<Value>) {
        self.terminate(InstKind::Jump, vec![], vec![BlockCall { block: target, args }]);
    }

    /// The function's new entry block for on-stack replacement, first in the layout, with every
    /// local (from its slot) as a parameter.
    fn new_osr_entry(&mut self) -> Block {
        let osr = self.new_block();
        self.sealed[osr.index()] = true;
        self.f.layout.insert(0, osr);
        self.entry = osr;
        for (l, t) in self.locals.clone().into_iter().enumerate() {
            let p = self.add_param(osr, t);
            self.write_var(l as u32, osr, p);
            self.osr_sources.push(OsrSource::Local(l as u32));
        }
        osr
    }

    /// With fuel metered (see [`Self::peels_osr_loop`]): makes a new entry block that enters
    /// `header` (the loop being opened, whose parameters are
    /// the carried operand stack `values`) as tier 0 and tier 1 leave a frame at a loop header:
    /// every local in its slot, the loop's own parameters and every non-constant value below them
    /// in its canonical slot, constants below them as constants (made again here: nothing in the
    /// loop changes them; the parameters change at every back-edge, so they always come from
    /// their slots). The old entry stays; it reaches the header only when the loop is nested in
    /// another one, whose back-edges lead back to it.
    fn enter_by_osr(&mut self, header: Block, values: &[Value], carried: usize) {
        let osr = self.new_osr_entry();
        let mut args = Vec::with_capacity(values.len());
        for (h, &v) in values.iter().enumerate() {
            let v = self.resolve(v);
            let constant = if h < carried { self.f.const_of(v) } else { None };
            args.push(match constant {
                Some(c) => {
                    let inst = self.f.push_inst(osr, InstKind::Const(c), vec![], vec![], &[c.ty()]);
                    self.f.result(inst)
                }
                None => {
                    let t = self.f.ty(v);
                    self.osr_sources.push(OsrSource::Stack(h as u32));
                    self.add_param(osr, t)
                }
            });
        }
        let resume = self.cur.replace(osr);
        self.jump(header, args);
        self.cur = resume;
    }

    fn zero(&mut self, t: Type, b: Block) -> Value {
        if let Some(&v) = self.zeros.get(&(t, b)) {
            return v;
        }
        let inst = self.f.make_inst(InstKind::Const(t.zero()), vec![], vec![], &[t]);
        self.f.blocks[b.index()].insts.insert(0, inst);
        let v = self.f.result(inst);
        self.zeros.insert((t, b), v);
        v
    }

    fn add_param(&mut self, b: Block, t: Type) -> Value {
        let v = self.f.add_param(b, t);
        self.alias.resize(self.f.values.len(), None);
        v
    }

    // --- Braun et al. ---

    fn write_var(&mut self, var: u32, b: Block, v: Value) {
        self.defs.insert((var, b), v);
    }

    fn read_var(&mut self, var: u32, b: Block) -> Value {
        // Walk single-predecessor chains iteratively (they can be long).
        let base = self.chain.len();
        let mut at = b;
        let v = loop {
            if let Some(&v) = self.defs.get(&(var, at)) {
                break self.resolve(v);
            }
            if self.sealed[at.index()] && self.preds[at.index()].len() == 1 {
                self.chain.push(at);
                at = self.preds[at.index()][0].0;
                continue;
            }
            break self.read_var_rec(var, at);
        };
        while self.chain.len() > base {
            let c = self.chain.pop().unwrap();
            self.write_var(var, c, v);
        }
        v
    }

    fn read_var_rec(&mut self, var: u32, b: Block) -> Value {
        let t = self.locals[var as usize];
        let v = if !self.sealed[b.index()] {
            let p = self.add_param(b, t);
            self.incomplete[b.index()].push((var, p));
            p
        } else if self.preds[b.index()].is_empty() {
            // The entry block (locals start at zero) or code no branch reaches.
            self.zero(t, b)
        } else {
            let p = self.add_param(b, t);
            self.write_var(var, b, p);
            self.add_phi_operands(var, p, b)
        };
        self.write_var(var, b, v);
        v
    }

    fn add_phi_operands(&mut self, var: u32, p: Value, b: Block) -> Value {
        // By index, not over a copy: reading a variable adds no branch, so `b`'s predecessors
        // stay as they are (and the copy was an allocation per parameter).
        for k in 0..self.preds[b.index()].len() {
            let (pb, inst, ti) = self.preds[b.index()][k];
            let v = self.read_var(var, pb);
            self.f.insts[inst.index()].targets[ti].args.push(v);
        }
        self.try_remove_trivial(p, b)
    }

    fn try_remove_trivial(&mut self, p: Value, b: Block) -> Value {
        let idx = self.f.blocks[b.index()].params.iter().position(|&x| x == p).unwrap();
        let mut same = None;
        for &(_, inst, ti) in &self.preds[b.index()] {
            let a = self.resolve(self.f.insts[inst.index()].targets[ti].args[idx]);
            if Some(a) == same || a == p {
                continue;
            }
            if same.is_some() {
                return p;
            }
            same = Some(a);
        }
        let same = match same {
            Some(s) => s,
            None => self.zero(self.f.ty(p), b),
        };
        self.alias[p.index()] = Some(same);
        same
    }

    fn seal(&mut self, b: Block) {
        for (var, p) in std::mem::take(&mut self.incomplete[b.index()]) {
            self.add_phi_operands(var, p, b);
        }
        self.sealed[b.index()] = true;
    }

    /// Removes the parameters found trivial and applies the aliases to every use.
    fn finish(mut self) -> Function {
        self.alias.resize(self.f.values.len(), None);
        let subst: Vec<Option<Value>> = (0..self.f.values.len())
            .map(|i| self.alias[i].map(|_| self.resolve(Value(i as u32))))
            .collect();
        for bi in 0..self.f.blocks.len() {
            let b = Block(bi as u32);
            let params = &self.f.blocks[bi].params;
            if !params.iter().any(|p| subst[p.index()].is_some()) {
                continue;
            }
            let keep: Vec<bool> = params.iter().map(|p| subst[p.index()].is_none()).collect();
            for &(_, inst, ti) in &self.preds[bi] {
                let args = &mut self.f.insts[inst.index()].targets[ti].args;
                let mut k = keep.iter();
                args.retain(|_| *k.next().unwrap());
            }
            let removed: Vec<Value> =
                params.iter().copied().filter(|p| subst[p.index()].is_some()).collect();
            let mut k = keep.iter();
            self.f.blocks[bi].params.retain(|_| *k.next().unwrap());
            for p in removed {
                self.f.values[p.index()].def = tierup_passes::ir::ValueDef::None;
            }
            self.f.renumber_params(b);
        }
        self.f.apply_substitution(&subst);
        self.f
    }

    // --- structured control flow ---

    fn block_type(&self, bt: BlockType) -> (Vec<Type>, Vec<Type>) {
        match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![ty(t)]),
            BlockType::FuncType(i) => {
                let s = &self.env.sigs[i as usize];
                (s.params.clone(), s.results.clone())
            }
        }
    }

    fn push_dead_frame(&mut self) {
        self.ctrl.push(Frame {
            kind: FrameKind::Block,
            label: Block(0),
            end: Block(0),
            else_block: None,
            params: vec![],
            param_types: vec![],
            results: vec![],
            height: self.stack.len(),
            dead: true,
            carried: 0,
        });
    }

    fn make_end_block(&mut self, results: &[Type]) -> Block {
        let end = self.new_block();
        for &t in results {
            self.add_param(end, t);
        }
        end
    }

    /// Branch target and arguments for `br depth` (`None` target: the function's return): the
    /// target's values from the top of the stack, and for a loop entered by on-stack
    /// replacement, the values its header carries from below.
    fn branch_args(&self, depth: u32) -> (Option<Block>, Vec<Value>) {
        let (target, n) = self.branch_target(depth);
        let frame = &self.ctrl[self.ctrl.len() - 1 - depth as usize];
        let mut args = match frame.kind {
            FrameKind::Loop => self.stack[..frame.carried].to_vec(),
            _ => Vec::new(),
        };
        args.extend(self.top_n(n));
        (target, args)
    }

    /// Branch target and the number of values it takes from the top of the stack.
    fn branch_target(&self, depth: u32) -> (Option<Block>, usize) {
        let frame = &self.ctrl[self.ctrl.len() - 1 - depth as usize];
        if self.ctrl.len() - 1 - depth as usize == 0 {
            return (None, frame.results.len());
        }
        match frame.kind {
            FrameKind::Loop => (Some(frame.label), frame.param_types.len()),
            _ => (Some(frame.label), frame.results.len()),
        }
    }

    fn build(mut self, body: &wasmparser::FunctionBody<'_>) -> R<(Function, Vec<OsrSource>)> {
        // About one instruction and one value per four bytes of code (the corpus's ratio):
        // reserved up front, the arenas are not copied over and over as they grow.
        let expected = (body.range().end - body.range().start) as usize / 4;
        self.f.insts.reserve(expected);
        self.f.values.reserve(expected);
        let entry = self.new_block();
        self.entry = entry;
        self.switch_to(entry);
        self.sealed[entry.index()] = true;
        let params = self.f.sig.params.clone();
        for (i, &t) in params.iter().enumerate() {
            let v = self.add_param(entry, t);
            self.locals.push(t);
            self.write_var(i as u32, entry, v);
        }
        let mut locals_reader = body.get_locals_reader().map_err(|e| e.to_string())?;
        for _ in 0..locals_reader.get_count() {
            let (n, t) = locals_reader.read().map_err(|e| e.to_string())?;
            for _ in 0..n {
                self.locals.push(ty(t));
            }
        }
        let results = self.f.sig.results.clone();
        // The function's own frame: a branch to it returns.
        self.ctrl.push(Frame {
            kind: FrameKind::Block,
            label: Block(0),
            end: Block(0),
            else_block: None,
            params: vec![],
            param_types: vec![],
            results,
            height: 0,
            dead: false,
            carried: 0,
        });
        let reader = body.get_operators_reader().map_err(|e| e.to_string())?;
        self.walk(reader)?;
        if let Some(snapshot) = self.osr_snapshot.take() {
            // The second walk: the entry's own copy of the code from the loop on.
            let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
            while reader.original_position() < snapshot.position {
                reader.read().map_err(|e| e.to_string())?;
            }
            self.start_osr_copy(snapshot);
            self.walk(reader)?;
            for header in std::mem::take(&mut self.deferred_seals) {
                self.seal(header);
            }
        }
        if let Some(fuel) = &self.fuel
            && self.next_fuel != fuel.len()
        {
            return Err(format!(
                "fuel segments disagree with tier 0: {} charged, {} expected",
                self.next_fuel,
                fuel.len()
            ));
        }
        if self.osr_loop.is_some() && self.cur_entry_is_original() {
            // The loop is in dead code (or missing): nothing can enter it.
            return Err("the loop has no on-stack-replacement entry (dead code)".into());
        }
        let osr = self.osr_loop.is_some();
        let sources = std::mem::take(&mut self.osr_sources);
        let mut f = self.finish();
        if osr {
            // The new entry's parameters are the function's now; the old entry and whatever
            // only it reached are unreachable.
            f.sig.params = f.blocks[f.entry().index()].params.iter().map(|&p| f.ty(p)).collect();
        }
        Ok((f, sources))
    }

    /// Builds the operators `reader` has left, in order.
    fn walk(&mut self, mut reader: wasmparser::OperatorsReader<'_>) -> R<()> {
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset().map_err(|e| e.to_string())?;
            let first_new = self.f.insts.len();
            if let Operator::Loop { blockty } = op
                && self.peels_osr_loop(self.loops_seen)
            {
                let loop_params = self.block_type(blockty).0.len();
                self.take_osr_snapshot(offset, loop_params);
            }
            self.charge_fuel(&op)?;
            let ends_segment = crate::vm::frame::ends_fuel_segment(&op);
            self.op(op)?;
            if ends_segment {
                self.in_fuel_segment = false;
            }
            // Everything this operator made comes from it (for `tierup explore`).
            for inst in &mut self.f.insts[first_new..] {
                inst.srcloc = Some(offset as u32);
            }
        }
        Ok(())
    }

    /// Whether loop `ordinal`, reached by the first walk, is the one entered by on-stack
    /// replacement and gets its own copy of the code (a second walk).
    ///
    /// Entering a nested loop's header straight from a new entry would make the header of every
    /// loop around it reachable only through that header: one loop nest headed by the inner
    /// header, where the hot inner loop's registers carry the whole nest (spills inside it) and
    /// loop passes see one loop. Instead, as optimizing JITs do for on-stack replacement into
    /// inner loops, the entry gets a copy of the code from the loop's header to the function's
    /// end, whose branches to the loops around go to the first walk's headers: the copy runs
    /// until the enclosing loops' next iteration, which then runs in the original, intact loop
    /// nest. With fuel metered, the copy would charge segments where the original's code does
    /// not run, so the entry jumps into the first walk's header instead ([`Self::enter_by_osr`]).
    fn peels_osr_loop(&self, ordinal: u32) -> bool {
        self.osr_loop == Some(ordinal) && self.fuel.is_none() && !self.copying && self.cur.is_some()
    }

    /// Records the first walk's state at the loop entered by on-stack replacement (its operator
    /// at `position`, not yet built, with `loop_params` parameters on the stack) and defers
    /// sealing the headers of the loops around it.
    fn take_osr_snapshot(&mut self, position: u64, loop_params: usize) {
        let frames = self
            .ctrl
            .iter()
            .map(|fr| FrameShape {
                kind: fr.kind,
                header: (fr.kind == FrameKind::Loop).then_some(fr.label),
                param_types: fr.param_types.clone(),
                results: fr.results.clone(),
                height: fr.height,
            })
            .collect();
        let stack = self
            .stack
            .iter()
            .map(|&v| {
                let v = self.resolve(v);
                (self.f.ty(v), self.f.const_of(v))
            })
            .collect();
        self.deferred_seals
            .extend(self.ctrl.iter().filter(|fr| fr.kind == FrameKind::Loop).map(|fr| fr.label));
        self.osr_snapshot = Some(OsrSnapshot { position, frames, stack, loop_params });
    }

    /// Starts the second walk at the loop entered by on-stack replacement: a new entry block
    /// whose parameters are the values tier 0 and tier 1 leave in the frame at a loop header
    /// (every local, then every non-constant operand-stack value; constants below the loop's
    /// own parameters are made again), and the frames around the loop remade, each loop's label
    /// its first-walk header, every other frame with a new end (an `else` not yet reached is
    /// unreachable from this entry).
    fn start_osr_copy(&mut self, snapshot: OsrSnapshot) {
        self.copying = true;
        let osr = self.new_osr_entry();
        let carried = snapshot.stack.len() - snapshot.loop_params;
        self.stack.clear();
        for (h, &(t, constant)) in snapshot.stack.iter().enumerate() {
            let value = match constant.filter(|_| h < carried) {
                Some(c) => {
                    let inst = self.f.push_inst(osr, InstKind::Const(c), vec![], vec![], &[t]);
                    self.f.result(inst)
                }
                None => {
                    self.osr_sources.push(OsrSource::Stack(h as u32));
                    self.add_param(osr, t)
                }
            };
            self.stack.push(value);
        }
        self.ctrl.clear();
        for (depth, shape) in snapshot.frames.into_iter().enumerate() {
            let label = match shape.header {
                Some(header) => header,
                // The function's own frame: a branch to it returns.
                None if depth == 0 => Block(0),
                None => self.make_end_block(&shape.results),
            };
            self.ctrl.push(Frame {
                kind: shape.kind,
                label,
                end: label,
                else_block: None,
                params: vec![],
                param_types: shape.param_types,
                results: shape.results,
                height: shape.height,
                dead: false,
                carried: 0,
            });
        }
        self.cur = Some(osr);
        self.loops_seen = self.osr_loop.expect("an on-stack-replacement build");
        self.in_fuel_segment = false;
    }

    /// Whether the function's entry is still the one it started with.
    fn cur_entry_is_original(&self) -> bool {
        self.f.layout.first().is_some_and(|&b| b == Block(0))
    }

    /// Charges the segment `op` opens, when fuel is metered and it opens one (the same rule as
    /// tier 0's and tier 1's: at the first reachable operator after a segment ended).
    fn charge_fuel(&mut self, op: &Operator<'_>) -> R<()> {
        let Some(fuel) = &self.fuel else { return Ok(()) };
        if self.cur.is_none() || self.in_fuel_segment {
            return Ok(());
        }
        // `else` and `end` of a reachable block end a segment without starting one here.
        let _ = op;
        let amount = *fuel
            .get(self.next_fuel)
            .ok_or_else(|| "more fuel segments than tier 0's".to_string())?;
        self.next_fuel += 1;
        self.in_fuel_segment = true;
        let b = self.cur.expect("reachable");
        self.f.push_inst(b, InstKind::Fuel(amount), vec![], vec![], &[]);
        Ok(())
    }

    fn op(&mut self, op: Operator<'_>) -> R<()> {
        use Operator as O;
        if self.cur.is_none() {
            // Unreachable code: only track nesting (`try_table` opens a block too).
            match op {
                O::Block { .. } | O::If { .. } | O::TryTable { .. } => self.push_dead_frame(),
                O::Loop { .. } => {
                    // Loops in dead code have ordinals too (tier 0 numbers every `loop`).
                    self.loops_seen += 1;
                    self.push_dead_frame()
                }
                O::Else if !self.ctrl.last().unwrap().dead => self.do_else(),
                O::End => {
                    if self.ctrl.last().unwrap().dead {
                        self.ctrl.pop();
                    } else {
                        self.do_end();
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        macro_rules! num {
            ($($v:ident)*) => {
                match op {
                    $(O::$v => return self.num(NumOp::$v),)*
                    _ => {}
                }
            };
        }
        num! {
            I32Eqz I32Eq I32Ne I32LtS I32LtU I32GtS I32GtU I32LeS I32LeU I32GeS I32GeU
            I64Eqz I64Eq I64Ne I64LtS I64LtU I64GtS I64GtU I64LeS I64LeU I64GeS I64GeU
            F32Eq F32Ne F32Lt F32Gt F32Le F32Ge F64Eq F64Ne F64Lt F64Gt F64Le F64Ge
            I32Clz I32Ctz I32Popcnt I32Add I32Sub I32Mul I32DivS I32DivU I32RemS I32RemU
            I32And I32Or I32Xor I32Shl I32ShrS I32ShrU I32Rotl I32Rotr
            I64Clz I64Ctz I64Popcnt I64Add I64Sub I64Mul I64DivS I64DivU I64RemS I64RemU
            I64And I64Or I64Xor I64Shl I64ShrS I64ShrU I64Rotl I64Rotr
            F32Abs F32Neg F32Ceil F32Floor F32Trunc F32Nearest F32Sqrt F32Add F32Sub F32Mul
            F32Div F32Min F32Max F32Copysign
            F64Abs F64Neg F64Ceil F64Floor F64Trunc F64Nearest F64Sqrt F64Add F64Sub F64Mul
            F64Div F64Min F64Max F64Copysign
            I32WrapI64 I32TruncF32S I32TruncF32U I32TruncF64S I32TruncF64U I64ExtendI32S
            I64ExtendI32U I64TruncF32S I64TruncF32U I64TruncF64S I64TruncF64U F32ConvertI32S
            F32ConvertI32U F32ConvertI64S F32ConvertI64U F32DemoteF64 F64ConvertI32S
            F64ConvertI32U F64ConvertI64S F64ConvertI64U F64PromoteF32 I32ReinterpretF32
            I64ReinterpretF64 F32ReinterpretI32 F64ReinterpretI64 I32Extend8S I32Extend16S
            I64Extend8S I64Extend16S I64Extend32S I32TruncSatF32S I32TruncSatF32U
            I32TruncSatF64S I32TruncSatF64U I64TruncSatF32S I64TruncSatF32U I64TruncSatF64S
            I64TruncSatF64U
        }
        macro_rules! load {
            ($($v:ident)*) => {
                match op {
                    $(O::$v { memarg } => {
                        let addr = self.pop();
                        self.ins(
                            InstKind::Load { op: LoadOp::$v, offset: memarg.offset, mem: mem_index(&memarg) },
                            vec![addr],
                        );
                        return Ok(());
                    })*
                    _ => {}
                }
            };
        }
        load! {
            I32Load I64Load F32Load F64Load I32Load8S I32Load8U I32Load16S I32Load16U
            I64Load8S I64Load8U I64Load16S I64Load16U I64Load32S I64Load32U
        }
        macro_rules! store {
            ($($v:ident)*) => {
                match op {
                    $(O::$v { memarg } => {
                        let val = self.pop();
                        let addr = self.pop();
                        self.ins(
                            InstKind::Store { op: StoreOp::$v, offset: memarg.offset, mem: mem_index(&memarg) },
                            vec![addr, val],
                        );
                        return Ok(());
                    })*
                    _ => {}
                }
            };
        }
        store! { I32Store I64Store F32Store F64Store I32Store8 I32Store16 I64Store8 I64Store16 I64Store32 }
        match op {
            O::Nop => {}
            O::Unreachable => {
                self.terminate(InstKind::Trap(TrapCode::Unreachable), vec![], vec![]);
                self.after_branch();
            }
            O::Block { blockty } => {
                let (pt, rt) = self.block_type(blockty);
                let end = self.make_end_block(&rt);
                self.ctrl.push(Frame {
                    kind: FrameKind::Block,
                    label: end,
                    end,
                    else_block: None,
                    params: vec![],
                    height: self.stack.len() - pt.len(),
                    param_types: pt,
                    results: rt,
                    dead: false,
                    carried: 0,
                });
            }
            O::Loop { blockty } => {
                let (pt, rt) = self.block_type(blockty);
                let ordinal = self.loops_seen;
                self.loops_seen += 1;
                let header = self.new_block();
                // Entered by on-stack replacement too, the header takes the whole operand stack
                // as parameters: below the loop's own, the values it carries, which differ by
                // the way in.
                // The first walk of a peeled build makes this loop as any other (see
                // `peels_osr_loop`); the entry's copy, or the in-place entry, carries.
                let osr_here =
                    self.osr_loop == Some(ordinal) && (self.copying || self.fuel.is_some());
                let carried = if osr_here { self.stack.len() - pt.len() } else { 0 };
                let carried_types: Vec<Type> =
                    self.stack[..carried].iter().map(|&v| self.f.ty(v)).collect();
                let carried_params: Vec<Value> =
                    carried_types.iter().map(|&t| self.add_param(header, t)).collect();
                let params: Vec<Value> = pt.iter().map(|&t| self.add_param(header, t)).collect();
                let args = self.pop_n(pt.len());
                let mut entry_values = self.stack[..carried].to_vec();
                entry_values.extend(args);
                self.jump(header, entry_values.clone());
                if osr_here {
                    if !self.copying {
                        self.enter_by_osr(header, &entry_values, carried);
                    }
                    self.stack.truncate(self.stack.len() - carried);
                    self.stack.extend(carried_params);
                }
                self.switch_to(header);
                let height = self.stack.len();
                self.stack.extend(params.iter().copied());
                self.ctrl.push(Frame {
                    kind: FrameKind::Loop,
                    label: header,
                    end: header,
                    else_block: None,
                    params,
                    param_types: pt,
                    results: rt,
                    height,
                    dead: false,
                    carried,
                });
            }
            O::If { blockty } => {
                let (pt, rt) = self.block_type(blockty);
                let cond = self.pop();
                let end = self.make_end_block(&rt);
                let then_b = self.new_block();
                let else_b = self.new_block();
                let params = self.top_n(pt.len());
                self.terminate(
                    InstKind::Brif,
                    vec![cond],
                    vec![
                        BlockCall { block: then_b, args: vec![] },
                        BlockCall { block: else_b, args: vec![] },
                    ],
                );
                self.seal(then_b);
                self.seal(else_b);
                self.switch_to(then_b);
                self.ctrl.push(Frame {
                    kind: FrameKind::If,
                    label: end,
                    end,
                    else_block: Some(else_b),
                    params,
                    height: self.stack.len() - pt.len(),
                    param_types: pt,
                    results: rt,
                    dead: false,
                    carried: 0,
                });
            }
            O::Else => self.do_else(),
            O::End => self.do_end(),
            O::Br { relative_depth } => {
                self.br(relative_depth);
                self.after_branch();
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                let (target, args) = self.branch_args(relative_depth);
                let next = self.new_block();
                let taken = match target {
                    Some(t) => BlockCall { block: t, args },
                    None => {
                        // Conditional return: through a block that returns.
                        let ret = self.new_block();
                        self.terminate(
                            InstKind::Brif,
                            vec![cond],
                            vec![
                                BlockCall { block: ret, args: vec![] },
                                BlockCall { block: next, args: vec![] },
                            ],
                        );
                        self.seal(ret);
                        self.seal(next);
                        self.switch_to(ret);
                        self.terminate(InstKind::Return, args, vec![]);
                        self.switch_to(next);
                        return Ok(());
                    }
                };
                self.terminate(
                    InstKind::Brif,
                    vec![cond],
                    vec![taken, BlockCall { block: next, args: vec![] }],
                );
                self.seal(next);
                self.switch_to(next);
            }
            O::BrTable { targets } => {
                let index = self.pop();
                let mut depths = Vec::new();
                for d in targets.targets() {
                    depths.push(d.map_err(|e| e.to_string())?);
                }
                depths.push(targets.default());
                let mut calls = Vec::new();
                let mut ret_block = None;
                for d in depths {
                    let (target, args) = self.branch_args(d);
                    let block = match target {
                        Some(t) => t,
                        None => *ret_block.get_or_insert_with(|| self.new_block()),
                    };
                    calls.push(BlockCall {
                        block,
                        args: if target.is_some() { args } else { vec![] },
                    });
                }
                let rets = ret_block.map(|_| self.top_n(self.f.sig.results.len()));
                self.terminate(InstKind::BrTable, vec![index], calls);
                if let (Some(rb), Some(vals)) = (ret_block, rets) {
                    self.seal(rb);
                    self.switch_to(rb);
                    self.terminate(InstKind::Return, vals, vec![]);
                }
                self.after_branch();
            }
            O::Return => {
                let n = self.f.sig.results.len();
                let vals = self.top_n(n);
                self.terminate(InstKind::Return, vals, vec![]);
                self.after_branch();
            }
            O::Call { function_index } => {
                let n = self.env.func_sigs[function_index as usize].params.len();
                let args = self.pop_n(n);
                self.ins(InstKind::Call(FuncId(function_index)), args);
            }
            O::CallIndirect { type_index, table_index } => {
                let index = self.pop();
                let n = self.env.sigs[type_index as usize].params.len();
                let mut args = self.pop_n(n);
                args.push(index);
                self.ins(InstKind::CallIndirect { sig: type_index, table: table_index }, args);
            }
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let c = self.pop();
                let b = self.pop();
                let a = self.pop();
                self.ins(InstKind::Select, vec![a, b, c]);
            }
            O::LocalGet { local_index } => {
                let b = self.cur.unwrap();
                let v = self.read_var(local_index, b);
                self.stack.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.pop();
                let b = self.cur.unwrap();
                self.write_var(local_index, b, v);
            }
            O::LocalTee { local_index } => {
                let v = *self.stack.last().unwrap();
                let b = self.cur.unwrap();
                self.write_var(local_index, b, v);
            }
            O::GlobalGet { global_index } => {
                self.ins(InstKind::GlobalGet(global_index), vec![]);
            }
            O::GlobalSet { global_index } => {
                let v = self.pop();
                self.ins(InstKind::GlobalSet(global_index), vec![v]);
            }
            O::MemorySize { mem } => {
                self.ins(InstKind::MemorySize(mem), vec![]);
            }
            O::MemoryGrow { mem } => {
                let d = self.pop();
                self.ins(InstKind::MemoryGrow(mem), vec![d]);
            }
            O::MemoryFill { mem } => {
                let args = self.pop_n(3);
                self.ins(InstKind::MemoryFill(mem), args);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let args = self.pop_n(3);
                self.ins(InstKind::MemoryCopy { dst: dst_mem, src: src_mem }, args);
            }
            O::MemoryInit { data_index, mem } => {
                let args = self.pop_n(3);
                self.ins(InstKind::MemoryInit { mem, data: data_index }, args);
            }
            O::DataDrop { data_index } => {
                self.ins(InstKind::DataDrop(data_index), vec![]);
            }
            O::TableGet { table } => {
                let i = self.pop();
                self.ins(InstKind::TableGet(table), vec![i]);
            }
            O::TableSet { table } => {
                let args = self.pop_n(2);
                self.ins(InstKind::TableSet(table), args);
            }
            O::TableSize { table } => {
                self.ins(InstKind::TableSize(table), vec![]);
            }
            O::TableGrow { table } => {
                let args = self.pop_n(2);
                self.ins(InstKind::TableGrow(table), args);
            }
            O::TableFill { table } => {
                let args = self.pop_n(3);
                self.ins(InstKind::TableFill(table), args);
            }
            O::TableCopy { dst_table, src_table } => {
                let args = self.pop_n(3);
                self.ins(InstKind::TableCopy { dst: dst_table, src: src_table }, args);
            }
            O::TableInit { elem_index, table } => {
                let args = self.pop_n(3);
                self.ins(InstKind::TableInit { table, elem: elem_index }, args);
            }
            O::ElemDrop { elem_index } => {
                self.ins(InstKind::ElemDrop(elem_index), vec![]);
            }
            O::RefNull { hty } => {
                self.ins(InstKind::Const(Const::Null(heap_type(hty))), vec![]);
            }
            O::RefIsNull => {
                let r = self.pop();
                self.ins(InstKind::RefIsNull, vec![r]);
            }
            O::RefFunc { function_index } => {
                self.ins(InstKind::RefFunc(FuncId(function_index)), vec![]);
            }
            O::I32Const { value } => {
                self.ins(InstKind::Const(Const::I32(value as u32)), vec![]);
            }
            O::I64Const { value } => {
                self.ins(InstKind::Const(Const::I64(value as u64)), vec![]);
            }
            O::F32Const { value } => {
                self.ins(InstKind::Const(Const::F32(value.bits())), vec![]);
            }
            O::F64Const { value } => {
                self.ins(InstKind::Const(Const::F64(value.bits())), vec![]);
            }
            O::V128Const { value } => {
                self.ins(InstKind::Const(Const::V128(value.i128() as u128)), vec![]);
            }
            O::ReturnCall { .. } | O::ReturnCallIndirect { .. } => {
                return Err("tail calls (`return_call`, `return_call_indirect`) are not lowered \
                            by tier 2: the function stays in tier 1"
                    .to_string());
            }
            O::CallRef { .. }
            | O::ReturnCallRef { .. }
            | O::RefAsNonNull
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. } => {
                return Err(format!(
                    "typed function references ({}) are not lowered by tier 2: the function \
                     stays in tier 1",
                    operator_name(&op)
                ));
            }
            O::TryTable { .. } | O::Throw { .. } | O::ThrowRef => {
                return Err("exception handling (`try_table`, `throw`, `throw_ref`) is not \
                            lowered by tier 2: the function stays in tier 1"
                    .to_string());
            }
            other => match simd_op(&other) {
                Some((op, n_in)) => {
                    let args = self.pop_n(n_in);
                    self.ins(InstKind::Simd(Box::new(op)), args);
                }
                None => return Err(format!("unsupported operator {}", operator_name(&other))),
            },
        }
        Ok(())
    }

    fn num(&mut self, op: NumOp) -> R<()> {
        let args = self.pop_n(op.params().len());
        self.ins(InstKind::Num(op), args);
        Ok(())
    }

    /// `br depth` from reachable code.
    fn br(&mut self, depth: u32) {
        let (target, args) = self.branch_args(depth);
        match target {
            Some(t) => self.jump(t, args),
            None => self.terminate(InstKind::Return, args, vec![]),
        }
    }

    /// After an unconditional transfer the rest of the frame is unreachable.
    fn after_branch(&mut self) {
        self.cur = None;
        let h = self.ctrl.last().unwrap().height;
        self.stack.truncate(h);
    }

    fn do_else(&mut self) {
        let (end, results_n, else_b, params, height) = {
            let fr = self.ctrl.last().unwrap();
            (fr.end, fr.results.len(), fr.else_block, fr.params.clone(), fr.height)
        };
        if self.cur.is_some() {
            let args = self.top_n(results_n);
            self.jump(end, args);
        }
        self.stack.truncate(height);
        let fr = self.ctrl.last_mut().unwrap();
        fr.kind = FrameKind::Else;
        fr.else_block = None;
        match else_b {
            Some(else_b) => {
                self.switch_to(else_b);
                self.stack.extend(params);
            }
            // An `if` around the loop an on-stack-replacement copy starts in: its false branch
            // is not reachable from that entry.
            None => self.cur = None,
        }
    }

    fn do_end(&mut self) {
        let fr = self.ctrl.pop().unwrap();
        if self.ctrl.is_empty() {
            // The function's end.
            if self.cur.is_some() {
                let vals = self.top_n(fr.results.len());
                self.terminate(InstKind::Return, vals, vec![]);
            }
            return;
        }
        match fr.kind {
            FrameKind::Loop => {
                // A header the entry's copy also branches to is sealed after the copy.
                if !self.deferred_seals.contains(&fr.label) {
                    self.seal(fr.label);
                }
                // Fall-through results stay on the stack.
            }
            _ => {
                if self.cur.is_some() {
                    let args = self.top_n(fr.results.len());
                    self.jump(fr.end, args);
                }
                if let Some(else_b) = fr.else_block {
                    // `if` without `else`: the false edge passes the params through.
                    self.switch_to(else_b);
                    self.jump(fr.end, fr.params.clone());
                }
                self.seal(fr.end);
                self.stack.truncate(fr.height);
                if self.preds[fr.end.index()].is_empty() {
                    self.cur = None;
                } else {
                    self.switch_to(fr.end);
                    let ps = self.f.blocks[fr.end.index()].params.clone();
                    self.stack.extend(ps);
                }
            }
        }
    }
}

/// An operator's name as wasmparser spells it (`CallRef`), without its immediates.
fn operator_name(op: &Operator<'_>) -> String {
    let name = format!("{op:?}");
    name.split([' ', '{', '(']).next().unwrap_or("?").to_string()
}

fn mem_index(m: &wasmparser::MemArg) -> u32 {
    match m.target {
        wasmparser::MemArgTarget::Memory(i) => i,
        // GC arrays are outside WebAssembly 2.0; the validator refused them.
        wasmparser::MemArgTarget::Array(_) => 0,
    }
}

/// Folds one immediate of a SIMD operator into its [`SimdOp`].
trait SimdImm {
    fn fold(self, op: &mut SimdOp);
}

impl SimdImm for wasmparser::MemArg {
    fn fold(self, op: &mut SimdOp) {
        op.mem = Some((mem_index(&self), self.offset));
    }
}

impl SimdImm for u8 {
    fn fold(self, op: &mut SimdOp) {
        op.imm = self as u128;
    }
}

impl SimdImm for [u8; 16] {
    fn fold(self, op: &mut SimdOp) {
        op.imm = u128::from_le_bytes(self);
    }
}

impl SimdImm for wasmparser::V128 {
    fn fold(self, op: &mut SimdOp) {
        op.imm = self.i128() as u128;
    }
}

/// The result type of a SIMD operator with one result, from its name.
fn simd_result(name: &str) -> Type {
    if name.contains("extract_lane") {
        return match &name[..3] {
            "i64" => Type::I64,
            "f32" => Type::F32,
            "f64" => Type::F64,
            _ => Type::I32,
        };
    }
    if name.ends_with("all_true") || name.ends_with("bitmask") || name.ends_with("any_true") {
        return Type::I32;
    }
    Type::V128
}

/// A SIMD operator (of the WebAssembly 2.0 SIMD set) as an opaque IR operator, with its number of
/// operands; `None` for anything else. Generated from wasmparser's operator table, which gives
/// each operator's arity.
fn simd_op(op: &Operator<'_>) -> Option<(SimdOp, usize)> {
    macro_rules! define {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $(
                    Operator::$op $( { $($arg),* } )? => define!(@one $proposal $visit ($($ann)*) $($($arg)*)?),
                )*
                _ => None,
            }
        };
        (@one simd $visit:ident ($($ann:tt)*) $($arg:ident)*) => {{
            let (n_in, n_out) = define!(@arity $($ann)*);
            let name = stringify!($visit).trim_start_matches("visit_").to_string();
            let result = (n_out == 1).then(|| simd_result(&name));
            #[allow(unused_mut)]
            let mut simd = SimdOp { name, result, mem: None, imm: 0 };
            $( SimdImm::fold(*$arg, &mut simd); )*
            Some((simd, n_in))
        }};
        (@one $other:ident $visit:ident ($($ann:tt)*) $($arg:ident)*) => {{
            $( let _ = $arg; )*
            None
        }};
        (@arity arity memarg $i:literal -> $o:literal) => { ($i, $o) };
        (@arity arity $i:literal -> $o:literal) => { ($i, $o) };
        (@arity $($t:tt)*) => { (0usize, 0usize) };
    }
    wasmparser::for_each_operator!(define)
}
