//! A task is the request it makes (migration 0008), so configuration changes are changes of
//! labels or of requests. Here: carrying a task over to its report's new name, format and
//! file name (a rename creates nothing again), which requests are already tracked,
//! re-rendering a failed task's request from the corrected config for `retry`, the settings a
//! task was created with, and hooks skipped for a removed report. (`report_view` has the
//! reads that say what a change means.)

use super::events::{append, expect_changed};
use super::{canonical_request, NewTask, State, Store, StoreError};
use super::{NewestRequest, Rerendered};

/// Which of a batch of canonical requests (a JSON array) a task makes: their keys.
pub(super) const TRACKED_REQUESTS: &str = if super::POSTGRES {
    "SELECT n.ord - 1 FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS n(value, ord)
     WHERE EXISTS (SELECT 1 FROM tasks AS t WHERE t.request = n.value)"
} else {
    "SELECT n.key FROM json_each($1) AS n
    WHERE EXISTS (SELECT 1 FROM tasks AS t WHERE t.request = n.value)"
};
/// Carries the tasks of $1 (`[[request, refresh, report, format, file name], …]`) over to
/// their report's new name, format and file name at $2 (a delivered task keeps its file's).
const CARRY_OVER: &str = if super::POSTGRES {
    "UPDATE tasks SET report = n.value ->> 2,
        format = CASE WHEN tasks.state = 'done' THEN tasks.format ELSE n.value ->> 3 END,
        file_name = CASE WHEN tasks.state = 'done' THEN tasks.file_name ELSE n.value ->> 4 END,
        updated_at = $2
     FROM jsonb_array_elements($1::jsonb) AS n(value)
     WHERE tasks.request = n.value ->> 0 AND tasks.refresh = (n.value ->> 1)::bigint
        AND (tasks.report <> n.value ->> 2 OR (tasks.state <> 'done'
            AND (tasks.format <> n.value ->> 3 OR tasks.file_name <> n.value ->> 4)))
     RETURNING tasks.id, tasks.report"
} else {
    "UPDATE tasks SET report = n.value ->> 2,
        format = CASE WHEN tasks.state = 'done' THEN format ELSE n.value ->> 3 END,
        file_name = CASE WHEN tasks.state = 'done' THEN file_name ELSE n.value ->> 4 END,
        updated_at = $2
     FROM json_each($1) AS n
     WHERE tasks.request = n.value ->> 0 AND tasks.refresh = n.value ->> 1
        AND (tasks.report <> n.value ->> 2 OR (tasks.state <> 'done'
            AND (tasks.format <> n.value ->> 3 OR tasks.file_name <> n.value ->> 4)))
     RETURNING tasks.id, tasks.report"
};

/// Every first delivery of each report's newest tracked period.
pub(super) const NEWEST_REQUESTS: &str = "SELECT t.report, t.period_from, t.period_to, t.request
    FROM tasks AS t JOIN (
        SELECT report, MAX(period_from) AS newest FROM tasks GROUP BY report
    ) AS n ON t.report = n.report AND t.period_from = n.newest
    WHERE t.refresh = 0";

impl Store {
    /// For each due period whose request already has a task under another name, format or
    /// file name: the task is carried over to the report's new name, and (while its file is
    /// not delivered) its new format and file name. Returns how many tasks changed.
    pub async fn carry_over(&self, news: &[NewTask], now: i64) -> Result<usize, StoreError> {
        let batch: Vec<serde_json::Value> = news
            .iter()
            .map(|n| {
                serde_json::json!([
                    canonical_request(&n.template, &n.parameters),
                    n.refresh,
                    n.report,
                    n.format.as_str(),
                    n.file_name
                ])
            })
            .collect();
        let batch = serde_json::Value::Array(batch).to_string();
        let mut tx = self.write().await?;
        let moved: Vec<(i64, String)> = sqlx::query_as(CARRY_OVER)
            .bind(batch)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        for (id, report) in &moved {
            let message =
                format!("carried over to report {report}'s current settings: the same request");
            append(&mut tx, *id, now, Some(&message)).await?;
        }
        tx.commit().await?;
        Ok(moved.len())
    }

    /// For each canonical request, whether a task already makes it (any refresh): a task is
    /// the request it makes, so a changed request (template, parameters, period kind, date
    /// style) is not tracked even where its report tracks the same period under another. One
    /// query for the batch, answered from the (request, refresh) unique index.
    pub async fn tracked_requests(&self, requests: &[&str]) -> Result<Vec<bool>, StoreError> {
        let batch = serde_json::to_string(requests).unwrap_or_else(|_| "[]".into());
        let tracked: Vec<i64> = sqlx::query_scalar(TRACKED_REQUESTS)
            .bind(batch)
            .fetch_all(&self.pool)
            .await?;
        let mut flags = vec![false; requests.len()];
        for key in tracked {
            if let Some(flag) = usize::try_from(key).ok().and_then(|k| flags.get_mut(k)) {
                *flag = true;
            }
        }
        Ok(flags)
    }

    /// Each report's newest tracked period, as (report, first day, `date_to`, request) for every
    /// first delivery starting on that day (several when the request changed, or month-to-date
    /// periods share it): where catch-up starts, when the config still makes one of them.
    pub async fn newest_requests(&self) -> Result<Vec<NewestRequest>, StoreError> {
        Ok(sqlx::query_as(NEWEST_REQUESTS)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Makes a failed, expired or lost task (in state `expected`) ask what `new` asks: the
    /// config's template, parameters, format and file name for its period. A changed request
    /// drops the old remote task, so `retry` creates the new one.
    pub async fn rerender(
        &self,
        id: i64,
        expected: State,
        new: &NewTask,
        now: i64,
    ) -> Result<Rerendered, StoreError> {
        let request = canonical_request(&new.template, &new.parameters);
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE request = $1 AND id <> $3 AND (refresh = $2
                OR state IN ('intent', 'creating', 'polling', 'downloading', 'held'))",
        )
        .bind(&request)
        .bind(new.refresh)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(by) = taken {
            return Ok(Rerendered::Taken { by });
        }
        let mut tx = self.write().await?;
        let old: Option<String> = sqlx::query_scalar("SELECT request FROM tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let changed = old.as_deref() != Some(request.as_str());
        let parameters = serde_json::Value::Object(new.parameters.clone()).to_string();
        let affected = sqlx::query(
            "UPDATE tasks SET template = $1, parameters = $2, request = $3, format = $4,
                file_name = $5, settings = $6, updated_at = $7,
                uuid = CASE WHEN $8 THEN NULL ELSE uuid END,
                remote_status = CASE WHEN $8 THEN NULL ELSE remote_status END,
                intent_at = CASE WHEN $8 THEN NULL ELSE intent_at END
             WHERE id = $9 AND state = $10",
        )
        .bind(&new.template)
        .bind(parameters)
        .bind(&request)
        .bind(new.format.as_str())
        .bind(&new.file_name)
        .bind(new.settings.as_deref())
        .bind(now)
        .bind(changed)
        .bind(id)
        .bind(expected.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, expected)?;
        let message = match changed {
            true => format!("operator: retry with the config's request {request}"),
            false => "operator: retry; the config asks the same".to_string(),
        };
        append(&mut tx, id, now, Some(&message)).await?;
        tx.commit().await?;
        Ok(Rerendered::Done { changed })
    }

    /// The settings (JSON) task `id` was created with, if recorded.
    pub async fn task_settings(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>("SELECT settings FROM tasks WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// A hook (pending or claimed to run) of a report no longer configured: not run, and not
    /// recorded as ok.
    pub async fn skip_hook(&self, id: i64, message: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let affected = sqlx::query(
            "UPDATE tasks SET hook_state = 'skipped', updated_at = $1
             WHERE id = $2 AND hook_state IN ('pending', 'running')",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if affected > 0 {
            append(&mut tx, id, now, Some(message)).await?;
        }
        Ok(tx.commit().await?)
    }
}
