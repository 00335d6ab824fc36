//! The SQLite backend, the embedded default for one host: opening the file (WAL, busy timeout,
//! mode 0600, migrations applied) and the write transaction (`BEGIN IMMEDIATE`). The statements
//! in `queries/` are compiled once here, with `Db` = SQLite, and once in `postgres`.

#[path = "queries/apply.rs"]
mod apply;
#[path = "queries/attempts.rs"]
mod attempts;
#[path = "queries/bulk.rs"]
mod bulk;
#[path = "queries/conditions.rs"]
mod conditions;
#[path = "queries/deliveries.rs"]
mod deliveries;
#[path = "queries/effects.rs"]
mod effects;
#[path = "queries/events.rs"]
mod events;
#[path = "queries/fanout.rs"]
mod fanout;
#[path = "queries/hook_runs.rs"]
mod hook_runs;
#[path = "queries/hosts.rs"]
mod hosts;
#[path = "queries/identity.rs"]
mod identity;
#[path = "queries/leases.rs"]
mod leases;
#[path = "queries/lookup.rs"]
mod lookup;
#[path = "queries/manifest_uploads.rs"]
mod manifest_uploads;
#[path = "queries/operator.rs"]
mod operator;
#[path = "queries/reads.rs"]
pub(super) mod reads;
#[path = "queries/refreshes.rs"]
mod refreshes;
#[path = "queries/rejections.rs"]
mod rejections;
#[path = "queries/report_view.rs"]
mod report_view;
#[path = "queries/shared_work.rs"]
mod shared_work;
#[path = "queries/transitions.rs"]
mod transitions;
#[path = "queries/upload_reads.rs"]
mod upload_reads;
#[path = "queries/uploads.rs"]
mod uploads;

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::condition::*;
use super::error::is_not_a_database;
use super::files::{check_header, companions, create_private, restrict_permissions};
use super::records::*;
use super::{canonical_request, AttemptRow, EventRow, NewTask, TaskFilter, TaskRow};
use super::{rows, State, StoreError};
use super::{Holder, Lease};

/// The database the statements of `queries/` run on here.
type Db = sqlx::Sqlite;
/// One connection of [`Db`].
type Conn = sqlx::SqliteConnection;
/// Whether the statements run on PostgreSQL (`queries/` picks the dialect where they differ).
const POSTGRES: bool = false;
/// How a write transaction begins: holding the write lock from its start. A deferred one that
/// is overtaken by another connection's write between its snapshot and its first write fails
/// at once with SQLITE_BUSY, without waiting `busy_timeout`.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The schema's migrations, embedded at build time (`build.rs` reruns when they change).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An SQLite database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub(super) struct Store {
    pool: SqlitePool,
    /// The lease this store's changes are made under, if any (see `leases`).
    holder: Holder,
}

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations, statements
    /// waiting up to `busy_timeout` for another process's lock before they fail.
    pub(super) async fn open(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
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
    pub(super) async fn open_existing(
        path: &Path,
        busy_timeout: Duration,
    ) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        check_header(path)?;
        let store = Self::connect(path, false, busy_timeout).await?;
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
            // 512 KiB of pages per connection (of four): at 1 MiB the scale benchmark's peak RSS
            // at N = 10,000 was about 1 MB higher, at 256 KiB its wall time 20 % longer.
            .pragma("cache_size", "-512");
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
        Ok(Store {
            pool,
            holder: Holder::default(),
        })
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(super) fn holder(&self) -> Option<Lease> {
        self.holder.get()
    }

    pub(super) fn with_own_lease(&self) -> Store {
        Store {
            pool: self.pool.clone(),
            holder: Holder::default(),
        }
    }

    pub(super) fn set_holder(&self, id: Option<Lease>) {
        self.holder.set(id);
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
