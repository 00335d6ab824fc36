//! Lookups behind the operator commands: tasks by uuid prefix (an ambiguous prefix is
//! refused with its candidates), which task a file path belongs to, the newest download of
//! each report, and the Gcore account the database works for.

use super::FileOwner;
use super::{Store, StoreError, TaskRow};

/// How many candidates an ambiguous uuid prefix lists.
const CANDIDATES_SHOWN: i64 = 10;

/// The tasks whose uuid starts with $1, at most $2. PostgreSQL compares text in the
/// database's collation, where `'~'` need not sort after every uuid character.
const BY_UUID_PREFIX: &str = if super::POSTGRES {
    "SELECT id FROM tasks WHERE starts_with(uuid, $1) ORDER BY id LIMIT $2"
} else {
    "SELECT id FROM tasks WHERE uuid >= $1 AND uuid < $1 || '~' ORDER BY id LIMIT $2"
};

impl Store {
    /// One task by its id, or by (a prefix of at least 8 characters of) its remote uuid. A
    /// key of 8 characters or more is always a uuid prefix, even when it is all digits; a
    /// prefix that several tasks share is refused with them.
    pub async fn resolve_task(&self, key: &str) -> Result<TaskRow, StoreError> {
        if key.len() < 8 {
            let Ok(id) = key.parse::<i64>() else {
                return Err(StoreError::NoSuchTask(key.to_string()));
            };
            return self.task_by_id(id).await;
        }
        let prefix = key.to_ascii_lowercase();
        let ids: Vec<i64> = sqlx::query_scalar(BY_UUID_PREFIX)
            .bind(&prefix)
            .bind(CANDIDATES_SHOWN + 1)
            .fetch_all(&self.pool)
            .await?;
        match ids.as_slice() {
            [] => Err(StoreError::NoSuchTask(key.to_string())),
            [id] => self.task_by_id(*id).await,
            many => Err(StoreError::Ambiguous {
                key: key.to_string(),
                candidates: many.to_vec(),
            }),
        }
    }

    async fn task_by_id(&self, id: i64) -> Result<TaskRow, StoreError> {
        let task = self.task(id).await?;
        task.ok_or_else(|| StoreError::NoSuchTask(id.to_string()))
    }

    /// The task (other than `id`) that `path` is recorded for, if any.
    pub async fn file_owner(&self, path: &str, id: i64) -> Result<Option<FileOwner>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, report, period_from FROM tasks WHERE file_path = $1 AND id <> $2 LIMIT 1",
        )
        .bind(path)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// When each report's newest delivered period was downloaded (Unix ms).
    pub async fn last_download_by_report(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT report, MAX(downloaded_at) FROM tasks AS t
             WHERE state = 'done' AND downloaded_at IS NOT NULL AND period_from = (
                SELECT MAX(period_from) FROM tasks
                WHERE report = t.report AND state = 'done' AND downloaded_at IS NOT NULL)
             GROUP BY report ORDER BY report",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The Gcore account (`client_id`) the database works for, once known.
    pub async fn account(&self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT client_id FROM account WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Remembers the account the first time a task shows it; returns the remembered one.
    pub async fn remember_account(&self, client_id: i64, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO account (id, client_id, recorded_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET id = account.id RETURNING client_id",
        )
        .bind(client_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The remote uuid of the newest unfinished task that has one, else of the newest task
    /// that has one; and whether that task is unfinished.
    pub async fn newest_remote_uuid(&self) -> Result<Option<(String, bool)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT uuid, state IN ('polling', 'downloading') AS active FROM tasks
             WHERE uuid IS NOT NULL ORDER BY active DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }
}
