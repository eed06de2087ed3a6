//! The WASI functions that name something by a path under a directory descriptor: opening,
//! stat, times, creating, removing, renaming and linking.
//!
//! Every path is handed, as the guest wrote it, to the directory's `cap_std::fs::Dir`, which
//! resolves it beneath that directory only (with `openat2(RESOLVE_BENEATH)` where the kernel has
//! it, else one `openat(O_NOFOLLOW)` per component): `..` past the directory, absolute paths and
//! symlinks leading out fail with `EPERM`, as in wasmtime, and no component can be swapped for a
//! symlink between a check and a use, because there is no separate check. This module must never
//! build a host path or call a `std::fs` function that takes one.

use super::errno::Errno;
use super::fd::{Descriptor, Kind};
use super::guest::GuestMemory;
use super::rights::{self, NEED_READ, NEED_WRITE};
use super::stat::{self, FILESTAT_SIZE};
use super::{WasiCtx, arg_u32, arg_u64};
use crate::val::Val;
use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsSyncExt};
use cap_std::fs::{Dir, File, OpenOptions, OpenOptionsExt};
use std::os::fd::AsFd;
use std::path::Path;

// preview1 `oflags`, `fdflags` and `lookupflags`.
const OFLAGS_CREAT: u32 = 1;
const OFLAGS_DIRECTORY: u32 = 2;
const OFLAGS_EXCL: u32 = 4;
const OFLAGS_TRUNC: u32 = 8;
const OFLAGS_ALL: u32 = 15;
pub const FDFLAGS_APPEND: u16 = 1;
pub const FDFLAGS_DSYNC: u16 = 2;
pub const FDFLAGS_NONBLOCK: u16 = 4;
pub const FDFLAGS_RSYNC: u16 = 8;
pub const FDFLAGS_SYNC: u16 = 16;
const FDFLAGS_ALL: u32 = 31;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// The guest path at `(ptr, len)`: preview1 paths are UTF-8 strings (`EILSEQ` otherwise). Nothing
/// else is checked here; resolving it is the directory handle's job.
fn guest_path<'m>(mem: &'m GuestMemory<'_>, ptr: u32, len: u32) -> Result<&'m Path, Errno> {
    let bytes = mem.slice(ptr, len)?;
    let text = std::str::from_utf8(bytes).map_err(|_| Errno::ILSEQ)?;
    Ok(Path::new(text))
}

/// The directory `fd` (holding `needed`) and the guest path at `(ptr, len)`.
fn dir_and_path<'c, 'm>(
    ctx: &'c WasiCtx,
    mem: &'m GuestMemory<'_>,
    fd: u32,
    needed: u64,
    (ptr, len): (u32, u32),
) -> Result<(&'c Dir, &'m Path), Errno> {
    let dir = ctx.fds.dir(fd, needed)?;
    Ok((dir, guest_path(mem, ptr, len)?))
}

fn follows(lookupflags: u32) -> bool {
    lookupflags & LOOKUP_SYMLINK_FOLLOW != 0
}

/// What a `path_open` asks for, validated before anything is opened.
struct OpenRequest {
    oflags: u32,
    fdflags: u16,
    /// The rights asked for, already cut to what the directory passes on.
    base: u64,
    inheriting: u64,
    follow: bool,
}

impl OpenRequest {
    /// The rights the directory itself needs for this open.
    fn needed_on_dir(&self) -> u64 {
        let mut needed = rights::PATH_OPEN;
        if self.oflags & OFLAGS_CREAT != 0 {
            needed |= rights::PATH_CREATE_FILE;
        }
        if self.oflags & OFLAGS_TRUNC != 0 {
            needed |= rights::PATH_FILESTAT_SET_SIZE;
        }
        needed
    }

    /// The host open. Creating or truncating needs a writable host file whatever the guest may
    /// do with it (its rights still decide that); `O_APPEND` is set after opening, since an
    /// append-only open cannot also truncate.
    fn options(&self) -> OpenOptions {
        let (creat, trunc) = (self.oflags & OFLAGS_CREAT != 0, self.oflags & OFLAGS_TRUNC != 0);
        let write = self.base & NEED_WRITE != 0 || creat || trunc;
        let mut options = OpenOptions::new();
        options
            .read(self.base & NEED_READ != 0 || !write)
            .write(write)
            .create(creat)
            .create_new(creat && self.oflags & OFLAGS_EXCL != 0)
            .truncate(trunc);
        options.follow(if self.follow { FollowSymlinks::Yes } else { FollowSymlinks::No });
        options
            .sync(self.fdflags & FDFLAGS_SYNC != 0)
            .dsync(self.fdflags & FDFLAGS_DSYNC != 0)
            .rsync(self.fdflags & FDFLAGS_RSYNC != 0)
            .nonblock(self.fdflags & FDFLAGS_NONBLOCK != 0);
        if self.oflags & OFLAGS_DIRECTORY != 0 {
            options.custom_flags(libc::O_DIRECTORY);
        }
        options
    }

    /// The descriptor for what was opened: a directory handle if it is one, else a file.
    fn descriptor(&self, opened: File) -> Result<Descriptor, Errno> {
        if opened.metadata()?.is_dir() {
            let dir = Dir::from_std_file(opened.into_std());
            return Ok(Descriptor {
                kind: Kind::Dir { dir, preopen: None },
                base: self.base & rights::DIRECTORY,
                inheriting: self.inheriting,
                flags: self.fdflags,
            });
        }
        if self.fdflags & FDFLAGS_APPEND != 0 {
            set_status_flags(&opened, self.fdflags)?;
        }
        let base = self.base & rights::FILE;
        Ok(Descriptor { kind: Kind::File(opened), base, inheriting: 0, flags: self.fdflags })
    }
}

/// Sets an open file's `O_APPEND` and `O_NONBLOCK` as `fdflags` has them (the only flags Linux
/// changes on an open file).
pub fn set_status_flags(file: impl AsFd, fdflags: u16) -> Result<(), Errno> {
    use rustix::fs::OFlags;
    let mut flags = rustix::fs::fcntl_getfl(&file)?;
    flags.set(OFlags::APPEND, fdflags & FDFLAGS_APPEND != 0);
    flags.set(OFlags::NONBLOCK, fdflags & FDFLAGS_NONBLOCK != 0);
    Ok(rustix::fs::fcntl_setfl(&file, flags)?)
}

/// `(dirfd, lookupflags, path, path_len, oflags, rights_base: i64, rights_inheriting: i64,
/// fdflags, out)`. A directory becomes a directory descriptor, a new root for paths under it.
pub fn path_open(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (dirfd, oflags, fdflags, out) =
        (arg_u32(a, 0), arg_u32(a, 4), arg_u32(a, 7), arg_u32(a, 8));
    mem.check(out, 4)?;
    if oflags & !OFLAGS_ALL != 0 || fdflags & !FDFLAGS_ALL != 0 {
        return Err(Errno::INVAL);
    }
    if oflags & OFLAGS_DIRECTORY != 0 && oflags & (OFLAGS_CREAT | OFLAGS_EXCL | OFLAGS_TRUNC) != 0 {
        return Err(Errno::INVAL);
    }
    let parent = ctx.fds.get(dirfd)?;
    parent.dir()?;
    ctx.fds.check_room()?;
    let request = OpenRequest {
        oflags,
        fdflags: fdflags as u16,
        base: arg_u64(a, 5) & parent.inheriting,
        inheriting: arg_u64(a, 6) & parent.inheriting,
        follow: follows(arg_u32(a, 1)),
    };
    let dir = parent.require(request.needed_on_dir())?.dir()?;
    let path = guest_path(mem, arg_u32(a, 2), arg_u32(a, 3))?;
    let descriptor = request.descriptor(dir.open_with(path, &request.options())?)?;
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
    mem.check(out, FILESTAT_SIZE)?;
    let path = (arg_u32(a, 2), arg_u32(a, 3));
    let (dir, path) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_FILESTAT_GET, path)?;
    let meta =
        if follows(arg_u32(a, 1)) { dir.metadata(path)? } else { dir.symlink_metadata(path)? };
    mem.write(out, &stat::filestat(&meta))
}

/// `(dirfd, lookupflags, path, path_len, atim: i64, mtim: i64, fstflags)`.
pub fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let (atime, mtime) = stat::set_times_request(arg_u64(a, 4), arg_u64(a, 5), arg_u32(a, 6))?;
    let path = (arg_u32(a, 2), arg_u32(a, 3));
    let (dir, path) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_FILESTAT_SET_TIMES, path)?;
    if follows(arg_u32(a, 1)) {
        Ok(dir.set_times(path, atime, mtime)?)
    } else {
        Ok(dir.set_symlink_times(path, atime, mtime)?)
    }
}

pub fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let path = (arg_u32(a, 1), arg_u32(a, 2));
    let (dir, path) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_CREATE_DIRECTORY, path)?;
    Ok(dir.create_dir(path)?)
}

pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let path = (arg_u32(a, 1), arg_u32(a, 2));
    let (dir, path) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_REMOVE_DIRECTORY, path)?;
    Ok(dir.remove_dir(path)?)
}

pub fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    a: &[Val],
) -> Result<(), Errno> {
    let path = (arg_u32(a, 1), arg_u32(a, 2));
    let (dir, path) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_UNLINK_FILE, path)?;
    Ok(dir.remove_file(path)?)
}

/// `(old_dirfd, old_path, old_len, new_dirfd, new_path, new_len)`.
pub fn path_rename(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (old, new) = ((arg_u32(a, 1), arg_u32(a, 2)), (arg_u32(a, 4), arg_u32(a, 5)));
    let (from_dir, from) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_RENAME_SOURCE, old)?;
    let (to_dir, to) = dir_and_path(ctx, mem, arg_u32(a, 3), rights::PATH_RENAME_TARGET, new)?;
    Ok(from_dir.rename(from, to_dir, to)?)
}

/// `(old_dirfd, lookupflags, old_path, old_len, new_dirfd, new_path, new_len)`. Following a
/// symlink at `old_path` is `EINVAL`, as in wasmtime: the link is to the name itself.
pub fn path_link(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    if follows(arg_u32(a, 1)) {
        return Err(Errno::INVAL);
    }
    let (old, new) = ((arg_u32(a, 2), arg_u32(a, 3)), (arg_u32(a, 5), arg_u32(a, 6)));
    let (from_dir, from) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_LINK_SOURCE, old)?;
    let (to_dir, to) = dir_and_path(ctx, mem, arg_u32(a, 4), rights::PATH_LINK_TARGET, new)?;
    Ok(from_dir.hard_link(from, to_dir, to)?)
}

/// `(old_path, old_len, dirfd, new_path, new_len)`: a symlink at `new_path` whose contents are
/// `old_path`. An absolute `old_path` is `EPERM`: such a link could never resolve inside.
pub fn path_symlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let contents = guest_path(mem, arg_u32(a, 0), arg_u32(a, 1))?;
    let path = (arg_u32(a, 3), arg_u32(a, 4));
    let (dir, link) = dir_and_path(ctx, mem, arg_u32(a, 2), rights::PATH_SYMLINK, path)?;
    Ok(dir.symlink(contents, link)?)
}

/// `(dirfd, path, path_len, buf, buf_len, out)`: the link's contents, cut to `buf_len` bytes if
/// longer (as wasmtime does); an absolute link is `EPERM`.
pub fn path_readlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[Val]) -> Result<(), Errno> {
    let (buf, buf_len, out) = (arg_u32(a, 3), arg_u32(a, 4), arg_u32(a, 5));
    mem.check(buf, buf_len)?;
    mem.check(out, 4)?;
    let path = (arg_u32(a, 1), arg_u32(a, 2));
    let (dir, path) = dir_and_path(ctx, mem, arg_u32(a, 0), rights::PATH_READLINK, path)?;
    let contents = dir.read_link(path)?;
    let bytes = contents.as_os_str().as_encoded_bytes();
    let bytes = &bytes[..bytes.len().min(buf_len as usize)];
    mem.write(buf, bytes)?;
    mem.write_u32(out, bytes.len() as u32)
}

#[cfg(test)]
mod tests {
    use crate::val::Val::{self, I32, I64};
    use crate::wasi::rights::{self, FD_READ, FD_WRITE, PATH_FILESTAT_SET_SIZE};
    use crate::wasi::{WasiCtx, WasiCtxBuilder, call};

    /// A guest memory with "file" at 0 and "sub" at 16; results go from 64 on.
    fn memory() -> Vec<u8> {
        let mut memory = vec![0u8; 4096];
        memory[0..4].copy_from_slice(b"file");
        memory[16..19].copy_from_slice(b"sub");
        memory
    }

    fn errno(ctx: &mut WasiCtx, memory: &mut [u8], name: &str, args: &[Val]) -> i32 {
        call(ctx, memory, name, args).expect("a preview1 call").expect("no trap")
    }

    /// Opens `file` (at 0, 4 bytes) or `sub` (at 16, 3 bytes) under `dir`; the new fd or errno.
    fn open(
        ctx: &mut WasiCtx,
        memory: &mut [u8],
        dir: i32,
        sub: bool,
        oflags: i32,
        base: u64,
    ) -> Result<i32, i32> {
        let (path, len) = if sub { (16, 3) } else { (0, 4) };
        let args = [
            I32(dir),
            I32(0),
            I32(path),
            I32(len),
            I32(oflags),
            I64(base as i64),
            I64(-1),
            I32(0),
            I32(64),
        ];
        match errno(ctx, memory, "path_open", &args) {
            0 => Ok(i32::from_le_bytes(memory[64..68].try_into().unwrap())),
            e => Err(e),
        }
    }

    /// (base, inheriting) rights of `fd`.
    fn rights_of(ctx: &mut WasiCtx, memory: &mut [u8], fd: i32) -> (u64, u64) {
        assert_eq!(errno(ctx, memory, "fd_fdstat_get", &[I32(fd), I32(128)]), 0);
        let word = |at: usize| u64::from_le_bytes(memory[at..at + 8].try_into().unwrap());
        (word(136), word(144))
    }

    #[test]
    fn opened_descriptors_never_hold_more_rights_than_their_directory_passes_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/file"), "x").unwrap();
        let mut ctx = WasiCtxBuilder::new().preopen_dir(dir.path(), "/").unwrap().build();
        let mem = &mut memory();
        // Everything asked for: a directory gets the directory rights, a file the file rights
        // (a directory cannot be opened for writing: EISDIR).
        assert_eq!(open(&mut ctx, mem, 3, true, 0, u64::MAX), Err(31));
        let sub = open(&mut ctx, mem, 3, true, 0, !rights::NEED_WRITE).unwrap();
        assert_eq!(rights_of(&mut ctx, mem, sub), (rights::DIRECTORY, rights::INHERITABLE));
        let file = open(&mut ctx, mem, sub, false, 0, u64::MAX).unwrap();
        assert_eq!(rights_of(&mut ctx, mem, file).0, rights::FILE);
        // The directory passes on reading only: a file opened through it cannot write, whatever
        // it asks, and the directory cannot get its rights back.
        let args = [I32(sub), I64(rights::DIRECTORY as i64), I64(FD_READ as i64)];
        assert_eq!(errno(&mut ctx, mem, "fd_fdstat_set_rights", &args), 0);
        let file = open(&mut ctx, mem, sub, false, 0, FD_READ | FD_WRITE).unwrap();
        assert_eq!(rights_of(&mut ctx, mem, file), (FD_READ, 0));
        // One iovec at 32: the 4 bytes at 0.
        mem[32..40].copy_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(errno(&mut ctx, mem, "fd_write", &[I32(file), I32(32), I32(1), I32(80)]), 76);
        let widen = [I32(sub), I64(rights::DIRECTORY as i64), I64(rights::INHERITABLE as i64)];
        assert_eq!(errno(&mut ctx, mem, "fd_fdstat_set_rights", &widen), 76, "ENOTCAPABLE");
        // Truncating needs PATH_FILESTAT_SET_SIZE on the directory.
        assert!(open(&mut ctx, mem, sub, false, 8, 0).is_ok());
        let args = [I32(sub), I64((rights::DIRECTORY & !PATH_FILESTAT_SET_SIZE) as i64), I64(0)];
        assert_eq!(errno(&mut ctx, mem, "fd_fdstat_set_rights", &args), 0);
        assert_eq!(open(&mut ctx, mem, sub, false, 8, 0), Err(76));
        assert_eq!(std::fs::read_to_string(dir.path().join("sub/file")).unwrap(), "");
    }
}
