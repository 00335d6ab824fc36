//! The changes operators make (`retry`, `forget`, `retry-hook`). They act only on finished
//! tasks, so they never take a task from under the engine; the hook bookkeeping that races them
//! (`hook_runs`) writes a hook's outcome only over `running`, so a `retry` or `retry-hook`
//! issued while the hook runs is kept.

use super::events::append;
use super::{Store, StoreError};

impl Store {
    /// An operator asked for a new attempt of a task that finished badly or is held for them: it
    /// becomes due now. A task
    /// that expired while its remote task was still running goes back to polling that task; one
    /// that ended while a create's outcome was unknown goes back to `creating`, so the server
    /// is searched for that task before anything is created again (its settle window still
    /// counts from its intent); others are created anew. With `create`, every one is created
    /// anew, unsearched: the operator has checked that the server has no task for it. One task
    /// of a period is in flight at a time: false while another task of the period (a refresh)
    /// is unfinished.
    pub async fn retry_task(
        &self,
        id: i64,
        create: bool,
        deadline_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE tasks SET
                state = CASE
                    WHEN $4 THEN 'intent'
                    WHEN state = 'expired' AND uuid IS NOT NULL THEN 'polling'
                    WHEN uuid IS NULL AND intent_at IS NOT NULL THEN 'creating'
                    ELSE 'intent' END,
                intent_at = CASE WHEN $4 THEN NULL ELSE intent_at END,
                uuid = CASE WHEN state = 'expired' AND NOT $4 THEN uuid END,
                remote_status = CASE WHEN state = 'expired' AND NOT $4 THEN remote_status END,
                backoff_step = 0, hook_state = NULL, missing_since = NULL,
                next_attempt_at = $1, deadline_at = $2, updated_at = $1
             WHERE id = $3 AND state IN ('failed', 'expired', 'lost', 'held')
                AND NOT EXISTS (SELECT 1 FROM tasks a WHERE a.request = tasks.request
                    AND a.id <> tasks.id
                    AND a.state IN ('intent', 'creating', 'polling', 'downloading', 'held'))",
        )
        .bind(now)
        .bind(deadline_at)
        .bind(id)
        .bind(create)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        // Back to the last attempt (polling its remote task, or searching for its create), or,
        // created anew, that attempt abandoned.
        super::attempts::resume_last(&mut tx, id, deadline_at).await?;
        super::attempts::end_unless_live(&mut tx, id, "abandoned by an operator", now).await?;
        let message = if create {
            "operator: retry, creating a new task without searching for an earlier one"
        } else {
            "operator: retry"
        };
        append(&mut tx, id, now, Some(message)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An unfinished task of task `id`'s period other than `id` itself, if there is one.
    pub async fn in_flight_beside(&self, id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT a.id FROM tasks t JOIN tasks a ON a.request = t.request AND a.id <> t.id
             WHERE t.id = $1 AND a.state IN ('intent', 'creating', 'polling', 'downloading', 'held')
             LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Drops a finished task and its history, so its period can be recorded again. A task still
    /// in flight is never dropped (its remote task would be orphaned), nor one whose create may
    /// have reached the server with no task of it known (its period would be created again
    /// unsearched: a second remote task): false then.
    pub async fn forget_task(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM tasks WHERE id = $1 AND state IN ('done', 'failed', 'expired', 'lost')
                AND NOT (uuid IS NULL AND intent_at IS NOT NULL)",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// An operator asked to run a task's hook again (`retry-hook`).
    pub async fn rearm_hook(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE tasks SET hook_state = 'pending', updated_at = $1
             WHERE id = $2 AND state IN ('done', 'failed', 'expired', 'lost')",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        append(&mut tx, id, now, Some("operator: run the hook again")).await?;
        tx.commit().await?;
        Ok(true)
    }
}
