//! WASI preview1 (`wasi_snapshot_preview1`) for guests that expect a POSIX-like host, granting
//! nothing the embedder did not grant: no file is reachable except beneath a preopened directory,
//! and the standard streams are sinks unless inherited.
//!
//! The embedder builds a [`WasiCtx`] with [`WasiCtxBuilder`], keeps it in its store data and calls
//! [`add_to_linker`]. Each host function validates every guest pointer through `guest.rs` (a bad
//! one is `EFAULT`), checks the descriptor's rights (`rights.rs`: a descriptor never gains one)
//! and answers with a preview1 `errno`; only `proc_exit` ends the call with a trap. The sandbox
//! holds by construction: a preopen is a `cap_std::fs::Dir` handle opened once by the builder, and
//! every guest path is resolved by such a handle, beneath it (`path.rs`); nothing here opens a
//! host path otherwise. This module and its children must never panic on guest input, never name
//! a host path built from guest bytes, and never depend on which tier runs the guest.
//!
//! All 46 preview1 functions are implemented. The socket calls answer as wasmtime does without
//! `--tcplisten` (no descriptor is a socket), and `proc_raise` is `ENOTSUP` as in wasmtime.

mod calls;
mod errno;
mod fd;
mod fs;
mod guest;
mod io;
mod path;
mod poll;
mod rights;
mod stat;

use crate::types::{FuncType, ValType};
use crate::val::Val;
use crate::vm::{Caller, Linker, Trap, TrapCode};
use cap_std::fs::Dir;
use errno::Errno;
use fd::{Descriptor, FdTable, StdStream};
use guest::GuestMemory;
use std::path::Path;

/// The import module name WASI preview1 functions live under.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// One guest's WASI state: its arguments, environment and descriptors.
#[derive(Debug, Default)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<String>,
    fds: FdTable,
    /// `random_get`'s source: the host kernel's generator, or a seeded one.
    random: calls::RandomSource,
}

impl WasiCtx {
    /// A context granting nothing: no arguments, no environment, no files, no standard streams.
    pub fn new() -> WasiCtx {
        WasiCtx::default()
    }
}

/// Builds a [`WasiCtx`]; everything not asked for is withheld.
#[derive(Debug, Default)]
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<String>,
    preopens: Vec<(Dir, String)>,
    inherit_stdio: bool,
    random_seed: Option<u64>,
}

impl WasiCtxBuilder {
    /// Makes `random_get` a deterministic generator seeded with `seed` instead of the host's
    /// randomness: runs become reproducible (the same hash-table layouts, the same work), which
    /// benchmarks and tier comparisons need. Not for anything that needs real randomness.
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.random_seed = Some(seed);
        self
    }

    /// A builder granting nothing yet.
    pub fn new() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// Appends to the guest's argv (the first is conventionally the program name).
    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Appends `NAME=VALUE` pairs to the guest's environment.
    pub fn env<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env.extend(env.into_iter().map(|(k, v)| format!("{}={}", k.as_ref(), v.as_ref())));
        self
    }

    /// Grants the guest the host directory `host` under the name `guest`, and everything beneath
    /// it. The directory is opened here, once: this is the only host path WASI ever opens, and
    /// the guest reaches nothing but what lies beneath the handle (renaming or replacing `host`
    /// later changes nothing). Fails if `host` is not a directory. Descriptors are numbered from
    /// 3 in call order.
    pub fn preopen_dir(
        mut self,
        host: impl AsRef<Path>,
        guest: impl AsRef<str>,
    ) -> std::io::Result<Self> {
        let host = host.as_ref();
        let dir = Dir::open_ambient_dir(host, cap_std::ambient_authority()).map_err(|err| {
            std::io::Error::new(err.kind(), format!("cannot preopen `{}`: {err}", host.display()))
        })?;
        self.preopens.push((dir, guest.as_ref().to_string()));
        Ok(self)
    }

    /// Gives the guest the host's stdin, stdout and stderr.
    pub fn inherit_stdio(mut self) -> Self {
        self.inherit_stdio = true;
        self
    }

    /// The context: descriptors 0-2 are the standard streams, then the preopens in order.
    pub fn build(self) -> WasiCtx {
        let mut fds = FdTable::default();
        let streams = [StdStream::Stdin, StdStream::Stdout, StdStream::Stderr];
        let preopens =
            self.preopens.into_iter().map(|(dir, guest)| Descriptor::preopen(dir, guest));
        let stdio = streams.into_iter().map(|stream| Descriptor::stdio(stream, self.inherit_stdio));
        for d in stdio.chain(preopens) {
            // A fresh table holds 3 + preopens descriptors; only a thousand preopens could fail.
            if fds.insert(d).is_err() {
                break;
            }
        }
        let random = match self.random_seed {
            Some(seed) => calls::RandomSource::Seeded(seed),
            None => calls::RandomSource::Host,
        };
        WasiCtx { args: self.args, env: self.env, fds, random }
    }
}

/// A WASI function body: the context, the caller's memory and the arguments, in the order and
/// types of its signature. Results go to guest memory; the return is the `errno`.
type Call = fn(&mut WasiCtx, &mut GuestMemory<'_>, &[Val]) -> Result<(), Errno>;

/// Every preview1 function but `proc_exit`, with its parameters (`i` = i32, `I` = i64); each
/// returns an i32 `errno`.
const CALLS: &[(&str, &str, Call)] = &[
    ("args_get", "ii", calls::args_get),
    ("args_sizes_get", "ii", calls::args_sizes_get),
    ("environ_get", "ii", calls::environ_get),
    ("environ_sizes_get", "ii", calls::environ_sizes_get),
    ("clock_res_get", "ii", calls::clock_res_get),
    ("clock_time_get", "iIi", calls::clock_time_get),
    ("random_get", "ii", calls::random_get),
    ("sched_yield", "", calls::sched_yield),
    ("proc_raise", "i", calls::proc_raise),
    ("poll_oneoff", "iiii", poll::poll_oneoff),
    ("fd_write", "iiii", io::fd_write),
    ("fd_read", "iiii", io::fd_read),
    ("fd_pwrite", "iiiIi", io::fd_pwrite),
    ("fd_pread", "iiiIi", io::fd_pread),
    ("fd_seek", "iIii", io::fd_seek),
    ("fd_tell", "ii", io::fd_tell),
    ("fd_sync", "i", io::fd_sync),
    ("fd_datasync", "i", io::fd_datasync),
    ("fd_advise", "iIIi", io::fd_advise),
    ("fd_allocate", "iII", io::fd_allocate),
    ("fd_close", "i", fs::fd_close),
    ("fd_renumber", "ii", fs::fd_renumber),
    ("fd_fdstat_get", "ii", fs::fd_fdstat_get),
    ("fd_fdstat_set_flags", "ii", fs::fd_fdstat_set_flags),
    ("fd_fdstat_set_rights", "iII", fs::fd_fdstat_set_rights),
    ("fd_filestat_get", "ii", fs::fd_filestat_get),
    ("fd_filestat_set_size", "iI", fs::fd_filestat_set_size),
    ("fd_filestat_set_times", "iIIi", fs::fd_filestat_set_times),
    ("fd_prestat_get", "ii", fs::fd_prestat_get),
    ("fd_prestat_dir_name", "iii", fs::fd_prestat_dir_name),
    ("fd_readdir", "iiiIi", fs::fd_readdir),
    ("sock_accept", "iii", fs::sock_accept),
    ("sock_recv", "iiiiii", fs::sock_recv),
    ("sock_send", "iiiii", fs::sock_send),
    ("sock_shutdown", "ii", fs::sock_shutdown),
    ("path_open", "iiiiiIIii", path::path_open),
    ("path_filestat_get", "iiiii", path::path_filestat_get),
    ("path_filestat_set_times", "iiiiIIi", path::path_filestat_set_times),
    ("path_create_directory", "iii", path::path_create_directory),
    ("path_remove_directory", "iii", path::path_remove_directory),
    ("path_unlink_file", "iii", path::path_unlink_file),
    ("path_rename", "iiiiii", path::path_rename),
    ("path_link", "iiiiiii", path::path_link),
    ("path_symlink", "iiiii", path::path_symlink),
    ("path_readlink", "iiiiii", path::path_readlink),
];

fn signature(params: &str) -> FuncType {
    let params = params.chars().map(|c| if c == 'I' { ValType::I64 } else { ValType::I32 });
    FuncType::new(params.collect::<Vec<_>>(), vec![ValType::I32])
}

/// Runs `call` on `memory` and turns its outcome into the errno the guest sees.
fn dispatch(call: Call, ctx: &mut WasiCtx, memory: &mut [u8], args: &[Val]) -> i32 {
    let outcome = call(ctx, &mut GuestMemory::new(memory), args);
    outcome.err().map_or(0, |e| i32::from(e.0))
}

/// Defines every `wasi_snapshot_preview1` function in `linker`; `get` finds the [`WasiCtx`] in the
/// store's data.
pub fn add_to_linker<T>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) {
    for &(name, params, call) in CALLS {
        linker.func_new(
            MODULE,
            name,
            signature(params),
            move |mut caller: Caller<'_, T>, args, results| {
                let (data, memory) = caller.data_and_memory_mut("memory");
                let mut no_memory = [0u8; 0];
                let bytes = memory.unwrap_or(&mut no_memory);
                results[0] = Val::I32(dispatch(call, get(data), bytes, args));
                Ok(())
            },
        );
    }
    linker.func_wrap(MODULE, "proc_exit", |_: Caller<'_, T>, code: i32| -> Result<(), Trap> {
        Err(Trap::new(TrapCode::Exit(code)))
    });
}

/// Every preview1 function's name and signature, `proc_exit` included: what [`call`] accepts.
pub fn functions() -> impl Iterator<Item = (&'static str, FuncType)> {
    let exit = ("proc_exit", FuncType::new(vec![ValType::I32], vec![]));
    CALLS.iter().map(|&(name, params, _)| (name, signature(params))).chain(std::iter::once(exit))
}

/// Calls the preview1 function `name` with `args` as a guest whose linear memory is `memory`
/// would, without an instance: for fuzzing and testing the host side directly. The arguments
/// must have the function's parameter types (see [`functions`]); `None` if `name` is no preview1
/// function or they do not. The result is the errno the guest would see, or the trap the call
/// ends with (`proc_exit`).
pub fn call(
    ctx: &mut WasiCtx,
    memory: &mut [u8],
    name: &str,
    args: &[Val],
) -> Option<Result<i32, Trap>> {
    if name == "proc_exit" {
        return match args {
            [Val::I32(code)] => Some(Err(Trap::new(TrapCode::Exit(*code)))),
            _ => None,
        };
    }
    let &(_, params, body) = CALLS.iter().find(|&&(n, ..)| n == name)?;
    let ty = signature(params);
    let matches =
        ty.params().len() == args.len() && ty.params().iter().zip(args).all(|(t, v)| *t == v.ty());
    matches.then(|| Ok(dispatch(body, ctx, memory, args)))
}

/// The i32 argument `i` as unsigned (a pointer, length, descriptor or flag set).
fn arg_u32(args: &[Val], i: usize) -> u32 {
    // The linker checked the signature, so the type always matches; 0 is never reached.
    match args.get(i) {
        Some(Val::I32(v)) => *v as u32,
        _ => 0,
    }
}

/// The i64 argument `i` as unsigned.
fn arg_u64(args: &[Val], i: usize) -> u64 {
    match args.get(i) {
        Some(Val::I64(v)) => *v as u64,
        _ => 0,
    }
}
