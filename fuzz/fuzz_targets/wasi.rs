//! Fuzz target `wasi`: WASI preview1 calls with fuzzer-chosen arguments on a guest memory, through
//! `tierup::wasi::call` (no module, no instance: only the host side of WASI is under test).
//!
//! Each input builds a fresh context whose preopens are a small fixture tree (files, directories,
//! symlinks inside and symlinks leading out, a symlink loop), then runs up to 64 steps, each either
//! a WASI call or a write of fuzzer bytes into guest memory. A call's arguments follow what each
//! parameter is (`PARAMS`: a descriptor, a path and its length, flags, rights, an iovec array, an
//! output pointer, ...), drawn mostly from meaningful values (open descriptors, prepared paths
//! inside and leading out, valid flag sets) and sometimes from anything, so that calls get past
//! argument validation and reach the file system as often as they fail early.
//!
//! A finding is a panic, a crash or a hang, or a breach of the sandbox:
//! - the tree outside the preopens (a file holding a secret marker, a directory whose entry names
//!   hold another) must be unchanged after every input: same entries, sizes, contents, times;
//! - no call may leave this process holding a host descriptor on anything outside (checked in
//!   `/proc/self/fd` after every call);
//! - no call may put either marker into guest memory (what a read, readdir or readlink reaching
//!   outside would do): their count in memory may not grow across a call.
//!
//! Harness limits: `poll_oneoff` clock timeouts are clamped to 100 us (a guest may legitimately
//! sleep for centuries), and `fd_allocate` lengths to 1 MiB (it really reserves host space).

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};
use tierup::wasi::{WasiCtx, WasiCtxBuilder, call, functions};
use tierup::{FuncType, Val, ValType};

/// Size of the guest memory the calls see.
const MEMORY: usize = 64 << 10;
/// Where the prepared paths, iovec arrays, `poll_oneoff` subscriptions and buffers live.
const PATHS_AT: usize = 0;
const IOVECS_AT: usize = 4096;
const SUBSCRIPTIONS_AT: usize = 6144;
const BUFFERS_AT: usize = 8192;
/// Most steps per input.
const MAX_STEPS: usize = 64;

/// The secret file's contents and the outside directory's entry prefix: neither may ever appear
/// in guest memory because of a call.
const SECRET: &[u8] = b"tierup-fuzz-SECRET-9f1c2e";
const HIDDEN_NAME: &str = "tierup-fuzz-HIDDEN-4d7a0b";

/// Paths the guest names, relative to a preopen: inside, outside by `..`, through symlinks, odd.
const PATHS: &[&str] = &[
    "file",
    "sub",
    "sub/nested",
    "sub/../file",
    ".",
    "..",
    "../outside/secret",
    "up/secret",
    "abs/secret",
    "up",
    "abs",
    "loop",
    "inlink",
    "dangling",
    "new",
    "sub/new",
    "file/",
    "sub/",
    "/",
    "/etc/passwd",
    "",
    "up/dir",
    "sub/../../outside",
    "new/../up/secret",
    "up/",
];

/// What each parameter of each function is, one letter per kind (a path, an iovec array and a
/// buffer take two parameters: pointer and length):
/// `f` descriptor, `p` path, `l` lookupflags, `o` oflags, `F` fdflags, `r` rights, `s` fstflags,
/// `n` small number (clock, whence, advice, signal, how, count), `T` offset, size or time,
/// `v` iovec array, `b` buffer, `S` subscriptions and their count, `O` output pointer.
const PARAMS: &[(&str, &str)] = &[
    ("args_get", "OO"),
    ("args_sizes_get", "OO"),
    ("environ_get", "OO"),
    ("environ_sizes_get", "OO"),
    ("clock_res_get", "nO"),
    ("clock_time_get", "nTO"),
    ("random_get", "b"),
    ("sched_yield", ""),
    ("proc_raise", "n"),
    ("proc_exit", "n"),
    ("poll_oneoff", "OSO"),
    ("fd_write", "fvO"),
    ("fd_read", "fvO"),
    ("fd_pwrite", "fvTO"),
    ("fd_pread", "fvTO"),
    ("fd_seek", "fTnO"),
    ("fd_tell", "fO"),
    ("fd_sync", "f"),
    ("fd_datasync", "f"),
    ("fd_advise", "fTTn"),
    ("fd_allocate", "fTT"),
    ("fd_close", "f"),
    ("fd_renumber", "ff"),
    ("fd_fdstat_get", "fO"),
    ("fd_fdstat_set_flags", "fF"),
    ("fd_fdstat_set_rights", "frr"),
    ("fd_filestat_get", "fO"),
    ("fd_filestat_set_size", "fT"),
    ("fd_filestat_set_times", "fTTs"),
    ("fd_prestat_get", "fO"),
    ("fd_prestat_dir_name", "fb"),
    ("fd_readdir", "fbTO"),
    ("sock_accept", "fnO"),
    ("sock_recv", "fvnOO"),
    ("sock_send", "fvnO"),
    ("sock_shutdown", "fn"),
    ("path_open", "flporrFO"),
    ("path_filestat_get", "flpO"),
    ("path_filestat_set_times", "flpTTs"),
    ("path_create_directory", "fp"),
    ("path_remove_directory", "fp"),
    ("path_unlink_file", "fp"),
    ("path_rename", "fpfp"),
    ("path_link", "flpfp"),
    ("path_symlink", "pfp"),
    ("path_readlink", "fpbO"),
];

/// The per-process scratch tree: `outside/` (never to be touched) and `sandbox/` (rebuilt for
/// every input).
struct Tree {
    outside: PathBuf,
    sandbox: PathBuf,
    /// The outside tree as created: it must stay exactly so.
    untouched: Vec<(PathBuf, u64, std::time::SystemTime, Vec<u8>)>,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("tierup-fuzz-wasi-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let outside = root.join("outside");
        std::fs::create_dir_all(outside.join(format!("{HIDDEN_NAME}-dir"))).unwrap();
        std::fs::write(outside.join("secret"), SECRET).unwrap();
        std::fs::write(outside.join(format!("{HIDDEN_NAME}-file")), SECRET).unwrap();
        let long_ago = UNIX_EPOCH + Duration::from_secs(946_684_800);
        let times = std::fs::FileTimes::new().set_modified(long_ago).set_accessed(long_ago);
        let secret = std::fs::File::options().write(true).open(outside.join("secret")).unwrap();
        secret.set_times(times).unwrap();
        let untouched = snapshot(&outside);
        Tree { outside, sandbox: root.join("sandbox"), untouched }
    })
}

/// Rebuilds the sandbox fixture from scratch.
fn reset_sandbox(tree: &Tree) {
    let dir = &tree.sandbox;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("sub/nested")).unwrap();
    std::fs::write(dir.join("file"), "hello, file\n").unwrap();
    std::fs::write(dir.join("sub/nested/deep"), "deep\n").unwrap();
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
    link(Path::new("../outside"), "up");
    link(&tree.outside, "abs");
    link(Path::new("loop"), "loop");
    link(Path::new("file"), "inlink");
    link(Path::new("nowhere"), "dangling");
}

/// Everything observable about the outside tree.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, Vec<u8>)> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let contents = if meta.is_file() { std::fs::read(&path).unwrap() } else { Vec::new() };
        entries.push((path.clone(), meta.len(), meta.modified().unwrap(), contents));
        if meta.is_dir() {
            entries.extend(snapshot(&path));
        }
    }
    entries.sort();
    entries
}

/// A host descriptor of this process open on something under `outside`, if there is one.
fn held_outside(outside: &Path) -> Option<PathBuf> {
    std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .find(|target| target.starts_with(outside))
}

/// The guest memory before any call: the prepared paths (NUL-separated), iovec arrays pointing
/// at the buffers, and `poll_oneoff` subscriptions (a short clock, then reads and writes on
/// descriptors 0 to 6).
fn initial_memory() -> Vec<u8> {
    let mut memory = vec![0u8; MEMORY];
    for (i, at) in path_offsets().enumerate() {
        memory[at..at + PATHS[i].len()].copy_from_slice(PATHS[i].as_bytes());
    }
    for i in 0..8 {
        let (buf, len) = ((BUFFERS_AT + i * 512) as u32, 64u32 << (i % 4));
        let at = IOVECS_AT + i * 8;
        memory[at..at + 4].copy_from_slice(&buf.to_le_bytes());
        memory[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
    }
    for i in 0..8usize {
        let sub = &mut memory[SUBSCRIPTIONS_AT + i * 48..][..48];
        sub[0..8].copy_from_slice(&(i as u64).to_le_bytes());
        if i == 0 {
            sub[8] = 0; // clock: monotonic, 10 us from now
            sub[16..20].copy_from_slice(&1u32.to_le_bytes());
            sub[24..32].copy_from_slice(&10_000u64.to_le_bytes());
        } else {
            sub[8] = 1 + (i % 2) as u8; // fd_read, fd_write
            sub[16..20].copy_from_slice(&(i as u32 - 1).to_le_bytes());
        }
    }
    memory
}

fn path_offsets() -> impl Iterator<Item = usize> {
    PATHS.iter().scan(PATHS_AT, |at, path| {
        let here = *at;
        *at += path.len() + 1;
        Some(here)
    })
}

/// How many times either marker occurs in `bytes`.
fn markers(bytes: &[u8]) -> usize {
    let count = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
    count(SECRET) + count(HIDDEN_NAME.as_bytes())
}

/// Whether a call that turned `before` into `after` added a marker. Only the neighbourhood of
/// the changed chunks is searched (most calls change a few bytes, and searching all of memory
/// after every call made the target 20 times slower).
fn added_marker(before: &[u8], after: &[u8]) -> bool {
    const CHUNK: usize = 256;
    let reach = SECRET.len().max(HIDDEN_NAME.len());
    (0..after.len()).step_by(CHUNK).any(|at| {
        let end = (at + CHUNK).min(after.len());
        if before[at..end] == after[at..end] {
            return false;
        }
        let (from, to) = (at.saturating_sub(reach), (end + reach).min(after.len()));
        markers(&after[from..to]) > markers(&before[from..to])
    })
}

fn context(tree: &Tree) -> WasiCtx {
    WasiCtxBuilder::new()
        .args(["prog", "arg"])
        .env([("KEY", "value")])
        .random_seed(1)
        .preopen_dir(&tree.sandbox, "/")
        .and_then(|b| b.preopen_dir(tree.sandbox.join("sub"), "/sub"))
        .expect("the fixture's directories exist")
        .build()
}

/// The values one parameter kind takes (one, or two for a pointer and its length). One draw in
/// eight is anything at all of the right type.
fn draw(u: &mut Unstructured<'_>, kind: u8) -> Result<Vec<u64>> {
    if u.ratio(1, 8)? {
        let width = if b"pvbS".contains(&kind) { 2 } else { 1 };
        return (0..width).map(|_| u.arbitrary::<u64>()).collect();
    }
    let one = |value: u64| Ok(vec![value]);
    match kind {
        // 0-2 stdio, 3-4 the preopens, then the lowest free numbers.
        b'f' => one(u.int_in_range(0..=9)?),
        b'p' => {
            let i = u.choose_index(PATHS.len())?;
            Ok(vec![path_offsets().nth(i).unwrap() as u64, PATHS[i].len() as u64])
        }
        b'l' => one(u.int_in_range(0..=1)?),
        b'o' => one(u.int_in_range(0..=15)?),
        b'F' => one(u.int_in_range(0..=31)?),
        b's' => one(u.int_in_range(0..=15)?),
        b'n' => one(u.int_in_range(0..=8)?),
        b'r' => one(*u.choose(&[u64::MAX, (1 << 30) - 1, 0x42, 0x2, 0x40, 0])?),
        b'T' => one(*u.choose(&[0, 1, 5, 100, 4096, 1 << 20, u64::MAX, 1 << 63])?),
        b'v' => Ok(vec![(IOVECS_AT + 8 * u.int_in_range(0..=7)?) as u64, u.int_in_range(0..=4)?]),
        b'b' => {
            Ok(vec![(BUFFERS_AT + 512 * u.int_in_range(0..=7)?) as u64, u.int_in_range(0..=512)?])
        }
        b'S' => {
            Ok(vec![SUBSCRIPTIONS_AT as u64 + 48 * u.int_in_range(0..=7)?, u.int_in_range(1..=4)?])
        }
        // An output pointer: a buffer, or one running off the end of memory.
        b'O' => one(if u.ratio(1, 8)? {
            (MEMORY - u.int_in_range(0..=16)?) as u64
        } else {
            (BUFFERS_AT + 512 * u.int_in_range(0..=7)?) as u64
        }),
        other => panic!("unknown parameter kind {:?} in PARAMS", other as char),
    }
}

/// The arguments of a call to a function whose parameters are `kinds` and whose signature `ty`.
fn arguments(u: &mut Unstructured<'_>, kinds: &str, ty: &FuncType) -> Result<Vec<Val>> {
    let mut values = Vec::new();
    for kind in kinds.bytes() {
        values.extend(draw(u, kind)?);
    }
    assert_eq!(values.len(), ty.params().len(), "PARAMS is wrong for {kinds}");
    let typed = ty.params().iter().zip(values).map(|(t, v)| match t {
        ValType::I64 => Val::I64(v as i64),
        _ => Val::I32(v as u32 as i32),
    });
    Ok(typed.collect())
}

/// Keeps a call from sleeping or reserving disk for real (see the module comment).
fn clamp(name: &str, args: &mut [Val], memory: &mut [u8]) {
    match name {
        "fd_allocate" => {
            // Only the length takes space (a far offset makes a sparse file); a negative one
            // is refused by the kernel and stays as drawn.
            if let Val::I64(len) = &mut args[2]
                && *len >= 0
            {
                *len %= 1 << 20;
            }
        }
        "poll_oneoff" => {
            let (Val::I32(subs), Val::I32(n)) = (args[0], args[2]) else { return };
            // Every subscription that lies in memory (the call reads no other).
            for i in 0..n as u32 as usize {
                let at = (subs as u32 as usize).saturating_add(i * 48);
                let Some(sub) = memory.get_mut(at..at + 48) else { break };
                if sub[8] == 0 {
                    let timeout = u64::from_le_bytes(sub[24..32].try_into().unwrap()) % 100_000;
                    sub[24..32].copy_from_slice(&timeout.to_le_bytes());
                    sub[40] &= !1; // relative, not an absolute time
                }
            }
        }
        _ => {}
    }
}

/// One step: a call, or fuzzer bytes written into memory.
fn step(
    u: &mut Unstructured<'_>,
    ctx: &mut WasiCtx,
    memory: &mut [u8],
    calls: &[(&str, &str, FuncType)],
    outside: &Path,
) -> Result<()> {
    if u.ratio(1, 6)? {
        let at = u.int_in_range(0..=MEMORY - 64)?;
        let len = u.int_in_range(1..=64)?;
        let bytes: Vec<u8> = (0..len).map(|_| u.arbitrary()).collect::<Result<_>>()?;
        memory[at..at + len].copy_from_slice(&bytes);
        return Ok(());
    }
    let (name, kinds, ty) = &calls[u.choose_index(calls.len())?];
    let mut args = arguments(u, kinds, ty)?;
    clamp(name, &mut args, memory);
    let before = memory.to_vec();
    let outcome = call(ctx, memory, name, &args).expect("arguments match the signature");
    assert!(
        !added_marker(&before, memory),
        "{name}{args:?} put a marker from outside the sandbox into guest memory ({outcome:?})"
    );
    if let Some(target) = held_outside(outside) {
        panic!("{name}{args:?} left {} open, outside the sandbox ({outcome:?})", target.display());
    }
    Ok(())
}

/// Every function with its parameter kinds and signature; a function missing from `PARAMS`
/// fails at once.
fn calls() -> Vec<(&'static str, &'static str, FuncType)> {
    functions()
        .map(|(name, ty)| {
            let kinds = PARAMS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
            (name, kinds.unwrap_or_else(|| panic!("{name} is missing from PARAMS")), ty)
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let tree = tree();
    reset_sandbox(tree);
    let calls = calls();
    let mut ctx = context(tree);
    let mut memory = initial_memory();
    let mut u = Unstructured::new(data);
    for _ in 0..MAX_STEPS {
        if u.is_empty() || step(&mut u, &mut ctx, &mut memory, &calls, &tree.outside).is_err() {
            break;
        }
    }
    drop(ctx);
    assert!(snapshot(&tree.outside) == tree.untouched, "the tree outside the sandbox changed");
});
