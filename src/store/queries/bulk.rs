//! Changes applied to many tasks in one transaction, for the statuses a batched list brought
//! back: tasks still running get their next poll time, completed ones move to `downloading`.
//! Each statement takes its rows as one JSON array (`json_each`), so a page of 500 tasks costs
//! a handful of statements and one commit instead of one commit each. Compare-and-set as
//! everywhere (only rows still `polling` change); the ids that did change get their events.
//!
//! The statements name the table `NOT INDEXED`, so SQLite looks each row up by its id (the
//! rowid). Otherwise the state condition leads its planner to walk every task in that state
//! (index `tasks_state_report`) and, for each, every element of the array: O(tasks × batch),
//! JSON extractions included. That was the largest CPU cost of the scale benchmark (16 % of
//! its samples at N = 1,000, in SQLite's JSON functions), and it grows with N squared.

use super::events::{append_many, id_list};
use super::PollUpdate;
use super::{Store, StoreError};

/// Records the polls of ?2 (`[{"id", "status", "next_at"}, …]`) at ?1, on rows still `polling`.
pub(super) const RECORD_POLLS: &str = if super::POSTGRES {
    "UPDATE tasks SET remote_status = p.value ->> 'status',
        backoff_step = backoff_step + 1, next_attempt_at = (p.value ->> 'next_at')::bigint,
        last_error = NULL, missing_since = NULL, updated_at = $1
     FROM jsonb_array_elements($2::jsonb) AS p(value)
     WHERE tasks.id = (p.value ->> 'id')::bigint AND tasks.state = 'polling'
     RETURNING tasks.id"
} else {
    "UPDATE tasks NOT INDEXED SET remote_status = p.value ->> 'status',
        backoff_step = backoff_step + 1, next_attempt_at = p.value ->> 'next_at',
        last_error = NULL, missing_since = NULL, updated_at = $1
     FROM json_each($2) AS p
     WHERE tasks.id = p.value ->> 'id' AND tasks.state = 'polling'
     RETURNING tasks.id"
};
/// Moves the rows of ?3 (an id array) still `polling` to `downloading` at ?2, status ?1.
pub(super) const BEGIN_DOWNLOADS: &str = if super::POSTGRES {
    "UPDATE tasks SET state = 'downloading', remote_status = $1, backoff_step = 0,
        next_attempt_at = $2, last_error = NULL, missing_since = NULL, updated_at = $2
     WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text($3::jsonb) AS j(value))
        AND state = 'polling'
     RETURNING id"
} else {
    "UPDATE tasks NOT INDEXED SET state = 'downloading', remote_status = $1, backoff_step = 0,
        next_attempt_at = $2, last_error = NULL, missing_since = NULL, updated_at = $2
     WHERE id IN (SELECT value FROM json_each($3)) AND state = 'polling'
     RETURNING id"
};

impl Store {
    /// Records many polls in one transaction (the bulk form of `apply`'s poll effect, the same
    /// columns written; `lifecycle::decide` made each one). Returns how
    /// many rows another process had changed meanwhile, or another host had taken over (left
    /// as they are).
    pub async fn record_polls(&self, polls: &[PollUpdate], now: i64) -> Result<usize, StoreError> {
        if polls.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write().await?;
        let ids: Vec<i64> = polls.iter().map(|p| p.id).collect();
        let held: std::collections::HashSet<i64> =
            self.held(&mut tx, &ids, 0).await?.into_iter().collect();
        let polls: Vec<&PollUpdate> = polls.iter().filter(|p| held.contains(&p.id)).collect();
        let json = serde_json::to_string(&polls).map_err(|e| StoreError::Encode(e.to_string()))?;
        let updated: Vec<i64> = sqlx::query_scalar(RECORD_POLLS)
            .bind(now)
            .bind(json)
            .fetch_all(&mut *tx)
            .await?;
        let updated_set: std::collections::HashSet<i64> = updated.iter().copied().collect();
        let changed: Vec<i64> = polls
            .iter()
            .filter(|p| p.changed && updated_set.contains(&p.id))
            .map(|p| p.id)
            .collect();
        append_many(&mut tx, &changed, now, None).await?;
        tx.commit().await?;
        Ok(ids.len() - updated.len())
    }

    /// Moves many completed tasks to `downloading` in one transaction (the bulk form of
    /// `apply`'s download effect; `lifecycle::decide` made each one). Returns the ids moved (others were changed meanwhile,
    /// or taken over by another host).
    pub async fn begin_downloads(
        &self,
        ids: &[i64],
        status: &str,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let ids = self.held(&mut tx, ids, 0).await?;
        let moved: Vec<i64> = sqlx::query_scalar(BEGIN_DOWNLOADS)
            .bind(status)
            .bind(now)
            .bind(id_list(&ids))
            .fetch_all(&mut *tx)
            .await?;
        append_many(&mut tx, &moved, now, Some("report ready: downloading")).await?;
        tx.commit().await?;
        Ok(moved)
    }
}
