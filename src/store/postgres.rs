//! The PostgreSQL backend, for several hosts sharing one database: connecting (the URL's
//! `sslmode` decides TLS; the password comes separately, never in a message), its own
//! migrations (`migrations/postgres/`, applied under the migrator's advisory lock, so hosts
//! starting at once do not collide), and the write transaction. The statements in `queries/`
//! are compiled once here, with `Db` = PostgreSQL, and once in `sqlite`.
//!
//! A write transaction is `READ COMMITTED`: every change is a compare-and-set `UPDATE … WHERE
//! state = expected` (or an insert-if-absent on a unique key), which PostgreSQL evaluates on
//! the row's latest committed version after waiting for its lock, so two hosts cannot both
//! apply a change from the same state.

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

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::condition::*;
use super::records::*;
use super::{canonical_request, AttemptRow, EventRow, NewTask, TaskFilter, TaskRow};
use super::{rows, State, StoreError};
use super::{Holder, Lease};

/// The database the statements of `queries/` run on here.
type Db = sqlx::Postgres;
/// One connection of [`Db`].
type Conn = sqlx::PgConnection;
/// Whether the statements run on PostgreSQL (`queries/` picks the dialect where they differ).
const POSTGRES: bool = true;
/// How a write transaction begins (see the module's note on `READ COMMITTED`).
const BEGIN_WRITE: &str = "BEGIN";

/// The schema's migrations for PostgreSQL, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A PostgreSQL database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub(super) struct Store {
    pool: PgPool,
    /// The lease this store's changes are made under, if any (see `leases`).
    holder: Holder,
}

impl Store {
    /// Connects to `url` (without its password: `password` is it) and, for the daemon
    /// (`migrate`), applies pending migrations; the operator commands (`!migrate`) refuse a
    /// database not yet fully migrated.
    pub(super) async fn open(
        url: &str,
        password: Option<&SecretString>,
        busy_timeout: Duration,
        migrate: bool,
    ) -> Result<Store, StoreError> {
        let target = crate::secret::redacted_url(url);
        let mut options =
            PgConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?;
        if let Some(password) = password {
            options = options.password(password.expose_secret());
        }
        let timeout = busy_timeout.as_millis().to_string();
        let options = options
            .application_name("gcore-reportd")
            .options([("lock_timeout", timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(busy_timeout.max(Duration::from_secs(5)))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?;
        let store = Store {
            pool,
            holder: Holder::default(),
        };
        if migrate {
            MIGRATOR
                .run(&store.pool)
                .await
                .map_err(|source| StoreError::MigrateRemote {
                    target: target.clone(),
                    source,
                })?;
        } else if let Some(missing) = store.not_ready(target).await? {
            store.close().await;
            return Err(missing);
        }
        Ok(store)
    }

    /// Why an operator command cannot use the database yet, if it cannot: no daemon has
    /// created the tables ([`StoreError::Missing`], as for an SQLite file not there yet), or one
    /// is creating or upgrading them right now.
    async fn not_ready(&self, target: String) -> Result<Option<StoreError>, StoreError> {
        let known = i64::try_from(MIGRATOR.iter().count()).unwrap_or(i64::MAX);
        let started: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        if !started {
            return Ok(Some(StoreError::Missing {
                path: target.into(),
            }));
        }
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok((applied < known).then_some(StoreError::UninitialisedRemote { target }))
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
