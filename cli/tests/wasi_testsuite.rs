//! The official WASI preview1 testsuite on every tier, through the built `tierup` binary.
//!
//! The suite (prebuilt C, Rust and AssemblyScript programs; see its README) lives outside the
//! repository, in `../shared/wasi-testsuite` next to the package, or wherever `WASI_TESTSUITE`
//! points. Each `NAME.wasm` runs as the suite's own runner runs it: `NAME.json` gives its
//! arguments, environment, exit code and expected stdout, and a `root` folder that is copied
//! afresh for every run (tests write into it) and preopened as the guest's `/`. Every program
//! must pass on every tier; `cargo test --test wasi_testsuite -- --nocapture` prints the counts.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

/// The languages the suite has programs in, each under `LANG/testsuite/wasm32-wasip1`.
const LANGUAGES: [&str; 3] = ["assemblyscript", "c", "rust"];

/// How long one program may run before it counts as hung (the slowest take well under 1 s).
const TIMEOUT: Duration = Duration::from_secs(60);

fn suite_dir() -> PathBuf {
    let dir = std::env::var_os("WASI_TESTSUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::workspace_root().join("../shared/wasi-testsuite"));
    assert!(
        dir.join("rust/testsuite/wasm32-wasip1").is_dir(),
        "the WASI testsuite is missing: expected the prebuilt suite at {} (set WASI_TESTSUITE to \
         its location)",
        dir.display()
    );
    dir
}

/// One test program and what its `NAME.json` asks of it.
struct Case {
    /// `LANG/NAME`, for reports.
    name: String,
    wasm: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    root: Option<PathBuf>,
    exit_code: i32,
    stdout: Option<String>,
}

fn cases() -> Vec<Case> {
    let suite = suite_dir();
    let mut cases = Vec::new();
    for language in LANGUAGES {
        let dir = suite.join(language).join("testsuite/wasm32-wasip1");
        let mut programs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
            .collect();
        programs.sort();
        cases.extend(programs.into_iter().map(|wasm| case(language, wasm)));
    }
    cases
}

fn case(language: &str, wasm: PathBuf) -> Case {
    let spec_file = wasm.with_extension("json");
    let spec: serde_json::Value = match std::fs::read_to_string(&spec_file) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{spec_file:?}: {e}")),
        Err(_) => serde_json::Value::Null,
    };
    let strings = |key: &str| -> Vec<String> {
        spec[key].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().into()).collect()
    };
    let env = spec["env"].as_object().into_iter().flatten();
    let stem = wasm.file_stem().unwrap().to_string_lossy();
    Case {
        name: format!("{language}/{stem}"),
        args: strings("args"),
        env: env.map(|(k, v)| (k.clone(), v.as_str().unwrap().into())).collect(),
        root: spec["root"].as_str().map(|root| wasm.parent().unwrap().join(root)),
        exit_code: spec["exit_code"].as_i64().map_or(0, |code| code as i32),
        stdout: spec["stdout"].as_str().map(String::from),
        wasm,
    }
}

/// Copies the tree at `from` to `to`, owner-writable whatever the source's modes (the suite
/// may sit on a read-only checkout, and tests write into their root).
fn copy_tree(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&source, &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(&source, &target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// Waits for `child`, killing it after `TIMEOUT`; its exit status (-1 for a signal) and stdout.
fn finish(mut child: Child) -> Result<(i32, Vec<u8>), String> {
    let start = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if start.elapsed() > TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            return Err(format!("still running after {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    Ok((output.status.code().unwrap_or(-1), output.stdout))
}

/// Runs `case` with `tier_args`; `Err` says how it failed.
fn run(case: &Case, tier_args: &[&str]) -> Result<(), String> {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = common::tierup_command();
    command.arg("run").args(tier_args);
    if let Some(root) = &case.root {
        let copy = scratch.path().join("root");
        copy_tree(root, &copy);
        command.arg(format!("--dir={}::/", copy.display()));
    }
    for (name, value) in &case.env {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    command.arg(&case.wasm).args(&case.args);
    // The guest's stderr (a failing Rust test's panic message) stays in the log.
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let (status, stdout) = finish(child)?;
    if status != case.exit_code {
        return Err(format!("exit status {status}, expected {}", case.exit_code));
    }
    match &case.stdout {
        Some(expected) if stdout != expected.as_bytes() => {
            Err(format!("stdout {:?}, expected {expected:?}", String::from_utf8_lossy(&stdout)))
        }
        _ => Ok(()),
    }
}

fn run_suite(tier_args: &[&str]) {
    let cases = cases();
    let mode = tier_args.join(" ");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run(case, tier_args).err().map(|why| format!("{}: {why}", case.name)))
        .collect();
    let passed = cases.len() - failures.len();
    println!("wasi-testsuite with {mode}: {passed} of {} passed", cases.len());
    assert!(!cases.is_empty(), "no test programs found");
    assert!(failures.is_empty(), "failed with {mode}:\n{}", failures.join("\n"));
}

#[test]
fn wasi_testsuite_interp() {
    run_suite(&["--tier", "interp"]);
}

#[test]
fn wasi_testsuite_baseline() {
    run_suite(&["--tier", "baseline"]);
}

#[test]
fn wasi_testsuite_auto() {
    run_suite(&["--tier", "auto"]);
}

/// Every function tiers up at its first call: interpreted and compiled code mixed everywhere.
#[test]
fn wasi_testsuite_auto_tier_up_at_once() {
    run_suite(&["--tier", "auto", "--tier-up-threshold", "1"]);
}
