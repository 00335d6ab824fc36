//! How a download ends under verification and refreshes (issue 13): a new version of the
//! period's file delivered (with its verified shape), a refresh that confirmed the current file
//! unchanged, an empty report not delivered (`on_empty = "refetch"`). A period's versions are
//! numbered in delivery order: a version is recorded only as the period's highest plus one (and
//! migration 0015 makes (request, version) unique), so the current file is the highest version.
//! The refresh schedule is in `refreshes`.

use super::events::{append, expect_changed};
use super::reads::task_columns;
use super::rows::{typed, RawTaskRow};
use super::Delivery;
use super::{State, Store, StoreError, TaskRow};

const CURRENT_VERSION: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks WHERE request = $1 AND version IS NOT NULL ORDER BY version DESC LIMIT 1"
);
const PERIOD_TASKS: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks WHERE request = $1 ORDER BY refresh"
);
/// The ledger's delivery row of a task just marked `done` with a new version, to the output
/// directory (migration 0018). Its unique key (request, version, destination) refuses a
/// second delivery of the same version there: the whole change is then rolled back.
const RECORD_DELIVERY_TO_OUTPUT_DIR: &str = "INSERT INTO deliveries (task_id, request, version,
        destination, location, bytes, sha256, data_rows, delivered_at)
    SELECT id, request, version, 'output_dir', file_path, bytes, sha256, data_rows, delivered_at
    FROM tasks WHERE id = $1";

/// How many versions each request of $1 (a JSON array) has.
const VERSION_COUNTS: &str = if super::POSTGRES {
    "SELECT request, COUNT(version) FROM tasks
     WHERE request IN (SELECT value FROM jsonb_array_elements_text($1::jsonb) AS j(value))
        AND version IS NOT NULL
     GROUP BY request"
} else {
    "SELECT request, COUNT(version) FROM tasks
     WHERE request IN (SELECT value FROM json_each($1)) AND version IS NOT NULL
     GROUP BY request"
};

impl Store {
    /// The download is done: the file delivered as version `version`, or (version `None`)
    /// confirmed unchanged or not delivered; the shape, the refresh schedule, the hook. A
    /// version is recorded only as the period's next one (its highest so far plus one): when
    /// another delivery of the period took that number first, [`StoreError::Conflict`], and
    /// the task, still `downloading`, is compared with the new current file next time.
    pub async fn record_delivery(
        &self,
        id: i64,
        delivery: &Delivery<'_>,
        now: i64,
    ) -> Result<(), StoreError> {
        let file = &delivery.file;
        let (rows, columns) = file.shape.unzip();
        let (refresh_at, refresh) = delivery.next_refresh.unzip();
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET state = 'done', file_path = $1, bytes = $2, sha256 = $3,
                backoff_step = 0, last_error = NULL, hook_state = $4, updated_at = $5,
                data_rows = $6, data_columns = $7, version = $8, delivered_at = $5,
                downloaded_at = CASE WHEN $1 IS NULL THEN downloaded_at ELSE $5 END,
                next_refresh_at = $9, next_refresh = $10
             WHERE id = $11 AND state = 'downloading'
                AND ($8 IS NULL OR $8 = 1 + (SELECT COALESCE(MAX(o.version), 0) FROM tasks o
                    WHERE o.request = tasks.request AND o.version IS NOT NULL))",
        )
        .bind(delivery.path)
        .bind(file.bytes)
        .bind(file.sha256)
        .bind(delivery.hook.then_some("pending"))
        .bind(now)
        .bind(rows)
        .bind(columns)
        .bind(delivery.version)
        .bind(refresh_at)
        .bind(refresh)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, State::Downloading)?;
        if delivery.path.is_some() && delivery.version.is_some() {
            sqlx::query(RECORD_DELIVERY_TO_OUTPUT_DIR)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // The version's puts, and the rewritten manifest's (also after a confirmation).
        if !delivery.uploads.is_empty() {
            let request: String = sqlx::query_scalar("SELECT request FROM tasks WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            super::uploads::insert_pending(&mut tx, id, &request, delivery.uploads, now).await?;
        }
        let ended_as = match delivery.version {
            Some(_) => "delivered",
            None => "no new version",
        };
        super::attempts::end(&mut tx, id, ended_as, now).await?;
        append(&mut tx, id, now, Some(delivery.message)).await?;
        Ok(tx.commit().await?)
    }

    /// The period's current file: the task of `request` that delivered the highest version.
    pub async fn current_version(&self, request: &str) -> Result<Option<TaskRow>, StoreError> {
        let row: Option<RawTaskRow> = sqlx::query_as(CURRENT_VERSION)
            .bind(request)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TaskRow::try_from).transpose()
    }

    /// The number the next version of `request`'s file takes: its highest so far plus one.
    pub async fn next_version(&self, request: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM tasks
             WHERE request = $1 AND version IS NOT NULL",
        )
        .bind(request)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every task of `request` (the first delivery and its refreshes), by refresh number.
    pub async fn period_tasks(&self, request: &str) -> Result<Vec<TaskRow>, StoreError> {
        let rows = sqlx::query_as(PERIOD_TASKS)
            .bind(request)
            .fetch_all(&self.pool)
            .await?;
        typed(rows)
    }

    /// How many versions each of `requests` has (requests without any are left out).
    pub async fn version_counts(
        &self,
        requests: &[&str],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let list = serde_json::to_string(requests).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query_as(VERSION_COUNTS)
            .bind(list)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The sha256 of version `version` of `request`'s file.
    pub async fn version_sha256(
        &self,
        request: &str,
        version: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT sha256 FROM tasks WHERE request = $1 AND version = $2 LIMIT 1",
        )
        .bind(request)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    /// Restatements so far (versions after the first) and empty reports now recorded.
    pub async fn count_restated_and_empty(&self) -> Result<(i64, i64), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE version > 1),
                    COUNT(*) FILTER (WHERE state = 'done' AND data_rows = 0)
             FROM tasks WHERE version > 1 OR data_rows = 0",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
