//! The command line's shape: the top-level `Cli`, the subcommand list, and the few pieces more than
//! one subcommand shares (`--tier`, loading a module).
//!
//! Binary-only: this folder uses the library through its public API like any embedder, and must
//! never grow engine logic of its own. Each subcommand's behaviour lives in its own module; this one
//! only dispatches.

mod compile;
mod debug;
mod exit;
mod explore;
mod features;
mod guest_profile;
mod ir;
mod memory_report;
mod run;
mod size;
mod stats;
mod validate;
mod values;
mod wast;

pub use exit::report;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use tierup::opt::RegallocAlgorithm;
use tierup::tier::tuning::default_compile_threads;
use tierup::{BudgetChecks, Config, Engine, Module, TierUpMode, TierUpPolicy, Tiering};

/// tierup: a tiered WebAssembly engine
///
/// Every function starts in the interpreter; hot functions move to a template JIT (tier 1), and
/// hot tier-1 code to the optimizing SSA tier (tier 2).
/// Errors are reported on stderr as one `error:` line; exit status 1 (134 for a wasm trap).
#[derive(Parser, Debug)]
#[command(name = "tierup", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Run(run::RunCommand),
    Debug(debug::DebugCommand),
    Compile(compile::CompileCommand),
    Bench(crate::bench::BenchCommand),
    Validate(validate::ValidateCommand),
    Wast(wast::WastCommand),
    Explore(explore::ExploreCommand),
    Ir(ir::IrCommand),
}

impl Cli {
    /// Runs the chosen subcommand. `Ok` carries the status of a command that reported its own
    /// outcome (a failed `wast` run); `Err` is left to [`report`].
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(cmd) => run::run(cmd),
            Command::Debug(cmd) => debug::debug(cmd),
            Command::Compile(cmd) => compile::compile(cmd),
            Command::Bench(cmd) => crate::bench::bench(cmd),
            Command::Validate(cmd) => validate::validate(cmd),
            Command::Wast(cmd) => wast::wast(cmd),
            Command::Explore(cmd) => explore::explore(cmd),
            Command::Ir(cmd) => ir::ir(cmd),
        }
    }
}

/// `--tier` and `--tier-up-threshold`, for the subcommands that execute wasm; `--wasm` and `-W`
/// with them.
#[derive(Args, Debug)]
struct TierOption {
    #[command(flatten)]
    features: features::FeatureOption,

    /// Which tier functions run in
    ///
    /// `auto`: every function starts in the interpreter and moves to tier 1 (the template JIT,
    /// x86-64 and aarch64) when its calls and loop iterations reach --tier-up-threshold, and from
    /// tier 1 to tier 2 (the optimizing SSA tier) at --opt-threshold; a hot loop moves up at its
    /// header (on-stack replacement). `interp`: the interpreter runs everything. `baseline`:
    /// every function is compiled by tier 1 before the run. `optimized`: every function is
    /// compiled by tier 2 before the run. Functions a tier does not compile (SIMD) run in the
    /// tier below.
    #[arg(long, value_name = "TIER", default_value = "auto", value_parser = Tiering::from_str)]
    tier: Tiering,

    /// Hotness at which `--tier auto` compiles a function: a call counts 10, a loop back-edge 1
    ///
    /// 1 compiles every function on its first call. The default (1000) follows JavaScriptCore's
    /// and V8's budgets scaled to tierup's compile cost; see src/tier/tuning.rs.
    #[arg(long, value_name = "N", default_value_t = TierUpPolicy::default().threshold)]
    tier_up_threshold: u64,

    /// Hotness in tier 1 at which `--tier auto` compiles a function with tier 2 (the optimizing
    /// tier), counted with the same weights
    #[arg(long, value_name = "N", default_value_t = TierUpPolicy::default().opt_threshold)]
    opt_threshold: u64,

    /// Tier 2's pass pipeline: pass names separated by commas, `fix(a,b)` repeating a group,
    /// `-O` the default pipeline, `none` no passes (see `tierup ir`)
    #[arg(long, value_name = "PIPELINE", default_value = "-O", allow_hyphen_values = true)]
    passes: String,

    /// Tier 2's register allocator: `backtracking` (regalloc2's Ion) or `fast` (its single-pass
    /// allocator)
    #[arg(long, value_name = "ALLOCATOR", default_value = "backtracking",
          value_parser = RegallocAlgorithm::from_str)]
    regalloc: RegallocAlgorithm,

    /// Where tier-up compiles: `background` (compile threads; the running code keeps going in
    /// its tier and takes the new code at its next call or loop back-edge) or `sync` (at once,
    /// on the thread whose function got hot: deterministic moments, for experiments)
    ///
    /// Results never depend on it; only when code moves up does.
    #[arg(long, value_name = "MODE", default_value = "background", value_parser = TierUpMode::from_str)]
    tier_up: TierUpMode,

    /// Compile threads for background tier-up (default: one per core but one, at least one), besides
    /// one that compiles for tier 1 only, so tier-1 requests never wait behind tier-2 compiles
    #[arg(long, value_name = "N", default_value_t = default_compile_threads(),
          value_parser = parse_compile_threads)]
    compile_threads: usize,

    /// Whether code counts calls and loop back-edges (`off` measures what counting costs;
    /// nothing tiers up without the counts)
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = parse_on_off,
          action = clap::ArgAction::Set)]
    profile_counters: bool,

    /// Whether tier-1 code spends the tier-up budget as it counts: `useful` (only where a higher
    /// tier is enabled) or `always` (to measure what the checks cost)
    #[arg(long, value_name = "MODE", default_value = "useful", value_parser = BudgetChecks::from_str)]
    budget_checks: BudgetChecks,
}

/// `on` or `off`.
fn parse_on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected `on` or `off`, not `{text}`")),
    }
}

/// `--compile-threads`: a count of at least one.
fn parse_compile_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one compile thread is needed".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl TierOption {
    /// The engine settings these options stand for.
    fn apply(&self, config: Config) -> Config {
        let tier_up = TierUpPolicy {
            threshold: self.tier_up_threshold,
            opt_threshold: self.opt_threshold,
            ..config.tier_up
        };
        Config {
            features: self.features.features(),
            tier: self.tier,
            tier_up,
            tier_up_mode: self.tier_up,
            compile_threads: self.compile_threads,
            profile_counters: self.profile_counters,
            budget_checks: self.budget_checks,
            opt_pipeline: if self.passes == "none" { String::new() } else { self.passes.clone() },
            regalloc: self.regalloc,
            ..config
        }
    }
}

/// Reads and compiles FILE, naming it in the error.
fn load_module(engine: &Engine, path: &Path) -> anyhow::Result<Module> {
    Module::from_file(engine, path).with_context(|| format!("failed to compile {}", path.display()))
}
