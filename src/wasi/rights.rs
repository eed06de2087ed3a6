//! preview1 rights: what each descriptor may be used for, enforced on every call.
//!
//! A descriptor has base rights (the calls it may be used for) and inheriting rights (the most a
//! descriptor opened through it may have). `path_open` grants what was asked for within the
//! directory's inheriting rights and what the new descriptor's kind can use; `fd_fdstat_set_rights`
//! may only drop rights. So a descriptor never holds a right its ancestors did not. This module
//! must never widen a set of rights.

pub const FD_DATASYNC: u64 = 1 << 0;
pub const FD_READ: u64 = 1 << 1;
pub const FD_SEEK: u64 = 1 << 2;
pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
pub const FD_SYNC: u64 = 1 << 4;
pub const FD_TELL: u64 = 1 << 5;
pub const FD_WRITE: u64 = 1 << 6;
pub const FD_ADVISE: u64 = 1 << 7;
pub const FD_ALLOCATE: u64 = 1 << 8;
pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
pub const PATH_CREATE_FILE: u64 = 1 << 10;
pub const PATH_LINK_SOURCE: u64 = 1 << 11;
pub const PATH_LINK_TARGET: u64 = 1 << 12;
pub const PATH_OPEN: u64 = 1 << 13;
pub const FD_READDIR: u64 = 1 << 14;
pub const PATH_READLINK: u64 = 1 << 15;
pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
pub const PATH_RENAME_TARGET: u64 = 1 << 17;
pub const PATH_FILESTAT_GET: u64 = 1 << 18;
pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
pub const FD_FILESTAT_GET: u64 = 1 << 21;
pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
pub const PATH_SYMLINK: u64 = 1 << 24;
pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
pub const PATH_UNLINK_FILE: u64 = 1 << 26;
pub const POLL_FD_READWRITE: u64 = 1 << 27;

/// Every right a regular file descriptor can use.
pub const FILE: u64 = FD_DATASYNC
    | FD_READ
    | FD_SEEK
    | FD_FDSTAT_SET_FLAGS
    | FD_SYNC
    | FD_TELL
    | FD_WRITE
    | FD_ADVISE
    | FD_ALLOCATE
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_SIZE
    | FD_FILESTAT_SET_TIMES
    | POLL_FD_READWRITE;

/// Every right a directory descriptor can use as a base right: the path operations under it,
/// listing it, and its own metadata and durability.
pub const DIRECTORY: u64 = FD_DATASYNC
    | FD_SYNC
    | PATH_CREATE_DIRECTORY
    | PATH_CREATE_FILE
    | PATH_LINK_SOURCE
    | PATH_LINK_TARGET
    | PATH_OPEN
    | FD_READDIR
    | PATH_READLINK
    | PATH_RENAME_SOURCE
    | PATH_RENAME_TARGET
    | PATH_FILESTAT_GET
    | PATH_FILESTAT_SET_SIZE
    | PATH_FILESTAT_SET_TIMES
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_TIMES
    | PATH_SYMLINK
    | PATH_REMOVE_DIRECTORY
    | PATH_UNLINK_FILE;

/// What a preopened directory passes on: everything a file or a directory beneath it can use.
pub const INHERITABLE: u64 = FILE | DIRECTORY;

/// Standard input is read and polled, nothing else (no seeking: wasi-libc's `isatty` reads the
/// absence of `FD_SEEK`/`FD_TELL` on a character device as a terminal).
pub const STDIN: u64 = FD_READ | FD_FILESTAT_GET | POLL_FD_READWRITE;

/// Standard output and error are written and polled.
pub const STDOUT: u64 = FD_WRITE | FD_FILESTAT_GET | POLL_FD_READWRITE;

/// The rights that need the host file opened for writing (`fdatasync` does not).
pub const NEED_WRITE: u64 = FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;

/// The rights that need the host file opened for reading.
pub const NEED_READ: u64 = FD_READ | FD_READDIR;
