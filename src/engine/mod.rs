//! The engine: it turns due periods into tasks and drives each task through create → poll →
//! download, reading and writing all state through the store, so it can be killed at any
//! instruction and resume. [`Engine::step`] does one pass of due work and returns an
//! [`StepOutcome`]; [`run`] wraps it in the loop that sleeps, wakes and stops.

mod account;
mod auth;
mod backoff;
mod batch;
mod create;
mod download;
mod files;
mod hooks;
mod metrics_server;
mod poll;
mod runner;
mod scheduler;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::api::{ApiError, Client, ErrorClass, FileTask, TaskStatus};
use crate::config::{Config, ReportConfig};
use crate::store::{State, Store, StoreError, TaskRow};

pub use files::remove_partial_files;
pub use runner::{build_client, open_engine, run, run_with_reloads, RunMode, RunSummary};
pub use scheduler::{periods_due, record_adhoc, record_period, schedule_periods};

/// How many due tasks one step takes on at most.
const STEP_BATCH: i64 = 512;
/// How many non-download task steps run at once (the rate budget bounds the API anyway).
const STEP_CONCURRENCY: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

/// What one step did, and when the next one is worth running.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOutcome {
    pub scheduled: usize,
    pub processed: usize,
    pub active: i64,
    pub next_due_at: Option<i64>,
    /// The API refused the credentials and is not being called until `next_due_at`: what it
    /// said.
    pub auth_refused: Option<String>,
}

/// The daemon's working parts: config, database, API client and download slots.
#[derive(Clone)]
pub struct Engine {
    config: Arc<Config>,
    store: Store,
    client: Client,
    download_slots: Arc<Semaphore>,
    /// The exclusive lock on the database (see `runner::lock_database`), held while any clone
    /// of the engine lives.
    lock: Arc<std::fs::File>,
    /// The database's Gcore account (`client_id`) once known, 0 before (see `account`).
    account: Arc<std::sync::atomic::AtomicI64>,
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

/// Milliseconds since the Unix epoch, the unit of every time in the database.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        client: Client,
        lock: Arc<std::fs::File>,
    ) -> Engine {
        let slots = config.downloads.max_concurrent;
        Engine {
            config,
            store,
            client,
            download_slots: Arc::new(Semaphore::new(slots)),
            lock,
            account: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Records every period due at `now` (see [`schedule_periods`]), then works on due tasks.
    pub async fn step(&self, now: i64, schedule: bool) -> Result<StepOutcome, EngineError> {
        let scheduled = if schedule {
            schedule_periods(&self.store, &self.config, now).await?
        } else {
            0
        };
        let active = self.store.count_active().await?;
        if let Some(refusal) = self.auth_refusal(now).await? {
            return Ok(StepOutcome {
                scheduled,
                processed: 0,
                active,
                next_due_at: Some(refusal.until),
                auth_refused: Some(refusal.message),
            });
        }
        let processed = self.work_due(now).await?;
        self.run_pending_hooks().await?;
        if processed > 0 {
            self.clear_expired_auth_block(now).await?;
        }
        let refusal = self.auth_refusal(now_ms()).await?;
        let next_due_at = match &refusal {
            Some(refusal) => Some(refusal.until),
            None => self.store.next_due_at().await?,
        };
        Ok(StepOutcome {
            scheduled,
            processed,
            active: self.store.count_active().await?,
            next_due_at,
            auth_refused: refusal.map(|r| r.message),
        })
    }

    /// Runs one step for every task due at `now`, concurrently. When many are polling, their
    /// statuses come from one paginated list instead of one retrieve each.
    pub async fn work_due(&self, now: i64) -> Result<usize, EngineError> {
        let tasks = self.store.due_tasks(now, STEP_BATCH).await?;
        let count = tasks.len();
        let fresh: Vec<i64> = tasks
            .iter()
            .filter(|t| t.state() == State::Intent)
            .map(|t| t.id)
            .collect();
        self.store.begin_creates(&fresh, now_ms()).await?;
        let statuses = self.batch_statuses(&tasks).await;
        let work = self.apply_listed(tasks, statuses).await?;
        let results: Vec<Result<(), EngineError>> = futures_util::stream::iter(work)
            .map(|(task, known)| async move { self.advance(task, known).await })
            .buffer_unordered(STEP_CONCURRENCY)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(count)
    }

    /// Takes one task one step further, according to its state. `known` is the task's remote
    /// state when a batched list already fetched it.
    async fn advance(&self, task: TaskRow, known: Option<FileTask>) -> Result<(), EngineError> {
        let span = task_span(&task);
        self.advance_in_span(task, known).instrument(span).await
    }

    async fn advance_in_span(
        &self,
        task: TaskRow,
        known: Option<FileTask>,
    ) -> Result<(), EngineError> {
        let now = now_ms();
        let state = task.state();
        if matches!(state, State::Intent | State::Creating | State::Polling)
            && now > task.deadline_at
        {
            return self.at_deadline(&task, known).await;
        }
        match state {
            State::Intent | State::Creating => self.create(&task).await,
            State::Polling => match known {
                Some(remote) => self.apply_status(&task, &remote).await,
                None => self.poll(&task).await,
            },
            State::Downloading => self.download(&task).await,
            State::Done | State::Failed | State::Expired | State::Lost => Ok(()),
        }
    }

    /// A task past its `polling.deadline`: a created task is looked at one last time (a
    /// report that completed since the last poll is still fetched); otherwise it expires.
    async fn at_deadline(
        &self,
        task: &TaskRow,
        known: Option<FileTask>,
    ) -> Result<(), EngineError> {
        let last_look = match (&known, task.uuid.as_deref()) {
            (Some(_), _) => known,
            (None, Some(uuid)) if task.state() == State::Polling => {
                self.client.retrieve(uuid).await.ok()
            }
            _ => None,
        };
        if let Some(remote) = last_look.filter(|r| r.status == TaskStatus::Completed) {
            tracing::info!("completed by the deadline's last look");
            return self.apply_status(task, &remote).await;
        }
        let reason = format!(
            "expired: not finished within polling.deadline ({})",
            humantime::format_duration(self.config.polling.deadline)
        );
        tracing::warn!(%reason, "task expired");
        self.end_task(task, State::Expired, &reason).await
    }

    fn report_config(&self, task: &TaskRow) -> Option<&ReportConfig> {
        self.config.report(&task.report)
    }

    /// Ends a task badly (`failed`, `expired`, `lost`), arming its `on_failure` hook if any.
    async fn end_task(
        &self,
        task: &TaskRow,
        state: State,
        reason: &str,
    ) -> Result<(), EngineError> {
        let hook = self
            .report_config(task)
            .is_some_and(|r| !r.on_failure.is_empty());
        Ok(self
            .store
            .give_up(task.id, state, reason, hook, now_ms())
            .await?)
    }

    fn max_attempts(&self, task: &TaskRow) -> i64 {
        self.report_config(task)
            .map(|r| r.max_attempts)
            .unwrap_or(3)
            .into()
    }

    /// Reschedules after a failed try: transient errors back off (never undercutting
    /// `Retry-After`). A credentials error also suspends every API call for
    /// `api.auth_retry_interval` (see `auth`), which holds the task back with all the others.
    async fn retry_later(&self, task: &TaskRow, err: &ApiError) -> Result<(), EngineError> {
        if let ApiError::Stopped { .. } = err {
            // Nothing was sent: the task stays as it is and is due again at the next start.
            tracing::debug!(error = %err, "left for the next start");
            return Ok(());
        }
        if err.class() == ErrorClass::Credentials {
            self.credentials_refused(err).await?;
        }
        let delay = backoff::retry_delay(&self.config.polling, task.tries + 1, err.retry_after());
        self.reschedule(task, delay, &err.to_string()).await
    }

    /// Notes `message` as the task's last error and looks at the task again after `delay`.
    async fn reschedule(
        &self,
        task: &TaskRow,
        delay: Duration,
        message: &str,
    ) -> Result<(), EngineError> {
        tracing::warn!(error = %message, retry_in = %humantime::format_duration(delay), "will retry");
        let now = now_ms();
        Ok(self
            .store
            .schedule_retry(task.id, now + ms(delay), message, now)
            .await?)
    }
}
