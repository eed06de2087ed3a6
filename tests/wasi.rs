//! WASI preview1 through the library API: `WasiCtxBuilder` + `add_to_linker` on an instance, and
//! `tierup::wasi::call` on a bare guest memory, checking the calls one by one and above all that
//! no path leads out of a preopen. The built binary's end-to-end WASI tests are in
//! `cli/tests/wasi.rs`.

use std::path::Path;

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
