//! The measuring loop: for each program, rounds in which every contender still measuring runs
//! once, so slow drift in the machine (other load, thermal state) touches all contenders alike
//! instead of whichever happened to run last.
//!
//! Two protocols decide how many rounds a cell (a program on a contender) gets:
//! - fixed: `warmup` discarded and `runs` kept rounds for every cell;
//! - adaptive: a cell stops once its median is stable (one more run could move it by at most the
//!   tolerance, after at least `min_runs`), after `max_runs`, or when its share of the time budget
//!   is spent. Each program gets an equal share of what is left of the session's budget; within a
//!   program, the cells still measuring share what the finished ones left, so a cell that settles
//!   early hands its time to the slow and noisy ones.
//!
//! A contender whose run fails stops being run for that program: its error is the measurement.
//! This module decides order and bookkeeping only; `measure.rs` runs, `report.rs` summarises.

use super::contender::{Contender, Toolbox};
use super::corpus::Program;
use super::measure;
use super::record::{Measurement, Protocol};
use super::stats;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// What to run and how often.
pub struct Plan<'a> {
    /// The programs, in order.
    pub programs: &'a [Program],
    /// The contenders, in order.
    pub contenders: &'a [Contender],
    /// How many runs each cell gets.
    pub protocol: Protocol,
}

/// One program on one contender while it is being measured.
struct Cell<'c> {
    contender: &'c Contender,
    measurement: Measurement,
    /// Wall time of all its runs so far, warm-up included.
    spent: Duration,
    done: bool,
}

/// Runs the plan, returning a measurement per program and available contender, and a note per
/// pair skipped because the contender cannot run the program here.
pub fn run(plan: &Plan, tools: &Toolbox) -> (Vec<Measurement>, Vec<String>) {
    let mut progress = Progress::new(plan);
    let mut measurements = Vec::new();
    let mut notes = Vec::new();
    for (index, program) in plan.programs.iter().enumerate() {
        let mut cells = Vec::new();
        for contender in plan.contenders {
            match tools.unavailable(contender, program) {
                Some(why) => {
                    notes.push(format!("skipping {} on {}: {why}", program.name, contender.name()));
                }
                None => cells.push(Cell {
                    contender,
                    measurement: measurement(program, contender),
                    spent: Duration::ZERO,
                    done: false,
                }),
            }
        }
        let budget = progress.program_budget(index);
        measure_program(plan, tools, program, &mut cells, budget, &mut progress);
        progress.program_done(index, program, &cells);
        measurements.extend(cells.into_iter().map(|cell| cell.measurement));
    }
    progress.finish();
    (measurements, notes)
}

/// Rounds over `cells` until every one is done under the plan's protocol.
fn measure_program(
    plan: &Plan,
    tools: &Toolbox,
    program: &Program,
    cells: &mut [Cell],
    budget: Option<Duration>,
    progress: &mut Progress,
) {
    let (warmup, max_runs) = match plan.protocol {
        Protocol::Fixed { warmup, runs } => (warmup, runs),
        Protocol::Adaptive { warmup, max_runs, .. } => (warmup, max_runs),
    };
    // A cached tier's runs all find the cache warm: one unmeasured run fills it first.
    for cell in cells.iter_mut().filter(|cell| cell.contender.fills_a_cache()) {
        progress.running(program, cell.contender);
        let started = Instant::now();
        run_once(tools, program, cell, false);
        cell.spent += started.elapsed();
    }
    for round in 0.. {
        if round >= warmup + max_runs || cells.iter().all(|cell| cell.done) {
            break;
        }
        for cell in cells.iter_mut().filter(|cell| !cell.done) {
            progress.running(program, cell.contender);
            let started = Instant::now();
            run_once(tools, program, cell, round >= warmup);
            cell.spent += started.elapsed();
            progress.ran();
        }
        if round >= warmup {
            settle(&plan.protocol, cells, budget);
        }
    }
}

/// Marks the cells the protocol stops after a measured round.
fn settle(protocol: &Protocol, cells: &mut [Cell], budget: Option<Duration>) {
    for cell in cells.iter_mut() {
        cell.done |= cell.measurement.error.is_some() || stable(protocol, &cell.measurement);
    }
    let Some(budget) = budget else { return };
    let finished: Duration = cells.iter().filter(|c| c.done).map(|c| c.spent).sum();
    let open = cells.iter().filter(|c| !c.done).count() as u32;
    if open == 0 {
        return;
    }
    // The cells still measuring share what the finished ones left of the program's budget.
    let share = budget.saturating_sub(finished) / open;
    for cell in cells.iter_mut().filter(|c| !c.done) {
        cell.done = cell.spent >= share;
    }
}

/// Whether the adaptive protocol has what it needs for this cell's median.
fn stable(protocol: &Protocol, measurement: &Measurement) -> bool {
    let Protocol::Adaptive { min_runs, tolerance, .. } = *protocol else { return false };
    let times: Vec<u64> = measurement.runs.iter().map(|s| s.run_time_ns()).collect();
    if times.len() < min_runs.max(2) {
        return false;
    }
    match (stats::next_value_can_move_median(&times), stats::median(&times)) {
        (Some(movable), Some(median)) => movable as f64 <= tolerance * median as f64,
        _ => false,
    }
}

fn measurement(program: &Program, contender: &Contender) -> Measurement {
    Measurement {
        program: program.name.clone(),
        contender: contender.name().to_string(),
        args: program.args.clone(),
        runs: Vec::new(),
        error: None,
    }
}

fn run_once(tools: &Toolbox, program: &Program, cell: &mut Cell, keep: bool) {
    let command = tools.command(cell.contender, program);
    match measure::run(command, &program.expected, cell.contender.reports_phases()) {
        Ok(sample) if keep => cell.measurement.runs.push(sample),
        Ok(_) => {}
        Err(error) => {
            // Earlier good runs say nothing once one run was wrong.
            cell.measurement.runs.clear();
            cell.measurement.error = Some(error);
            cell.done = true;
        }
    }
}

/// The progress bar on stderr, with the time left: for the fixed protocol from the runs left at
/// the pace so far; for the adaptive one from the budget, scaled by how much of their shares the
/// finished programs used. When stderr is not a terminal (a log), one line per finished program.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    programs: usize,
    budget: Option<Duration>,
    /// Runs per program for the fixed protocol, for the runs-left estimate.
    fixed_runs: Option<usize>,
    runs_done: usize,
    /// Of the finished programs: their shares of the budget and the time they took.
    shares_given: Duration,
    shares_used: Duration,
    current_share: Duration,
    current_started: Instant,
    /// Programs whose measuring has begun.
    programs_started: usize,
}

impl Progress {
    fn new(plan: &Plan) -> Progress {
        let (budget, fixed_runs) = match plan.protocol {
            Protocol::Fixed { warmup, runs } => (None, Some(warmup + runs)),
            Protocol::Adaptive { budget_secs, .. } => {
                (Some(Duration::from_secs(budget_secs)), None)
            }
        };
        let bar = ProgressBar::new(1000);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {msg}") {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            programs: plan.programs.len(),
            budget,
            fixed_runs: fixed_runs.map(|rounds| rounds * plan.contenders.len()),
            runs_done: 0,
            shares_given: Duration::ZERO,
            shares_used: Duration::ZERO,
            current_share: Duration::ZERO,
            current_started: Instant::now(),
            programs_started: 0,
        }
    }

    /// The share of the budget left for program `index`: an equal part of what remains.
    fn program_budget(&mut self, index: usize) -> Option<Duration> {
        self.programs_started = index + 1;
        self.current_started = Instant::now();
        let left = self.budget?.saturating_sub(self.started.elapsed());
        let share = left / (self.programs - index).max(1) as u32;
        // A program whose share is gone still gets its first round: no cell goes unmeasured.
        self.current_share = share;
        Some(share)
    }

    fn running(&self, program: &Program, contender: &Contender) {
        let left = self.time_left();
        let elapsed = self.started.elapsed();
        let total = elapsed + left;
        self.bar.set_length(total.as_millis().max(1) as u64);
        self.bar.set_position(elapsed.as_millis() as u64);
        self.bar.set_message(format!(
            "{} elapsed, {}{} left: {} on {}",
            clock(elapsed),
            self.left_qualifier(),
            clock(left),
            program.name,
            contender.name()
        ));
    }

    /// `≤` while the estimate is the whole budget (no program finished yet to scale it by), else
    /// `~`.
    fn left_qualifier(&self) -> &'static str {
        if self.budget.is_some() && self.shares_given.is_zero() { "≤" } else { "~" }
    }

    fn ran(&mut self) {
        self.runs_done += 1;
    }

    /// The estimate of the time left.
    fn time_left(&self) -> Duration {
        let elapsed = self.started.elapsed();
        if let Some(per_program) = self.fixed_runs {
            let total = per_program * self.programs;
            let pace = elapsed.checked_div(self.runs_done as u32).unwrap_or_default();
            return pace * total.saturating_sub(self.runs_done) as u32;
        }
        let Some(budget) = self.budget else { return Duration::ZERO };
        let used_fraction = if self.shares_given.is_zero() {
            1.0
        } else {
            (self.shares_used.as_secs_f64() / self.shares_given.as_secs_f64()).min(1.0)
        };
        let in_current = self.current_share.saturating_sub(self.current_started.elapsed());
        let after_current = if self.programs_started < self.programs {
            budget.saturating_sub(elapsed).saturating_sub(in_current)
        } else {
            Duration::ZERO
        };
        (in_current + after_current).mul_f64(used_fraction)
    }

    fn program_done(&mut self, index: usize, program: &Program, cells: &[Cell]) {
        self.shares_given += self.current_share;
        self.shares_used += self.current_started.elapsed();
        // Nothing of this program's share is left to spend.
        self.current_share = Duration::ZERO;
        if self.bar.is_hidden() {
            let runs: usize = cells.iter().map(|c| c.measurement.runs.len()).sum();
            eprintln!(
                "[{}/{}] {}: {runs} runs in {}; {} elapsed, {}{} left",
                index + 1,
                self.programs,
                program.name,
                clock(self.current_started.elapsed()),
                clock(self.started.elapsed()),
                self.left_qualifier(),
                clock(self.time_left())
            );
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `m:ss`.
fn clock(duration: Duration) -> String {
    let secs = duration.as_secs();
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::measure::Sample;

    fn measured(run_times: &[u64]) -> Measurement {
        let sample = |run_ns| Sample {
            wall_ns: run_ns,
            compile_ns: None,
            instantiate_ns: None,
            run_ns: Some(run_ns),
            max_rss_kib: 1,
            code_bytes: None,
            tier1_compile_ns: None,
            tier2_compile_ns: None,
        };
        Measurement {
            program: "p".into(),
            contender: "c".into(),
            args: vec![],
            runs: run_times.iter().copied().map(sample).collect(),
            error: None,
        }
    }

    const ADAPTIVE: Protocol = Protocol::Adaptive {
        warmup: 0,
        min_runs: 3,
        max_runs: 10,
        tolerance: 0.01,
        budget_secs: 60,
    };

    #[test]
    fn a_median_is_stable_when_one_more_run_cannot_move_it_past_the_tolerance() {
        assert!(!stable(&ADAPTIVE, &measured(&[1000, 1000])), "fewer than min_runs");
        assert!(stable(&ADAPTIVE, &measured(&[1000, 1010, 1020])));
        assert!(!stable(&ADAPTIVE, &measured(&[1000, 1030, 1100])));
        assert!(stable(&ADAPTIVE, &measured(&[800, 1000, 1001, 1002, 1500])));
        assert!(!stable(&Protocol::Fixed { warmup: 0, runs: 3 }, &measured(&[5, 5, 5])));
    }

    #[test]
    fn open_cells_share_what_finished_cells_left() {
        let contender = Contender::Native;
        let cell = |spent_ms, done| Cell {
            contender: &contender,
            measurement: measured(&[1000, 2000]),
            spent: Duration::from_millis(spent_ms),
            done,
        };
        // Budget 10 s; a finished cell used 2 s; two open cells share 8 s: 4 s each.
        let mut cells = [cell(2000, true), cell(3900, false), cell(4100, false)];
        settle(&ADAPTIVE, &mut cells, Some(Duration::from_secs(10)));
        assert_eq!(cells.iter().map(|c| c.done).collect::<Vec<_>>(), [true, false, true]);
    }

    #[test]
    fn clocks() {
        assert_eq!(clock(Duration::from_secs(0)), "0:00");
        assert_eq!(clock(Duration::from_secs(754)), "12:34");
    }
}
