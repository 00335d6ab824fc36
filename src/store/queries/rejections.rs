//! The evidence a downloaded body that failed verification leaves: the sha256 of the last
//! rejected body of the current remote task, read back and recorded with the re-download. A
//! second rejection with the same sha256 resubmits the period as a new remote task (the remote
//! file is bad: `progress`'s resubmission, which clears the evidence); a first one, or one with
//! different bytes, is downloaded again. Each change follows the rule of `events`.

use super::events::{append, expect_changed};
use super::{State, Store, StoreError};

impl Store {
    /// The sha256 of the last rejected body of remote task `uuid`, if one was rejected.
    pub async fn rejected_body(&self, id: i64, uuid: &str) -> Result<Option<String>, StoreError> {
        let sha256: Option<Option<String>> = sqlx::query_scalar(
            "SELECT rejected_sha256 FROM tasks WHERE id = $1 AND rejected_uuid = $2",
        )
        .bind(id)
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(sha256.flatten())
    }

    /// A downloaded body of remote task `uuid` failed verification: its sha256 is kept as the
    /// evidence, and the file is downloaded again at `next_at`.
    pub async fn record_rejected(
        &self,
        id: i64,
        uuid: &str,
        sha256: &str,
        next_at: i64,
        message: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.fence(&mut tx, id).await?;
        let affected = sqlx::query(
            "UPDATE tasks SET rejected_sha256 = $1, rejected_uuid = $2,
                backoff_step = backoff_step + 1, next_attempt_at = $3, last_error = $4,
                updated_at = $5
             WHERE id = $6 AND state = 'downloading' AND uuid = $2",
        )
        .bind(sha256)
        .bind(uuid)
        .bind(next_at)
        .bind(message)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        expect_changed(affected, id, State::Downloading)?;
        append(&mut tx, id, now, Some(message)).await?;
        Ok(tx.commit().await?)
    }
}
