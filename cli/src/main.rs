//! The `tierup` command: parse the arguments, run the subcommand, turn its outcome into an exit
//! status. Everything else lives in `cli/`, one module per subcommand, and in `bench/`, the
//! benchmark harness behind `tierup bench`.
//!
//! This crate (`tierup-cli`) is the engine library's only user inside the workspace that pulls in
//! front-end crates: argument parsing, the harness's records and charts, `explore`'s
//! disassemblers. It uses the library's public API only; the library must never depend on it or
//! on its crates (`scripts/check-deps` fails if it does).

mod bench;
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::Cli::parse().execute() {
        Ok(status) => status,
        Err(err) => cli::report(&err),
    }
}
