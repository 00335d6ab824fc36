//! What a failed download costs. A transfer fault (a reset or timed-out connection, a 5xx, a
//! truncated body) costs nothing: the file is downloaded again after a backoff, until the
//! task's `polling.deadline`. A body that arrives whole but fails the report's `verify` check
//! is downloaded again too, its sha256 kept in the database as evidence: different bytes the
//! next time mean the transfer was at fault (nothing counted); the same malformed bytes twice
//! mean the remote file itself is bad, and the period is resubmitted as a new remote task
//! (through a new intent, like a remote task that failed), at most `max_attempts` remote tasks
//! in all; then it fails naming the problem.

use super::{backoff, Engine, EngineError};
use crate::api::{ApiError, ErrorClass};
use crate::clock::after;
use crate::crashpoint;
use crate::store::{State, TaskRow};
use crate::verify::Rejection;

impl Engine {
    /// A download failed in transit: downloaded again after a backoff, no attempt used (a
    /// refused key is `retry_later`'s, which holds every call back).
    pub(super) async fn transfer_failed(
        &self,
        task: &TaskRow,
        err: &ApiError,
    ) -> Result<(), EngineError> {
        if err.class() == ErrorClass::Credentials {
            return self.retry_later(task, err).await; // every call waits for the key
        }
        let delay = backoff::retry_delay(
            &self.config.polling,
            task.backoff_step + 1,
            err.retry_after(),
        );
        let message =
            format!("{err}; a transfer fault, not counted against max_attempts: downloading again");
        self.reschedule(task, delay, &message).await
    }

    /// A whole body that failed verification, of sha256 `sha256`: judged against the last
    /// rejected body of the same remote task.
    pub(super) async fn rejected(
        &self,
        task: &TaskRow,
        rejection: &Rejection,
        sha256: &str,
    ) -> Result<(), EngineError> {
        crate::metrics::global().add_rejected();
        let reason = self.rejection_reason(task, rejection);
        let uuid = task.uuid.as_deref().unwrap_or_default();
        let before = self.store.rejected_body(task.id, uuid).await?;
        if before.as_deref() == Some(sha256) {
            return self.bad_file(task, &reason, sha256).await;
        }
        let now = self.now();
        if now > task.deadline_at {
            let reason = format!(
                "expired: the downloads kept arriving malformed past polling.deadline ({}): {reason}",
                humantime::format_duration(self.config.polling.deadline)
            );
            tracing::warn!(%reason, "task expired");
            return self.end_task(task, State::Expired, &reason).await;
        }
        let judged = match before {
            None => format!(
                "{reason}; sha256 {sha256}: downloading it again (different bytes would mean the transfer was at fault, not counted against max_attempts; the same bytes that the remote file is bad)"
            ),
            Some(previous) => format!(
                "{reason}; sha256 {sha256}, not the {previous} rejected before: the transfer was at fault, not counted against max_attempts; downloading again"
            ),
        };
        let delay = backoff::retry_delay(&self.config.polling, task.backoff_step + 1, None);
        tracing::warn!(error = %judged, retry_in = %humantime::format_duration(delay), "will download again");
        self.store
            .record_rejected(task.id, uuid, sha256, after(now, delay), &judged, now)
            .await?;
        crashpoint::hit("download.rejected");
        Ok(())
    }

    /// The same malformed bytes twice: the remote file is bad. A new remote task while
    /// `max_attempts` allows, else the period fails with the reason.
    async fn bad_file(
        &self,
        task: &TaskRow,
        reason: &str,
        sha256: &str,
    ) -> Result<(), EngineError> {
        let attempt = task.attempts.max(1);
        let max = self.max_attempts(task).await?;
        let uuid = task.uuid.as_deref().unwrap_or_default();
        let why = format!(
            "remote task {uuid}'s file is malformed, the same bytes downloaded twice (sha256 {sha256}): {reason}"
        );
        if attempt >= max {
            let tasks = if attempt == 1 { "task" } else { "tasks" };
            let reason =
                format!("failed after {attempt} remote {tasks} (max_attempts = {max}): {why}");
            tracing::error!(%reason, "task failed");
            return self.end_task(task, State::Failed, &reason).await;
        }
        tracing::warn!(reason = %why, "the remote file is bad; resubmitting");
        let now = self.now();
        let next = after(
            now,
            backoff::resubmit_delay(&self.config.polling, attempt - 1),
        );
        let deadline = after(now, self.config.polling.deadline);
        let reason = format!("attempt {attempt}: {why}");
        self.store
            .schedule_resubmit(task.id, State::Downloading, &reason, next, deadline, now)
            .await?;
        crashpoint::hit("download.resubmitted");
        Ok(())
    }

    /// Why a rejected file was not delivered, with the `verify` level that rejected it.
    fn rejection_reason(&self, task: &TaskRow, rejection: &Rejection) -> String {
        let level = self.verify_level(task);
        let hint = if rejection.width_only {
            "; verify = \"well-formed\" accepts rows of any width"
        } else {
            ""
        };
        format!(
            "the downloaded {} was not delivered: {} (verify = \"{level}\"{hint})",
            task.format, rejection.problem
        )
    }
}
