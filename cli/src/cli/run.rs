//! `tierup run`: instantiate a module and call its `_start`, or the export `--invoke` names.
//!
//! A module importing WASI gets a context granting exactly what the command line grants: ARGS as
//! its argv (after FILE's name), each `--env`, each `--dir`, and the terminal's stdio.
//!
//! The arguments are checked against the function's type before the module is instantiated, so a
//! typo never runs a start function first. This module decides what to call and with which limits;
//! how the outcome becomes an exit status is `exit.rs`'s business.

use super::guest_profile::{self, GuestOptions};
use super::stats::{self, Fuel};
use super::{TierOption, size, values};
use super::{exit, memory_report};
use crate::bench::phases::{CompileFigures, PhaseTimes};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use tierup::artifact::{CacheLookup, CodeCache, MappedFile};
use tierup::wasi::{self, WasiCtx, WasiCtxBuilder};
use tierup::{
    Config, Engine, ExternType, FuncType, Instance, Linker, Module, ProfilingStrategy, Store,
    Tiering, Val,
};

/// Run a WebAssembly module: its `_start` function, or the export named by --invoke
///
/// Options go before FILE or between FILE and the first ARG; everything from the first ARG on is
/// an ARG, even if it starts with `-`. Exit status: 0 on success, 134 if the module traps, the
/// guest's own status if it exits, 1 for any other error.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  tierup run hello.wasm
  tierup run add.wat --invoke add 1 -2
  tierup run --fuel 1000000 --stats fib.wat --invoke fib 25
  perf record -g tierup run --profile=perfmap prog.wasm
  tierup run --dir ./data::/data --env LANG=C app.wasm input.txt")]
pub struct RunCommand {
    /// Call this exported function instead of `_start`, and print its results
    ///
    /// ARGS are parsed by the function's parameter types: i32/i64 as decimal or 0x hex, signed or
    /// unsigned; f32/f64 as decimal, nan, inf or -inf; v128 as 0x hex; funcref/externref as null.
    /// Each result is printed on its own line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// Largest size of any linear memory (default: 4GiB, all wasm32 can address)
    ///
    /// In bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000),
    /// e.g. 64MiB. A `memory.grow` beyond it returns -1; a module whose initial memory exceeds it
    /// fails to instantiate.
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size)]
    max_memory_size: Option<u64>,

    /// Largest wasm stack, in the units of --max-memory-size (at most 1GiB)
    ///
    /// Value slots and call frames count against it; deeper recursion traps with `call stack
    /// exhausted`.
    #[arg(long, value_name = "SIZE", value_parser = parse_wasm_stack,
          default_value_t = Config::default().max_wasm_stack)]
    max_wasm_stack: usize,

    /// Run with N units of fuel, one per wasm operator executed; running out traps
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,

    #[command(flatten)]
    tier: TierOption,

    /// Check every tier-1 memory access against the memory's size instead of relying on guard
    /// pages and tierup's SIGSEGV handler
    ///
    /// Results are the same either way; this exists to measure what the checks cost and for hosts
    /// where tierup must not handle SIGSEGV.
    #[arg(long)]
    explicit_bounds_checks: bool,

    /// After the run, print per-function calls, loop back-edges and tier to stderr
    ///
    /// Hottest functions first; functions that never ran are only counted. With --fuel, the fuel
    /// left is printed too. Then where code came from, and memory: each linear memory's size (its
    /// peak: memories never shrink) and any refused `memory.grow`, each table's size, the machine
    /// code of each tier, the process's peak resident set. Printed even if the run traps.
    #[arg(long)]
    stats: bool,

    /// Tell a native profiler where compiled code is: `perfmap` appends each function tiers 1 and
    /// 2 compile to /tmp/perf-<pid>.map for Linux `perf`; `jitdump` writes their names and code
    /// to ./jit-<pid>.dump, for `perf inject --jit`
    ///
    /// Symbols read `wasm[MODULE]::FUNC [baseline]` (or `[optimized]`; MODULE from the name
    /// section, else FILE's stem). Interpreted functions need nothing: they run in the
    /// interpreter's own code. `perf record -g tierup run --profile=perfmap ...` then `perf
    /// report` name wasm functions; `perf record -k 1 -g tierup run --profile=jitdump ...`, `perf
    /// inject --jit -i perf.data -o perf.jit.data`, then `perf annotate -i perf.jit.data` also
    /// shows their machine code, each instruction's line being its wasm operator's module
    /// offset (`perf report --sort srcline` gives `MODULE.wasm:OFFSET`, offsets in decimal).
    ///
    /// `guest[,INTERVAL]` is tierup's own sampling profiler of wasm code, in every tier: every
    /// INTERVAL (default 1ms; `250us`, `10ms`, ...) a thread samples the running wasm call
    /// stack, each frame with its tier and the innermost loop it reached. At exit it writes
    /// tierup-guest-<pid>.json (the Firefox Profiler's format: open it at
    /// https://profiler.firefox.com), a flame graph beside it (.svg), and prints the top
    /// functions and loops on stderr. Frames read `NAME [TIER]`, names from the name section
    /// (else `wasm-function[N]`). Tier 2 counts inlined callees as their caller and names loops
    /// only where it was entered by on-stack replacement. Without it nothing is compiled in.
    /// Overhead at 1ms (median of 7, release build, busy 2-core machine): c-fib 35 +51%
    /// interpreted, +30% baseline, +31% optimized (a push and a pop per call); c-sieve 5000000
    /// +11% interpreted, +13% baseline, within noise optimized (a store per loop iteration).
    #[arg(long, value_name = "STRATEGY", value_parser = parse_profile)]
    profile: Option<ProfileArg>,

    /// With --profile=guest, write the profile to PATH (and the flame graph to PATH with the
    /// extension .svg) instead of ./tierup-guest-<pid>.json
    #[arg(long, value_name = "PATH")]
    profile_output: Option<PathBuf>,

    /// After the run, print `tierup-phase-times compile_ns=N instantiate_ns=N run_ns=N` to stderr
    ///
    /// Compile is reading and compiling FILE, instantiate is linking and instantiation (including
    /// any start function), run is the call. Printed even if the run traps or the guest exits;
    /// `tierup bench` reads it.
    #[arg(long)]
    phase_times: bool,

    /// Run a precompiled artifact (`tierup compile`'s `.tup`): its machine code runs as it is,
    /// so running one means trusting whoever wrote it, and is refused without this flag
    ///
    /// The artifact must come from this tierup build, for this instruction set and CPU, with the
    /// same code-affecting options (--explicit-bounds-checks, --passes, --regalloc, --fuel);
    /// its tier is used unless --tier says otherwise.
    #[arg(long)]
    allow_precompiled: bool,

    /// Keep the code tier-up compiles in the code cache DIR (default: `$XDG_CACHE_HOME/tierup/code`
    /// or `~/.cache/tierup/code`), and take it from there next time instead of compiling
    ///
    /// Entries are keyed by the module's bytes, the tierup build, the CPU and the code-affecting
    /// options; tier-up still decides when each function moves up, but a function the cache
    /// holds is installed rather than compiled. The entry is written once the run ends, if
    /// anything was compiled; a damaged or stale entry is ignored and replaced. Binary modules
    /// only (a `.wat` file runs without the cache).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "", require_equals = true)]
    cache: Option<PathBuf>,

    /// Grant a WASI module the host directory HOST and everything under it, named GUEST (default:
    /// HOST as written)
    ///
    /// Repeatable. Nothing outside the granted directories is reachable: absolute paths, `..`
    /// past the directory and symlinks leading out of it fail with EPERM (as in wasmtime).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Set NAME to VALUE in a WASI module's environment (repeatable; the host's is not passed)
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,

    /// Make WASI `random_get` deterministic, seeded with SEED (reproducible runs: hash tables
    /// seeded from it lay out, and so work, the same every time)
    #[arg(long, value_name = "SEED")]
    wasi_random_seed: Option<u64>,

    /// The module: a binary `.wasm` or a text `.wat` file
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// With --invoke, the function's arguments; without, the program's
    ///
    /// A WASI program sees FILE's name, then ARGS, as its argv.
    #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The largest wasm stack accepted: the interpreter allocates all of it up front.
const MAX_WASM_STACK: u64 = 1 << 30;

/// `--max-wasm-stack`: a size, no larger than [`MAX_WASM_STACK`].
fn parse_wasm_stack(text: &str) -> Result<usize, String> {
    match size::parse_size(text)? {
        bytes if bytes > MAX_WASM_STACK => Err(format!("at most {MAX_WASM_STACK} bytes (1GiB)")),
        bytes => Ok(bytes as usize),
    }
}

/// `--profile`: the profiler to inform, or the guest profiler with its interval.
#[derive(Clone, Copy, Debug)]
struct ProfileArg {
    strategy: ProfilingStrategy,
    guest: Option<GuestOptions>,
}

/// `--profile`: the profilers tierup can inform, or `guest[,INTERVAL]`.
fn parse_profile(text: &str) -> Result<ProfileArg, String> {
    let plain = |strategy| Ok(ProfileArg { strategy, guest: None });
    match text.split_once(',') {
        None if text == "perfmap" => plain(ProfilingStrategy::PerfMap),
        None if text == "jitdump" => plain(ProfilingStrategy::JitDump),
        None if text == "none" => plain(ProfilingStrategy::None),
        None if text == "guest" => Ok(ProfileArg {
            strategy: ProfilingStrategy::Guest,
            guest: Some(GuestOptions { interval: DEFAULT_GUEST_INTERVAL }),
        }),
        Some(("guest", interval)) => Ok(ProfileArg {
            strategy: ProfilingStrategy::Guest,
            guest: Some(GuestOptions { interval: guest_profile::parse_interval(interval)? }),
        }),
        _ => Err("expected `perfmap`, `jitdump`, `guest[,INTERVAL]` or `none`".to_string()),
    }
}

/// The guest profiler's default interval (the engine's default).
const DEFAULT_GUEST_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1);

/// `--env NAME=VALUE`; the name must be non-empty and free of `=`.
fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err("expected NAME=VALUE".to_string()),
    }
}

/// The store's data: the WASI context (one granting nothing when the module does not import WASI).
pub(super) struct Host {
    wasi: WasiCtx,
}

/// What another command (`tierup debug`) adds to a run: the same options, setup and outcome,
/// with its own engine settings and a say before the call.
pub(super) trait RunHooks {
    /// The engine's configuration, from the one the options give.
    fn config(&mut self, config: Config) -> Config;
    /// Runs after instantiation, before the call; `false` skips the call (nothing ran).
    fn before_call(&mut self, module: &Module, store: &mut Store<Host>) -> Result<bool>;
}

/// The file a run names (FILE).
pub(super) fn file(cmd: &RunCommand) -> &Path {
    &cmd.file
}

pub fn run(cmd: RunCommand) -> Result<ExitCode> {
    run_with(cmd, None)
}

/// `tierup run`, with `hooks` when another command drives it.
pub(super) fn run_with(cmd: RunCommand, mut hooks: Option<&mut dyn RunHooks>) -> Result<ExitCode> {
    let started = Instant::now();
    let bytes = read_input(&cmd.file, cmd.allow_precompiled)
        .with_context(|| format!("failed to compile {}: cannot read it", cmd.file.display()))?;
    let precompiled = tierup::artifact::is_artifact(&bytes);
    let mut config = config(&cmd, precompiled.then_some(&bytes[..]));
    if let Some(hooks) = hooks.as_deref_mut() {
        config = hooks.config(config);
    }
    let engine = Engine::new(config);
    let cache = code_cache(&cmd)?;
    let (module, lookup) = load(&cmd, &engine, &bytes, cache.as_ref())?;
    let compiled = Instant::now();
    let (name, ty) = entry(&module, cmd.invoke.as_deref())?;
    // Without --invoke the ARGS belong to the program (WASI), not to `_start`'s parameters.
    let args = values::parse_args(&name, &ty, if cmd.invoke.is_some() { &cmd.args } else { &[] })?;
    let uses_wasi = module.imports().any(|(from, _, _)| from == wasi::MODULE);
    let wasi = if uses_wasi { wasi_ctx(&cmd)? } else { WasiCtx::new() };
    let mut store = Store::new(&engine, Host { wasi });
    if let Some(fuel) = cmd.fuel {
        store.set_fuel(fuel)?;
    }
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi);
    let instance = linker.instantiate(&mut store, &module).map_err(|e| {
        let err = match memory_report::instantiation_hint(&e) {
            Some(hint) => anyhow::anyhow!("{e}; {hint}"),
            None => anyhow::Error::new(e),
        };
        err.context(format!("failed to instantiate {}", cmd.file.display()))
    })?;
    let instantiated = Instant::now();
    if let Some(hooks) = hooks
        && !hooks.before_call(&module, &mut store)?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = call(&mut store, instance, &name, &ty, &args);
    // The run ends here: writing a profile or the cache is not the program's time.
    let finished = Instant::now();
    if let Some(profile) = store.guest_profile() {
        let (json, svg) = guest_profile::output_paths(cmd.profile_output.as_deref());
        let program = cmd.file.file_stem().map_or("wasm".into(), |s| s.to_string_lossy());
        guest_profile::write_all(&module, &profile, &json, &svg, &program)?;
    }
    // At the end rather than in the background: the run keeps adding code, and one write
    // captures all of it, paid only by runs that compiled something.
    let stored = cache.as_ref().map(|cache| cache.store(&module));
    if cmd.phase_times {
        print_phase_times(&module, [started, compiled, instantiated, finished]);
    }
    if cmd.stats {
        print_stats(&store, instance, cmd.fuel);
        print_code_origin(&module, lookup.as_ref(), stored.as_ref());
        let memory = memory_report::render(&store, instance, &module.compile_stats());
        let _ = std::io::stderr().lock().write_all(memory.as_bytes());
    }
    let results = match outcome {
        Err(err) if !exit::is_clean_exit(&err) => {
            // A failed run that was refused memory most likely failed for want of it: the
            // failure first, then which limit refused what.
            // The backtrace names source lines when the module carries DWARF (read only now:
            // a run that does not trap never pays for it).
            let source = source_lines(&bytes, &err);
            let notes = memory_report::refusal_notes(&store, instance);
            if notes.is_empty() && source.is_none() {
                return Err(err);
            }
            let status = exit::report_with_source(&err, source.as_ref());
            let _ = std::io::stderr().lock().write_all(notes.as_bytes());
            return Ok(status);
        }
        outcome => outcome?,
    };
    values::write_results(&mut std::io::stdout().lock(), &results)
        .context("cannot write the results to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The debug information of the module in `bytes` when the run ended in a trap with a backtrace
/// and the module has DWARF: a binary module only (text has none; an artifact's module is not
/// read for it).
fn source_lines(bytes: &[u8], err: &anyhow::Error) -> Option<tierup::debuginfo::DebugInfo> {
    let trapped = err.chain().any(|cause| {
        let engine = cause.downcast_ref::<tierup::Error>().and_then(tierup::Error::as_trap);
        engine
            .or_else(|| cause.downcast_ref::<tierup::Trap>())
            .is_some_and(|t| !t.backtrace.is_empty())
    });
    if !trapped || !bytes.starts_with(b"\0asm") {
        return None;
    }
    tierup::debuginfo::DebugInfo::new(bytes).ok().filter(|info| info.has_dwarf())
}

/// FILE's bytes: a module read into memory, or an artifact mapped from its file, as the code cache
/// maps its entries.
enum Input {
    Read(Vec<u8>),
    Mapped(MappedFile),
}

impl std::ops::Deref for Input {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Input::Read(bytes) => bytes,
            Input::Mapped(map) => map,
        }
    }
}

/// Maps FILE only when it is an artifact the user vouched for (`allow_precompiled`); anything
/// else is read, including an artifact about to be refused.
fn read_input(path: &Path, allow_precompiled: bool) -> std::io::Result<Input> {
    if allow_precompiled && tierup::artifact::is_artifact_file(path)? {
        // SAFETY: with --allow-precompiled the user trusts the artifact as a whole, which
        // includes not truncating it while this process maps it.
        return Ok(Input::Mapped(unsafe { MappedFile::open(path) }?));
    }
    std::fs::read(path).map(Input::Read)
}

/// The WASI context the command line grants: argv is FILE's name then ARGS (with --invoke, ARGS
/// are the function's, so argv is the name alone).
fn wasi_ctx(cmd: &RunCommand) -> Result<WasiCtx> {
    let name = cmd.file.file_name().unwrap_or(cmd.file.as_os_str()).to_string_lossy().into_owned();
    let program_args: &[String] = if cmd.invoke.is_some() { &[] } else { &cmd.args };
    let mut builder = WasiCtxBuilder::new()
        .args(std::iter::once(&name).chain(program_args))
        .env(cmd.env.iter().map(|(k, v)| (k, v)))
        .inherit_stdio();
    for dir in &cmd.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder = builder.preopen_dir(Path::new(host), guest)?;
    }
    if let Some(seed) = cmd.wasi_random_seed {
        builder = builder.random_seed(seed);
    }
    Ok(builder.build())
}

/// The module FILE holds: decoded (with the cache's code when there is a usable entry), or
/// loaded from an artifact when --allow-precompiled allows it.
fn load(
    cmd: &RunCommand,
    engine: &Engine,
    bytes: &[u8],
    cache: Option<&CodeCache>,
) -> Result<(Module, Option<CacheLookup>)> {
    let file = cmd.file.display();
    if tierup::artifact::is_artifact(bytes) {
        if !cmd.allow_precompiled {
            bail!(
                "{file} is precompiled code (a `tierup compile` artifact): running it trusts its \
                 machine code; pass --allow-precompiled to run it"
            );
        }
        // SAFETY: the user vouched for the artifact with --allow-precompiled; the loader checks
        // its checksum, build, CPU and configuration, and every offset, before mapping code.
        let module = unsafe { Module::deserialize(engine, bytes) }
            .with_context(|| format!("failed to load {file}"))?;
        return Ok((module, None));
    }
    match cache {
        Some(cache) if bytes.starts_with(b"\0asm") => {
            let stem = cmd.file.file_stem().map(|s| s.to_string_lossy().into_owned());
            // SAFETY: the cache directory is the user's own, written by tierup; entries are
            // checked (checksum, build, CPU, configuration, the module byte for byte).
            let (module, lookup) = unsafe { cache.load(engine, bytes, stem) }
                .with_context(|| format!("failed to compile {file}"))?;
            Ok((module, Some(lookup)))
        }
        _ => Ok((super::load_module(engine, &cmd.file)?, None)),
    }
}

/// The code cache --cache asks for, if any.
fn code_cache(cmd: &RunCommand) -> Result<Option<CodeCache>> {
    match &cmd.cache {
        None => Ok(None),
        Some(dir) if dir.as_os_str().is_empty() => match CodeCache::default_dir() {
            Some(dir) => Ok(Some(CodeCache::new(dir))),
            None => {
                bail!("--cache: no cache directory (set XDG_CACHE_HOME or HOME, or --cache=DIR)")
            }
        },
        Some(dir) => Ok(Some(CodeCache::new(dir))),
    }
}

/// The tier an artifact was compiled for (from its stored configuration), when it is readable.
fn artifact_tier(bytes: &[u8]) -> Option<Tiering> {
    let config = tierup::artifact::stored_config(bytes).ok()?;
    let tier = config.split(' ').find_map(|field| field.strip_prefix("tier="))?;
    tier.parse().ok()
}

fn config(cmd: &RunCommand, artifact: Option<&[u8]>) -> Config {
    let mut config = config_from_flags(cmd);
    // An artifact runs in its own tier unless --tier says otherwise (`auto` is the default).
    if config.tier == Tiering::Auto
        && let Some(tier) = artifact.and_then(artifact_tier)
    {
        config.tier = tier;
    }
    config
}

fn config_from_flags(cmd: &RunCommand) -> Config {
    cmd.tier.apply(Config {
        max_wasm_stack: cmd.max_wasm_stack,
        max_memory_size: cmd.max_memory_size,
        consume_fuel: cmd.fuel.is_some(),
        profiling_strategy: cmd.profile.map(|p| p.strategy).unwrap_or_default(),
        guest_profile_interval: cmd
            .profile
            .and_then(|p| p.guest)
            .map_or(DEFAULT_GUEST_INTERVAL, |g| g.interval),
        signals_based_traps: !cmd.explicit_bounds_checks,
        ..Config::default()
    })
}

/// The function to call and its type: `invoke`, or `_start` when there is none.
fn entry(module: &Module, invoke: Option<&str>) -> Result<(String, FuncType)> {
    let name = invoke.unwrap_or("_start");
    match module.exports().find(|(export, _)| *export == name) {
        Some((_, ExternType::Func(ty))) => Ok((name.to_string(), ty)),
        Some((_, other)) => bail!("export `{name}` is a {}, not a function", other.kind()),
        None => bail!("module has no `{name}` export{}", exported_funcs(module)),
    }
}

/// ` (exported functions: a, b)`, or a note that there are none, for a missing-export error.
fn exported_funcs(module: &Module) -> String {
    let funcs: Vec<&str> = module
        .exports()
        .filter(|(_, ty)| matches!(ty, ExternType::Func(_)))
        .map(|(name, _)| name)
        .collect();
    if funcs.is_empty() {
        " (it exports no functions)".to_string()
    } else {
        format!(" (exported functions: {})", funcs.join(", "))
    }
}

fn call(
    store: &mut Store<Host>,
    instance: Instance,
    name: &str,
    ty: &FuncType,
    args: &[Val],
) -> Result<Vec<Val>> {
    // `entry` found the export in the module, so the instance has it.
    let func = instance.get_func(store, name).context("export vanished after instantiation")?;
    let mut results = ty.results().iter().map(|t| Val::default_for(*t)).collect::<Vec<_>>();
    func.call(store, args, &mut results)?;
    Ok(results)
}

/// The `--phase-times` lines: the module's compile figures, then the phases, from the instants at
/// which each phase started and the last ended.
fn print_phase_times(module: &Module, [started, compiled, instantiated, ran]: [Instant; 4]) {
    let nanos =
        |from: Instant, to: Instant| u64::try_from((to - from).as_nanos()).unwrap_or(u64::MAX);
    let times = PhaseTimes {
        compile_ns: nanos(started, compiled),
        instantiate_ns: nanos(compiled, instantiated),
        run_ns: nanos(instantiated, ran),
    };
    let stats = module.compile_stats();
    let figures = CompileFigures {
        code_bytes: stats.code_bytes,
        tier1_functions: stats.tier1_functions as u64,
        tier1_ns: u64::try_from(stats.tier1_time.as_nanos()).unwrap_or(u64::MAX),
        tier2_functions: stats.tier2_functions as u64,
        tier2_ns: u64::try_from(stats.tier2_time.as_nanos()).unwrap_or(u64::MAX),
    };
    let line = format!("{figures}\n{times}\n");
    // A diagnostic like --stats: failing to print it must not change the run's outcome.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// What the separately compiled on-stack-replacement entries cost (they are not in the tier-2
/// table, which is per function): ` (compiled in T, the slowest T': function F at loop L)`.
fn osr_entry_times(stats: &tierup::CompileStats) -> String {
    let ms = |t: std::time::Duration| format!("{:.1} ms", t.as_secs_f64() * 1e3);
    match stats.tier2_osr_slowest {
        Some((func, ordinal, slowest)) => format!(
            " (compiled in {}, the slowest {}: function {func} at loop {ordinal})",
            ms(stats.tier2_osr_time),
            ms(slowest)
        ),
        None => String::new(),
    }
}

/// The `--stats` line saying where the module's code came from: compiled by this run, loaded
/// from an artifact or the code cache, and what the cache did.
fn print_code_origin(
    module: &Module,
    lookup: Option<&CacheLookup>,
    stored: Option<&std::io::Result<bool>>,
) {
    let stats = module.compile_stats();
    let mut line = format!(
        "code: compiled {} (tier 1) + {} (tier 2) functions + {} OSR entries{}, loaded {}",
        stats.tier1_functions,
        stats.tier2_functions,
        stats.tier2_osr_entries,
        osr_entry_times(&stats),
        stats.loaded_functions
    );
    match lookup {
        Some(CacheLookup::Hit) => line.push_str("; cache: hit"),
        Some(CacheLookup::Miss) => line.push_str("; cache: miss"),
        Some(CacheLookup::Rejected(why)) => line.push_str(&format!("; cache: ignored ({why})")),
        None => {}
    }
    match stored {
        Some(Ok(true)) => line.push_str(", entry written"),
        Some(Ok(false)) => line.push_str(", nothing new to write"),
        Some(Err(e)) => line.push_str(&format!(", cannot write the entry: {e}")),
        None => {}
    }
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn print_stats(store: &Store<Host>, instance: Instance, fuel: Option<u64>) {
    let fuel = fuel.map(|initial| Fuel { initial, remaining: store.fuel() });
    let table = stats::render(&instance.func_stats(store), fuel);
    // Statistics are a diagnostic: failing to print them must not change the run's outcome.
    let _ = std::io::stderr().lock().write_all(table.as_bytes());
}
