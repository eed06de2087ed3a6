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
