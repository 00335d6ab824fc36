//! The ledger's attempts (migration 0023): one row per remote task made, or maybe made, for a
//! task. Begun with the "maybe sent" mark, given its uuid when the create is answered or its
//! task found, ended with the change that ends it. Each statement runs inside the transaction
//! of the task's change, so the task row and its attempts never disagree.

use super::events::id_list;
use super::{AttemptRow, Conn, Store, StoreError};

/// Ends the live attempts of the tasks of $2 (an id array) at $1: a task marked again after a
/// complete search found no task of its earlier create.
const END_SEARCHED: &str = if super::POSTGRES {
    "UPDATE attempts SET ended_at = $1, ended_as = 'no task found'
     WHERE ended_at IS NULL
        AND task_id IN (SELECT value::bigint FROM jsonb_array_elements_text($2::jsonb) AS j(value))"
} else {
    "UPDATE attempts SET ended_at = $1, ended_as = 'no task found'
     WHERE ended_at IS NULL AND task_id IN (SELECT value FROM json_each($2))"
};
/// Begins an attempt at $1 for each task of $2, its deadline $3.
const BEGIN: &str = if super::POSTGRES {
    "INSERT INTO attempts (task_id, sent_at, deadline_at)
     SELECT value::bigint, $1, $3 FROM jsonb_array_elements_text($2::jsonb) AS j(value)"
} else {
    "INSERT INTO attempts (task_id, sent_at, deadline_at) SELECT value, $1, $3 FROM json_each($2)"
};

/// Begins an attempt for each of `ids`, their creates marked "maybe sent" at `now`.
pub(super) async fn begin(
    conn: &mut Conn,
    ids: &[i64],
    now: i64,
    deadline_at: i64,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = id_list(ids);
    sqlx::query(END_SEARCHED)
        .bind(now)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    sqlx::query(BEGIN)
        .bind(now)
        .bind(&ids)
        .bind(deadline_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// The live attempt of task `id` made remote task `uuid`.
pub(super) async fn name_remote_task(
    conn: &mut Conn,
    id: i64,
    uuid: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE attempts SET uuid = $1 WHERE task_id = $2 AND ended_at IS NULL")
        .bind(uuid)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The live attempt of task `id`, if any, ended at `now` as `ended_as`.
pub(super) async fn end(
    conn: &mut Conn,
    id: i64,
    ended_as: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE attempts SET ended_at = $1, ended_as = $2 WHERE task_id = $3 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(ended_as)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Task `id`'s live attempt, if any, ended at `now` as `ended_as` unless the task is still in a
/// phase whose attempt is live (`creating`, `polling`, `downloading`, `held`).
pub(super) async fn end_unless_live(
    conn: &mut Conn,
    id: i64,
    ended_as: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE attempts SET ended_at = $1, ended_as = $2 WHERE task_id = $3 AND ended_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM tasks WHERE id = $3
                AND state IN ('creating', 'polling', 'downloading', 'held'))",
    )
    .bind(now)
    .bind(ended_as)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An operator's `retry` took task `id` back to its last attempt (polling its remote task, or
/// searching for its create): that attempt is live again, its deadline `deadline_at`.
pub(super) async fn resume_last(
    conn: &mut Conn,
    id: i64,
    deadline_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE attempts SET ended_at = NULL, ended_as = NULL, deadline_at = $1
         WHERE id = (SELECT MAX(id) FROM attempts WHERE task_id = $2)
            AND EXISTS (SELECT 1 FROM tasks WHERE id = $2 AND state IN ('creating', 'polling'))",
    )
    .bind(deadline_at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Every attempt of task `id`, oldest first.
    pub async fn task_attempts(&self, id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, task_id, sent_at, deadline_at, uuid, ended_at, ended_as FROM attempts
             WHERE task_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}
