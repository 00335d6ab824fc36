//! The one store function that changes a task's phase as the state machine decided
//! (`lifecycle::decide`): one transaction that checks the lease (`leases`), runs the effect's
//! statement compare-and-set on the phase the change expects (`effects`), records what the
//! change means for the task's live attempt (`attempts`), appends its events, and commits. Any other outcome than exactly one row changed is [`StoreError::Conflict`].

use super::events::{append, expect_changed};
use super::{attempts, effects};
use super::{State, Store, StoreError};
use crate::lifecycle::{Change, Effect};

impl Store {
    /// Applies `change` to task `id` at `now`, with its events (see `lifecycle::Effect`).
    pub async fn apply(&self, id: i64, change: &Change, now: i64) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let (from, to) = (change.from, change.to);
        if let Effect::Resubmit { reason, .. } = &change.effect {
            // The ended attempt's uuid and why, before the row forgets them.
            append(&mut tx, id, now, Some(reason)).await?;
        }
        let affected = match &change.effect {
            Effect::Created {
                uuid,
                status,
                created_at,
                next_at,
                ..
            } => {
                let remote = (uuid.as_str(), status.as_str(), *created_at);
                effects::record_remote_task(&mut tx, id, (from, to), remote, *next_at, now).await?
            }
            Effect::Unsent { next_at, error } => {
                effects::due_again_unsent(&mut tx, id, (from, to), *next_at, error, now).await?
            }
            Effect::Retry { next_at, error } => {
                effects::look_again_later(&mut tx, id, from, *next_at, error, now).await?
            }
            Effect::Poll {
                status, next_at, ..
            } => effects::poll_again_later(&mut tx, id, from, status, *next_at, now).await?,
            Effect::Missing {
                since,
                next_at,
                error,
            } => effects::note_missing(&mut tx, id, from, *since, *next_at, error, now).await?,
            Effect::Download { status } => {
                effects::download_now(&mut tx, id, (from, to), status, now).await?
            }
            Effect::Rejected {
                uuid,
                sha256,
                next_at,
                message,
            } => {
                let body = (uuid.as_str(), sha256.as_str());
                effects::keep_rejected_body(&mut tx, id, from, body, *next_at, message, now).await?
            }
            Effect::Resubmit {
                reason,
                next_at,
                deadline_at,
            } => {
                let times = (*next_at, *deadline_at);
                effects::new_remote_task_due(&mut tx, id, (from, to), reason, times, now).await?
            }
            Effect::End {
                reason,
                hook,
                refused,
            } => {
                let how = (*hook, *refused);
                effects::end(&mut tx, id, (from, to), reason, how, now).await?
            }
        };
        expect_changed(affected, id, from)?;
        match &change.effect {
            Effect::Created { uuid, .. } => attempts::name_remote_task(&mut tx, id, uuid).await?,
            Effect::Unsent { .. } => attempts::end(&mut tx, id, "not sent", now).await?,
            Effect::Resubmit { .. } => attempts::end(&mut tx, id, "resubmitted", now).await?,
            Effect::End { refused: true, .. } => attempts::end(&mut tx, id, "refused", now).await?,
            // A held task's create is still uncertain: its attempt stays live.
            Effect::End { .. } if to != State::Held => {
                attempts::end(&mut tx, id, to.as_str(), now).await?;
            }
            _ => {}
        }
        let event = match &change.effect {
            Effect::Created { message, .. } => Some(message.clone()),
            Effect::Unsent { error, .. } => Some(format!("not sent: {error}")),
            Effect::Retry { error, .. } | Effect::Missing { error, .. } => Some(error.clone()),
            Effect::Poll { changed: false, .. } => None,
            Effect::Poll { changed: true, .. } => Some(String::new()),
            Effect::Download { .. } => Some("report ready: downloading".into()),
            Effect::Rejected { message, .. } => Some(message.clone()),
            Effect::Resubmit { .. } => Some("resubmitting as a new remote task".into()),
            Effect::End { reason, .. } => Some(reason.clone()),
        };
        if let Some(message) = event {
            // A changed poll status is recorded as the row is, with no message.
            let message = Some(message.as_str()).filter(|m| !m.is_empty());
            append(&mut tx, id, now, message).await?;
        }
        Ok(tx.commit().await?)
    }
}
