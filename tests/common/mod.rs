//! Helpers shared by the integration tests that run the built `tierup` binary.

use std::process::Command;

/// A command that runs the built `tierup`. When the tests themselves run under an emulator
/// (`scripts/test-aarch64`: qemu-user, which cannot start a foreign binary by itself),
/// `TIERUP_TEST_RUNNER` names the command that runs `tierup`, split on spaces.
pub fn tierup_command() -> Command {
    let runner = std::env::var("TIERUP_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(env!("CARGO_BIN_EXE_tierup"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_tierup")),
    }
}
