//! Polling a created task until it ends: still running → look again later (backoff in the
//! row); Completed → download; Failed or Cancelled → a new attempt or, when `max_attempts` are
//! used up, `failed` with the reason; vanished (404) → `lost`.

use super::{backoff, Engine, EngineError};
use crate::api::{ApiError, ErrorClass, FileTask, TaskStatus};
use crate::clock::after;
use crate::crashpoint;
use crate::store::{PollUpdate, State, TaskRow};

impl Engine {
    /// One poll of a task in `polling`.
    pub(super) async fn poll(&self, task: &TaskRow) -> Result<(), EngineError> {
        let Some(uuid) = task.uuid.as_deref() else {
            let reason = "internal: a polling task without a uuid";
            return self.end_task(task, State::Failed, reason).await;
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
        let now = self.now();
        match &remote.status {
            TaskStatus::Completed => {
                tracing::info!("remote task completed");
                self.store
                    .begin_download(task.id, remote.status.as_str(), now)
                    .await?;
                crashpoint::hit("poll.completed");
                let mut task = task.clone();
                task.state = State::Downloading;
                task.backoff_step = 0;
                self.download(&task).await
            }
            TaskStatus::Failed | TaskStatus::Cancelled => self.remote_failed(task, remote).await,
            status => {
                let poll = self.still_running(task, status, now);
                Ok(self
                    .store
                    .record_poll(task.id, &poll.status, poll.next_at, now, poll.changed)
                    .await?)
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
    ) -> PollUpdate {
        let changed = task.remote_status.as_deref() != Some(status.as_str());
        if let TaskStatus::Other(s) = status {
            tracing::warn!(status = %s, "the API reported an unknown status; still polling");
        } else if changed {
            tracing::info!(status = %status, "remote status changed");
        }
        PollUpdate {
            id: task.id,
            status: status.as_str().to_string(),
            next_at: after(
                now,
                backoff::poll_delay(&self.config.polling, task.backoff_step + 1),
            ),
            changed,
        }
    }

    /// Failed or Cancelled remotely: resubmit while attempts remain, else give up.
    async fn remote_failed(&self, task: &TaskRow, remote: &FileTask) -> Result<(), EngineError> {
        let now = self.now();
        let attempt = task.attempts.max(1);
        let reason = format!(
            "attempt {attempt}: remote task {} ended {}: {}",
            remote.uuid,
            remote.status,
            remote.failure_reason()
        );
        if attempt >= self.max_attempts(task).await? {
            tracing::error!(%reason, "report failed; no attempts left (max_attempts)");
            return self.end_task(task, State::Failed, &reason).await;
        }
        tracing::warn!(%reason, "report failed remotely; resubmitting");
        let next = after(
            now,
            backoff::resubmit_delay(&self.config.polling, attempt - 1),
        );
        let deadline = after(now, self.config.polling.deadline);
        Ok(self
            .store
            .schedule_resubmit(task.id, State::Polling, &reason, next, deadline, now)
            .await?)
    }

    async fn poll_failed(&self, task: &TaskRow, err: ApiError) -> Result<(), EngineError> {
        if err.class() != ErrorClass::NotFound {
            return self.retry_later(task, &err).await;
        }
        // One 404 may be read-after-write lag behind a load balancer: the task is `lost` only
        // once the 404 has lasted `polling.lost_after`, over several polls.
        let now = self.now();
        let grace = self.config.polling.lost_after;
        let next = after(
            now,
            backoff::poll_delay(&self.config.polling, task.backoff_step + 1),
        );
        let message = format!(
            "the remote task answered 404 ({err}); it is lost if that lasts {}",
            humantime::format_duration(grace)
        );
        let since = self
            .store
            .record_missing(task.id, next, &message, now)
            .await?;
        if now.saturating_sub(since) < crate::clock::ms(grace) {
            tracing::warn!(%message, "remote task not found; polling again");
            return Ok(());
        }
        // Another account's key sees none of the database's tasks: refused, nothing lost.
        self.confirm_account_before_lost().await?;
        let resubmit = self.settings(task).await?.resubmit_lost;
        let reason = format!(
            "the remote task vanished: 404 for {} ({err})",
            humantime::format_duration(crate::clock::until(since, now))
        );
        if resubmit && task.attempts < self.max_attempts(task).await? {
            tracing::warn!(%reason, "resubmitting (resubmit_lost = true)");
            let deadline = after(now, self.config.polling.deadline);
            return Ok(self
                .store
                .schedule_resubmit(task.id, State::Polling, &reason, now, deadline, now)
                .await?);
        }
        tracing::error!(%reason, "task lost; set resubmit_lost = true to create a new one automatically");
        self.end_task(task, State::Lost, &reason).await
    }
}
