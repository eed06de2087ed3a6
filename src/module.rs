//! The front end: bytes (binary or text) -> a decoded, validated, immutable [`Module`].
//!
//! Decoding and validation are wasmparser's; this module keeps what instantiation and execution
//! need, including every function body (as ranges of the kept binary), which tiers translate or
//! compile the first time they need them (lazily, through `tier`). It never translates or compiles
//! anything itself. A `Module`'s decoded contents never change after construction and are shared
//! by all its instances; only its tier state (`ModuleInner::tiers`) evolves as code moves up.

use crate::engine::{Engine, SigId};
use crate::error::{Error, Result};
use crate::loop_locals::LoopLocals;
use crate::tier::state::ModuleTiers;
use crate::tier::{CompileState, Tier};
use crate::types::{
    ExternType, FuncType, GlobalType, Limits, MemoryType, RefType, TableType, ValType,
};
use std::collections::HashMap;
use std::sync::Arc;
use wasmparser::{FunctionBody, Parser, Payload, Validator};

/// A function body's validation, to be run once every section is read.
type FuncToValidate = wasmparser::FuncToValidate<wasmparser::ValidatorResources>;

/// A validated module, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("name", &self.inner.names.module).finish_non_exhaustive()
    }
}

/// A constant expression (global initializers, segment offsets and elements): one operator, as
/// WebAssembly 2.0 allows, or a program of several (extended constant expressions).
#[derive(Clone, Debug)]
pub(crate) enum ConstExpr {
    /// A number or `ref.null`, as a raw slot value.
    Value(u128),
    GlobalGet(u32),
    RefFunc(u32),
    /// Operators in order, on a stack that ends with the value.
    Program(Arc<[ConstOp]>),
}

/// One operator of an extended constant expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConstOp {
    /// Pushes a value: a single-operator expression.
    Push(SimpleConst),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// The single-operator constant expressions, as operators of a [`ConstOp`] program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SimpleConst {
    Value(u128),
    GlobalGet(u32),
    RefFunc(u32),
}

impl ConstExpr {
    /// The value, given how to read a global and how to make a function reference.
    pub(crate) fn eval(
        &self,
        global: impl Fn(u32) -> u128,
        func_ref: impl Fn(u32) -> u128,
    ) -> u128 {
        let simple = |c: SimpleConst| match c {
            SimpleConst::Value(v) => v,
            SimpleConst::GlobalGet(g) => global(g),
            SimpleConst::RefFunc(f) => func_ref(f),
        };
        match self {
            ConstExpr::Value(v) => simple(SimpleConst::Value(*v)),
            ConstExpr::GlobalGet(g) => simple(SimpleConst::GlobalGet(*g)),
            ConstExpr::RefFunc(f) => simple(SimpleConst::RefFunc(*f)),
            ConstExpr::Program(ops) => {
                let mut stack: Vec<u128> = Vec::with_capacity(4);
                for op in ops.iter() {
                    if let ConstOp::Push(c) = op {
                        stack.push(simple(*c));
                        continue;
                    }
                    // Validation guarantees two operands of the operator's type.
                    let (b, a) = (stack.pop().unwrap_or(0), stack.pop().unwrap_or(0));
                    let (a32, b32, a64, b64) = (a as u32, b as u32, a as u64, b as u64);
                    stack.push(match op {
                        ConstOp::I32Add => a32.wrapping_add(b32) as u128,
                        ConstOp::I32Sub => a32.wrapping_sub(b32) as u128,
                        ConstOp::I32Mul => a32.wrapping_mul(b32) as u128,
                        ConstOp::I64Add => a64.wrapping_add(b64) as u128,
                        ConstOp::I64Sub => a64.wrapping_sub(b64) as u128,
                        ConstOp::I64Mul => a64.wrapping_mul(b64) as u128,
                        ConstOp::Push(_) => unreachable!("handled above"),
                    });
                }
                stack.pop().unwrap_or(0)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum ImportKind {
    /// Function with this type index.
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    /// Tag with this type index.
    Tag(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExportKind {
    Func,
    Table,
    Memory,
    Global,
    Tag,
}

pub(crate) enum SegmentMode {
    Passive,
    Active { index: u32, offset: ConstExpr },
    Declared,
}

pub(crate) struct ElemSegment {
    pub mode: SegmentMode,
    pub items: Vec<ConstExpr>,
}

pub(crate) struct DataSegment {
    pub mode: SegmentMode,
    pub bytes: Box<[u8]>,
}

#[derive(Default)]
pub(crate) struct Names {
    pub module: Option<String>,
    pub funcs: HashMap<u32, String>,
    /// The stem of the file the module was read from: the module's name in profiler symbols
    /// when the name section gives none.
    pub file: Option<String>,
}

/// Everything known about a module after validation. Index spaces put imports first.
pub(crate) struct ModuleInner {
    pub types: Vec<FuncType>,
    pub sigs: Vec<SigId>,
    pub imports: Vec<Import>,
    /// Type index of every function, imported ones first.
    pub func_types: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    /// Per defined table, the initializer of its elements when it declares one (function
    /// references: `(table 10 (ref $t) (ref.func $f))`); `None` starts them null.
    pub table_inits: Vec<Option<ConstExpr>>,
    pub num_imported_tables: u32,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub num_imported_globals: u32,
    /// Initializers of the defined globals.
    pub global_inits: Vec<ConstExpr>,
    /// Type index of every tag (exception handling), imported ones first.
    pub tags: Vec<u32>,
    pub num_imported_tags: u32,
    pub exports: Vec<(String, ExportKind, u32)>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    /// The module's binary and each defined function's body range in it, so tiers can translate
    /// and compile a function long after decoding.
    pub binary: Box<[u8]>,
    pub bodies: Vec<std::ops::Range<usize>>,
    /// Per defined function, the deepest its operand stack gets, as validation saw it (dead
    /// code included): what a frame's temporaries need at most (`vm::frame`).
    pub max_stack: Vec<u32>,
    /// Per defined function, its `loop` operators (dead ones included), as validation counted.
    pub num_loops: Vec<u32>,
    /// Whether any function body has a tail call (`return_call`, `return_call_indirect`,
    /// `return_call_ref`), as validation saw: without one, no defined function can leave a tail
    /// call pending for its caller, and compiled call sites of defined functions skip the check.
    pub tail_calls: bool,
    /// Which locals each loop of each defined function touches, recorded while validating when
    /// the engine may compile in tier 1 (see `loop_locals`); empty otherwise.
    pub loop_locals: LoopLocals,
    pub names: Names,
    /// The engine the module was built with: tiers compile lazily, long after the build, by its
    /// settings and on its compile threads.
    pub engine: Engine,
    /// `engine.config()`, at hand.
    pub config: crate::Config,
    /// Size of the code section in bytes (for compile-throughput statistics).
    pub code_size: usize,
    /// Every defined function's tier state: counters, entry, code per tier (owned by `tier`).
    pub tiers: ModuleTiers,
}

/// A function a compiling tier refused (it runs in a lower tier), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// In the module's function index space.
    pub func_index: u32,
    /// The tier that refused it.
    pub tier: Tier,
    /// What the tier does not compile.
    pub reason: String,
    /// Whether the function touches SIMD (a `0xFD`-prefixed instruction, or a `v128` value in its
    /// signature, locals, blocks, `select`s, callees or globals), judged by the front end
    /// independently of the tiers: tiers 1 and 2 compile every function that does not.
    pub touches_simd: bool,
    /// For an on-stack-replacement entry compiled on its own: the loop (its ordinal in the
    /// function); `None` for the function itself.
    pub osr_loop: Option<u32>,
}

impl ModuleInner {
    /// The body of defined function `def`, read from the kept binary (offsets are module offsets).
    pub fn function_body(&self, def: u32) -> wasmparser::FunctionBody<'_> {
        let range = self.bodies[def as usize].clone();
        let reader = wasmparser::BinaryReader::new_features(
            &self.binary[range.clone()],
            range.start as u64,
            self.config.features.run().to_wasmparser(),
        );
        wasmparser::FunctionBody::new(reader)
    }

    /// The module offset of defined function `def`'s first operator (after its locals): where
    /// every tier places a frame that traps on entry, before any operator ran.
    pub fn body_entry_offset(&self, def: u32) -> u32 {
        let body = self.function_body(def);
        body.get_operators_reader()
            .map_or(self.bodies[def as usize].start as u32, |ops| ops.original_position() as u32)
    }

    pub fn func_type(&self, func_index: u32) -> &FuncType {
        &self.types[self.func_types[func_index as usize] as usize]
    }

    pub fn func_name(&self, func_index: u32) -> Option<&str> {
        self.names.funcs.get(&func_index).map(String::as_str)
    }

    /// The name to show for a function: from the name section, else its first export name.
    pub fn display_name(&self, func_index: u32) -> Option<&str> {
        self.func_name(func_index).or_else(|| {
            self.exports
                .iter()
                .find(|(_, kind, index)| *kind == ExportKind::Func && *index == func_index)
                .map(|(name, _, _)| name.as_str())
        })
    }
}

/// Whether a function uses SIMD: a `0xFD`-prefixed instruction (the SIMD opcode space; `binary`
/// is the module the body's offsets refer to) or a `v128` value anywhere it can appear.
pub(crate) fn touches_simd(
    m: &ModuleInner,
    func_index: u32,
    body: &wasmparser::FunctionBody<'_>,
    binary: &[u8],
) -> bool {
    use wasmparser::{BlockType, Operator as O};
    let v128 = |t: wasmparser::ValType| t == wasmparser::ValType::V128;
    let in_sig =
        |ty: &FuncType| ty.params().iter().chain(ty.results()).any(|t| *t == ValType::V128);
    if in_sig(m.func_type(func_index)) {
        return true;
    }
    let Ok(mut locals) = body.get_locals_reader() else { return false };
    for _ in 0..locals.get_count() {
        match locals.read() {
            Ok((_, ty)) if v128(ty) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    let Ok(mut ops) = body.get_operators_reader() else { return false };
    while !ops.eof() {
        let Ok((op, offset)) = ops.read_with_offset() else { return false };
        if binary.get(offset as usize) == Some(&0xFD) {
            return true;
        }
        let touches = match op {
            O::Block { blockty } | O::Loop { blockty } | O::If { blockty } => match blockty {
                BlockType::Empty => false,
                BlockType::Type(ty) => v128(ty),
                BlockType::FuncType(t) => in_sig(&m.types[t as usize]),
            },
            O::TypedSelect { ty } => v128(ty),
            O::Call { function_index } => in_sig(m.func_type(function_index)),
            O::CallIndirect { type_index, .. }
            | O::CallRef { type_index }
            | O::ReturnCallRef { type_index } => in_sig(&m.types[type_index as usize]),
            O::GlobalGet { global_index } | O::GlobalSet { global_index } => {
                m.globals[global_index as usize].content == ValType::V128
            }
            _ => false,
        };
        if touches {
            return true;
        }
    }
    false
}

/// What compiling a module has taken so far: the figures behind compile-throughput numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileStats {
    /// Bytes of function bodies in the module (the code section's contents).
    pub code_bytes: u64,
    /// Defined functions.
    pub functions: usize,
    /// Functions with tier-1 code this process compiled so far (up front or at tier-up; not the
    /// code loaded from an artifact or the code cache, counted in `loaded_functions`).
    pub tier1_functions: usize,
    /// Their total tier-1 compile time (CPU time of the compiling threads: the work on one core).
    pub tier1_time: std::time::Duration,
    /// Their machine code in bytes.
    pub tier1_code_bytes: usize,
    /// Functions with tier-2 code so far (on-stack-replacement entries compiled on their own are
    /// not counted).
    pub tier2_functions: usize,
    /// Their total tier-2 compile time (the pass pipeline included).
    pub tier2_time: std::time::Duration,
    /// Their machine code in bytes.
    pub tier2_code_bytes: usize,
    /// Tier-2 on-stack-replacement entries compiled on their own (a loop's entry into a
    /// function already running in a lower tier), counted apart from whole functions and left
    /// out of `tier2_time`, so tier-2 throughput stays per function body.
    pub tier2_osr_entries: usize,
    /// Their machine code in bytes.
    pub tier2_osr_code_bytes: usize,
    /// Their total compile time: an entry compiles the function's code from its loop on, so a
    /// big function's entries can cost as much as the function's own compile, each.
    pub tier2_osr_time: std::time::Duration,
    /// The entry that took longest to compile: function index (imports included), loop ordinal
    /// and compile time.
    pub tier2_osr_slowest: Option<(u32, u32, std::time::Duration)>,
    /// Functions' code (tier 1 or 2, each counted) and on-stack-replacement entries loaded from
    /// an artifact or the code cache rather than compiled.
    pub loaded_functions: usize,
}

impl Module {
    /// The engine the module was built with.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Profiling counters and tier of every defined function, in index order: the module's,
    /// which every instance counts into.
    pub fn func_stats(&self) -> Vec<crate::tier::FuncStats> {
        crate::tier::func_stats(&self.inner)
    }

    /// Code size and tier-1 compile figures, as of now (under `auto`, functions compiled later
    /// join when they tier up).
    pub fn compile_stats(&self) -> CompileStats {
        let m = &self.inner;
        let compiled =
            (0..m.tiers.len() as u32).filter_map(|def| m.tiers.compiled(def, Tier::Baseline));
        let mut stats = CompileStats {
            code_bytes: m.code_size as u64,
            functions: m.tiers.len(),
            ..CompileStats::default()
        };
        for jit in compiled {
            if jit.loaded() {
                stats.loaded_functions += 1;
                continue;
            }
            stats.tier1_functions += 1;
            stats.tier1_time += jit.compile_time();
            stats.tier1_code_bytes += jit.code_size();
        }
        for def in 0..m.tiers.len() as u32 {
            if let Some(code) = m.tiers.compiled(def, Tier::Optimized) {
                if code.loaded() {
                    stats.loaded_functions += 1;
                    continue;
                }
                stats.tier2_functions += 1;
                stats.tier2_time += code.compile_time();
                stats.tier2_code_bytes += code.code_size();
            }
        }
        for (def, ordinal, variant) in m.tiers.osr_variants() {
            match variant {
                Ok(code) if code.loaded() => stats.loaded_functions += 1,
                Ok(code) => {
                    stats.tier2_osr_entries += 1;
                    stats.tier2_osr_code_bytes += code.code_size();
                    let time = code.compile_time();
                    stats.tier2_osr_time += time;
                    if stats.tier2_osr_slowest.is_none_or(|(_, _, slowest)| time > slowest) {
                        let func_index = m.num_imported_funcs + def;
                        stats.tier2_osr_slowest = Some((func_index, ordinal, time));
                    }
                }
                Err(_) => {}
            }
        }
        stats
    }

    /// Decodes and validates a module from `.wasm` bytes or `.wat` text.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        let binary =
            wat::parse_bytes(bytes).map_err(|e| Error::Malformed(e.to_string()))?.into_owned();
        Module::from_binary(engine, &binary)
    }

    /// Reads and compiles a `.wasm` or `.wat` file. A `.wasm` file is always decoded as binary (so
    /// a wrong magic number is reported as such); text errors name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if path.extension().is_some_and(|e| e == "wasm") || bytes.starts_with(b"\0asm") {
            return Module::build(engine, &bytes, stem);
        }
        let binary = wat::parse_bytes(&bytes).map_err(|mut e| {
            e.set_path(path);
            Error::Malformed(e.to_string())
        })?;
        Module::build(engine, &binary, stem)
    }

    /// The functions tier 1 refused to compile so far (up front with [`Tier::Baseline`], or when
    /// they got hot), and why; they run in the interpreter.
    pub fn tier1_refusals(&self) -> Vec<Refusal> {
        self.refusals().into_iter().filter(|r| r.tier == Tier::Baseline).collect()
    }

    /// Every refusal of a compiling tier so far, tier 1's first.
    pub fn refusals(&self) -> Vec<Refusal> {
        let m = &self.inner;
        let mut out = Vec::new();
        for tier in [Tier::Baseline, Tier::Optimized] {
            for def in 0..m.tiers.len() as u32 {
                if let CompileState::Refused(reason) = m.tiers.timeline(def, tier).state {
                    let func_index = m.num_imported_funcs + def;
                    let body = m.function_body(def);
                    let touches_simd = touches_simd(m, func_index, &body, &m.binary);
                    out.push(Refusal { func_index, tier, reason, touches_simd, osr_loop: None });
                }
            }
        }
        for (def, ordinal, reason) in m.tiers.osr_refusals() {
            let func_index = m.num_imported_funcs + def;
            let body = m.function_body(def);
            let touches_simd = touches_simd(m, func_index, &body, &m.binary);
            let (tier, osr_loop) = (Tier::Optimized, Some(ordinal));
            out.push(Refusal { func_index, tier, reason, touches_simd, osr_loop });
        }
        out
    }

    /// Decodes and validates a binary module.
    pub fn from_binary(engine: &Engine, binary: &[u8]) -> Result<Module> {
        Module::build(engine, binary, None)
    }

    /// `from_binary`, naming the file the module came from (for profiler symbols).
    fn build(engine: &Engine, binary: &[u8], file: Option<String>) -> Result<Module> {
        Module::build_precompiled(engine, binary, file, Vec::new())
    }

    /// [`Module::build`] with code loaded from an artifact (its records checked against the
    /// decoded module first), which tiering installs instead of compiling.
    pub(crate) fn build_precompiled(
        engine: &Engine,
        binary: &[u8],
        file: Option<String>,
        precompiled: Vec<(crate::artifact::Slot, crate::artifact::Stored)>,
    ) -> Result<Module> {
        let mut builder = Builder::new(engine);
        builder.m.names.file = file;
        let inner = builder.build(binary).map_err(|e| not_yet_run(engine, binary, e))?;
        if !precompiled.is_empty() {
            inner.tiers.set_precompiled(crate::artifact::prepare_for(&inner, precompiled)?);
        }
        let module = Module { inner: Arc::new(inner) };
        crate::tier::prepare(&module)?;
        Ok(module)
    }

    /// Checks that bytes are a valid module without keeping anything.
    pub fn validate(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<()> {
        Module::new(engine, bytes).map(drop)
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.names.module.as_deref()
    }

    /// `(module, name, type)` of every import, in order.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternType)> + '_ {
        self.inner.imports.iter().map(|i| {
            let ty = match i.kind {
                ImportKind::Func(t) => ExternType::Func(self.inner.types[t as usize].clone()),
                ImportKind::Table(t) => ExternType::Table(t),
                ImportKind::Memory(m) => ExternType::Memory(m),
                ImportKind::Global(g) => ExternType::Global(g),
                ImportKind::Tag(t) => ExternType::Tag(self.inner.types[t as usize].clone()),
            };
            (i.module.as_str(), i.name.as_str(), ty)
        })
    }

    /// `(name, type)` of every export, in order.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternType)> + '_ {
        self.inner.exports.iter().map(|(name, kind, index)| {
            let i = *index as usize;
            let ty = match kind {
                ExportKind::Func => ExternType::Func(self.inner.func_type(*index).clone()),
                ExportKind::Table => ExternType::Table(self.inner.tables[i]),
                ExportKind::Memory => ExternType::Memory(self.inner.memories[i]),
                ExportKind::Global => ExternType::Global(self.inner.globals[i]),
                ExportKind::Tag => {
                    ExternType::Tag(self.inner.types[self.inner.tags[i] as usize].clone())
                }
            };
            (name.as_str(), ty)
        })
    }

    /// Number of functions (imported and defined).
    pub fn num_funcs(&self) -> u32 {
        self.inner.func_types.len() as u32
    }

    /// The name of a function from the name section.
    pub fn func_name(&self, func_index: u32) -> Option<&str> {
        self.inner.func_name(func_index)
    }
}

/// Walks the payloads once, validating each and collecting what the runtime needs.
struct Builder<'e> {
    engine: &'e Engine,
    m: ModuleInner,
}

impl<'e> Builder<'e> {
    fn new(engine: &'e Engine) -> Self {
        Builder {
            engine,
            m: ModuleInner {
                types: Vec::new(),
                sigs: Vec::new(),
                imports: Vec::new(),
                func_types: Vec::new(),
                num_imported_funcs: 0,
                tables: Vec::new(),
                table_inits: Vec::new(),
                num_imported_tables: 0,
                memories: Vec::new(),
                num_imported_memories: 0,
                globals: Vec::new(),
                num_imported_globals: 0,
                global_inits: Vec::new(),
                tags: Vec::new(),
                num_imported_tags: 0,
                exports: Vec::new(),
                start: None,
                elems: Vec::new(),
                datas: Vec::new(),
                binary: Box::default(),
                bodies: Vec::new(),
                max_stack: Vec::new(),
                num_loops: Vec::new(),
                tail_calls: false,
                loop_locals: Default::default(),
                names: Names::default(),
                engine: engine.clone(),
                config: engine.config().clone(),
                code_size: 0,
                tiers: crate::tier::new_module_tiers(engine.config(), 0),
            },
        }
    }

    fn build(mut self, binary: &[u8]) -> Result<ModuleInner> {
        let features = self.m.config.features.run();
        let mut validator = Validator::new_with_features(features.to_wasmparser());
        let wp = Error::from_wasmparser;
        // Function bodies are validated once every section is read, on several threads.
        let mut funcs = Vec::new();
        for payload in Parser::new(0).parse_all(binary) {
            let payload = payload.map_err(wp)?;
            if let wasmparser::ValidPayload::Func(func, body) =
                validator.payload(&payload).map_err(wp)?
            {
                let range = body.range();
                self.m.code_size += (range.end - range.start) as usize;
                self.m.bodies.push(range.start as usize..range.end as usize);
                funcs.push((func, body));
                continue;
            }
            if let Payload::MemorySection(reader) = &payload
                && !features.memory64
            {
                let range = reader.range();
                let (start, end) = (range.start as usize, range.end as usize);
                check_limits_encoding(&binary[start..end], range.start)?;
            }
            self.section(payload)?;
        }
        self.validate_bodies(funcs)?;
        self.m.binary = binary.into();
        self.m.tiers = crate::tier::new_module_tiers(self.engine.config(), self.m.bodies.len());
        Ok(self.m)
    }

    /// Validates every function body, in runs of neighbours on several threads (`parallel`),
    /// keeping what validation learns of each; with tier 1 possible, also its loops' locals.
    /// A module with invalid bodies reports the first of them.
    fn validate_bodies(&mut self, funcs: Vec<(FuncToValidate, FunctionBody<'_>)>) -> Result<()> {
        let record_loops = self.m.config.tier != crate::Tiering::Pinned(Tier::Interp);
        // Multiple memories turn `memory.size`'s reserved byte into a memory index.
        let zero_byte = !self.m.config.features.run().multi_memory;
        let features = self.m.config.features;
        let threads = crate::parallel::threads(&self.m.config);
        let weight = |(_, body): &(FuncToValidate, FunctionBody<'_>)| {
            let range = body.range();
            (range.end - range.start) as usize
        };
        let runs = crate::parallel::in_runs(funcs, threads, weight, |run| {
            let mut allocs = wasmparser::FuncValidatorAllocations::default();
            let mut loops = LoopLocals::default();
            let mut facts = Vec::with_capacity(run.len());
            for (func, body) in run {
                let recording = record_loops.then_some(&mut loops);
                let (body_facts, next) = validate_body(
                    func.into_validator(allocs),
                    &body,
                    recording,
                    zero_byte,
                    features,
                )?;
                allocs = next;
                facts.push(body_facts);
            }
            Ok::<_, Error>((facts, loops))
        });
        for run in runs {
            let (facts, loops) = run?;
            self.m.max_stack.extend(facts.iter().map(|f| f.max_stack));
            self.m.num_loops.extend(facts.iter().map(|f| f.num_loops));
            self.m.tail_calls |= facts.iter().any(|f| f.tail_calls);
            self.m.loop_locals.append(loops);
        }
        self.m.loop_locals.shrink();
        Ok(())
    }

    fn section(&mut self, payload: Payload<'_>) -> Result<()> {
        match payload {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = FuncType::from_wasmparser(&ty?, &self.m.sigs);
                    self.m.sigs.push(self.engine.intern(&ty));
                    self.m.types.push(ty);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    self.import(import?);
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    self.m.func_types.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    self.m.tables.push(table_type(table.ty, &self.m.sigs));
                    self.m.table_inits.push(match &table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(expr) => Some(const_expr(expr)?),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    self.m.memories.push(memory_type(memory?));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    self.m.globals.push(global_type(global.ty, &self.m.sigs));
                    self.m.global_inits.push(const_expr(&global.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = match export.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            ExportKind::Func
                        }
                        wasmparser::ExternalKind::Table => ExportKind::Table,
                        wasmparser::ExternalKind::Memory => ExportKind::Memory,
                        wasmparser::ExternalKind::Global => ExportKind::Global,
                        wasmparser::ExternalKind::Tag => ExportKind::Tag,
                    };
                    self.m.exports.push((export.name.to_string(), kind, export.index));
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    self.m.tags.push(tag?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => self.m.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    self.m.elems.push(elem_segment(elem?)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => {
                            SegmentMode::Active {
                                index: memory_index,
                                offset: const_expr(&offset_expr)?,
                            }
                        }
                    };
                    self.m.datas.push(DataSegment { mode, bytes: data.data.into() });
                }
            }
            Payload::CustomSection(reader) => {
                if let wasmparser::KnownCustom::Name(names) = reader.as_known() {
                    // A broken name section is not an error (custom sections never are).
                    let _ = self.names(names);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn import(&mut self, import: wasmparser::Import<'_>) {
        let kind = match import.ty {
            wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                self.m.func_types.push(t);
                self.m.num_imported_funcs += 1;
                ImportKind::Func(t)
            }
            wasmparser::TypeRef::Table(t) => {
                let t = table_type(t, &self.m.sigs);
                self.m.tables.push(t);
                self.m.num_imported_tables += 1;
                ImportKind::Table(t)
            }
            wasmparser::TypeRef::Memory(m) => {
                let m = memory_type(m);
                self.m.memories.push(m);
                self.m.num_imported_memories += 1;
                ImportKind::Memory(m)
            }
            wasmparser::TypeRef::Global(g) => {
                let g = global_type(g, &self.m.sigs);
                self.m.globals.push(g);
                self.m.num_imported_globals += 1;
                ImportKind::Global(g)
            }
            wasmparser::TypeRef::Tag(t) => {
                self.m.tags.push(t.func_type_idx);
                self.m.num_imported_tags += 1;
                ImportKind::Tag(t.func_type_idx)
            }
        };
        self.m.imports.push(Import {
            module: import.module.to_string(),
            name: import.name.to_string(),
            kind,
        });
    }

    fn names(&mut self, reader: wasmparser::NameSectionReader<'_>) -> wasmparser::Result<()> {
        for name in reader {
            match name? {
                wasmparser::Name::Module { name, .. } => self.m.names.module = Some(name.into()),
                wasmparser::Name::Function(map) => {
                    for naming in map {
                        let naming = naming?;
                        self.m.names.funcs.insert(naming.index, naming.name.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A module the tiers' feature set rejects (`error`) may be valid under the switches the engine
/// has on but no tier runs yet (`WasmFeatures::not_yet_run`): then it is refused as unsupported,
/// naming the feature, rather than reported invalid. Runs only on the error path.
fn not_yet_run(engine: &Engine, binary: &[u8], error: Error) -> Error {
    let features = engine.config().features;
    let pending = features.not_yet_run();
    if pending.is_empty() || !matches!(error, Error::Invalid(_) | Error::Malformed(_)) {
        return error;
    }
    let valid_with = |f: crate::WasmFeatures| {
        Validator::new_with_features(f.to_wasmparser()).validate_all(binary).is_ok()
    };
    if !valid_with(features) {
        return error;
    }
    let run = features.run();
    let needed: Vec<String> = pending
        .iter()
        .filter(|(name, _)| valid_with(run.with(name)))
        .map(|(name, title)| format!("{title} (`-W {name}`)"))
        .collect();
    let what = if needed.is_empty() {
        let all: Vec<String> =
            pending.iter().map(|(name, title)| format!("{title} (`-W {name}`)")).collect();
        format!("a combination of {}", all.join(", "))
    } else {
        needed.join(", ")
    };
    Error::Unsupported(format!(
        "the module uses {what}, WebAssembly 3.0 that tierup does not run yet ({error})"
    ))
}

/// What validating a body learned of it beyond its validity.
struct BodyFacts {
    /// The deepest its operand stack gets.
    max_stack: u32,
    /// Its `loop` operators.
    num_loops: u32,
    /// Whether it has a tail call.
    tail_calls: bool,
}

/// Validates one function body completely, recording its loops' locals into `loops` when given;
/// returns what it learned and the validator's allocations for the next. `zero_byte`: check
/// 2.0's reserved byte of `memory.size` and `memory.grow`; `features`: the engine's switches.
fn validate_body(
    mut validator: wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    body: &wasmparser::FunctionBody<'_>,
    mut loops: Option<&mut LoopLocals>,
    zero_byte: bool,
    features: crate::WasmFeatures,
) -> Result<(BodyFacts, wasmparser::FuncValidatorAllocations)> {
    let mut facts = BodyFacts { max_stack: 0, num_loops: 0, tail_calls: false };
    let wp = Error::from_wasmparser;
    let mut locals = body.get_locals_reader().map_err(wp)?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, ty) = locals.read().map_err(wp)?;
        validator.define_locals(offset, count, ty).map_err(wp)?;
    }
    if let Some(loops) = loops.as_deref_mut() {
        loops.begin_body();
    }
    let mut ops = body.get_operators_reader().map_err(wp)?;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset().map_err(wp)?;
        validator.op(offset, &op).map_err(wp)?;
        facts.max_stack = facts.max_stack.max(validator.operand_stack_height());
        facts.num_loops += matches!(op, wasmparser::Operator::Loop { .. }) as u32;
        facts.tail_calls |= matches!(
            op,
            wasmparser::Operator::ReturnCall { .. }
                | wasmparser::Operator::ReturnCallIndirect { .. }
                | wasmparser::Operator::ReturnCallRef { .. }
        );
        if let Some(loops) = loops.as_deref_mut() {
            loops.record(&op);
        }
        if zero_byte {
            check_reserved_byte(&op, offset, ops.original_position())?;
        }
        if let wasmparser::Operator::ReturnCallRef { .. } = op {
            check_tail_call_gate(features, offset)?;
        }
    }
    ops.finish().map_err(wp)?;
    if let Some(loops) = loops {
        loops.end_body();
    }
    Ok((facts, validator.into_allocations()))
}

/// `return_call_ref` is a tail call, but wasmparser admits it with function references alone:
/// without tail calls switched on it is invalid, and if no tier ran tail calls it would be
/// refused as unsupported, as every other tail call would be (`not_yet_run`).
fn check_tail_call_gate(features: crate::WasmFeatures, offset: u64) -> Result<()> {
    if features.run().tail_call {
        Ok(())
    } else if features.tail_call {
        Err(Error::Unsupported(format!(
            "the module uses tail calls (`-W tail-call`), WebAssembly 3.0 that tierup does not \
             run yet (return_call_ref at offset {offset:#x})"
        )))
    } else {
        Err(Error::Invalid(format!("tail calls support is not enabled (at offset {offset:#x})")))
    }
}

/// WebAssembly 2.0 encodes the memory index of `memory.size`/`memory.grow` as one reserved zero
/// byte; wasmparser, which follows newer specs, also accepts a multi-byte LEB128 zero there.
fn check_reserved_byte(op: &wasmparser::Operator<'_>, offset: u64, end: u64) -> Result<()> {
    use wasmparser::Operator;
    let is_memory_op = matches!(op, Operator::MemorySize { .. } | Operator::MemoryGrow { .. });
    if is_memory_op && end - offset != 2 {
        return Err(Error::Malformed(format!("zero byte expected (at offset {:#x})", offset + 1)));
    }
    Ok(())
}

/// WebAssembly 2.0 encodes memory limits as `u32` LEB128 (at most 5 bytes); wasmparser, which
/// follows memory64, reads them as `u64` and so accepts longer encodings. `section` is the memory
/// section's contents starting at module offset `offset`.
fn check_limits_encoding(section: &[u8], offset: u64) -> Result<()> {
    let mut reader = wasmparser::BinaryReader::new(section, offset);
    for _ in 0..reader.read_var_u32()? {
        let flags = reader.read_u8()?;
        if flags & !1 != 0 {
            // Shared or 64-bit memories: the validator rejects them with a better message.
            return Ok(());
        }
        reader.read_var_u32()?;
        if flags & 1 != 0 {
            reader.read_var_u32()?;
        }
    }
    Ok(())
}

/// A `br_table`'s branch depths, the default last: the form every tier's translator walks.
pub(crate) fn br_table_depths(targets: &wasmparser::BrTable<'_>) -> Result<Vec<u32>> {
    let mut depths = Vec::with_capacity(targets.len() as usize + 1);
    for depth in targets.targets() {
        depths.push(depth?);
    }
    depths.push(targets.default());
    Ok(depths)
}

fn table_type(t: wasmparser::TableType, sigs: &[SigId]) -> TableType {
    TableType {
        element: ValType::Ref(RefType::from_wasmparser(t.element_type, sigs)),
        limits: Limits { min: t.initial, max: t.maximum },
        table64: t.table64,
    }
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    MemoryType { limits: Limits { min: m.initial, max: m.maximum }, memory64: m.memory64 }
}

fn global_type(g: wasmparser::GlobalType, sigs: &[SigId]) -> GlobalType {
    GlobalType { content: ValType::from_wasmparser(g.content_type, sigs), mutable: g.mutable }
}

fn elem_segment(elem: wasmparser::Element<'_>) -> Result<ElemSegment> {
    let mode = match elem.kind {
        wasmparser::ElementKind::Passive => SegmentMode::Passive,
        wasmparser::ElementKind::Declared => SegmentMode::Declared,
        wasmparser::ElementKind::Active { table_index, offset_expr } => SegmentMode::Active {
            index: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let items = match elem.items {
        wasmparser::ElementItems::Functions(funcs) => {
            funcs.into_iter().map(|f| Ok(ConstExpr::RefFunc(f?))).collect::<Result<_>>()?
        }
        wasmparser::ElementItems::Expressions(_, exprs) => {
            exprs.into_iter().map(|e| const_expr(&e?)).collect::<Result<_>>()?
        }
    };
    Ok(ElemSegment { mode, items })
}

/// Reads a validated constant expression: one value-producing operator (WebAssembly 2.0), or
/// several with `i32`/`i64` `add`, `sub` and `mul` (extended constant expressions).
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    use wasmparser::Operator as O;
    let mut reader = expr.get_operators_reader();
    let mut ops = Vec::new();
    loop {
        let op = match reader.read()? {
            O::End => break,
            O::I32Const { value } => ConstOp::Push(SimpleConst::Value(value as u32 as u128)),
            O::I64Const { value } => ConstOp::Push(SimpleConst::Value(value as u64 as u128)),
            O::F32Const { value } => ConstOp::Push(SimpleConst::Value(value.bits() as u128)),
            O::F64Const { value } => ConstOp::Push(SimpleConst::Value(value.bits() as u128)),
            O::V128Const { value } => ConstOp::Push(SimpleConst::Value(value.i128() as u128)),
            O::RefNull { .. } => ConstOp::Push(SimpleConst::Value(0)),
            O::RefFunc { function_index } => ConstOp::Push(SimpleConst::RefFunc(function_index)),
            O::GlobalGet { global_index } => ConstOp::Push(SimpleConst::GlobalGet(global_index)),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            _ => {
                return Err(Error::Unsupported(format!(
                    "constant expression at offset {:#x}",
                    reader.original_position()
                )));
            }
        };
        ops.push(op);
    }
    Ok(match ops.as_slice() {
        [ConstOp::Push(SimpleConst::Value(v))] => ConstExpr::Value(*v),
        [ConstOp::Push(SimpleConst::GlobalGet(g))] => ConstExpr::GlobalGet(*g),
        [ConstOp::Push(SimpleConst::RefFunc(f))] => ConstExpr::RefFunc(*f),
        _ => ConstExpr::Program(ops.into()),
    })
}
