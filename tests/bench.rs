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
        let corpus = self.corpus();
        let mut all =
            vec!["bench", "--corpus", corpus.to_str().unwrap(), "--runs", "2", "--warmup", "0"];
        all.extend_from_slice(args);
        tierup(&all, self.dir.path())
    }
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn tierup(args: &[&str], cwd: &Path) -> Run {
    let output =
        Command::new(env!("CARGO_BIN_EXE_tierup")).args(args).current_dir(cwd).output().unwrap();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
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
    let run = repo.bench(&["--peer", "native", "--tier", "interp,optimized,bogus"]);
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
    assert!(
        run.stderr.contains("skipping tier `optimized`")
            && run.stderr.contains("skipping tier `bogus`")
    );
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
    let run = repo.bench(&["--peer", "none", "--record", "--results", results.to_str().unwrap()]);
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
