//! Files that `backfill`, `submit` or `run --once` create while run by root beside a stopped
//! service: the database and its WAL and shared-memory files, the lock, the output directory
//! and the report files. Each is given to the owner of the directory it is created in (the
//! state directory of the service's user), so the service can use it afterwards. A process
//! not running as root, or a root-owned directory, changes nothing.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Gives `path` the owner and group of `dir` when this process runs as root and `dir` is owned
/// by another user. Failures are logged, not fatal: the file stays usable by root.
pub fn match_dir_owner(path: &Path, dir: &Path) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    if meta.uid() == 0 {
        return;
    }
    if let Err(e) = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid())) {
        tracing::warn!(path = %path.display(), error = %e, "cannot give the file to the owner of its directory");
    }
}

/// [`match_dir_owner`] with `path`'s own parent directory.
pub fn match_parent_owner(path: &Path) {
    if let Some(dir) = path.parent() {
        match_dir_owner(path, dir);
    }
}
