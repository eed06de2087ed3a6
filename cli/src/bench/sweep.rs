//! `tierup bench --sweep KNOB=V1,V2,...`: a tiering knob of `tierup run` measured over a range of
//! values, so the tier-up policy is something users measure rather than take on trust.
//!
//! Each value becomes a contender of its own (`auto[tier-up-threshold=10]`), measured like any
//! other, interleaved round by round; what a sweep adds is the summary: per value, the total of
//! the programs' median run times, as a table and (recorded) a chart. Any `tierup run` option that
//! takes a value can be swept: the knob is checked against `run`'s own definition, so a knob added
//! to the CLI can be swept the day it exists.

use super::contender::Contender;
use super::format;
use super::record::{Record, Sweep};
use super::report::{self, Table};
use anyhow::{Result, bail};
use clap::CommandFactory;

/// Where sweep records go, below the results folder.
pub const DIR: &str = "sweeps";

/// Parses `KNOB=V1,V2,...` (the `value_parser` of `--sweep`).
pub fn parse(text: &str) -> Result<Sweep, String> {
    let Some((knob, values)) = text.split_once('=') else {
        return Err("expected KNOB=V1,V2,..., e.g. tier-up-threshold=1,10,100".into());
    };
    let knob = knob.trim().trim_start_matches("--").to_string();
    let values: Vec<String> =
        values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(String::from).collect();
    if values.is_empty() {
        return Err(format!("no values for {knob}"));
    }
    let run_options = run_value_options();
    if !run_options.contains(&knob) {
        return Err(format!(
            "`{knob}` is not an option of `tierup run` that takes a value (those are: {})",
            run_options.join(", ")
        ));
    }
    Ok(Sweep { knob, values })
}

/// The long names of `tierup run`'s options that take a value.
fn run_value_options() -> Vec<String> {
    let cli = crate::cli::Cli::command();
    let Some(run) = cli.find_subcommand("run") else { return vec![] };
    let takes_value = |arg: &&clap::Arg| arg.get_action().takes_values() && !arg.is_positional();
    run.get_arguments()
        .filter(takes_value)
        .filter_map(|arg| arg.get_long())
        .map(String::from)
        .collect()
}

/// One contender per tierup contender and value; other contenders (peers) stay as they are, once.
pub fn contenders(sweep: &Sweep, chosen: Vec<Contender>) -> Result<Vec<Contender>> {
    let mut swept = Vec::new();
    for contender in chosen {
        match contender {
            Contender::Tierup { name, tier, build, options } => {
                for value in &sweep.values {
                    let mut options = options.clone();
                    options.extend([format!("--{}", sweep.knob), value.clone()]);
                    swept.push(Contender::Tierup {
                        name: format!("{name}[{}={value}]", sweep.knob),
                        tier: tier.clone(),
                        build: build.clone(),
                        options,
                    });
                }
            }
            peer => swept.push(peer),
        }
    }
    if !swept.iter().any(|c| matches!(c, Contender::Tierup { .. })) {
        bail!("--sweep needs a tier to vary --{} on (see --tier)", sweep.knob);
    }
    Ok(swept)
}

/// One value of a sweep on one tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Total {
    /// The contender the values were added to (`auto`, `auto@old`).
    pub base: String,
    /// The knob's value.
    pub value: String,
    /// The sum of the median run times, if every program measured.
    pub total_ns: Option<u64>,
    /// Over how many programs: those every value of this tier ran.
    pub programs: usize,
}

/// Per swept contender, the total of its median run times over the programs every value of its
/// tier ran; `None` without a sweep.
pub fn totals(record: &Record) -> Option<Vec<Total>> {
    let sweep = record.config.sweep.as_ref()?;
    let mut rows = Vec::new();
    for base in swept_bases(record, sweep) {
        let names: Vec<String> =
            sweep.values.iter().map(|v| format!("{base}[{}={v}]", sweep.knob)).collect();
        let median = |program: &str, name: &str| {
            report::find(record, program, name).and_then(report::summarize).map(|s| s.run_ns)
        };
        let common: Vec<&String> = record
            .config
            .programs
            .iter()
            .filter(|p| names.iter().all(|name| median(p, name).is_some()))
            .collect();
        for (value, name) in sweep.values.iter().zip(&names) {
            let total = common.iter().map(|p| median(p, name)).sum::<Option<u64>>();
            let total = total.filter(|_| !common.is_empty());
            let (base, value) = (base.clone(), value.clone());
            rows.push(Total { base, value, total_ns: total, programs: common.len() });
        }
    }
    Some(rows)
}

/// The contender names the sweep's values were added to (`auto`, `auto@old`, ...), in order.
fn swept_bases(record: &Record, sweep: &Sweep) -> Vec<String> {
    let suffix = format!("[{}={}]", sweep.knob, sweep.values[0]);
    let bases = record.config.contenders.iter().filter_map(|c| c.strip_suffix(&suffix));
    bases.map(String::from).collect()
}

/// The sweep's table: per tier and value, the total run time and its ratio to the best value's.
pub fn table(record: &Record) -> Table {
    let knob = record.config.sweep.as_ref().map_or("value", |s| s.knob.as_str());
    let mut table =
        Table::new(&["tier", knob, "total run time (sum of medians)", "ratio to best", "programs"]);
    let rows = totals(record).unwrap_or_default();
    for row in &rows {
        let best = rows.iter().filter(|r| r.base == row.base).filter_map(|r| r.total_ns).min();
        let ratio = super::stats::ratio(row.total_ns, best);
        table.push(vec![
            row.base.clone(),
            row.value.clone(),
            row.total_ns.map_or("-".into(), format::duration),
            ratio.map_or("-".into(), format::ratio),
            row.programs.to_string(),
        ]);
    }
    table
}

/// The chart's series: per tier, the total run time in seconds at each value.
pub fn series(record: &Record) -> Vec<(String, Vec<Option<f64>>)> {
    let rows = totals(record).unwrap_or_default();
    let mut series: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for row in rows {
        let seconds = row.total_ns.map(|ns| ns as f64 / 1e9);
        match series.iter_mut().find(|(name, _)| *name == row.base) {
            Some((_, values)) => values.push(seconds),
            None => series.push((row.base, vec![seconds])),
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::tests::example;

    #[test]
    fn knobs_are_run_options_that_take_values() {
        let sweep = parse("tier-up-threshold=1, 10,100").unwrap();
        assert_eq!(sweep.knob, "tier-up-threshold");
        assert_eq!(sweep.values, ["1", "10", "100"]);
        assert!(parse("--tier-up-threshold=5").is_ok());
        assert!(parse("stats=1").unwrap_err().contains("not an option"), "a flag takes no value");
        assert!(parse("nonsense=1").unwrap_err().contains("tier-up-threshold"));
        assert!(parse("tier-up-threshold=").is_err() && parse("tier-up-threshold").is_err());
    }

    #[test]
    fn each_value_is_a_contender_and_totals_sum_the_medians() {
        let sweep =
            Sweep { knob: "tier-up-threshold".into(), values: vec!["1".into(), "9".into()] };
        let chosen = vec![Contender::tier("auto"), Contender::Native];
        let swept = contenders(&sweep, chosen).unwrap();
        let names: Vec<&str> = swept.iter().map(Contender::name).collect();
        assert_eq!(names, ["auto[tier-up-threshold=1]", "auto[tier-up-threshold=9]", "native"]);
        let Contender::Tierup { options, .. } = &swept[1] else { panic!() };
        assert_eq!(options, &["--tier-up-threshold", "9"]);
        assert!(contenders(&sweep, vec![Contender::Native]).is_err());

        let mut record = example();
        for (m, name) in record.measurements.iter_mut().zip(["auto[tier-up-threshold=1]", "x"]) {
            m.contender = name.into();
        }
        let mut second = record.measurements[0].clone();
        second.contender = "auto[tier-up-threshold=9]".into();
        second.runs.truncate(1);
        record.measurements.push(second);
        record.config.contenders = names.iter().map(|n| n.to_string()).collect();
        record.config.sweep = Some(sweep);
        let totals = totals(&record).unwrap();
        let summary: Vec<_> = totals
            .iter()
            .map(|t| (t.base.as_str(), t.value.as_str(), t.total_ns, t.programs))
            .collect();
        assert_eq!(summary, [("auto", "1", Some(500), 1), ("auto", "9", Some(400), 1)]);
        assert!(table(&record).to_text().contains("1.25x"));
        assert_eq!(series(&record), [("auto".to_string(), vec![Some(5e-7), Some(4e-7)])]);
    }
}
