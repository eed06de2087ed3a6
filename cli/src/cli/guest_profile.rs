//! `tierup run --profile=guest`: turns the engine's [`GuestProfile`] into what people read.
//!
//! Three outputs, all written after the run: a Firefox Profiler profile in its processed format
//! (`fxprof-processed-profile`, as wasmtime's `--profile=guest`; open it at
//! <https://profiler.firefox.com>), a flame graph SVG (`inferno`, from folded stacks
//! `f1;f2;f3 count`), and a report on stderr: the top functions by self samples with their tier
//! split, and the top loops. Frames are named from the module's name section, else
//! `wasm-function[N]`, with the tier they ran in: `fib [baseline]`.
//!
//! The engine only samples; this module only formats, so the library gains no dependency.

use anyhow::{Context, Result};
use fxprof_processed_profile::{
    CategoryColor, CategoryPairHandle, CpuDelta, Frame, FrameFlags, FrameInfo, Profile,
    ReferenceTimestamp, SamplingInterval, Timestamp,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tierup::{GuestFrame, GuestProfile, Module, OUTSIDE_WASM, Tier};

/// What `--profile=guest[,INTERVAL]` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestOptions {
    pub interval: Duration,
}

/// Parses INTERVAL: a number with a unit (`ns`, `us`, `ms`, `s`; milliseconds without one),
/// e.g. `1ms`, `250us`, `0.5`.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not an interval like 1ms"))?;
    let seconds = match unit {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "" | "ms" => value / 1e3,
        "s" => value,
        _ => return Err(format!("unknown unit `{unit}` (ns, us, ms or s)")),
    };
    let interval = Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())?;
    if interval < Duration::from_micros(10) || interval > Duration::from_secs(10) {
        return Err("the interval must be between 10us and 10s".to_string());
    }
    Ok(interval)
}

/// Where the profile goes: PATH, or `tierup-guest-<pid>.json` in the current directory (as
/// wasmtime writes `wasmtime-guest-profile.json`, with the pid so runs never overwrite each
/// other); the flame graph beside it, with the extension `.svg`.
pub fn output_paths(path: Option<&Path>) -> (PathBuf, PathBuf) {
    let json = match path {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(format!("tierup-guest-{}.json", std::process::id())),
    };
    let svg = json.with_extension("svg");
    (json, svg)
}

/// A frame's function name: the name section's, else `wasm-function[N]`.
fn function_name(module: &Module, func_index: u32) -> String {
    match module.func_name(func_index) {
        Some(name) => name.to_string(),
        None => format!("wasm-function[{func_index}]"),
    }
}

/// A frame's label in both outputs: `name [tier]`.
fn frame_label(module: &Module, frame: &GuestFrame) -> String {
    format!("{} [{}]", function_name(module, frame.func_index), frame.tier.name())
}

/// Writes the profile and the flame graph, then prints the report.
pub fn write_all(
    module: &Module,
    profile: &GuestProfile,
    json: &Path,
    svg: &Path,
    program: &str,
) -> Result<()> {
    let firefox = firefox_profile(module, profile, program);
    let file = std::fs::File::create(json)
        .with_context(|| format!("cannot create the guest profile {}", json.display()))?;
    serde_json::to_writer(std::io::BufWriter::new(file), &firefox)
        .with_context(|| format!("cannot write the guest profile {}", json.display()))?;
    let folded = folded_stacks(module, profile);
    let mut graph = Vec::new();
    if !folded.is_empty() {
        let mut options = inferno::flamegraph::Options::default();
        options.title = format!("{program}: wasm guest, {} samples", profile.wasm_samples());
        options.count_name = "samples".to_string();
        inferno::flamegraph::from_lines(
            &mut options,
            folded.iter().map(String::as_str),
            &mut graph,
        )
        .context("cannot draw the flame graph")?;
    }
    std::fs::write(svg, &graph)
        .with_context(|| format!("cannot write the flame graph {}", svg.display()))?;
    let mut err = std::io::stderr().lock();
    report(&mut err, module, profile)?;
    writeln!(
        err,
        "guest profile: {} (Firefox Profiler), {} (flame graph)",
        json.display(),
        svg.display()
    )?;
    Ok(())
}

/// The processed-format profile: one process, one thread, one sample per sampler tick (ticks
/// outside wasm have no stack), a category per tier.
fn firefox_profile(module: &Module, profile: &GuestProfile, program: &str) -> Profile {
    let interval = SamplingInterval::from_nanos(profile.interval.as_nanos() as u64);
    let start = SystemTime::now() - profile.duration;
    let mut fx = Profile::new("tierup", ReferenceTimestamp::from_system_time(start), interval);
    let pid = std::process::id();
    let process = fx.add_process(program, pid, Timestamp::from_millis_since_reference(0.0));
    let thread = fx.add_thread(process, pid, Timestamp::from_millis_since_reference(0.0), true);
    fx.set_thread_name(thread, "wasm");
    let categories: [CategoryPairHandle; 3] = [
        fx.add_category("Interpreter", CategoryColor::Yellow).into(),
        fx.add_category("Baseline", CategoryColor::Blue).into(),
        fx.add_category("Optimized", CategoryColor::Green).into(),
    ];
    let stacks: Vec<_> = profile
        .stacks
        .iter()
        .map(|stack| {
            let frames: Vec<FrameInfo> = stack
                .frames
                .iter()
                .map(|f| FrameInfo {
                    frame: Frame::Label(fx.intern_string(&frame_label(module, f))),
                    category_pair: categories[f.tier as usize],
                    flags: FrameFlags::empty(),
                })
                .collect();
            fx.intern_stack_frames(thread, frames.into_iter())
        })
        .collect();
    let cpu = CpuDelta::from_nanos(profile.interval.as_nanos() as u64);
    for &(at, stack) in &profile.timeline {
        let at = Timestamp::from_nanos_since_reference(at.as_nanos() as u64);
        let stack = if stack == OUTSIDE_WASM { None } else { stacks[stack as usize] };
        fx.add_sample(thread, at, stack, cpu, 1);
    }
    fx
}

/// The folded stacks inferno draws: `outer [tier];...;inner [tier] samples`, one per distinct
/// stack.
fn folded_stacks(module: &Module, profile: &GuestProfile) -> Vec<String> {
    profile
        .stacks
        .iter()
        .map(|stack| {
            let labels: Vec<String> = stack
                .frames
                .iter()
                // `;` separates frames and a space ends the stack: neither may be in a name.
                .map(|f| frame_label(module, f).replace(';', ":").replace(' ', "_"))
                .collect();
            format!("{} {}", labels.join(";"), stack.samples)
        })
        .collect()
}

/// How many functions and loops the report lists.
const REPORT_ROWS: usize = 10;

/// The report on stderr.
fn report(out: &mut impl Write, module: &Module, profile: &GuestProfile) -> std::io::Result<()> {
    let total = profile.wasm_samples();
    writeln!(
        out,
        "guest profile: {} samples in wasm every {:?} over {:.3}s ({} outside wasm{})",
        total,
        profile.interval,
        profile.duration.as_secs_f64(),
        profile.outside_wasm,
        if profile.torn > 0 { format!(", {} torn", profile.torn) } else { String::new() },
    )?;
    if total == 0 {
        return Ok(());
    }
    let share = |n: u64| 100.0 * n as f64 / total as f64;
    let tiers = [Tier::Interp, Tier::Baseline, Tier::Optimized];
    // Each tier's part of the row's own samples.
    let split = |by_tier: &[u64; 3]| -> String {
        let all: u64 = by_tier.iter().sum();
        let parts: Vec<String> = tiers
            .iter()
            .filter(|t| by_tier[**t as usize] > 0)
            .map(|t| {
                let part = 100.0 * by_tier[*t as usize] as f64 / all as f64;
                format!("{} {part:.1}%", t.name())
            })
            .collect();
        parts.join(", ")
    };
    writeln!(out, "top functions (self samples):")?;
    let header = ("self%", "self", "total", "function");
    writeln!(
        out,
        "  {:>6} {:>7} {:>7}  {:<30} tiers (of its self samples)",
        header.0, header.1, header.2, header.3
    )?;
    // Functions only ever seen calling others are in the profiles, not in this list.
    let running = profile.functions().into_iter().filter(|f| f.self_samples > 0);
    for f in running.take(REPORT_ROWS) {
        writeln!(
            out,
            "  {:>5.1}% {:>7} {:>7}  {:<30} {}",
            share(f.self_samples),
            f.self_samples,
            f.total_samples,
            function_name(module, f.func_index),
            split(&f.self_by_tier),
        )?;
    }
    let loops = profile.loops();
    if !loops.is_empty() {
        writeln!(out, "top loops (samples in the innermost loop reached):")?;
        writeln!(out, "  {:>6} {:>7}  {:<30} {:<6} tiers", "share", "samples", "function", "loop")?;
        for l in loops.iter().take(REPORT_ROWS) {
            writeln!(
                out,
                "  {:>5.1}% {:>7}  {:<30} {:<6} {}",
                share(l.samples),
                l.samples,
                function_name(module, l.func_index),
                format!("#{}", l.loop_ordinal),
                split(&l.by_tier),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_interval("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_interval("2"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_interval("0.5s"), Ok(Duration::from_millis(500)));
        assert!(parse_interval("1h").is_err());
        assert!(parse_interval("1ns").is_err());
        assert!(parse_interval("fast").is_err());
    }

    #[test]
    fn paths_default_to_the_pid() {
        let (json, svg) = output_paths(None);
        assert_eq!(json, PathBuf::from(format!("tierup-guest-{}.json", std::process::id())));
        assert_eq!(svg.extension().unwrap(), "svg");
        let (json, svg) = output_paths(Some(Path::new("out/p.json")));
        assert_eq!((json.to_str(), svg.to_str()), (Some("out/p.json"), Some("out/p.svg")));
    }
}
