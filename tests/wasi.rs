//! WASI preview1 end to end: hand-written modules in `tests/data/wasi/` run by the built `tierup`
//! binary, checking what a guest can see and do, and above all what it cannot reach.
//!
//! Most modules exit with the errno of the first call that fails, so a refused operation shows up
//! as the exit status (63 is EPERM, what wasmtime answers for a path leading out of its
//! directory; 21 is EFAULT) with nothing on stdout.

use std::path::Path;

mod common;

/// What one run of the binary produced.
struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `tierup run ARGS` from the package root, so `tests/data/...` paths resolve.
fn tierup_run(args: &[&str]) -> Run {
    let output = common::tierup_command()
        .arg("run")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the tierup binary runs");
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

/// The library API directly: `WasiCtxBuilder` + `add_to_linker`, with each call an export of the
/// module returning the errno, so the directory operations and the smaller calls are checked one
/// by one.
#[test]
fn directory_operations_and_small_calls_through_the_library() {
    use tierup::wasi::{WasiCtx, WasiCtxBuilder, add_to_linker};
    use tierup::{Engine, Linker, Module, Store};
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_remove_directory" (func $rmdir (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $prestat_name (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "made")
      (data (i32.const 200) "moved")
      (data (i32.const 300) "file.txt")
      (data (i32.const 400) "..")
      (func (export "mkdir") (param i32 i32) (result i32) (call $mkdir (i32.const 3) (local.get 0) (local.get 1)))
      (func (export "rmdir") (param i32 i32) (result i32) (call $rmdir (i32.const 3) (local.get 0) (local.get 1)))
      (func (export "unlink") (param i32 i32) (result i32) (call $unlink (i32.const 3) (local.get 0) (local.get 1)))
      (func (export "rename") (param i32 i32 i32 i32) (result i32)
        (call $rename (i32.const 3) (local.get 0) (local.get 1) (i32.const 3) (local.get 2) (local.get 3)))
      (func (export "prestat") (param i32 i32) (result i32) (call $prestat (local.get 0) (local.get 1)))
      (func (export "prestat_name") (param i32 i32 i32) (result i32)
        (call $prestat_name (local.get 0) (local.get 1) (local.get 2)))
      (func (export "clock") (param i32 i32) (result i32) (call $clock (local.get 0) (i64.const 1) (local.get 1)))
      (func (export "random") (param i32 i32) (result i32) (call $random (local.get 0) (local.get 1)))
      (func (export "renumber") (result i32) (call $renumber (i32.const 1) (i32.const 2))))"#;
    struct Data {
        wasi: WasiCtx,
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file.txt"), "x").unwrap();
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let wasi = WasiCtxBuilder::new().preopen_dir(dir.path(), "/sandbox").unwrap().build();
    let mut store = Store::new(&engine, Data { wasi });
    let mut linker = Linker::new();
    add_to_linker(&mut linker, |data: &mut Data| &mut data.wasi);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mut call = |name: &str, args: &[i32]| -> i32 {
        let func = instance.get_func(&store, name).unwrap();
        let args: Vec<tierup::Val> = args.iter().map(|&a| tierup::Val::I32(a)).collect();
        let mut result = [tierup::Val::I32(-1)];
        func.call(&mut store, &args, &mut result).unwrap();
        match result[0] {
            tierup::Val::I32(errno) => errno,
            other => panic!("{other:?}"),
        }
    };
    let path = dir.path();
    assert_eq!(call("mkdir", &[100, 4]), 0);
    assert!(path.join("made").is_dir());
    assert_eq!(call("mkdir", &[100, 4]), 20, "EEXIST");
    assert_eq!(call("rename", &[100, 4, 200, 5]), 0);
    assert!(path.join("moved").is_dir() && !path.join("made").exists());
    assert_eq!(call("rename", &[200, 5, 400, 2]), 63, "renaming onto `..` escapes: EPERM");
    assert_eq!(call("rmdir", &[300, 8]), 54, "ENOTDIR");
    assert_eq!(call("rmdir", &[200, 5]), 0);
    assert_eq!(call("unlink", &[300, 8]), 0);
    assert_eq!(std::fs::read_dir(path).unwrap().count(), 0);
    assert_eq!(call("unlink", &[300, 8]), 44, "ENOENT");
    assert_eq!(call("mkdir", &[65530, 100]), 21, "EFAULT");
    // The preopen is descriptor 3, named as granted; there is no descriptor 4.
    assert_eq!(call("prestat", &[3, 0]), 0);
    assert_eq!(call("prestat_name", &[3, 500, 8]), 0);
    assert_eq!(call("prestat", &[4, 0]), 8, "EBADF");
    assert_eq!(call("prestat", &[3, 65535]), 21, "EFAULT");
    assert_eq!(call("clock", &[0, 600]), 0);
    assert_eq!(call("clock", &[1, 608]), 0);
    assert_eq!(call("clock", &[9, 600]), 28, "EINVAL");
    assert_eq!(call("random", &[700, 64]), 0);
    assert_eq!(call("random", &[65500, 64]), 21, "EFAULT");
    assert_eq!(call("renumber", &[]), 0, "stdout renumbered over stderr");
    assert_eq!(call("renumber", &[]), 8, "EBADF: stdout is gone");
    let memory = match instance.get_export(&store, "memory") {
        Some(tierup::Extern::Memory(m)) => m,
        other => panic!("{other:?}"),
    };
    let bytes = memory.data(&store);
    assert_eq!(&bytes[0..8], &[0, 0, 0, 0, 8, 0, 0, 0], "prestat: dir, name length 8");
    assert_eq!(&bytes[500..508], b"/sandbox");
    let realtime = u64::from_le_bytes(bytes[600..608].try_into().unwrap());
    assert!(realtime > 1_600_000_000 * 1_000_000_000, "realtime is nanoseconds since 1970");
    assert!(bytes[700..764].iter().any(|&b| b != 0), "random bytes were written");
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

/// Every call that takes a path, called directly on a guest memory (`tierup::wasi::call`) with
/// paths that lead out of the preopen (`..`, absolute, through symlinks relative and absolute,
/// as the source or the destination): each is refused with EPERM, as wasmtime answers, and
/// nothing outside changes.
#[test]
fn every_path_call_refuses_paths_leading_out() {
    use tierup::Val::{I32, I64};
    use tierup::wasi::{WasiCtxBuilder, call};
    let root = tempfile::tempdir().unwrap();
    let (outside, sandbox) = (root.path().join("outside"), root.path().join("sandbox"));
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::create_dir_all(sandbox.join("sub")).unwrap();
    std::fs::write(outside.join("secret"), "secret").unwrap();
    std::os::unix::fs::symlink("secret", outside.join("link")).unwrap();
    std::os::unix::fs::symlink("../outside", sandbox.join("rel")).unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.join("abs")).unwrap();
    std::fs::write(sandbox.join("inside"), "inside").unwrap();
    let before = tree(&outside);
    let mut ctx = WasiCtxBuilder::new().preopen_dir(&sandbox, "/").unwrap().build();
    let escapes: Vec<String> = ["../outside", "sub/../../outside", "rel", "abs", "sub/../rel"]
        .iter()
        .map(|s| s.to_string())
        .chain([outside.display().to_string()])
        .collect();
    // Guest memory: the path under test at 0, "inside" at 512, output space from 1024.
    let mut memory = vec![0u8; 65536];
    memory[512..518].copy_from_slice(b"inside");
    let inside = (I32(512), I32(6));
    for escape in &escapes {
        for leaf in ["secret", "link", "dir", "new"] {
            let path = format!("{escape}/{leaf}");
            memory[..path.len()].copy_from_slice(path.as_bytes());
            let p = (I32(0), I32(path.len() as i32));
            let calls: Vec<(&str, Vec<tierup::Val>)> = vec![
                (
                    "path_open",
                    vec![I32(3), I32(1), p.0, p.1, I32(1), I64(0x42), I64(0), I32(0), I32(1024)],
                ),
                (
                    "path_open",
                    vec![I32(3), I32(0), p.0, p.1, I32(9), I64(0x40), I64(0), I32(0), I32(1024)],
                ),
                ("path_filestat_get", vec![I32(3), I32(1), p.0, p.1, I32(1024)]),
                ("path_filestat_get", vec![I32(3), I32(0), p.0, p.1, I32(1024)]),
                (
                    "path_filestat_set_times",
                    vec![I32(3), I32(1), p.0, p.1, I64(0), I64(0), I32(10)],
                ),
                (
                    "path_filestat_set_times",
                    vec![I32(3), I32(0), p.0, p.1, I64(0), I64(0), I32(10)],
                ),
                ("path_create_directory", vec![I32(3), p.0, p.1]),
                ("path_remove_directory", vec![I32(3), p.0, p.1]),
                ("path_unlink_file", vec![I32(3), p.0, p.1]),
                ("path_rename", vec![I32(3), p.0, p.1, I32(3), inside.0, inside.1]),
                ("path_rename", vec![I32(3), inside.0, inside.1, I32(3), p.0, p.1]),
                ("path_link", vec![I32(3), I32(0), p.0, p.1, I32(3), inside.0, inside.1]),
                ("path_link", vec![I32(3), I32(0), inside.0, inside.1, I32(3), p.0, p.1]),
                ("path_symlink", vec![inside.0, inside.1, I32(3), p.0, p.1]),
                ("path_readlink", vec![I32(3), p.0, p.1, I32(1024), I32(256), I32(2048)]),
            ];
            for (name, args) in calls {
                let errno = call(&mut ctx, &mut memory, name, &args).unwrap().unwrap();
                assert_eq!(errno, 63, "{name} {path}: EPERM");
            }
        }
    }
    assert_eq!(tree(&outside), before, "nothing outside changed");
    assert_eq!(std::fs::read_to_string(sandbox.join("inside")).unwrap(), "inside");
}

/// Every entry under `dir`: path, size, modification time, symlink target.
fn tree(
    dir: &Path,
) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime, Option<std::path::PathBuf>)> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        entries.push((
            path.clone(),
            meta.len(),
            meta.modified().unwrap(),
            std::fs::read_link(&path).ok(),
        ));
        if meta.is_dir() {
            entries.extend(tree(&path));
        }
    }
    entries.sort();
    entries
}
