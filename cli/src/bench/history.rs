//! The history of the recorded runs: every record in `results/` (not the sweeps), oldest first,
//! with each tier's geometric-mean ratio to native, as a table and a chart for
//! `results/README.md`.
//!
//! Records of different sizes, protocols and machine load are put side by side as they are: the
//! table says which is which. Reading only; a record that does not parse is left out with a note.

use super::contender::TIER_NAMES;
use super::format;
use super::record::Record;
use super::report::{self, Table};
use std::path::Path;

/// The records in `dir` (its `*.json` files), oldest first, and a note per file left out.
pub fn records(dir: &Path) -> (Vec<(String, Record)>, Vec<String>) {
    let mut records = Vec::new();
    let mut notes = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return (records, notes) };
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Record>(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(record) => records.push((file, record)),
            Err(why) => notes.push(format!("{file} left out of the history: {why}")),
        }
    }
    records.sort_by(|(a_file, a), (b_file, b)| (a.timestamp, a_file).cmp(&(b.timestamp, b_file)));
    (records, notes)
}

/// The tiers any of the records measured against native, in report order.
fn tiers(records: &[(String, Record)]) -> Vec<&'static str> {
    let measured = |tier: &str| {
        records.iter().any(|(_, r)| report::geomean_ratio(r, tier, "native").is_some())
    };
    TIER_NAMES.into_iter().filter(|tier| measured(tier)).collect()
}

/// A record's label on the chart's x axis: its commit, `+` if the tree had changes.
fn label(record: &Record) -> String {
    let commit = record.commit.as_deref().unwrap_or("unknown");
    format!("{commit}{}", if record.dirty { "+" } else { "" })
}

/// Per tier, its geometric-mean ratio to native in each record (`None` where not measured).
pub fn series(records: &[(String, Record)]) -> Vec<(String, Vec<Option<f64>>)> {
    let ratio = |record: &Record, tier: &str| {
        report::geomean_ratio(record, tier, "native").map(|(mean, _)| mean)
    };
    let per_tier = |tier: &str| records.iter().map(|(_, r)| ratio(r, tier)).collect();
    tiers(records).into_iter().map(|tier| (tier.to_string(), per_tier(tier))).collect()
}

/// The x-axis labels, one per record.
pub fn labels(records: &[(String, Record)]) -> Vec<String> {
    records.iter().map(|(_, r)| label(r)).collect()
}

/// The table: a row per record with its size, protocol and each tier's geomean ratio to native.
pub fn table(records: &[(String, Record)]) -> Table {
    let tiers = tiers(records);
    let mut header = vec!["record", "commit", "size", "protocol", "programs"];
    header.extend(tiers.iter().copied());
    let mut table = Table::new(&header);
    for (file, record) in records {
        let programs = tiers
            .iter()
            .filter_map(|tier| report::geomean_ratio(record, tier, "native"))
            .map(|(_, n)| n)
            .max()
            .unwrap_or(0);
        let mut cells = vec![
            format!("[{file}]({file})"),
            label(record),
            record.config.size.clone().unwrap_or_else(|| {
                if record.config.small { "small" } else { "default" }.to_string()
            }),
            protocol(record),
            programs.to_string(),
        ];
        for tier in &tiers {
            let mean = report::geomean_ratio(record, tier, "native").map(|(mean, _)| mean);
            cells.push(mean.map_or("-".into(), format::ratio));
        }
        table.push(cells);
    }
    table
}

/// `adaptive (≤10 runs, 1%, 8m)` or `3 runs + 0 warm-up`.
fn protocol(record: &Record) -> String {
    use super::record::Protocol;
    match &record.config.protocol {
        Some(Protocol::Adaptive { max_runs, tolerance, budget_secs, .. }) => {
            format!("adaptive (≤{max_runs} runs, {}%, {} min)", tolerance * 100.0, budget_secs / 60)
        }
        _ => format!("{} runs + {} warm-up", record.config.runs, record.config.warmup),
    }
}

/// A budget as people say it: `8 min`, `90 s`.
pub fn budget_text(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::tests::example;

    #[test]
    fn records_are_read_oldest_first_and_give_one_point_each() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = example();
        old.timestamp -= 86_400;
        old.commit = Some("0ld0000".into());
        old.save(dir.path(), "").unwrap();
        example().save(dir.path(), "").unwrap();
        std::fs::write(dir.path().join("broken.json"), "{").unwrap();
        let (records, notes) = records(dir.path());
        assert_eq!(labels(&records), ["0ld0000", "abc1234"]);
        assert!(notes.len() == 1 && notes[0].starts_with("broken.json"), "{notes:?}");
        let series = series(&records);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].0, "interp");
        assert!(series[0].1.iter().all(|r| r.is_some_and(|r| (r - 50.0).abs() < 1e-9)));
        let table = table(&records).to_markdown();
        assert!(table.contains("| interp |") && table.contains("| 50.0x |"), "{table}");
        assert!(table.contains("2 runs + 1 warm-up"), "{table}");
        assert_eq!(
            (budget_text(480), budget_text(90), budget_text(0)),
            ("8 min".into(), "90 s".into(), "0 s".into())
        );
    }
}
