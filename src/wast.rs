//! The `.wast` script runner shared by `tierup wast` and the spec testsuite tests.
//!
//! Runs every directive the official testsuite uses against one [`Store`] per script, with the
//! `spectest` host module registered. It never panics on bad input: a script that does not parse
//! counts as one failure. Every directive counts once, as passed or failed.

use crate::engine::{Config, Engine};
use crate::module::Module;
use crate::types::{ExternType, FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
use crate::val::{ExternRef, Val};
use crate::vm::{Extern, Instance, Linker, Store, TrapCode};
use std::collections::HashMap;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// The outcome of running one script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WastReport {
    /// Directives (modules, registrations, invocations, assertions) that held.
    pub passed: usize,
    /// Directives that did not hold.
    pub failed: usize,
    /// One line per failure: `name:line:col: what went wrong`.
    pub failures: Vec<String>,
    /// Every function (or on-stack-replacement entry) a compiling tier refused, across the
    /// script's modules, up front or while tiering up, as `name: module N, function F, tier T:
    /// reason`, with whether it touches SIMD.
    pub refusals: Vec<(String, bool)>,
}

/// Runs the `.wast` script `source` (named `name` in messages) under `config`.
pub fn run_wast(config: &Config, name: &str, source: &str) -> WastReport {
    run_wast_in(config, name, source, ModuleSource::Compiled)
}

/// How the runner gets each module of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleSource {
    /// Compiled as any embedder compiles one.
    Compiled,
    /// Compiled in another engine (whose signature ids differ), written to an artifact in memory
    /// ([`Module::serialize`]) and loaded back ([`Module::deserialize`]): the script runs the
    /// loaded code, and a loaded module that compiles anything is a failure.
    ThroughArtifact,
    /// Compiled as any embedder compiles one, then every defined function given a breakpoint at
    /// its first instruction, in a store whose debugger steps through the instructions after
    /// each and reads each stop's view: the script runs in the interpreter's debug translations
    /// ([`crate::debug`]) until the debugger has stopped often enough, then clears each
    /// breakpoint it reaches.
    Debugged,
}

/// [`run_wast`], getting the script's modules from `source`.
pub fn run_wast_in(config: &Config, name: &str, source: &str, modules: ModuleSource) -> WastReport {
    let mut report = WastReport::default();
    let mut lexer = Lexer::new(source);
    // The spec's `names.wast` uses bidirectional-override characters on purpose.
    lexer.allow_confusing_unicode(true);
    let parsed = ParseBuffer::new_with_lexer(lexer);
    let wast = match &parsed {
        Ok(buf) => parser::parse::<Wast<'_>>(buf).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let wast = match wast {
        Ok(wast) => wast,
        Err(e) => {
            report.failed += 1;
            report.failures.push(format!("{name}: cannot parse script: {e}"));
            return report;
        }
    };
    let mut runner = Runner::new(config);
    if modules == ModuleSource::ThroughArtifact {
        let engine = Engine::new(config.clone());
        // Types interned first shift this engine's signature ids away from the runner's.
        let shift = "(module (func (param i64 f32 f64)) (func (result f32 i64 i32) unreachable))";
        Module::new(&engine, shift).expect("a valid module");
        runner.artifact_engine = Some(engine);
    }
    if modules == ModuleSource::Debugged {
        runner.debugged = true;
        runner.store.set_debugger(Box::<StepEverywhere>::default());
    }
    for directive in wast.directives {
        let (line, col) = directive.span().linecol_in(source);
        match runner.run(directive) {
            Ok(()) => report.passed += 1,
            Err(msg) => {
                report.failed += 1;
                report.failures.push(format!("{name}:{}:{}: {msg}", line + 1, col + 1));
            }
        }
    }
    report.refusals = runner.refusals(name);
    report
}

type Outcome = Result<Vec<Val>, crate::Error>;

struct Runner {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    named: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    last: Option<Instance>,
    /// Every module compiled, kept to the end of the script so refusals made while tiering up
    /// count too (see `WastReport::refusals`).
    modules: std::cell::RefCell<Vec<Module>>,
    /// With [`ModuleSource::ThroughArtifact`], the engine modules are compiled in.
    artifact_engine: Option<Engine>,
    /// With [`ModuleSource::Debugged`]: every function gets a breakpoint.
    debugged: bool,
}

/// [`ModuleSource::Debugged`]'s debugger: reads everything a stop shows, then steps, up to
/// [`STEPS_PER_BREAKPOINT`] instructions after each breakpoint. After [`STOPS_PER_SCRIPT`] stops
/// it clears each breakpoint it reaches, so the rest of a long-running script runs its ordinary
/// translations (stopping everywhere in every call makes the suite twenty times slower).
#[derive(Default)]
struct StepEverywhere {
    steps: u32,
    stops: u32,
}

/// See [`StepEverywhere`].
const STEPS_PER_BREAKPOINT: u32 = 64;
/// See [`StepEverywhere`].
const STOPS_PER_SCRIPT: u32 = 20_000;

impl crate::debug::Debugger for StepEverywhere {
    fn on_stop(&mut self, view: &crate::debug::DebugView<'_>) -> crate::debug::Resume {
        let seen = view.locals().len() + view.stack().len() + view.globals().len();
        let frames = view.backtrace();
        assert_eq!(frames.last().map(|f| f.func_index), Some(view.func_index()));
        std::hint::black_box((seen, view.memory(0, 0, 16)));
        self.stops += 1;
        self.steps = match view.reason() {
            crate::debug::StopReason::Breakpoint if self.stops > STOPS_PER_SCRIPT => {
                let cleared = view.module().clear_breakpoint(view.func_index(), None);
                cleared.expect("the breakpoint was set");
                return crate::debug::Resume::Continue;
            }
            crate::debug::StopReason::Breakpoint => 0,
            crate::debug::StopReason::Step => self.steps + 1,
        };
        if self.steps < STEPS_PER_BREAKPOINT {
            crate::debug::Resume::Step
        } else {
            crate::debug::Resume::Continue
        }
    }
}

impl Runner {
    fn new(config: &Config) -> Runner {
        let engine = Engine::new(config.clone());
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new();
        define_spectest(&mut store, &mut linker);
        Runner {
            engine,
            store,
            linker,
            named: HashMap::new(),
            definitions: HashMap::new(),
            last: None,
            modules: Default::default(),
            artifact_engine: None,
            debugged: false,
        }
    }

    /// What the compiling tiers refused in the script's modules (see `WastReport::refusals`).
    fn refusals(&self, script: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for (n, module) in self.modules.borrow().iter().enumerate() {
            for r in module.refusals() {
                let entry = match r.osr_loop {
                    Some(l) => format!(" (on-stack-replacement entry of loop {l})"),
                    None => String::new(),
                };
                let what = format!(
                    "{script}: module {n}, function {}{entry}, tier {}: {}",
                    r.func_index, r.tier, r.reason
                );
                out.push((what, r.touches_simd));
            }
        }
        out
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Result<(), String> {
        match directive {
            WastDirective::Module(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let module = self.compile(&mut wat).map_err(|e| e.to_string())?;
                let instance = self.instantiate(&module).map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.named.insert(name, instance);
                }
                self.last = Some(instance);
                Ok(())
            }
            WastDirective::ModuleDefinition(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let module = self.compile(&mut wat).map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.definitions.insert(name, module);
                }
                Ok(())
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let def = module.map(|m| m.name()).unwrap_or_default();
                let module =
                    self.definitions.get(def).cloned().ok_or("unknown module definition")?;
                let inst = self.instantiate(&module).map_err(|e| e.to_string())?;
                if let Some(name) = instance {
                    self.named.insert(name.name().to_string(), inst);
                }
                self.last = Some(inst);
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module.map(|m| m.name()))?;
                self.linker.instance(&self.store, name, instance);
                Ok(())
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke).map(drop).map_err(|e| e.to_string())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let got =
                    self.execute(exec)?.map_err(|e| format!("expected a return, got: {e}"))?;
                check_results(&results, &got)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                expect_trap(self.execute(exec)?, message)
            }
            WastDirective::AssertException { exec, .. } => expect_exception(self.execute(exec)?),
            WastDirective::AssertExhaustion { call, message, .. } => {
                expect_trap(self.invoke(&call), message)
            }
            WastDirective::AssertMalformed { module, .. }
            | WastDirective::AssertInvalid { module, .. } => self.expect_compile_error(module),
            WastDirective::AssertUnlinkable { module, message, .. } => {
                let module = self.compile(&mut QuoteWat::Wat(module)).map_err(|e| e.to_string())?;
                match self.instantiate(&module) {
                    Ok(_) => Err(format!("expected a link error ({message}), instantiated")),
                    Err(crate::Error::Trap(t)) => {
                        Err(format!("expected a link error, trapped: {t}"))
                    }
                    Err(_) => Ok(()),
                }
            }
            other => Err(format!("unsupported directive {other:?}")),
        }
    }

    fn compile(&self, wat: &mut QuoteWat<'_>) -> crate::Result<Module> {
        let bytes = wat.encode().map_err(|e| crate::Error::Malformed(e.to_string()))?;
        let module = match &self.artifact_engine {
            None => Module::from_binary(&self.engine, &bytes)?,
            Some(engine) => {
                let artifact = Module::from_binary(engine, &bytes)?.serialize();
                // SAFETY: the artifact was written by this process a moment ago.
                let module = unsafe { Module::deserialize(&self.engine, &artifact) }?;
                let stats = module.compile_stats();
                if stats.tier1_functions + stats.tier2_functions > 0 {
                    return Err(crate::Error::Internal(format!(
                        "a module loaded from an artifact compiled code: {stats:?}"
                    )));
                }
                module
            }
        };
        if self.debugged {
            let imported = module.imports().filter(|(_, _, t)| matches!(t, ExternType::Func(_)));
            for func in imported.count() as u32..module.num_funcs() {
                module.set_breakpoint(func, None)?;
            }
        }
        self.modules.borrow_mut().push(module.clone());
        Ok(module)
    }

    fn instantiate(&mut self, module: &Module) -> crate::Result<Instance> {
        self.linker.instantiate(&mut self.store, module)
    }

    fn instance(&self, name: Option<&str>) -> Result<Instance, String> {
        match name {
            Some(name) => self.named.get(name).copied().ok_or(format!("unknown module `{name}`")),
            None => self.last.ok_or_else(|| "no module instantiated yet".to_string()),
        }
    }

    /// Runs an action. The outer error means the script itself is wrong (unknown export, ...).
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Outcome, String> {
        match exec {
            WastExecute::Invoke(invoke) => Ok(self.invoke(&invoke)),
            WastExecute::Wat(wat) => {
                let module = match self.compile(&mut QuoteWat::Wat(wat)) {
                    Ok(m) => m,
                    Err(e) => return Err(format!("module does not compile: {e}")),
                };
                Ok(self.instantiate(&module).map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module.map(|m| m.name()))?;
                match instance.get_export(&self.store, global) {
                    Some(Extern::Global(g)) => Ok(Ok(vec![g.get(&self.store)])),
                    _ => Err(format!("no global export `{global}`")),
                }
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Outcome {
        let instance =
            self.instance(invoke.module.map(|m| m.name())).map_err(crate::Error::Usage)?;
        let func = instance
            .get_func(&self.store, invoke.name)
            .ok_or_else(|| crate::Error::Usage(format!("no function export `{}`", invoke.name)))?;
        let args = invoke.args.iter().map(arg_val).collect::<Result<Vec<_>, _>>()?;
        let n = func.ty(&self.store).results().len();
        let mut results = vec![Val::I32(0); n];
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results)
    }

    fn expect_compile_error(&self, mut module: QuoteWat<'_>) -> Result<(), String> {
        match self.compile(&mut module) {
            Ok(_) => Err("expected the module to be rejected, it compiled".into()),
            Err(_) => Ok(()),
        }
    }
}

fn expect_trap(outcome: Outcome, message: &str) -> Result<(), String> {
    match outcome {
        Ok(vals) => Err(format!("expected trap `{message}`, got {vals:?}")),
        Err(crate::Error::Trap(trap)) => {
            let text = trap.to_string();
            // The reference interpreter adds details (`uninitialized element 2`) after the
            // message wasmtime and tierup print.
            let same_kind = message.starts_with(trap.code.message());
            let exhausted = message.contains("exhausted") && trap.code == TrapCode::StackOverflow;
            // It also names the kind of a null reference (`null function reference`), which
            // wasmtime and tierup leave out.
            let null_reference = trap.code == TrapCode::NullReference
                && message.starts_with("null ")
                && message.ends_with(" reference");
            if text.contains(message) || same_kind || exhausted || null_reference {
                Ok(())
            } else {
                Err(format!("expected trap `{message}`, got `{text}`"))
            }
        }
        Err(e) => Err(format!("expected trap `{message}`, got error `{e}`")),
    }
}

/// An uncaught wasm exception: the trap the host sees for one (`TrapCode::Exception`).
fn expect_exception(outcome: Outcome) -> Result<(), String> {
    match outcome {
        Ok(vals) => Err(format!("expected an exception, got {vals:?}")),
        Err(crate::Error::Trap(trap)) if matches!(trap.code, TrapCode::Exception(_)) => Ok(()),
        Err(e) => Err(format!("expected an exception, got error `{e}`")),
    }
}

fn arg_val(arg: &WastArg<'_>) -> crate::Result<Val> {
    let WastArg::Core(core) = arg else {
        return Err(crate::Error::Unsupported("component-model argument".into()));
    };
    Ok(match core {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(ty) => match null_of(ty) {
            Some(ValType::FUNCREF) => Val::FuncRef(None),
            Some(ValType::EXNREF) => Val::ExnRef(None),
            Some(_) => Val::ExternRef(None),
            None => return Err(crate::Error::Unsupported(format!("ref.null {ty:?}"))),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef(*n))),
        WastArgCore::RefHost(_) => return Err(crate::Error::Unsupported("ref.host".into())),
    })
}

/// Which null a `ref.null` of heap type `ty` is: that of its type hierarchy's top type
/// (`funcref` for `func`, a concrete (function) type and `nofunc`; `externref` for `extern`
/// and `noextern`), or `None` for the hierarchies only GC or exception handling have.
fn null_of(ty: &HeapType<'_>) -> Option<ValType> {
    use AbstractHeapType::{Exn, Extern, Func, NoExn, NoExtern, NoFunc};
    match ty {
        HeapType::Abstract { ty: Func | NoFunc, .. } | HeapType::Concrete(_) => {
            Some(ValType::FUNCREF)
        }
        HeapType::Abstract { ty: Extern | NoExtern, .. } => Some(ValType::EXTERNREF),
        HeapType::Abstract { ty: Exn | NoExn, .. } => Some(ValType::EXNREF),
        _ => None,
    }
}

fn check_results(expected: &[WastRet<'_>], got: &[Val]) -> Result<(), String> {
    if expected.len() != got.len() {
        return Err(format!("expected {} results, got {got:?}", expected.len()));
    }
    for (i, (want, have)) in expected.iter().zip(got).enumerate() {
        let WastRet::Core(want) = want else {
            return Err("component-model result".into());
        };
        if !matches_ret(want, have) {
            return Err(format!("result {i}: expected {want:?}, got {have:?}"));
        }
    }
    Ok(())
}

fn matches_ret(want: &WastRetCore<'_>, have: &Val) -> bool {
    match (want, have) {
        (WastRetCore::I32(w), Val::I32(h)) => w == h,
        (WastRetCore::I64(w), Val::I64(h)) => w == h,
        (WastRetCore::F32(p), Val::F32(h)) => f32_matches(p, *h),
        (WastRetCore::F64(p), Val::F64(h)) => f64_matches(p, *h),
        (WastRetCore::V128(p), Val::V128(h)) => v128_matches(p, *h),
        (WastRetCore::RefNull(ty), Val::FuncRef(None)) => {
            ty.as_ref().is_none_or(|t| null_of(t) == Some(ValType::FUNCREF))
        }
        (WastRetCore::RefNull(ty), Val::ExternRef(None)) => {
            ty.as_ref().is_none_or(|t| null_of(t) == Some(ValType::EXTERNREF))
        }
        (WastRetCore::RefNull(ty), Val::ExnRef(None)) => {
            ty.as_ref().is_none_or(|t| null_of(t) == Some(ValType::EXNREF))
        }
        (WastRetCore::RefExtern(w), Val::ExternRef(Some(h))) => w.is_none_or(|w| w == h.0),
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(cases), _) => cases.iter().any(|c| matches_ret(c, have)),
        _ => false,
    }
}

fn f32_matches(p: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    let nan = f32::from_bits(bits).is_nan();
    match p {
        NanPattern::CanonicalNan => nan && bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => nan && bits & 0x0040_0000 != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn f64_matches(p: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    let nan = f64::from_bits(bits).is_nan();
    match p {
        NanPattern::CanonicalNan => nan && bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => nan && bits & 0x0008_0000_0000_0000 != 0,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn v128_matches(p: &V128Pattern, v: u128) -> bool {
    let bytes = v.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(&bytes[i * n..i * n + n]);
        u64::from_le_bytes(buf)
    };
    match p {
        V128Pattern::I8x16(l) => l.iter().enumerate().all(|(i, x)| lane(i, 1) == *x as u8 as u64),
        V128Pattern::I16x8(l) => l.iter().enumerate().all(|(i, x)| lane(i, 2) == *x as u16 as u64),
        V128Pattern::I32x4(l) => l.iter().enumerate().all(|(i, x)| lane(i, 4) == *x as u32 as u64),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, x)| lane(i, 8) == *x as u64),
        V128Pattern::F32x4(l) => {
            l.iter().enumerate().all(|(i, p)| f32_matches(p, lane(i, 4) as u32))
        }
        V128Pattern::F64x2(l) => l.iter().enumerate().all(|(i, p)| f64_matches(p, lane(i, 8))),
    }
}

/// The `spectest` module every spec script may import from.
fn define_spectest(store: &mut Store<()>, linker: &mut Linker<()>) {
    use ValType::*;
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType::new(params.iter().copied(), []);
        linker.func_new("spectest", name, ty, |_, _, _| Ok(()));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::F32(666.6f32.to_bits())),
        ("global_f64", Val::F64(666.6f64.to_bits())),
    ];
    for (name, value) in globals {
        let ty = GlobalType { content: value.ty(), mutable: false };
        let global = store.new_global(ty, value).expect("initializer matches its type");
        linker.define("spectest", name, Extern::Global(global));
    }
    let table_ty = TableType {
        element: ValType::FUNCREF,
        limits: Limits { min: 10, max: Some(20) },
        table64: false,
    };
    let table = store.new_table(table_ty, Val::FuncRef(None)).expect("small table");
    linker.define("spectest", "table", Extern::Table(table));
    let memory_ty = MemoryType { limits: Limits { min: 1, max: Some(2) }, memory64: false };
    if let Ok(memory) = store.new_memory(memory_ty) {
        linker.define("spectest", "memory", Extern::Memory(memory));
    }
}
