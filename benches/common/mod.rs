//! What the benches share: the tiers to measure, the corpus programs to run, and running a WASI
//! command the way `tierup run` does, with its output discarded.
//!
//! Read-only: nothing here builds or writes anything under `corpus/`.

// Each bench target compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tierup::wasi::{self, WasiCtx, WasiCtxBuilder};
use tierup::{Config, Engine, Func, Linker, Module, Store, Tier, Val};

/// Every tier by name, in order. A bench measures those [`Tier::from_str`] accepts, so a tier
/// appears in every bench the day it is implemented, without editing any bench.
pub const TIER_NAMES: [&str; 3] = ["interp", "baseline", "optimized"];

/// The implemented tiers, in [`TIER_NAMES`] order.
pub fn tiers() -> Vec<Tier> {
    TIER_NAMES.iter().filter_map(|name| Tier::from_str(name).ok()).collect()
}

/// A call-heavy workload: naive recursive Fibonacci, `fib(n)` making about 1.6^n calls.
pub const FIB_WAT: &str = r#"
(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2))))))))
"#;

/// The argument the benches call `fib` with: `fib(25)` = 75025, in 242785 calls.
pub const FIB_N: i32 = 25;

/// An engine running every function in `tier`, with the profile counters on or off.
pub fn engine(tier: Tier, profile_counters: bool) -> Engine {
    Engine::new(Config { tier: tier.into(), profile_counters, ..Config::default() })
}

/// A corpus program at its small size (`small_args`).
#[derive(Clone, Debug)]
pub struct Program {
    /// The folder name under `corpus/`.
    pub name: String,
    /// The built module's bytes.
    pub wasm: Vec<u8>,
    /// `argv[1..]` at the small size.
    pub args: Vec<String>,
}

/// The fields of `<name>/bench.toml` the benches use.
#[derive(Deserialize)]
struct BenchToml {
    wasm: PathBuf,
    #[serde(default)]
    args: Vec<String>,
    small_args: Option<Vec<String>>,
}

/// The corpus folder of this checkout.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The default set: the programs `corpus/suite.txt` lists, or every folder with a `bench.toml`
/// when there is no suite file. Programs whose `bench.toml` or `.wasm` is missing (still being
/// added) are skipped with a note on stderr.
pub fn corpus() -> Vec<Program> {
    let dir = corpus_dir();
    let names = match std::fs::read_to_string(dir.join("suite.txt")) {
        Ok(suite) => suite
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect(),
        Err(_) => {
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| entry.path().join("bench.toml").is_file())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    };
    names.iter().filter_map(|name| program(&dir, name)).collect()
}

/// One program, or `None` (with a note) if its files are not there yet.
pub fn program_named(name: &str) -> Option<Program> {
    program(&corpus_dir(), name)
}

fn program(corpus: &Path, name: &str) -> Option<Program> {
    let folder = corpus.join(name);
    let read = || -> Result<Program, String> {
        let toml_path = folder.join("bench.toml");
        let text = std::fs::read_to_string(&toml_path)
            .map_err(|e| format!("cannot read {}: {e}", toml_path.display()))?;
        let config: BenchToml =
            toml::from_str(&text).map_err(|e| format!("bad {}: {e}", toml_path.display()))?;
        let wasm_path = folder.join(&config.wasm);
        let wasm = std::fs::read(&wasm_path)
            .map_err(|e| format!("cannot read {}: {e}", wasm_path.display()))?;
        let args = config.small_args.unwrap_or(config.args);
        Ok(Program { name: name.to_string(), wasm, args })
    };
    read().map_err(|why| eprintln!("note: skipping corpus program `{name}`: {why}")).ok()
}

/// A store whose WASI context sees `argv = [name, args..]` and nothing else: no files, and the
/// standard streams are sinks, so output is discarded.
pub fn store(engine: &Engine, name: &str, args: &[String]) -> Store<WasiCtx> {
    let ctx = WasiCtxBuilder::new().args([name]).args(args).build();
    Store::new(engine, ctx)
}

fn wasi_ctx(ctx: &mut WasiCtx) -> &mut WasiCtx {
    ctx
}

/// Links `module` against WASI in `store` and returns its `_start`. A fresh linker per store:
/// a linker caches the host functions it allocated in the first store it saw.
pub fn instantiate(store: &mut Store<WasiCtx>, module: &Module) -> Func {
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, wasi_ctx);
    let instance = linker.instantiate(store, module).expect("instantiate the module");
    instance.get_func(store, "_start").expect("the module exports `_start`")
}

/// Calls `_start`; a `proc_exit(0)` is success, any other exit or trap fails the bench.
pub fn run(store: &mut Store<WasiCtx>, start: Func) {
    if let Err(err) = start.call(store, &[], &mut []) {
        match err.as_trap().and_then(|trap| trap.exit_status()) {
            Some(0) => {}
            _ => panic!("`_start` failed: {err}"),
        }
    }
}

/// Compiles `wat`, instantiates it with no imports and returns a store with its export `name`.
pub fn export(engine: &Engine, wat: &str, name: &str) -> (Store<()>, Func) {
    let module = Module::new(engine, wat).expect("compile the inline module");
    let mut store = Store::new(engine, ());
    let instance = Linker::new().instantiate(&mut store, &module).expect("instantiate");
    let func = instance.get_func(&store, name).expect("the export exists");
    (store, func)
}

/// Calls `func(arg)` for its single i32 result.
pub fn call_i32<T>(store: &mut Store<T>, func: Func, arg: i32) -> Val {
    let mut results = [Val::I32(0)];
    func.call(store, &[Val::I32(arg)], &mut results).expect("the call returns");
    results[0]
}

/// Times `_start` of `program` (already compiled into `module`): a fresh store and instance per
/// iteration, built outside the measurement, so every iteration runs the program from scratch.
pub fn bench_start(
    b: &mut criterion::Bencher<'_>,
    engine: &Engine,
    module: &Module,
    program: &Program,
) {
    b.iter_batched(
        || {
            let mut store = store(engine, &program.name, &program.args);
            let start = instantiate(&mut store, module);
            (store, start)
        },
        |(mut store, start)| {
            run(&mut store, start);
            store
        },
        criterion::BatchSize::PerIteration,
    )
}
