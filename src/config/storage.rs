//! Checks of `[storage]` against the file system, made when the configuration is loaded (at
//! start, on reload, in `check-config`) without writing anything: the output directory is a
//! directory or can be created, and so is the database's directory. A path that cannot work
//! is a configuration error naming its key (exit 78), not a fault retried for ever.

use std::path::Path;

use super::{ConfigError, StorageConfig};

/// Refuses an `output_dir` or `database` that can never be used.
pub fn check_storage(storage: &StorageConfig) -> Result<(), ConfigError> {
    check_dir("storage.output_dir", &storage.output_dir)?;
    let database = match super::database::database(&storage.database)? {
        super::database::Database::File(path) => path,
        super::database::Database::Postgres { .. } => return Ok(()),
    };
    let database = &database;
    if database.is_dir() {
        return Err(ConfigError::invalid(
            "storage.database",
            format!(
                "{} is a directory: name the database file in it, e.g. {}",
                database.display(),
                database.join("state.db").display()
            ),
        ));
    }
    match database.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => check_dir("storage.database", dir),
        None => Ok(()),
    }
}

/// `dir` is a directory, or the nearest existing ancestor is a writable directory it can be
/// created in.
fn check_dir(key: &str, dir: &Path) -> Result<(), ConfigError> {
    let Some(existing) = dir
        .ancestors()
        .find(|a| a.exists() || a.as_os_str().is_empty())
    else {
        return Ok(());
    };
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    if !existing.is_dir() {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is not a directory (the directory {} cannot be there): move it away or choose another path",
                existing.display(),
                dir.display()
            ),
        ));
    }
    if existing != dir && !writable(existing) {
        return Err(ConfigError::invalid(
            key,
            format!(
                "the directory {} does not exist and cannot be created in {} (not writable)",
                dir.display(),
                existing.display()
            ),
        ));
    }
    Ok(())
}

/// Whether this process may create entries in `dir` (access(2), which honours root's rights).
fn writable(dir: &Path) -> bool {
    use nix::unistd::{access, AccessFlags};
    access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
}
