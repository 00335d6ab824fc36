//! The evidence a downloaded body that failed verification leaves: the sha256 of the last
//! rejected body of the current remote task, read back and recorded with the re-download. A
//! second rejection with the same sha256 resubmits the period as a new remote task (the remote
//! file is bad: a resubmission, which clears the evidence); a first one, or one with
//! different bytes, is downloaded again. Each change follows the rule of `events`.

use super::{Store, StoreError};

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
}
