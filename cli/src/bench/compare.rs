//! `tierup bench --compare`: a record (or this session) set against an earlier one, per program
//! and tier/peer: the change in median run time and whether it is beyond noise.
//!
//! Noise is read off the records themselves, from each cell's spread: a cell's noise is half its
//! run-time range (max − min) over its median, and a change is beyond noise only when the two
//! cells' min–max ranges do not overlap, that is when every run of one was faster than every run
//! of the other. With 3 runs on each side, overlapping ranges are what chance alone gives 9 times
//! in 10; with 5, 125 times in 126. Cells with fewer than 3 runs get no verdict. Works on records
//! alone; never runs anything.

use super::format;
use super::record::{Measurement, Record};
use super::report::{self, Table};
use super::stats;

/// Fewer runs than this on either side: too few to call a change.
const MIN_RUNS: usize = 3;

/// How one cell changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// New median over old median.
    pub ratio: f64,
    /// The larger of the two cells' half-range over median.
    pub noise: f64,
    /// `Some(true)` faster, `Some(false)` slower, `None` within noise or too few runs.
    pub beyond_noise: Option<bool>,
    /// Whether either side had fewer than [`MIN_RUNS`] runs.
    pub too_few_runs: bool,
}

/// The change from `old` to `new` of one cell, if both measured it.
pub fn change(old: &Measurement, new: &Measurement) -> Option<Change> {
    let (old_runs, new_runs) = (times(old)?, times(new)?);
    let (old_median, new_median) = (stats::median(&old_runs)?, stats::median(&new_runs)?);
    let (old_min, old_max) = stats::min_max(&old_runs)?;
    let (new_min, new_max) = stats::min_max(&new_runs)?;
    let half_range = |(min, max): (u64, u64), median: u64| (max - min) as f64 / 2.0 / median as f64;
    let too_few_runs = old_runs.len() < MIN_RUNS || new_runs.len() < MIN_RUNS;
    let beyond_noise = match () {
        _ if too_few_runs => None,
        _ if new_max < old_min => Some(true),
        _ if new_min > old_max => Some(false),
        _ => None,
    };
    Some(Change {
        ratio: stats::ratio(Some(new_median), Some(old_median))?,
        noise: half_range((old_min, old_max), old_median)
            .max(half_range((new_min, new_max), new_median)),
        beyond_noise,
        too_few_runs,
    })
}

fn times(measurement: &Measurement) -> Option<Vec<u64>> {
    Some(measurement.ok_runs()?.iter().map(|s| s.run_time_ns()).collect())
}

/// The per-cell table: every cell of `new` that `old` measured too.
pub fn cells_table(old: &Record, new: &Record) -> Table {
    let header = ["program", "tier/peer", "old median", "new median", "change", "noise", "verdict"];
    let mut table = Table::new(&header);
    for m in &new.measurements {
        let Some(before) = report::find(old, &m.program, &m.contender) else { continue };
        let start = vec![m.program.clone(), m.contender.clone()];
        if before.args != m.args {
            let message =
                format!("not compared: arguments differ ({:?} vs {:?})", before.args, m.args);
            table.push_message(start, message);
            continue;
        }
        let median = |m: &Measurement| report::summarize(m).map(|s| format::duration(s.run_ns));
        match change(before, m) {
            Some(c) => table.push(
                [
                    start,
                    vec![
                        median(before).unwrap_or_default(),
                        median(m).unwrap_or_default(),
                        percent(c.ratio - 1.0),
                        format!("±{:.1}%", c.noise * 100.0),
                        verdict(&c).into(),
                    ],
                ]
                .concat(),
            ),
            None => {
                table.push_message(start, "not compared: an error or no runs on one side".into())
            }
        }
    }
    table
}

fn verdict(change: &Change) -> &'static str {
    match change.beyond_noise {
        Some(true) => "faster",
        Some(false) => "slower",
        None if change.too_few_runs => "? (under 3 runs)",
        None => "within noise",
    }
}

/// `+4.2%`, `-12.0%`.
fn percent(fraction: f64) -> String {
    format!("{:+.1}%", fraction * 100.0)
}

/// Per contender, the geometric mean of the per-program changes of median run time, and of the
/// ratio to each record's own baseline (which cancels load that hit both records' runs alike).
pub fn geomean_table(old: &Record, new: &Record) -> Table {
    let baseline = &new.config.baseline;
    let ratio_header = format!("change of ratio to {baseline}");
    let mut table = Table::new(&["tier/peer", "change of run time", &ratio_header, "programs"]);
    for contender in &new.config.contenders {
        let programs = new.config.programs.iter().filter(|p| {
            let before = report::find(old, p, contender);
            let after = report::find(new, p, contender);
            matches!((before, after), (Some(b), Some(a)) if a.args == b.args)
        });
        let mut time_changes = Vec::new();
        let mut ratio_changes = Vec::new();
        for program in programs {
            let pair =
                (report::find(old, program, contender), report::find(new, program, contender));
            if let (Some(b), Some(a)) = pair
                && let Some(c) = change(b, a)
            {
                time_changes.push(c.ratio);
            }
            let before = report::ratio(old, program, contender, baseline);
            let after = report::ratio(new, program, contender, baseline);
            if let Some(r) = stats::ratio_f64(after, before) {
                ratio_changes.push(r);
            }
        }
        let Some(time) = stats::geomean(&time_changes) else { continue };
        let ratio = stats::geomean(&ratio_changes).filter(|_| contender != baseline);
        table.push(vec![
            contender.clone(),
            percent(time - 1.0),
            ratio.map_or("-".into(), |r| percent(r - 1.0)),
            time_changes.len().to_string(),
        ]);
    }
    table
}

/// Both tables, with a line naming the two records.
pub fn text(old: &Record, new: &Record) -> String {
    let name = |r: &Record| {
        let dirty = if r.dirty { "+changes" } else { "" };
        format!("{} {}{dirty}", r.date, r.commit.as_deref().unwrap_or("unknown"))
    };
    let mut out = format!(
        "Compared with {} (old) -> {} (new). Noise: half the min–max range over the median; \
         beyond noise when the min–max ranges do not overlap.\n",
        name(old),
        name(new)
    );
    out += &cells_table(old, new).to_text();
    out += "\n";
    out += &geomean_table(old, new).to_text();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::tests::example;

    fn with_runs(record: &mut Record, contender: &str, run_ns: &[u64]) {
        let m = record.measurements.iter_mut().find(|m| m.contender == contender).unwrap();
        let template = m.runs[0];
        m.runs = run_ns
            .iter()
            .map(|&ns| crate::bench::measure::Sample { run_ns: Some(ns), ..template })
            .collect();
    }

    #[test]
    fn a_change_is_beyond_noise_when_the_ranges_do_not_overlap() {
        let (mut old, mut new) = (example(), example());
        with_runs(&mut old, "interp", &[1000, 1010, 1020]);
        with_runs(&mut new, "interp", &[900, 905, 990]);
        let c = change(&old.measurements[0], &new.measurements[0]).unwrap();
        // Medians 1010 and 905; the new range is 90 wide around 905.
        assert!((c.ratio - 905.0 / 1010.0).abs() < 1e-9 && c.beyond_noise == Some(true), "{c:?}");
        assert!((c.noise - 45.0 / 905.0).abs() < 1e-9, "{c:?}");
        with_runs(&mut new, "interp", &[900, 905, 1015]);
        let c = change(&old.measurements[0], &new.measurements[0]).unwrap();
        assert_eq!(verdict(&c), "within noise");
        with_runs(&mut new, "interp", &[2000, 2100]);
        let c = change(&old.measurements[0], &new.measurements[0]).unwrap();
        assert_eq!(verdict(&c), "? (under 3 runs)");
    }

    #[test]
    fn the_tables_name_each_cell_and_each_contender() {
        let (mut old, mut new) = (example(), example());
        with_runs(&mut old, "interp", &[1000, 1000, 1000]);
        with_runs(&mut new, "interp", &[1100, 1100, 1100]);
        let text = text(&old, &new);
        assert!(text.contains("+10.0%") && text.contains("slower"), "{text}");
        assert!(text.contains("fib      v8         not compared"), "{text}");
        let geomeans = geomean_table(&old, &new).to_text();
        let interp = geomeans.lines().find(|l| l.starts_with("interp")).unwrap();
        let cells: Vec<&str> = interp.split_whitespace().collect();
        assert_eq!(cells, ["interp", "+10.0%", "+10.0%", "1"], "{geomeans}");
        new.measurements[0].args = vec!["31".into()];
        assert!(cells_table(&old, &new).to_text().contains("arguments differ"));
    }
}
