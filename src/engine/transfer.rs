//! What a failed download costs. A transfer fault (a reset or timed-out connection, a 5xx, a
//! truncated body) costs nothing: the file is downloaded again after a backoff, until the
//! task's `polling.deadline`. A body that arrives whole but fails the report's `verify` check
//! is downloaded again too, its sha256 kept in the database as evidence: different bytes the
//! next time mean the transfer was at fault (nothing counted); the same malformed bytes twice
//! mean the remote file itself is bad, and the period is resubmitted as a new remote task
//! (through a new intent, like a remote task that failed), at most `max_attempts` remote tasks
//! in all; then it fails naming the problem.

use super::parts::Downloads;
use super::{backoff, EngineError};
use crate::api::{ApiError, ErrorClass};
use crate::clock::after;
use crate::crashpoint;
use crate::lifecycle::{Effect, Observation};
use crate::store::TaskRow;
use crate::verify::Rejection;

impl Downloads {
    /// A download failed in transit: downloaded again after a backoff, no attempt used (a
    /// refused key is `retry_later`'s, which holds every call back).
    pub(super) async fn transfer_failed(
        &self,
        task: &TaskRow,
        err: &ApiError,
    ) -> Result<(), EngineError> {
        if err.class() == ErrorClass::Credentials {
            return self.ledger.retry_later(task, err).await; // every call waits for the key
        }
        let delay = backoff::retry_delay(
            &self.shared.config.polling,
            task.backoff_step + 1,
            err.retry_after(),
        );
        let message =
            format!("{err}; a transfer fault, not counted against max_attempts: downloading again");
        self.ledger.reschedule(task, delay, &message).await
    }

    /// A whole body that failed verification, of sha256 `sha256`: judged by the state machine
    /// against the last rejected body of the same remote task (the same bytes twice: the remote
    /// file is bad, a new remote task while `max_attempts` allows; else downloaded again).
    pub(super) async fn rejected(
        &self,
        task: &TaskRow,
        rejection: &Rejection,
        sha256: &str,
    ) -> Result<(), EngineError> {
        crate::metrics::global().add_rejected();
        let uuid = task.uuid.as_deref().unwrap_or_default();
        let before = self.shared.store.rejected_body(task.id, uuid).await?;
        let now = self.shared.now();
        let polling = &self.shared.config.polling;
        let seen = Observation::Rejected {
            uuid: uuid.to_string(),
            sha256: sha256.to_string(),
            before,
            reason: self.rejection_reason(task, rejection),
            expires_at: task.deadline_at,
            polling_deadline: polling.deadline,
            retry_at: after(
                now,
                backoff::retry_delay(polling, task.backoff_step + 1, None),
            ),
            resubmit_at: after(
                now,
                backoff::resubmit_delay(polling, task.attempts.max(1) - 1),
            ),
            deadline_at: after(now, polling.deadline),
        };
        let change = self.ledger.observe(task, seen).await?;
        match change.effect {
            Effect::Rejected {
                message, next_at, ..
            } => {
                let retry_in = humantime::format_duration(crate::clock::until(now, next_at));
                tracing::warn!(error = %message, %retry_in, "will download again");
                crashpoint::hit("download.rejected");
            }
            Effect::Resubmit { .. } => crashpoint::hit("download.resubmitted"),
            _ => {}
        }
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
