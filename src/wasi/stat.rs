//! preview1's `filetype`, `filestat` and timestamps, encoded from host metadata, and the host's
//! view of the standard streams.
//!
//! Pure translation: this module must never open anything or write guest memory.

use super::errno::Errno;
use cap_fs_ext::{FileTypeExt, SystemTimeSpec};
use cap_std::fs::{FileType, Metadata, MetadataExt};
use std::os::fd::AsFd;
use std::time::{Duration, UNIX_EPOCH};

pub const FILETYPE_UNKNOWN: u8 = 0;
pub const FILETYPE_BLOCK_DEVICE: u8 = 1;
pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub const FILETYPE_DIRECTORY: u8 = 3;
pub const FILETYPE_REGULAR_FILE: u8 = 4;
pub const FILETYPE_SOCKET_STREAM: u8 = 6;
pub const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// Size of a `filestat` record.
pub const FILESTAT_SIZE: u32 = 64;

// preview1 `fstflags`.
const FSTFLAGS_ATIM: u32 = 1;
const FSTFLAGS_ATIM_NOW: u32 = 2;
const FSTFLAGS_MTIM: u32 = 4;
const FSTFLAGS_MTIM_NOW: u32 = 8;

/// The preview1 filetype of `t`. A FIFO has none (wasmtime reports it as unknown too).
pub fn filetype(t: FileType) -> u8 {
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

/// `filestat`: dev, ino, filetype (u8 at 16), nlink, size, atim, mtim, ctim (u64s, times in ns).
pub fn filestat(meta: &Metadata) -> [u8; FILESTAT_SIZE as usize] {
    let nanos =
        |secs: i64, nsec: i64| (secs as u64).wrapping_mul(1_000_000_000).wrapping_add(nsec as u64);
    let mut record = [0u8; FILESTAT_SIZE as usize];
    record[0..8].copy_from_slice(&meta.dev().to_le_bytes());
    record[8..16].copy_from_slice(&meta.ino().to_le_bytes());
    record[16] = filetype(meta.file_type());
    record[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
    record[32..40].copy_from_slice(&meta.len().to_le_bytes());
    record[40..48].copy_from_slice(&nanos(meta.atime(), meta.atime_nsec()).to_le_bytes());
    record[48..56].copy_from_slice(&nanos(meta.mtime(), meta.mtime_nsec()).to_le_bytes());
    record[56..64].copy_from_slice(&nanos(meta.ctime(), meta.ctime_nsec()).to_le_bytes());
    record
}

/// The `filestat` of a standard stream: only its filetype, nothing about the host's terminal.
pub fn stream_filestat(filetype: u8) -> [u8; FILESTAT_SIZE as usize] {
    let mut record = [0u8; FILESTAT_SIZE as usize];
    record[16] = filetype;
    record
}

/// The filetype of the host stream `fd` (a terminal or `/dev/null` is a character device, a pipe
/// is unknown), so that the guest's `isatty` tells what the host's would.
pub fn host_stream_filetype(fd: impl AsFd) -> u8 {
    match rustix::fs::fstat(fd) {
        Ok(stat) => match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
            rustix::fs::FileType::RegularFile => FILETYPE_REGULAR_FILE,
            rustix::fs::FileType::Directory => FILETYPE_DIRECTORY,
            rustix::fs::FileType::CharacterDevice => FILETYPE_CHARACTER_DEVICE,
            rustix::fs::FileType::BlockDevice => FILETYPE_BLOCK_DEVICE,
            rustix::fs::FileType::Socket => FILETYPE_SOCKET_STREAM,
            _ => FILETYPE_UNKNOWN,
        },
        Err(_) => FILETYPE_UNKNOWN,
    }
}

/// The (atime, mtime) a `*_set_times` call asks for: `None` leaves a time as it is. Setting a
/// time both to a value and to "now" is `EINVAL`, as are unknown flags.
pub fn set_times_request(
    atim: u64,
    mtim: u64,
    fstflags: u32,
) -> Result<(Option<SystemTimeSpec>, Option<SystemTimeSpec>), Errno> {
    if fstflags & !(FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW | FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW) != 0 {
        return Err(Errno::INVAL);
    }
    let one = |value: u64, set: u32, now: u32| match (fstflags & set != 0, fstflags & now != 0) {
        (true, true) => Err(Errno::INVAL),
        (true, false) => Ok(Some(SystemTimeSpec::from(cap_std::time::SystemTime::from_std(
            UNIX_EPOCH + Duration::from_nanos(value),
        )))),
        (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
        (false, false) => Ok(None),
    };
    Ok((one(atim, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW)?, one(mtim, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW)?))
}

/// `spec` as the `utimensat`/`futimens` timestamp rustix takes (`UTIME_OMIT` for `None`).
pub fn timespec(spec: Option<SystemTimeSpec>) -> rustix::fs::Timespec {
    match spec {
        None => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
        Some(SystemTimeSpec::SymbolicNow) => {
            rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW }
        }
        Some(SystemTimeSpec::Absolute(time)) => {
            let since = time.into_std().duration_since(UNIX_EPOCH).unwrap_or_default();
            rustix::fs::Timespec {
                tv_sec: since.as_secs() as i64,
                tv_nsec: since.subsec_nanos().into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_set_both_ways_is_einval() {
        assert!(set_times_request(1, 2, FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW).is_err());
        assert!(set_times_request(1, 2, FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW).is_err());
        assert!(set_times_request(1, 2, 16).is_err());
        let (atime, mtime) = set_times_request(0, 5, FSTFLAGS_MTIM).unwrap();
        assert!(atime.is_none());
        assert_eq!(timespec(mtime).tv_nsec, 5);
        assert_eq!(timespec(None).tv_nsec, rustix::fs::UTIME_OMIT);
    }
}
