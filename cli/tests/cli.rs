//! The `tierup` binary end to end: each test runs the built binary and checks its stdout, stderr and
//! exit status, the three things scripts depend on.
//!
//! Every failure must be a clear `error:` line and a non-zero status, never a panic; `failure`
//! checks that for every error case. The modules live in `tests/data/`, one per behaviour.

use std::io::Write;

mod common;

/// What one run of the binary produced.
struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Runs `tierup` with `args` from the workspace root (`common::tierup_command`), so `tests/data/...`
/// paths resolve.
fn tierup(args: &[&str]) -> Run {
    let output = common::tierup_command().args(args).output().expect("the tierup binary runs");
    Run {
        // A signal (a real abort) has no code: -1 never matches an expected status.
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A successful run that printed exactly `stdout` and nothing on stderr.
fn success(run: &Run, stdout: &str) {
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "stdout: {}", run.stdout);
    assert_eq!(run.stdout, stdout);
}

/// A failed run: `status`, nothing on stdout, stderr starting with one `error:` line containing
/// `message`, and no panic anywhere.
fn failure(run: &Run, status: i32, message: &str) {
    assert_eq!(run.status, status, "stderr: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: ") && first.contains(message), "{}", run.stderr);
}

/// A failure that is not a trap: the `error:` line is all of stderr.
fn one_line_failure(run: &Run, message: &str) {
    failure(run, 1, message);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// A temporary `.wasm` file holding `bytes`.
fn wasm_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".wasm").tempfile().expect("tempfile");
    file.write_all(bytes).expect("write tempfile");
    file
}

fn path(file: &tempfile::NamedTempFile) -> &str {
    file.path().to_str().expect("temp paths are UTF-8")
}

// --- run --invoke -------------------------------------------------------------------------------

#[test]
fn invoke_prints_the_result() {
    success(&tierup(&["run", "tests/data/add.wat", "--invoke", "add", "1", "2"]), "3\n");
}

#[test]
fn invoke_recursive_fib() {
    success(&tierup(&["run", "tests/data/fib.wat", "--invoke", "fib", "30"]), "832040\n");
}

#[test]
fn invoke_takes_negative_and_hex_arguments() {
    let run = tierup(&["run", "--invoke", "add", "tests/data/add.wat", "-1", "0x10"]);
    success(&run, "15\n");
    success(&tierup(&["run", "tests/data/add.wat", "--invoke", "add", "4294967295", "1"]), "0\n");
}

#[test]
fn invoke_of_a_binary_module() {
    let binary = wat::parse_file(common::workspace_root().join("tests/data/add.wat"))
        .expect("add.wat parses");
    let file = wasm_file(&binary);
    success(&tierup(&["run", path(&file), "--invoke", "add", "20", "22"]), "42\n");
}

#[test]
fn start_runs_without_invoke_and_program_args_are_accepted() {
    success(&tierup(&["run", "tests/data/start.wat"]), "");
    success(&tierup(&["run", "tests/data/start.wat", "input.txt", "--verbose", "-n", "3"]), "");
}

// --- bad modules --------------------------------------------------------------------------------

#[test]
fn truncated_wasm_is_malformed() {
    let binary = wat::parse_file(common::workspace_root().join("tests/data/add.wat"))
        .expect("add.wat parses");
    let file = wasm_file(&binary[..binary.len() - 3]);
    let run = tierup(&["run", path(&file), "--invoke", "add", "1", "2"]);
    one_line_failure(&run, "malformed module");
    assert!(run.stderr.contains(path(&file)), "{}", run.stderr);
}

#[test]
fn wrong_magic_is_malformed() {
    let file = wasm_file(b"\0asx\x01\0\0\0");
    let run = tierup(&["run", path(&file)]);
    one_line_failure(&run, "magic header not detected");
}

#[test]
fn module_that_fails_validation() {
    let run = tierup(&["run", "tests/data/invalid_types.wat", "--invoke", "wrong"]);
    one_line_failure(&run, "invalid module: type mismatch");
}

#[test]
fn missing_file() {
    one_line_failure(&tierup(&["run", "tests/data/no-such.wasm"]), "cannot read");
}

// --- limits -------------------------------------------------------------------------------------

#[test]
fn memory_grow_beyond_the_limit_fails_and_the_guest_traps() {
    let run =
        tierup(&["run", "--max-memory-size", "64MiB", "tests/data/grow.wat", "--invoke", "grow"]);
    failure(&run, 134, "wasm trap: wasm `unreachable` instruction executed");
    // The failed run says which limit refused the memory and what would be enough, after the
    // error.
    let note = "note: memory 0 could not grow from 1 page to 16385 pages (1.00 GiB): over \
                --max-memory-size (64.00 MiB); raise it (at least --max-memory-size 1025MiB)";
    assert!(run.stderr.contains(note), "{}", run.stderr);
    // Without the limit the same 1 GiB growth succeeds: 1 + 16384 pages.
    success(&tierup(&["run", "tests/data/grow.wat", "--invoke", "grow"]), "16385\n");
    // --stats reports the memory's size.
    let run = tierup(&["run", "--stats", "tests/data/grow.wat", "--invoke", "grow"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, "16385\n"), "{}", run.stderr);
    let memory = run.stderr.lines().find(|l| l.trim_start().starts_with("memory 0:"));
    assert_eq!(
        memory.map(str::trim),
        Some("memory 0: 16385 pages (1.00 GiB), also its peak (memories never shrink); no maximum"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("peak resident set: "), "{}", run.stderr);
}

#[test]
fn initial_memory_beyond_the_limit_fails_instantiation() {
    let args =
        ["run", "--max-memory-size", "64MiB", "tests/data/big_memory.wat", "--invoke", "size"];
    let run = tierup(&args);
    one_line_failure(&run, "failed to instantiate tests/data/big_memory.wat");
    assert!(run.stderr.contains("exceeds memory limits"), "{}", run.stderr);
    assert!(run.stderr.contains("the limit is --max-memory-size: raise it"), "{}", run.stderr);
    let run = tierup(&[
        "run",
        "--max-memory-size",
        "128MiB",
        "tests/data/big_memory.wat",
        "--invoke",
        "size",
    ]);
    success(&run, "2048\n");
}

#[test]
fn unbounded_recursion_exhausts_the_stack_with_a_backtrace() {
    // In the interpreter, and under `auto` compiling synchronously, where `down` runs in tier 1
    // from its 100th call and in tier 2 from its 10,100th (compiled code recurses on the host
    // stack and checks it in every prologue).
    for (tier, innermost) in [("interp", "interp"), ("auto", "optimized")] {
        let args = ["run", "--tier", tier, "--tier-up", "sync", "tests/data/recurse.wat"];
        let args = [&args[..], &["--invoke", "down", "0"]].concat();
        let run = tierup(&args);
        failure(&run, 134, "wasm trap: call stack exhausted");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines[1], "wasm backtrace:");
        // A frame that overflows on entry is at its body's first operator (0x23, the
        // `local.get`), in every tier.
        let expected = format!("0: 0x23 - <module>!down [{innermost}]");
        assert!(lines[2].ends_with(&expected), "{}", lines[2]);
        // Thousands of identical frames: the middle is elided.
        assert!(run.stderr.contains("frames elided"), "{}", run.stderr);
        assert!(lines.len() < 50, "{} lines", lines.len());
    }
}

#[test]
fn a_smaller_wasm_stack_still_runs_shallow_code() {
    let run = tierup(&[
        "run",
        "--max-wasm-stack",
        "64KiB",
        "tests/data/fib.wat",
        "--invoke",
        "fib",
        "15",
    ]);
    success(&run, "610\n");
}

#[test]
fn an_uncaught_exception_exits_like_a_trap_with_a_backtrace() {
    // As wasmtime: status 134, its wording, the frames the exception left.
    for tier in ["interp", "baseline"] {
        let run = tierup(&["run", "--tier", tier, "tests/data/uncaught_exception.wat"]);
        failure(&run, 134, "thrown Wasm exception");
        assert!(run.stderr.contains(&format!("<module>!inner [{tier}]\n")), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("<module>!_start [{tier}]\n")), "{}", run.stderr);
    }
}

#[test]
fn divide_by_zero_backtrace_names_frames_and_tiers() {
    let run = tierup(&["run", "tests/data/div.wat", "--invoke", "quotient", "1", "0"]);
    failure(&run, 134, "wasm trap: integer divide by zero");
    // Module offsets as wasmtime prints them: the `i32.div_s` (0x2d) and the `call` (0x35) in
    // the binary tests/data/div.wat assembles to (`wasm-tools print --print-offsets` shows them).
    assert!(run.stderr.contains("    0: 0x2d - <module>!div [interp]\n"), "{}", run.stderr);
    assert!(run.stderr.contains("    1: 0x35 - <module>!quotient [interp]\n"), "{}", run.stderr);
}

#[test]
fn out_of_bounds_loads_in_tier_1_trap_with_a_backtrace_with_and_without_guard_pages() {
    for checks in [&[][..], &["--explicit-bounds-checks"]] {
        let args = |addr| {
            let mut args = vec!["run", "--tier", "baseline"];
            args.extend_from_slice(checks);
            args.extend(["tests/data/oob.wat", "--invoke", "peek", addr]);
            args
        };
        success(&tierup(&args("65532")), "0\n");
        let run = tierup(&args("65533"));
        failure(&run, 134, "wasm trap: out of bounds memory access");
        // The `i32.load` and the `call` (see tests/data/oob.wat): the fault handler passes the
        // access's offset with guard pages, the check's trap stub without.
        assert!(run.stderr.contains("    0: 0x2b - <module>!load [baseline]\n"), "{}", run.stderr);
        assert!(run.stderr.contains("    1: 0x33 - <module>!peek [baseline]\n"), "{}", run.stderr);
    }
}

/// How a backtrace names the line of tests/data/dwarf/trap.c that contains `text`.
fn at_trap_c_line(text: &str) -> String {
    let path = common::workspace_root().join("tests/data/dwarf/trap.c");
    let source = std::fs::read_to_string(path).unwrap();
    let line = source.lines().position(|l| l.contains(text)).unwrap() + 1;
    format!("at tests/data/dwarf/trap.c:{line}:")
}

/// The `-O` pipeline without its inliner: each function keeps its own frame.
const NO_INLINING: &str = "simplifycfg,copyprop,simplifycfg,copyprop,constfold,simplify,gvn,dce,\
    licm,simplifycfg,copyprop,constfold,simplify,gvn,dce";

/// With DWARF in the module, each frame of the backtrace names its source line under it, and the
/// innermost frame names the same offset and line whichever tier ran it (`auto` warms `divide`
/// and `average` up to tier 2 before the trapping call; tier 2 inlines `average` into `main`).
/// `optimized` compiles up front, where tier 2 inlines small callees: it runs without the
/// inliner here (`inlined_callees_report_the_call_they_replaced` shows what inlining does).
#[test]
fn backtraces_name_source_lines_from_dwarf_on_every_tier() {
    let division = at_trap_c_line("return sum / count;");
    let call = at_trap_c_line("total += average(");
    let mut innermost = None;
    for tier in ["interp", "baseline", "optimized", "auto"] {
        let args = ["run", "--tier", tier, "--tier-up", "sync", "--tier-up-threshold", "1"];
        let args = [&args[..], &["--opt-threshold", "20", "tests/data/dwarf/trap.wasm"]].concat();
        let passes = if tier == "optimized" { &["--passes", NO_INLINING][..] } else { &[] };
        let run = tierup(&[&args[..], passes].concat());
        failure(&run, 134, "wasm trap: integer divide by zero");
        let lines: Vec<&str> = run.stderr.lines().collect();
        let top = if tier == "auto" { "optimized" } else { tier };
        let expected = format!("- <module>!divide [{top}]");
        assert!(lines[2].ends_with(&expected), "{}", run.stderr);
        assert!(lines[3].trim_start().starts_with(&division), "{}", run.stderr);
        let offset = lines[2].split(" - ").next().unwrap().split_whitespace().last().unwrap();
        assert_eq!(*innermost.get_or_insert(offset.to_string()), offset, "{}", run.stderr);
        // `main`'s frame is at its call of `average` (inlined or not).
        let main = lines.iter().position(|l| l.contains("<module>!main [")).unwrap();
        assert!(lines[main + 1].trim_start().starts_with(&call), "{}", run.stderr);
    }
    // Without DWARF (text), the frames stand alone.
    let run = tierup(&["run", "tests/data/div.wat", "--invoke", "quotient", "1", "0"]);
    assert!(!run.stderr.contains(" at "), "{}", run.stderr);
}

/// Tier 2 compiled up front inlines `divide` into `average` (and that into `main`): the trap
/// in `divide` is reported at the call it replaced, in the caller's frame, with the call's line.
#[test]
fn inlined_callees_report_the_call_they_replaced() {
    let call = at_trap_c_line("return divide(sum, count);");
    let run = tierup(&["run", "--tier", "optimized", "tests/data/dwarf/trap.wasm"]);
    failure(&run, 134, "wasm trap: integer divide by zero");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines[2].ends_with("- <module>!average [optimized]"), "{}", run.stderr);
    assert!(lines[3].trim_start().starts_with(&call), "{}", run.stderr);
    assert!(!run.stderr.contains("!divide"), "{}", run.stderr);
}

// --- bad invocations ----------------------------------------------------------------------------

#[test]
fn invoke_of_a_missing_export() {
    let run = tierup(&["run", "tests/data/add.wat", "--invoke", "nope"]);
    one_line_failure(&run, "module has no `nope` export (exported functions: add)");
}

#[test]
fn run_without_start() {
    one_line_failure(&tierup(&["run", "tests/data/add.wat"]), "module has no `_start` export");
}

#[test]
fn invoke_with_an_argument_of_the_wrong_type() {
    let run = tierup(&["run", "tests/data/add.wat", "--invoke", "add", "x", "2"]);
    one_line_failure(&run, "argument 1 of `add`: `x` is not an i32");
    let run = tierup(&["run", "tests/data/add.wat", "--invoke", "add", "1", "4294967296"]);
    one_line_failure(&run, "argument 2 of `add`: `4294967296` does not fit in an i32");
}

#[test]
fn invoke_with_the_wrong_number_of_arguments() {
    let run = tierup(&["run", "tests/data/add.wat", "--invoke", "add", "1"]);
    one_line_failure(&run, "`add` takes 2 argument(s) (i32 i32), 1 given");
    let run = tierup(&["run", "tests/data/add.wat", "--invoke", "add", "1", "2", "3"]);
    one_line_failure(&run, "3 given");
}

#[test]
fn bad_option_values_are_usage_errors() {
    let run = tierup(&["run", "--max-memory-size", "64M", "tests/data/add.wat"]);
    failure(&run, 2, "invalid value '64M' for '--max-memory-size <SIZE>'");
    assert!(run.stderr.contains("KiB"), "{}", run.stderr);
    let run = tierup(&["run", "--tier", "fastest", "tests/data/add.wat"]);
    failure(&run, 2, "unknown tier `fastest`");
    let run = tierup(&["run", "--fuel", "lots", "tests/data/add.wat"]);
    failure(&run, 2, "invalid value 'lots' for '--fuel <N>'");
}

// --- fuel ---------------------------------------------------------------------------------------

#[test]
fn fuel_stops_an_infinite_loop() {
    let run = tierup(&["run", "--fuel", "1000", "tests/data/spin.wat", "--invoke", "spin"]);
    failure(&run, 134, "fuel");
}

#[test]
fn fuel_does_not_change_a_finite_result() {
    let without = tierup(&["run", "tests/data/spin.wat", "--invoke", "count", "1000"]);
    success(&without, "499500\n");
    let with =
        tierup(&["run", "--fuel", "1000000", "tests/data/spin.wat", "--invoke", "count", "1000"]);
    success(&with, &without.stdout);
}

// --- stats --------------------------------------------------------------------------------------

/// The `--stats` row of the function called `name`, split into cells.
fn stats_row<'a>(stderr: &'a str, name: &str) -> Vec<&'a str> {
    let row = stderr.lines().find(|l| l.split_whitespace().nth(1) == Some(name));
    row.unwrap_or_else(|| panic!("no row for {name} in:\n{stderr}")).split_whitespace().collect()
}

#[test]
fn stats_count_calls_per_function() {
    let args =
        ["run", "--tier", "interp", "--stats", "tests/data/fib.wat", "--invoke", "fib", "10"];
    let run = tierup(&args);
    assert_eq!((run.status, run.stdout.as_str()), (0, "55\n"), "{}", run.stderr);
    let header =
        "func  name  calls  back-edges  tier    requested  compiling  installed  compile  code\n";
    assert!(run.stderr.starts_with(header), "{}", run.stderr);
    let row = stats_row(&run.stderr, "fib");
    assert_eq!(row, ["0", "fib", "177", "0", "interp", "-", "-", "-", "-", "-"]);
}

#[test]
fn stats_show_when_and_how_functions_tiered_up() {
    // fib(10) makes 177 calls: with a call worth 10, a threshold of 50 compiles fib on its 5th.
    let run = tierup(&[
        "run",
        "--stats",
        "--tier-up-threshold",
        "50",
        "--tier-up",
        "sync",
        "tests/data/fib.wat",
        "--invoke",
        "fib",
        "10",
    ]);
    assert_eq!((run.status, run.stdout.as_str()), (0, "55\n"), "{}", run.stderr);
    let row = stats_row(&run.stderr, "fib");
    // Every call is counted, by the interpreter and then by tier 1.
    assert_eq!(row[..5], ["0", "fib", "177", "0", "baseline"], "{}", run.stderr);
    // Requested at a call, then compiled and installed at once (sync), in milliseconds since
    // the module was made.
    assert_eq!(row[6..9], ["ms", "at", "call"], "tiered up at a call: {}", run.stderr);
    let requested: f64 = row[5].parse().unwrap();
    let (compiling, installed): (f64, f64) = (row[9].parse().unwrap(), row[11].parse().unwrap());
    assert!(requested <= compiling && compiling <= installed, "{}", run.stderr);
    assert!(row[13].parse::<f64>().unwrap() > 0.0 && row[14] == "us", "{}", run.stderr);
    assert!(row[15].parse::<u32>().unwrap() > 0 && row[16] == "B", "{}", run.stderr);
}

#[test]
fn stats_report_back_edges_and_fuel_even_after_a_trap() {
    let run =
        tierup(&["run", "--stats", "--fuel", "1000", "tests/data/spin.wat", "--invoke", "spin"]);
    assert_eq!(run.status, 134, "{}", run.stderr);
    assert!(run.stderr.contains("fuel: 0 remaining of 1000 (1000 consumed)"), "{}", run.stderr);
    assert!(run.stderr.contains("(1 of 2 functions never ran)"), "{}", run.stderr);
    let last = run.stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(last.contains("fuel"), "{}", run.stderr);
}

// --- explore ------------------------------------------------------------------------------------

/// The index of the first line of `text` satisfying `pred`, searching from line `from`.
fn line_index(text: &str, from: usize, pred: impl Fn(&str) -> bool) -> usize {
    let found = text.lines().enumerate().skip(from).find(|(_, line)| pred(line));
    found.unwrap_or_else(|| panic!("no such line after line {from} in:\n{text}")).0
}

/// An instruction line: indented, a hex code offset and a colon.
fn is_instruction(line: &str) -> bool {
    line.starts_with("    ")
        && line.trim_start().split_once(':').is_some_and(|(offset, _)| {
            !offset.is_empty() && offset.chars().all(|c| c.is_ascii_hexdigit())
        })
}

#[cfg(target_arch = "x86_64")]
#[test]
fn explore_interleaves_operators_with_their_machine_code() {
    let run = tierup(&["explore", "tests/data/explore.wat"]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let out = &run.stdout;
    // Function 0 is the import: defined functions only, each with its header.
    assert!(!out.contains("function 0"), "{out}");
    let header = line_index(out, 0, |l| l.starts_with(";; function 1 `square`: "));
    assert!(out.lines().nth(header).unwrap().contains("bytes of x86_64 code, compiled in"));
    let prologue = line_index(out, header, |l| l == ";; prologue");
    assert!(is_instruction(out.lines().nth(prologue + 1).unwrap()), "{out}");
    // Operands cost no code; the multiplication follows its operator line.
    let get = line_index(out, prologue, |l| l.starts_with('@') && l.ends_with("local.get $x"));
    let mul = line_index(out, get, |l| l.starts_with('@') && l.ends_with("i32.mul"));
    assert_eq!(mul, get + 2, "{out}");
    let imul = line_index(out, mul, |l| l.contains("imul"));
    assert!((mul + 1..=imul).all(|i| is_instruction(out.lines().nth(i).unwrap())), "{out}");
    let end = line_index(out, imul, |l| l.starts_with('@') && l.ends_with("  end"));
    let trap_exit = line_index(out, end, |l| l == ";; trap exit");
    line_index(out, trap_exit, |l| l == ";; epilogue");
    // The loop: its load relies on the guard pages, whose faults land on the landing pad; it
    // has an OSR entry.
    let sum = line_index(out, 0, |l| l.starts_with(";; function 2 `sum`: "));
    let load = line_index(out, sum, |l| l.starts_with('@') && l.ends_with("i32.load"));
    assert!(is_instruction(out.lines().nth(load + 1).unwrap()), "{out}");
    let osr = line_index(out, load, |l| l.starts_with(";; OSR entry into loop 0 (@"));
    line_index(out, osr, |l| l == ";; landing pad of faulting heap accesses");
    // SIMD is refused, with the reason.
    assert!(
        out.contains(";; function 3 `lanes`: tier 1 does not compile it (unsupported: V128Const)"),
        "{out}"
    );
}

/// Any host shows aarch64 code: the backend assembles everywhere, and nothing is run.
#[test]
fn explore_shows_aarch64_code_on_any_host() {
    let args = ["explore", "--target", "aarch64", "--func", "square", "--func", "sum"];
    let run = tierup(&[&args[..], &["tests/data/explore.wat"]].concat());
    let run = if run.status == 0 { run } else { panic!("{}\n{}", run.stdout, run.stderr) };
    let out = &run.stdout;
    let header = line_index(out, 0, |l| l.starts_with(";; function 1 `square`: "));
    assert!(out.lines().nth(header).unwrap().contains("bytes of aarch64 code, compiled in"));
    // The prologue saves the frame record and the pinned context and frame pointers (no other
    // callee-saved register: the code writes none); the multiplication is a three-operand `mul`.
    let prologue = line_index(out, header, |l| l == ";; prologue");
    assert!(out.lines().nth(prologue + 1).unwrap().ends_with("stp x29, x30, [sp, #-0x20]!"));
    let mul = line_index(out, prologue, |l| l.starts_with('@') && l.ends_with("i32.mul"));
    let mul = line_index(out, mul, |l| l.contains(" mul w"));
    assert!(is_instruction(out.lines().nth(mul).unwrap()), "{out}");
    // Every instruction is 4 bytes and decodes.
    let lines = out.lines().filter(|l| is_instruction(l));
    assert!(lines.clone().all(|l| l.split_whitespace().skip(1).take(4).count() == 4), "{out}");
    assert!(!lines.clone().any(|l| l.contains('<')), "{out}");
    let sum = line_index(out, 0, |l| l.starts_with(";; function 2 `sum`: "));
    let osr = line_index(out, sum, |l| l.starts_with(";; OSR entry into loop 0 (@"));
    line_index(out, osr, |l| l == ";; landing pad of faulting heap accesses");
    line_index(out, osr, |l| l.ends_with(" ret"));
    let run = tierup(&["explore", "--target", "sparc", "tests/data/explore.wat"]);
    assert_ne!(run.status, 0);
    assert!(run.stderr.contains("unknown ISA `sparc`"), "{}", run.stderr);
}

/// Tier 2's code, under the SSA instructions it was emitted for and their wasm operators.
#[test]
fn explore_shows_tier_2_code_under_ssa_instructions() {
    let args = ["explore", "--tier", "optimized", "--func", "sum", "--func", "lanes"];
    let run = tierup(&[&args[..], &["tests/data/explore.wat"]].concat());
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let out = &run.stdout;
    let sum = line_index(out, 0, |l| l.starts_with(";; function 2 `sum`: "));
    let body = line_index(out, sum, |l| l == ";; body");
    // `v3 = i32.load mem0 +0 v2   ;; @0059  i32.load`, then its code.
    let is_ssa = |l: &str, op: &str| l.starts_with("  v") && l.contains(op) && l.ends_with(op);
    let load = line_index(out, body, |l| is_ssa(l, "i32.load"));
    assert!(is_instruction(out.lines().nth(load + 1).unwrap()), "{out}");
    let add = line_index(out, body, |l| is_ssa(l, "i32.add"));
    assert!(is_instruction(out.lines().nth(add + 1).unwrap()), "{out}");
    line_index(out, body, |l| l.starts_with("  return "));
    line_index(out, body, |l| l == ";; epilogue");
    assert!(out.contains(";; function 3 `lanes`: tier 2 does not compile it (unsupported:"));
    // `--passes none` keeps the function as built: more SSA instructions, same operators.
    let args = ["explore", "--tier", "optimized", "--passes", "none", "--func", "sum"];
    let unoptimized = tierup(&[&args[..], &["tests/data/explore.wat"]].concat());
    assert_eq!(unoptimized.status, 0, "{}", unoptimized.stderr);
    let count = |text: &str| text.lines().filter(|l| l.starts_with("  v")).count();
    assert!(count(&unoptimized.stdout) >= count(out), "{}", unoptimized.stdout);
    let run = tierup(&["explore", "--tier", "interp", "tests/data/explore.wat"]);
    assert!(run.stderr.contains("makes no machine code"), "{}", run.stderr);
}

/// A `br_table`'s jump table is data after the code: its entries print as `.long` offsets with
/// the code offset each case jumps to, on both tiers, and every case lands on an instruction.
#[cfg(target_arch = "x86_64")]
#[test]
fn explore_prints_jump_tables_as_data() {
    for tier in ["baseline", "optimized"] {
        let args = ["explore", "--tier", tier, "--func", "pick", "tests/data/explore.wat"];
        let run = tierup(&args);
        assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
        let out = &run.stdout;
        let table = line_index(out, 0, |l| l == ";; jump table: 4 cases");
        let entries: Vec<&str> = out.lines().skip(table + 1).take(4).collect();
        let offsets: Vec<&str> = out
            .lines()
            .filter(|l| is_instruction(l) && !l.contains(".long"))
            .map(|l| l.trim_start().split(':').next().unwrap())
            .collect();
        for (case, entry) in entries.iter().enumerate() {
            let target = entry.split(&format!("; case {case}: 0x")).nth(1);
            let target = target.unwrap_or_else(|| panic!("entry {case}: {entry}\n{out}"));
            assert!(offsets.contains(&target), "case {case} lands mid-instruction:\n{out}");
        }
    }
}

/// `--osr-loop N`: the variant on-stack replacement compiles for loop `N`, tier 2 only.
#[test]
fn explore_shows_a_loops_on_stack_replacement_variant() {
    let args = ["explore", "--tier", "optimized", "--osr-loop", "0", "--func", "sum"];
    let run = tierup(&[&args[..], &["tests/data/explore.wat"]].concat());
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let out = &run.stdout;
    let sum = line_index(out, 0, |l| l.starts_with(";; function 2 `sum`: "));
    let body = line_index(out, sum, |l| l == ";; body");
    let load = line_index(out, body, |l| l.starts_with("  v") && l.ends_with("i32.load"));
    assert!(is_instruction(out.lines().nth(load + 1).unwrap()), "{out}");
    let args = ["explore", "--osr-loop", "0", "--func", "sum", "tests/data/explore.wat"];
    let run = tierup(&args);
    assert!(run.stderr.contains("tier 2 (--tier optimized) only"), "{}", run.stderr);
}

/// Tier 2's aarch64 code on any host: A64 instructions under the SSA instructions, the loop's
/// load through the pinned memory base.
#[test]
fn explore_shows_tier_2_aarch64_code_on_any_host() {
    let args = ["explore", "--target", "aarch64", "--tier", "optimized", "--func", "sum"];
    let run = tierup(&[&args[..], &["tests/data/explore.wat"]].concat());
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let out = &run.stdout;
    let sum = line_index(out, 0, |l| l.starts_with(";; function 2 `sum`: "));
    assert!(out.lines().nth(sum).unwrap().contains("bytes of aarch64 code, compiled in"));
    let body = line_index(out, sum, |l| l == ";; body");
    let is_ssa = |l: &str, op: &str| l.starts_with("  v") && l.ends_with(op);
    let load = line_index(out, body, |l| is_ssa(l, "i32.load"));
    let access = out.lines().nth(load + 1).unwrap();
    assert!(is_instruction(access) && access.contains("x21"), "{out}");
    let lines = out.lines().filter(|l| is_instruction(l));
    assert!(lines.clone().all(|l| l.split_whitespace().skip(1).take(4).count() == 4), "{out}");
    line_index(out, body, |l| l == ";; epilogue");
}

#[test]
fn explore_selects_functions_by_name_and_index() {
    let run = tierup(&["explore", "--func", "lanes", "--func", "2", "tests/data/explore.wat"]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let headers: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with(";; function")).collect();
    assert_eq!(headers.len(), 2, "{}", run.stdout);
    assert!(headers[0].starts_with(";; function 3 `lanes`: tier 1 does not compile it"));
    assert!(headers[1].starts_with(";; function 2 `sum`: "), "{}", run.stdout);
    // An export name selects too; the name section's name and the export name agree here.
    let run = tierup(&["explore", "--func", "square", "tests/data/explore.wat"]);
    assert!(run.stdout.starts_with(";; function 1 `square`: "), "{}", run.stdout);
}

#[test]
fn explore_rejects_imports_and_unknown_functions() {
    let run = tierup(&["explore", "--func", "0", "tests/data/explore.wat"]);
    one_line_failure(&run, "function 0 `log` is imported: it has no code to show");
    let run = tierup(&["explore", "--func", "nope", "tests/data/explore.wat"]);
    one_line_failure(&run, "no function named `nope`");
    let run = tierup(&["explore", "--func", "9", "tests/data/explore.wat"]);
    one_line_failure(&run, "no function 9 (the module has 5)");
}

// --- run --profile=jitdump -----------------------------------------------------------------------

/// The `JIT_CODE_LOAD` records of a jitdump file: (code address, code size, name, line
/// entries), after checking the header (magic, version, size, ELF machine of the host). A
/// function's line entries come from the `JIT_CODE_DEBUG_INFO` record before its load: (address,
/// line, source file) each.
fn jitdump_loads(dump: &[u8]) -> Vec<JitLoad> {
    let u32_at = |at: usize| u32::from_le_bytes(dump[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(dump[at..at + 8].try_into().unwrap());
    let c_string = |at: usize| {
        let end = at + dump[at..].iter().position(|&b| b == 0).unwrap();
        (String::from_utf8(dump[at..end].to_vec()).unwrap(), end + 1)
    };
    assert_eq!(&dump[..4], b"DTiJ", "the magic 0x4A695444, little-endian");
    assert_eq!((u32_at(4), u32_at(8)), (1, 40), "version 1, a 40-byte header");
    let machine = if cfg!(target_arch = "x86_64") { 62 } else { 183 };
    assert_eq!(u32_at(12), machine);
    let mut loads = Vec::new();
    let mut lines = Vec::new();
    let mut at = 40;
    while at < dump.len() {
        let (kind, size) = (u32_at(at), u32_at(at + 4) as usize);
        match kind {
            0 => {
                let (address, code_size) = (u64_at(at + 32), u64_at(at + 40));
                let (name, code_at) = c_string(at + 56);
                assert_eq!(code_at + code_size as usize, at + size, "the code fills the record");
                let lines = std::mem::take(&mut lines);
                loads.push(JitLoad { address, code_size, name, lines });
            }
            2 => {
                let count = u64_at(at + 24) as usize;
                let mut entry = at + 32;
                for _ in 0..count {
                    let (source, next) = c_string(entry + 16);
                    lines.push((u64_at(entry), u32_at(entry + 8), source));
                    entry = next;
                }
                assert!(entry <= at + size && at + size - entry < 8, "entries fill the record");
            }
            other => panic!("record type {other}: only JIT_CODE_LOAD and JIT_CODE_DEBUG_INFO"),
        }
        at += size;
    }
    assert_eq!(at, dump.len(), "records fill the file");
    loads
}

/// A function's code in a jitdump (see [`jitdump_loads`]).
struct JitLoad {
    address: u64,
    code_size: u64,
    name: String,
    lines: Vec<(u64, u32, String)>,
}

/// Every function tiers 1 and 2 compile is in the dump, with its code; where `perf record`
/// works, `perf inject --jit` turns the dump into symbols `perf report` shows.
#[cfg(target_os = "linux")]
#[test]
fn jitdump_holds_the_code_of_every_compiled_function_for_perf_inject() {
    let dir = tempfile::tempdir().unwrap();
    let wat = common::workspace_root().join("tests/data/fib.wat");
    let wat = wat.to_str().unwrap();
    let child = common::tierup_command()
        .args(["run", "--profile=jitdump", "--tier", "auto", "--tier-up", "sync"])
        .args(["--tier-up-threshold", "1"])
        .args(["--opt-threshold", "50", "--invoke", "fib", wat, "20"])
        .current_dir(dir.path())
        .output()
        .expect("the tierup binary runs");
    assert!(child.status.success(), "{}", String::from_utf8_lossy(&child.stderr));
    let dumps: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(dumps.len(), 1, "one jit-<pid>.dump: {dumps:?}");
    let loads = jitdump_loads(&std::fs::read(&dumps[0]).unwrap());
    let names: Vec<&str> = loads.iter().map(|load| load.name.as_str()).collect();
    assert!(names.contains(&"wasm[fib]::fib [baseline]"), "{names:?}");
    assert!(names.contains(&"wasm[fib]::fib [optimized]"), "{names:?}");
    let module_size = wat::parse_file(wat).unwrap().len() as u32;
    for load in &loads {
        assert!(load.address != 0 && load.code_size > 0, "{}", load.name);
        // Each function's operators, as module offsets inside its code.
        assert!(!load.lines.is_empty(), "no line information for {}", load.name);
        for (address, line, source) in &load.lines {
            assert!((load.address..load.address + load.code_size).contains(address));
            assert!((8..module_size).contains(line), "{line} is no offset in the module");
            assert_eq!(source, "fib.wasm");
        }
    }
    // Under an emulator (scripts/test-aarch64), perf would sample the emulator, not the guest.
    if cfg!(target_arch = "x86_64") && std::env::var_os("TIERUP_TEST_RUNNER").is_none() {
        perf_inject_names(wat);
    }
}

/// `perf record -k 1`, `perf inject --jit`, `perf report`: a spinning tier-1 function is named
/// in the report, with module offsets as its lines. Skipped (with a note) where perf is missing or may not record.
#[cfg(target_os = "linux")]
fn perf_inject_names(wat: &str) {
    let dir = tempfile::tempdir().unwrap();
    let perf = |args: &[&str]| {
        std::process::Command::new("perf").args(args).current_dir(dir.path()).output()
    };
    let tierup = env!("CARGO_BIN_EXE_tierup");
    let args = ["record", "-k", "1", "-o", "perf.data", tierup, "run", "--profile=jitdump"];
    let more = ["--tier", "baseline", "--invoke", "fib", wat, "27"];
    match perf(&[&args[..], &more[..]].concat()) {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            return eprintln!("note: perf record failed, perf inject not checked: {why}");
        }
        Err(e) => return eprintln!("note: no perf ({e}), perf inject not checked"),
    }
    let inject = perf(&["inject", "--jit", "-i", "perf.data", "-o", "perf.jit.data"]).unwrap();
    assert!(inject.status.success(), "{}", String::from_utf8_lossy(&inject.stderr));
    let sort = ["--stdio", "--sort", "sym,srcline"];
    let report = perf(&[&["report", "-i", "perf.jit.data"][..], &sort[..]].concat()).unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("wasm[fib]::fib [baseline]"), "{report}");
    // Samples in tier-1 code name the wasm operator's module offset as their line.
    assert!(report.contains("fib.wasm:"), "{report}");
}

// --- run --profile=perfmap -----------------------------------------------------------------------

/// The lines of the perf map of process `pid`, once it has `count` of them (waiting up to 30 s).
fn perf_map_lines(pid: u32, count: usize) -> Vec<String> {
    let path = std::env::temp_dir().join(format!("perf-{pid}.map"));
    for _ in 0..300 {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() >= count && text.ends_with('\n') {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} never had {count} lines", path.display());
}

/// A perf map line: `START SIZE symbol`, both numbers in hex.
fn parse_perf_map_line(line: &str) -> (u64, u64, &str) {
    let mut parts = line.splitn(3, ' ');
    let mut hex = || u64::from_str_radix(parts.next().unwrap_or_default(), 16);
    let (start, size) = (hex().expect(line), hex().expect(line));
    (start, size, parts.next().expect(line))
}

// x86-64 only: under qemu-user (how aarch64 is tested), `/proc/<pid>/maps` lists the emulator's
// host mappings, not the guest addresses the perf map holds.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn perfmap_names_every_tier_1_function_inside_mapped_code() {
    use std::process::Stdio;
    // The program blocks reading stdin, so its code is still mapped while the test looks.
    let mut child = common::tierup_command()
        .args(["run", "--profile=perfmap", "--tier", "baseline", "tests/data/wasi/wait_stdin.wat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tierup binary runs");
    let pid = child.id();
    let lines = perf_map_lines(pid, 3);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("the child's maps");
    let executable: Vec<(u64, u64)> = maps
        .lines()
        .filter(|l| l.split_whitespace().nth(1).is_some_and(|perms| perms.contains('x')))
        .map(|l| {
            let (from, to) = l.split_whitespace().next().unwrap().split_once('-').unwrap();
            (u64::from_str_radix(from, 16).unwrap(), u64::from_str_radix(to, 16).unwrap())
        })
        .collect();
    let mut symbols = Vec::new();
    for line in &lines {
        let (start, size, symbol) = parse_perf_map_line(line);
        assert!(size > 0, "{line}");
        let inside = executable.iter().any(|&(from, to)| from <= start && start + size <= to);
        assert!(inside, "{line} is not inside executable memory:\n{maps}");
        symbols.push(symbol.to_string());
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("tierup finishes");
    let _ = std::fs::remove_file(std::env::temp_dir().join(format!("perf-{pid}.map")));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    symbols.sort();
    let expected = ["wasm[wait]::_start [baseline]", "wasm[wait]::read [baseline]"];
    assert_eq!(symbols, [expected[0], expected[1], "wasm[wait]::square [baseline]"]);
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[test]
fn perfmap_gets_a_line_when_a_function_tiers_up() {
    use std::process::Stdio;
    // Under auto, fib is compiled at its first call (synchronously, so surely before the
    // process exits); the module name is the file's stem.
    let child = common::tierup_command()
        .args(["run", "--profile=perfmap", "--tier-up-threshold", "1", "--tier-up", "sync"])
        .arg("tests/data/fib.wat")
        .args(["--invoke", "fib", "10"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the tierup binary runs");
    let pid = child.id();
    let output = child.wait_with_output().expect("tierup finishes");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "55\n");
    let lines = perf_map_lines(pid, 1);
    let _ = std::fs::remove_file(std::env::temp_dir().join(format!("perf-{pid}.map")));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (start, size, symbol) = parse_perf_map_line(&lines[0]);
    assert!(start > 0 && size > 0, "{lines:?}");
    assert_eq!(symbol, "wasm[fib]::fib [baseline]");
}

#[test]
fn no_perf_map_unless_asked() {
    let child = common::tierup_command()
        .args(["run", "--tier", "baseline", "tests/data/fib.wat", "--invoke", "fib", "5"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the tierup binary runs");
    let pid = child.id();
    assert!(child.wait_with_output().expect("tierup finishes").status.success());
    assert!(!std::env::temp_dir().join(format!("perf-{pid}.map")).exists());
}

// --- validate -----------------------------------------------------------------------------------

#[test]
fn validate_a_valid_module() {
    success(&tierup(&["validate", "tests/data/add.wat"]), "tests/data/add.wat: valid\n");
}

#[test]
fn validate_an_invalid_module() {
    let run = tierup(&["validate", "tests/data/invalid_types.wat"]);
    one_line_failure(&run, "tests/data/invalid_types.wat: invalid module: type mismatch");
}

// --- wast ---------------------------------------------------------------------------------------

#[test]
fn wast_counts_an_unreadable_file_as_one_failure() {
    let run = tierup(&["wast", "tests/data/arith.wast", "tests/data/no-such.wast"]);
    assert_eq!((run.status, run.stderr.as_str()), (1, ""), "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[0].starts_with("tests/data/no-such.wast: "), "{}", lines[0]);
    assert_eq!(lines[1], "4 passed, 1 failed");
}

// Every directive counts, the module definition as well as the three assertions.
#[test]
fn wast_all_passing() {
    let run = tierup(&["wast", "tests/data/arith.wast"]);
    success(&run, "4 passed, 0 failed\n");
}

#[test]
fn wast_failures_are_listed_and_summed_over_files() {
    let run =
        tierup(&["wast", "--tier", "interp", "tests/data/arith.wast", "tests/data/mixed.wast"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("tests/data/mixed.wast:9:"), "{}", lines[0]);
    assert!(lines[1].starts_with("tests/data/mixed.wast:10:"), "{}", lines[1]);
    assert_eq!(lines[2], "7 passed, 2 failed");
}

// --- help and version ---------------------------------------------------------------------------

#[test]
fn help_for_every_subcommand() {
    for (subcommand, mentions) in [
        ("run", ["--invoke", "--max-memory-size", "--fuel", "--profile"]),
        ("explore", ["--func", "NAME|INDEX", "Intel syntax", "prologue"]),
        ("validate", ["FILE", "valid", "decodes", "--help"]),
        ("wast", ["--tier", "N passed, M failed", "auto", "--tier-up-threshold"]),
        ("ir", ["--passes", "--print-after-all", "--print-before", "--stats"]),
    ] {
        let run = tierup(&[subcommand, "--help"]);
        assert_eq!((run.status, run.stderr.as_str()), (0, ""));
        assert!(run.stdout.contains(&format!("Usage: tierup {subcommand}")), "{}", run.stdout);
        for mention in mentions {
            assert!(run.stdout.contains(mention), "{subcommand} --help lacks {mention}");
        }
    }
    let run = tierup(&["--help"]);
    assert!(run.stdout.contains("run") && run.stdout.contains("wast"), "{}", run.stdout);
}

#[test]
fn version() {
    success(&tierup(&["--version"]), &format!("tierup {}\n", env!("CARGO_PKG_VERSION")));
}

// --- ir -----------------------------------------------------------------------------------------

#[test]
fn ir_inlines_a_call_in_a_loop_and_folds_its_constant_argument() {
    let run = tierup(&[
        "ir",
        "tests/data/call-in-loop.wat",
        "--func",
        "sum",
        "--passes",
        "-O",
        "--stats",
        "--check",
        "4",
    ]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{}", run.stdout);
    let (before, after) = run.stdout.split_once("; after -O\n").expect("both versions printed");
    assert!(before.contains("call fn0 v1, v5"), "{before}");
    assert!(!after.contains("call fn"), "{after}");
    assert!(after.contains("i32.shl"), "x * 4 becomes a shift: {after}");
    assert!(after.contains("calls inlined=1"), "{after}");
    assert!(after.contains("; evaluator: ") && !after.contains("evaluator: 0 runs"), "{after}");
}

#[test]
fn ir_on_a_corpus_program_reports_inlined_calls_and_removed_instructions() {
    let run =
        tierup(&["ir", "corpus/c-fib/c-fib.wasm", "--passes", "inline,constfold,dce", "--stats"]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""));
    let stat = |pass: &str, counter: &str| -> u64 {
        let line = run.stdout.lines().find(|l| l.starts_with(&format!("; {pass} "))).unwrap();
        let at = line.find(&format!("{counter}=")).unwrap() + counter.len() + 1;
        line[at..].split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(stat("inline", "calls inlined") > 0, "{}", run.stdout);
    assert!(stat("dce", "insts removed") > 0, "{}", run.stdout);
}

#[test]
fn ir_print_after_all_and_errors() {
    let run =
        tierup(&["ir", "tests/data/add.wat", "--passes", "constfold,dce", "--print-after-all"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("; IR after constfold") && run.stdout.contains("; IR after dce"));
    let run =
        tierup(&["ir", "tests/data/add.wat", "--passes", "constfold,dce", "--print-before", "dce"]);
    assert!(run.stdout.contains("; IR before dce") && !run.stdout.contains("; IR after"));
    one_line_failure(
        &tierup(&["ir", "tests/data/add.wat", "--passes", "constfold,nope"]),
        "unknown pass `nope`",
    );
    one_line_failure(
        &tierup(&["ir", "tests/data/add.wat", "--func", "nope"]),
        "no function `nope`",
    );
}

/// `tierup compile` writes an artifact that runs only with --allow-precompiled, under the
/// configuration it was compiled for, and a damaged one is an error, never a crash.
#[test]
fn precompiled_artifacts_run_only_when_allowed_and_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let artifact = dir.path().join("fib.tup");
    let artifact = artifact.to_str().expect("UTF-8 path");
    success(&tierup(&["compile", "tests/data/fib.wat", "-o", artifact]), "");
    let run = |extra: &[&str]| {
        let mut args = vec!["run"];
        args.extend(extra);
        args.extend([artifact, "--invoke", "fib", "20"]);
        tierup(&args)
    };
    success(&run(&["--allow-precompiled"]), "6765\n");
    one_line_failure(&run(&[]), "precompiled code (a `tierup compile` artifact)");
    one_line_failure(
        &run(&["--allow-precompiled", "--explicit-bounds-checks"]),
        "was compiled with configuration `tier=baseline bounds=GuardPages",
    );
    one_line_failure(&run(&["--allow-precompiled", "--tier", "optimized"]), "configuration");
    let bytes = std::fs::read(artifact).expect("the artifact");
    for (what, damaged) in [
        ("a flipped byte", {
            let mut b = bytes.clone();
            b[bytes.len() / 2] ^= 4;
            b
        }),
        ("the end cut off", bytes[..bytes.len() - 9].to_vec()),
        ("only its magic", bytes[..8].to_vec()),
    ] {
        std::fs::write(artifact, &damaged).expect("write");
        let outcome = run(&["--allow-precompiled"]);
        assert!(outcome.stderr.contains("corrupt"), "{what}: {}", outcome.stderr);
        one_line_failure(&outcome, "failed to load");
    }
    one_line_failure(
        &tierup(&["compile", "--tier", "interp", "tests/data/fib.wat"]),
        "the interpreter compiles nothing ahead of time",
    );
}
