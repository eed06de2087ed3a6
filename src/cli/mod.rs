//! The command line's shape: the top-level `Cli`, the subcommand list, and the few pieces more than
//! one subcommand shares (`--tier`, loading a module).
//!
//! Binary-only: this folder uses the library through its public API like any embedder, and must
//! never grow engine logic of its own. Each subcommand's behaviour lives in its own module; this one
//! only dispatches.

mod exit;
mod ir;
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
use tierup::{Engine, Module, Tier};

/// tierup: a tiered WebAssembly engine
///
/// Every function starts in the interpreter; a template JIT and an optimizing SSA tier are planned.
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
    Bench(crate::bench::BenchCommand),
    Validate(validate::ValidateCommand),
    Wast(wast::WastCommand),
    Ir(ir::IrCommand),
}

impl Cli {
    /// Runs the chosen subcommand. `Ok` carries the status of a command that reported its own
    /// outcome (a failed `wast` run); `Err` is left to [`report`].
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(cmd) => run::run(cmd),
            Command::Bench(cmd) => crate::bench::bench(cmd),
            Command::Validate(cmd) => validate::validate(cmd),
            Command::Wast(cmd) => wast::wast(cmd),
            Command::Ir(cmd) => ir::ir(cmd),
        }
    }
}

/// `--tier`, for the subcommands that execute wasm.
#[derive(Args, Debug)]
struct TierOption {
    /// The tier every function runs in
    ///
    /// `interp`: the interpreter runs everything. `baseline`: every function tier 1 (the template
    /// JIT, x86-64) can compile is compiled before the run; the rest stay in the interpreter (so
    /// far tier 1 compiles functions over integers, locals, globals, memory, control flow and
    /// calls, and nothing when --fuel is on). Planned, not available yet: `optimized` (the optimizing SSA
    /// tier) and `auto` (tiering up by profile).
    #[arg(long, value_name = "TIER", default_value = "interp", value_parser = Tier::from_str)]
    tier: Tier,
}

/// Reads and compiles FILE, naming it in the error.
fn load_module(engine: &Engine, path: &Path) -> anyhow::Result<Module> {
    Module::from_file(engine, path).with_context(|| format!("failed to compile {}", path.display()))
}
