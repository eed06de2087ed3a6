//! `tierup validate`: decode and validate a module without running anything.
//!
//! Validation is the library's (`Module::from_file`, which also translates); this module only
//! reports. It must never instantiate, so a module with imports validates without them.

use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tierup::{Config, Engine};

/// Check that a module decodes and validates, without running it
///
/// Prints `FILE: valid`, or the error on stderr and exits 1. Imports need not be available.
#[derive(Args, Debug)]
pub struct ValidateCommand {
    #[command(flatten)]
    features: super::features::FeatureOption,

    /// The module: a binary `.wasm` or a text `.wat` file
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn validate(cmd: ValidateCommand) -> Result<ExitCode> {
    let config = Config { features: cmd.features.features(), ..Config::default() };
    super::load_module(&Engine::new(config), &cmd.file)?;
    writeln!(std::io::stdout().lock(), "{}: valid", cmd.file.display())
        .context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}
