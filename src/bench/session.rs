//! The measuring loop: for each program, warm-up rounds then measured rounds, each round running
//! every contender once, so slow drift in the machine (other load, thermal state) touches all
//! contenders alike instead of whichever happened to run last.
//!
//! A contender whose run fails stops being run for that program: its error is the measurement.
//! This module decides order and bookkeeping only; `measure.rs` runs, `report.rs` summarises.

use super::contender::{Contender, Toolbox};
use super::corpus::Program;
use super::measure;
use super::record::Measurement;
use indicatif::{ProgressBar, ProgressStyle};

/// What to run and how often.
pub struct Plan<'a> {
    /// The programs, in order.
    pub programs: &'a [Program],
    /// The contenders, in order.
    pub contenders: &'a [Contender],
    /// Discarded runs per program and contender.
    pub warmup: usize,
    /// Kept runs per program and contender.
    pub runs: usize,
}

/// Runs the plan, returning a measurement per program and available contender, and a note per
/// pair skipped because the contender cannot run the program here.
pub fn run(plan: &Plan, tools: &Toolbox) -> (Vec<Measurement>, Vec<String>) {
    let rounds = plan.warmup + plan.runs;
    let total = plan.programs.len() * plan.contenders.len() * rounds;
    let progress = progress_bar(total as u64);
    let mut measurements = Vec::new();
    let mut notes = Vec::new();
    for program in plan.programs {
        let mut cells = Vec::new();
        for contender in plan.contenders {
            match tools.unavailable(contender, program) {
                Some(why) => {
                    notes.push(format!("skipping {} on {}: {why}", program.name, contender.name()));
                    progress.inc(rounds as u64);
                }
                None => cells.push((contender, measurement(program, contender))),
            }
        }
        for round in 0..rounds {
            for (contender, cell) in &mut cells {
                progress.set_message(format!("{} on {}", program.name, contender.name()));
                if cell.error.is_none() {
                    run_once(tools, program, contender, cell, round >= plan.warmup);
                }
                progress.inc(1);
            }
        }
        measurements.extend(cells.into_iter().map(|(_, cell)| cell));
    }
    progress.finish_and_clear();
    (measurements, notes)
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

fn run_once(
    tools: &Toolbox,
    program: &Program,
    contender: &Contender,
    cell: &mut Measurement,
    keep: bool,
) {
    let command = tools.command(contender, program);
    match measure::run(command, &program.expected, contender.reports_phases()) {
        Ok(sample) if keep => cell.runs.push(sample),
        Ok(_) => {}
        Err(error) => {
            // Earlier good runs say nothing once one run was wrong.
            cell.runs.clear();
            cell.error = Some(error);
        }
    }
}

/// A bar on stderr; indicatif draws nothing when stderr is not a terminal.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = "{bar:30} {pos}/{len} runs, {elapsed} elapsed, ~{eta} left: {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}
