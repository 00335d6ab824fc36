//! A hook's run, as the database sees it: `pending` (armed: a task ended, or `retry-hook`) →
//! `running` (claimed by the daemon that runs it) → `ok` or `failed`. The outcome is written
//! only over `running`: a `retry-hook` (back to `pending`) or a `retry` (no hook) issued while
//! the hook ran is kept, and only the history gets the outcome. A `running` hook found at
//! start was interrupted by a crash: it is armed again.

use super::events::append;
use super::{Store, StoreError};

/// The outcome ?1 of task ?3's hook at ?2, as its state if it is still `running` by ?4 (this
/// host's lease, or none).
const FINISH_HOOK: &str = if super::POSTGRES {
    "UPDATE tasks SET hook_state = CASE WHEN hook_state = 'running'
            AND hook_owner IS NOT DISTINCT FROM $4 THEN $1 ELSE hook_state END, updated_at = $2
     WHERE id = $3"
} else {
    "UPDATE tasks SET hook_state = CASE WHEN hook_state = 'running'
            AND hook_owner IS $4 THEN $1 ELSE hook_state END, updated_at = $2
     WHERE id = $3"
};

impl Store {
    /// Claims an armed hook for running (by this host's lease, if any: see `leases`); false if
    /// it is no longer armed.
    pub async fn claim_hook(&self, id: i64) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE tasks SET hook_state = 'running', hook_owner = $2
             WHERE id = $1 AND hook_state = 'pending'",
        )
        .bind(id)
        .bind(self.holder().map(|h| h.id.to_string()))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed > 0)
    }

    /// Records a hook's outcome in the history, and as the hook's state unless the hook was
    /// re-armed or the task retried meanwhile, or (several hosts) another host runs it now.
    pub async fn finish_hook(
        &self,
        id: i64,
        ok: bool,
        message: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(FINISH_HOOK)
            .bind(if ok { "ok" } else { "failed" })
            .bind(now)
            .bind(id)
            .bind(self.holder().map(|h| h.id.to_string()))
            .execute(&mut *tx)
            .await?;
        append(&mut tx, id, now, Some(message)).await?;
        Ok(tx.commit().await?)
    }

    /// Arms again every hook a crashed run left `running`; how many.
    pub async fn rearm_interrupted_hooks(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("UPDATE tasks SET hook_state = 'pending' WHERE hook_state = 'running'")
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
