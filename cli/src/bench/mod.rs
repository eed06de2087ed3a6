//! `tierup bench`: run the corpus on every tier and peer in child processes, check every output,
//! and report compile and run times, peak memory and ratios to a baseline; `--record` keeps the
//! result in `results/` with a regenerated README and charts; `--compare` sets a run (or a record)
//! against an earlier record; `--sweep` measures a tiering knob over a range of values.
//!
//! Part of the `tierup-cli` crate (declared from `main.rs`), never of the engine library, so an
//! embedder never carries the harness's crates (serde, toml, plotters, indicatif). Every measured run is a separate process, so a
//! crash, a leak or a warm cache in one run cannot touch another, and the harness's own memory
//! never counts. A peer that is not installed is skipped with a note, never faked.
//!
//! The pieces: `corpus` (what to run), `contender` and `peers` (on what), `session` (in which
//! order and how often), `measure` (one run), `phases` (the line children report), `stats`,
//! `report`, `compare`, `sweep`, `format`, `record`, `host`, `readme`, `history`, `charts`.

mod charts;
mod compare;
mod contender;
mod corpus;
mod format;
mod history;
mod host;
mod measure;
mod peers;
pub mod phases;
mod readme;
mod record;
mod report;
mod session;
mod stats;
mod sweep;

use anyhow::{Context, Result, bail};
use clap::Args;
use contender::{Contender, Toolbox};
use corpus::Size;
use record::{BenchConfig, Protocol, Record};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Benchmark the corpus on tierup's tiers and on peers (native, wasmi, wasmtime, Winch, V8), in
/// child processes
///
/// By default each cell (a program on a tier or peer) runs until its median is stable, it has
/// run --max-runs times, or its share of --budget is spent; --runs N (or --full) runs every cell
/// a fixed number of times instead. Runs go round by round over the tiers and peers so machine
/// noise touches all alike; every run's stdout must equal the program's expected output, or the
/// cell reports an error instead of a time. Tables go to stdout, a progress bar with the time left
/// and notes to stderr. Exit status 1 if any measurement failed.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  tierup bench --small
  tierup bench c-nbody sqlite --peer native,wasmtime,v8-turbofan --runs 10
  tierup bench --size medium --budget 8m --peer native,wasmi,wasmtime,winch,v8-liftoff,v8-turbofan
  tierup bench --tier auto --peer tierup:old=../main/target/release/tierup
  tierup bench --compare results/2026-11-26-8311d27.json
  tierup bench --compare results/OLD.json results/NEW.json
  tierup bench --sweep tier-up-threshold=1,10,100,1000,10000 --size medium
  tierup bench --record")]
pub struct BenchCommand {
    /// The corpus folder; native builds are looked for in its sibling target/corpus/
    #[arg(long, value_name = "DIR", default_value = "corpus")]
    corpus: PathBuf,

    /// The programs to run (default: those in the corpus's suite.txt)
    #[arg(value_name = "PROGRAM")]
    programs: Vec<String>,

    /// Tiers to measure: interp, baseline, optimized, auto (default: every implemented tier;
    /// with --sweep, auto)
    ///
    /// Tiers this build does not implement are skipped with a note.
    #[arg(long = "tier", value_name = "LIST", value_delimiter = ',')]
    tiers: Option<Vec<String>>,

    /// Peers to measure: native, wasmi, wasmtime, winch, v8-liftoff, v8-turbofan, v8,
    /// tierup:[NAME=]PATH, or none (default: every named peer; with --sweep, none)
    ///
    /// native is the program's native build (target/corpus/<name>/native); wasmi is wasmi_cli;
    /// wasmtime and winch are wasmtime's Cranelift and Winch compilers; the V8 peers run node
    /// with Liftoff only, TurboFan only, or V8's defaults. `tierup:PATH` is another tierup build,
    /// run on each measured tier as TIER@PATH (TIER@NAME with `tierup:NAME=PATH`), so a change
    /// is judged side by side in one run. scripts/setup installs the peers; a peer that is not
    /// installed is skipped with a note.
    #[arg(long = "peer", value_name = "LIST", value_delimiter = ',')]
    peers: Option<Vec<String>>,

    /// Also measure each tier with a warm code cache, as TIER+cache (`tierup run --cache`, after
    /// one unmeasured run filled the session's own cache): its compile column is start-up with
    /// cached code, beside the tier's cold one
    #[arg(long)]
    warm_cache: bool,

    /// Run every cell exactly N times (after --warmup runs) instead of adaptively
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,

    /// Discarded runs before the measured ones (default: 1 with --runs or --full, else 0)
    #[arg(long, value_name = "N")]
    warmup: Option<u64>,

    /// The full protocol: 1 warm-up and 5 measured runs per cell, at the default size unless
    /// --size says otherwise
    #[arg(long, conflicts_with = "runs")]
    full: bool,

    /// Adaptive: the most runs a cell gets
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(3..))]
    max_runs: u64,

    /// Adaptive: a cell's median is stable once one more run could move it by at most this
    /// many percent (after at least 3 runs)
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0)]
    tolerance: f64,

    /// Adaptive: the time the whole session may take, e.g. 600, 90s, 10m, 1h
    ///
    /// Each program gets an equal share of what is left; within a program, cells still
    /// measuring share what settled cells left. Every cell runs at least once.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    budget: u64,

    /// The size programs run at: small (tests), medium (about a fifth of the default work;
    /// scripts/main) or default
    #[arg(long, value_enum, conflicts_with = "small")]
    size: Option<Size>,

    /// Use each program's small size (the same as --size small)
    #[arg(long)]
    small: bool,

    /// The tier or peer ratios are taken to (default: native if measured, else interp)
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,

    /// Save the results as results/<date>-<commit>.json (a sweep as
    /// results/sweeps/<date>-<commit>-<knob>.json) and regenerate results/README.md
    #[arg(long)]
    record: bool,

    /// The folder --record writes to
    #[arg(long, value_name = "DIR", default_value = "results")]
    results: PathBuf,

    /// Only regenerate results/README.md and its charts from the records in --results (after
    /// adding or removing a record by hand); nothing runs
    #[arg(long)]
    rebuild_readme: bool,

    /// Compare with an earlier record: per program and tier/peer, the change in median run time
    /// and whether it is beyond noise
    ///
    /// With one record, this session's measurements are compared with it; with two (OLD NEW),
    /// nothing runs and NEW is compared with OLD. A change is beyond noise when the two cells'
    /// run-time ranges (min–max) do not overlap.
    #[arg(long, value_name = "RECORD", num_args = 1..=2)]
    compare: Vec<PathBuf>,

    /// Measure a `tierup run` option over values, e.g. tier-up-threshold=1,10,100,1000,10000:
    /// each value is a contender (`auto[tier-up-threshold=10]`), and the total run time over the
    /// programs is charted against the value
    #[arg(long, value_name = "KNOB=V1,V2,...", value_parser = sweep::parse)]
    sweep: Option<record::Sweep>,

    /// Tier 2's pass pipeline for every tierup contender, as `tierup run --passes` takes it
    /// (`-O`, `none`, or pass names); recorded with the results. `--tier optimized --passes none`
    /// against `--passes -O` (or `--sweep passes=none,-O`) shows what the pipeline buys
    #[arg(long, value_name = "PIPELINE", default_value = "-O", allow_hyphen_values = true)]
    passes: String,
}

pub fn bench(cmd: BenchCommand) -> Result<ExitCode> {
    if cmd.rebuild_readme {
        readme::write(&cmd.results)?;
        eprintln!("regenerated {}", cmd.results.join("README.md").display());
        return Ok(ExitCode::SUCCESS);
    }
    if let [old, new] = cmd.compare.as_slice() {
        print!("{}", compare::text(&load(old)?, &load(new)?));
        return Ok(ExitCode::SUCCESS);
    }
    let size = cmd.size.unwrap_or(if cmd.small { Size::Small } else { Size::Default });
    let programs = corpus::load(&cmd.corpus, &cmd.programs, size)?;
    let (contenders, mut notes) = contenders(&cmd)?;
    if contenders.is_empty() {
        bail!("nothing to measure: no tier or peer given is available");
    }
    if let Some(baseline) = &cmd.baseline
        && !contenders.iter().any(|c| c.name() == baseline)
    {
        bail!("--baseline {baseline} is not among the tiers and peers measured");
    }
    let earlier = cmd.compare.first().map(|path| load(path)).transpose()?;
    let root = cmd.corpus.join("..");
    let tools = Toolbox::find(&root)?;
    print_notes(&notes);
    let (date, timestamp) = host::today();
    // Read before the session: the record names the code that was measured, even if the tree
    // changes while a long session runs.
    let (commit, dirty) = host::git_commit(&root);
    let plan =
        session::Plan { programs: &programs, contenders: &contenders, protocol: protocol(&cmd) };
    let (measurements, skipped) = session::run(&plan, &tools);
    print_notes(&skipped);
    notes.extend(skipped);
    let record = Record {
        schema: record::SCHEMA,
        date,
        timestamp,
        commit,
        dirty,
        host: host::Host::detect(tools.peers.node_version()),
        config: config(&cmd, size, &programs, &contenders, &measurements, &tools),
        notes,
        measurements,
    };
    print!("{}", report::text(&record));
    if record.config.sweep.is_some() {
        print!("\n{}", sweep::table(&record).to_text());
    }
    if let Some(earlier) = &earlier {
        print!("\n{}", compare::text(earlier, &record));
    }
    if cmd.record {
        save(&cmd.results, &record)?;
    }
    let failed = record.measurements.iter().any(|m| m.error.is_some());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The protocol the options ask for.
fn protocol(cmd: &BenchCommand) -> Protocol {
    let fixed_runs = cmd.runs.or(cmd.full.then_some(5));
    match fixed_runs {
        Some(runs) => {
            Protocol::Fixed { warmup: cmd.warmup.unwrap_or(1) as usize, runs: runs as usize }
        }
        None => Protocol::Adaptive {
            warmup: cmd.warmup.unwrap_or(0) as usize,
            min_runs: 3,
            max_runs: cmd.max_runs as usize,
            tolerance: cmd.tolerance / 100.0,
            budget_secs: cmd.budget,
        },
    }
}

/// Reads a record written by `--record`.
fn load(path: &Path) -> Result<Record> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a bench record", path.display()))
}

/// The code cache `--warm-cache` tiers use: this session's own, so its first run of each
/// program starts cold whatever ran before (emptied now; left behind afterwards, in the
/// system's temporary folder).
fn warm_cache_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tierup-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The contenders asked for (or the defaults), and notes for those skipped.
fn contenders(cmd: &BenchCommand) -> Result<(Vec<Contender>, Vec<String>)> {
    let sweeping = cmd.sweep.is_some();
    let default_tiers = || if sweeping { vec!["auto".into()] } else { contender::default_tiers() };
    let tiers = cmd.tiers.clone().unwrap_or_else(default_tiers);
    let peers = match &cmd.peers {
        Some(peers) if peers.iter().any(|p| p == "none") => Vec::new(),
        Some(peers) => peers.clone(),
        None if sweeping => Vec::new(),
        None => contender::PEER_NAMES.map(String::from).to_vec(),
    };
    let (mut chosen, notes) = contender::select(&tiers, &peers);
    if cmd.warm_cache {
        let dir = warm_cache_dir();
        let cached: Vec<Contender> = chosen
            .iter()
            .filter_map(|c| match c {
                Contender::Tierup { tier, build: None, .. } => {
                    Some(Contender::tier_with_warm_cache(tier, &dir))
                }
                _ => None,
            })
            .collect();
        let tiers = chosen.iter().take_while(|c| matches!(c, Contender::Tierup { .. })).count();
        chosen.splice(tiers..tiers, cached);
    }
    if cmd.passes != "-O" {
        for contender in &mut chosen {
            if let Contender::Tierup { options, .. } = contender {
                options.extend(["--passes".to_string(), cmd.passes.clone()]);
            }
        }
    }
    match &cmd.sweep {
        Some(knob) => Ok((sweep::contenders(knob, chosen)?, notes)),
        None => Ok((chosen, notes)),
    }
}

fn config(
    cmd: &BenchCommand,
    size: Size,
    programs: &[corpus::Program],
    contenders: &[Contender],
    measurements: &[record::Measurement],
    tools: &Toolbox,
) -> BenchConfig {
    let protocol = protocol(cmd);
    let (warmup, runs) = match protocol {
        Protocol::Fixed { warmup, runs } => (warmup, runs),
        Protocol::Adaptive { warmup, max_runs, .. } => (warmup, max_runs),
    };
    BenchConfig {
        corpus: cmd.corpus.display().to_string(),
        programs: programs.iter().map(|p| p.name.clone()).collect(),
        contenders: contenders.iter().map(|c| c.name().to_string()).collect(),
        runs,
        warmup,
        small: size == Size::Small,
        baseline: baseline(cmd.baseline.as_deref(), contenders, measurements),
        size: Some(size.name().into()),
        protocol: Some(protocol),
        coverage: contenders.iter().map(|c| c.coverage(&tools.peers)).collect(),
        sweep: cmd.sweep.clone(),
        passes: Some(cmd.passes.clone()),
    }
}

/// A duration on the command line: seconds, or a number with `s`, `m` or `h`.
fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) =
        text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        other => return Err(format!("unknown unit `{other}`: expected s, m or h, e.g. 90s, 10m")),
    };
    let number: u64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration, e.g. 10m"))?;
    number.checked_mul(scale).ok_or_else(|| format!("`{text}` is too long"))
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

/// Saves the record (a sweep under `sweeps/`) and regenerates the README and charts from every
/// record in `dir`.
fn save(dir: &Path, record: &Record) -> Result<()> {
    let path = match &record.config.sweep {
        Some(sweep) => record.save(&dir.join(sweep::DIR), &format!("-{}", sweep.knob))?,
        None => record.save(dir, "")?,
    };
    readme::write(dir)?;
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
            tier2_compile_ns: None,
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
        let all = [Contender::tier("interp"), Contender::Native];
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

    #[test]
    fn durations() {
        assert_eq!(parse_duration("600"), Ok(600));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert!(parse_duration("10 min").is_err() && parse_duration("m").is_err());
    }
}
