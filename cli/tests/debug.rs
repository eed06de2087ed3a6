//! `tierup debug` end to end on the corpus's C program built with debug info
//! (`corpus/c-vm/c-vm.debug.wasm`): script mode (`--commands`) for breakpoints, stepping and
//! inspection, and the interactive prompt driven through tmux.
//!
//! What the debugger should show is computed here independently of it: function indices from the
//! name section (through the library), instruction offsets from wasmparser's operator reader, the
//! address of a format string from the data section, the program's output from `tierup run`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

const PROGRAM: &str = "corpus/c-vm/c-vm.debug.wasm";
/// The size `expected-small.txt` was made with.
const SIZE: &str = "2000";
/// Every function moves to tier 1 at its first call, compiled there and then: a function has
/// tiered up by the time it runs its first instruction.
const EAGER_TIER_UP: [&str; 6] =
    ["--tier", "auto", "--tier-up", "sync", "--tier-up-threshold", "1"];

/// What the test knows about the program, read without the debugger.
struct Facts {
    module: tierup::Module,
    binary: Vec<u8>,
    num_imported: u32,
}

impl Facts {
    fn load() -> Facts {
        let path = common::workspace_root().join(PROGRAM);
        let binary = std::fs::read(&path).expect("the corpus is built");
        let module = tierup::Module::new(&tierup::Engine::default(), &binary).unwrap();
        let num_imported =
            module.imports().filter(|(_, _, ty)| matches!(ty, tierup::ExternType::Func(_))).count()
                as u32;
        Facts { module, binary, num_imported }
    }

    /// The index of the function the name section calls `name`.
    fn func(&self, name: &str) -> u32 {
        (0..self.module.num_funcs())
            .find(|&f| self.module.func_name(f) == Some(name))
            .unwrap_or_else(|| panic!("no function {name}"))
    }

    /// Each operator of function `func` with its module offset, in body order.
    fn operators(&self, func: u32) -> Vec<(u32, String)> {
        let def = (func - self.num_imported) as usize;
        let body = wasmparser::Parser::new(0)
            .parse_all(&self.binary)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(body) => Some(body),
                _ => None,
            })
            .nth(def)
            .expect("a defined function");
        let mut reader = body.get_operators_reader().unwrap();
        let mut out = Vec::new();
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset().unwrap();
            out.push((offset as u32, format!("{op:?}")));
        }
        out
    }

    /// The linear-memory address where the bytes `text` start in an active data segment.
    fn data_address(&self, text: &[u8]) -> u32 {
        for payload in wasmparser::Parser::new(0).parse_all(&self.binary) {
            let wasmparser::Payload::DataSection(reader) = payload.unwrap() else { continue };
            for data in reader {
                let data = data.unwrap();
                let wasmparser::DataKind::Active { offset_expr, .. } = data.kind else { continue };
                let Some(at) = data.data.windows(text.len()).position(|w| w == text) else {
                    continue;
                };
                let mut ops = offset_expr.get_operators_reader();
                let wasmparser::Operator::I32Const { value } = ops.read().unwrap() else {
                    panic!("a segment at a constant address");
                };
                return value as u32 + at as u32;
            }
        }
        panic!("{text:?} is in no data segment")
    }
}

/// Runs `tierup debug --commands` with `commands` and `flags` on the program; its stdout.
fn debug_script(commands: &str, flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("commands.txt");
    std::fs::write(&script, commands).unwrap();
    let out = common::tierup_command()
        .arg("debug")
        .arg("--commands")
        .arg(&script)
        .args(flags)
        .args([PROGRAM, SIZE])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tierup debug failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every stop in a transcript: the function index and the offset, in order.
fn stops(transcript: &str) -> Vec<(u32, u32)> {
    transcript
        .lines()
        .filter_map(|line| {
            let line = line
                .split_once(", ")
                .filter(|_| line.starts_with("Breakpoint "))
                .map_or(line, |(_, rest)| rest);
            let (_, rest) = line.split_once(" (func ")?;
            let (func, rest) = rest.split_once(") @0x")?;
            let (offset, _) = rest.split_once(": ")?;
            Some((func.parse().ok()?, u32::from_str_radix(offset, 16).ok()?))
        })
        .collect()
}

/// The output of each `bt` in a transcript: its frame lines, innermost first.
fn backtraces(transcript: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut lines = transcript.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "(tierup) bt" {
            let mut frames = Vec::new();
            while let Some(frame) = lines.next_if(|l| l.starts_with('#')) {
                frames.push(frame.to_string());
            }
            out.push(frames);
        }
    }
    out
}

#[test]
fn a_breakpoint_stops_a_function_that_tiered_up_in_the_interpreter() {
    let facts = Facts::load();
    let printf = facts.func("printf");
    let first = facts.operators(printf)[0].0;
    // Stop inside the first printf (so it has tiered up), then break on printf itself.
    let transcript = debug_script(
        "break __stdio_write\nrun\nbt\nbreak printf\ndelete 1\ncontinue\nbt\ndelete\ncontinue\n",
        &EAGER_TIER_UP,
    );
    let traces = backtraces(&transcript);
    assert_eq!(traces.len(), 2, "{transcript}");
    let compiled = format!("printf (func {printf}) [baseline]");
    let optimized = format!("printf (func {printf}) [optimized]");
    assert!(
        traces[0].iter().any(|f| f.ends_with(&compiled) || f.ends_with(&optimized)),
        "printf runs compiled code under the first stop:\n{transcript}"
    );
    assert!(
        transcript.contains(&format!("Breakpoint 2, printf (func {printf}) @{first:#x}: ")),
        "{transcript}"
    );
    // (wasi-libc's line tables may add ` at FILE:LINE`.)
    assert!(
        traces[1][0].starts_with(&format!("#0   printf (func {printf}) @{first:#x} [interp]")),
        "{transcript}"
    );
    // Its caller, which tiered up too, stays where it was.
    assert!(!traces[1][1].ends_with("[interp]"), "{transcript}");
}

#[test]
fn step_and_next_walk_the_instructions_in_order() {
    let facts = Facts::load();
    let printf = facts.func("printf");
    let vfprintf = facts.func("vfprintf");
    let ops = facts.operators(printf);
    let call = ops.iter().position(|(_, op)| op.starts_with("Call {")).expect("printf calls");
    // Each `step` up to the call stops at the next operator; `next` steps over the call.
    let steps = "step\n".repeat(call);
    let transcript = debug_script(
        &format!("break printf\nrun\n{steps}next\ndelete\ncontinue\n"),
        &EAGER_TIER_UP,
    );
    let expected: Vec<(u32, u32)> = ops[..=call + 1].iter().map(|&(o, _)| (printf, o)).collect();
    assert_eq!(stops(&transcript), expected, "{transcript}");
    // `step` at the call goes into the callee, which has tiered up too.
    let transcript = debug_script(
        &format!("break printf\nrun\n{steps}step\nstep\nbt\ndelete\ncontinue\n"),
        &EAGER_TIER_UP,
    );
    let callee = facts.operators(vfprintf);
    let mut expected: Vec<(u32, u32)> = ops[..=call].iter().map(|&(o, _)| (printf, o)).collect();
    expected.extend(callee[..2].iter().map(|&(o, _)| (vfprintf, o)));
    assert_eq!(stops(&transcript), expected, "{transcript}");
    let trace = &backtraces(&transcript)[0];
    let frame0 = format!("#0   vfprintf (func {vfprintf}) @{:#x} [interp]", callee[1].0);
    let frame1 = format!("#1   printf (func {printf}) @{:#x} [interp]", ops[call].0);
    assert!(trace[0].starts_with(&frame0), "{trace:?}");
    assert!(trace[1].starts_with(&frame1), "{trace:?}");
}

#[test]
fn breakpoints_at_offsets_stop_there_and_go_away_when_deleted() {
    let facts = Facts::load();
    let printf = facts.func("printf");
    let ops = facts.operators(printf);
    let (second, third) = (ops[1].0, ops[2].0);
    let commands = format!(
        "break printf+{}\nbreak @{third:#x}\ninfo breakpoints\nrun\ncontinue\ndelete 1\ncontinue\ndelete\ncontinue\n",
        second - ops[0].0
    );
    let transcript = debug_script(&commands, &EAGER_TIER_UP);
    let has_line = |line: String| {
        transcript.lines().any(|l| l == line || l.starts_with(&format!("{line} at ")))
    };
    assert!(has_line(format!("Breakpoint 1 at printf (func {printf}) @{second:#x}")));
    assert!(has_line(format!("2    printf (func {printf}) @{third:#x}")), "{transcript}");
    // Both stop in the first call; with the first deleted, the second call stops at the other.
    assert_eq!(
        stops(&transcript),
        [(printf, second), (printf, third), (printf, third)],
        "{transcript}"
    );
}

#[test]
fn locals_and_memory_show_printfs_format_string() {
    let facts = Facts::load();
    // The first printf of `main`: its format string is its first argument, local 0.
    let format = facts.data_address(b"program: %d instructions\n");
    let transcript = debug_script(
        &format!(
            "break printf\nrun\nprint local 0\nlocals\nmemory {format:#x} 32\ndelete\ncontinue\n"
        ),
        &[],
    );
    assert!(transcript.contains(&format!("\nlocal 0: i32 {format}\n")), "{transcript}");
    let dump = format!(
        "{format:#010x}: 70 72 6f 67 72 61 6d 3a 20 25 64 20 69 6e 73 74  program: %d inst"
    );
    assert!(transcript.contains(&dump), "{transcript}");
    assert!(transcript.contains(&format!("\n{:#010x}: ", format + 16)), "{transcript}");
}

#[test]
fn a_source_line_breakpoint_stops_on_that_line_and_backtraces_name_lines() {
    let facts = Facts::load();
    // `run` holds the line; clang -O1 inlines it (static, one caller) into `main`.
    let run = ["run", "main"]
        .iter()
        .find_map(|&name| {
            (0..facts.module.num_funcs()).find(|&f| facts.module.func_name(f) == Some(name))
        })
        .unwrap();
    // The line is read from the source, not from the debugger or the DWARF.
    let source =
        std::fs::read_to_string(common::workspace_root().join("corpus/c-vm/vm.c")).unwrap();
    let line = source.lines().position(|l| l.contains("case OP_MUL:")).unwrap() + 1;
    let text = source.lines().nth(line - 1).unwrap();
    let transcript =
        debug_script(&format!("break vm.c:{line}\nrun\nbt\ndelete\ncontinue\n"), &EAGER_TIER_UP);
    let at = format!(" at corpus/c-vm/vm.c:{line}");
    let set = transcript.lines().find(|l| l.starts_with("Breakpoint 1 at ")).unwrap();
    let name = facts.module.func_name(run).unwrap();
    assert!(set.starts_with(&format!("Breakpoint 1 at {name} (func {run}) @0x")), "{transcript}");
    assert!(set.contains(&at), "{transcript}");
    // The stop is in `run`, in the interpreter although everything tiers up at its first call,
    // on the line (with its text, the source being readable from the root), and `bt` names it.
    let stops = stops(&transcript);
    assert_eq!(stops.len(), 1, "{transcript}");
    assert_eq!(stops[0].0, run);
    assert!(transcript.contains(&format!("\n   {at}")), "{transcript}");
    assert!(transcript.contains(&format!("\n{line}\t{text}\n")), "{transcript}");
    let bt = &backtraces(&transcript)[0];
    let frame = format!("{name} (func {run}) @{:#x} [interp]{at}", stops[0].1);
    assert!(bt[0].contains(&frame), "{bt:?}");
    assert!(transcript.ends_with("[program finished]\n"));
}

#[test]
fn continue_runs_to_the_same_output_as_run() {
    let run = common::tierup_command().args(["run", PROGRAM, SIZE]).output().unwrap();
    assert!(run.status.success());
    let expected =
        std::fs::read_to_string(common::workspace_root().join("corpus/c-vm/expected-small.txt"))
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), expected);
    for flags in [&EAGER_TIER_UP[..], &["--tier", "interp"]] {
        let transcript =
            debug_script("break printf\nrun\ncontinue\ncontinue\nstep\nnext\ncontinue\n", flags);
        let program: String = transcript
            .lines()
            .filter(|l| {
                !l.starts_with("(tierup) ")
                    && !l.starts_with("Breakpoint ")
                    && !l.starts_with("printf (func ")
                    && !l.starts_with("    at ")
            })
            .filter(|&l| l != "[program finished]")
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(program, expected, "{flags:?}:\n{transcript}");
        assert!(transcript.ends_with("[program finished]\n"));
    }
}

/// The tmux session of one test, killed when it ends.
struct Tmux {
    session: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(args).output().expect("tmux runs");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn send(&self, line: &str) {
        self.run(&["send-keys", "-t", &self.session, "-l", line]);
        self.run(&["send-keys", "-t", &self.session, "Enter"]);
    }

    /// The screen once `want` shows on it (panics after a while with what it shows).
    fn wait_for(&self, want: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", &self.session, "-S", "-200"]);
            if screen.contains(want) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no `{want}` on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).output();
    }
}

#[test]
fn the_prompt_takes_typed_commands() {
    if Command::new("tmux").arg("-V").output().map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    if std::env::var_os("TIERUP_TEST_RUNNER").is_some() {
        eprintln!("skipped: the prompt test runs the binary directly, not under a test runner");
        return;
    }
    let facts = Facts::load();
    let printf = facts.func("printf");
    let tierup = Path::new(env!("CARGO_BIN_EXE_tierup"));
    let command = format!("{} debug {PROGRAM} {SIZE}; sleep 60", tierup.display());
    let tmux = Tmux { session: format!("tierup-debug-test-{}", std::process::id()) };
    let root = common::workspace_root().to_str().unwrap().to_string();
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        &tmux.session,
        "-x",
        "160",
        "-y",
        "50",
        "-c",
        &root,
        &command,
    ]);
    // capture-pane drops trailing blanks: the prompt reads `(tierup)`.
    tmux.wait_for("(tierup)");
    tmux.send("break printf");
    tmux.wait_for("Breakpoint 1 at printf");
    tmux.send("run");
    tmux.wait_for("Breakpoint 1, printf");
    tmux.send("bt");
    let screen = tmux.wait_for("#1 ");
    assert!(screen.contains(&format!("#0   printf (func {printf}) @0x")), "{screen}");
    assert!(screen.contains("[interp]"), "{screen}");
    tmux.send("quit");
    // `quit` ends the debugger: the shell's `sleep` keeps the pane, with nothing more printed.
    std::thread::sleep(Duration::from_millis(500));
    let screen = tmux.run(&["capture-pane", "-p", "-t", &tmux.session]);
    assert!(!screen.contains("collatz steps"), "the program did not run on:\n{screen}");
    let after_quit = screen.rsplit("(tierup) quit").next().unwrap_or_default();
    assert!(!after_quit.contains("(tierup)"), "the prompt is gone:\n{screen}");
}
