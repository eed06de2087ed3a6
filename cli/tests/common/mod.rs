//! Helpers shared by the integration tests that run the built `tierup` binary.

use std::path::Path;
use std::process::Command;

/// The workspace root, where `tests/data/`, `corpus/` and `benches/peers/` live (this crate is
/// `cli/` inside it).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ sits inside the workspace")
}

/// A command that runs the built `tierup` from the workspace root, so `tests/data/...` and
/// `corpus/...` paths resolve (a test that needs another directory sets its own). When the tests
/// themselves run under an emulator (`scripts/test-aarch64`: qemu-user, which cannot start a
/// foreign binary by itself), `TIERUP_TEST_RUNNER` names the command that runs `tierup`, split
/// on spaces.
pub fn tierup_command() -> Command {
    let runner = std::env::var("TIERUP_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(env!("CARGO_BIN_EXE_tierup"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_tierup")),
    };
    command.current_dir(workspace_root());
    command
}
