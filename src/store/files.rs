//! The database file on disk: its header checked before SQLite opens it, created with mode
//! 0600 so its WAL and shared-memory files are private too, and its companion files found.

use std::path::{Path, PathBuf};

use super::StoreError;

/// `path` with each suffix appended (`state.db-wal`, …), for the files that exist.
pub(super) fn companions(path: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    suffixes
        .iter()
        .map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .filter(|p| p.exists())
        .collect()
}

/// Refuses a file that does not start like an SQLite database (an empty file is a new one).
pub(super) fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(()); // missing or unreadable: opening it says why
    };
    let mut head = Vec::with_capacity(16);
    if file.take(16).read_to_end(&mut head).is_err() || head.is_empty() {
        return Ok(());
    }
    match head.as_slice() == b"SQLite format 3\0" {
        true => Ok(()),
        false => Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        }),
    }
}
/// Makes the database file exist with mode 0600 before SQLite opens it: SQLite gives the WAL
/// and shared-memory files it creates the database file's mode, so they are private too
/// (created by SQLite itself, the file would start with the umask's mode, and so would they).
/// A zero-length file is an empty database to SQLite.
pub(super) fn create_private(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        restrict_permissions(path);
        return;
    }
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    if let Err(e) = created {
        // Another process may have created it meanwhile; any real problem (a missing
        // directory, no write access) is reported when SQLite opens the file.
        tracing::debug!(path = %path.display(), error = %e, "cannot create the database file beforehand");
    }
}

/// The database holds report metadata: it and its WAL and shared-memory files are readable
/// by the daemon's user only.
pub(super) fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let private = || std::fs::Permissions::from_mode(0o600);
    if let Err(e) = std::fs::set_permissions(path, private()) {
        tracing::warn!(path = %path.display(), error = %e, "cannot set the database's mode to 0600");
    }
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        let companion = PathBuf::from(companion);
        if companion.exists() {
            if let Err(e) = std::fs::set_permissions(&companion, private()) {
                tracing::warn!(path = %companion.display(), error = %e, "cannot set the mode to 0600");
            }
        }
    }
}
