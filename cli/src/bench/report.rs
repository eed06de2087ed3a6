//! What a record says, as tables: per program and contender the compile time, the run time's
//! median and spread, the peak RSS and the ratio of run-time medians to the baseline; then the
//! geometric mean of those ratios per contender. Rendered as aligned text (stdout) or markdown
//! (`results/README.md`) from the same rows.
//!
//! Works from a [`Record`] alone, so a live run and a saved one report identically. It never runs
//! or reads anything.

use super::format;
use super::record::{Measurement, Record};
use super::stats;

/// One summarised measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Median compile phase, for contenders that report phases.
    pub compile_ns: Option<u64>,
    /// Median run time (see `Sample::run_time_ns`).
    pub run_ns: u64,
    /// Fastest and slowest run time.
    pub run_range: (u64, u64),
    /// Median wall time of the whole process.
    pub wall_ns: u64,
    /// Largest peak RSS over the runs.
    pub max_rss_kib: u64,
}

/// The summary of a successful measurement.
pub fn summarize(measurement: &Measurement) -> Option<Summary> {
    let runs = measurement.ok_runs()?;
    let run_times: Vec<u64> = runs.iter().map(|s| s.run_time_ns()).collect();
    let compile: Vec<u64> = runs.iter().filter_map(|s| s.compile_ns).collect();
    let wall: Vec<u64> = runs.iter().map(|s| s.wall_ns).collect();
    Some(Summary {
        compile_ns: stats::median(&compile),
        run_ns: stats::median(&run_times)?,
        run_range: stats::min_max(&run_times)?,
        wall_ns: stats::median(&wall)?,
        max_rss_kib: runs.iter().map(|s| s.max_rss_kib).max()?,
    })
}

/// The measurement of `program` on `contender`, if there is one.
pub fn find<'r>(record: &'r Record, program: &str, contender: &str) -> Option<&'r Measurement> {
    record.measurements.iter().find(|m| m.program == program && m.contender == contender)
}

/// Run-time median of `program` on `contender` over the same on `baseline`.
pub fn ratio(record: &Record, program: &str, contender: &str, baseline: &str) -> Option<f64> {
    let median = |name| find(record, program, name).and_then(summarize).map(|s| s.run_ns);
    stats::ratio(median(contender), median(baseline))
}

/// The geometric mean of `contender`'s ratios to `baseline` over the programs both ran, and how
/// many programs that is.
pub fn geomean_ratio(record: &Record, contender: &str, baseline: &str) -> Option<(f64, usize)> {
    let programs = &record.config.programs;
    let ratios: Vec<f64> =
        programs.iter().filter_map(|p| ratio(record, p, contender, baseline)).collect();
    Some((stats::geomean(&ratios)?, ratios.len()))
}

/// A table: a header and rows. A row may instead carry a message (an error) after its first cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Row>,
}

#[derive(Clone, Debug)]
enum Row {
    Cells(Vec<String>),
    Message(Vec<String>, String),
}

impl Table {
    /// An empty table with these column names.
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row of cells.
    pub fn push(&mut self, cells: Vec<String>) {
        self.rows.push(Row::Cells(cells));
    }

    /// Adds a row of leading cells followed by a message spanning the rest.
    pub fn push_message(&mut self, cells: Vec<String>, message: String) {
        self.rows.push(Row::Message(cells, message));
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Columns padded to their widest cell; a message row's message is not padded.
    pub fn to_text(&self) -> String {
        let widths = self.widths();
        let mut out = line(&self.header, &widths);
        for row in &self.rows {
            out += &match row {
                Row::Cells(cells) => line(cells, &widths),
                Row::Message(cells, message) => format!("{}  {message}\n", padded(cells, &widths)),
            };
        }
        out
    }

    /// A GitHub-flavoured markdown table; a message fills the row's remaining cells' first.
    pub fn to_markdown(&self) -> String {
        let escape = |cell: &String| cell.replace('|', "\\|");
        let row = |cells: Vec<String>| {
            format!("| {} |\n", cells.iter().map(escape).collect::<Vec<_>>().join(" | "))
        };
        let mut out = row(self.header.clone());
        out += &format!("|{}\n", "---|".repeat(self.header.len()));
        for r in &self.rows {
            let mut cells = match r {
                Row::Cells(cells) => cells.clone(),
                Row::Message(cells, message) => [cells.clone(), vec![message.clone()]].concat(),
            };
            cells.resize(self.header.len(), String::new());
            out += &row(cells);
        }
        out
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for cells in
            self.rows.iter().filter_map(|r| if let Row::Cells(c) = r { Some(c) } else { None })
        {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }
}

/// A line of cells left-aligned to `widths`, two spaces apart.
fn line(cells: &[String], widths: &[usize]) -> String {
    format!("{}\n", padded(cells, widths).trim_end())
}

fn padded(cells: &[String], widths: &[usize]) -> String {
    let cells: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
    cells.join("  ")
}

/// The main table: a row per program and contender.
pub fn measurements_table(record: &Record) -> Table {
    let baseline = &record.config.baseline;
    let ratio_header = format!("ratio to {baseline}");
    let header = [
        "program",
        "tier/peer",
        "compile",
        "run (median)",
        "run (min–max)",
        "runs",
        "wall",
        "peak RSS",
    ];
    let mut table = Table::new(&header);
    table.header.push(ratio_header);
    for m in &record.measurements {
        let start = vec![m.program.clone(), m.contender.clone()];
        let row = match (summarize(m), &m.error) {
            (Some(s), _) => {
                let ratio = ratio(record, &m.program, &m.contender, baseline);
                Row::Cells([start, summary_cells(&s, m.runs.len(), ratio)].concat())
            }
            (None, Some(error)) => Row::Message(start, format!("error: {error}")),
            (None, None) => Row::Message(start, "error: no runs".into()),
        };
        table.rows.push(row);
    }
    table
}

fn summary_cells(s: &Summary, runs: usize, ratio: Option<f64>) -> Vec<String> {
    vec![
        s.compile_ns.map_or("-".into(), format::duration),
        format::duration(s.run_ns),
        format::duration_range(s.run_range.0, s.run_range.1),
        runs.to_string(),
        format::duration(s.wall_ns),
        format::size_kib(s.max_rss_kib),
        ratio.map_or("-".into(), format::ratio),
    ]
}

/// The geometric means: a row per contender other than the baseline.
pub fn geomean_table(record: &Record) -> Table {
    let baseline = &record.config.baseline;
    let mut table = Table::new(&["tier/peer", &format!("geomean ratio to {baseline}"), "programs"]);
    for contender in record.config.contenders.iter().filter(|c| *c != baseline) {
        let cells = match geomean_ratio(record, contender, baseline) {
            Some((mean, n)) => vec![contender.clone(), format::ratio(mean), n.to_string()],
            None => vec![contender.clone(), "-".into(), "0".into()],
        };
        table.push(cells);
    }
    table
}

/// What each contender's times cover (empty for records made before the coverage was kept).
pub fn coverage_table(record: &Record) -> Table {
    let mut table = Table::new(&["tier/peer", "engine", "compile column", "run column (ratios)"]);
    for c in &record.config.coverage {
        table.push(vec![c.name.clone(), c.engine.clone(), c.compile.clone(), c.run.clone()]);
    }
    table
}

/// The interpreter's geometric-mean slowdown against native, when both ran.
pub fn interp_vs_native(record: &Record) -> Option<String> {
    let (mean, n) = geomean_ratio(record, "interp", "native")?;
    let programs = if n == 1 { "program" } else { "programs" };
    Some(format!(
        "The interpreter runs {} slower than native code (geometric mean of run-time ratios over {n} {programs}).",
        format::ratio(mean)
    ))
}

/// Tier 1's compile throughput on `baseline` (which compiles every function up front): the
/// programs' code bytes over the medians of tier-1 compile time, and over the whole compile phase.
pub fn compile_throughput(record: &Record) -> Option<String> {
    let (mut bytes, mut tier1_ns, mut phase_ns, mut programs) = (0u64, 0u64, 0u64, 0usize);
    for program in &record.config.programs {
        let Some(runs) = find(record, program, "baseline").and_then(Measurement::ok_runs) else {
            continue;
        };
        let tier1: Vec<u64> = runs.iter().filter_map(|s| s.tier1_compile_ns).collect();
        let phase: Vec<u64> = runs.iter().filter_map(|s| s.compile_ns).collect();
        let code = runs.iter().find_map(|s| s.code_bytes);
        if let (Some(t), Some(p), Some(code)) = (stats::median(&tier1), stats::median(&phase), code)
        {
            (bytes, tier1_ns, phase_ns, programs) =
                (bytes + code, tier1_ns + t, phase_ns + p, programs + 1);
        }
    }
    let rate = |ns: u64| bytes as f64 / 1e6 / (ns as f64 / 1e9);
    (programs > 0 && tier1_ns > 0 && phase_ns > 0).then(|| {
        format!(
            "Tier 1 compiles {:.1} MB of wasm code per second on one core (`baseline`, tier-1 CPU \
             time alone: {:.2} MB of function bodies in {} over {programs} programs); the whole \
             compile phase (decode, validate and tier 1, on the engine's threads) runs at {:.1} \
             MB/s of wall time.",
            rate(tier1_ns),
            bytes as f64 / 1e6,
            format::duration(tier1_ns),
            rate(phase_ns),
        )
    })
}

/// Tier 2's compile throughput, from the `optimized` runs (every function compiled up front, the
/// pass pipeline included): MB of wasm function bodies per second of tier-2 compile time.
pub fn tier_2_compile_throughput(record: &Record) -> Option<String> {
    let (mut bytes, mut tier2_ns, mut programs) = (0u64, 0u64, 0usize);
    for program in &record.config.programs {
        let Some(runs) = find(record, program, "optimized").and_then(Measurement::ok_runs) else {
            continue;
        };
        let tier2: Vec<u64> = runs.iter().filter_map(|s| s.tier2_compile_ns).collect();
        let code = runs.iter().find_map(|s| s.code_bytes);
        if let (Some(t), Some(code)) = (stats::median(&tier2), code) {
            (bytes, tier2_ns, programs) = (bytes + code, tier2_ns + t, programs + 1);
        }
    }
    (programs > 0 && tier2_ns > 0).then(|| {
        let rate = bytes as f64 / 1e6 / (tier2_ns as f64 / 1e9);
        format!(
            "Tier 2 compiles {rate:.2} MB of wasm code per second on one core (`optimized`, its \
             pass pipeline `{}` included: {:.2} MB of function bodies in {} over {programs} \
             programs).",
            record.config.passes.as_deref().unwrap_or("-O"),
            bytes as f64 / 1e6,
            format::duration(tier2_ns),
        )
    })
}

/// How close `auto` (which starts every function in the interpreter) comes to `baseline`.
pub fn auto_vs_baseline(record: &Record) -> Option<String> {
    let (mean, n) = geomean_ratio(record, "auto", "baseline")?;
    Some(format!(
        "`auto` runs at {} of `baseline`'s run time (geometric mean over {n} programs; every \
         function starts interpreted and hot loops move into tier 1 by on-stack replacement).",
        format::ratio(mean)
    ))
}

/// The tables as text, for stdout (measurements, geometric means, what the times cover), then
/// the summary sentences.
pub fn text(record: &Record) -> String {
    let mut out = measurements_table(record).to_text();
    if record.config.contenders.len() > 1 {
        out += "\n";
        out += &geomean_table(record).to_text();
    }
    let coverage = coverage_table(record);
    if !coverage.is_empty() {
        out += "\n";
        out += &coverage.to_text();
    }
    let sentences =
        [compile_throughput(record), tier_2_compile_throughput(record), auto_vs_baseline(record)];
    for sentence in sentences.into_iter().flatten() {
        out += &format!("\n{sentence}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::record::tests::example;

    #[test]
    fn summaries_use_medians_and_extremes() {
        let record = example();
        let s = summarize(&record.measurements[0]).unwrap();
        assert_eq!(
            (s.compile_ns, s.run_ns, s.run_range, s.max_rss_kib),
            (Some(5), 500, (400, 600), 2048)
        );
        // The native build has no phases: its run time is its wall time.
        assert_eq!(summarize(&record.measurements[1]).unwrap().run_ns, 10);
        assert_eq!(summarize(&record.measurements[2]), None);
    }

    #[test]
    fn ratios_and_geomeans_are_to_the_baseline() {
        let record = example();
        assert_eq!(ratio(&record, "fib", "interp", "native"), Some(50.0));
        let (mean, programs) = geomean_ratio(&record, "interp", "native").unwrap();
        assert!((mean - 50.0).abs() < 1e-9 && programs == 1, "{mean}");
        assert_eq!(geomean_ratio(&record, "v8", "native"), None);
        assert!(interp_vs_native(&record).unwrap().contains("50.0x slower"));
        // The example has no `baseline` measurement: no throughput sentence to make up.
        assert_eq!(compile_throughput(&record), None);
        let mut record = record;
        for m in record.measurements.iter_mut().filter(|m| m.contender == "interp") {
            m.contender = "baseline".into();
        }
        // 2 MB of code in a median of 40 ms of tier-1 time.
        let sentence = compile_throughput(&record).unwrap();
        assert!(
            sentence.starts_with("Tier 1 compiles 50.0 MB of wasm code per second"),
            "{sentence}"
        );
        // The same runs as `optimized`, 2 MB in 400 ms of tier-2 time.
        assert_eq!(tier_2_compile_throughput(&record), None, "no tier-2 times yet");
        for m in record.measurements.iter_mut().filter(|m| m.contender == "baseline") {
            m.contender = "optimized".into();
            for run in m.runs.iter_mut() {
                run.tier2_compile_ns = Some(400_000_000);
            }
        }
        let sentence = tier_2_compile_throughput(&record).unwrap();
        assert!(sentence.starts_with("Tier 2 compiles 5.00 MB of wasm code"), "{sentence}");
    }

    #[test]
    fn tables_render_as_text_and_markdown() {
        let record = example();
        let text = text(&record);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("program  tier/peer  compile")
                && lines[0].ends_with("ratio to native")
        );
        assert!(
            lines[1].starts_with("fib      interp     5 ns") && lines[1].ends_with("50.0x"),
            "{text}"
        );
        assert_eq!(lines[3], "fib      v8         error: wrong output", "{text}");
        let markdown = measurements_table(&record).to_markdown();
        assert!(markdown.contains("| fib | v8 | error: wrong output |  |"), "{markdown}");
        assert_eq!(markdown.lines().nth(1), Some("|---|---|---|---|---|---|---|---|---|"));
    }
}
