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

/// A statement that differs between the backends only in the database's clock: its parts,
/// `NOW` standing for [`db_now`] in the backend's dialect, `SKIP_LOCKED` for PostgreSQL's row
/// locks on a claim (SQLite's writer holds the whole database), `COLUMNS` for a task row's.
macro_rules! on_db_clock {
    (@$dialect:ident NOW) => {
        db_now!($dialect)
    };
    (@postgres SKIP_LOCKED) => {
        " FOR UPDATE SKIP LOCKED"
    };
    (@sqlite SKIP_LOCKED) => {
        ""
    };
    (@$dialect:ident COLUMNS) => {
        super::reads::task_columns!()
    };
    (@$dialect:ident $text:literal) => {
        $text
    };
    ($($part:tt),* $(,)?) => {
        if super::POSTGRES {
            concat!($(on_db_clock!(@postgres $part)),*)
        } else {
            concat!($(on_db_clock!(@sqlite $part)),*)
        }
    };
}
pub(super) use on_db_clock;

/// Claims (for lease ?3) the unfinished tasks due by ?1 that no live lease holds (none, or one
/// that lapsed), at most ?2; a `creating` one is not reconciled before ?4 when its lease
/// lapsed, ?5 when its host left cleanly (see `claim_due_tasks`).
const CLAIM_DUE: &str = on_db_clock!(
    "UPDATE tasks SET lease_owner = $3, lease_token = lease_token + 1,
        next_attempt_at = CASE
            WHEN state <> 'creating' THEN next_attempt_at
            WHEN lease_owner IS NOT NULL AND next_attempt_at < $4 THEN $4
            WHEN lease_owner IS NULL AND next_attempt_at < $5 THEN $5
            ELSE next_attempt_at END
     WHERE id IN (SELECT t.id FROM tasks t
        WHERE t.state IN ('intent', 'creating', 'polling', 'downloading')
            AND t.next_attempt_at <= $1
            AND (t.lease_owner IS NULL OR (t.lease_owner <> $3 AND NOT EXISTS (
                SELECT 1 FROM hosts h WHERE h.id = t.lease_owner AND h.lease_until > ",
    NOW,
    ")))
        ORDER BY t.next_attempt_at, t.id LIMIT $2",
    SKIP_LOCKED,
    ")
     RETURNING ",
    COLUMNS,
);

/// The unfinished tasks due by ?1 that lease ?3 holds already, at most ?2 (?4 and ?5 unused:
/// the claim's parameters, typed so that PostgreSQL accepts them).
const DUE_HELD: &str = concat!(
    "SELECT ",
    super::reads::task_columns!(),
    " FROM tasks WHERE lease_owner = $3
        AND CAST($4 AS BIGINT) IS NOT NULL AND CAST($5 AS BIGINT) IS NOT NULL
        AND state IN ('intent', 'creating', 'polling', 'downloading') AND next_attempt_at <= $1
     ORDER BY next_attempt_at, id LIMIT $2"
);

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

impl Store {
    /// The unfinished tasks due by `now`, most overdue first: with a lease, those it holds
    /// already (at most `limit`) and at most `new` more that no live lease holds, claimed for it
    /// (fewer new ones than `limit` let hosts stepping in turn share the unclaimed work); without
    /// one (one host), simply the first `limit` due. A `creating` task taken over is not
    /// reconciled before `settled.0` when its lease lapsed (now + `create_settle` + one lease,
    /// see `Engine::work_due`: its create may have been sent until that lease lapsed, or later
    /// by a holder that was stalled), nor before `settled.1` when its host left cleanly (now +
    /// `create_settle`: every create of a host that left had ended); a backend may commit a
    /// create late, as after one that timed out on one host. It is claimed, not returned, until
    /// then.
    pub async fn claim_due_tasks(
        &self,
        now: i64,
        (limit, new): (i64, i64),
        (lapsed, left): (i64, i64),
    ) -> Result<Vec<TaskRow>, StoreError> {
        let Some(me) = self.holder() else {
            return self.due_tasks(now, limit).await;
        };
        let mut rows = Vec::new();
        for (statement, limit) in [(DUE_HELD, limit), (CLAIM_DUE, new)] {
            let raw = sqlx::query_as::<_, RawTaskRow>(statement)
                .bind(now)
                .bind(limit)
                .bind(me.id.as_ref())
                .bind(lapsed)
                .bind(left)
                .fetch_all(&self.pool)
                .await?;
            rows.extend(typed(raw)?);
        }
        rows.retain(|t| t.next_attempt_at <= now);
        rows.sort_by_key(|t| (t.next_attempt_at, t.id));
        Ok(rows)
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

    /// Fails with [`StoreError::Fenced`] unless this host holds a live lease on task `id` now:
    /// checked before a change outside the database (a file moved into place) that only the
    /// task's holder may make.
    pub async fn still_holds(&self, id: i64) -> Result<(), StoreError> {
        if self.holder().is_none() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        self.fence(&mut conn, id).await
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
