//! The SQLite state: opening the database (WAL, busy timeout, mode 0600, migrations applied).
//! The local task states live in `state`, the errors in `error`, the file on disk in `files`.
//! Reads live in `reads`, the engine's changes in `transitions` and `bulk`, the operators' in
//! `operator` (one transaction per change, compare-and-set, with its event: the rule is in
//! `events`), row shapes in `rows`, deliveries in `deliveries`, the refresh schedule in
//! `refreshes`, object-storage deliveries in `uploads` and `upload_reads`.

mod bulk;
mod conditions;
mod deliveries;
mod error;
mod events;
mod files;
mod hook_runs;
mod identity;
mod lookup;
mod operator;
mod progress;
mod reads;
mod refreshes;
mod rejections;
mod report_view;
mod rows;
mod state;
mod transitions;
mod upload_reads;
mod uploads;

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use error::is_not_a_database;
use files::{check_header, companions, create_private, restrict_permissions};

pub use bulk::PollUpdate;
pub use conditions::{holding_back, Condition, ConditionKind, NewCondition};
pub use deliveries::Delivery;
pub use error::StoreError;
pub use identity::{NewestRequest, Rerendered};
pub use lookup::FileOwner;
pub use reads::HOT_QUERIES;
pub use refreshes::RefreshPlan;
pub use report_view::{NewestTask, ReportCounts};
pub use rows::*;
pub use state::State;
pub use upload_reads::DestinationSummary;
pub use uploads::{NewUpload, UploadRow};

/// The schema's migrations, embedded at build time (`build.rs` reruns when they change).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another process's lock unless `storage.busy_timeout` says.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
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
