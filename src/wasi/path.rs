//! Capability checks for guest paths: a guest path names something only relative to a directory
//! descriptor it holds, and never anything outside that directory.
//!
//! Resolution walks the path one component at a time over the host file system, starting at the
//! directory's host path (which holds no symlinks: preopens are canonicalized, and directories
//! opened later were resolved by this same walk). `.` is skipped; `..` pops a component and fails
//! with `ENOTCAPABLE` if there is none left to pop; a symlink is replaced by its target's components
//! (an absolute target is `ENOTCAPABLE`), so a link can only lead where a path written by the guest
//! could. The final component is followed only when the caller asks.
//!
//! Known race (documented, not hidden): the walk checks with `lstat` and the operation then uses
//! the resulting host path, so a host process swapping a checked directory for a symlink between
//! the two can redirect the operation. Opens add `O_NOFOLLOW` on the last component; closing the
//! race fully needs `openat` with `O_NOFOLLOW` per component (or `openat2(RESOLVE_BENEATH)`).
//!
//! This module must never touch file contents or return a host path outside `root`.

use super::errno::Errno;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Symlinks followed in one resolution before giving up, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINKS: u32 = 40;

/// The outcome of resolving a guest path.
#[derive(Debug)]
pub struct Resolved {
    /// The host path, always `root` joined with plain components.
    pub host: PathBuf,
    /// Whether the path named `root` itself (`.`, `a/..`): callers refuse to delete or rename it.
    pub is_root: bool,
}

/// Resolves `guest` (raw bytes from guest memory) relative to the directory at host path `root`.
pub fn resolve(root: &Path, guest: &[u8], follow_final: bool) -> Result<Resolved, Errno> {
    if guest.is_empty() {
        return Err(Errno::NOENT);
    }
    if guest.contains(&0) {
        return Err(Errno::INVAL);
    }
    if guest[0] == b'/' {
        return Err(Errno::NOTCAPABLE);
    }
    let mut pending: VecDeque<OsString> = components(guest);
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(component) = pending.pop_front() {
        match component.as_bytes() {
            b"." => continue,
            b".." => {
                resolved.pop().ok_or(Errno::NOTCAPABLE)?;
                continue;
            }
            _ => {}
        }
        let host = join(root, &resolved).join(&component);
        let is_last = pending.is_empty();
        match std::fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() && (!is_last || follow_final) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP);
                }
                let target = std::fs::read_link(&host)?;
                let target = target.as_os_str().as_bytes();
                if target.first() == Some(&b'/') {
                    return Err(Errno::NOTCAPABLE);
                }
                for (i, part) in components(target).into_iter().enumerate() {
                    pending.insert(i, part);
                }
            }
            Ok(meta) if !is_last && !meta.is_dir() => return Err(Errno::NOTDIR),
            Ok(_) => resolved.push(component),
            // A missing last component is fine: the caller may be about to create it.
            Err(err) if is_last && err.kind() == std::io::ErrorKind::NotFound => {
                resolved.push(component)
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Resolved { is_root: resolved.is_empty(), host: join(root, &resolved) })
}

fn components(path: &[u8]) -> VecDeque<OsString> {
    path.split(|&b| b == b'/')
        .filter(|part| !part.is_empty())
        .map(|part| OsStr::from_bytes(part).to_os_string())
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(parts);
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        symlink("../secret", root.join("out")).unwrap();
        symlink("/etc/passwd", root.join("abs")).unwrap();
        symlink("sub", root.join("in")).unwrap();
        let ok = |p: &str| resolve(&root, p.as_bytes(), true).map(|r| r.host);
        let err = |p: &str| resolve(&root, p.as_bytes(), true).unwrap_err();
        assert_eq!(ok("sub/../a"), Ok(root.join("a")));
        assert_eq!(ok("in/x"), Ok(root.join("sub/x")));
        assert_eq!(ok("./sub//"), Ok(root.join("sub")));
        assert!(resolve(&root, b"sub/..", true).unwrap().is_root);
        assert_eq!(err("/etc/passwd"), Errno::NOTCAPABLE);
        assert_eq!(err("../secret"), Errno::NOTCAPABLE);
        assert_eq!(err("sub/../../secret"), Errno::NOTCAPABLE);
        assert_eq!(err("out"), Errno::NOTCAPABLE);
        assert_eq!(err("abs"), Errno::NOTCAPABLE);
        assert_eq!(err(""), Errno::NOENT);
        assert_eq!(err("missing/x"), Errno::NOENT);
        // Not following the last component names the link itself (for unlink, lstat).
        assert_eq!(resolve(&root, b"out", false).unwrap().host, root.join("out"));
        symlink("loop", root.join("loop")).unwrap();
        assert_eq!(err("loop"), Errno::LOOP);
    }
}
