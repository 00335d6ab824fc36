//! The store's reads: what is due, counts, the operator views and the lookups the engine makes
//! before acting. The hot statements are constants, listed in [`HOT_QUERIES`] so a test can
//! check their query plans.

use super::rows::{typed, RawTaskRow};
use super::{EventRow, State, Store, StoreError, TaskFilter, TaskRow};

/// The columns of a [`TaskRow`], named: a `SELECT *` prepared before a migration adds a
/// column would return more columns than sqlx expects (it panics), e.g. for a `status` run
/// while a newly started daemon migrates the database.
macro_rules! task_columns {
    () => {
        "id, report, period_from, period_to, template, format, parameters, file_name, state,
         uuid, remote_status, attempts, backoff_step, next_attempt_at, intent_at, deadline_at,
         last_error, file_path, bytes, sha256, created_at, updated_at, hook_state,
         remote_created_at, request, refresh, missing_since, data_rows, data_columns, version,
         delivered_at, next_refresh_at, next_refresh"
    };
}
pub(super) use task_columns;

/// Unfinished tasks due by ?1, most overdue first, at most ?2.
const DUE_TASKS: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks
    WHERE state IN ('intent', 'creating', 'polling', 'downloading') AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id LIMIT $2"
);
const NEXT_DUE_AT: &str = "SELECT MIN(next_attempt_at) FROM tasks
    WHERE state IN ('intent', 'creating', 'polling', 'downloading')";
const COUNT_ACTIVE: &str = "SELECT COUNT(*) FROM tasks
    WHERE state IN ('intent', 'creating', 'polling', 'downloading')";
// A limit of -1 is none: SQLite takes it as such, PostgreSQL takes NULL.
const LIST_TASKS: &str = if super::POSTGRES {
    concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks
        WHERE ($1::text IS NULL OR report = $1) AND ($2::text IS NULL OR state = $2)
        ORDER BY period_from DESC, id DESC LIMIT NULLIF($3, -1)"
    )
} else {
    concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks
        WHERE ($1 IS NULL OR report = $1) AND ($2 IS NULL OR state = $2)
        ORDER BY period_from DESC, id DESC LIMIT $3"
    )
};
// INDEXED BY: with the wider row of migration 0012, SQLite's planner preferred scanning the
// table in id order (ORDER BY id LIMIT 1) to the uuid range.
const FIND_BY_UUID: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks INDEXED BY tasks_uuid WHERE uuid >= $1 AND uuid < $1 || '~' ORDER BY id LIMIT 1"
);
const FIND_BY_ID: &str = concat!("SELECT ", task_columns!(), " FROM tasks WHERE id = $1");
const PENDING_HOOKS: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks WHERE hook_state = 'pending' AND NOT EXISTS (SELECT 1 FROM uploads u
        WHERE u.request = tasks.request AND u.version = tasks.version
            AND u.role <> 'manifest' AND u.state IN ('pending', 'failed')) ORDER BY id LIMIT $1"
);
const TASK_EVENTS: &str = "SELECT id, task_id, at, state, uuid, remote_status, message
    FROM events WHERE task_id = $1 ORDER BY id";

/// The statements on the daemon's hot paths, by name: `tests/query_plans.rs` checks with
/// `EXPLAIN QUERY PLAN` that SQLite answers each one from an index, not a table scan.
#[allow(dead_code)] // read by tests/suite/query_plans.rs, on SQLite
pub const HOT_QUERIES: [(&str, &str); 9] = [
    ("due_tasks", DUE_TASKS),
    ("next_due_at", NEXT_DUE_AT),
    ("count_active", COUNT_ACTIVE),
    ("list_tasks (status)", LIST_TASKS),
    ("find_task by uuid (show)", FIND_BY_UUID),
    (
        "tracked_requests (scheduling)",
        super::identity::TRACKED_REQUESTS,
    ),
    (
        "newest_requests (catch-up)",
        super::identity::NEWEST_REQUESTS,
    ),
    ("due_refreshes", super::refreshes::DUE_REFRESHES),
    ("next_refresh_due", super::refreshes::NEXT_REFRESH_DUE),
];

impl Store {
    /// Unfinished tasks whose next attempt is due, most overdue first.
    pub async fn due_tasks(&self, now: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
        typed(
            sqlx::query_as::<_, RawTaskRow>(DUE_TASKS)
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// When the earliest unfinished task is next due (with several hosts: of those this host
    /// may claim, see `leases`).
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        if self.holder().is_some() {
            return self.next_claimable_at().await;
        }
        Ok(sqlx::query_scalar(NEXT_DUE_AT)
            .fetch_one(&self.pool)
            .await?)
    }

    /// How many tasks are unfinished (with several hosts: that this host holds or may claim,
    /// so a one-shot run beside a daemon ends with its own work).
    pub async fn count_active(&self) -> Result<i64, StoreError> {
        if self.holder().is_some() {
            return self.count_workable().await;
        }
        Ok(sqlx::query_scalar(COUNT_ACTIVE)
            .fetch_one(&self.pool)
            .await?)
    }

    /// How many created tasks a one-shot run still has reason to wait for at `now`: every
    /// download (a failing one ends at its deadline by itself), every poll within its deadline,
    /// and, when `can_look` (the API is neither paused nor refusing the key), every poll past
    /// it whose last try did not fail (no `last_error`): its last look is yet to be made. One
    /// whose last try failed waits for the API to answer.
    pub async fn count_created_still_working(
        &self,
        now: i64,
        can_look: bool,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks
             WHERE state = 'downloading' OR (state = 'polling'
                 AND (deadline_at > $1 OR ($2 AND last_error IS NULL)))",
        )
        .bind(now)
        .bind(can_look)
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

    /// Whether a remote uuid was ever recorded for any task (so it is never adopted twice).
    pub async fn uuid_known(&self, uuid: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE uuid = $1)
                 OR EXISTS (SELECT 1 FROM events WHERE uuid = $1)",
        )
        .bind(uuid)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Tasks for `status`, newest first.
    pub async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError> {
        typed(
            sqlx::query_as::<_, RawTaskRow>(LIST_TASKS)
                .bind(filter.report.as_deref())
                .bind(filter.state.map(State::as_str))
                .bind(filter.limit.unwrap_or(-1))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// One task by its id or (a prefix of at least 8 characters of) its remote uuid; see
    /// [`Store::resolve_task`].
    pub async fn find_task(&self, key: &str) -> Result<TaskRow, StoreError> {
        self.resolve_task(key).await
    }

    /// One task by its id.
    pub async fn task(&self, id: i64) -> Result<Option<TaskRow>, StoreError> {
        let row: Option<RawTaskRow> = sqlx::query_as(FIND_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// How many tasks in each state were last changed at or after `since` (a run's summary).
    pub async fn count_changed_since(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT state, COUNT(*) FROM tasks WHERE updated_at >= $1 GROUP BY state",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A task's whole history, oldest first.
    pub async fn task_events(&self, id: i64) -> Result<Vec<EventRow>, StoreError> {
        Ok(sqlx::query_as(TASK_EVENTS)
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Tasks whose hook has yet to run.
    pub async fn pending_hooks(&self, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
        typed(
            sqlx::query_as::<_, RawTaskRow>(PENDING_HOOKS)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`), one line per step, parameters unbound.
    pub async fn query_plan(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let params = (1..=9)
            .take_while(|n| sql.contains(&format!("${n}")))
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
