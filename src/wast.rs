//! The `.wast` script runner shared by `tierup wast` and the spec testsuite tests.
//!
//! Runs every directive the official testsuite uses against a fresh [`Store`](crate::Store) with the
//! `spectest` host module, counting assertions. It never panics on bad input: a script that does not
//! parse counts as one failure.

use crate::engine::Config;

/// The outcome of running one script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WastReport {
    /// Assertions (and module definitions) that held.
    pub passed: usize,
    /// Assertions that did not hold.
    pub failed: usize,
    /// One line per failure: `name:line:col: what went wrong`.
    pub failures: Vec<String>,
}

/// Runs the `.wast` script `source` (named `name` in messages) under `config`.
pub fn run_wast(config: &Config, name: &str, source: &str) -> WastReport {
    let _ = (config, source);
    WastReport { passed: 0, failed: 1, failures: vec![format!("{name}: wast runner not built yet")] }
}
