//! `tierup compile`: compile every function of a module ahead of time and write the code to an
//! artifact (`.tup`) that `tierup run --allow-precompiled` runs without compiling.
//!
//! The artifact's format, its checks and its loading are the library's (`tierup::artifact`,
//! `Module::serialize`); this module only chooses the configuration and writes the file.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use tierup::{Config, Engine, Tier};

/// Compile a module ahead of time into a `.tup` artifact for `tierup run --allow-precompiled`
///
/// Every function a tier can compile is compiled (functions the tier refuses, those using SIMD,
/// run in the tier below, as with `run --tier`). The artifact holds the module, the machine code
/// and what installing it needs; it runs only on this tierup build, on this instruction set with
/// the CPU features it was compiled for, under the same code-affecting options (give `run` the
/// same --explicit-bounds-checks, --passes and --regalloc).
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  tierup compile prog.wasm                 # writes prog.tup (tier 1)
  tierup compile --tier optimized prog.wasm -o prog-opt.tup
  tierup run --allow-precompiled prog.tup ARGS")]
pub struct CompileCommand {
    #[command(flatten)]
    features: super::features::FeatureOption,

    /// The tier that compiles: `baseline` (tier 1, the template JIT) or `optimized` (tier 2)
    #[arg(long, value_name = "TIER", default_value = "baseline")]
    tier: Tier,

    /// Where to write the artifact (default: FILE with the extension `.tup`)
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,

    /// Compile explicit memory bounds checks instead of relying on guard pages (as `run
    /// --explicit-bounds-checks`, which the artifact then needs)
    #[arg(long)]
    explicit_bounds_checks: bool,

    /// Tier 2's pass pipeline (as `run --passes`)
    #[arg(long, value_name = "PIPELINE", default_value = "-O", allow_hyphen_values = true)]
    passes: String,

    /// Tier 2's register allocator (as `run --regalloc`)
    #[arg(long, value_name = "ALLOCATOR", default_value = "backtracking",
          value_parser = <tierup::opt::RegallocAlgorithm as std::str::FromStr>::from_str)]
    regalloc: tierup::opt::RegallocAlgorithm,

    /// The module: a binary `.wasm` or a text `.wat` file
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn compile(cmd: CompileCommand) -> Result<ExitCode> {
    if cmd.tier == Tier::Interp {
        bail!("the interpreter compiles nothing ahead of time: use --tier baseline or optimized");
    }
    let config = Config {
        features: cmd.features.features(),
        tier: cmd.tier.into(),
        signals_based_traps: !cmd.explicit_bounds_checks,
        opt_pipeline: if cmd.passes == "none" { String::new() } else { cmd.passes.clone() },
        regalloc: cmd.regalloc,
        ..Config::default()
    };
    let module = super::load_module(&Engine::new(config), &cmd.file)?;
    let output = cmd.output.unwrap_or_else(|| cmd.file.with_extension("tup"));
    std::fs::write(&output, module.serialize())
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(ExitCode::SUCCESS)
}
