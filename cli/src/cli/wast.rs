//! `tierup wast`: run `.wast` spec scripts and sum up.
//!
//! The runner is the library's (`tierup::wast::run_wast`); this module reads the files, prints the
//! failures and the one summary line. The last line is always exactly `N passed, M failed` so
//! scripts can parse it; a file that cannot be read counts as one failure instead of ending the run.

use super::TierOption;
use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tierup::Config;
use tierup::wast::{WastReport, run_wast};

/// Run `.wast` spec scripts and count the assertions that pass and fail
///
/// Prints one line per failure, then exactly one line `N passed, M failed` summed over all files.
/// A file that cannot be read counts as one failure. Exits 1 if anything failed.
#[derive(Args, Debug)]
pub struct WastCommand {
    #[command(flatten)]
    tier: TierOption,

    /// The scripts to run
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

pub fn wast(cmd: WastCommand) -> Result<ExitCode> {
    let config = cmd.tier.apply(Config::default());
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    for file in &cmd.files {
        let report = run_file(&config, file);
        for line in &report.failures {
            writeln!(out, "{line}").context("cannot write to stdout")?;
        }
        passed += report.passed;
        failed += report.failed;
    }
    writeln!(out, "{passed} passed, {failed} failed").context("cannot write to stdout")?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn run_file(config: &Config, path: &Path) -> WastReport {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(source) => run_wast(config, &name, &source),
        Err(e) => WastReport {
            passed: 0,
            failed: 1,
            failures: vec![format!("{name}: {e}")],
            refusals: Vec::new(),
        },
    }
}
