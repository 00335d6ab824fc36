//! The changes of a task after its create: polls, a 404 that may be read-after-write lag, the
//! download, a resubmission, the end. One function each; each follows the rule of `events`.

use super::events::{append, expect_changed};
use super::{State, Store, StoreError};

impl Store {
    /// A poll saw the task still running; an event is kept only when the status changed.
    pub async fn record_poll(
        &self,
        id: i64,
        status: &str,
        next_at: i64,
        now: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET remote_status = $1, backoff_step = backoff_step + 1,
                next_attempt_at = $2, last_error = NULL, missing_since = NULL, updated_at = $3
             WHERE id = $4 AND state = 'polling'",
        )
        .bind(status)
        .bind(next_at)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, State::Polling)?;
        if changed {
            append(&mut tx, id, now, None).await?;
        }
        Ok(tx.commit().await?)
    }

    /// The remote task answered 404: noted (the first time) and looked at again at `next_at`;
    /// it is `lost` only once the 404 has lasted the grace period.
    pub async fn record_missing(
        &self,
        id: i64,
        next_at: i64,
        error: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let since: Option<i64> = sqlx::query_scalar(
            "UPDATE tasks SET missing_since = COALESCE(missing_since, $1),
                backoff_step = backoff_step + 1, next_attempt_at = $2, last_error = $3,
                updated_at = $1 WHERE id = $4 AND state = 'polling' RETURNING missing_since",
        )
        .bind(now)
        .bind(next_at)
        .bind(error)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(since) = since else {
            return Err(StoreError::Conflict {
                id,
                expected: State::Polling,
            });
        };
        append(&mut tx, id, now, Some(error)).await?;
        tx.commit().await?;
        Ok(since)
    }

    /// The remote task is Completed: the file is to be fetched now.
    pub async fn begin_download(&self, id: i64, status: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET state = 'downloading', remote_status = $1, backoff_step = 0,
                next_attempt_at = $2, last_error = NULL, missing_since = NULL, updated_at = $2
             WHERE id = $3 AND state = 'polling'",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, State::Polling)?;
        append(&mut tx, id, now, Some("report ready: downloading")).await?;
        Ok(tx.commit().await?)
    }

    /// The remote task ended Failed or Cancelled, or vanished (`expected` = `polling`), or its
    /// file is bad, the same malformed bytes twice (`downloading`): a new attempt is due at
    /// `next_at`, through a new intent, with the rejected body's evidence cleared. Two events:
    /// the ended attempt's uuid with the reason, then the resubmission.
    pub async fn schedule_resubmit(
        &self,
        id: i64,
        expected: State,
        reason: &str,
        next_at: i64,
        deadline_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        append(&mut tx, id, now, Some(reason)).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET state = 'intent', uuid = NULL, remote_status = NULL,
                backoff_step = 0, intent_at = NULL, missing_since = NULL, next_attempt_at = $1,
                deadline_at = $2, last_error = $3, rejected_sha256 = NULL, rejected_uuid = NULL,
                updated_at = $4 WHERE id = $5 AND state = $6",
        )
        .bind(next_at)
        .bind(deadline_at)
        .bind(reason)
        .bind(now)
        .bind(id)
        .bind(expected.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, expected)?;
        append(&mut tx, id, now, Some("resubmitting as a new remote task")).await?;
        Ok(tx.commit().await?)
    }

    /// The server refused a create (a 4xx): the task ends `failed`, and since that create
    /// certainly made no task, it no longer counts as maybe sent (`intent_at` cleared), so
    /// `forget` and `retry` need no search for it.
    pub async fn create_refused(
        &self,
        id: i64,
        reason: &str,
        hook: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET state = 'failed', intent_at = NULL, last_error = $1, hook_state = $2,
                updated_at = $3 WHERE id = $4 AND state = 'creating'",
        )
        .bind(reason)
        .bind(hook.then_some("pending"))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, State::Creating)?;
        append(&mut tx, id, now, Some(reason)).await?;
        Ok(tx.commit().await?)
    }

    /// The task ends here (`failed`, `expired` or `lost`), with the reason.
    pub async fn give_up(
        &self,
        id: i64,
        expected: State,
        state: State,
        reason: &str,
        hook: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET state = $1, last_error = $2, hook_state = $3, updated_at = $4
             WHERE id = $5 AND state = $6",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(hook.then_some("pending"))
        .bind(now)
        .bind(id)
        .bind(expected.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, expected)?;
        append(&mut tx, id, now, Some(reason)).await?;
        Ok(tx.commit().await?)
    }
}
