//! Every SQL statement the daemon runs, one function each, named by what it means. A function
//! that changes a task also appends its event, in the same transaction: the row and its
//! history never disagree, whatever instant the process dies at.

use sqlx::{FromRow, Sqlite, Transaction};

use super::{State, Store, StoreError};

/// One report task, as stored.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct TaskRow {
    pub id: i64,
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub template: String,
    pub format: String,
    pub parameters: String,
    pub file_name: String,
    pub state: String,
    pub uuid: Option<String>,
    pub remote_status: Option<String>,
    pub attempts: i64,
    pub tries: i64,
    pub next_attempt_at: i64,
    pub intent_at: Option<i64>,
    pub deadline_at: i64,
    pub last_error: Option<String>,
    pub file_path: Option<String>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub hook_state: Option<String>,
    pub remote_created_at: Option<i64>,
}

impl TaskRow {
    /// The local state; a value this version does not know reads as `Failed`.
    pub fn state(&self) -> State {
        self.state.parse().unwrap_or(State::Failed)
    }
}

/// One entry of a task's history.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct EventRow {
    pub id: i64,
    pub task_id: i64,
    pub at: i64,
    pub state: String,
    pub uuid: Option<String>,
    pub remote_status: Option<String>,
    pub message: Option<String>,
}

/// A remote task as recorded when it is created or adopted.
#[derive(Debug, Clone, Copy)]
pub struct RemoteTask<'a> {
    pub uuid: &'a str,
    pub status: &'a str,
    /// The server's creation time (Unix ms).
    pub created_at: i64,
}

/// A downloaded file, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct FileRecord<'a> {
    pub path: &'a str,
    pub bytes: i64,
    pub sha256: &'a str,
}

/// What the scheduler records when a period falls due.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub template: String,
    pub format: String,
    pub parameters: String,
    pub file_name: String,
    pub deadline_at: i64,
}

/// Which tasks `status` lists.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub report: Option<String>,
    pub state: Option<State>,
    pub limit: Option<i64>,
}

/// Unfinished tasks due by ?1, most overdue first, at most ?2.
const DUE_TASKS: &str = "SELECT * FROM tasks
    WHERE state IN ('intent', 'creating', 'polling', 'downloading') AND next_attempt_at <= ?1
    ORDER BY next_attempt_at, id LIMIT ?2";
const NEXT_DUE_AT: &str = "SELECT MIN(next_attempt_at) FROM tasks
    WHERE state IN ('intent', 'creating', 'polling', 'downloading')";
const COUNT_ACTIVE: &str = "SELECT COUNT(*) FROM tasks
    WHERE state IN ('intent', 'creating', 'polling', 'downloading')";
const LIST_TASKS: &str = "SELECT * FROM tasks
    WHERE (?1 IS NULL OR report = ?1) AND (?2 IS NULL OR state = ?2)
    ORDER BY period_from DESC, id DESC LIMIT ?3";
const FIND_BY_UUID: &str =
    "SELECT * FROM tasks WHERE uuid >= ?1 AND uuid < ?1 || '~' ORDER BY id LIMIT 1";

/// The statements on the daemon's hot paths, by name: `tests/query_plans.rs` checks with
/// `EXPLAIN QUERY PLAN` that SQLite answers each one from an index, not a table scan.
pub const HOT_QUERIES: [(&str, &str); 5] = [
    ("due_tasks", DUE_TASKS),
    ("next_due_at", NEXT_DUE_AT),
    ("count_active", COUNT_ACTIVE),
    ("list_tasks (status)", LIST_TASKS),
    ("find_task by uuid (show)", FIND_BY_UUID),
];

/// Appends an event holding the task's row as it is now (call after the update).
async fn append_event(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    now: i64,
    message: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (task_id, at, state, uuid, remote_status, message)
         SELECT id, ?, state, uuid, remote_status, ? FROM tasks WHERE id = ?",
    )
    .bind(now)
    .bind(message)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn begin_creates_on(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    for id in ids {
        sqlx::query(
            "UPDATE tasks SET state = 'creating', intent_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, *id, now, Some("creating the remote task")).await?;
    }
    Ok(tx.commit().await?)
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
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO tasks (report, period_from, period_to, template, format, parameters,
                    file_name, state, next_attempt_at, deadline_at, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'intent', ?, ?, ?, ?)
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
            .bind(now)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                append_event(&mut tx, id, now, Some("period due: task recorded")).await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Whether (report, period) already has a task.
    pub async fn period_has_task(
        &self,
        report: &str,
        from: &str,
        to: &str,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE report = ? AND period_from = ? AND period_to = ?",
        )
        .bind(report)
        .bind(from)
        .bind(to)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// Unfinished tasks whose next attempt is due, most overdue first.
    pub async fn due_tasks(&self, now: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
        Ok(sqlx::query_as(DUE_TASKS)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// When the earliest unfinished task is next due.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(NEXT_DUE_AT)
            .fetch_one(&self.pool)
            .await?)
    }

    /// How many tasks are unfinished.
    pub async fn count_active(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(COUNT_ACTIVE)
            .fetch_one(&self.pool)
            .await?)
    }

    /// How many tasks are in each state.
    pub async fn count_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT state, COUNT(*) FROM tasks GROUP BY state")
                .fetch_all(&self.pool)
                .await?,
        )
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
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE tasks SET state = 'polling', uuid = ?, remote_status = ?, remote_created_at = ?,
                attempts = attempts + 1, tries = 0, next_attempt_at = ?, last_error = NULL,
                updated_at = ? WHERE id = ?",
        )
        .bind(remote.uuid)
        .bind(remote.status)
        .bind(remote.created_at)
        .bind(next_at)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, id, now, Some(message)).await?;
        Ok(tx.commit().await?)
    }

    /// A try failed for a reason worth retrying: note it and when to try again.
    pub async fn schedule_retry(
        &self,
        id: i64,
        next_at: i64,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE tasks SET tries = tries + 1, next_attempt_at = ?, last_error = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(next_at)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, id, now, Some(error)).await?;
        Ok(tx.commit().await?)
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
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE tasks SET remote_status = ?, tries = tries + 1, next_attempt_at = ?,
                last_error = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(next_at)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if changed {
            append_event(&mut tx, id, now, None).await?;
        }
        Ok(tx.commit().await?)
    }

    /// The remote task is Completed: the file is to be fetched now.
    pub async fn begin_download(&self, id: i64, status: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE tasks SET state = 'downloading', remote_status = ?, tries = 0,
                next_attempt_at = ?, last_error = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, id, now, Some("report ready: downloading")).await?;
        Ok(tx.commit().await?)
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
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE tasks SET state = 'done', file_path = ?, bytes = ?, sha256 = ?, tries = 0,
                last_error = NULL, hook_state = ?, updated_at = ? WHERE id = ?",
        )
        .bind(path)
        .bind(bytes)
        .bind(sha256)
        .bind(hook.then_some("pending"))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            id,
            now,
            Some(&format!("downloaded {bytes} bytes, sha256 {sha256}")),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// The remote task ended Failed or Cancelled: a new attempt is due at `next_at`.
    pub async fn schedule_resubmit(
        &self,
        id: i64,
        reason: &str,
        next_at: i64,
        deadline_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        append_event(&mut tx, id, now, Some(reason)).await?;
        sqlx::query(
            "UPDATE tasks SET state = 'intent', uuid = NULL, remote_status = NULL, tries = 0,
                next_attempt_at = ?, deadline_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
        )
        .bind(next_at)
        .bind(deadline_at)
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, id, now, Some("resubmitting as a new remote task")).await?;
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tasks SET state = ?, last_error = ?, hook_state = ?, updated_at = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(reason)
            .bind(hook.then_some("pending"))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(&mut tx, id, now, Some(reason)).await?;
        Ok(tx.commit().await?)
    }

    /// Whether a remote uuid was ever recorded for any task (so it is never adopted twice).
    pub async fn uuid_known(&self, uuid: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE uuid = ?1)
                 OR EXISTS (SELECT 1 FROM events WHERE uuid = ?1)",
        )
        .bind(uuid)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Tasks for `status`, newest first.
    pub async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError> {
        Ok(sqlx::query_as(LIST_TASKS)
            .bind(filter.report.as_deref())
            .bind(filter.state.map(State::as_str))
            .bind(filter.limit.unwrap_or(-1))
            .fetch_all(&self.pool)
            .await?)
    }

    /// One task by its id or (a prefix of at least 8 characters of) its remote uuid.
    pub async fn find_task(&self, key: &str) -> Result<TaskRow, StoreError> {
        let row: Option<TaskRow> = match key.parse::<i64>() {
            Ok(id) => {
                sqlx::query_as("SELECT * FROM tasks WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
            }
            Err(_) if key.len() >= 8 => {
                sqlx::query_as(FIND_BY_UUID)
                    .bind(key.to_ascii_lowercase())
                    .fetch_optional(&self.pool)
                    .await?
            }
            Err(_) => None,
        };
        row.ok_or_else(|| StoreError::NoSuchTask(key.to_string()))
    }

    /// How many tasks in each state were last changed at or after `since` (a run's summary).
    pub async fn count_changed_since(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT state, COUNT(*) FROM tasks WHERE updated_at >= ? GROUP BY state",
            )
            .bind(since)
            .fetch_all(&self.pool)
            .await?,
        )
    }

    /// A task's whole history, oldest first.
    pub async fn task_events(&self, id: i64) -> Result<Vec<EventRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM events WHERE task_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

impl Store {
    /// An operator asked for a new attempt of a finished-badly task: it becomes due now.
    pub async fn retry_task(
        &self,
        id: i64,
        deadline_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE tasks SET state = 'intent', uuid = NULL, remote_status = NULL, tries = 0,
                next_attempt_at = ?, deadline_at = ?, updated_at = ?
             WHERE id = ? AND state IN ('failed', 'expired', 'lost')",
        )
        .bind(now)
        .bind(deadline_at)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            append_event(&mut tx, id, now, Some("operator: retry")).await?;
        }
        tx.commit().await?;
        Ok(changed > 0)
    }

    /// Drops a task and its history, so its period can be recorded again.
    pub async fn forget_task(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM tasks WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Store {
    /// When each report last had a file downloaded (Unix ms), for "report missing" alerts.
    pub async fn last_done_by_report(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT report, MAX(updated_at) FROM tasks WHERE state = 'done' GROUP BY report ORDER BY report",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Store {
    /// Tasks whose hook has yet to run.
    pub async fn pending_hooks(&self, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM tasks WHERE hook_state = 'pending' ORDER BY id LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Records a hook's outcome (`ok` or `failed`) and what it said, in the task's history.
    pub async fn record_hook(
        &self,
        id: i64,
        ok: bool,
        message: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tasks SET hook_state = ?, updated_at = ? WHERE id = ?")
            .bind(if ok { "ok" } else { "failed" })
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(&mut tx, id, now, Some(message)).await?;
        Ok(tx.commit().await?)
    }

    /// An operator asked to run a task's hook again (`retry-hook`).
    pub async fn rearm_hook(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE tasks SET hook_state = 'pending', updated_at = ?
             WHERE id = ? AND state IN ('done', 'failed', 'expired', 'lost')",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            append_event(&mut tx, id, now, Some("operator: run the hook again")).await?;
        }
        tx.commit().await?;
        Ok(changed > 0)
    }
}

impl Store {
    /// SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`), one line per step, parameters unbound.
    pub async fn query_plan(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let params = (1..=9)
            .take_while(|n| sql.contains(&format!("?{n}")))
            .count();
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..params {
            query = query.bind(None::<i64>);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(_, _, _, detail)| detail).collect())
    }
}
