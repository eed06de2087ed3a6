//! The descriptor table: what each guest file descriptor number stands for.
//!
//! A descriptor is the guest's only handle on anything outside its memory, so this table is the
//! capability list: a guest can reach a file only through a directory descriptor that was granted
//! (preopened) or opened from one. This module must never create a descriptor for a path that did
//! not go through `path::resolve`.

use super::errno::Errno;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

/// Which standard stream a stdio descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
}

/// What a guest descriptor refers to.
#[derive(Debug)]
pub enum Descriptor {
    /// A standard stream: the host's own when `inherit`, else empty on read and a sink on write
    /// (nothing is granted unless asked for).
    Stdio { stream: StdStream, inherit: bool },
    /// A regular file opened by `path_open`.
    File { file: File, append: bool },
    /// A directory: the host path paths are resolved under, and the guest-visible name if it was
    /// preopened (what `fd_prestat_dir_name` reports).
    Dir { host: PathBuf, preopen: Option<String> },
}

/// Descriptors by number.
#[derive(Debug, Default)]
pub struct FdTable {
    fds: BTreeMap<u32, Descriptor>,
}

/// The most descriptors a guest may hold at once; beyond it `path_open` fails with `EMFILE`
/// rather than letting a guest exhaust the host's descriptors.
const MAX_FDS: usize = 1024;

impl FdTable {
    /// Adds `d` under the lowest free number, as POSIX `open` does.
    pub fn insert(&mut self, d: Descriptor) -> Result<u32, Errno> {
        if self.fds.len() >= MAX_FDS {
            return Err(Errno::MFILE);
        }
        // Keys are sorted: the first gap in 0, 1, 2, ... is the lowest free number.
        let fd = self
            .fds
            .keys()
            .zip(0u32..)
            .find(|(used, n)| **used != *n)
            .map_or(self.fds.len() as u32, |(_, n)| n);
        self.fds.insert(fd, d);
        Ok(fd)
    }

    pub fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.fds.get(&fd).ok_or(Errno::BADF)
    }

    pub fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.fds.get_mut(&fd).ok_or(Errno::BADF)
    }

    pub fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        self.fds.remove(&fd).ok_or(Errno::BADF)
    }

    /// The host directory of directory descriptor `fd`, the root its paths resolve under.
    pub fn dir(&self, fd: u32) -> Result<PathBuf, Errno> {
        match self.get(fd)? {
            Descriptor::Dir { host, .. } => Ok(host.clone()),
            _ => Err(Errno::NOTDIR),
        }
    }
}

impl Descriptor {
    /// Writes all of `data`, returning how much was written.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Errno> {
        match self {
            Descriptor::Stdio { stream: StdStream::Stdin, .. } => Err(Errno::BADF),
            Descriptor::Stdio { inherit: false, .. } => Ok(data.len()),
            Descriptor::Stdio { stream: StdStream::Stdout, .. } => {
                // Flushed at once: the guest believes the bytes are out, and its stdout and
                // stderr must interleave as it wrote them.
                let mut out = std::io::stdout().lock();
                out.write_all(data)?;
                out.flush()?;
                Ok(data.len())
            }
            Descriptor::Stdio { stream: StdStream::Stderr, .. } => {
                std::io::stderr().lock().write_all(data)?;
                Ok(data.len())
            }
            Descriptor::File { file, .. } => {
                file.write_all(data)?;
                Ok(data.len())
            }
            Descriptor::Dir { .. } => Err(Errno::ISDIR),
        }
    }

    /// Reads into `buf`, returning how much was read (0 at end of file).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            Descriptor::Stdio { stream: StdStream::Stdin, inherit: true } => {
                Ok(std::io::stdin().lock().read(buf)?)
            }
            Descriptor::Stdio { stream: StdStream::Stdin, inherit: false } => Ok(0),
            Descriptor::Stdio { .. } => Err(Errno::BADF),
            Descriptor::File { file, .. } => Ok(file.read(buf)?),
            Descriptor::Dir { .. } => Err(Errno::ISDIR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_number_is_reused() {
        let mut table = FdTable::default();
        let dir = || Descriptor::Dir { host: PathBuf::from("/nonexistent"), preopen: None };
        assert_eq!(table.insert(dir()), Ok(0));
        assert_eq!(table.insert(dir()), Ok(1));
        assert_eq!(table.insert(dir()), Ok(2));
        table.remove(1).unwrap();
        assert_eq!(table.insert(dir()), Ok(1));
        assert_eq!(table.insert(dir()), Ok(3));
        assert_eq!(table.remove(9).err(), Some(Errno::BADF));
    }
}
