//! Creating remote tasks exactly once per attempt. The intent row is committed when the period
//! falls due; just before a chunk of POSTs goes out its rows are marked `creating` (durably,
//! with the time that starts their settle window); a `creating` task found later (after a
//! timeout, a 5xx, or a crash) is reconciled (`reconcile`) before anything is sent again. A
//! create that certainly never reached the server (a 429, a refused connection, a shutdown)
//! goes back to `intent`, so it costs no search.

use tracing::Instrument;

use super::parts::Creates;
use super::{backoff, task_span, tolerate_conflict, EngineError, STEP_CONCURRENCY};
use crate::api::{ApiError, CreateReport, ErrorClass, FileTask};
use crate::clock::{after, ms};
use crate::crashpoint;
use crate::lifecycle::Observation;
use crate::store::{State, TaskRow};

/// How a remote task became a period's current attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Adoption {
    /// The create's own answer.
    Created,
    /// Found on the server after an unknown create outcome.
    Found,
}

impl Adoption {
    fn as_str(self) -> &'static str {
        match self {
            Adoption::Created => "created",
            Adoption::Found => "found after an unknown create outcome: adopted",
        }
    }
}

/// Past this, a task's server-side creation time and the local clock disagree enough to say so.
const SKEW_WARNING_MS: i64 = 60_000;

impl Creates {
    /// Sends the creates of `tasks` (intents, and `creating` tasks the server certainly does not
    /// have), a chunk at a time: each chunk is marked "maybe sent" just before its POSTs, and the
    /// next chunk is marked as soon as fewer than a chunk's worth are in flight. A crash leaves
    /// at most two chunks uncertain, however many creates the step has.
    pub(super) async fn create_all(&self, tasks: Vec<TaskRow>) -> Result<(), EngineError> {
        let mut chunks = tasks.chunks(STEP_CONCURRENCY);
        // The POSTs run as tasks of their own: they progress (and commit) while the next chunk
        // is being marked.
        let mut in_flight = tokio::task::JoinSet::new();
        loop {
            while in_flight.len() < STEP_CONCURRENCY && !self.client.is_stopping() {
                let Some(chunk) = chunks.next() else { break };
                for task in self.mark_chunk(chunk).await? {
                    let engine = self.clone();
                    in_flight.spawn(async move {
                        let span = task_span(&task);
                        let result = engine.post(&task).instrument(span.clone()).await;
                        span.in_scope(|| tolerate_conflict(result))
                    });
                }
            }
            match in_flight.join_next().await {
                Some(Ok(result)) => result?,
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(Err(_)) => {} // cancelled: the step is being abandoned
                None => return Ok(()),
            }
        }
    }

    /// Marks a chunk's rows `creating` (one durable commit); returns the rows marked, as marked.
    async fn mark_chunk(&self, chunk: &[TaskRow]) -> Result<Vec<TaskRow>, EngineError> {
        let ids: Vec<i64> = chunk.iter().map(|t| t.id).collect();
        let now = self.shared.now();
        let settle = ms(self.shared.config.api.create_settle);
        let deadline = ms(self.shared.config.polling.deadline);
        let marked = self
            .shared
            .store
            .begin_creates(&ids, settle, deadline, now)
            .await?;
        crashpoint::hit("create.marked");
        Ok(chunk
            .iter()
            .filter(|t| marked.contains(&t.id))
            .map(|task| TaskRow {
                state: State::Creating,
                intent_at: Some(now),
                deadline_at: after(now, self.shared.config.polling.deadline),
                ..task.clone()
            })
            .collect())
    }

    /// One create for a task just marked `creating`.
    async fn post(&self, task: &TaskRow) -> Result<(), EngineError> {
        crashpoint::hit("create.before_post");
        let body = CreateReport {
            template_code: &task.template,
            parameters: &task.parameters,
        };
        match self.client.create(&body).await {
            Ok(created) => {
                crashpoint::hit("create.after_post");
                self.adopt(task, &created, Adoption::Created).await
            }
            Err(err) => self.create_failed(task, err).await,
        }
    }

    /// Records a remote task as this period's current attempt.
    pub(super) async fn adopt(
        &self,
        task: &TaskRow,
        remote: &FileTask,
        how: Adoption,
    ) -> Result<(), EngineError> {
        let now = self.shared.now();
        let next = after(now, backoff::poll_delay(&self.shared.config.polling, 0));
        let what = how.as_str();
        let message = format!("{what}: remote task {} ({})", remote.uuid, remote.status);
        tracing::Span::current().record("task_uuid", remote.uuid.as_str());
        tracing::info!(status = %remote.status, "{what}");
        let created_at = remote.created_at.as_millisecond();
        // The server stamped a task it has just answered for with about now, and one found
        // after an unknown outcome with about the time its create was sent.
        let sent_at = match how {
            Adoption::Created => now,
            Adoption::Found => task.intent_at.unwrap_or(now),
        };
        warn_on_skew(created_at, sent_at);
        let seen = Observation::Created {
            uuid: remote.uuid.clone(),
            status: remote.status.as_str().to_string(),
            created_at,
            next_poll_at: next,
            message,
        };
        self.ledger.observe(task, seen).await?;
        crashpoint::hit("create.recorded");
        self.remote.note_account(remote).await
    }

    async fn create_failed(&self, task: &TaskRow, err: ApiError) -> Result<(), EngineError> {
        let now = self.shared.now();
        match err.class() {
            ErrorClass::Permanent | ErrorClass::NotFound => {
                let reason = format!("the API refused to create the report: {err}");
                tracing::error!(error = %err, "create rejected; fix the report's template or parameters");
                self.ledger
                    .observe(task, Observation::CreateRefused { reason })
                    .await?;
                crashpoint::hit("create.refused");
                Ok(())
            }
            // The task stays `creating`: it is reconciled (searched for on the server) once its
            // settle window, which counts from the mark, has passed.
            ErrorClass::Transient if err.outcome_unknown() => {
                let settle = self.shared.config.api.create_settle;
                let step = task.backoff_step + 1;
                let delay =
                    backoff::retry_delay(&self.shared.config.polling, step, err.retry_after());
                let delay = delay.max(settle);
                let message = format!(
                    "{err}; the create may have reached the server: looking for its task in {}",
                    humantime::format_duration(delay)
                );
                tracing::warn!(error = %message, "create outcome unknown");
                let retry_at = after(now, delay);
                self.ledger
                    .observe(task, Observation::Fault { message, retry_at })
                    .await?;
                Ok(())
            }
            // Certainly not created (a 429, a refused connection or key, a shutdown): back to
            // `intent`, nothing to search for.
            class => {
                if class == ErrorClass::Credentials {
                    self.remote.credentials_refused(&err).await?;
                }
                let step = task.backoff_step + 1;
                let delay = match err {
                    ApiError::Stopped { .. } => std::time::Duration::ZERO,
                    _ => backoff::retry_delay(&self.shared.config.polling, step, err.retry_after()),
                };
                tracing::debug!(error = %err, "create not sent; will send it again");
                let seen = Observation::CreateNotSent {
                    error: err.to_string(),
                    retry_at: after(now, delay),
                };
                self.ledger.observe(task, seen).await?;
                Ok(())
            }
        }
    }
}

/// Warns when the server's creation time of a task just created and the local clock disagree
/// by more than a minute: searches by creation time allow `api.clock_skew`, and beyond it a
/// create whose answer was lost could be missed.
fn warn_on_skew(server_ms: i64, local_ms: i64) {
    let off = server_ms.saturating_sub(local_ms);
    if off.saturating_abs() > SKEW_WARNING_MS {
        tracing::warn!(
            skew_seconds = off / 1000,
            "this host's clock and Gcore's disagree by {}s (server minus local): check time synchronisation; searches for unanswered creates allow api.clock_skew",
            off / 1000
        );
    }
}
