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

/// Runs `tierup` with `args` from the package root, so `tests/data/...` paths resolve.
fn tierup(args: &[&str]) -> Run {
    let output = common::tierup_command()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the tierup binary runs");
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
    let binary = wat::parse_file("tests/data/add.wat").expect("add.wat parses");
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
    let binary = wat::parse_file("tests/data/add.wat").expect("add.wat parses");
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
    // Without the limit the same 1 GiB growth succeeds: 1 + 16384 pages.
    success(&tierup(&["run", "tests/data/grow.wat", "--invoke", "grow"]), "16385\n");
}

#[test]
fn initial_memory_beyond_the_limit_fails_instantiation() {
    let args =
        ["run", "--max-memory-size", "64MiB", "tests/data/big_memory.wat", "--invoke", "size"];
    let run = tierup(&args);
    one_line_failure(&run, "failed to instantiate tests/data/big_memory.wat");
    assert!(run.stderr.contains("exceeds memory limits"), "{}", run.stderr);
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
    let run = tierup(&["run", "tests/data/recurse.wat", "--invoke", "down", "0"]);
    failure(&run, 134, "wasm trap: call stack exhausted");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[1], "wasm backtrace:");
    assert!(lines[2].ends_with("0: <module>!down [interp]"), "{}", lines[2]);
    // Thousands of identical frames: the middle is elided.
    assert!(run.stderr.contains("frames elided"), "{}", run.stderr);
    assert!(lines.len() < 50, "{} lines", lines.len());
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
fn divide_by_zero_backtrace_names_frames_and_tiers() {
    let run = tierup(&["run", "tests/data/div.wat", "--invoke", "quotient", "1", "0"]);
    failure(&run, 134, "wasm trap: integer divide by zero");
    assert!(run.stderr.contains("    0: <module>!div [interp]\n"), "{}", run.stderr);
    assert!(run.stderr.contains("    1: <module>!quotient [interp]\n"), "{}", run.stderr);
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
    let run = tierup(&["run", "--tier", "optimized", "tests/data/add.wat"]);
    failure(&run, 2, "tier `optimized` is not implemented yet");
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
    let run = tierup(&["run", "--stats", "tests/data/fib.wat", "--invoke", "fib", "10"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, "55\n"), "{}", run.stderr);
    assert!(run.stderr.starts_with("func  name  calls  back-edges  tier\n"), "{}", run.stderr);
    assert_eq!(stats_row(&run.stderr, "fib"), ["0", "fib", "177", "0", "interp"]);
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
        ("run", ["--invoke", "--max-memory-size", "--fuel", "--dir"]),
        ("validate", ["FILE", "valid", "decodes", "--help"]),
        ("wast", ["--tier", "N passed, M failed", "optimized", "not available yet"]),
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
