//! The WASI functions on descriptors themselves: closing and renumbering, `fdstat` (kind, flags,
//! rights), `filestat` (metadata, size, times), preopens, directory listings, and the socket calls
//! (no descriptor is ever a socket: tierup grants no network).
//!
//! Every call checks the descriptor's rights before touching the host. This module must never
//! resolve a path; directory listings read the already-open directory handle.

use super::errno::Errno;
use super::fd::{Descriptor, Kind};
use super::guest::GuestMemory;
use super::path::{FDFLAGS_APPEND, FDFLAGS_NONBLOCK, set_status_flags};
use super::rights;
use super::stat::{self, FILESTAT_SIZE};
use super::{WasiCtx, arg_u32, arg_u64};
use crate::val::Val;
use cap_std::fs::DirEntry;
use std::os::unix::fs::DirEntryExt;

pub fn fd_close(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    ctx.fds.remove(arg_u32(a, 0)).map(drop)
}

/// `(from, to)`: `to` becomes what `from` was; both must be open.
pub fn fd_renumber(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    ctx.fds.renumber(arg_u32(a, 0), arg_u32(a, 1))
}

/// The filetype a descriptor reports.
fn filetype(descriptor: &Descriptor) -> Result<u8, Errno> {
    Ok(match &descriptor.kind {
        Kind::Stdio { inherit: false, .. } => stat::FILETYPE_CHARACTER_DEVICE,
        Kind::Stdio { stream, .. } => stat::host_stream_filetype(stream.host_fd()),
        Kind::File(file) => stat::filetype(file.metadata()?.file_type()),
        Kind::Dir { .. } => stat::FILETYPE_DIRECTORY,
    })
}

/// `fdstat`: filetype (u8 at 0), flags (u16 at 2), base and inheriting rights (u64 at 8 and 16).
pub fn fd_fdstat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let out = arg_u32(a, 1);
    mem.check(out, 24)?;
    let descriptor = ctx.fds.get(arg_u32(a, 0))?;
    let mut record = [0u8; 24];
    record[0] = filetype(descriptor)?;
    record[2..4].copy_from_slice(&descriptor.flags.to_le_bytes());
    record[8..16].copy_from_slice(&descriptor.base.to_le_bytes());
    record[16..24].copy_from_slice(&descriptor.inheriting.to_le_bytes());
    mem.write(out, &record)
}

/// `(fd, fdflags)`: a file's `APPEND` and `NONBLOCK` can change; the sync flags are fixed at
/// open on Linux (`ENOTSUP`), and a stream or directory takes only what it has.
pub fn fd_fdstat_set_flags(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let flags = u16::try_from(arg_u32(a, 1)).map_err(|_| Errno::INVAL)?;
    let descriptor = ctx.fds.get_mut(arg_u32(a, 0))?;
    descriptor.require(rights::FD_FDSTAT_SET_FLAGS)?;
    let changeable = FDFLAGS_APPEND | FDFLAGS_NONBLOCK;
    let changed = flags ^ descriptor.flags;
    if changed == 0 {
        return Ok(());
    }
    let Kind::File(file) = &descriptor.kind else { return Err(Errno::NOTSUP) };
    if changed & !changeable != 0 {
        return Err(Errno::NOTSUP);
    }
    set_status_flags(file, flags)?;
    descriptor.flags = flags;
    Ok(())
}

/// `(fd, base: i64, inheriting: i64)`: drops rights; asking for one the descriptor does not hold
/// is `NOTCAPABLE`.
pub fn fd_fdstat_set_rights(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let (base, inheriting) = (arg_u64(a, 1), arg_u64(a, 2));
    let descriptor = ctx.fds.get_mut(arg_u32(a, 0))?;
    if base & !descriptor.base != 0 || inheriting & !descriptor.inheriting != 0 {
        return Err(Errno::NOTCAPABLE);
    }
    descriptor.base = base;
    descriptor.inheriting = inheriting;
    Ok(())
}

pub fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let out = arg_u32(a, 1);
    mem.check(out, FILESTAT_SIZE)?;
    let descriptor = ctx.fds.with(arg_u32(a, 0), rights::FD_FILESTAT_GET)?;
    let record = match &descriptor.kind {
        Kind::File(file) => stat::filestat(&file.metadata()?),
        Kind::Dir { dir, .. } => stat::filestat(&dir.dir_metadata()?),
        Kind::Stdio { .. } => stat::stream_filestat(filetype(descriptor)?),
    };
    mem.write(out, &record)
}

/// `(fd, size: i64)`: truncates or extends with zeros.
pub fn fd_filestat_set_size(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let file = ctx.fds.with(arg_u32(a, 0), rights::FD_FILESTAT_SET_SIZE)?.file()?;
    Ok(file.set_len(arg_u64(a, 1))?)
}

/// `(fd, atim: i64, mtim: i64, fstflags)`.
pub fn fd_filestat_set_times(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let (atime, mtime) = stat::set_times_request(arg_u64(a, 1), arg_u64(a, 2), arg_u32(a, 3))?;
    let times = rustix::fs::Timestamps {
        last_access: stat::timespec(atime),
        last_modification: stat::timespec(mtime),
    };
    let descriptor = ctx.fds.with(arg_u32(a, 0), rights::FD_FILESTAT_SET_TIMES)?;
    match &descriptor.kind {
        Kind::File(file) => Ok(rustix::fs::futimens(file, &times)?),
        Kind::Dir { dir, .. } => Ok(rustix::fs::futimens(dir, &times)?),
        Kind::Stdio { .. } => Err(Errno::BADF),
    }
}

/// `prestat`: tag 0 (a directory) and the guest name's length. Only preopens have one; `EBADF`
/// for anything else is what tells libc's preopen scan to stop.
pub fn fd_prestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let name = preopen_name(ctx, arg_u32(a, 0))?;
    let len = u32::try_from(name.len()).map_err(|_| Errno::NAMETOOLONG)?;
    let mut record = [0u8; 8];
    record[4..8].copy_from_slice(&len.to_le_bytes());
    mem.write(arg_u32(a, 1), &record)
}

pub fn fd_prestat_dir_name(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let name = preopen_name(ctx, arg_u32(a, 0))?;
    let (ptr, len) = (arg_u32(a, 1), arg_u32(a, 2));
    if (len as usize) < name.len() {
        return Err(Errno::NAMETOOLONG);
    }
    mem.write(ptr, name.as_bytes())
}

fn preopen_name(ctx: &WasiCtx, fd: u32) -> Result<&str, Errno> {
    match &ctx.fds.get(fd)?.kind {
        Kind::Dir { preopen: Some(name), .. } => Ok(name),
        _ => Err(Errno::BADF),
    }
}

/// `(fd, buf, buf_len, cookie: i64, out)`: `dirent` records from entry number `cookie` on, the
/// last one cut short if the buffer is full (the guest then calls again with a larger one).
/// Entries are `.`, `..`, then the directory sorted by name, so cookies stay stable between calls.
pub fn fd_readdir(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, buf, buf_len, cookie, out) =
        (arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), arg_u64(a, 3), arg_u32(a, 4));
    mem.check(buf, buf_len)?;
    mem.check(out, 4)?;
    let dir = ctx.fds.dir(fd, rights::FD_READDIR)?;
    let own = dir.dir_metadata().map(|m| cap_std::fs::MetadataExt::ino(&m))?;
    // `..` may lie outside the sandbox: its inode is not reported.
    let mut entries = vec![
        (b".".to_vec(), own, stat::FILETYPE_DIRECTORY),
        (b"..".to_vec(), 0, stat::FILETYPE_DIRECTORY),
    ];
    let mut listed = Vec::new();
    for entry in dir.entries()? {
        listed.push(dirent(&entry?));
    }
    listed.sort();
    entries.extend(listed);
    let bytes = dirents(&entries, cookie, buf_len as usize);
    mem.write(buf, &bytes)?;
    mem.write_u32(out, bytes.len() as u32)
}

/// One listed entry: name, inode, filetype.
fn dirent(entry: &DirEntry) -> (Vec<u8>, u64, u8) {
    let kind = entry.file_type().map_or(stat::FILETYPE_UNKNOWN, stat::filetype);
    (entry.file_name().into_encoded_bytes(), entry.ino(), kind)
}

/// The `dirent` records (24-byte header, then the name) from entry `cookie` on, cut at `limit`.
fn dirents(entries: &[(Vec<u8>, u64, u8)], cookie: u64, limit: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (index, (name, ino, kind)) in entries.iter().enumerate().skip(skip) {
        if bytes.len() >= limit {
            break;
        }
        let mut header = [0u8; 24];
        header[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = *kind;
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(name);
    }
    bytes.truncate(limit);
    bytes
}

/// The socket calls answer as wasmtime does without `--tcplisten`: `EBADF` for a descriptor
/// that is not open, `ENOTSOCK` for one that is.
fn not_a_socket(ctx: &WasiCtx, fd: u32) -> Result<(), Errno> {
    ctx.fds.get(fd)?;
    Err(Errno::NOTSOCK)
}

/// `(fd, flags, out)`.
pub fn sock_accept(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    not_a_socket(ctx, arg_u32(a, 0))
}

/// `(fd, ri_data, ri_data_len, ri_flags, out_len, out_flags)`.
pub fn sock_recv(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    not_a_socket(ctx, arg_u32(a, 0))
}

/// `(fd, si_data, si_data_len, si_flags, out_len)`.
pub fn sock_send(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    not_a_socket(ctx, arg_u32(a, 0))
}

/// `(fd, how)`.
pub fn sock_shutdown(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    not_a_socket(ctx, arg_u32(a, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirents_resume_at_the_cookie_and_stop_at_the_limit() {
        let entries = vec![(b".".to_vec(), 7, 3), (b"..".to_vec(), 0, 3), (b"file".to_vec(), 9, 4)];
        let all = dirents(&entries, 0, 1000);
        assert_eq!(all.len(), 3 * 24 + 1 + 2 + 4);
        assert_eq!(u64::from_le_bytes(all[0..8].try_into().unwrap()), 1, "next cookie");
        let last = dirents(&entries, 2, 1000);
        assert_eq!(&last[24..], b"file");
        assert_eq!(u64::from_le_bytes(last[8..16].try_into().unwrap()), 9, "inode");
        assert_eq!(dirents(&entries, 0, 30).len(), 30, "cut short");
        assert!(dirents(&entries, 3, 1000).is_empty());
    }
}
