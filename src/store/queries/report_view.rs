//! The reads behind "what does this config change mean for the tracked periods" (`check-config`
//! and the start of `run`): each report's newest task and what it asks, the task making a
//! request, per-report counts, and the unfinished tasks a renamed report carries over.

use super::{NewestTask, ReportCounts};
use super::{Store, StoreError, TaskRow};

/// One first delivery of each report's newest period. SQLite returns any one row of each
/// group for the bare columns; PostgreSQL says which: the newest task.
const NEWEST_TASKS: &str = if super::POSTGRES {
    "SELECT DISTINCT ON (t.report) t.report, t.period_from, t.period_to, t.template, t.request,
        t.format, t.file_name, t.state
     FROM tasks AS t JOIN (
        SELECT report, MAX(period_from) AS newest FROM tasks GROUP BY report
     ) AS n ON t.report = n.report AND t.period_from = n.newest
     WHERE t.refresh = 0 ORDER BY t.report, t.id DESC"
} else {
    "SELECT t.report, t.period_from, t.period_to, t.template, t.request, t.format,
        t.file_name, t.state
     FROM tasks AS t JOIN (
        SELECT report, MAX(period_from) AS newest FROM tasks GROUP BY report
     ) AS n ON t.report = n.report AND t.period_from = n.newest
     WHERE t.refresh = 0 GROUP BY t.report"
};

impl Store {
    /// The task making `request` (first delivery), if any.
    pub async fn task_by_request(&self, request: &str) -> Result<Option<TaskRow>, StoreError> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tasks WHERE request = $1 AND refresh = 0")
                .bind(request)
                .fetch_optional(&self.pool)
                .await?;
        match id {
            Some(id) => self.task(id).await,
            None => Ok(None),
        }
    }

    /// The task of `report`'s newest period, if any.
    pub async fn newest_task_of(&self, report: &str) -> Result<Option<TaskRow>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE report = $1 ORDER BY period_from DESC, id DESC LIMIT 1",
        )
        .bind(report)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.task(id).await,
            None => Ok(None),
        }
    }

    /// The first day of a period of `report` whose task, making another request than
    /// `request`, has the file name `file_name`: a period asked again under a changed request
    /// would wait for that file (a file recorded for one task is never replaced by another's).
    pub async fn file_name_taken(
        &self,
        report: &str,
        file_name: &str,
        request: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT period_from FROM tasks WHERE report = $1 AND file_name = $2 AND request <> $3
             LIMIT 1",
        )
        .bind(report)
        .bind(file_name)
        .bind(request)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Each report's task of its newest period (one per report).
    pub async fn newest_tasks(&self) -> Result<Vec<NewestTask>, StoreError> {
        Ok(sqlx::query_as(NEWEST_TASKS).fetch_all(&self.pool).await?)
    }

    /// The unfinished tasks (id, report, first day, `date_to`, template), for carrying those of
    /// a renamed report over to its new name.
    pub async fn unfinished_periods(
        &self,
    ) -> Result<Vec<(i64, String, String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, report, period_from, period_to, template FROM tasks
             WHERE state IN ('intent', 'creating', 'polling', 'downloading', 'held')",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every report name in the database with its counts, by name.
    pub async fn report_counts(&self) -> Result<Vec<(String, ReportCounts)>, StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT report, COUNT(*), SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END),
                SUM(CASE WHEN state IN ('intent', 'creating', 'polling', 'downloading', 'held')
                    THEN 1 ELSE 0 END)
             FROM tasks GROUP BY report ORDER BY report",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(report, tasks, delivered, unfinished)| {
                let counts = ReportCounts {
                    tasks,
                    delivered,
                    unfinished,
                };
                (report, counts)
            })
            .collect())
    }
}
