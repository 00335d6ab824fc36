//! The engine: it turns due periods into tasks and drives each task through create → poll →
//! download, reading and writing all state through the store, so it can be killed at any
//! instruction and resume. [`Engine::step`] does one pass of due work and returns an
//! [`StepOutcome`]; [`run`] wraps it in the loop that sleeps, wakes and stops. Everything it
//! spawns and every long wait belongs to an [`Owner`] the application lends it.

mod account;
mod auth;
mod backoff;
mod batch;
mod bounded_step;
mod carry;
mod catch_up;
mod changes;
mod checking;
mod clients;
mod create;
mod deliver;
mod download;
mod evidence;
mod fanout;
mod files;
mod hook_pool;
mod hook_process;
mod hooks;
mod lease;
mod matching;
mod open;
mod outcome;
mod owner;
mod pacing;
mod parts;
mod pause;
mod pipeline;
mod poll;
mod reconcile;
mod refresh;
mod requests;
mod run_report;
mod runner;
mod scan;
mod scheduler;
mod step;
mod transfer;
mod transition;
mod upload;
mod upload_plan;
mod upload_schedule;
mod versions;
mod walk;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::api::{ApiError, Client};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{Store, StoreError, TaskRow};
use parts::{Base, Parts, Shared};

pub use carry::TaskSettings;
pub use catch_up::catch_up_starts;
pub use catch_up::period_covering;
pub use changes::{describe_changes, Change};
pub use fanout::ClientLists;
pub use files::remove_partial_files;
pub use open::{build_client, open_engine, open_owned_engine, store_location};
pub use owner::{Owner, Progress};
pub use runner::{run, run_owned, run_with_reloads, RunMode, RunSummary};
pub use scheduler::{
    new_client_task, new_task, periods_due, record_adhoc, record_period, schedule_periods,
};
pub use step::StepOutcome;

/// How many due tasks one step takes on at most.
const STEP_BATCH: i64 = 512;
/// How many non-download task steps run at once (the rate budget bounds the API anyway). Also
/// how many creates are marked "maybe sent" together, just before their POSTs: a crash leaves
/// at most this many to reconcile.
const STEP_CONCURRENCY: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot build the API client: {0}")]
    Client(#[source] ApiError),
    #[error("another gcore-reportd (the daemon, or a run, backfill or submit) is working on the database ({path}); stop it first, or leave the work to it")]
    Busy { path: PathBuf },
    #[error("cannot lock the database ({path}): {source}; check that its directory is writable by the daemon")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}; the tasks keep their state and resume at the next run once the key is fixed")]
    CredentialsRefused(String),
    #[error("the API key is {}, not of account {expected} whose tasks this database tracks: nothing was marked lost; put account {expected}'s key back, or give the other account its own storage.database", found.map_or_else(|| "another Gcore account's (it sees none of this database's tasks)".to_string(), |c| format!("Gcore account {c}'s")))]
    WrongAccount { expected: i64, found: Option<i64> },
    #[error("internal: {0}")]
    Lifecycle(#[from] crate::lifecycle::Unexpected),
}

/// The daemon's working parts (see `parts`): what they are built from, and each part.
#[derive(Clone)]
pub struct Engine {
    base: Base,
    parts: Parts,
}

/// The span every log line about `task` is in: its id, report, period and remote uuid.
fn task_span(task: &TaskRow) -> tracing::Span {
    let span = tracing::info_span!("task", id = task.id, report = %task.report,
        period = %task.period_from, task_uuid = tracing::field::Empty);
    if let Some(uuid) = &task.uuid {
        span.record("task_uuid", uuid.as_str());
    }
    span
}

impl Engine {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        client: Client,
        clock: Clock,
        lock: Arc<Option<std::fs::File>>,
    ) -> Engine {
        Engine::owned(config, store, client, clock, lock, Owner::default())
    }

    /// An engine whose tasks and waits belong to `owner` (see [`Owner`]).
    pub fn owned(
        config: Arc<Config>,
        store: Store,
        client: Client,
        clock: Clock,
        lock: Arc<Option<std::fs::File>>,
        owner: Owner,
    ) -> Engine {
        let slots = config.downloads.max_concurrent;
        let client = client.watched_by(owner.liveness.clone());
        pause::record_pauses(&store, &client, &clock, &owner.tasks);
        let buckets = upload_plan::buckets(&config);
        let shared = Shared {
            config,
            store,
            clock,
        };
        Engine::of(Base {
            shared,
            client,
            lock,
            account: Arc::default(),
            owner,
            listings: Arc::default(),
            download_slots: Arc::new(Semaphore::new(slots)),
            buckets,
            lease: None,
        })
    }

    fn of(base: Base) -> Engine {
        let parts = parts::assemble(&base);
        Engine { base, parts }
    }

    /// The same engine (state, lock, lease, owner) sending through `client`.
    fn with_client(&self, client: Client) -> Engine {
        Engine::of(Base {
            client,
            ..self.base.clone()
        })
    }

    /// The engine as a host holding `lease` (when hosts share the database): its client sends
    /// nothing that could outlive the lease.
    fn joined(mut self, lease: Option<Arc<lease::HostLease>>) -> Engine {
        let client = match &lease {
            Some(lease) => self
                .base
                .client
                .clone()
                .sending_before(lease.trusted_until()),
            None => self.base.client.clone(),
        };
        self.base.lease = lease;
        self.with_client(client)
    }

    pub fn store(&self) -> &Store {
        &self.base.shared.store
    }

    fn config(&self) -> &Config {
        &self.base.shared.config
    }

    /// Now, from the engine's clock (Unix ms).
    fn now(&self) -> i64 {
        self.base.shared.now()
    }
}

/// A change another process made first (an operator's `retry` or `forget`), or a task another
/// host took over after this one's lease lapsed, is not an error of the step: the task is left
/// as that process made it, logged, and read again next time.
fn tolerate_conflict(result: Result<(), EngineError>) -> Result<(), EngineError> {
    match result {
        Err(EngineError::Store(e @ StoreError::Conflict { .. })) => {
            tracing::warn!(error = %e, "compare-and-set conflict: left as the other process made it");
            Ok(())
        }
        Err(EngineError::Store(e @ StoreError::Fenced { .. })) => {
            tracing::warn!(error = %e, "lease lost: the task is left to the host that holds it");
            Ok(())
        }
        other => other,
    }
}
