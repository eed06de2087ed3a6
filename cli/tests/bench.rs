//! `tierup bench` end to end, on a tiny corpus made in a temporary folder: two hand-written WASI
//! programs, a stand-in "native build" (a shell script printing the same thing) and expected
//! outputs. Each test runs the built binary and checks the tables, notes, records and status.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Prints "hello".
const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

/// Prints its first argument: proves every contender passes the program's arguments.
const ECHO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $arg i32) (local $len i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 64) (i32.const 1024)))
    (local.set $arg (i32.load (i32.const 68)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $arg) (local.get $len)))))
        (local.set $len (i32.add (local.get $len) (i32.const 1)))
        (br $next)))
    (i32.store8 (i32.add (local.get $arg) (local.get $len)) (i32.const 10))
    (i32.store (i32.const 16) (local.get $arg))
    (i32.store (i32.const 20) (i32.add (local.get $len) (i32.const 1)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#;

/// A temporary repository root holding `corpus/` (hello, echo) and `target/corpus/echo/native`.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo { dir: tempfile::tempdir().expect("tempdir") };
        repo.program("hello", HELLO, &[], "hello\n", "hello\n");
        repo.program("echo", ECHO, &["large"], "large\n", "small\n");
        std::fs::write(repo.corpus().join("suite.txt"), "# both\nhello\necho\n").unwrap();
        repo.native("echo", "#!/bin/sh\necho \"$1\"\n");
        repo
    }

    fn corpus(&self) -> PathBuf {
        self.dir.path().join("corpus")
    }

    fn program(&self, name: &str, wat: &str, args: &[&str], expected: &str, small: &str) {
        let dir = self.corpus().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.wasm")), wat::parse_str(wat).unwrap()).unwrap();
        let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let toml = format!(
            "description = \"test\"\nlanguage = \"c\"\nwasm = \"{name}.wasm\"\nargs = [{}]\nsmall_args = [\"small\"]\n",
            args.join(", ")
        );
        std::fs::write(dir.join("bench.toml"), toml).unwrap();
        std::fs::write(dir.join("expected.txt"), expected).unwrap();
        std::fs::write(dir.join("expected-small.txt"), small).unwrap();
    }

    fn native(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.dir.path().join("target/corpus").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("native");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs `tierup bench --corpus <corpus> --runs 2 --warmup 0 ARGS`.
    fn bench(&self, args: &[&str]) -> Run {
        self.bench_adaptive(&[&["--runs", "2", "--warmup", "0"], args].concat())
    }

    /// Runs `tierup bench --corpus <corpus> ARGS` (the adaptive protocol unless ARGS say
    /// otherwise), with the peers looked for in `<dir>/peers` only.
    fn bench_adaptive(&self, args: &[&str]) -> Run {
        let corpus = self.corpus();
        let mut all = vec!["bench", "--corpus", corpus.to_str().unwrap()];
        all.extend_from_slice(args);
        let peers = self.dir.path().join("peers");
        tierup_with(&all, self.dir.path(), &[("TIERUP_PEERS_DIR", peers.to_str().unwrap())])
    }

    /// An executable script at `path` below the temporary folder; returns its full path.
    fn script(&self, path: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A stand-in tierup build: prints what `tierup run FILE ARGS` prints for the two programs
    /// (`hello`, or the last argument), then a phase-times line with the given run time (a shell
    /// expression).
    fn fake_tierup(&self, name: &str, run_ns: &str) -> PathBuf {
        self.script(
            name,
            &format!(
                "#!/bin/sh\ncase \"$*\" in *hello.wasm*) echo hello ;; *) eval echo \"\\${{$#}}\" ;; esac\n\
                 echo \"tierup-phase-times compile_ns=1 instantiate_ns=1 run_ns=$(({run_ns}))\" >&2\n"
            ),
        )
    }
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn tierup(args: &[&str], cwd: &Path) -> Run {
    tierup_with(args, cwd, &[])
}

fn tierup_with(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tierup"));
    command.args(args).current_dir(cwd);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The runs column of a table row (the sixth column).
fn runs_of(row: &str) -> usize {
    row.split_whitespace().nth(8).and_then(|runs| runs.parse().ok()).unwrap_or(0)
}

/// The table row of `program` on `contender`, if any.
fn row<'a>(stdout: &'a str, program: &str, contender: &str) -> Option<&'a str> {
    stdout.lines().find(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some(program) && words.next() == Some(contender)
    })
}

#[test]
fn the_table_lists_every_program_with_a_ratio_to_native() {
    let repo = Repo::new();
    let run = repo.bench(&["--peer", "native", "--tier", "interp,bogus"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.contains("compile")
            && header.contains("peak RSS")
            && header.contains("ratio to native"),
        "{header}"
    );
    let echo = row(&run.stdout, "echo", "interp").expect("an echo row");
    assert!(echo.ends_with('x'), "a ratio ends the row: {echo}");
    assert!(row(&run.stdout, "echo", "native").unwrap().ends_with("1.00x"));
    // hello has no native build: measured on interp, no ratio, and a note says why.
    assert!(row(&run.stdout, "hello", "interp").unwrap().ends_with(" -"), "{}", run.stdout);
    assert!(row(&run.stdout, "hello", "native").is_none());
    assert!(
        run.stderr.contains("note: skipping hello on native: no native build"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("skipping tier `bogus`"), "{}", run.stderr);
    assert!(run.stdout.contains("geomean ratio to native"), "{}", run.stdout);
}

#[test]
fn a_wrong_output_is_an_error_not_a_time() {
    let repo = Repo::new();
    std::fs::write(repo.corpus().join("echo/expected-small.txt"), "tiny\n").unwrap();
    let run = repo.bench(&["--small", "--peer", "native", "echo"]);
    assert_eq!(run.status, 1, "{}\n{}", run.stdout, run.stderr);
    let interp = row(&run.stdout, "echo", "interp").unwrap();
    assert!(
        interp.contains(r#"error: wrong output: line 1: got "small\n", expected "tiny\n""#),
        "{interp}"
    );
    assert!(row(&run.stdout, "echo", "native").unwrap().contains("error: wrong output"));
}

#[test]
fn record_writes_json_and_a_readme() {
    let repo = Repo::new();
    let results = repo.dir.path().join("results");
    let args = ["--peer", "none", "--passes", "none", "--record", "--results"];
    let run = repo.bench(&[&args[..], &[results.to_str().unwrap()]].concat());
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    let json: Vec<PathBuf> = std::fs::read_dir(&results)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(json.len(), 1, "{json:?}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json[0]).unwrap()).unwrap();
    assert_eq!(record["config"]["baseline"], "interp");
    assert_eq!(record["config"]["passes"], "none", "the record names tier 2's pipeline");
    // One measurement per program and tier: every tier that exists runs by default.
    let tiers = ["interp", "baseline", "optimized", "auto"]
        .iter()
        .filter(|t| t.parse::<tierup::Tiering>().is_ok())
        .count();
    assert_eq!(record["measurements"].as_array().unwrap().len(), 2 * tiers);
    assert_eq!(record["measurements"][0]["runs"].as_array().unwrap().len(), 2);
    let readme = std::fs::read_to_string(results.join("README.md")).unwrap();
    assert!(
        readme.contains("| program | tier/peer |") && readme.contains("| echo | interp |"),
        "{readme}"
    );
    assert!(readme.contains("tier 2's pipeline `none`"), "{readme}");
    assert!(results.join("charts/run-time-ratio.svg").is_file());
}

#[test]
fn v8_peers_run_through_node_or_are_skipped() {
    let repo = Repo::new();
    let run = repo.bench(&["--peer", "v8-liftoff,v8-turbofan", "echo"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    for peer in ["v8-liftoff", "v8-turbofan"] {
        match row(&run.stdout, "echo", peer) {
            Some(line) => assert!(line.ends_with('x'), "{line}"),
            None => assert!(run.stderr.contains("node is not installed"), "{}", run.stderr),
        }
    }
}

#[test]
fn adaptive_runs_stop_when_the_median_is_stable_or_the_budget_is_spent() {
    let repo = Repo::new();
    let steady = repo.fake_tierup("steady", "1000000");
    // Random run times, 1 to 7.5 ms: three of them within 2% of each other is a 1-in-10,000 chance.
    let noisy = repo.fake_tierup("noisy", "1000000 + $(od -An -N2 -tu2 /dev/urandom) * 100");
    let peers = format!("tierup:steady={},tierup:noisy={}", steady.display(), noisy.display());
    let run =
        repo.bench_adaptive(&["--tier", "interp", "--peer", &peers, "--max-runs", "6", "echo"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    let steady_row = row(&run.stdout, "echo", "interp@steady").expect("a steady row");
    assert_eq!(runs_of(steady_row), 3, "stable after the minimum of 3 runs: {steady_row}");
    let noisy_row = row(&run.stdout, "echo", "interp@noisy").expect("a noisy row");
    assert!(runs_of(noisy_row) > 3 && runs_of(noisy_row) <= 6, "{noisy_row}");
    // No budget: every cell runs once, and only once.
    let run = repo.bench_adaptive(&["--tier", "interp", "--peer", &peers, "--budget", "0", "echo"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    for contender in ["interp", "interp@steady", "interp@noisy"] {
        assert_eq!(runs_of(row(&run.stdout, "echo", contender).unwrap()), 1, "{}", run.stdout);
    }
}

#[test]
fn another_tierup_build_runs_each_tier_side_by_side() {
    let repo = Repo::new();
    let this = env!("CARGO_BIN_EXE_tierup");
    let missing = repo.dir.path().join("no-such-tierup");
    let peers = format!("tierup:same={this},tierup:{}", missing.display());
    let run = repo.bench(&["--tier", "interp", "--peer", &peers, "echo"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(row(&run.stdout, "echo", "interp@same").unwrap().ends_with('x'), "{}", run.stdout);
    let note = format!("skipping echo on interp@{}: the tierup build", missing.display());
    assert!(run.stderr.contains(&note), "{}", run.stderr);
    assert!(run.stdout.contains(&format!("tierup ({this}), --tier interp")), "{}", run.stdout);
}

#[test]
fn a_warm_cache_is_measured_as_its_own_tier() {
    let repo = Repo::new();
    let run = repo.bench(&["--tier", "baseline", "--peer", "none", "--warm-cache", "echo"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(row(&run.stdout, "echo", "baseline").is_some(), "{}", run.stdout);
    assert!(row(&run.stdout, "echo", "baseline+cache").is_some(), "{}", run.stdout);
    assert!(run.stdout.contains("install cached code (a warm code cache"), "{}", run.stdout);
    assert!(run.stdout.contains("--tier baseline --cache="), "{}", run.stdout);
}

#[test]
fn peers_run_from_the_peers_folder_and_missing_ones_are_skipped_with_a_note() {
    let repo = Repo::new();
    // A stand-in wasmi_cli: `wasmi run FILE ARGS` prints the last argument.
    repo.script(
        "peers/wasmi/bin/wasmi",
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'wasmi 2.0.0'; exit; }\neval echo \"\\${$#}\"\n",
    );
    let run = repo.bench(&["--tier", "interp", "--peer", "wasmi,wasmtime,winch", "echo"]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(row(&run.stdout, "echo", "wasmi").unwrap().ends_with('x'), "{}", run.stdout);
    assert!(run.stdout.contains("wasmi 2.0.0 (wasmi_cli"), "{}", run.stdout);
    assert!(run.stdout.contains("the whole process"), "coverage is stated: {}", run.stdout);
    for peer in ["wasmtime", "winch"] {
        assert!(row(&run.stdout, "echo", peer).is_none(), "{}", run.stdout);
        let note = format!(
            "note: skipping echo on {peer}: the wasmtime Python package is not installed \
             (scripts/setup installs it into {})",
            repo.dir.path().join("peers").display()
        );
        assert!(run.stderr.contains(&note), "{}", run.stderr);
    }
}

#[test]
fn compare_sets_a_record_against_an_earlier_one() {
    let repo = Repo::new();
    let results = repo.dir.path().join("results");
    let results = results.to_str().unwrap();
    let fast = repo.fake_tierup("fast", "1000000");
    let slow = repo.fake_tierup("slow", "2000000");
    let mut records: Vec<PathBuf> = Vec::new();
    for build in [&fast, &slow] {
        let peer = format!("tierup:b={}", build.display());
        let args = ["--tier", "interp", "--peer", &peer, "--runs", "3", "--record", "--results"];
        let run = repo.bench_adaptive(&[&args[..], &[results]].concat());
        assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
        let new = std::fs::read_dir(results)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .find(|path| !records.contains(path));
        records.push(new.expect("a new record"));
    }
    let (old, new) = (records[0].to_str().unwrap(), records[1].to_str().unwrap());
    let run = tierup(&["bench", "--compare", old, new], repo.dir.path());
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    for program in ["hello", "echo"] {
        let line = row(&run.stdout, program, "interp@b").expect("a compared row");
        assert!(line.contains("+100.0%") && line.ends_with("slower"), "{line}");
    }
    assert!(run.stdout.contains("change of run time"), "{}", run.stdout);
    // With one record, this session is compared with it.
    let peer = format!("tierup:b={}", fast.display());
    let run = repo.bench_adaptive(&[
        "--tier",
        "interp",
        "--peer",
        &peer,
        "--runs",
        "3",
        "--compare",
        new,
    ]);
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("-50.0%") && run.stdout.contains("faster"), "{}", run.stdout);
    // The README charts the history of the two records, and is regenerated on demand.
    let readme_path = repo.dir.path().join("results/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    assert!(readme.contains("## History") && readme.contains("charts/history.svg"), "{readme}");
    std::fs::remove_file(&readme_path).unwrap();
    let run = tierup(&["bench", "--rebuild-readme", "--results", results], repo.dir.path());
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&readme_path).unwrap(), readme);
}

#[test]
fn a_sweep_runs_each_value_and_charts_the_total() {
    let repo = Repo::new();
    let results = repo.dir.path().join("results");
    let args = ["--sweep", "tier-up-threshold=1,1000", "--runs", "1", "--record", "--results"];
    let run = repo.bench_adaptive(&[&args[..], &[results.to_str().unwrap()]].concat());
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    for value in ["1", "1000"] {
        let contender = format!("auto[tier-up-threshold={value}]");
        assert!(row(&run.stdout, "echo", &contender).is_some(), "{}", run.stdout);
        let total = run
            .stdout
            .lines()
            .find(|l| l.starts_with("auto ") && l.split_whitespace().nth(1) == Some(value));
        assert!(
            total.is_some_and(|l| l.ends_with(" 2")),
            "a total over both programs: {}",
            run.stdout
        );
    }
    let sweeps: Vec<_> = std::fs::read_dir(results.join("sweeps")).unwrap().collect();
    assert_eq!(sweeps.len(), 1);
    assert!(results.join("charts/sweep-tier-up-threshold.svg").is_file());
    let readme = std::fs::read_to_string(results.join("README.md")).unwrap();
    assert!(readme.contains("## Tiering sweeps") && readme.contains("| auto | 1000 |"), "{readme}");

    let run = repo.bench(&["--sweep", "stats=1,2"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not an option of `tierup run` that takes a value"),
        "{}",
        run.stderr
    );
}
