//! The `run --stats` report: what ran how often, in which tier, when it moved up, and the fuel
//! left.
//!
//! Rendering only: the counters come from `Instance::func_stats` and this module never interprets
//! them beyond sorting (hottest first, by calls plus loop back-edges, the sum the tier-up policy
//! weighs). Functions that never ran are counted in a footer rather than listed, so a module with
//! thousands of functions still gives a short table.

use std::fmt::Write;
use tierup::FuncStats;

/// Fuel given to the run and what was left of it.
#[derive(Clone, Copy, Debug)]
pub struct Fuel {
    pub initial: u64,
    pub remaining: u64,
}

const HEADERS: [&str; 10] = [
    "func",
    "name",
    "calls",
    "back-edges",
    "tier",
    "requested",
    "compiling",
    "installed",
    "compile",
    "code",
];

/// Left-aligned columns of the main table (the rest are numbers, right-aligned).
const TEXT_COLUMNS: [&str; 3] = ["name", "tier", "code"];

/// The tier-2 table: what the optimizing tier did with each function it compiled.
const OPT_HEADERS: [&str; 10] = [
    "func",
    "name",
    "requested",
    "compiling",
    "installed",
    "compile",
    "code",
    "IR built",
    "optimized",
    "inlined",
];

/// Tier 2's stats as `Instance::func_stats` names them, in `OPT_HEADERS`' last columns, then the
/// back end's, printed after them as `name=value`.
const OPT_IR_STATS: [&str; 3] =
    ["IR instructions built", "IR instructions optimized", "calls inlined"];

/// The table, one line per function that ran, then the footers; then, when tier 2 compiled
/// anything, its own table.
pub fn render(stats: &[FuncStats], fuel: Option<Fuel>) -> String {
    let mut ran: Vec<&FuncStats> = stats.iter().filter(|s| heat(s) > 0).collect();
    ran.sort_by_key(|s| (std::cmp::Reverse(heat(s)), s.func_index));
    let rows: Vec<Vec<String>> = ran.iter().map(|s| row(s)).collect();
    let mut out = table(&HEADERS, &TEXT_COLUMNS, &rows);
    let idle = stats.len() - ran.len();
    if idle > 0 {
        let _ = writeln!(out, "({idle} of {} functions never ran)", stats.len());
    }
    if let Some(Fuel { initial, remaining }) = fuel {
        let consumed = initial.saturating_sub(remaining);
        let _ = writeln!(out, "fuel: {remaining} remaining of {initial} ({consumed} consumed)");
    }
    let optimized: Vec<Vec<String>> = ran
        .iter()
        .filter(|s| s.optimized.requested.is_some() || s.optimized_code.is_some())
        .map(|s| optimized_row(s))
        .collect();
    if !optimized.is_empty() {
        out.push_str("\ntier 2 (optimizing):\n");
        out.push_str(&table(&OPT_HEADERS, &["name", "code", "inlined"], &optimized));
    }
    out
}

fn heat(s: &FuncStats) -> u64 {
    s.profile.calls.saturating_add(s.profile.back_edges)
}

/// A moment since the module was created, in milliseconds.
fn ms(at: Option<std::time::Duration>) -> String {
    at.map_or_else(|| "-".to_string(), |at| format!("{:.3} ms", at.as_secs_f64() * 1e3))
}

fn dash() -> String {
    "-".to_string()
}

/// When a tier was asked for (at a call or a loop back-edge), and when its code went into the
/// function table (a refusal shows instead of the install).
fn requested_and_installed(t: &tierup::TierTimeline) -> (String, String) {
    let requested = t.requested.map_or_else(dash, |event| {
        let how = if event.osr { "loop" } else { "call" };
        format!("{} at {how}", ms(Some(event.elapsed)))
    });
    let installed = match &t.state {
        tierup::CompileState::Refused(_) => "refused".to_string(),
        _ => ms(t.installed),
    };
    (requested, installed)
}

/// Compile time and code size.
fn compiled(code: Option<(std::time::Duration, usize)>) -> (String, String) {
    code.map_or_else(
        || (dash(), dash()),
        |(time, bytes)| (format!("{:.1} us", time.as_secs_f64() * 1e6), format!("{bytes} B")),
    )
}

fn row(s: &FuncStats) -> Vec<String> {
    let (requested, installed) = requested_and_installed(&s.baseline);
    let (compile, code) = compiled(s.compiled);
    vec![
        s.func_index.to_string(),
        s.name.clone().unwrap_or_else(dash),
        s.profile.calls.to_string(),
        s.profile.back_edges.to_string(),
        s.tier.to_string(),
        requested,
        ms(s.baseline.compile_started),
        installed,
        compile,
        code,
    ]
}

fn optimized_row(s: &FuncStats) -> Vec<String> {
    let (requested, installed) = requested_and_installed(&s.optimized);
    let (compile, code) = compiled(s.optimized_code);
    let stat = |name: &str| s.optimizer_stats.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let mut cells = vec![
        s.func_index.to_string(),
        s.name.clone().unwrap_or_else(dash),
        requested,
        ms(s.optimized.compile_started),
        installed,
        compile,
        code,
    ];
    cells.extend(OPT_IR_STATS.iter().map(|name| stat(name).map_or_else(dash, |v| v.to_string())));
    // The rest (back end, pipeline time) after the inlined count, as `name=value`.
    let rest: Vec<String> = s
        .optimizer_stats
        .iter()
        .filter(|(n, _)| !OPT_IR_STATS.contains(n))
        .map(|(n, v)| format!("{}={v}", n.replace(' ', "-")))
        .collect();
    if let Some(last) = cells.last_mut()
        && !rest.is_empty()
    {
        *last = format!("{last}  {}", rest.join(" "));
    }
    cells
}

/// Columns padded to their widest cell; numbers right-aligned, the `text` columns left-aligned;
/// the last column is never padded.
fn table(headers: &[&str], text: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let last = headers.len() - 1;
    for cells in std::iter::once(&headers).chain(rows) {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = if i == last { 0 } else { widths[i] };
            if text.contains(&headers[i].as_str()) {
                let _ = write!(line, "{cell:<width$}  ");
            } else {
                let _ = write!(line, "{cell:>width$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierup::{FuncProfile, Tier};

    fn stat(func_index: u32, name: Option<&str>, calls: u64, back_edges: u64) -> FuncStats {
        let profile = FuncProfile { calls, back_edges, tiered_up: None };
        let name = name.map(str::to_string);
        let baseline = tierup::TierTimeline::default();
        FuncStats {
            func_index,
            name,
            profile,
            tier: Tier::Interp,
            compiled: None,
            baseline,
            optimized_code: None,
            optimized: tierup::TierTimeline::default(),
            optimizer_stats: Vec::new(),
        }
    }

    #[test]
    fn hottest_first_idle_counted_not_listed() {
        let stats = [
            stat(1, Some("main"), 1, 0),
            stat(2, Some("fib"), 177, 0),
            stat(3, None, 2, 500),
            stat(4, Some("unused"), 0, 0),
        ];
        let text = render(&stats, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "func  name  calls  back-edges  tier    requested  compiling  installed  compile  code"
        );
        assert_eq!(
            lines[1],
            "   3  -         2         500  interp          -          -          -        -  -"
        );
        assert_eq!(
            lines[2],
            "   2  fib     177           0  interp          -          -          -        -  -"
        );
        assert_eq!(
            lines[3],
            "   1  main      1           0  interp          -          -          -        -  -"
        );
        assert_eq!(lines[4], "(1 of 4 functions never ran)");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn functions_tier_2_compiled_get_their_own_table() {
        let mut hot = stat(2, Some("fib"), 177, 0);
        hot.tier = Tier::Optimized;
        hot.optimized_code = Some((std::time::Duration::from_micros(850), 123));
        hot.optimizer_stats = vec![
            ("IR instructions built", 30),
            ("IR instructions optimized", 21),
            ("calls inlined", 2),
            ("spill slots", 1),
        ];
        let text = render(&[hot, stat(1, Some("main"), 1, 0)], None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], "");
        assert_eq!(lines[4], "tier 2 (optimizing):");
        assert_eq!(
            lines[5],
            "func  name  requested  compiling  installed   compile  code   IR built  optimized  \
             inlined"
        );
        assert_eq!(
            lines[6],
            "   2  fib           -          -          -  850.0 us  123 B        30         21  \
             2  spill-slots=1"
        );
        assert_eq!(lines.len(), 7, "only functions tier 2 compiled: {text}");
    }

    #[test]
    fn fuel_line_when_fuel_is_on() {
        let text = render(&[], Some(Fuel { initial: 1000, remaining: 120 }));
        assert!(text.ends_with("fuel: 120 remaining of 1000 (880 consumed)\n"), "{text}");
    }
}
