//! Changes applied to many tasks in one transaction, for the statuses a batched list brought
//! back: tasks still running get their next poll time, completed ones move to `downloading`.
//! Each statement takes its rows as one JSON array (`json_each`), so a page of 500 tasks costs
//! a handful of statements and one commit instead of one commit each; the event trigger
//! (migration 0007) still appends each task's event.

use super::{Store, StoreError};

/// A polled task still running remotely: its status and when to look at it next.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PollUpdate {
    pub id: i64,
    pub status: String,
    pub next_at: i64,
    /// Whether the status differs from the stored one (only then is an event kept).
    #[serde(skip)]
    pub changed: bool,
}

impl Store {
    /// Records many polls in one transaction (see [`Store::record_poll`] for one).
    pub async fn record_polls(&self, polls: &[PollUpdate], now: i64) -> Result<(), StoreError> {
        if polls.is_empty() {
            return Ok(());
        }
        let (changed, same): (Vec<&PollUpdate>, Vec<&PollUpdate>) =
            polls.iter().partition(|p| p.changed);
        let mut tx = self.pool.begin().await?;
        for (rows, event) in [(changed, true), (same, false)] {
            if rows.is_empty() {
                continue;
            }
            let json = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_string());
            let sql = if event {
                "UPDATE tasks SET remote_status = p.value ->> 'status', tries = tries + 1,
                    next_attempt_at = p.value ->> 'next_at', last_error = NULL, updated_at = ?1,
                    event_message = NULL
                 FROM json_each(?2) AS p WHERE tasks.id = p.value ->> 'id'"
            } else {
                "UPDATE tasks SET remote_status = p.value ->> 'status', tries = tries + 1,
                    next_attempt_at = p.value ->> 'next_at', last_error = NULL, updated_at = ?1
                 FROM json_each(?2) AS p WHERE tasks.id = p.value ->> 'id'"
            };
            sqlx::query(sql)
                .bind(now)
                .bind(json)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx.commit().await?)
    }

    /// Moves many completed tasks to `downloading` in one statement (see
    /// [`Store::begin_download`] for one).
    pub async fn begin_downloads(
        &self,
        ids: &[i64],
        status: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_string());
        sqlx::query(
            "UPDATE tasks SET state = 'downloading', remote_status = ?1, tries = 0,
                next_attempt_at = ?2, last_error = NULL, updated_at = ?2,
                event_message = 'report ready: downloading'
             WHERE id IN (SELECT value FROM json_each(?3))",
        )
        .bind(status)
        .bind(now)
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
