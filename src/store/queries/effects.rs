//! The statements behind `apply`, one per effect of a phase change (`lifecycle::Effect`), each
//! named by what it does to the task and each compare-and-set on the phase the change expects
//! (`$from`). They run inside `apply`'s transaction and return the rows changed.

use super::{Conn, State, StoreError};

type Phases = (State, State);

/// The remote task (uuid, status, server creation time) is the period's current attempt.
pub(super) async fn record_remote_task(
    conn: &mut Conn,
    id: i64,
    (from, to): Phases,
    (uuid, status, created_at): (&str, &str, i64),
    next_at: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET state = $1, uuid = $2, remote_status = $3, remote_created_at = $4,
            attempts = attempts + 1, backoff_step = 0, next_attempt_at = $5, last_error = NULL,
            missing_since = NULL, updated_at = $6 WHERE id = $7 AND state = $8",
    )
    .bind(to.as_str())
    .bind(uuid)
    .bind(status)
    .bind(created_at)
    .bind(next_at)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A create that certainly never reached the server: due again, no longer maybe sent.
pub(super) async fn due_again_unsent(
    conn: &mut Conn,
    id: i64,
    (from, to): Phases,
    next_at: i64,
    error: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET state = $1, intent_at = NULL, backoff_step = backoff_step + 1,
            next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE id = $5 AND state = $6",
    )
    .bind(to.as_str())
    .bind(next_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A fault worth retrying: noted, and the task looked at again at `next_at`.
pub(super) async fn look_again_later(
    conn: &mut Conn,
    id: i64,
    from: State,
    next_at: i64,
    error: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET backoff_step = backoff_step + 1, next_attempt_at = $1,
            last_error = $2, updated_at = $3 WHERE id = $4 AND state = $5",
    )
    .bind(next_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Still running remotely: the status kept, polled again at `next_at`.
pub(super) async fn poll_again_later(
    conn: &mut Conn,
    id: i64,
    from: State,
    status: &str,
    next_at: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET remote_status = $1, backoff_step = backoff_step + 1,
            next_attempt_at = $2, last_error = NULL, missing_since = NULL, updated_at = $3
         WHERE id = $4 AND state = $5",
    )
    .bind(status)
    .bind(next_at)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A 404 within the grace: when the 404s began is kept (the first time), polled again.
pub(super) async fn note_missing(
    conn: &mut Conn,
    id: i64,
    from: State,
    since: i64,
    next_at: i64,
    error: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET missing_since = COALESCE(missing_since, $1),
            backoff_step = backoff_step + 1, next_attempt_at = $2, last_error = $3,
            updated_at = $4 WHERE id = $5 AND state = $6",
    )
    .bind(since)
    .bind(next_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Completed remotely: the file is fetched now.
pub(super) async fn download_now(
    conn: &mut Conn,
    id: i64,
    (from, to): Phases,
    status: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET state = $1, remote_status = $2, backoff_step = 0,
            next_attempt_at = $3, last_error = NULL, missing_since = NULL, updated_at = $3
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(status)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A body of remote task `uuid` failed verification: its sha256 kept as evidence, downloaded
/// again at `next_at` (only while `uuid` is still the task's remote task).
pub(super) async fn keep_rejected_body(
    conn: &mut Conn,
    id: i64,
    from: State,
    (uuid, sha256): (&str, &str),
    next_at: i64,
    message: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET rejected_sha256 = $1, rejected_uuid = $2,
            backoff_step = backoff_step + 1, next_attempt_at = $3, last_error = $4,
            updated_at = $5
         WHERE id = $6 AND state = $7 AND uuid = $2",
    )
    .bind(sha256)
    .bind(uuid)
    .bind(next_at)
    .bind(message)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The attempt ended: a new remote task is due at `next_at`, its deadline `deadline_at`, with
/// the ended attempt's remote fields and rejected-body evidence cleared.
pub(super) async fn new_remote_task_due(
    conn: &mut Conn,
    id: i64,
    (from, to): Phases,
    reason: &str,
    (next_at, deadline_at): (i64, i64),
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET state = $1, uuid = NULL, remote_status = NULL, backoff_step = 0,
            intent_at = NULL, missing_since = NULL, next_attempt_at = $2, deadline_at = $3,
            last_error = $4, rejected_sha256 = NULL, rejected_uuid = NULL, updated_at = $5
         WHERE id = $6 AND state = $7",
    )
    .bind(to.as_str())
    .bind(next_at)
    .bind(deadline_at)
    .bind(reason)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The task ends (or is held) with `reason`; its `on_failure` hook armed when `hook`; a create
/// the server `refused` no longer counts as maybe sent.
pub(super) async fn end(
    conn: &mut Conn,
    id: i64,
    (from, to): Phases,
    reason: &str,
    (hook, refused): (bool, bool),
    now: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET state = $1, last_error = $2, hook_state = $3, updated_at = $4,
            intent_at = CASE WHEN $5 THEN NULL ELSE intent_at END
         WHERE id = $6 AND state = $7",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(hook.then_some("pending"))
    .bind(now)
    .bind(refused)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
