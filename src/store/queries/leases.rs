//! Leases, for several hosts on one database (PostgreSQL). Each host holds one lease in
//! `hosts`, renewed on the database's clock by its heartbeat; a task is worked only by the
//! host whose lease id it carries (`tasks.lease_owner`). A due task is claimed when it carries
//! no live lease (none, this host's, or one that lapsed): `FOR UPDATE SKIP LOCKED`, so hosts
//! claiming at once take different rows. Every change the engine makes to a task it works on
//! checks, in its own transaction and with the row locked, that the task still carries this
//! host's live lease ([`Store::fence`]): a host that wakes after its lease lapsed writes
//! nothing. A lapsed lease is never renewed: the host joins again under a new id, so work it
//! began under the old one stays fenced. A store without a holder (SQLite's single host, the
//! operator's commands) claims nothing and is never fenced.

use super::events::id_list;
use super::rows::{typed, RawTaskRow};
use super::{Store, StoreError, TaskRow};

/// The database's clock, Unix ms.
macro_rules! db_now {
    (postgres) => {
        "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    };
    (sqlite) => {
        "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    };
}
pub(super) use db_now;

/// Claims (for lease ?3) the unfinished tasks due by ?1 that no live lease holds, at most ?2.
const CLAIM_DUE: &str = if super::POSTGRES {
    concat!(
        "UPDATE tasks SET lease_owner = $3, lease_token = lease_token + 1
         WHERE id IN (SELECT t.id FROM tasks t
            WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
                AND t.next_attempt_at <= $1
                AND (t.lease_owner IS NULL OR t.lease_owner = $3 OR NOT EXISTS (
                    SELECT 1 FROM hosts h WHERE h.id = t.lease_owner
                        AND h.lease_until > ",
        db_now!(postgres),
        "))
            ORDER BY t.next_attempt_at, t.id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING ",
        super::reads::task_columns!()
    )
} else {
    concat!(
        "UPDATE tasks SET lease_owner = $3, lease_token = lease_token + 1
         WHERE id IN (SELECT t.id FROM tasks t
            WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
                AND t.next_attempt_at <= $1
                AND (t.lease_owner IS NULL OR t.lease_owner = $3 OR NOT EXISTS (
                    SELECT 1 FROM hosts h WHERE h.id = t.lease_owner
                        AND h.lease_until > ",
        db_now!(sqlite),
        "))
            ORDER BY t.next_attempt_at, t.id LIMIT $2)
         RETURNING ",
        super::reads::task_columns!()
    )
};

/// When the earliest unfinished task that no other live lease holds is due (?1: this lease).
const NEXT_CLAIMABLE_AT: &str = if super::POSTGRES {
    concat!(
        "SELECT MIN(t.next_attempt_at) FROM tasks t
         WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
            AND (t.lease_owner IS NULL OR t.lease_owner = $1 OR NOT EXISTS (
                SELECT 1 FROM hosts h WHERE h.id = t.lease_owner
                    AND h.lease_until > ",
        db_now!(postgres),
        "))"
    )
} else {
    concat!(
        "SELECT MIN(t.next_attempt_at) FROM tasks t
         WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
            AND (t.lease_owner IS NULL OR t.lease_owner = $1 OR NOT EXISTS (
                SELECT 1 FROM hosts h WHERE h.id = t.lease_owner
                    AND h.lease_until > ",
        db_now!(sqlite),
        "))"
    )
};

/// Of the tasks ?1 (an id array), those carrying lease ?2 while it is live for ?3 ms more,
/// locked (PostgreSQL) until the transaction ends.
const HELD: &str = if super::POSTGRES {
    concat!(
        "SELECT t.id FROM tasks t JOIN hosts h ON h.id = t.lease_owner
         WHERE t.id IN (SELECT value::bigint FROM jsonb_array_elements_text($1::jsonb) AS j(value))
            AND t.lease_owner = $2 AND h.lease_until > ",
        db_now!(postgres),
        " + $3
         FOR UPDATE OF t"
    )
} else {
    concat!(
        "SELECT t.id FROM tasks t JOIN hosts h ON h.id = t.lease_owner
         WHERE t.id IN (SELECT value FROM json_each($1))
            AND t.lease_owner = $2 AND h.lease_until > ",
        db_now!(sqlite),
        " + $3"
    )
};

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

    /// The unfinished tasks due by `now`, at most `limit`, most overdue first: claimed for
    /// this host's lease when the store has one, else (one host) simply read.
    pub async fn claim_due_tasks(&self, now: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
        let Some(me) = self.holder() else {
            return self.due_tasks(now, limit).await;
        };
        let mut rows = typed(
            sqlx::query_as::<_, RawTaskRow>(CLAIM_DUE)
                .bind(now)
                .bind(limit)
                .bind(me.id.as_ref())
                .fetch_all(&self.pool)
                .await?,
        )?;
        rows.sort_by_key(|t| (t.next_attempt_at, t.id));
        Ok(rows)
    }

    /// When the earliest task this host may claim is due (see `next_due_at`).
    pub(super) async fn next_claimable_at(&self) -> Result<Option<i64>, StoreError> {
        let me = self.holder().map(|h| h.id.to_string());
        Ok(sqlx::query_scalar(NEXT_CLAIMABLE_AT)
            .bind(me)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Of `ids`, those this host holds a live lease on for `margin_ms` more (all of them for
    /// a store without a holder), their rows locked until `conn`'s transaction ends.
    pub(super) async fn held(
        &self,
        conn: &mut super::Conn,
        ids: &[i64],
        margin_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let Some(me) = self.holder() else {
            return Ok(ids.to_vec());
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(HELD)
            .bind(id_list(ids))
            .bind(me.id.as_ref())
            .bind(margin_ms)
            .fetch_all(conn)
            .await?)
    }

    /// Fails with [`StoreError::Fenced`] unless this host holds a live lease on task `id`
    /// (always passes for a store without a holder). Called inside each change's transaction.
    pub(super) async fn fence(&self, conn: &mut super::Conn, id: i64) -> Result<(), StoreError> {
        if self.held(conn, &[id], 0).await?.is_empty() {
            let holder = self.holder().map(|h| h.id.to_string()).unwrap_or_default();
            return Err(StoreError::Fenced { id, holder });
        }
        Ok(())
    }
}
