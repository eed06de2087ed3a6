//! What a program is measured on: a tier of this engine (or of another tierup build), or a peer
//! (the native build, V8 in node with each of its tiers pinned, wasmi, wasmtime's Cranelift and
//! Winch). Each contender knows how to start one run as a child process, which phases its times
//! cover, and whether it can run at all here (`peers.rs` finds the outside programs).
//!
//! A contender that cannot run (a tier not built yet, a peer not installed, no native binary) is
//! skipped with a note, never replaced by something else: a number in the report always means what
//! its row says.

use super::corpus::Program;
use super::peers::{self, Peers};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use tierup::Tiering;

/// The tiers `--tier` accepts, in report order; `auto` (tier up by profile, the default policy).
pub const TIER_NAMES: [&str; 4] = ["interp", "baseline", "optimized", "auto"];

/// The peers `--peer` accepts by name, in report order (besides `tierup:[NAME=]PATH`).
pub const PEER_NAMES: [&str; 7] =
    ["native", "wasmi", "wasmtime", "winch", "v8-liftoff", "v8-turbofan", "v8"];

/// The prefix of a peer that is another tierup build: `tierup:PATH` or `tierup:NAME=PATH`.
pub const OTHER_BUILD: &str = "tierup:";

/// One column of the comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contender {
    /// `tierup run --tier TIER [OPTIONS]`, in a child process: this executable (`build` is
    /// `None`) or another tierup build. `name` is the tier, with `@LABEL` for another build and
    /// the options for a sweep value.
    Tierup { name: String, tier: String, build: Option<PathBuf>, options: Vec<String> },
    /// The program's native build, `target/corpus/<name>/native`.
    Native,
    /// node running `benches/peers/v8-wasi.mjs`, with V8 flags selecting its tiers.
    V8 { name: &'static str, flags: &'static [&'static str] },
    /// The `wasmi` command (wasmi_cli), wasmi's interpreter.
    Wasmi,
    /// Python running `benches/peers/wasmtime-wasi.py` with a wasmtime compiler strategy.
    Wasmtime { name: &'static str, strategy: &'static str },
}

/// What a contender's times cover, as tables and records state it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The contender's name.
    pub name: String,
    /// What runs: engine, version, settings.
    pub engine: String,
    /// What the compile column measures (`-` when the contender reports no phases).
    pub compile: String,
    /// What the run column, and so every ratio, measures.
    pub run: String,
}

/// The suffix of a tier measured with a warm code cache (`--warm-cache`).
pub const WARM_CACHE: &str = "+cache";

impl Contender {
    /// A tier of this executable.
    pub fn tier(tier: &str) -> Contender {
        Contender::Tierup { name: tier.into(), tier: tier.into(), build: None, options: vec![] }
    }

    /// Tier `tier` of this executable with the code cache in `dir`, warm: `TIER+cache`, whose
    /// compile column is start-up with cached code (the session fills the cache first, see
    /// [`Contender::fills_a_cache`]).
    pub fn tier_with_warm_cache(tier: &str, dir: &Path) -> Contender {
        Contender::Tierup {
            name: format!("{tier}{WARM_CACHE}"),
            tier: tier.into(),
            build: None,
            options: vec![format!("--cache={}", dir.display())],
        }
    }

    /// Whether one unmeasured run must come first, to fill the code cache its runs read.
    pub fn fills_a_cache(&self) -> bool {
        matches!(self, Contender::Tierup { options, .. }
            if options.iter().any(|o| o.starts_with("--cache")))
    }

    /// The name used in reports and records.
    pub fn name(&self) -> &str {
        match self {
            Contender::Tierup { name, .. } => name,
            Contender::Native => "native",
            Contender::V8 { name, .. } | Contender::Wasmtime { name, .. } => name,
            Contender::Wasmi => "wasmi",
        }
    }

    /// Whether a run prints the phase-times line (the native build and wasmi_cli do not).
    pub fn reports_phases(&self) -> bool {
        !matches!(self, Contender::Native | Contender::Wasmi)
    }

    /// What this contender's times cover, with the versions `peers` found.
    pub fn coverage(&self, peers: &Peers) -> Coverage {
        const START: &str = "the `_start` call";
        let (engine, compile, run) = match self {
            Contender::Tierup { tier, build, options, .. } => {
                let build = build.as_ref().map_or("this build".into(), |p| p.display().to_string());
                let options = if options.is_empty() {
                    String::new()
                } else {
                    format!(" {}", options.join(" "))
                };
                let compile = if self.fills_a_cache() {
                    "decode, validate, install cached code (a warm code cache: one unmeasured \
                     run filled it)"
                } else {
                    "decode, validate, compile (the engine's threads)"
                };
                (
                    format!("tierup ({build}), --tier {tier}{options}"),
                    compile.to_string(),
                    format!("{START} (tier-up compiles included)"),
                )
            }
            Contender::Native => (
                "native build (clang -O2 / cargo --release)".into(),
                "-".into(),
                "the whole process".into(),
            ),
            Contender::V8 { flags, .. } => (
                format!("V8 {}, {}", peers.node_description(), v8_flags(flags)),
                "new WebAssembly.Module, eager (V8's compile threads)".into(),
                format!("{START} (wasi.start)"),
            ),
            Contender::Wasmi => (
                format!("wasmi {} (wasmi_cli, default settings)", peers.wasmi_version()),
                "-".into(),
                "the whole process (start-up, translation, `_start`)".into(),
            ),
            Contender::Wasmtime { strategy, .. } => (
                format!("wasmtime {} ({strategy}, Python wheel)", peers.wasmtime_version()),
                "Module(), ahead of time (wasmtime's compile threads)".into(),
                START.into(),
            ),
        };
        Coverage { name: self.name().to_string(), engine, compile, run }
    }

    fn peer(name: &str) -> Option<Contender> {
        // `--no-warnings` silences node's ExperimentalWarning for WASI, which would go to stderr.
        // `--no-wasm-lazy-compilation` makes V8 compile every function in the compile phase, as
        // tierup does, so compile and run times compare like for like. Liftoff alone needs
        // `--no-wasm-dynamic-tiering` too: V8 14 ignores `--no-wasm-tier-up` for it and moves hot
        // functions to TurboFan (fib runs 2.5x faster without the flag).
        const LIFTOFF: &[&str] = &[
            "--no-warnings",
            "--no-wasm-lazy-compilation",
            "--liftoff",
            "--no-wasm-tier-up",
            "--no-wasm-dynamic-tiering",
        ];
        const TURBOFAN: &[&str] = &["--no-warnings", "--no-wasm-lazy-compilation", "--no-liftoff"];
        const DEFAULTS: &[&str] = &["--no-warnings", "--no-wasm-lazy-compilation"];
        match name {
            "native" => Some(Contender::Native),
            "wasmi" => Some(Contender::Wasmi),
            "wasmtime" => Some(Contender::Wasmtime { name: "wasmtime", strategy: "cranelift" }),
            "winch" => Some(Contender::Wasmtime { name: "winch", strategy: "winch" }),
            "v8-liftoff" => Some(Contender::V8 { name: "v8-liftoff", flags: LIFTOFF }),
            "v8-turbofan" => Some(Contender::V8 { name: "v8-turbofan", flags: TURBOFAN }),
            "v8" => Some(Contender::V8 { name: "v8", flags: DEFAULTS }),
            _ => None,
        }
    }
}

/// The V8 flags that pick tiers, as a reader wants them (the others are the same for all).
fn v8_flags(flags: &[&str]) -> String {
    let tiers: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| !matches!(*f, "--no-warnings" | "--no-wasm-lazy-compilation"))
        .collect();
    if tiers.is_empty() { "V8's default tiering".into() } else { tiers.join(" ") }
}

/// Another tierup build named in `--peer`: `tierup:PATH` (labelled by the path) or
/// `tierup:NAME=PATH`.
fn other_build(peer: &str) -> Option<(String, PathBuf)> {
    let spec = peer.strip_prefix(OTHER_BUILD)?;
    match spec.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Some((name.to_string(), PathBuf::from(path)))
        }
        _ if !spec.is_empty() => Some((spec.to_string(), PathBuf::from(spec))),
        _ => None,
    }
}

/// The contenders `tiers` and `peers` name, in the order given, and a note for each one skipped:
/// an unknown name, or a tier this build does not implement (as `Tiering::from_str` decides).
/// Another tierup build (`tierup:...`) runs each of the tiers, as `TIER@LABEL`.
pub fn select(tiers: &[String], peers: &[String]) -> (Vec<Contender>, Vec<String>) {
    let mut chosen = Vec::new();
    let mut notes = Vec::new();
    let mut valid_tiers = Vec::new();
    for name in tiers {
        match Tiering::from_str(name) {
            Ok(_) => valid_tiers.push(name.clone()),
            Err(why) => notes.push(format!("skipping tier `{name}`: {why}")),
        }
    }
    chosen.extend(valid_tiers.iter().map(|tier| Contender::tier(tier)));
    for name in peers {
        if let Some((label, path)) = other_build(name) {
            chosen.extend(valid_tiers.iter().map(|tier| Contender::Tierup {
                name: format!("{tier}@{label}"),
                tier: tier.clone(),
                build: Some(path.clone()),
                options: vec![],
            }));
            continue;
        }
        match Contender::peer(name) {
            Some(peer) => chosen.push(peer),
            None => notes.push(format!(
                "skipping peer `{name}`: unknown (expected one of {}, or {OTHER_BUILD}[NAME=]PATH)",
                PEER_NAMES.join(", ")
            )),
        }
    }
    let mut unique = Vec::new();
    for contender in chosen {
        if !unique.contains(&contender) {
            unique.push(contender);
        }
    }
    (unique, notes)
}

/// The tiers measured when `--tier` is not given: every one this build implements.
pub fn default_tiers() -> Vec<String> {
    let exists = |name: &&&str| Tiering::from_str(name).is_ok();
    TIER_NAMES.iter().filter(exists).map(|name| name.to_string()).collect()
}

/// Where the outside programs are: the tierup executable, the native builds, the peers.
#[derive(Clone, Debug)]
pub struct Toolbox {
    /// This executable, which `run`s the tiers.
    pub tierup: PathBuf,
    /// `target/corpus`, holding `<name>/native`.
    pub native_dir: PathBuf,
    /// The peers' programs and runner scripts.
    pub peers: Peers,
}

impl Toolbox {
    /// Finds everything relative to `root`, the folder holding the corpus folder (the peers'
    /// runner scripts are also looked for in this crate's source tree, so a corpus elsewhere can
    /// still be run on the peers).
    pub fn find(root: &Path) -> std::io::Result<Toolbox> {
        Ok(Toolbox {
            tierup: std::env::current_exe()?,
            native_dir: root.join("target").join("corpus"),
            peers: Peers::find(root),
        })
    }

    /// Why `contender` cannot run `program` here, if it cannot.
    pub fn unavailable(&self, contender: &Contender, program: &Program) -> Option<String> {
        match contender {
            Contender::Tierup { build: None, .. } => None,
            Contender::Tierup { build: Some(path), .. } => (!peers::is_executable(path))
                .then(|| format!("the tierup build {} is not an executable file", path.display())),
            Contender::Native => {
                let path = self.native_path(program);
                let missing = !path.is_file();
                missing.then(|| {
                    format!("no native build {} (corpus/build.sh makes it)", path.display())
                })
            }
            Contender::V8 { .. } => self.peers.node().err(),
            Contender::Wasmi => self.peers.wasmi().err(),
            Contender::Wasmtime { .. } => self.peers.wasmtime().err(),
        }
    }

    /// The command for one run of `program` on `contender` (which must be available).
    pub fn command(&self, contender: &Contender, program: &Program) -> Command {
        let mut command = match contender {
            Contender::Tierup { tier, build, options, .. } => {
                let mut command = Command::new(build.as_ref().unwrap_or(&self.tierup));
                command.args(["run", "--tier", tier, "--phase-times"]).args(options);
                command.arg(&program.wasm);
                command
            }
            Contender::Native => Command::new(self.native_path(program)),
            Contender::V8 { flags, .. } => {
                let node = self.peers.node().expect("an available peer");
                let mut command = Command::new(&node.program);
                command.args(*flags).arg(&node.runner).arg(&program.wasm);
                command
            }
            Contender::Wasmi => {
                let wasmi = self.peers.wasmi().expect("an available peer");
                let mut command = Command::new(&wasmi.program);
                command.arg("run").arg(&program.wasm);
                command
            }
            Contender::Wasmtime { strategy, .. } => {
                let python = self.peers.wasmtime().expect("an available peer");
                let mut command = Command::new(&python.program);
                command.arg(&python.runner).arg(strategy).arg(&program.wasm);
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
    fn another_build_runs_every_tier_under_its_label() {
        let tiers = names(&["interp", "auto"]);
        let peers = names(&["tierup:old=/tmp/tierup", "tierup:../b/tierup", "wasmi", "winch"]);
        let (chosen, notes) = select(&tiers, &peers);
        let chosen: Vec<&str> = chosen.iter().map(Contender::name).collect();
        assert_eq!(
            chosen,
            [
                "interp",
                "auto",
                "interp@old",
                "auto@old",
                "interp@../b/tierup",
                "auto@../b/tierup",
                "wasmi",
                "winch"
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(other_build("tierup:"), None);
        assert_eq!(other_build("tierup:=x"), Some(("=x".into(), PathBuf::from("=x"))));
    }

    #[test]
    fn the_default_tiers_all_exist() {
        let tiers = default_tiers();
        assert!(tiers.contains(&"interp".to_string()));
        assert!(tiers.iter().all(|t| Tiering::from_str(t).is_ok()));
    }
}
