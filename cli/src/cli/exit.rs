//! How a failed command ends: what goes to stderr and which status the process exits with.
//!
//! The statuses are wasmtime's, so scripts written for one engine work with the other: a trap exits
//! 134 (what an abort gives on Unix), a guest's exit request exits with the guest's status and
//! prints nothing, and every other error exits 1. The message is one `error: ...` line; a trap adds
//! its wasm backtrace below it, the middle of a deep one elided. This module must never panic, not
//! even when stderr is closed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use tierup::Trap;
use tierup::debuginfo::DebugInfo;
use tierup::vm::FrameInfo;

/// The status of a trapped run: 128 + SIGABRT, as wasmtime exits.
const TRAP_STATUS: u8 = 134;

/// Frames shown from each end of a long backtrace: unbounded recursion ends with thousands of
/// frames, of which the innermost and the outermost (the path in from the entry point) tell all.
const END_FRAMES: usize = 20;

/// Prints `err` to stderr and returns the exit status it calls for.
pub fn report(err: &anyhow::Error) -> ExitCode {
    report_with_source(err, None)
}

/// [`report`], with each backtrace frame's source lines under it when `source` (the module's
/// debug information) has them.
pub fn report_with_source(err: &anyhow::Error, source: Option<&DebugInfo>) -> ExitCode {
    let (status, text) = describe(err, source);
    // Nowhere is left to report a failure to write to stderr, and panicking is not an option.
    let _ = std::io::stderr().lock().write_all(printable(&text).as_bytes());
    status
}

/// The exit status `err` calls for, and what to print for it (nothing for a guest's exit).
fn describe(err: &anyhow::Error, source: Option<&DebugInfo>) -> (ExitCode, String) {
    let Some(trap) = find_trap(err) else {
        return (ExitCode::FAILURE, error_text(err, ""));
    };
    match trap.exit_status() {
        None => (ExitCode::from(TRAP_STATUS), error_text(err, &backtrace(trap, source))),
        Some(status) => guest_exit(status),
    }
}

/// A guest asked to exit: not an error, unless the status cannot be a process exit status.
fn guest_exit(status: i32) -> (ExitCode, String) {
    match u8::try_from(status) {
        Ok(status) => (ExitCode::from(status), String::new()),
        Err(_) => {
            let err = anyhow::anyhow!("guest exited with status {status}, outside 0..=255");
            (ExitCode::FAILURE, error_text(&err, ""))
        }
    }
}

/// Whether `err` is the guest's request to exit with status 0: how a WASI program that succeeded
/// ends, not a failure.
pub fn is_clean_exit(err: &anyhow::Error) -> bool {
    find_trap(err).and_then(Trap::exit_status) == Some(0)
}

/// The trap behind `err`, if a trap is what ended the command, however much context was added.
fn find_trap(err: &anyhow::Error) -> Option<&Trap> {
    err.chain().find_map(|cause| {
        let engine_error = cause.downcast_ref::<tierup::Error>();
        engine_error.and_then(tierup::Error::as_trap).or_else(|| cause.downcast_ref::<Trap>())
    })
}

/// The trap's backtrace as `Trap::backtrace_string` prints it, with the middle of a deep one
/// elided, and with `source`, each frame's source lines under it (as wasmtime prints them with
/// debug info): `at FILE:LINE:COLUMN`, preceded by the functions the compiler inlined there.
/// Formatted frame by frame, so a million-frame backtrace never becomes one string.
fn backtrace(trap: &Trap, source: Option<&DebugInfo>) -> String {
    let frames = &trap.backtrace;
    let mut out = String::new();
    let frame_lines = |out: &mut String, i: usize, frame: &FrameInfo| {
        let _ = writeln!(out, "  {i:>3}: {frame}");
        if let Some(source) = source {
            source_lines(out, source, frame);
        }
    };
    if frames.len() <= 2 * END_FRAMES + 1 {
        for (i, frame) in frames.iter().enumerate() {
            frame_lines(&mut out, i, frame);
        }
        if trap.omitted_frames > 0 {
            let _ = writeln!(out, "  ... {} more frames", trap.omitted_frames);
        }
        return out;
    }
    let tail_start = frames.len() - END_FRAMES;
    for (i, frame) in frames.iter().enumerate().take(END_FRAMES) {
        frame_lines(&mut out, i, frame);
    }
    let _ = writeln!(out, "       ... {} frames elided ...", tail_start - END_FRAMES);
    for (i, frame) in frames.iter().enumerate().skip(tail_start) {
        frame_lines(&mut out, i, frame);
    }
    out
}

/// The source lines of `frame`'s offset, one per source frame: the inlined functions first,
/// named, then the line of the function itself.
fn source_lines(out: &mut String, source: &DebugInfo, frame: &FrameInfo) {
    let Some(offset) = frame.wasm_offset else { return };
    let frames = source.frames(offset);
    let last = frames.len().saturating_sub(1);
    for (i, source_frame) in frames.iter().enumerate() {
        let Some(location) = &source_frame.location else { continue };
        match (&source_frame.function, i < last) {
            (Some(function), true) => {
                let _ = writeln!(out, "           {function} (inlined) at {location}");
            }
            _ => {
                let _ = writeln!(out, "           at {location}");
            }
        }
    }
}

/// `error: ` and the whole context chain on one line, then the detail lines (a `.wat` snippet, a
/// backtrace) below it.
fn error_text(err: &anyhow::Error, backtrace: &str) -> String {
    let message = format!("{err:#}");
    let (message, snippet) = split_snippet(&message);
    let mut text = format!("error: {}\n", one_line(message));
    if !snippet.trim().is_empty() {
        text.push_str(snippet.trim_end());
        text.push('\n');
    }
    if !backtrace.is_empty() {
        text.push_str("wasm backtrace:\n");
        text.push_str(backtrace);
    }
    text
}

/// Control characters other than line breaks replaced: snippets quote the input file and frame
/// names come from the module, either of which may hold terminal escape sequences.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' { '\u{fffd}' } else { c }).collect()
}

/// Splits a `.wat` syntax error's source snippet (the lines from its `-->` location on) from the
/// message, so the snippet can go under the `error:` line.
fn split_snippet(message: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in message.split_inclusive('\n') {
        if line.trim_start().starts_with("--> ") {
            return message.split_at(offset);
        }
        offset += line.len();
    }
    (message, "")
}

/// Any line breaks folded into spaces (wasmparser spells a bad magic number over ten lines).
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierup::TrapCode;
    use tierup::vm::FrameInfo;

    fn trap_error(code: TrapCode) -> anyhow::Error {
        anyhow::Error::new(tierup::Error::from(Trap::new(code))).context("while calling `f`")
    }

    #[test]
    fn statuses_follow_wasmtime() {
        let (status, text) = describe(&trap_error(TrapCode::IntegerDivideByZero), None);
        assert_eq!(status, ExitCode::from(134));
        assert_eq!(text, "error: while calling `f`: wasm trap: integer divide by zero\n");
        let (status, text) = describe(&anyhow::anyhow!("no such file"), None);
        assert_eq!((status, text.as_str()), (ExitCode::FAILURE, "error: no such file\n"));
    }

    #[test]
    fn a_guest_exit_is_its_status_and_silent() {
        let exit = |code| describe(&trap_error(TrapCode::Exit(code)), None);
        assert_eq!(exit(0), (ExitCode::SUCCESS, String::new()));
        assert_eq!(exit(7), (ExitCode::from(7), String::new()));
        let (status, text) = exit(-1);
        assert_eq!(status, ExitCode::FAILURE);
        assert!(text.contains("status -1"), "{text}");
    }

    #[test]
    fn deep_backtraces_keep_both_ends() {
        let frame = |i| FrameInfo {
            func_index: i,
            func_name: None,
            module_name: None,
            tier: tierup::Tier::Interp,
            wasm_offset: Some(0x10 + i),
        };
        let mut trap = Trap::new(TrapCode::StackOverflow);
        trap.backtrace = (0..100).map(frame).collect();
        let text = backtrace(&trap, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 * END_FRAMES + 1);
        assert_eq!(lines[0], "    0: 0x10 - <module>!<wasm function 0> [interp]");
        assert_eq!(lines[END_FRAMES].trim(), "... 60 frames elided ...");
        assert_eq!(lines[2 * END_FRAMES], "   99: 0x73 - <module>!<wasm function 99> [interp]");
        trap.backtrace.truncate(2 * END_FRAMES + 1);
        assert_eq!(backtrace(&trap, None), trap.backtrace_string());
    }

    #[test]
    fn wat_snippets_go_below_the_error_line() {
        let message = "failed to compile a.wat: expected `(`\n     --> a.wat:1:1\n      |\n";
        let (line, snippet) = split_snippet(message);
        assert_eq!(line, "failed to compile a.wat: expected `(`\n");
        assert!(snippet.starts_with("     --> a.wat:1:1"));
        assert_eq!(split_snippet("one line"), ("one line", ""));
    }

    #[test]
    fn other_line_breaks_are_folded() {
        assert_eq!(one_line("expected=[\n    0x0,\n] (at 0x0)\n"), "expected=[ 0x0, ] (at 0x0)");
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\u{fffd}[2Jb\n");
    }
}
