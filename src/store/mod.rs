//! The state database, behind one interface with two backends: SQLite (`sqlite`, a file, the
//! embedded default for one host) and PostgreSQL (`postgres`, shared by several hosts). The
//! statements live in `queries/`, written once in SQL both accept (`$1` placeholders, `ON
//! CONFLICT`), with the dialect chosen only where the two differ; each backend compiles them
//! with its own connection type, so both run on their native drivers. `facade` hands each call
//! to the backend the database is.
//!
//! In `queries/`: reads in `reads`; the engine's changes as the state machine decided them in
//! `apply` (one statement per effect in `effects`, the task's attempts in `attempts`), intents
//! and the "maybe sent" mark in `transitions`, batched polls in `bulk`; the operators' changes
//! in `operator` (each one transaction, compare-and-set, with its event: the rule is in
//! `events`); deliveries in `deliveries`, the refresh schedule in `refreshes`, object-storage
//! deliveries in `uploads` and `upload_reads`, the hosts sharing the database and their leases
//! in `hosts` and `leases`. Here: row shapes in `rows` and `records`, conditions in
//! `condition`, the errors in `error`, the SQLite file on disk in `files`; the task phases are
//! `lifecycle`'s.

mod condition;
mod error;
mod facade;
mod files;
mod location;
// Both backends compile the same `queries/` files, deliberately (see above).
#[allow(clippy::duplicate_mod)]
mod postgres;
mod records;
mod rows;
#[allow(clippy::duplicate_mod)]
mod sqlite;

use std::path::Path;
use std::time::Duration;

use sqlx::SqlitePool;

pub use crate::lifecycle::State;
pub use condition::{holding_back, Condition, ConditionKind, NewCondition};
pub use error::StoreError;
pub use location::Location;
pub use records::*;
pub use rows::*;
pub use sqlite::reads::HOT_QUERIES;

/// How long a statement waits for another process's lock unless `storage.busy_timeout` says.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The lease a store's changes are made under (see `queries/leases.rs`): none for one host;
/// shared by the store's clones, replaced when a lapsed lease is taken up again.
#[derive(Debug, Clone, Default)]
struct Holder(std::sync::Arc<std::sync::RwLock<Option<Lease>>>);

/// A host's lease on the database, as its store's changes carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The lease id the tasks this host works on carry.
    pub id: std::sync::Arc<str>,
    /// How long the lease must still run when creates are marked "maybe sent": longer than a
    /// create's total deadline, so no other host reconciles a create still in flight.
    pub create_margin_ms: i64,
}

impl Holder {
    fn get(&self) -> Option<Lease> {
        self.0
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set(&self, id: Option<Lease>) {
        match self.0.write() {
            Ok(mut h) => *h = id,
            Err(p) => *p.into_inner() = id,
        }
    }
}

/// The database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::Store),
    Postgres(postgres::Store),
}

impl Store {
    /// Opens (creating if needed) the SQLite database and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_waiting(path, DEFAULT_BUSY_TIMEOUT).await
    }

    /// [`Store::open`], with statements waiting up to `busy_timeout` for another process's
    /// lock before they fail.
    pub async fn open_waiting(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        let store = sqlite::Store::open(path, busy_timeout).await?;
        Ok(Store {
            backend: Backend::Sqlite(store),
        })
    }

    /// Opens an existing SQLite database for the operator commands, which never create one.
    pub async fn open_existing(path: &Path) -> Result<Store, StoreError> {
        let store = sqlite::Store::open_existing(path, DEFAULT_BUSY_TIMEOUT).await?;
        Ok(Store {
            backend: Backend::Sqlite(store),
        })
    }

    /// Opens the database at `location` for the daemon: created (SQLite) and migrated.
    pub async fn open_at(location: &Location, busy_timeout: Duration) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_waiting(path, busy_timeout).await,
            Location::Postgres { url, password } => {
                let store = postgres::Store::open(url, password.as_ref(), busy_timeout, true);
                Ok(Store {
                    backend: Backend::Postgres(store.await?),
                })
            }
        }
    }

    /// Opens the existing database at `location` for an operator command.
    pub async fn open_existing_at(location: &Location) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_existing(path).await,
            Location::Postgres { url, password } => {
                let store =
                    postgres::Store::open(url, password.as_ref(), DEFAULT_BUSY_TIMEOUT, false);
                Ok(Store {
                    backend: Backend::Postgres(store.await?),
                })
            }
        }
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The SQLite pool, for the tests and benchmarks that look at the file with their own
    /// statements; `None` on PostgreSQL.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.backend {
            Backend::Sqlite(s) => Some(s.pool()),
            Backend::Postgres(_) => None,
        }
    }

    /// The SQLite pool (see [`Store::sqlite_pool`]). Tests and benchmarks only: it panics on
    /// PostgreSQL, which they never open through it.
    #[doc(hidden)]
    pub fn pool(&self) -> &SqlitePool {
        self.sqlite_pool()
            .expect("Store::pool is SQLite's; this store is PostgreSQL")
    }

    /// SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`), one line per step, parameters unbound;
    /// on PostgreSQL the statement fails (the plans are checked on SQLite).
    pub async fn query_plan(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.query_plan(sql).await,
            Backend::Postgres(s) => s.query_plan(sql).await,
        }
    }

    /// Makes this store's changes under lease `id` (a host sharing the database, see
    /// `queries/leases.rs`), or under none; shared by every clone.
    pub fn set_holder(&self, id: Option<Lease>) {
        match &self.backend {
            Backend::Sqlite(s) => s.set_holder(id),
            Backend::Postgres(s) => s.set_holder(id),
        }
    }

    /// Another handle on the same database (the same pool), with a lease of its own: what a
    /// second host is, for the tests and the benchmark that run several in one process.
    pub fn with_own_lease(&self) -> Store {
        let backend = match &self.backend {
            Backend::Sqlite(s) => Backend::Sqlite(s.with_own_lease()),
            Backend::Postgres(s) => Backend::Postgres(s.with_own_lease()),
        };
        Store { backend }
    }

    /// The lease this store's changes are made under, if any.
    pub fn holder(&self) -> Option<Lease> {
        match &self.backend {
            Backend::Sqlite(s) => s.holder(),
            Backend::Postgres(s) => s.holder(),
        }
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }
}
