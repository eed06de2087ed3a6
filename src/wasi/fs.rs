//! The WASI functions on descriptors and paths: reading, writing, seeking, stat, directories,
//! opening, creating, removing and renaming.
//!
//! Every path goes through `path::resolve` relative to a directory descriptor, and every buffer is
//! checked before the host is asked to do anything, so a failing call has no side effect. This
//! module must never open or modify a host path it built itself from guest bytes.

use super::errno::Errno;
use super::fd::Descriptor;
use super::guest::GuestMemory;
use super::path::{self, Resolved};
use super::{WasiCtx, arg_u32, arg_u64};
use crate::val::Val;
use std::fs::{Metadata, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{DirEntryExt, FileTypeExt, MetadataExt, OpenOptionsExt};

// preview1 `filetype`.
const FILETYPE_UNKNOWN: u8 = 0;
const FILETYPE_BLOCK_DEVICE: u8 = 1;
const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FILETYPE_DIRECTORY: u8 = 3;
const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SOCKET_STREAM: u8 = 6;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;

// preview1 `oflags`, `fdflags`, `lookupflags` and the two rights `path_open` reads.
const OFLAGS_CREAT: u32 = 1;
const OFLAGS_DIRECTORY: u32 = 2;
const OFLAGS_EXCL: u32 = 4;
const OFLAGS_TRUNC: u32 = 8;
const FDFLAGS_APPEND: u32 = 1;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
/// Every right preview1 defines (bits 0..=29): rights are reported, not enforced (capabilities
/// are enforced by what a descriptor can reach instead).
const ALL_RIGHTS: u64 = (1 << 30) - 1;

/// Writes the `(fd, iovs, iovs_len, out)` gather list; returns the byte count through `out`.
pub fn fd_write(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, out) = (arg_u32(a, 0), arg_u32(a, 3));
    let iovs = mem.iovecs(arg_u32(a, 1), arg_u32(a, 2))?;
    mem.check(out, 4)?;
    let total: u64 = iovs.iter().map(|&(_, len)| len as u64).sum();
    // POSIX `writev` refuses a total it cannot report; it also bounds the copy made here.
    let total = u32::try_from(total).map_err(|_| Errno::INVAL)?;
    let descriptor = ctx.fds.get_mut(fd)?;
    let mut data = Vec::with_capacity(total as usize);
    for (buf, len) in iovs {
        data.extend_from_slice(mem.slice(buf, len)?);
    }
    let written = descriptor.write(&data)?;
    mem.write_u32(out, written as u32)
}

/// Reads into the `(fd, iovs, iovs_len, out)` scatter list, straight into guest memory.
pub fn fd_read(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, out) = (arg_u32(a, 0), arg_u32(a, 3));
    let iovs = mem.iovecs(arg_u32(a, 1), arg_u32(a, 2))?;
    mem.check(out, 4)?;
    let descriptor = ctx.fds.get_mut(fd)?;
    let mut total: u32 = 0;
    for (buf, len) in iovs {
        let n = descriptor.read(mem.slice_mut(buf, len)?)?;
        total = total.saturating_add(n as u32);
        // A short read means no more is available now; reading on would block or hit EOF again.
        if n < len as usize {
            break;
        }
    }
    mem.write_u32(out, total)
}

pub fn fd_close(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    ctx.fds.remove(arg_u32(a, 0)).map(drop)
}

/// `(fd, offset: i64, whence, out)`.
pub fn fd_seek(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, offset, whence, out) =
        (arg_u32(a, 0), arg_u64(a, 1) as i64, arg_u32(a, 2), arg_u32(a, 3));
    mem.check(out, 8)?;
    let from = match whence {
        0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::INVAL)?),
        1 => SeekFrom::Current(offset),
        2 => SeekFrom::End(offset),
        _ => return Err(Errno::INVAL),
    };
    let position = seek(ctx, fd, from)?;
    mem.write_u64(out, position)
}

pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let out = arg_u32(a, 1);
    mem.check(out, 8)?;
    let position = seek(ctx, arg_u32(a, 0), SeekFrom::Current(0))?;
    mem.write_u64(out, position)
}

fn seek(ctx: &mut WasiCtx, fd: u32, from: SeekFrom) -> Result<u64, Errno> {
    match ctx.fds.get_mut(fd)? {
        Descriptor::File { file, .. } => Ok(file.seek(from)?),
        Descriptor::Stdio { .. } => Err(Errno::SPIPE),
        Descriptor::Dir { .. } => Err(Errno::BADF),
    }
}

/// `fdstat`: filetype (u8 at 0), flags (u16 at 2), base and inheriting rights (u64 at 8 and 16).
pub fn fd_fdstat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (filetype, flags) = match ctx.fds.get(arg_u32(a, 0))? {
        Descriptor::Stdio { .. } => (FILETYPE_CHARACTER_DEVICE, 0),
        Descriptor::File { file, append } => {
            (filetype(&file.metadata()?), if *append { FDFLAGS_APPEND as u16 } else { 0 })
        }
        Descriptor::Dir { .. } => (FILETYPE_DIRECTORY, 0),
    };
    let mut record = [0u8; 24];
    record[0] = filetype;
    record[2..4].copy_from_slice(&flags.to_le_bytes());
    record[8..16].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
    record[16..24].copy_from_slice(&ALL_RIGHTS.to_le_bytes());
    mem.write(arg_u32(a, 1), &record)
}

/// Only a request that changes nothing succeeds: std cannot change an open file's flags.
pub fn fd_fdstat_set_flags(
    ctx: &mut WasiCtx,
    _: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let flags = arg_u32(a, 1);
    let current = match ctx.fds.get(arg_u32(a, 0))? {
        Descriptor::File { append: true, .. } => FDFLAGS_APPEND,
        _ => 0,
    };
    if flags == current { Ok(()) } else { Err(Errno::NOTSUP) }
}

pub fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let out = arg_u32(a, 1);
    mem.check(out, 64)?;
    let record = match ctx.fds.get(arg_u32(a, 0))? {
        Descriptor::File { file, .. } => filestat(&file.metadata()?),
        Descriptor::Dir { host, .. } => filestat(&std::fs::metadata(host)?),
        Descriptor::Stdio { .. } => {
            let mut record = [0u8; 64];
            record[16] = FILETYPE_CHARACTER_DEVICE;
            record
        }
    };
    mem.write(out, &record)
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

fn preopen_name(ctx: &WasiCtx, fd: u32) -> Result<String, Errno> {
    match ctx.fds.get(fd)? {
        Descriptor::Dir { preopen: Some(name), .. } => Ok(name.clone()),
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
    let dir = ctx.fds.dir(fd).map_err(|_| Errno::BADF)?;
    let own = std::fs::metadata(&dir)?.ino();
    let mut entries =
        vec![(b".".to_vec(), own, FILETYPE_DIRECTORY), (b"..".to_vec(), 0, FILETYPE_DIRECTORY)];
    let mut listed = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let kind = entry.file_type().map_or(FILETYPE_UNKNOWN, |t| file_type(&t));
        use std::os::unix::ffi::OsStrExt;
        listed.push((entry.file_name().as_bytes().to_vec(), entry.ino(), kind));
    }
    listed.sort();
    entries.extend(listed);
    let mut bytes = Vec::new();
    for (index, (name, ino, kind)) in
        entries.iter().enumerate().skip(cookie.min(usize::MAX as u64) as usize)
    {
        if bytes.len() >= buf_len as usize {
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
    bytes.truncate(buf_len as usize);
    mem.write(buf, &bytes)?;
    mem.write_u32(out, bytes.len() as u32)
}

/// The guest path at `(ptr, len)` resolved under directory descriptor `fd`.
fn resolve(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    ptr: u32,
    len: u32,
    follow: bool,
) -> Result<Resolved, Errno> {
    let root = ctx.fds.dir(fd)?;
    let guest = mem.slice(ptr, len)?;
    path::resolve(&root, guest, follow)
}

/// `(dirfd, lookupflags, path, path_len, oflags, rights_base: i64, rights_inheriting: i64,
/// fdflags, out)`. The file is opened for reading and/or writing as the base rights ask; a
/// directory becomes a directory descriptor, a new root for paths under it.
pub fn path_open(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (dirfd, lookup, oflags) = (arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 4));
    let (rights, fdflags, out) = (arg_u64(a, 5), arg_u32(a, 7), arg_u32(a, 8));
    mem.check(out, 4)?;
    let follow = lookup & LOOKUP_SYMLINK_FOLLOW != 0;
    let resolved = resolve(ctx, mem, dirfd, arg_u32(a, 2), arg_u32(a, 3), follow)?;
    let existing = std::fs::symlink_metadata(&resolved.host).ok();
    let is_dir = existing.as_ref().is_some_and(Metadata::is_dir);
    let descriptor = if oflags & OFLAGS_DIRECTORY != 0 || (is_dir && oflags & OFLAGS_CREAT == 0) {
        match existing {
            Some(_) if !is_dir => return Err(Errno::NOTDIR),
            None => return Err(Errno::NOENT),
            Some(_) if oflags & (OFLAGS_EXCL | OFLAGS_TRUNC) != 0 => return Err(Errno::ISDIR),
            Some(_) => Descriptor::Dir { host: resolved.host, preopen: None },
        }
    } else {
        let append = fdflags & FDFLAGS_APPEND != 0;
        let write = rights & RIGHT_FD_WRITE != 0 || append || oflags & OFLAGS_TRUNC != 0;
        let read = rights & RIGHT_FD_READ != 0 || !write;
        let file = OpenOptions::new()
            .read(read)
            .write(write && !append)
            .append(append)
            .truncate(oflags & OFLAGS_TRUNC != 0)
            .create(oflags & OFLAGS_CREAT != 0)
            .create_new(oflags & OFLAGS_CREAT != 0 && oflags & OFLAGS_EXCL != 0)
            // The walk resolved every symlink the guest may follow; one here appeared since.
            .custom_flags(libc::O_NOFOLLOW)
            .open(&resolved.host)?;
        Descriptor::File { file, append }
    };
    let fd = ctx.fds.insert(descriptor)?;
    mem.write_u32(out, fd)
}

/// `(dirfd, lookupflags, path, path_len, out)`.
pub fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let out = arg_u32(a, 4);
    mem.check(out, 64)?;
    let follow = arg_u32(a, 1) & LOOKUP_SYMLINK_FOLLOW != 0;
    let resolved = resolve(ctx, mem, arg_u32(a, 0), arg_u32(a, 2), arg_u32(a, 3), follow)?;
    let meta = std::fs::symlink_metadata(&resolved.host)?;
    mem.write(out, &filestat(&meta))
}

pub fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let resolved = resolve(ctx, mem, arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), false)?;
    Ok(std::fs::create_dir(&resolved.host)?)
}

pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let resolved =
        removable(resolve(ctx, mem, arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), false)?)?;
    Ok(std::fs::remove_dir(&resolved.host)?)
}

pub fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let resolved =
        removable(resolve(ctx, mem, arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), false)?)?;
    if std::fs::symlink_metadata(&resolved.host)?.is_dir() {
        return Err(Errno::ISDIR);
    }
    Ok(std::fs::remove_file(&resolved.host)?)
}

/// `(old_dirfd, old_path, old_len, new_dirfd, new_path, new_len)`.
pub fn path_rename(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let from = removable(resolve(ctx, mem, arg_u32(a, 0), arg_u32(a, 1), arg_u32(a, 2), false)?)?;
    let to = removable(resolve(ctx, mem, arg_u32(a, 3), arg_u32(a, 4), arg_u32(a, 5), false)?)?;
    Ok(std::fs::rename(&from.host, &to.host)?)
}

/// Refuses to remove or rename a descriptor's own directory (`.`), which would pull the root out
/// from under every path resolved against it; POSIX `rmdir(".")` is `EINVAL` too.
fn removable(resolved: Resolved) -> Result<Resolved, Errno> {
    if resolved.is_root { Err(Errno::INVAL) } else { Ok(resolved) }
}

fn file_type(t: &std::fs::FileType) -> u8 {
    if t.is_dir() {
        FILETYPE_DIRECTORY
    } else if t.is_file() {
        FILETYPE_REGULAR_FILE
    } else if t.is_symlink() {
        FILETYPE_SYMBOLIC_LINK
    } else if t.is_block_device() {
        FILETYPE_BLOCK_DEVICE
    } else if t.is_char_device() {
        FILETYPE_CHARACTER_DEVICE
    } else if t.is_socket() {
        FILETYPE_SOCKET_STREAM
    } else {
        FILETYPE_UNKNOWN
    }
}

fn filetype(meta: &Metadata) -> u8 {
    file_type(&meta.file_type())
}

/// `filestat`: dev, ino, filetype (u8 at 16), nlink, size, atim, mtim, ctim (u64s, times in ns).
fn filestat(meta: &Metadata) -> [u8; 64] {
    let nanos =
        |secs: i64, nsec: i64| (secs as u64).wrapping_mul(1_000_000_000).wrapping_add(nsec as u64);
    let mut record = [0u8; 64];
    record[0..8].copy_from_slice(&meta.dev().to_le_bytes());
    record[8..16].copy_from_slice(&meta.ino().to_le_bytes());
    record[16] = filetype(meta);
    record[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
    record[32..40].copy_from_slice(&meta.size().to_le_bytes());
    record[40..48].copy_from_slice(&nanos(meta.atime(), meta.atime_nsec()).to_le_bytes());
    record[48..56].copy_from_slice(&nanos(meta.mtime(), meta.mtime_nsec()).to_le_bytes());
    record[56..64].copy_from_slice(&nanos(meta.ctime(), meta.ctime_nsec()).to_le_bytes());
    record
}
