//! The SQLite state: opening the database (WAL, busy timeout, mode 0600, migrations applied),
//! the row types, and the local task states. Reads live in `reads`, the engine's changes in
//! `transitions` and `bulk`, the operators' in `operator` (one transaction per change,
//! compare-and-set, with its event: the rule is in `events`), row shapes in `rows`.

mod bulk;
mod daemon;
mod deliveries;
mod events;
mod hook_runs;
mod identity;
mod lookup;
mod operator;
mod progress;
mod reads;
mod report_view;
mod rows;
mod transitions;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use bulk::PollUpdate;
pub use daemon::{Condition, API_PAUSED, AUTH_BLOCKED};
pub use deliveries::Delivery;
pub use identity::Rerendered;
pub use lookup::FileOwner;
pub use reads::HOT_QUERIES;
pub use report_view::{NewestTask, ReportCounts};
pub use rows::*;

/// The schema's migrations, embedded at build time (`build.rs` reruns when they change).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another process's lock unless `storage.busy_timeout` says.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

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
    #[error("task {id} was changed by another process while this one worked on it (it expected the task {expected}); nothing was overwritten, it is read again")]
    Conflict { id: i64, expected: State },
    #[error("cannot encode a statement's arguments: {0}")]
    Encode(String),
}

/// `ids 3, 7, 9` for an ambiguity error.
fn list_ids(ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("ids {}", ids.join(", "))
}

/// A task's local state: where it is in create → poll → download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Recorded as due; nothing sent yet.
    Intent,
    /// A create was (maybe) sent; its outcome must be reconciled before creating again.
    Creating,
    /// Created remotely; waiting for Completed / Failed / Cancelled.
    Polling,
    /// Completed remotely; the file is being fetched.
    Downloading,
    /// The file is in the output directory.
    Done,
    /// Given up: rejected, or failed remotely `max_attempts` times.
    Failed,
    /// Not finished before `polling.deadline`.
    Expired,
    /// The remote task vanished (404).
    Lost,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Intent,
        State::Creating,
        State::Polling,
        State::Downloading,
        State::Done,
        State::Failed,
        State::Expired,
        State::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Intent => "intent",
            State::Creating => "creating",
            State::Polling => "polling",
            State::Downloading => "downloading",
            State::Done => "done",
            State::Failed => "failed",
            State::Expired => "expired",
            State::Lost => "lost",
        }
    }

    /// Whether no remote task is known yet (`intent` or `creating`).
    pub fn is_creating(self) -> bool {
        matches!(self, State::Intent | State::Creating)
    }

    /// Whether the engine still has work to do for a task in this state.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Intent | State::Creating | State::Polling | State::Downloading
        )
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown state {s:?}: expected one of intent, creating, polling, downloading, done, failed, expired, lost"))
    }
}

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_waiting(path, DEFAULT_BUSY_TIMEOUT).await
    }

    /// [`Store::open`], with statements waiting up to `busy_timeout` for another process's
    /// lock before they fail.
    pub async fn open_waiting(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        check_header(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A missing directory is created; one that cannot be is reported by the open below.
            if !dir.exists() && std::fs::create_dir_all(dir).is_ok() {
                crate::ownership::match_parent_owner(dir);
            }
        }
        create_private(path);
        let store = Self::connect(path, true, busy_timeout).await?;
        MIGRATOR
            .run(&store.pool)
            .await
            .map_err(|source| match &source {
                sqlx::migrate::MigrateError::Execute(e) if is_not_a_database(e) => {
                    StoreError::NotADatabase {
                        path: path.to_path_buf(),
                    }
                }
                _ => StoreError::Migrate {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        restrict_permissions(path);
        for file in companions(path, &["", "-wal", "-shm"]) {
            crate::ownership::match_parent_owner(&file);
        }
        Ok(store)
    }

    /// Opens an existing database for the operator commands, which never create one.
    pub async fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        check_header(path)?;
        let store = Self::connect(path, false, DEFAULT_BUSY_TIMEOUT).await?;
        let migrated = store.fully_migrated().await.map_err(|e| match e {
            StoreError::Sql(e) if is_not_a_database(&e) => StoreError::NotADatabase {
                path: path.to_path_buf(),
            },
            other => other,
        })?;
        if !migrated {
            store.close().await;
            return Err(StoreError::Uninitialised {
                path: path.to_path_buf(),
            });
        }
        Ok(store)
    }

    /// Whether every migration this version knows has been applied: a daemon that has just
    /// started may still be creating or upgrading the tables.
    async fn fully_migrated(&self) -> Result<bool, StoreError> {
        let known = i64::try_from(MIGRATOR.iter().count()).unwrap_or(i64::MAX);
        let started: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations')",
        )
        .fetch_one(&self.pool)
        .await?;
        if !started {
            return Ok(false);
        }
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(applied >= known)
    }

    async fn connect(
        path: &Path,
        create: bool,
        busy_timeout: Duration,
    ) -> Result<Store, StoreError> {
        let mut options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(busy_timeout)
            .pragma("cache_size", "-1024");
        // Only the daemon sets WAL (it stays in the file). An operator command setting it too
        // would write to a database a starting daemon is creating, and the two lock upgrades
        // can collide with SQLITE_BUSY at once, without waiting: the daemon's start would fail.
        if create {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file needs no liveness check; each would cost a round trip to the
            // connection's worker thread on every statement the engine runs.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|source| match is_not_a_database(&source) {
                true => StoreError::NotADatabase {
                    path: path.to_path_buf(),
                },
                false => StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        Ok(Store { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `path` with each suffix appended (`state.db-wal`, …), for the files that exist.
fn companions(path: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
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
fn check_header(path: &Path) -> Result<(), StoreError> {
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

/// SQLite's "file is not a database" (26) or "database disk image is malformed" (11).
fn is_not_a_database(err: &sqlx::Error) -> bool {
    let code = err.as_database_error().and_then(|e| e.code());
    matches!(code.as_deref(), Some("26" | "11"))
}

/// Makes the database file exist with mode 0600 before SQLite opens it: SQLite gives the WAL
/// and shared-memory files it creates the database file's mode, so they are private too
/// (created by SQLite itself, the file would start with the umask's mode, and so would they).
/// A zero-length file is an empty database to SQLite.
fn create_private(path: &Path) {
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
fn restrict_permissions(path: &Path) {
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
