//! WASI preview1 end to end: hand-written modules in `tests/data/wasi/` run by the built `tierup`
//! binary, checking what a guest can see and do, and above all what it cannot reach.
//!
//! Most modules exit with the errno of the first call that fails, so a refused operation shows up
//! as the exit status (63 is EPERM, what wasmtime answers for a path leading out of its
//! directory; 21 is EFAULT) with nothing on stdout. The same rules through the library API, without
//! the binary, are checked by the engine's own `tests/wasi.rs`.

use std::path::Path;

mod common;

/// What one run of the binary produced.
struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `tierup run ARGS` from the workspace root (`common::tierup_command`), so `tests/data/...`
/// paths resolve.
fn tierup_run(args: &[&str]) -> Run {
    let output =
        common::tierup_command().arg("run").args(args).output().expect("the tierup binary runs");
    let run = Run {
        // A signal (a real crash) has no code: -1 never matches an expected status.
        status: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

fn module(name: &str) -> String {
    format!("tests/data/wasi/{name}.wat")
}

/// `--dir HOST::.` for `dir`.
fn dir_arg(dir: &Path) -> String {
    format!("--dir={}::.", dir.display())
}

#[test]
fn hello_world_goes_to_stdout() {
    let run = tierup_run(&[&module("hello")]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout, b"hello, world\n");
}

#[test]
fn args_and_environ_round_trip() {
    let run = tierup_run(&[
        "--env",
        "A=1",
        "--env",
        "B=two words",
        &module("args_env"),
        "x",
        "-y",
        "a b",
    ]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout, b"args_env.wat\0x\0-y\0a b\0A=1\0B=two words\0");
    // No --env: the host's environment is not passed through.
    let run = tierup_run(&[&module("args_env")]);
    assert_eq!(run.stdout, b"args_env.wat\0");
}

#[test]
fn proc_exit_sets_the_exit_status() {
    let run = tierup_run(&[&module("exit")]);
    assert_eq!((run.status, run.stderr.as_str()), (3, ""));
    assert!(run.stdout.is_empty());
}

#[test]
fn a_file_written_under_dir_is_exactly_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = tierup_run(&[&dir_arg(dir.path()), &module("write_file")]);
    assert_eq!((run.status, run.stderr.as_str()), (0, ""));
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["out.txt"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("out.txt")).unwrap(), "written by wasm\n");
}

#[test]
fn without_dir_no_file_is_reachable() {
    // No preopen: descriptor 3 does not exist (EBADF).
    let run = tierup_run(&[&module("open_arg"), "/etc/passwd"]);
    assert_eq!(run.status, 8, "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

/// `root/secret.txt` outside the sandbox, `root/sandbox/inside.txt` in it, and symlinks in the
/// sandbox pointing out of it, relatively and absolutely.
fn sandbox() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let sandbox = root.path().join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(root.path().join("secret.txt"), "TOP SECRET\n").unwrap();
    std::fs::write(sandbox.join("inside.txt"), "inside\n").unwrap();
    std::os::unix::fs::symlink("../secret.txt", sandbox.join("relative_link")).unwrap();
    std::os::unix::fs::symlink(root.path().join("secret.txt"), sandbox.join("absolute_link"))
        .unwrap();
    std::os::unix::fs::symlink("inside.txt", sandbox.join("inner_link")).unwrap();
    (root, sandbox)
}

#[test]
fn paths_inside_the_dir_open() {
    let (_root, sandbox) = sandbox();
    for path in ["inside.txt", "./inside.txt", "inner_link"] {
        let run = tierup_run(&[&dir_arg(&sandbox), &module("open_arg"), path]);
        assert_eq!((run.status, run.stderr.as_str()), (0, ""), "{path}");
        assert_eq!(run.stdout, b"inside\n", "{path}");
    }
}

#[test]
fn paths_leaving_the_dir_are_refused() {
    let (_root, sandbox) = sandbox();
    for path in [
        "/etc/passwd",
        "../secret.txt",
        "../sandbox/../secret.txt",
        "relative_link",
        "absolute_link",
    ] {
        let run = tierup_run(&[&dir_arg(&sandbox), &module("open_arg"), path]);
        assert_eq!(run.status, 63, "{path}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{path}: read {:?}", String::from_utf8_lossy(&run.stdout));
    }
}

#[test]
fn a_bad_pointer_is_efault() {
    let run = tierup_run(&[&module("bad_pointer")]);
    assert_eq!((run.status, run.stderr.as_str()), (21, ""));
    assert!(run.stdout.is_empty());
}

#[test]
fn a_missing_dir_is_an_error_line() {
    let run = tierup_run(&["--dir", "/nonexistent/tierup-test", &module("hello")]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.starts_with("error: cannot preopen `/nonexistent/tierup-test`"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

/// The same checks from C: a wasi-libc program (`tests/data/wasi/sandbox.c`, built `.wasm`
/// committed) tries `/etc/passwd` and `..` escapes, reads a file inside, and writes one file.
/// wasi-libc itself refuses paths no preopen covers (ENOTCAPABLE); the host refuses `..` past
/// the preopen (EPERM). wasmtime 50 prints exactly the same lines.
#[test]
fn a_c_program_cannot_leave_its_directory_and_writes_exactly_one_file() {
    let root = tempfile::tempdir().unwrap();
    let sandbox = root.path().join("box");
    std::fs::create_dir(&sandbox).unwrap();
    std::fs::write(root.path().join("secret.txt"), "secret\n").unwrap();
    std::fs::write(sandbox.join("inside.txt"), "hello inside").unwrap();
    let dir = format!("--dir={}::/sandbox", sandbox.display());
    let run = tierup_run(&[&dir, "tests/data/wasi/sandbox.wasm"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let (by_libc, by_host) =
        ("refused (Capabilities insufficient)", "refused (Operation not permitted)");
    let expected = format!(
        "/etc/passwd: {by_libc}\n/sandbox/../secret.txt: {by_host}\n../secret.txt: {by_libc}\n\
         /sandbox/inside.txt: READ 12 bytes\n"
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), expected);
    let mut entries: Vec<_> = std::fs::read_dir(&sandbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    assert_eq!(entries, ["inside.txt", "written.txt"]);
    let written = std::fs::read_to_string(sandbox.join("written.txt")).unwrap();
    assert_eq!(written, "written by the guest\n");
    assert_eq!(std::fs::read_to_string(root.path().join("secret.txt")).unwrap(), "secret\n");
}

/// The race the sandbox must win by construction: while the guest opens, creates and touches
/// files under `d/` in a loop (`race_open.wat`), a host thread keeps swapping the directory `d`
/// for a symlink to a directory outside the preopen (relative and absolute, alternately) and
/// back. The guest must never read the outside canary (it exits 99 if it does), and the canary
/// must keep its content, its modification time and its directory's listing.
#[test]
fn a_directory_swapped_for_a_symlink_never_leads_outside() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let root = tempfile::tempdir().unwrap();
    let (outside, sandbox) = (root.path().join("outside"), root.path().join("sandbox"));
    std::fs::create_dir_all(sandbox.join("d")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(sandbox.join("d/f"), "inside\n").unwrap();
    let canary = outside.join("f");
    std::fs::write(&canary, "SECRET canary\n").unwrap();
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800);
    let times = std::fs::FileTimes::new().set_modified(long_ago).set_accessed(long_ago);
    std::fs::File::options().write(true).open(&canary).unwrap().set_times(times).unwrap();

    let stop = AtomicBool::new(false);
    let run = std::thread::scope(|scope| {
        scope.spawn(|| swap_directory_and_symlink(&sandbox, &outside, &stop));
        let run = tierup_run(&[&dir_arg(&sandbox), &module("race_open")]);
        stop.store(true, Ordering::Relaxed);
        run
    });

    let report = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status, 0, "the guest read the outside file\n{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "SECRET canary\n");
    assert_eq!(std::fs::metadata(&canary).unwrap().modified().unwrap(), long_ago);
    let listing: Vec<_> =
        std::fs::read_dir(&outside).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(listing, ["f"], "nothing was created outside");
    // The race really ran: some calls went through the real directory, some met the symlink.
    assert_eq!(report.len(), 60_000, "{}", run.stderr);
    assert!(report.contains('o') && report.contains('p'), "{report}");
    assert!(!report.contains('e'), "an unexpected errno: {report}");
}

/// Until `stop`: `d` -> `d.real`, a symlink to `outside` at `d`, a pause, then back.
fn swap_directory_and_symlink(
    sandbox: &Path,
    outside: &Path,
    stop: &std::sync::atomic::AtomicBool,
) {
    let (dir, real) = (sandbox.join("d"), sandbox.join("d.real"));
    let targets = [Path::new("../outside").to_path_buf(), outside.to_path_buf()];
    let pause = std::time::Duration::from_micros(50);
    for round in 0.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        std::fs::rename(&dir, &real).unwrap();
        std::os::unix::fs::symlink(&targets[round % 2], &dir).unwrap();
        std::thread::sleep(pause);
        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(&real, &dir).unwrap();
        std::thread::sleep(pause);
    }
}
