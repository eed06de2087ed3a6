//! Every corpus program on every tier prints exactly its expected output (the native build's,
//! checked by `corpus/build.sh`), at the small size.
//!
//! Runs the built `tierup` binary, as a user would, once per program and tier.

use std::path::{Path, PathBuf};
use tierup::Tiering;

mod common;

/// The configurations every program runs in: each tier that exists (every name
/// `Tiering::from_str` accepts, so new tiers join without edits), `auto` moving every function
/// to tier 1 at its first call, and `auto` sending every function through all three tiers
/// (tier 2 at its second call, compiled in the background: the program keeps running meanwhile).
fn configurations() -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = ["interp", "baseline", "optimized"]
        .iter()
        .filter(|t| t.parse::<Tiering>().is_ok())
        .map(|t| vec!["--tier".to_string(), t.to_string()])
        .collect();
    let auto = |extra: &[&str]| {
        let mut args = vec!["--tier", "auto", "--tier-up-threshold", "1"];
        args.extend(extra);
        args.iter().map(|a| a.to_string()).collect()
    };
    out.push(auto(&[]));
    out.push(auto(&["--opt-threshold", "1"]));
    out
}

fn corpus() -> PathBuf {
    common::workspace_root().join("corpus")
}

/// `(name, wasm path, small args, expected small output)` of every program in `suite.txt`.
fn programs() -> Vec<(String, PathBuf, Vec<String>, String)> {
    let suite = std::fs::read_to_string(corpus().join("suite.txt")).expect("corpus/suite.txt");
    let names = suite.lines().map(|l| l.split('#').next().unwrap_or_default().trim());
    names
        .filter(|n| !n.is_empty())
        .map(|name| {
            let dir = corpus().join(name);
            let toml = std::fs::read_to_string(dir.join("bench.toml")).expect("bench.toml");
            let table: toml::Table = toml.parse().expect("bench.toml parses");
            let wasm = dir.join(table["wasm"].as_str().expect("wasm is a path"));
            let args = table["small_args"].as_array().expect("small_args is a list");
            let args = args.iter().map(|a| a.as_str().expect("args are strings").to_string());
            let expected =
                std::fs::read_to_string(dir.join("expected-small.txt")).expect("expected");
            (name.to_string(), wasm, args.collect(), expected)
        })
        .collect()
}

#[test]
fn every_corpus_program_matches_its_native_output_on_every_tier() {
    let mut failures = Vec::new();
    let programs = programs();
    assert!(programs.len() >= 12, "the corpus has {} programs", programs.len());
    for (name, wasm, args, expected) in &programs {
        for configuration in configurations() {
            let tier = configuration.join(" ");
            let out = common::tierup_command()
                .arg("run")
                .args(&configuration)
                .arg(wasm)
                .args(args)
                .output()
                .expect("tierup runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() || stdout != *expected {
                failures.push(format!(
                    "{name} on {tier}: status {}, stderr: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default()
                ));
            } else {
                println!("{name} on {tier}: ok");
            }
        }
    }
    assert!(failures.is_empty(), "corpus mismatches:\n{}", failures.join("\n"));
}

/// The `fuel: ... consumed` line `run --stats` prints, or why there is none.
fn fuel_consumed(wasm: &Path, args: &[String], tier: &[&str]) -> Result<String, String> {
    let out = common::tierup_command()
        .args(["run", "--fuel", "1000000000000", "--stats", "--wasi-random-seed", "1"])
        .args(tier)
        .arg(wasm)
        .args(args)
        .output()
        .expect("tierup runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("fuel: ")).map(str::to_string);
    match (out.status.success(), line) {
        (true, Some(line)) => Ok(line),
        _ => Err(format!("status {}, stderr: {}", out.status, stderr.trim_end())),
    }
}

/// Fuel is charged per operator identically in every tier, so a program consumes exactly the same
/// amount whether it is interpreted, compiled up front, or moved up at calls and in the middle of
/// its loops (`auto`, default threshold: main loops tier up by on-stack replacement). Randomness
/// is seeded: the Rust programs' hash maps would otherwise do different work on every run.
#[test]
fn every_corpus_program_consumes_the_same_fuel_on_every_tier() {
    let configurations: [&[&str]; 6] = [
        &["--tier", "interp"],
        &["--tier", "baseline"],
        &["--tier", "optimized"],
        &["--tier", "auto"],
        &["--tier", "auto", "--tier-up-threshold", "1"],
        &["--tier", "auto", "--tier-up-threshold", "1", "--opt-threshold", "1"],
    ];
    let mut failures = Vec::new();
    for (name, wasm, args, _) in &programs() {
        let reference = fuel_consumed(wasm, args, configurations[0]);
        for configuration in &configurations[1..] {
            let observed = fuel_consumed(wasm, args, configuration);
            if observed != reference || observed.is_err() {
                failures.push(format!("{name} {configuration:?}: {observed:?} vs {reference:?}"));
            }
        }
        println!("{name}: {}", reference.unwrap_or_default());
    }
    assert!(failures.is_empty(), "fuel differs between tiers:\n{}", failures.join("\n"));
}

/// Runs `tierup` with `args`: its status, stdout and stderr.
fn tierup(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = common::tierup_command().args(args).output().expect("tierup runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// Every program compiled ahead of time (`tierup compile`) and run from the artifact
/// (`--allow-precompiled`) prints its expected output with nothing compiled at run time; and with
/// `--cache`, its second run installs every function from the cache and compiles none.
#[test]
fn every_corpus_program_runs_the_same_from_an_artifact_and_from_the_code_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (name, wasm, args, expected) in &programs() {
        let os = |s: &str| std::ffi::OsString::from(s);
        let args: Vec<_> = args.iter().map(|a| os(a)).collect();
        let artifact = dir.path().join(format!("{name}.tup"));
        let (ok, _, err) = tierup(&[
            os("compile").as_ref(),
            wasm.as_os_str(),
            os("-o").as_ref(),
            artifact.as_os_str(),
        ]);
        assert!(ok, "{name}: compile failed: {err}");
        let mut run =
            vec![os("run"), os("--allow-precompiled"), os("--stats"), artifact.clone().into()];
        run.extend(args.iter().cloned());
        let run: Vec<&std::ffi::OsStr> = run.iter().map(|a| a.as_os_str()).collect();
        let (ok, out, err) = tierup(&run);
        let compiled_nothing =
            err.contains("code: compiled 0 (tier 1) + 0 (tier 2) functions + 0 OSR entries");
        if !ok || out != *expected || !compiled_nothing {
            failures.push(format!(
                "{name} from its artifact: {}",
                err.lines().last().unwrap_or_default()
            ));
        }
        let cache = format!("--cache={}", dir.path().join("cache").display());
        for attempt in ["first", "second"] {
            let mut run = vec![os("run"), os(&cache), os("--stats"), os("--tier-up"), os("sync")];
            // Seeded, so both runs take the same paths (hash tables seeded by `random_get`).
            run.extend([os("--tier-up-threshold"), os("1"), os("--wasi-random-seed"), os("1")]);
            run.push(wasm.clone().into());
            run.extend(args.iter().cloned());
            let run: Vec<&std::ffi::OsStr> = run.iter().map(|a| a.as_os_str()).collect();
            let (ok, out, err) = tierup(&run);
            let origin = err.lines().find(|l| l.starts_with("code: ")).unwrap_or_default();
            let expected_origin = match attempt {
                "first" => origin.contains("cache: miss, entry written"),
                _ => {
                    origin.starts_with(
                        "code: compiled 0 (tier 1) + 0 (tier 2) functions + 0 OSR entries",
                    ) && origin.contains("cache: hit, nothing new to write")
                }
            };
            if !ok || out != *expected || !expected_origin {
                failures.push(format!("{name}, {attempt} run with the cache: {origin}"));
            } else {
                println!("{name}, {attempt} run with the cache: {origin}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
