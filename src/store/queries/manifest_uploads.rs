//! What the uploader asks of a period's manifest uploads (issue 22, migration 0020): a
//! manifest is rewritten with every outcome of its period, so its key at a destination holds,
//! at any time, what one of the period's uploads of that key put there. One found holding an
//! earlier upload's bytes is replaced (on condition that it still holds them); anything else
//! is never overwritten.

use super::{Store, StoreError, UploadRow};

impl Store {
    /// Whether `sha256` is the content an earlier upload of `upload`'s period put (or was to
    /// put) at the same key of the same destination: an object holding it may be replaced by
    /// `upload`.
    pub async fn is_earlier_upload_of_key(
        &self,
        upload: &UploadRow,
        sha256: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM uploads WHERE request = $1 AND destination = $2
                AND object_key = $3 AND id < $4 AND LOWER(sha256) = LOWER($5))",
        )
        .bind(&upload.request)
        .bind(&upload.destination)
        .bind(&upload.object_key)
        .bind(upload.id)
        .bind(sha256)
        .fetch_one(&self.pool)
        .await?)
    }
}
