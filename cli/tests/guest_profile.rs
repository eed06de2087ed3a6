//! `tierup run --profile=guest`: corpus programs profiled in every tier, their known hot function
//! on top of the report, tier-ups visible in the samples, the Firefox Profiler profile read back
//! (processed format) and the flame graph checked.

mod common;

use common::{tierup_command, workspace_root};
use std::path::Path;

/// One profiled run: the report (stderr), the profile as JSON and the flame graph's text.
struct Profiled {
    report: String,
    json: serde_json::Value,
    svg: String,
}

/// Runs corpus program `program` with `args` under `--profile=guest` and the options `extra`
/// (sampling every 100 µs unless `extra` says otherwise: these runs take tens of milliseconds,
/// and a ranking needs hundreds of samples, whatever else the machine runs).
fn profile(program: &str, extra: &[&str], args: &[&str]) -> Profiled {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("profile.json");
    let wasm = workspace_root().join(format!("corpus/{program}/{program}.wasm"));
    let output = tierup_command()
        .arg("run")
        .args(if extra.iter().any(|o| o.starts_with("--profile")) {
            &[][..]
        } else {
            &["--profile=guest,100us"]
        })
        .args(extra)
        .arg("--profile-output")
        .arg(&json_path)
        .arg(&wasm)
        .args(args)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{program} {extra:?} failed:\n{report}");
    let json = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let svg = std::fs::read_to_string(json_path.with_extension("svg")).unwrap();
    Profiled { report, json, svg }
}

/// The report's top functions, in order: `(name, self share %, tiers)`.
fn top_functions(report: &str) -> Vec<(String, f64, String)> {
    let mut lines = report.lines().skip_while(|l| !l.starts_with("top functions"));
    lines.next();
    lines.next(); // The header.
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let share = words[0].trim_end_matches('%').parse().unwrap();
            (words[3].to_string(), share, words[4..].join(" "))
        })
        .collect()
}

/// The labels of the frames the profile's samples name (`NAME [TIER]`).
fn sampled_labels(json: &serde_json::Value) -> Vec<String> {
    let thread = &json["threads"][0];
    let strings = thread["stringArray"].as_array().unwrap();
    let frames = &thread["frameTable"];
    let funcs = &thread["funcTable"];
    let stacks = &thread["stackTable"];
    let mut labels = Vec::new();
    for stack in thread["samples"]["stack"].as_array().unwrap() {
        let Some(mut stack) = stack.as_u64() else { continue };
        loop {
            let frame = stacks["frame"][stack as usize].as_u64().unwrap();
            let func = frames["func"][frame as usize].as_u64().unwrap();
            let name = funcs["name"][func as usize].as_u64().unwrap();
            labels.push(strings[name as usize].as_str().unwrap().to_string());
            match stacks["prefix"][stack as usize].as_u64() {
                Some(prefix) => stack = prefix,
                None => break,
            }
        }
    }
    labels
}

/// What every profile must be: the processed format's fields, samples that name `hot` in
/// `tier`, and a flame graph showing it.
fn check_profile(p: &Profiled, hot: &str, tier: &str) {
    let meta = &p.json["meta"];
    assert_eq!(meta["product"], "tierup");
    assert!(meta["version"].as_u64().is_some(), "meta.version: {meta}");
    assert!(meta["preprocessedProfileVersion"].as_u64().is_some(), "{meta}");
    assert_eq!(meta["interval"].as_f64(), Some(0.1), "the interval asked for, in ms");
    let categories: Vec<&str> =
        meta["categories"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    for category in ["Interpreter", "Baseline", "Optimized"] {
        assert!(categories.contains(&category), "{categories:?}");
    }
    let thread = &p.json["threads"][0];
    let samples = &thread["samples"];
    let length = samples["length"].as_u64().unwrap();
    assert!(length > 0);
    assert_eq!(samples["stack"].as_array().unwrap().len() as u64, length);
    assert_eq!(samples["timeDeltas"].as_array().unwrap().len() as u64, length);
    let label = format!("{hot} [{tier}]");
    assert!(sampled_labels(&p.json).contains(&label), "no sample names {label}");
    assert!(p.svg.starts_with("<?xml") && p.svg.contains("<svg"), "not an SVG");
    assert!(p.svg.contains(&format!("{hot}_[{tier}]")), "the flame graph does not show {label}");
}

/// Runs `program` pinned to `tier` and checks that `hot` tops the report, all in that tier.
fn hot_function_tops(program: &str, args: &[&str], tier: &str, hot: &str) {
    let p = profile(program, &["--tier", tier], args);
    let top = top_functions(&p.report);
    assert_eq!(top.first().map(|t| t.0.as_str()), Some(hot), "report:\n{}", p.report);
    assert!(top[0].1 > 50.0, "{hot} has most samples:\n{}", p.report);
    assert_eq!(top[0].2, format!("{tier} 100.0%"), "report:\n{}", p.report);
    check_profile(&p, hot, tier);
}

#[test]
fn fib_tops_in_every_tier() {
    for tier in ["interp", "baseline", "optimized"] {
        hot_function_tops("c-fib", &["30"], tier, "fib");
    }
}

/// The report's top loops: `(function, loop)`.
fn top_loops(report: &str) -> Vec<(String, String)> {
    let mut lines = report.lines().skip_while(|l| !l.starts_with("top loops"));
    lines.next();
    lines.next(); // The header.
    let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    lines
        .take_while(|l| l.starts_with("  "))
        .map(|l| (words(l)[2].clone(), words(l)[3].clone()))
        .collect()
}

/// The sieves (`byte_sieve`, `bit_sieve`) and the matrix multiply are static functions clang
/// inlines into `main` (the name section has no other function of theirs): `main` is the hot
/// function, and its loops say where.
#[test]
fn the_sieve_and_matmul_run_in_main_and_its_loops() {
    for (program, args) in [("c-sieve", "4000000"), ("c-matmul", "400")] {
        hot_function_tops(program, &[args], "baseline", "main");
        let p = profile(program, &["--tier", "baseline"], &[args]);
        let loops = top_loops(&p.report);
        assert!(loops.len() >= 2, "report:\n{}", p.report);
        // The busiest loops are main's (libc's memset may show up below them).
        assert!(loops[..2].iter().all(|(f, l)| f == "main" && l.starts_with('#')), "{}", p.report);
    }
}

/// A program that tiers up mid-run shows both tiers among its samples, and its loops on the
/// way (on-stack replacement rewrites the running frame's tier).
#[test]
fn a_tier_up_shows_both_tiers() {
    let options = [
        "--tier=auto",
        "--tier-up-threshold=2000000",
        "--opt-threshold=1000000000",
        "--tier-up=sync",
        "--profile=guest,200us",
    ];
    let p = profile("c-sieve", &options, &["1000000"]);
    let labels = sampled_labels(&p.json);
    for tier in ["interp", "baseline"] {
        assert!(
            labels.iter().any(|l| l.ends_with(&format!("[{tier}]"))),
            "no {tier} frames sampled; report:\n{}",
            p.report
        );
    }
    let hot = top_functions(&p.report);
    assert_eq!(hot[0].0, "main", "report:\n{}", p.report);
}

#[test]
fn the_interval_and_the_default_path_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = workspace_root().join("corpus/c-fib/c-fib.wasm");
    let output = tierup_command()
        .current_dir(dir.path())
        .args(["run", "--tier", "baseline", "--profile=guest,200us"])
        .arg(&wasm)
        .arg("30")
        .output()
        .unwrap();
    assert!(output.status.success());
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let json = files.iter().find(|f| f.starts_with("tierup-guest-") && f.ends_with(".json"));
    let json = json.unwrap_or_else(|| panic!("no profile among {files:?}"));
    let svg = json.replace(".json", ".svg");
    assert!(files.contains(&svg), "no flame graph among {files:?}");
    let profile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(dir.path()).join(json)).unwrap()).unwrap();
    assert_eq!(profile["meta"]["interval"].as_f64(), Some(0.2));
    let bad = tierup_command().args(["run", "--profile=guest,fast"]).arg(&wasm).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("interval"));
}
