//! Every corpus program on every tier prints exactly its expected output (the native build's,
//! checked by `corpus/build.sh`), at the small size.
//!
//! Runs the built `tierup` binary, as a user would, once per program and tier.

use std::path::{Path, PathBuf};
use tierup::Tier;

mod common;

/// The tiers that exist: every name `Tier::from_str` accepts, so new tiers join without edits.
fn tiers() -> Vec<Tier> {
    ["interp", "baseline", "optimized"].iter().filter_map(|t| t.parse().ok()).collect()
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
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
        for tier in tiers() {
            let out = common::tierup_command()
                .args(["run", "--tier", tier.name()])
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
