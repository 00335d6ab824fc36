//! Every change to a task, one function each, named by what it means for the task. Each is one
//! SQL statement (atomic on its own) that also appends the task's event: a task UPDATE naming
//! `event_message` makes the `tasks_event_on_update` trigger (migration 0007) add the event
//! with the row's new state, so the row and its history never disagree, whatever instant the
//! process dies at. The few changes that take several statements run in one transaction.

use sqlx::{Sqlite, Transaction};

use super::{FileRecord, NewTask, RemoteTask, State, Store, StoreError};

async fn begin_creates_on(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_string());
    sqlx::query(
        "UPDATE tasks SET state = 'creating', intent_at = ?1, updated_at = ?1,
            event_message = 'creating the remote task'
         WHERE id IN (SELECT value FROM json_each(?2))",
    )
    .bind(now)
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records a due period as an intent; `None` if the period already has a task.
    pub async fn insert_intent(&self, new: &NewTask, now: i64) -> Result<Option<i64>, StoreError> {
        let ids = self.insert_intents(std::slice::from_ref(new), now).await?;
        Ok(ids.into_iter().next().flatten())
    }

    /// Records many due periods in one transaction (one fsync); `None` for each period that
    /// already had a task.
    pub async fn insert_intents(
        &self,
        news: &[NewTask],
        now: i64,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(news.len());
        for new in news {
            ids.push(insert_intent_in(&mut tx, new, now).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Marks that creates are about to be sent for `ids`: from now on their outcome must be
    /// reconciled. This commit is forced to disk (`synchronous = FULL`, which also flushes every
    /// earlier commit of the WAL): after a power loss the daemon must still know that a create
    /// may have been sent. Other commits run with `synchronous = NORMAL` (safe against a killed
    /// process; after a power loss at worst a poll or download is repeated).
    pub async fn begin_creates(&self, ids: &[i64], now: i64) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await?;
        let result = begin_creates_on(&mut conn, ids, now).await;
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await?;
        result
    }

    /// Stores the uuid of a task created (or found after an unknown outcome) for this period.
    pub async fn record_created(
        &self,
        id: i64,
        remote: &RemoteTask<'_>,
        next_at: i64,
        now: i64,
        message: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET state = 'polling', uuid = ?, remote_status = ?, remote_created_at = ?,
                attempts = attempts + 1, tries = 0, next_attempt_at = ?, last_error = NULL,
                updated_at = ?, event_message = ? WHERE id = ?",
        )
        .bind(remote.uuid)
        .bind(remote.status)
        .bind(remote.created_at)
        .bind(next_at)
        .bind(now)
        .bind(message)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A try failed for a reason worth retrying: note it and when to try again.
    pub async fn schedule_retry(
        &self,
        id: i64,
        next_at: i64,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET tries = tries + 1, next_attempt_at = ?1, last_error = ?2,
                updated_at = ?3, event_message = ?2 WHERE id = ?4",
        )
        .bind(next_at)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A poll saw the task still running; an event is kept only when the status changed.
    pub async fn record_poll(
        &self,
        id: i64,
        status: &str,
        next_at: i64,
        now: i64,
        changed: bool,
    ) -> Result<(), StoreError> {
        let sql = if changed {
            "UPDATE tasks SET remote_status = ?, tries = tries + 1, next_attempt_at = ?,
                last_error = NULL, updated_at = ?, event_message = NULL WHERE id = ?"
        } else {
            "UPDATE tasks SET remote_status = ?, tries = tries + 1, next_attempt_at = ?,
                last_error = NULL, updated_at = ? WHERE id = ?"
        };
        sqlx::query(sql)
            .bind(status)
            .bind(next_at)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The remote task is Completed: the file is to be fetched now.
    pub async fn begin_download(&self, id: i64, status: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET state = 'downloading', remote_status = ?1, tries = 0,
                next_attempt_at = ?2, last_error = NULL, updated_at = ?2,
                event_message = 'report ready: downloading' WHERE id = ?3",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The file is in place: record where, how big and its sha256.
    pub async fn record_downloaded(
        &self,
        id: i64,
        file: &FileRecord<'_>,
        hook: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let (path, bytes, sha256) = (file.path, file.bytes, file.sha256);
        let (rows, columns) = file.shape.unzip();
        sqlx::query(
            "UPDATE tasks SET state = 'done', file_path = ?1, bytes = ?2, sha256 = ?3, tries = 0,
                last_error = NULL, hook_state = ?4, updated_at = ?5, event_message = ?6,
                data_rows = ?7, data_columns = ?8, version = 1, delivered_at = ?5 WHERE id = ?9",
        )
        .bind(path)
        .bind(bytes)
        .bind(sha256)
        .bind(hook.then_some("pending"))
        .bind(now)
        .bind(downloaded_message(file))
        .bind(rows)
        .bind(columns)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The remote task ended Failed or Cancelled: a new attempt is due at `next_at`. Two
    /// events: the ended attempt's uuid with the reason, then the resubmission.
    pub async fn schedule_resubmit(
        &self,
        id: i64,
        reason: &str,
        next_at: i64,
        deadline_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tasks SET updated_at = ?, event_message = ? WHERE id = ?")
            .bind(now)
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE tasks SET state = 'intent', uuid = NULL, remote_status = NULL, tries = 0,
                next_attempt_at = ?, deadline_at = ?, last_error = ?, updated_at = ?,
                event_message = 'resubmitting as a new remote task' WHERE id = ?",
        )
        .bind(next_at)
        .bind(deadline_at)
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        Ok(tx.commit().await?)
    }

    /// The task ends here (`failed`, `expired` or `lost`), with the reason.
    pub async fn give_up(
        &self,
        id: i64,
        state: State,
        reason: &str,
        hook: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET state = ?1, last_error = ?2, hook_state = ?3, updated_at = ?4,
                event_message = ?2 WHERE id = ?5",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(hook.then_some("pending"))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An operator asked for a new attempt of a finished-badly task: it becomes due now. A task
    /// that expired while its remote task was still running goes back to polling that task; one
    /// that ended while a create's outcome was unknown goes back to `creating`, so the server
    /// is searched for that task before anything is created again; others are created anew.
    pub async fn retry_task(
        &self,
        id: i64,
        deadline_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE tasks SET
                state = CASE
                    WHEN state = 'expired' AND uuid IS NOT NULL THEN 'polling'
                    WHEN uuid IS NULL AND intent_at IS NOT NULL THEN 'creating'
                    ELSE 'intent' END,
                uuid = CASE WHEN state = 'expired' THEN uuid END,
                remote_status = CASE WHEN state = 'expired' THEN remote_status END,
                tries = 0, hook_state = NULL,
                next_attempt_at = ?1, deadline_at = ?2, updated_at = ?1,
                event_message = 'operator: retry'
             WHERE id = ?3 AND state IN ('failed', 'expired', 'lost')",
        )
        .bind(now)
        .bind(deadline_at)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Drops a finished task and its history, so its period can be recorded again. A task still
    /// in flight is never dropped (its remote task would be orphaned): false then.
    pub async fn forget_task(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM tasks WHERE id = ? AND state IN ('done', 'failed', 'expired', 'lost')",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a hook's outcome (`ok` or `failed`) and what it said, in the task's history.
    pub async fn record_hook(
        &self,
        id: i64,
        ok: bool,
        message: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET hook_state = ?, updated_at = ?, event_message = ? WHERE id = ?",
        )
        .bind(if ok { "ok" } else { "failed" })
        .bind(now)
        .bind(message)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An operator asked to run a task's hook again (`retry-hook`).
    pub async fn rearm_hook(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE tasks SET hook_state = 'pending', updated_at = ?,
                event_message = 'operator: run the hook again'
             WHERE id = ? AND state IN ('done', 'failed', 'expired', 'lost')",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }
}

/// Records one due period (in the caller's transaction); `None` if it already has a task.
async fn insert_intent_in(
    tx: &mut Transaction<'_, Sqlite>,
    new: &NewTask,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO tasks (report, period_from, period_to, template, format, parameters,
            file_name, state, next_attempt_at, deadline_at, created_at, updated_at, event_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'intent', ?8, ?9, ?8, ?8, 'period due: task recorded')
         ON CONFLICT (report, period_from, period_to) DO NOTHING
         RETURNING id",
    )
    .bind(&new.report)
    .bind(&new.period_from)
    .bind(&new.period_to)
    .bind(&new.template)
    .bind(&new.format)
    .bind(&new.parameters)
    .bind(&new.file_name)
    .bind(now)
    .bind(new.deadline_at)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The event of a delivery: size, digest and, when verified, the table's shape.
fn downloaded_message(file: &FileRecord<'_>) -> String {
    let (bytes, sha256) = (file.bytes, file.sha256);
    match file.shape {
        Some((0, columns)) => {
            format!("downloaded {bytes} bytes, sha256 {sha256}: an empty report ({columns} columns, no rows)")
        }
        Some((rows, columns)) => {
            format!("downloaded {bytes} bytes, sha256 {sha256}: {rows} rows, {columns} columns")
        }
        None => format!("downloaded {bytes} bytes, sha256 {sha256}"),
    }
}
