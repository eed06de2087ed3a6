//! WASI preview1 (`wasi_snapshot_preview1`) for guests that expect a POSIX-like host, granting
//! nothing the embedder did not grant: no file is reachable except under a preopened directory,
//! and the standard streams are sinks unless inherited.
//!
//! The embedder builds a [`WasiCtx`] with [`WasiCtxBuilder`], keeps it in its store data and calls
//! [`add_to_linker`]. Each host function validates every guest pointer through `guest.rs` (a bad
//! one is `EFAULT`), resolves every guest path through `path.rs` (an escape is `ENOTCAPABLE`) and
//! answers with a preview1 `errno`; only `proc_exit` ends the call with a trap. This module and its
//! children must never panic on guest input, and never reach a host path without `path::resolve`.
//!
//! Functions in the preview1 list that are not implemented are still defined, so modules that
//! merely import them link, and they return `ENOSYS`.

mod calls;
mod errno;
mod fd;
mod fs;
mod guest;
mod path;

use crate::types::{FuncType, ValType};
use crate::val::Val;
use crate::vm::{Caller, Linker, Trap, TrapCode};
use errno::Errno;
use fd::{Descriptor, FdTable, StdStream};
use guest::GuestMemory;
use std::io;
use std::path::Path;

/// The import module name WASI preview1 functions live under.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// One guest's WASI state: its arguments, environment and descriptors.
#[derive(Debug, Default)]
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<String>,
    fds: FdTable,
    /// `random_get`'s source: the host's `/dev/urandom`, or a seeded generator.
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
    preopens: Vec<(std::path::PathBuf, String)>,
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
    /// it. Fails if `host` is not a directory. Descriptors are numbered from 3 in call order.
    pub fn preopen_dir(
        mut self,
        host: impl AsRef<Path>,
        guest: impl AsRef<str>,
    ) -> io::Result<Self> {
        let host = host.as_ref();
        let context = |err: io::Error| {
            io::Error::new(err.kind(), format!("cannot preopen `{}`: {err}", host.display()))
        };
        // Canonical once, here, so the root holds no symlink for `path::resolve` to trust.
        let canonical = host.canonicalize().map_err(context)?;
        if !canonical.metadata().map_err(context)?.is_dir() {
            return Err(context(io::Error::from(io::ErrorKind::NotADirectory)));
        }
        self.preopens.push((canonical, guest.as_ref().to_string()));
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
        let preopens = self
            .preopens
            .into_iter()
            .map(|(host, guest)| Descriptor::Dir { host, preopen: Some(guest) });
        let stdio = streams
            .into_iter()
            .map(|stream| Descriptor::Stdio { stream, inherit: self.inherit_stdio });
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
    ("poll_oneoff", "iiii", calls::poll_oneoff),
    ("fd_write", "iiii", fs::fd_write),
    ("fd_read", "iiii", fs::fd_read),
    ("fd_close", "i", fs::fd_close),
    ("fd_seek", "iIii", fs::fd_seek),
    ("fd_tell", "ii", fs::fd_tell),
    ("fd_fdstat_get", "ii", fs::fd_fdstat_get),
    ("fd_fdstat_set_flags", "ii", fs::fd_fdstat_set_flags),
    ("fd_filestat_get", "ii", fs::fd_filestat_get),
    ("fd_prestat_get", "ii", fs::fd_prestat_get),
    ("fd_prestat_dir_name", "iii", fs::fd_prestat_dir_name),
    ("fd_readdir", "iiiIi", fs::fd_readdir),
    ("path_open", "iiiiiIIii", fs::path_open),
    ("path_filestat_get", "iiiii", fs::path_filestat_get),
    ("path_create_directory", "iii", fs::path_create_directory),
    ("path_remove_directory", "iii", fs::path_remove_directory),
    ("path_unlink_file", "iii", fs::path_unlink_file),
    ("path_rename", "iiiiii", fs::path_rename),
    // Not implemented: defined so that modules importing them link.
    ("fd_advise", "iIIi", nosys),
    ("fd_allocate", "iII", nosys),
    ("fd_datasync", "i", nosys),
    ("fd_sync", "i", nosys),
    ("fd_fdstat_set_rights", "iII", nosys),
    ("fd_filestat_set_size", "iI", nosys),
    ("fd_filestat_set_times", "iIIi", nosys),
    ("fd_pread", "iiiIi", nosys),
    ("fd_pwrite", "iiiIi", nosys),
    ("fd_renumber", "ii", nosys),
    ("path_filestat_set_times", "iiiiIIi", nosys),
    ("path_link", "iiiiiii", nosys),
    ("path_readlink", "iiiiii", nosys),
    ("path_symlink", "iiiii", nosys),
    ("proc_raise", "i", nosys),
    ("sock_accept", "iii", nosys),
    ("sock_recv", "iiiiii", nosys),
    ("sock_send", "iiiii", nosys),
    ("sock_shutdown", "ii", nosys),
];

fn nosys(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[Val]) -> Result<(), Errno> {
    Err(Errno::NOSYS)
}

/// Defines every `wasi_snapshot_preview1` function in `linker`; `get` finds the [`WasiCtx`] in the
/// store's data.
pub fn add_to_linker<T>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) {
    for &(name, params, call) in CALLS {
        let params = params.chars().map(|c| if c == 'I' { ValType::I64 } else { ValType::I32 });
        let ty = FuncType::new(params.collect::<Vec<_>>(), vec![ValType::I32]);
        linker.func_new(MODULE, name, ty, move |mut caller: Caller<'_, T>, args, results| {
            let (data, memory) = caller.data_and_memory_mut("memory");
            let mut no_memory = [0u8; 0];
            let bytes = memory.unwrap_or(&mut no_memory);
            let outcome = call(get(data), &mut GuestMemory::new(bytes), args);
            results[0] = Val::I32(outcome.err().map_or(0, |e| e.0 as i32));
            Ok(())
        });
    }
    linker.func_wrap(MODULE, "proc_exit", |_: Caller<'_, T>, code: i32| -> Result<(), Trap> {
        Err(Trap::new(TrapCode::Exit(code)))
    });
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
