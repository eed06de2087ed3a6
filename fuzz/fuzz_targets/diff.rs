//! Fuzz target `diff`: tierup's interpreter must agree with two outside oracles, wasmi 2.0 and
//! wasmtime (Cranelift), wherever they agree with each other; every tier, and mixed mode, must
//! agree with the interpreter.
//!
//! The input drives `wasm_smith` to generate a module (`common::generate`: WebAssembly 2.0 plus
//! the 3.0 features of `common::FEATURES`, or an integer-only profile dense in value-carrying branches, multi-value
//! blocks and calls) whose loops and calls are instrumented to terminate (a global budget that
//! traps when spent), so no fuel is needed and tier 1 compiles everything it supports. (With
//! `TIERUP_DIFF_MODULE=1` the input is a module instead, binary or text, used as-is: that is how
//! `.ci/fuzz-smoke` replays `regressions/`; such modules must terminate on their own.
//! `TIERUP_FUZZ_DUMP=<file>` saves the generated module.)
//!
//! 1. Validation: where wasmi and wasmtime (both configured for `common::FEATURES`, wasmi
//!    having no exception handling: it rejects such modules, which then run on tierup's tiers
//!    only, each compared with the interpreter; see
//!    `oracle_wasmi.rs` and `oracle_wasmtime.rs`) agree, tierup must too; it may also refuse a
//!    module for a resource limit.
//! 2. The module runs once in wasmi and once per tierup configuration (interpreter, `baseline`,
//!    `auto` tiering up on the first call, `auto` tiering up on the first loop back-edge), each in
//!    a fresh store with the same dummy imports (`common::import_types`); the start function runs,
//!    then every exported function is called with default arguments in export order.
//! 3. What each run observed must match: every call's results (bit for bit, NaNs canonicalized:
//!    any NaN payload is allowed) or trap code, then the first exported memory's bytes (another
//!    memory shows through the calls' results only) and every exported global's
//!    value. The interpreter is compared with wasmi first. Where they differ, the module also runs
//!    in wasmtime, and each observation is judged on its own: where wasmi and wasmtime agree, the
//!    interpreter must agree with them (a finding otherwise); where the oracles disagree with each
//!    other, the interpreter is compared with neither, and the disagreement is logged to stderr as
//!    `diff: oracle disagreement #N` (wasmi 2.0 is wrong on some generated modules: it reports
//!    divide-by-zero traps that wasmtime and a reading of the code do not find; modules it is known
//!    to crash on are not given to it: `oracle_wasmi::known_crash`). Then the other
//!    tiers are compared with the interpreter, whatever the oracles said. The oracles' trap codes
//!    map to tierup's in their `trap_code` functions (one to one, except one coarser spot of
//!    wasmi's at instantiation, documented there).
//!
//! Against the oracles, references compare only as null / non-null (the engines' function handles
//! cannot be related); between tierup tiers they compare exactly. Runs where any side exhausts the
//! call stack are not compared: the maximum recursion depth legitimately differs between engines
//! and between tiers.

#![no_main]

use common::{dummy_import, generate, import_types};
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicUsize, Ordering};
use tierup::{
    Config, Engine, Error, ExternType, Instance, Module, Store, Tier, TierUpMode, TierUpPolicy, Tiering,
    TrapCode, Val,
};

#[path = "common.rs"]
mod common;
#[path = "oracle_wasmi.rs"]
mod oracle_wasmi;
#[path = "oracle_wasmtime.rs"]
mod oracle_wasmtime;

/// The limits of tierup's `Config` in this harness, which both oracles apply too, so `memory.grow`
/// and `table.grow` fail at the same sizes everywhere.
const MAX_MEMORY_BYTES: u64 = 64 << 20;
const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// Loop iterations and calls a generated module may spend before its own budget traps.
const BUDGET: u32 = 10_000;
/// The configurations compared against the interpreter: tiers 1 and 2 up front; `auto` tiering
/// up on the first call and on the first loop back-edge only (on-stack replacement), both with
/// background compiles (the default), so code arrives whenever a compile thread finishes; and
/// all three tiers with synchronous compiles, at calls and by on-stack replacement.
fn modes() -> [(&'static str, Tiering, TierUpPolicy, TierUpMode); 6] {
    let first_call = TierUpPolicy { threshold: 1, ..TierUpPolicy::default() };
    let first_back_edge =
        TierUpPolicy { threshold: 1, call_weight: 0, back_edge_weight: 1, ..Default::default() };
    let three_tiers = TierUpPolicy { opt_threshold: 1, ..first_call };
    let three_tiers_osr = TierUpPolicy { opt_threshold: 1, ..first_back_edge };
    let (background, sync) = (TierUpMode::Background, TierUpMode::Sync);
    [
        ("baseline", Tier::Baseline.into(), TierUpPolicy::default(), sync),
        ("optimized", Tier::Optimized.into(), TierUpPolicy::default(), sync),
        ("auto", Tiering::Auto, first_call, background),
        ("osr", Tiering::Auto, first_back_edge, background),
        ("three tiers", Tiering::Auto, three_tiers, sync),
        ("osr into tier 2", Tiering::Auto, three_tiers_osr, sync),
    ]
}

fuzz_target!(|data: &[u8]| {
    if std::env::var_os("TIERUP_DIFF_MODULE").is_some() {
        // A regression module (binary or text). wasmi takes binaries only.
        let Ok(wasm) = wat::parse_bytes(data) else { return };
        check(&wasm);
        return;
    }
    let instrument = |m: &mut wasm_smith::Module| {
        m.ensure_termination(BUDGET).map(drop).map_err(|_| arbitrary::Error::IncorrectFormat)
    };
    let Ok(wasm) = generate(data, instrument) else { return };
    // Replaying one input with TIERUP_FUZZ_DUMP=<file> saves the generated module (to turn a
    // finding into a regression file).
    if let Some(path) = std::env::var_os("TIERUP_FUZZ_DUMP") {
        std::fs::write(path, &wasm).expect("cannot write TIERUP_FUZZ_DUMP");
    }
    check(&wasm);
});

fn check(wasm: &[u8]) {
    let wasmi_engine = oracle_wasmi::engine();
    // A module wasmi would crash on is one it gives no verdict on: the oracles disagree about it.
    // So is one whose results the spec leaves to each engine.
    let wasmi_module = match oracle_wasmi::known_crash(wasm) {
        Some(crash) => Err(format!("not run: it crashes on {crash}")),
        None if uses_relaxed_simd(wasm) => Err("not compared: relaxed SIMD".to_string()),
        None => oracle_wasmi::compile(&wasmi_engine, wasm),
    };
    let wasmtime_verdict = oracle_wasmtime::validate(wasm);
    let interp = &engines()[0];
    let oracle_verdicts = (wasmi_module.as_ref().map(drop), wasmtime_verdict.as_ref().map(drop));
    let Some(module) = judge_validation(Module::new(interp, wasm), oracle_verdicts) else {
        return;
    };
    let Some(imports) = import_types(&module) else { return };
    let exports: Vec<(String, ExternType)> =
        module.exports().map(|(name, ty)| (name.to_string(), ty)).collect();

    let Some(reference) = outcomes(interp, &module, &imports, &exports) else { return };
    if let (Ok(wasmi_module), Ok(())) = (&wasmi_module, &wasmtime_verdict) {
        let wasmi = oracle_wasmi::outcomes(&wasmi_engine, wasmi_module, &imports, &exports);
        compare_with_oracles(&reference, &wasmi, || {
            oracle_wasmtime::outcomes(wasm, &imports, &exports)
        });
    }

    for ((mode, ..), engine) in modes().into_iter().zip(&engines()[1..]) {
        let module = Module::new(engine, wasm).expect("a module the interpreter runs compiles");
        let observed = outcomes(engine, &module, &imports, &exports)
            .expect("imports the interpreter got are made again");
        // How deep recursion may go is the one thing tiers legitimately differ in: tier-1 calls
        // also use the host stack (and far more of it under ASan). Runs that exhaust the stack
        // on either side are not compared.
        if observed.exhausted() || reference.exhausted() {
            continue;
        }
        let what = format!("{mode} disagrees with the interpreter");
        assert_same(&observed.between_tiers(), &reference.between_tiers(), &what);
    }
}

/// Whether `wasm` uses a relaxed SIMD instruction, whose result each engine may choose within
/// the spec's bounds (tierup makes the deterministic profile's choice, the oracles others): such
/// a module is compared across tierup's tiers only.
fn uses_relaxed_simd(wasm: &[u8]) -> bool {
    use wasmparser::Payload;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else { continue };
        let Ok(mut ops) = body.get_operators_reader() else { continue };
        while !ops.eof() {
            match ops.read() {
                // Every relaxed SIMD operator, and only those, has `Relaxed` in its name.
                Ok(op) if format!("{op:?}").contains("Relaxed") => return true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    false
}

/// tierup's verdict on a module against the oracles' (`Err` with a message: rejected); the module
/// to run if tierup accepted it. Where the oracles disagree with each other, tierup's verdict is
/// compared with neither.
fn judge_validation(
    tierup: Result<Module, Error>,
    (wasmi, wasmtime): (Result<(), &String>, Result<(), &String>),
) -> Option<Module> {
    match (tierup, &wasmi, &wasmtime) {
        (Err(Error::ResourceLimit(_)), _, _) => None,
        (Ok(module), Ok(()), Ok(())) => Some(module),
        (Err(_), Err(_), Err(_)) => None,
        (Ok(_), Err(e), Err(_)) => panic!("wasmi and wasmtime reject a module tierup accepts: {e}"),
        (Err(e), Ok(()), Ok(())) => {
            panic!("tierup rejects a module wasmi and wasmtime accept: {e}")
        }
        (tierup, _, _) => {
            note_oracle_disagreement(&format!(
                "validation: wasmi {wasmi:?}, wasmtime {wasmtime:?}"
            ));
            tierup.ok()
        }
    }
}

/// Observations where the two oracles disagreed with each other (logged as they happen).
static ORACLE_DISAGREEMENTS: AtomicUsize = AtomicUsize::new(0);

fn note_oracle_disagreement(details: &str) {
    let n = ORACLE_DISAGREEMENTS.fetch_add(1, Ordering::Relaxed) + 1;
    eprintln!("diff: oracle disagreement #{n} on {details}; tierup is compared with neither");
}

/// The interpreter against the two oracles. wasmi runs first; where the interpreter agrees with
/// it, no observation can be a finding (either wasmtime agrees too, or the oracles disagree), so
/// wasmtime only runs when they differ. Then each observation (a call's outcome, the memory, a
/// global) on which wasmi and wasmtime agree must be the interpreter's; one on which they
/// disagree is compared with neither, and logged and counted (wasmi 2.0 reports divide-by-zero
/// traps on some generated modules where there are none).
fn compare_with_oracles(
    reference: &Observed<Val>,
    wasmi: &Observed<Value>,
    wasmtime: impl FnOnce() -> Option<Observed<Value>>,
) {
    let interp = reference.neutral();
    if reference.exhausted() || wasmi.exhausted() || interp == *wasmi {
        return;
    }
    let Some(wasmtime) = wasmtime() else {
        eprintln!("diff: wasmtime could not run a module it validated; not compared");
        return;
    };
    if wasmtime.exhausted() {
        return;
    }
    let sides = [interp.observations(), wasmi.observations(), wasmtime.observations()];
    let mut labels: Vec<&String> = sides.iter().flatten().map(|(label, _)| label).collect();
    let mut seen = std::collections::HashSet::new();
    labels.retain(|label| seen.insert(*label));
    let find = |side: usize, label: &String| {
        sides[side].iter().find(|(l, _)| l == label).map(|(_, observation)| observation)
    };
    for label in labels {
        let (interpreter, wasmi, wasmtime) = (find(0, label), find(1, label), find(2, label));
        if wasmi != wasmtime {
            note_oracle_disagreement(&format!("{label}: wasmi {wasmi:?}, wasmtime {wasmtime:?}"));
            continue;
        }
        if interpreter != wasmi {
            if let (Some(Observation::Memory(a)), Some(Observation::Memory(b))) =
                (interpreter, wasmi)
            {
                print_memory_difference(a, b);
            }
            panic!(
                "the interpreter disagrees with wasmi and wasmtime on {label}: \
                 interpreter {interpreter:?}, wasmi and wasmtime {wasmi:?}"
            );
        }
    }
}

/// A call's outcome: its results, or how it trapped (`None`: an error that is not a trap).
type Outcome<V> = Result<Vec<V>, Option<TrapCode>>;

/// What a run observably did: per call, results or trap; then the exported memory and globals.
/// `V` is tierup's [`Val`] between tiers and the engine-neutral [`Value`] against the oracles.
#[derive(Debug, PartialEq)]
struct Observed<V> {
    calls: Vec<(String, Outcome<V>)>,
    /// The first exported memory, under its first export name. Only one is read: a module that
    /// exports a 16 MiB memory under 50 names would copy 800 MiB per run (such a module took
    /// 13 s); other memories show through the calls' results.
    memory: Option<(String, Image)>,
    globals: Vec<(String, V)>,
}

impl<V> Default for Observed<V> {
    fn default() -> Self {
        Observed { calls: Vec::new(), memory: None, globals: Vec::new() }
    }
}

/// A memory's bytes. `Debug` prints a summary instead of megabytes; when two images differ,
/// [`assert_same`] prints where.
#[derive(Clone, PartialEq)]
struct Image(Vec<u8>);

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nonzero = self.0.iter().filter(|b| **b != 0).count();
        write!(f, "Image({} bytes, {} nonzero)", self.0.len(), nonzero)
    }
}

/// `assert_eq!`, after printing the first difference between the two memory images if any.
fn assert_same<V: PartialEq + std::fmt::Debug>(
    left: &Observed<V>,
    right: &Observed<V>,
    what: &str,
) {
    if left == right {
        return;
    }
    if let (Some((_, a)), Some((_, b))) = (&left.memory, &right.memory) {
        print_memory_difference(a, b);
    }
    assert_eq!(left, right, "{what}");
}

/// Prints where two memory images first differ, if they do.
fn print_memory_difference(a: &Image, b: &Image) {
    if a.0.len() != b.0.len() {
        eprintln!("memory sizes differ: {} vs {} bytes", a.0.len(), b.0.len());
    } else if let Some(at) = a.0.iter().zip(&b.0).position(|(x, y)| x != y) {
        let end = (at + 16).min(a.0.len());
        eprintln!(
            "memories first differ at {at:#x}: {:02x?} vs {:02x?}",
            &a.0[at..end],
            &b.0[at..end]
        );
    }
}

/// One thing a run observed: a call's outcome, the exported memory or an exported global.
#[derive(Debug, PartialEq)]
enum Observation<'a, V> {
    Call(&'a Outcome<V>),
    Memory(&'a Image),
    Global(&'a V),
}

impl<V> Observed<V> {
    /// Instantiation failed (e.g. the start function trapped): compare that, with no calls after.
    fn failed_instantiation(trap: Option<TrapCode>) -> Self {
        Observed { calls: vec![("<start>".into(), Err(trap))], ..Observed::default() }
    }

    /// Everything observed, each labelled (`call NAME`, `memory NAME`, `global NAME`) so that
    /// runs can be compared observation by observation.
    fn observations(&self) -> Vec<(String, Observation<'_, V>)> {
        let calls =
            self.calls.iter().map(|(name, o)| (format!("call {name}"), Observation::Call(o)));
        let memory =
            self.memory.iter().map(|(name, m)| (format!("memory {name}"), Observation::Memory(m)));
        let globals =
            self.globals.iter().map(|(name, g)| (format!("global {name}"), Observation::Global(g)));
        calls.chain(memory).chain(globals).collect()
    }

    fn exhausted(&self) -> bool {
        let overflow = |outcome: &Outcome<V>| matches!(outcome, Err(Some(TrapCode::StackOverflow)));
        self.calls.iter().any(|(_, outcome)| overflow(outcome))
    }
}

impl Observed<Val> {
    /// As the oracles report it.
    fn neutral(&self) -> Observed<Value> {
        self.map(|v| Value::from(v))
    }

    /// As another tierup engine's run can be compared with it.
    fn between_tiers(&self) -> Observed<TierValue> {
        self.map(|v| TierValue::from(v))
    }

    fn map<V>(&self, f: impl Fn(&Val) -> V) -> Observed<V> {
        let values = |vals: &Vec<Val>| -> Vec<V> { vals.iter().map(&f).collect() };
        Observed {
            calls: self
                .calls
                .iter()
                .map(|(name, outcome)| {
                    let outcome = match outcome {
                        Ok(vals) => Ok(values(vals)),
                        Err(trap) => Err(trap.clone()),
                    };
                    (name.clone(), outcome)
                })
                .collect(),
            memory: self.memory.clone(),
            globals: self.globals.iter().map(|(name, v)| (name.clone(), f(v))).collect(),
        }
    }
}

/// A tierup value as two tierup runs are compared: a function or exception reference by its
/// index in its store, not by its store (each run has its own store, so store identities always
/// differ).
#[derive(Debug, PartialEq)]
enum TierValue {
    FuncRef(Option<u32>),
    ExnRef(Option<u32>),
    Other(Val),
}

impl From<&Val> for TierValue {
    fn from(v: &Val) -> TierValue {
        match *v {
            Val::FuncRef(f) => TierValue::FuncRef(f.map(|f| f.index())),
            Val::ExnRef(e) => TierValue::ExnRef(e.map(|e| e.index())),
            other => TierValue::Other(other),
        }
    }
}

/// A value as every engine can report it: numbers bit for bit, references as null or not.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef { null: bool },
    ExternRef { null: bool },
    ExnRef { null: bool },
}

impl Value {
    /// Wasm lets any NaN result have any payload; engines may differ there and still be right.
    fn canonical_nan(self) -> Value {
        match self {
            Value::F32(b) if f32::from_bits(b).is_nan() => Value::F32(0x7fc0_0000),
            Value::F64(b) if f64::from_bits(b).is_nan() => Value::F64(0x7ff8_0000_0000_0000),
            other => other,
        }
    }
}

impl From<&Val> for Value {
    fn from(v: &Val) -> Value {
        // tierup values are already NaN-canonical (see `outcomes`).
        match *v {
            Val::I32(x) => Value::I32(x),
            Val::I64(x) => Value::I64(x),
            Val::F32(x) => Value::F32(x),
            Val::F64(x) => Value::F64(x),
            Val::V128(x) => Value::V128(x),
            Val::FuncRef(r) => Value::FuncRef { null: r.is_none() },
            Val::ExternRef(r) => Value::ExternRef { null: r.is_none() },
            Val::ExnRef(r) => Value::ExnRef { null: r.is_none() },
        }
    }
}

/// The interpreter's engine, then one per mode, made once for the process: an engine's compile
/// threads then live as long as the fuzzer (engines made per input would end their threads while
/// the next input runs, and LeakSanitizer reports a thread's exit in progress as a leak).
fn engines() -> &'static [Engine] {
    static ENGINES: std::sync::OnceLock<Vec<Engine>> = std::sync::OnceLock::new();
    ENGINES.get_or_init(|| {
        let interp = engine(Tier::Interp.into(), TierUpPolicy::default(), TierUpMode::Sync);
        let modes = modes().into_iter().map(|(_, tier, policy, up)| engine(tier, policy, up));
        std::iter::once(interp).chain(modes).collect()
    })
}

fn engine(tier: Tiering, tier_up: TierUpPolicy, tier_up_mode: TierUpMode) -> Engine {
    Engine::new(Config {
        tier,
        tier_up,
        tier_up_mode,
        max_memory_size: Some(MAX_MEMORY_BYTES),
        max_table_elements: MAX_TABLE_ELEMENTS,
        ..Config::default()
    })
}

/// Runs `module` on tierup; `None` if the store refuses to create one of the dummy imports.
fn outcomes(
    engine: &Engine,
    module: &Module,
    imports: &[ExternType],
    exports: &[(String, ExternType)],
) -> Option<Observed<Val>> {
    let mut store = Store::new(engine, ());
    let mut externs = Vec::new();
    for ty in imports {
        externs.push(dummy_import(&mut store, ty)?);
    }
    let instance = match Instance::new(&mut store, module, &externs) {
        Ok(instance) => instance,
        Err(e) => return Some(Observed::failed_instantiation(trap_code(&e))),
    };
    let mut observed = Observed::default();
    for (name, ty) in exports {
        let ExternType::Func(ty) = ty else { continue };
        let func = instance.get_func(&store, name).expect("exported function");
        let args: Vec<Val> = ty.params().iter().map(|t| Val::default_for(*t)).collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        let outcome = match func.call(&mut store, &args, &mut results) {
            Ok(()) => Ok(results.into_iter().map(canonical_nan).collect()),
            Err(e) => Err(trap_code(&e)),
        };
        observed.calls.push((name.clone(), outcome));
    }
    for (name, ty) in exports {
        match ty {
            ExternType::Memory(_) if observed.memory.is_none() => {
                let memory = instance.get_memory(&store, name).expect("exported memory");
                observed.memory = Some((name.clone(), Image(memory.data(&store).to_vec())));
            }
            ExternType::Global(_) => {
                let global = instance.get_global(&store, name).expect("exported global");
                observed.globals.push((name.clone(), canonical_nan(global.get(&store))));
            }
            _ => {}
        }
    }
    Some(observed)
}

fn trap_code(e: &Error) -> Option<TrapCode> {
    e.as_trap().map(|t| match &t.code {
        // Each run has its own store: an uncaught exception compares by its index in it.
        TrapCode::Exception(exn) => TrapCode::Host(format!("uncaught exception {}", exn.index())),
        code => code.clone(),
    })
}

/// Wasm lets any NaN result have any payload; tiers may differ there and still be right.
fn canonical_nan(v: Val) -> Val {
    match v {
        Val::F32(b) if f32::from_bits(b).is_nan() => Val::F32(0x7fc0_0000),
        Val::F64(b) if f64::from_bits(b).is_nan() => Val::F64(0x7ff8_0000_0000_0000),
        other => other,
    }
}
