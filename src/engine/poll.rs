//! Polling a created task until it ends: still running → look again later (backoff in the
//! row); Completed → download; Failed or Cancelled → a new attempt or, when `max_attempts` are
//! used up, `failed` with the reason; vanished (404 for `polling.lost_after`) → `lost`, or a new
//! attempt with `resubmit_lost`. Which of these is the state machine's (`lifecycle::decide`).

use super::parts::Polls;
use super::{backoff, EngineError};
use crate::api::{ApiError, ErrorClass, FileTask, TaskStatus};
use crate::clock::{after, ms};
use crate::crashpoint;
use crate::lifecycle::{Effect, Observation, State};
use crate::store::{PollUpdate, TaskRow};

impl Polls {
    /// One poll of a task in `polling`.
    pub(super) async fn poll(&self, task: &TaskRow) -> Result<(), EngineError> {
        let Some(uuid) = task.uuid.as_deref() else {
            let reason = "internal: a polling task without a uuid".to_string();
            self.ledger
                .observe(task, Observation::Inconsistent { reason })
                .await?;
            return Ok(());
        };
        let remote = match self.client.retrieve(uuid).await {
            Ok(remote) => remote,
            Err(err) => return self.poll_failed(task, err).await,
        };
        crashpoint::hit("poll.answered");
        self.apply_status(task, &remote).await
    }

    /// Acts on a status the API reported for the task.
    pub(super) async fn apply_status(
        &self,
        task: &TaskRow,
        remote: &FileTask,
    ) -> Result<(), EngineError> {
        let now = self.shared.now();
        match &remote.status {
            TaskStatus::Completed => {
                tracing::info!("remote task completed");
                let status = remote.status.as_str().to_string();
                self.ledger
                    .observe(task, Observation::Completed { status })
                    .await?;
                crashpoint::hit("poll.completed");
                let mut task = task.clone();
                task.state = State::Downloading;
                task.backoff_step = 0;
                self.downloads.download(&task).await
            }
            TaskStatus::Failed | TaskStatus::Cancelled => {
                let why = format!(
                    "remote task {} ended {}: {}",
                    remote.uuid,
                    remote.status,
                    remote.failure_reason()
                );
                let attempt = task.attempts.max(1);
                let resubmit_at = after(
                    now,
                    backoff::resubmit_delay(&self.shared.config.polling, attempt - 1),
                );
                let deadline_at = after(now, self.shared.config.polling.deadline);
                let seen = Observation::RemoteEnded {
                    why,
                    resubmit_at,
                    deadline_at,
                };
                self.ledger.observe(task, seen).await?;
                Ok(())
            }
            status => {
                let seen = self.still_running(task, status, now);
                self.ledger.observe(task, seen).await?;
                Ok(())
            }
        }
    }

    /// A status saying the task is still running: logged when it changed (or is unknown to
    /// this version), with the next poll time from the task's own backoff.
    pub(super) fn still_running(
        &self,
        task: &TaskRow,
        status: &TaskStatus,
        now: i64,
    ) -> Observation {
        let changed = task.remote_status.as_deref() != Some(status.as_str());
        if let TaskStatus::Other(s) = status {
            tracing::warn!(status = %s, "the API reported an unknown status; still polling");
        } else if changed {
            tracing::info!(status = %status, "remote status changed");
        }
        Observation::Running {
            status: status.as_str().to_string(),
            changed,
            next_poll_at: after(
                now,
                backoff::poll_delay(&self.shared.config.polling, task.backoff_step + 1),
            ),
        }
    }

    /// A polling task past its `polling.deadline` (counted from its create): it is looked at one
    /// last time (a report that completed since the last poll is still fetched), else it expires.
    /// A last look the API does not answer is tried again later: only an answer expires it.
    pub(super) async fn at_deadline(
        &self,
        task: &TaskRow,
        known: Option<FileTask>,
    ) -> Result<(), EngineError> {
        let last_look = match (&known, task.uuid.as_deref()) {
            (Some(_), _) => known,
            (None, Some(uuid)) => match self.client.retrieve(uuid).await {
                Ok(remote) => Some(remote),
                // The last look must be an answer: a refused key, a pause, an outage or a
                // shutdown says nothing about the report, which may have completed meanwhile.
                Err(err) if err.class() != ErrorClass::NotFound => {
                    return self.ledger.retry_later(task, &err).await;
                }
                Err(_) => None,
            },
            (None, None) => None,
        };
        if let Some(remote) = last_look.filter(|r| r.status == TaskStatus::Completed) {
            tracing::info!("completed by the deadline's last look");
            return self.apply_status(task, &remote).await;
        }
        let reason = format!(
            "expired: not finished within polling.deadline ({})",
            humantime::format_duration(self.shared.config.polling.deadline)
        );
        self.ledger
            .observe(task, Observation::DeadlinePassed { reason })
            .await?;
        Ok(())
    }

    async fn poll_failed(&self, task: &TaskRow, err: ApiError) -> Result<(), EngineError> {
        if err.class() != ErrorClass::NotFound {
            return self.ledger.retry_later(task, &err).await;
        }
        // One 404 may be read-after-write lag behind a load balancer: the task is `lost` only
        // once the 404 has lasted `polling.lost_after`, over several polls.
        let now = self.shared.now();
        let seen = Observation::NotFound {
            error: err.to_string(),
            first_seen: task.missing_since,
            lost_after_ms: ms(self.shared.config.polling.lost_after),
            next_poll_at: after(
                now,
                backoff::poll_delay(&self.shared.config.polling, task.backoff_step + 1),
            ),
            deadline_at: after(now, self.shared.config.polling.deadline),
        };
        let change = self.ledger.decide(task, seen).await?;
        if let Effect::Missing { error, .. } = &change.effect {
            tracing::warn!(%error, "remote task not found; polling again");
        } else {
            // Another account's key sees none of the database's tasks: refused, nothing lost.
            self.remote.confirm_account_before_lost().await?;
        }
        self.ledger.apply(task, &change).await
    }
}

/// The bulk form of a poll's "still running" change (`Store::record_polls`).
pub(super) fn poll_update(id: i64, effect: &Effect) -> Option<PollUpdate> {
    let Effect::Poll {
        status,
        changed,
        next_at,
    } = effect
    else {
        return None;
    };
    Some(PollUpdate {
        id,
        status: status.clone(),
        next_at: *next_at,
        changed: *changed,
    })
}
