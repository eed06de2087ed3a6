//! What a program is measured on: a tier of this engine, or a peer (the native build, V8 in node
//! with each of its tiers pinned). Each contender knows how to start one run as a child process and
//! whether it can run at all here.
//!
//! A contender that cannot run (a tier not built yet, no node, no native binary) is skipped with a
//! note, never replaced by something else: a number in the report always means what its row says.

use super::corpus::Program;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use tierup::Tiering;

/// The tiers `--tier` accepts, in report order; `auto` (tier up by profile, the default policy).
pub const TIER_NAMES: [&str; 4] = ["interp", "baseline", "optimized", "auto"];

/// The peers `--peer` accepts, in report order.
pub const PEER_NAMES: [&str; 4] = ["native", "v8-liftoff", "v8-turbofan", "v8"];

/// One column of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contender {
    /// `tierup run --tier NAME`, in a child process.
    Tier(String),
    /// The program's native build, `target/corpus/<name>/native`.
    Native,
    /// node running `benches/peers/v8-wasi.mjs`, with V8 flags selecting its tiers.
    V8 { name: &'static str, flags: &'static [&'static str] },
}

impl Contender {
    /// The name used in reports and records.
    pub fn name(&self) -> &str {
        match self {
            Contender::Tier(name) => name,
            Contender::Native => "native",
            Contender::V8 { name, .. } => name,
        }
    }

    /// Whether a run prints the phase-times line (the native build knows nothing of phases).
    pub fn reports_phases(&self) -> bool {
        !matches!(self, Contender::Native)
    }

    fn peer(name: &str) -> Option<Contender> {
        // `--no-warnings` silences node's ExperimentalWarning for WASI, which would go to stderr.
        // `--no-wasm-lazy-compilation` makes V8 compile every function in the compile phase, as
        // tierup does, so compile and run times compare like for like. (node 20.20 still crashes
        // after `rust-regex-json` prints its output at the default size with `--liftoff` or
        // `--no-liftoff`; the harness reports that cell as an error, never as a time.)
        match name {
            "native" => Some(Contender::Native),
            "v8-liftoff" => Some(Contender::V8 {
                name: "v8-liftoff",
                flags: &[
                    "--no-warnings",
                    "--no-wasm-lazy-compilation",
                    "--liftoff",
                    "--no-wasm-tier-up",
                ],
            }),
            "v8-turbofan" => Some(Contender::V8 {
                name: "v8-turbofan",
                flags: &["--no-warnings", "--no-wasm-lazy-compilation", "--no-liftoff"],
            }),
            "v8" => Some(Contender::V8 {
                name: "v8",
                flags: &["--no-warnings", "--no-wasm-lazy-compilation"],
            }),
            _ => None,
        }
    }
}

/// The contenders `tiers` and `peers` name, in the order given, and a note for each one skipped:
/// an unknown name, or a tier this build does not implement (as `Tiering::from_str` decides).
pub fn select(tiers: &[String], peers: &[String]) -> (Vec<Contender>, Vec<String>) {
    let mut chosen = Vec::new();
    let mut notes = Vec::new();
    for name in tiers {
        match Tiering::from_str(name) {
            Ok(_) => chosen.push(Contender::Tier(name.clone())),
            Err(why) => notes.push(format!("skipping tier `{name}`: {why}")),
        }
    }
    for name in peers {
        match Contender::peer(name) {
            Some(peer) => chosen.push(peer),
            None => notes.push(format!(
                "skipping peer `{name}`: unknown (expected one of {})",
                PEER_NAMES.join(", ")
            )),
        }
    }
    chosen.dedup_by(|a, b| a == b);
    (chosen, notes)
}

/// The tiers measured when `--tier` is not given: every one this build implements.
pub fn default_tiers() -> Vec<String> {
    let exists = |name: &&&str| Tiering::from_str(name).is_ok();
    TIER_NAMES.iter().filter(exists).map(|name| name.to_string()).collect()
}

/// Where the outside programs are: the tierup executable, the native builds, the node runner.
#[derive(Clone, Debug)]
pub struct Toolbox {
    /// This executable, which `run`s the tiers.
    pub tierup: PathBuf,
    /// `target/corpus`, holding `<name>/native`.
    pub native_dir: PathBuf,
    /// The node runner script, if found.
    pub node_runner: Option<PathBuf>,
    /// `node --version`, if node runs.
    pub node_version: Option<String>,
}

/// The node runner's path below the repository root.
const NODE_RUNNER: &str = "benches/peers/v8-wasi.mjs";

impl Toolbox {
    /// Finds everything relative to `root`, the folder holding the corpus folder. The node runner is
    /// also looked for in this crate's source tree, so a corpus elsewhere can still be run on V8.
    pub fn find(root: &Path) -> std::io::Result<Toolbox> {
        let runners =
            [root.join(NODE_RUNNER), Path::new(env!("CARGO_MANIFEST_DIR")).join(NODE_RUNNER)];
        Ok(Toolbox {
            tierup: std::env::current_exe()?,
            native_dir: root.join("target").join("corpus"),
            node_runner: runners.into_iter().find(|path| path.is_file()),
            node_version: super::host::command_output("node", &["--version"]),
        })
    }

    /// Why `contender` cannot run `program` here, if it cannot.
    pub fn unavailable(&self, contender: &Contender, program: &Program) -> Option<String> {
        match contender {
            Contender::Tier(_) => None,
            Contender::Native => {
                let path = self.native_path(program);
                let missing = !path.is_file();
                missing.then(|| {
                    format!("no native build {} (corpus/build.sh makes it)", path.display())
                })
            }
            Contender::V8 { .. } if self.node_version.is_none() => {
                Some("node is not installed".into())
            }
            Contender::V8 { .. } if self.node_runner.is_none() => {
                Some(format!("the node runner {NODE_RUNNER} is missing"))
            }
            Contender::V8 { .. } => None,
        }
    }

    /// The command for one run of `program` on `contender` (which must be available).
    pub fn command(&self, contender: &Contender, program: &Program) -> Command {
        let mut command = match contender {
            Contender::Tier(tier) => {
                let mut command = Command::new(&self.tierup);
                command.args(["run", "--tier", tier, "--phase-times"]).arg(&program.wasm);
                command
            }
            Contender::Native => Command::new(self.native_path(program)),
            Contender::V8 { flags, .. } => {
                let mut command = Command::new("node");
                command
                    .args(*flags)
                    .arg(self.node_runner.as_deref().unwrap_or(Path::new(NODE_RUNNER)));
                command.arg(&program.wasm);
                command
            }
        };
        command.args(&program.args);
        command
    }

    fn native_path(&self, program: &Program) -> PathBuf {
        self.native_dir.join(&program.name).join("native")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unknown_and_unimplemented_names_are_skipped_with_a_note() {
        let (chosen, notes) = select(&names(&["interp", "turbo"]), &names(&["v8-liftoff", "jsc"]));
        let chosen: Vec<&str> = chosen.iter().map(Contender::name).collect();
        assert_eq!(chosen, ["interp", "v8-liftoff"]);
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("turbo") && notes[1].contains("jsc"), "{notes:?}");
    }

    #[test]
    fn the_default_tiers_all_exist() {
        let tiers = default_tiers();
        assert!(tiers.contains(&"interp".to_string()));
        assert!(tiers.iter().all(|t| Tiering::from_str(t).is_ok()));
    }
}
