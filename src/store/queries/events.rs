//! The rule every change of a task follows: one transaction that updates the row
//! compare-and-set on the state it expects (`… WHERE id = ? AND state = ?`), checks that the
//! row was there in that state (else [`StoreError::Conflict`]: another process, e.g. an
//! operator's `retry` or `forget`, changed it first, and nothing is overwritten), and appends
//! the task's event, with the row's new state, uuid and status, in the same transaction.
//!
//! The events were once appended by a trigger that a dedicated column fired, so an UPDATE that
//! left the column out silently dropped history. Their explicit inserts cost, in the scale
//! benchmark (N = 1,000, 2026-12-01), 13–16 % of the daemon's CPU against no events at all on
//! tmpfs and 8–9 % on disk; the trigger wrote the same rows, so against it the cost is less.

use super::Conn;

use super::{State, StoreError};

impl super::Store {
    /// A write transaction, begun as the backend's `BEGIN_WRITE` says (SQLite: holding the
    /// write lock from its start).
    pub(super) async fn write(&self) -> Result<sqlx::Transaction<'static, super::Db>, StoreError> {
        Ok(self.pool.begin_with(super::BEGIN_WRITE).await?)
    }
}

/// Fails with [`StoreError::Conflict`] unless the compare-and-set update changed exactly the
/// one row it was meant for.
pub(super) fn expect_changed(affected: u64, id: i64, expected: State) -> Result<(), StoreError> {
    match affected {
        1 => Ok(()),
        _ => Err(StoreError::Conflict { id, expected }),
    }
}

/// Appends an event for task `id` as it is now (inside the caller's transaction).
pub(super) async fn append(
    conn: &mut Conn,
    id: i64,
    at: i64,
    message: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (task_id, at, state, uuid, remote_status, message)
         SELECT id, $2, state, uuid, remote_status, $3 FROM tasks WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(message)
    .execute(conn)
    .await?;
    Ok(())
}

const APPEND_MANY: &str = if super::POSTGRES {
    "INSERT INTO events (task_id, at, state, uuid, remote_status, message)
     SELECT t.id, $2, t.state, t.uuid, t.remote_status, $3
     FROM jsonb_array_elements_text($1::jsonb) AS j(value) JOIN tasks t ON t.id = j.value::bigint"
} else {
    "INSERT INTO events (task_id, at, state, uuid, remote_status, message)
     SELECT t.id, $2, t.state, t.uuid, t.remote_status, $3
     FROM json_each($1) AS j JOIN tasks t ON t.id = j.value"
};

/// Appends one event per task of `ids`, as each is now (inside the caller's transaction).
pub(super) async fn append_many(
    conn: &mut Conn,
    ids: &[i64],
    at: i64,
    message: Option<&str>,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(APPEND_MANY)
        .bind(id_list(ids))
        .bind(at)
        .bind(message)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ids as the JSON array that `json_each` (SQLite) and `jsonb_array_elements_text` take.
pub(super) fn id_list(ids: &[i64]) -> String {
    let items: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}
