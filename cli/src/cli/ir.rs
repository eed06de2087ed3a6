//! `tierup ir`: prints the SSA IR the optimizing tier builds for a module's functions, before and
//! after a pass pipeline, with per-pass statistics.
//!
//! The builder is the library's (`tierup::opt::build_module`) and the pipeline is
//! `tierup_passes`'; this module only reads the file, wires the options and prints. It must never
//! run the module.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tierup_passes::ir::{FuncId, Module};
use tierup_passes::pass::PassManager;
use tierup_passes::text::{print_function, print_module};

/// Print the SSA IR of a module's functions, before and after an optimization pipeline
///
/// Builds SSA for every function of FILE (`.wasm` or `.wat`) and prints it; with --passes, runs
/// the pipeline (pass names separated by commas, `fix(a,b)` to repeat to a fixed point, `-O` for
/// the default pipeline) with the verifier after every pass, and prints the result. Functions the
/// builder does not support are listed as comments (SIMD operators are built as opaque operators).
#[derive(Args, Debug)]
pub struct IrCommand {
    /// The module: a binary `.wasm` or a text `.wat` file
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Only this function (its name, export name, or `fnN`)
    #[arg(long, value_name = "NAME")]
    func: Option<String>,

    /// The pipeline, e.g. `inline,constfold,dce` or `-O`
    #[arg(long, value_name = "PIPELINE", allow_hyphen_values = true)]
    passes: Option<String>,

    /// Print the IR after every pass
    #[arg(long)]
    print_after_all: bool,

    /// Print the IR before these passes (comma-separated names)
    #[arg(long, value_name = "PASSES", value_delimiter = ',')]
    print_before: Vec<String>,

    /// Print the IR after these passes (comma-separated names)
    #[arg(long, value_name = "PASSES", value_delimiter = ',')]
    print_after: Vec<String>,

    /// Print per-pass statistics and timing after the IR
    #[arg(long)]
    stats: bool,

    /// Do not run the verifier after every pass (to time the pipeline alone)
    #[arg(long)]
    no_verify: bool,

    /// Also check every changed function with the SSA evaluator on N generated inputs per pass
    #[arg(long, value_name = "N", default_value_t = 0)]
    check: usize,
}

fn show(m: &Module, func: Option<FuncId>) -> String {
    match func {
        Some(f) => print_function(f, &m.funcs[f.index()]),
        None => print_module(m),
    }
}

pub fn ir(cmd: IrCommand) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&cmd.file).with_context(|| format!("cannot read {}", cmd.file.display()))?;
    let binary = wat::parse_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("failed to compile {}: {e}", cmd.file.display()))?;
    let start = Instant::now();
    let report = tierup::opt::build_module(&binary)
        .with_context(|| format!("failed to compile {}", cmd.file.display()))?;
    let build_time = start.elapsed();
    let mut module = report.module;
    let func = match &cmd.func {
        Some(name) => match module.find_func(name) {
            Some(f) => Some(f),
            None => bail!("no function `{name}` in {}", cmd.file.display()),
        },
        None => None,
    };
    let mut out = String::new();
    for (f, why) in &report.unsupported {
        if func.is_none_or(|x| x == *f) {
            out.push_str(&format!("; {f}: not built: {why}\n"));
        }
    }
    let Some(pipeline) = &cmd.passes else {
        out.push_str(&show(&module, func));
        std::io::stdout().lock().write_all(out.as_bytes()).context("cannot write to stdout")?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut pm = PassManager::new(pipeline)?;
    pm.options.verify = !cmd.no_verify;
    pm.options.check_inputs = cmd.check;
    pm.options.print_after_all = cmd.print_after_all;
    pm.options.print_before = cmd.print_before.clone();
    pm.options.print_after = cmd.print_after.clone();
    pm.options.print_func = func;
    let before_size: usize = module.funcs.iter().map(|f| f.inst_count()).sum();
    out.push_str("; before\n");
    out.push_str(&show(&module, func));
    let start = Instant::now();
    let result = pm.run(&mut module);
    let opt_time = start.elapsed();
    out.push_str(&pm.printed);
    if let Err(e) = result {
        std::io::stdout().lock().write_all(out.as_bytes()).ok();
        bail!("{e}");
    }
    out.push_str(&format!("; after {pipeline}\n"));
    out.push_str(&show(&module, func));
    if cmd.stats {
        let after_size: usize = module.funcs.iter().map(|f| f.inst_count()).sum();
        out.push_str("\n; statistics\n");
        for line in pm.stats_table().lines() {
            out.push_str(&format!("; {line}\n"));
        }
        out.push_str(&format!(
            "; module: {before_size} -> {after_size} instructions, {} calls inlined, \
             {} bytes of code built in {:.3} ms, pipeline {:.3} ms\n",
            pm.counter("calls inlined"),
            report.code_bytes,
            build_time.as_secs_f64() * 1e3,
            opt_time.as_secs_f64() * 1e3
        ));
        if cmd.check > 0 {
            out.push_str(&format!(
                "; evaluator: {} runs compared ({} traps), {} skipped\n",
                pm.checks.compared, pm.checks.traps, pm.checks.skipped
            ));
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes()).context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}
