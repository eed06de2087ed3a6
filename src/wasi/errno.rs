//! WASI preview1 error numbers, and the one mapping from host I/O errors to them.
//!
//! Host functions return `Result<_, Errno>`; the glue in `mod.rs` turns that into the `i32` the guest
//! sees. The numbers are the preview1 `errno` enum's, which are not the host's `errno` values, so a
//! host error must never reach the guest unmapped.

use std::io;

/// A preview1 `errno` value (0 is success and is never constructed as an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub u16);

impl Errno {
    pub const TOOBIG: Errno = Errno(1);
    pub const ACCES: Errno = Errno(2);
    pub const AGAIN: Errno = Errno(6);
    pub const BADF: Errno = Errno(8);
    pub const BUSY: Errno = Errno(10);
    pub const EXIST: Errno = Errno(20);
    pub const FAULT: Errno = Errno(21);
    pub const FBIG: Errno = Errno(22);
    pub const ILSEQ: Errno = Errno(25);
    pub const INTR: Errno = Errno(27);
    pub const INVAL: Errno = Errno(28);
    pub const IO: Errno = Errno(29);
    pub const ISDIR: Errno = Errno(31);
    pub const LOOP: Errno = Errno(32);
    pub const MFILE: Errno = Errno(33);
    pub const MLINK: Errno = Errno(34);
    pub const NAMETOOLONG: Errno = Errno(37);
    pub const NOENT: Errno = Errno(44);
    pub const NOMEM: Errno = Errno(48);
    pub const NOSPC: Errno = Errno(51);
    pub const NOSYS: Errno = Errno(52);
    pub const NOTDIR: Errno = Errno(54);
    pub const NOTEMPTY: Errno = Errno(55);
    pub const NOTSOCK: Errno = Errno(57);
    pub const NOTSUP: Errno = Errno(58);
    pub const NXIO: Errno = Errno(60);
    pub const OVERFLOW: Errno = Errno(61);
    pub const PERM: Errno = Errno(63);
    pub const PIPE: Errno = Errno(64);
    pub const ROFS: Errno = Errno(69);
    pub const SPIPE: Errno = Errno(70);
    pub const TXTBSY: Errno = Errno(74);
    pub const XDEV: Errno = Errno(75);
    pub const NOTCAPABLE: Errno = Errno(76);
}

impl From<io::Error> for Errno {
    /// Host errors by their OS code where there is one; anything unrecognised is `EIO`, which
    /// tells the guest "the host failed" without leaking what the host's number meant.
    fn from(err: io::Error) -> Errno {
        if let Some(code) = err.raw_os_error() {
            return from_host_errno(code);
        }
        match err.kind() {
            io::ErrorKind::NotFound => Errno::NOENT,
            // The one permission error without an OS code is cap-std's refusal of a path that
            // leads outside its directory: `EPERM`, as wasmtime answers.
            io::ErrorKind::PermissionDenied => Errno::PERM,
            io::ErrorKind::AlreadyExists => Errno::EXIST,
            io::ErrorKind::InvalidInput => Errno::INVAL,
            io::ErrorKind::BrokenPipe => Errno::PIPE,
            io::ErrorKind::Interrupted => Errno::INTR,
            io::ErrorKind::OutOfMemory => Errno::NOMEM,
            _ => Errno::IO,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(err: rustix::io::Errno) -> Errno {
        from_host_errno(err.raw_os_error())
    }
}

fn from_host_errno(code: i32) -> Errno {
    match code {
        libc::E2BIG => Errno::TOOBIG,
        libc::EACCES => Errno::ACCES,
        libc::EAGAIN => Errno::AGAIN,
        libc::EBADF => Errno::BADF,
        libc::EBUSY => Errno::BUSY,
        libc::EEXIST => Errno::EXIST,
        libc::EFBIG => Errno::FBIG,
        libc::EILSEQ => Errno::ILSEQ,
        libc::EINTR => Errno::INTR,
        libc::EINVAL => Errno::INVAL,
        libc::EISDIR => Errno::ISDIR,
        libc::ELOOP => Errno::LOOP,
        libc::EMFILE => Errno::MFILE,
        libc::ENAMETOOLONG => Errno::NAMETOOLONG,
        libc::ENOENT => Errno::NOENT,
        libc::ENOMEM => Errno::NOMEM,
        libc::ENOSPC => Errno::NOSPC,
        libc::ENOSYS => Errno::NOSYS,
        libc::ENOTDIR => Errno::NOTDIR,
        libc::ENOTEMPTY => Errno::NOTEMPTY,
        libc::ENOTSOCK => Errno::NOTSOCK,
        libc::EOPNOTSUPP => Errno::NOTSUP,
        libc::ENXIO => Errno::NXIO,
        libc::ETXTBSY => Errno::TXTBSY,
        libc::EMLINK => Errno::MLINK,
        libc::EOVERFLOW => Errno::OVERFLOW,
        libc::EPERM => Errno::PERM,
        libc::EPIPE => Errno::PIPE,
        libc::EROFS => Errno::ROFS,
        libc::ESPIPE => Errno::SPIPE,
        libc::EXDEV => Errno::XDEV,
        _ => Errno::IO,
    }
}
