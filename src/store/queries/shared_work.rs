//! What hosts sharing the database share besides the claims of `leases`: when the next task
//! this host may claim is due and how many it holds or may claim (the loop's sleep and a
//! one-shot run's end), uploads claimed by postponement, and hooks a dead host left running.

use super::leases::{db_now, on_db_clock};
use super::{Store, StoreError};

/// When the earliest unfinished task that no other live lease holds is due (?1: this lease).
const NEXT_CLAIMABLE_AT: &str = on_db_clock!(
    "SELECT MIN(t.next_attempt_at) FROM tasks t
     WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
        AND (t.lease_owner IS NULL OR t.lease_owner = $1 OR NOT EXISTS (
            SELECT 1 FROM hosts h WHERE h.id = t.lease_owner AND h.lease_until > ",
    NOW,
    "))"
);

/// How many unfinished tasks no other live lease holds (?1: this lease).
const COUNT_WORKABLE: &str = on_db_clock!(
    "SELECT COUNT(*) FROM tasks t
     WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
        AND (t.lease_owner IS NULL OR t.lease_owner = $1 OR NOT EXISTS (
            SELECT 1 FROM hosts h WHERE h.id = t.lease_owner AND h.lease_until > ",
    NOW,
    "))"
);

/// Arms again (for ?1, this host's lease) the hooks left `running` by a host whose lease is
/// not live: it died or stalled while the hook ran.
const REARM_ORPHANED_HOOKS: &str = if super::POSTGRES {
    concat!(
        "UPDATE tasks SET hook_state = 'pending', hook_owner = NULL
         WHERE hook_state = 'running' AND hook_owner IS DISTINCT FROM $1 AND NOT EXISTS (
            SELECT 1 FROM hosts h WHERE h.id = tasks.hook_owner
                AND h.lease_until > ",
        db_now!(postgres),
        ")"
    )
} else {
    concat!(
        "UPDATE tasks SET hook_state = 'pending', hook_owner = NULL
         WHERE hook_state = 'running' AND hook_owner IS NOT $1 AND NOT EXISTS (
            SELECT 1 FROM hosts h WHERE h.id = tasks.hook_owner
                AND h.lease_until > ",
        db_now!(sqlite),
        ")"
    )
};

impl Store {
    /// Takes a due upload for this host: it is put off to `until` (when another host may try
    /// it, should this one die meanwhile), if it is still pending and due at `seen` as read;
    /// false if another host took it first.
    pub async fn claim_upload(&self, id: i64, seen: i64, until: i64) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE uploads SET next_attempt_at = $3
             WHERE id = $1 AND state = 'pending' AND next_attempt_at = $2",
        )
        .bind(id)
        .bind(seen)
        .bind(until)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// Arms again the hooks a dead or stalled host left `running` (see the statement); how
    /// many. With several hosts this replaces the single host's re-arming at start.
    pub async fn rearm_orphaned_hooks(&self) -> Result<u64, StoreError> {
        let me = self.holder().map(|h| h.id.to_string());
        Ok(sqlx::query(REARM_ORPHANED_HOOKS)
            .bind(me)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// When the earliest task this host may claim is due (see `next_due_at`).
    pub(super) async fn next_claimable_at(&self) -> Result<Option<i64>, StoreError> {
        let me = self.holder().map(|h| h.id.to_string());
        Ok(sqlx::query_scalar(NEXT_CLAIMABLE_AT)
            .bind(me)
            .fetch_one(&self.pool)
            .await?)
    }

    /// How many unfinished tasks this host holds or may claim (see `count_active`).
    pub(super) async fn count_workable(&self) -> Result<i64, StoreError> {
        let me = self.holder().map(|h| h.id.to_string());
        Ok(sqlx::query_scalar(COUNT_WORKABLE)
            .bind(me)
            .fetch_one(&self.pool)
            .await?)
    }
}
