//! A benchmark record: everything one `tierup bench` run measured, with the configuration, the
//! machine and the commit, as JSON in `results/<date>-<commit>.json`.
//!
//! Records are data for later comparison, so every run is kept (not just the medians) and the shape
//! only grows: a field may be added, never renamed or dropped (bump `schema` if that ever must
//! happen). This module defines the shape and the file naming; it never computes statistics.

use super::contender::Coverage;
use super::host::Host;
use super::measure::Sample;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The current shape's version.
pub const SCHEMA: u32 = 1;

/// One `tierup bench` run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`SCHEMA`] when written.
    pub schema: u32,
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// Unix time of the start of the run.
    pub timestamp: u64,
    /// `git rev-parse --short HEAD`, if the corpus is in a git checkout.
    pub commit: Option<String>,
    /// Whether tracked files differed from the commit.
    pub dirty: bool,
    /// The machine.
    pub host: Host,
    /// What was asked for.
    pub config: BenchConfig,
    /// What was skipped, and why.
    pub notes: Vec<String>,
    /// One per program and contender that ran, in report order.
    pub measurements: Vec<Measurement>,
}

/// The options of the run, after defaults were applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// The corpus folder.
    pub corpus: String,
    /// The programs, in order.
    pub programs: Vec<String>,
    /// The contenders that ran, in order.
    pub contenders: Vec<String>,
    /// Measured runs per program and contender (the most, under the adaptive protocol).
    pub runs: usize,
    /// Discarded runs before them.
    pub warmup: usize,
    /// Whether the small sizes were used.
    pub small: bool,
    /// The contender ratios are taken against.
    pub baseline: String,
    /// The size the programs ran at: `small`, `medium` or `default` (absent in early records,
    /// which only knew `small`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// How many runs each cell got and why (absent in early records: fixed `warmup` + `runs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// What each contender's compile and run times cover (absent in early records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Coverage>,
    /// The tiering knob a `--sweep` varied, and its values (one contender per value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<Sweep>,
    /// Tier 2's pass pipeline the tierup contenders ran with (`--passes`; `-O` by default,
    /// `none` for no passes). Absent in records made before tier 2 existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passes: Option<String>,
}

/// The measuring protocol of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Protocol {
    /// `warmup` discarded and `runs` measured runs per cell, whatever they show.
    Fixed { warmup: usize, runs: usize },
    /// Runs until the median is stable (one more run could move it by at most `tolerance`,
    /// a fraction, after at least `min_runs`), `max_runs` are done, or the cell's share of
    /// `budget_secs` is spent.
    Adaptive { warmup: usize, min_runs: usize, max_runs: usize, tolerance: f64, budget_secs: u64 },
}

/// A `--sweep KNOB=V1,V2,...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    /// The `tierup run` option varied, without its dashes (`tier-up-threshold`).
    pub knob: String,
    /// Its values, in order; contender `TIER KNOB=VALUE` ran with each.
    pub values: Vec<String>,
}

/// One program on one contender.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The program's name.
    pub program: String,
    /// The contender's name.
    pub contender: String,
    /// The program's arguments.
    pub args: Vec<String>,
    /// Every measured run that succeeded, in order (warm-up runs are not kept).
    pub runs: Vec<Sample>,
    /// Why the measurement failed (wrong output, a crash); its runs are then not to be used.
    pub error: Option<String>,
}

impl Measurement {
    /// The runs, if the measurement succeeded.
    pub fn ok_runs(&self) -> Option<&[Sample]> {
        (self.error.is_none() && !self.runs.is_empty()).then_some(&self.runs)
    }
}

impl Record {
    /// The file name this record is saved under in `dir`: `<date>-<commit><suffix>.json`, with
    /// `-2`, `-3`, ... added rather than replacing an earlier record of the same day and commit.
    pub fn path_in(&self, dir: &Path, suffix: &str) -> PathBuf {
        let commit = self.commit.as_deref().unwrap_or("unknown");
        let stem = format!("{}-{commit}{suffix}", self.date);
        let candidates = std::iter::once(stem.clone()).chain((2..).map(|n| format!("{stem}-{n}")));
        let mut names = candidates.map(|name| dir.join(format!("{name}.json")));
        names.find(|path| !path.exists()).expect("some numbered name is free")
    }

    /// Writes the record as pretty JSON under a fresh name in `dir`, returning the path.
    pub fn save(&self, dir: &Path, suffix: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = self.path_in(dir, suffix);
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small record with one measurement per contender.
    pub fn example() -> Record {
        let sample = |run_ns| Sample {
            wall_ns: run_ns + 10,
            compile_ns: Some(5),
            instantiate_ns: Some(1),
            run_ns: Some(run_ns),
            max_rss_kib: 2048,
            code_bytes: Some(2_000_000),
            tier1_compile_ns: Some(40_000_000),
            tier2_compile_ns: None,
        };
        let measurement = |contender: &str, runs: Vec<Sample>, error: Option<&str>| Measurement {
            program: "fib".into(),
            contender: contender.into(),
            args: vec!["30".into()],
            runs,
            error: error.map(str::to_string),
        };
        Record {
            schema: SCHEMA,
            date: "2025-11-25".into(),
            timestamp: 1_764_028_800,
            commit: Some("abc1234".into()),
            dirty: false,
            host: Host { cpu: "cpu".into(), cores: 2, os: "linux".into(), rustc: None, node: None },
            config: BenchConfig {
                corpus: "corpus".into(),
                programs: vec!["fib".into()],
                contenders: vec!["interp".into(), "native".into()],
                runs: 2,
                warmup: 1,
                small: false,
                baseline: "native".into(),
                size: Some("default".into()),
                protocol: Some(Protocol::Fixed { warmup: 1, runs: 2 }),
                coverage: vec![],
                sweep: None,
                passes: None,
            },
            notes: vec![],
            measurements: vec![
                measurement("interp", vec![sample(400), sample(600)], None),
                measurement(
                    "native",
                    vec![Sample {
                        compile_ns: None,
                        instantiate_ns: None,
                        run_ns: None,
                        ..sample(0)
                    }],
                    None,
                ),
                measurement("v8", vec![], Some("wrong output")),
            ],
        }
    }

    #[test]
    fn the_json_shape_is_stable() {
        let record = example();
        let json: serde_json::Value = serde_json::to_value(&record).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let expected = [
            "schema",
            "date",
            "timestamp",
            "commit",
            "dirty",
            "host",
            "config",
            "notes",
            "measurements",
        ];
        assert_eq!(keys.len(), expected.len());
        assert!(expected.iter().all(|k| keys.contains(k)), "{keys:?}");
        let run = &json["measurements"][0]["runs"][0];
        assert_eq!(run["run_ns"], 400);
        assert_eq!(run["max_rss_kib"], 2048);
        assert_eq!(json["measurements"][2]["error"], "wrong output");
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn records_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let record = example();
        let first = record.save(dir.path(), "").unwrap();
        let second = record.save(dir.path(), "").unwrap();
        assert_eq!(first.file_name().unwrap(), "2025-11-25-abc1234.json");
        assert_eq!(second.file_name().unwrap(), "2025-11-25-abc1234-2.json");
    }
}
