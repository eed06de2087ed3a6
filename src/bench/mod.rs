//! `tierup bench`: run the corpus on every tier and peer in child processes, check every output,
//! and report compile and run times, peak memory and ratios to a baseline; `--record` keeps the
//! result in `results/` with a regenerated README and charts.
//!
//! Binary-side only (declared from `main.rs`): the library never depends on the harness or its
//! crates (serde, toml, plotters, indicatif). Every measured run is a separate process, so a
//! crash, a leak or a warm cache in one run cannot touch another, and the harness's own memory
//! never counts. A peer that is not installed is skipped with a note, never faked.
//!
//! The pieces: `corpus` (what to run), `contender` (on what), `session` (in which order),
//! `measure` (one run), `phases` (the line children report), `stats`, `report`, `format`,
//! `record`, `host`, `readme`, `charts`.

mod charts;
mod contender;
mod corpus;
mod format;
mod host;
mod measure;
pub mod phases;
mod readme;
mod record;
mod report;
mod session;
mod stats;

use anyhow::{Result, bail};
use clap::Args;
use contender::{Contender, Toolbox};
use record::{BenchConfig, Record};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Benchmark the corpus on tierup's tiers and on peers (native, V8), in child processes
///
/// Each program runs WARMUP discarded and RUNS measured times on each tier and peer, round by
/// round so machine noise touches all alike; every run's stdout must equal the program's expected
/// output, or the cell reports an error instead of a time. Tables go to stdout, a progress bar and
/// notes to stderr. Exit status 1 if any measurement failed.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  tierup bench --small
  tierup bench nbody sha256 --peer native,v8-liftoff,v8-turbofan --runs 10
  tierup bench --record")]
pub struct BenchCommand {
    /// The corpus folder; native builds are looked for in its sibling target/corpus/
    #[arg(long, value_name = "DIR", default_value = "corpus")]
    corpus: PathBuf,

    /// The programs to run (default: those in the corpus's suite.txt)
    #[arg(value_name = "PROGRAM")]
    programs: Vec<String>,

    /// Tiers to measure: interp, baseline, optimized, auto (default: every implemented tier)
    ///
    /// Tiers this build does not implement are skipped with a note.
    #[arg(long = "tier", value_name = "LIST", value_delimiter = ',')]
    tiers: Option<Vec<String>>,

    /// Peers to measure: native, v8-liftoff, v8-turbofan, v8, or none (default: all four)
    ///
    /// native is the program's native build (target/corpus/<name>/native); the V8 peers run
    /// node with Liftoff only, TurboFan only, or V8's defaults. A peer that is not installed is
    /// skipped with a note.
    #[arg(long = "peer", value_name = "LIST", value_delimiter = ',')]
    peers: Option<Vec<String>>,

    /// Measured runs per program and tier/peer
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,

    /// Discarded runs before the measured ones
    #[arg(long, value_name = "N", default_value_t = 1)]
    warmup: u64,

    /// Use each program's small size (small_args, expected-small.txt)
    #[arg(long)]
    small: bool,

    /// The tier or peer ratios are taken to (default: native if measured, else interp)
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,

    /// Save the results as results/<date>-<commit>.json and regenerate results/README.md
    #[arg(long)]
    record: bool,

    /// The folder --record writes to
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,
}

pub fn bench(cmd: BenchCommand) -> Result<ExitCode> {
    let programs = corpus::load(&cmd.corpus, &cmd.programs, cmd.small)?;
    let (contenders, mut notes) = contenders(&cmd);
    if contenders.is_empty() {
        bail!("nothing to measure: no tier or peer given is available");
    }
    if let Some(baseline) = &cmd.baseline
        && !contenders.iter().any(|c| c.name() == baseline)
    {
        bail!("--baseline {baseline} is not among the tiers and peers measured");
    }
    let root = cmd.corpus.join("..");
    let tools = Toolbox::find(&root)?;
    print_notes(&notes);
    let (date, timestamp) = host::today();
    // Read before the session: the record names the code that was measured, even if the tree
    // changes while a long session runs.
    let (commit, dirty) = host::git_commit(&root);
    let plan = session::Plan {
        programs: &programs,
        contenders: &contenders,
        warmup: cmd.warmup as usize,
        runs: cmd.runs as usize,
    };
    let (measurements, skipped) = session::run(&plan, &tools);
    print_notes(&skipped);
    notes.extend(skipped);
    let record = Record {
        schema: record::SCHEMA,
        date,
        timestamp,
        commit,
        dirty,
        host: host::Host::detect(tools.node_version.clone()),
        config: config(&cmd, &programs, &contenders, &measurements),
        notes,
        measurements,
    };
    print!("{}", report::text(&record));
    if cmd.record {
        save(&cmd.results, &record)?;
    }
    let failed = record.measurements.iter().any(|m| m.error.is_some());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The contenders asked for (or the defaults), and notes for those skipped.
fn contenders(cmd: &BenchCommand) -> (Vec<Contender>, Vec<String>) {
    let tiers = cmd.tiers.clone().unwrap_or_else(contender::default_tiers);
    let peers = match &cmd.peers {
        Some(peers) if peers.iter().any(|p| p == "none") => Vec::new(),
        Some(peers) => peers.clone(),
        None => contender::PEER_NAMES.iter().map(|p| p.to_string()).collect(),
    };
    contender::select(&tiers, &peers)
}

fn config(
    cmd: &BenchCommand,
    programs: &[corpus::Program],
    contenders: &[Contender],
    measurements: &[record::Measurement],
) -> BenchConfig {
    BenchConfig {
        corpus: cmd.corpus.display().to_string(),
        programs: programs.iter().map(|p| p.name.clone()).collect(),
        contenders: contenders.iter().map(|c| c.name().to_string()).collect(),
        runs: cmd.runs as usize,
        warmup: cmd.warmup as usize,
        small: cmd.small,
        baseline: baseline(cmd.baseline.as_deref(), contenders, measurements),
    }
}

/// `--baseline`, else native if it measured anything, else interp, else the first contender.
fn baseline(
    asked: Option<&str>,
    contenders: &[Contender],
    measurements: &[record::Measurement],
) -> String {
    let measured =
        |name: &str| measurements.iter().any(|m| m.contender == name && m.ok_runs().is_some());
    let fallback = || {
        let first = contenders.first().map_or("interp", Contender::name);
        ["native", "interp"].into_iter().find(|name| measured(name)).unwrap_or(first)
    };
    asked.unwrap_or_else(fallback).to_string()
}

/// Saves the record and regenerates the README and charts from it.
fn save(dir: &Path, record: &Record) -> Result<()> {
    let path = record.save(dir)?;
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    readme::write(dir, record, &file)?;
    eprintln!("recorded {} and regenerated {}", path.display(), dir.join("README.md").display());
    Ok(())
}

fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("note: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use record::Measurement;

    fn measured(contender: &str, ok: bool) -> Measurement {
        let sample = measure::Sample {
            wall_ns: 1,
            compile_ns: None,
            instantiate_ns: None,
            run_ns: None,
            max_rss_kib: 1,
            code_bytes: None,
            tier1_compile_ns: None,
        };
        Measurement {
            program: "p".into(),
            contender: contender.into(),
            args: vec![],
            runs: vec![sample],
            error: (!ok).then(|| "wrong output".into()),
        }
    }

    #[test]
    fn the_baseline_prefers_a_measured_native() {
        let all = [Contender::Tier("interp".into()), Contender::Native];
        assert_eq!(
            baseline(None, &all, &[measured("interp", true), measured("native", true)]),
            "native"
        );
        assert_eq!(
            baseline(None, &all, &[measured("interp", true), measured("native", false)]),
            "interp"
        );
        assert_eq!(baseline(Some("v8"), &all, &[]), "v8");
    }
}
