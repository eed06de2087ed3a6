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

/// The table, one line per function that ran, then the footers.
pub fn render(stats: &[FuncStats], fuel: Option<Fuel>) -> String {
    let mut ran: Vec<&FuncStats> = stats.iter().filter(|s| heat(s) > 0).collect();
    ran.sort_by_key(|s| (std::cmp::Reverse(heat(s)), s.func_index));
    let rows: Vec<[String; 10]> = ran.iter().map(|s| row(s)).collect();
    let mut out = table(&rows);
    let idle = stats.len() - ran.len();
    if idle > 0 {
        let _ = writeln!(out, "({idle} of {} functions never ran)", stats.len());
    }
    if let Some(Fuel { initial, remaining }) = fuel {
        let consumed = initial.saturating_sub(remaining);
        let _ = writeln!(out, "fuel: {remaining} remaining of {initial} ({consumed} consumed)");
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

fn row(s: &FuncStats) -> [String; 10] {
    let dash = || "-".to_string();
    // When tier 1 was asked for (at a call or a loop back-edge), when compiling it started, and
    // when its code went into the function table; a refusal shows instead of the install.
    let requested = s.baseline.requested.map_or_else(dash, |event| {
        let how = if event.osr { "loop" } else { "call" };
        format!("{} at {how}", ms(Some(event.elapsed)))
    });
    let installed = match &s.baseline.state {
        tierup::CompileState::Refused(_) => "refused".to_string(),
        _ => ms(s.baseline.installed),
    };
    let (compile, code) = s.compiled.map_or_else(
        || (dash(), dash()),
        |(time, bytes)| (format!("{:.1} us", time.as_secs_f64() * 1e6), format!("{bytes} B")),
    );
    [
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

/// Columns padded to their widest cell; numbers right-aligned, text left-aligned.
fn table(rows: &[[String; 10]]) -> String {
    let mut widths = HEADERS.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let headers = HEADERS.map(str::to_string);
    for cells in std::iter::once(&headers).chain(rows) {
        let [index, name, calls, back_edges, tier, requested, compiling, installed, compile, code] =
            cells;
        let [w0, w1, w2, w3, w4, w5, w6, w7, w8, _] = widths;
        let line = format!(
            "{index:>w0$}  {name:<w1$}  {calls:>w2$}  {back_edges:>w3$}  {tier:<w4$}  \
             {requested:>w5$}  {compiling:>w6$}  {installed:>w7$}  {compile:>w8$}  {code}"
        );
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
        FuncStats { func_index, name, profile, tier: Tier::Interp, compiled: None, baseline }
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
    fn fuel_line_when_fuel_is_on() {
        let text = render(&[], Some(Fuel { initial: 1000, remaining: 120 }));
        assert!(text.ends_with("fuel: 120 remaining of 1000 (880 consumed)\n"), "{text}");
    }
}
