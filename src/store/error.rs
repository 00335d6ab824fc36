//! The store's errors, each saying what the operator can do, and the test for SQLite's "this
//! is not a database" codes.

use std::path::PathBuf;

use super::State;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}; check that its directory exists and is writable by the daemon")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot migrate the database {path}: {source}")]
    Migrate {
        path: PathBuf,
        source: sqlx::migrate::MigrateError,
    },
    #[error("the database {path} does not exist yet: start the daemon once (gcore-reportd run) to create it")]
    Missing { path: PathBuf },
    #[error("the database {path} is not ready yet: a daemon starting right now creates or upgrades its tables; try again in a moment")]
    Uninitialised { path: PathBuf },
    #[error("cannot connect to the database {target}: {source}; check storage.database, the password (database-password credential or PGPASSWORD) and that the server accepts this host")]
    Connect { target: String, source: sqlx::Error },
    #[error("cannot migrate the database {target}: {source}")]
    MigrateRemote {
        target: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("the database {target} is not ready yet: start a daemon (gcore-reportd run) to create or upgrade its tables, then try again")]
    UninitialisedRemote { target: String },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("task {0} not found in the database (see gcore-reportd status)")]
    NoSuchTask(String),
    #[error("{key:?} is the start of the uuids of several tasks ({}): give more characters, or the task's id", list_ids(candidates))]
    Ambiguous { key: String, candidates: Vec<i64> },
    #[error("{path} is not an SQLite database, or it is damaged: stop the service, move the file aside and restore the backup (README: Back up the state); remove it to start afresh, forgetting every tracked task")]
    NotADatabase { path: PathBuf },
    #[error("task {id} in the database has {column} = {value:?}, which this version cannot read ({why}); was the database written by a newer gcore-reportd? Run that version, or restore a backup")]
    BadRow {
        id: i64,
        column: &'static str,
        value: String,
        why: String,
    },
    #[error("the database records a daemon-wide condition {kind:?}, which this version cannot read; was the database written by a newer gcore-reportd? Run that version, or restore a backup")]
    BadCondition { kind: String },
    #[error("task {id} was changed by another process while this one worked on it (it expected the task {expected}); nothing was overwritten, it is read again")]
    Conflict { id: i64, expected: State },
    #[error("task {id} is no longer leased to this host (lease {holder}): its lease lapsed and the task may be another host's now; nothing was written, the other host carries on")]
    Fenced { id: i64, holder: String },
    #[error("cannot encode a statement's arguments: {0}")]
    Encode(String),
}

/// `ids 3, 7, 9` for an ambiguity error.
fn list_ids(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("ids {}", ids.join(", "))
}
/// SQLite's "file is not a database" (26) or "database disk image is malformed" (11).
pub(super) fn is_not_a_database(err: &sqlx::Error) -> bool {
    let code = err.as_database_error().and_then(|e| e.code());
    matches!(code.as_deref(), Some("26" | "11"))
}
