//! The WASI functions that move data through a descriptor or act on an open file's contents:
//! reading, writing (at the cursor or at an offset), seeking, syncing, advice and allocation.
//!
//! Every guest buffer is checked before the host is asked to do anything, so a bad pointer fails
//! a call without side effect, and every call checks the descriptor's rights first. This module must never
//! resolve a path: it only works on descriptors that are already open.

use super::errno::Errno;
use super::fd::Kind;
use super::guest::GuestMemory;
use super::rights;
use super::{WasiCtx, arg_u32, arg_u64};
use crate::val::Val;
use cap_std::fs::FileExt;
use std::io::{Seek, SeekFrom};
use std::num::NonZeroU64;

/// The `ciovec` gather list at `(iovs, count)`, every buffer checked. POSIX `writev` refuses a
/// total it cannot report (`EINVAL`).
fn gather_list(mem: &GuestMemory<'_>, iovs: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
    let iovs = mem.iovecs(iovs, count)?;
    let total: u64 = iovs.iter().map(|&(_, len)| len as u64).sum();
    u32::try_from(total).map_err(|_| Errno::INVAL)?;
    Ok(iovs)
}

/// Writes each buffer of `iovs` in turn with `write` (given the bytes and how many were written
/// before them), straight from guest memory. An error after some bytes went out reports those
/// bytes, as `writev` does; before any, it is the call's error.
fn write_each(
    mem: &GuestMemory<'_>,
    iovs: Vec<(u32, u32)>,
    mut write: impl FnMut(&[u8], u64) -> Result<(), Errno>,
) -> Result<u32, Errno> {
    let mut written: u32 = 0;
    for (buf, len) in iovs {
        match write(mem.slice(buf, len)?, written as u64) {
            Ok(()) => written += len,
            Err(_) if written > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Writes the `(fd, iovs, iovs_len, out)` gather list; returns the byte count through `out`.
pub fn fd_write(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, out) = (arg_u32(a, 0), arg_u32(a, 3));
    mem.check(out, 4)?;
    let iovs = gather_list(mem, arg_u32(a, 1), arg_u32(a, 2))?;
    let descriptor = ctx.fds.get_mut(fd)?;
    descriptor.require(rights::FD_WRITE)?;
    let written = write_each(mem, iovs, |bytes, _| descriptor.write(bytes).map(drop))?;
    mem.write_u32(out, written)
}

/// `(fd, iovs, iovs_len, offset: i64, out)`: writes at `offset`, leaving the cursor where it is.
/// With `O_APPEND`, Linux writes at the end instead (POSIX allows either).
pub fn fd_pwrite(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, offset, out) = (arg_u32(a, 0), arg_u64(a, 3), arg_u32(a, 4));
    mem.check(out, 4)?;
    let iovs = gather_list(mem, arg_u32(a, 1), arg_u32(a, 2))?;
    let file = positioned(ctx, fd, rights::FD_WRITE)?;
    let written = write_each(mem, iovs, |bytes, before| {
        let at = offset.checked_add(before).ok_or(Errno::INVAL)?;
        Ok(file.write_all_at(bytes, at)?)
    })?;
    mem.write_u32(out, written)
}

/// The file behind `fd` for a positioned access needing `right` (and `FD_SEEK`, which is what
/// lets a descriptor choose its offset); a stream cannot be positioned.
fn positioned(ctx: &WasiCtx, fd: u32, right: u64) -> Result<&cap_std::fs::File, Errno> {
    let descriptor = ctx.fds.get(fd)?;
    if let Kind::Stdio { .. } = descriptor.kind {
        return Err(Errno::SPIPE);
    }
    descriptor.require(right | rights::FD_SEEK)?.file()
}

/// Reads into the `(fd, iovs, iovs_len, out)` scatter list, straight into guest memory.
pub fn fd_read(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, out) = (arg_u32(a, 0), arg_u32(a, 3));
    let iovs = mem.iovecs(arg_u32(a, 1), arg_u32(a, 2))?;
    mem.check(out, 4)?;
    ctx.fds.with(fd, rights::FD_READ)?;
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

/// `(fd, iovs, iovs_len, offset: i64, out)`: reads from `offset` without moving the cursor.
pub fn fd_pread(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (fd, offset, out) = (arg_u32(a, 0), arg_u64(a, 3), arg_u32(a, 4));
    let iovs = mem.iovecs(arg_u32(a, 1), arg_u32(a, 2))?;
    mem.check(out, 4)?;
    let file = positioned(ctx, fd, rights::FD_READ)?;
    let mut total: u32 = 0;
    for (buf, len) in iovs {
        let at = offset.checked_add(total as u64).ok_or(Errno::INVAL)?;
        let n = file.read_at(mem.slice_mut(buf, len)?, at)?;
        total = total.saturating_add(n as u32);
        if n < len as usize {
            break;
        }
    }
    mem.write_u32(out, total)
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
    // Asking where the cursor is only needs `FD_TELL`.
    let right = if from == SeekFrom::Current(0) { rights::FD_TELL } else { rights::FD_SEEK };
    let position = seek(ctx, fd, right, from)?;
    mem.write_u64(out, position)
}

pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let out = arg_u32(a, 1);
    mem.check(out, 8)?;
    let position = seek(ctx, arg_u32(a, 0), rights::FD_TELL, SeekFrom::Current(0))?;
    mem.write_u64(out, position)
}

fn seek(ctx: &mut WasiCtx, fd: u32, right: u64, from: SeekFrom) -> Result<u64, Errno> {
    let descriptor = ctx.fds.get_mut(fd)?;
    if let Kind::Stdio { .. } = descriptor.kind {
        return Err(Errno::SPIPE);
    }
    descriptor.require(right)?;
    match &mut descriptor.kind {
        Kind::File(file) => Ok(file.seek(from)?),
        _ => Err(Errno::BADF),
    }
}

/// `(fd)`: data and metadata to storage. A directory may be synced too (its entries).
pub fn fd_sync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let descriptor = ctx.fds.with(arg_u32(a, 0), rights::FD_SYNC)?;
    match &descriptor.kind {
        Kind::File(file) => Ok(file.sync_all()?),
        Kind::Dir { dir, .. } => Ok(rustix::fs::fsync(dir)?),
        Kind::Stdio { .. } => Err(Errno::INVAL),
    }
}

/// `(fd)`: data (and the metadata needed to read it back) to storage.
pub fn fd_datasync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let descriptor = ctx.fds.with(arg_u32(a, 0), rights::FD_DATASYNC)?;
    match &descriptor.kind {
        Kind::File(file) => Ok(file.sync_data()?),
        Kind::Dir { dir, .. } => Ok(rustix::fs::fdatasync(dir)?),
        Kind::Stdio { .. } => Err(Errno::INVAL),
    }
}

/// `(fd, offset: i64, len: i64, advice)`: passed on to `posix_fadvise` (`len` 0: to the end).
pub fn fd_advise(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    use rustix::fs::Advice;
    let advice = match arg_u32(a, 3) {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        4 => Advice::DontNeed,
        5 => Advice::NoReuse,
        _ => return Err(Errno::INVAL),
    };
    let file = ctx.fds.with(arg_u32(a, 0), rights::FD_ADVISE)?.file()?;
    Ok(rustix::fs::fadvise(file, arg_u64(a, 1), NonZeroU64::new(arg_u64(a, 2)), advice)?)
}

/// `(fd, offset: i64, len: i64)`: reserves the range, growing the file if it ends past its end
/// (`posix_fallocate`); `ENOTSUP` where the host file system cannot.
pub fn fd_allocate(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let file = ctx.fds.with(arg_u32(a, 0), rights::FD_ALLOCATE)?.file()?;
    let mode = rustix::fs::FallocateFlags::empty();
    Ok(rustix::fs::fallocate(file, mode, arg_u64(a, 1), arg_u64(a, 2))?)
}
