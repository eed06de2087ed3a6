//! The `tierup` command: parse the arguments, run the subcommand, turn its outcome into an exit
//! status. Everything else lives in `cli/`, one module per subcommand, and in `bench/`, the
//! benchmark harness behind `tierup bench` (binary-only, so the library never carries its crates).

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
