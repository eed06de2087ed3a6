//! One measured run: start the child, collect its output, reap it with its resource usage, and
//! judge it. A run whose output is wrong is an error, never a time.
//!
//! Each child is reaped with `wait4`, which returns that child's own `rusage`: peak RSS is then
//! the child's alone, not a maximum over every child the harness has had (which is what
//! `getrusage(RUSAGE_CHILDREN)` reports). This module must not interpret samples; `report.rs` does.

use super::phases::{CompileFigures, PhaseTimes};
use serde::{Deserialize, Serialize};
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::Instant;

/// One successful run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// From just before the spawn to just after the reap.
    pub wall_ns: u64,
    /// The phases, for contenders that report them.
    pub compile_ns: Option<u64>,
    /// Linking and instantiation.
    pub instantiate_ns: Option<u64>,
    /// The call of `_start`.
    pub run_ns: Option<u64>,
    /// The child's peak resident set size.
    pub max_rss_kib: u64,
    /// Bytes of function bodies in the module (tierup runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_bytes: Option<u64>,
    /// Time tier 1 spent compiling during the run (tierup runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier1_compile_ns: Option<u64>,
    /// Time tier 2 spent compiling during the run, its pipeline included (tierup runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier2_compile_ns: Option<u64>,
}

impl Sample {
    /// The time the program's work took: the run phase, or the whole process for contenders
    /// without phases (the native build, whose start-up is a millisecond of a multi-second run).
    pub fn run_time_ns(&self) -> u64 {
        self.run_ns.unwrap_or(self.wall_ns)
    }
}

/// Runs `command` once; its stdout must be `expected` and, if `phases`, its stderr must end with a
/// phase-times line. The error says what went wrong in one line.
pub fn run(mut command: Command, expected: &str, phases: bool) -> Result<Sample, String> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let finished = spawn_and_reap(command).map_err(|e| format!("cannot run: {e}"))?;
    let wall_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    judge(&finished, expected)?;
    let times = PhaseTimes::find_in(&finished.stderr);
    let figures = CompileFigures::find_in(&finished.stderr);
    if phases && times.is_none() {
        return Err(format!("no phase-times line on stderr{}", last_line(&finished.stderr)));
    }
    Ok(Sample {
        wall_ns,
        compile_ns: times.map(|t| t.compile_ns),
        instantiate_ns: times.map(|t| t.instantiate_ns),
        run_ns: times.map(|t| t.run_ns),
        max_rss_kib: finished.max_rss_kib,
        code_bytes: figures.map(|f| f.code_bytes),
        tier1_compile_ns: figures.filter(|f| f.tier1_functions > 0).map(|f| f.tier1_ns),
        tier2_compile_ns: figures.filter(|f| f.tier2_functions > 0).map(|f| f.tier2_ns),
    })
}

/// A reaped child: its status, its output, its own peak RSS.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    max_rss_kib: u64,
}

fn spawn_and_reap(mut command: Command) -> io::Result<Finished> {
    let mut child = command.spawn()?;
    // Both pipes are drained while the child runs, so it never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let reaped = wait4(&child);
    if reaped.is_err() {
        // Not reaped, so still ours to kill; the readers then see end of file and finish.
        let _ = child.kill();
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let (status, max_rss_kib) = reaped?;
    Ok(Finished { status, stdout, stderr, max_rss_kib })
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for `child` with `wait4`, returning its status and peak RSS in KiB.
fn wait4(child: &Child) -> io::Result<(ExitStatus, u64)> {
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are live, writable locals of the types wait4 expects, and
        // `pid` is our own child, which nothing else reaps (`Child::wait` is never called on it).
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    // Linux reports ru_maxrss in KiB.
    Ok((ExitStatus::from_raw(status), u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// Success and the expected stdout, or why not.
fn judge(finished: &Finished, expected: &str) -> Result<(), String> {
    if !finished.status.success() {
        return Err(format!("{}{}", finished.status, first_words(&finished.stderr)));
    }
    match first_difference(&finished.stdout, expected) {
        None => Ok(()),
        Some(diff) => Err(format!("wrong output: {diff}")),
    }
}

/// `: <the first line with a word in it>`, or nothing: that is where tierup puts its `error:`
/// line and V8 its fatal-error message (under a `#` banner, which this skips).
fn first_words(stderr: &str) -> String {
    let mut lines = stderr.lines().filter(|line| {
        !line.starts_with(super::phases::TAG) && !line.starts_with(super::phases::COMPILE_TAG)
    });
    let line = lines.find(|line| line.chars().any(char::is_alphanumeric));
    line.map(|line| format!(": {}", shorten(line.trim()))).unwrap_or_default()
}

/// `: <the last non-empty line>`, or nothing.
fn last_line(text: &str) -> String {
    let line = text.lines().rev().map(str::trim).find(|line| !line.is_empty());
    line.map(|line| format!(": {}", shorten(line))).unwrap_or_default()
}

/// Where `actual` first differs from `expected`, as `line N: got "...", expected "..."`.
pub fn first_difference(actual: &str, expected: &str) -> Option<String> {
    if actual == expected {
        return None;
    }
    let mut got = actual.split_inclusive('\n');
    let mut want = expected.split_inclusive('\n');
    for number in 1.. {
        match (got.next(), want.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (a, b) => {
                let show = |line: Option<&str>| {
                    line.map_or("end of output".into(), |l| format!("{:?}", shorten(l)))
                };
                return Some(format!("line {number}: got {}, expected {}", show(a), show(b)));
            }
        }
    }
    unreachable!("`1..` never ends before the outputs differ")
}

/// At most 80 characters of `text`, so one bad line cannot flood the report.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_first_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            first_difference("a\nc\n", "a\nb\n").unwrap(),
            r#"line 2: got "c\n", expected "b\n""#
        );
        assert_eq!(
            first_difference("a\n", "a\nb\n").unwrap(),
            r#"line 2: got end of output, expected "b\n""#
        );
        assert_eq!(first_difference("a", "a\n").unwrap(), r#"line 1: got "a", expected "a\n""#);
    }

    #[test]
    fn a_child_is_measured_and_judged() {
        let mut ok = Command::new("sh");
        ok.args([
            "-c",
            "echo hi; echo 'tierup-phase-times compile_ns=1 instantiate_ns=2 run_ns=3' >&2",
        ]);
        let sample = run(ok, "hi\n", true).unwrap();
        assert_eq!((sample.compile_ns, sample.run_ns, sample.run_time_ns()), (Some(1), Some(3), 3));
        assert!(sample.max_rss_kib > 0 && sample.wall_ns > 0);

        let mut wrong = Command::new("sh");
        wrong.args(["-c", "echo ho"]);
        assert!(run(wrong, "hi\n", false).unwrap_err().starts_with("wrong output: line 1"));

        let mut failing = Command::new("sh");
        failing.args(["-c", "echo '#' >&2; echo oops >&2; echo '  at x' >&2; exit 3"]);
        let err = run(failing, "", false).unwrap_err();
        assert_eq!(err, "exit status: 3: oops");

        let mut silent = Command::new("true");
        silent.arg("x");
        assert!(run(silent, "", true).unwrap_err().starts_with("no phase-times line"));
    }
}
