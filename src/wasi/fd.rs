//! The descriptor table: what each guest file descriptor number stands for, with its rights.
//!
//! A descriptor is the guest's only handle on anything outside its memory, so this table is the
//! capability list: a guest reaches a file only through a directory handle that was granted
//! (preopened) or opened beneath one by `path.rs`. Directories are `cap_std::fs::Dir` handles, so
//! a path can only ever be resolved beneath one. This module must never create a descriptor from a
//! host path, and never hand out a descriptor without checking the rights the call needs.

use super::errno::Errno;
use super::rights;
use cap_std::fs::{Dir, File};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::BorrowedFd;

/// Which standard stream a stdio descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
}

impl StdStream {
    /// The host's own descriptor for this stream (what an inherited stream reads or writes).
    pub fn host_fd(self) -> BorrowedFd<'static> {
        match self {
            StdStream::Stdin => rustix::stdio::stdin(),
            StdStream::Stdout => rustix::stdio::stdout(),
            StdStream::Stderr => rustix::stdio::stderr(),
        }
    }
}

/// What a guest descriptor refers to.
#[derive(Debug)]
pub enum Kind {
    /// A standard stream: the host's own when `inherit`, else empty on read and a sink on write
    /// (nothing is granted unless asked for).
    Stdio { stream: StdStream, inherit: bool },
    /// A file (or anything not a directory) opened by `path_open`.
    File(File),
    /// A directory, the root of the paths resolved under it, and the guest-visible name if it was
    /// preopened (what `fd_prestat_dir_name` reports).
    Dir { dir: Dir, preopen: Option<String> },
}

/// A descriptor: its object, its rights and its `fdflags` (as opened or last set).
#[derive(Debug)]
pub struct Descriptor {
    pub kind: Kind,
    pub base: u64,
    pub inheriting: u64,
    pub flags: u16,
}

impl Descriptor {
    /// A standard stream with the rights a stream can use.
    pub fn stdio(stream: StdStream, inherit: bool) -> Descriptor {
        let base = if stream == StdStream::Stdin { rights::STDIN } else { rights::STDOUT };
        Descriptor { kind: Kind::Stdio { stream, inherit }, base, inheriting: 0, flags: 0 }
    }

    /// A preopened directory: every directory right, and every right to pass on.
    pub fn preopen(dir: Dir, name: String) -> Descriptor {
        Descriptor {
            kind: Kind::Dir { dir, preopen: Some(name) },
            base: rights::DIRECTORY,
            inheriting: rights::INHERITABLE,
            flags: 0,
        }
    }

    /// `NOTCAPABLE` unless the descriptor holds every right in `needed`.
    pub fn require(&self, needed: u64) -> Result<&Descriptor, Errno> {
        if self.base & needed == needed { Ok(self) } else { Err(Errno::NOTCAPABLE) }
    }

    /// The file, or `BADF` for a stream and `ISDIR` for a directory.
    pub fn file(&self) -> Result<&File, Errno> {
        match &self.kind {
            Kind::File(file) => Ok(file),
            Kind::Dir { .. } => Err(Errno::ISDIR),
            Kind::Stdio { .. } => Err(Errno::BADF),
        }
    }

    /// The directory, or `NOTDIR` for anything else.
    pub fn dir(&self) -> Result<&Dir, Errno> {
        match &self.kind {
            Kind::Dir { dir, .. } => Ok(dir),
            _ => Err(Errno::NOTDIR),
        }
    }

    /// Writes all of `data`, returning how much was written.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Errno> {
        match &mut self.kind {
            Kind::Stdio { stream: StdStream::Stdin, .. } => Err(Errno::BADF),
            Kind::Stdio { inherit: false, .. } => Ok(data.len()),
            Kind::Stdio { stream: StdStream::Stdout, .. } => {
                // Flushed at once: the guest believes the bytes are out, and its stdout and
                // stderr must interleave as it wrote them.
                let mut out = std::io::stdout().lock();
                out.write_all(data)?;
                out.flush()?;
                Ok(data.len())
            }
            Kind::Stdio { stream: StdStream::Stderr, .. } => {
                std::io::stderr().lock().write_all(data)?;
                Ok(data.len())
            }
            Kind::File(file) => {
                file.write_all(data)?;
                Ok(data.len())
            }
            Kind::Dir { .. } => Err(Errno::ISDIR),
        }
    }

    /// Reads into `buf`, returning how much was read (0 at end of file).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        match &mut self.kind {
            Kind::Stdio { stream: StdStream::Stdin, inherit: true } => {
                Ok(std::io::stdin().lock().read(buf)?)
            }
            Kind::Stdio { stream: StdStream::Stdin, inherit: false } => Ok(0),
            Kind::Stdio { .. } => Err(Errno::BADF),
            Kind::File(file) => Ok(file.read(buf)?),
            Kind::Dir { .. } => Err(Errno::ISDIR),
        }
    }
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
    /// `EMFILE` if the table is full: checked before an open, so that a refused open has not
    /// created its file.
    pub fn check_room(&self) -> Result<(), Errno> {
        if self.fds.len() >= MAX_FDS { Err(Errno::MFILE) } else { Ok(()) }
    }

    /// Adds `d` under the lowest free number, as POSIX `open` does.
    pub fn insert(&mut self, d: Descriptor) -> Result<u32, Errno> {
        self.check_room()?;
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

    /// The descriptor `fd` if it holds every right in `needed`.
    pub fn with(&self, fd: u32, needed: u64) -> Result<&Descriptor, Errno> {
        self.get(fd)?.require(needed)
    }

    /// The directory `fd` if it holds every right in `needed` (`NOTDIR` if it is no directory).
    pub fn dir(&self, fd: u32, needed: u64) -> Result<&Dir, Errno> {
        let descriptor = self.get(fd)?;
        descriptor.dir()?;
        descriptor.require(needed)?.dir()
    }

    /// Moves descriptor `from` to number `to`, closing what `to` was. Both must be open, as in
    /// wasmtime: `to` is not a way to pick a number.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        if !self.fds.contains_key(&to) || !self.fds.contains_key(&from) {
            return Err(Errno::BADF);
        }
        if let Some(descriptor) = self.fds.remove(&from) {
            self.fds.insert(to, descriptor);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Descriptor {
        Descriptor::stdio(StdStream::Stdout, false)
    }

    #[test]
    fn lowest_free_number_is_reused() {
        let mut table = FdTable::default();
        assert_eq!(table.insert(stream()), Ok(0));
        assert_eq!(table.insert(stream()), Ok(1));
        assert_eq!(table.insert(stream()), Ok(2));
        table.remove(1).unwrap();
        assert_eq!(table.insert(stream()), Ok(1));
        assert_eq!(table.insert(stream()), Ok(3));
        assert_eq!(table.remove(9).err(), Some(Errno::BADF));
    }

    #[test]
    fn renumber_needs_both_descriptors_open() {
        let mut table = FdTable::default();
        table.insert(Descriptor::stdio(StdStream::Stdin, false)).unwrap();
        table.insert(stream()).unwrap();
        assert_eq!(table.renumber(0, 5), Err(Errno::BADF));
        assert_eq!(table.renumber(0, 1), Ok(()));
        assert_eq!(table.get(0).err(), Some(Errno::BADF));
        assert_eq!(table.get(1).unwrap().base, rights::STDIN);
        assert_eq!(table.renumber(1, 1), Ok(()));
    }

    #[test]
    fn rights_are_required() {
        let out = stream();
        assert!(out.require(rights::FD_WRITE).is_ok());
        assert_eq!(out.require(rights::FD_WRITE | rights::FD_SEEK).err(), Some(Errno::NOTCAPABLE));
    }
}
