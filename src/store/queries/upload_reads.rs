//! Reads of the object-storage deliveries (`uploads`, see `uploads`): the uploader's due
//! rows and next wake, whether a newer version took a period's current key, a task's uploads
//! (for `show` and the hooks' object URLs) and each destination's summary (for `status` and
//! the metrics).

use super::uploads::UPLOAD_COLUMNS;
use super::{DestinationSummary, Store, StoreError, UploadRow};

impl Store {
    /// Pending uploads due at `now`, oldest first.
    pub async fn due_uploads(&self, now: i64, limit: i64) -> Result<Vec<UploadRow>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads u JOIN tasks t ON t.id = u.task_id
             WHERE u.state = 'pending' AND u.next_attempt_at <= $1 ORDER BY u.id LIMIT $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// When the next pending upload is due.
    pub async fn next_upload_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM uploads WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Whether a newer version of `upload`'s period (or, for a manifest, a later rewrite) is
    /// to go (or went) to the same key of the same destination: the older one is then
    /// superseded there.
    pub async fn newer_upload_of_key(&self, upload: &UploadRow) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM uploads WHERE request = $1 AND destination = $2
                AND object_key = $3 AND (version > $4 OR (version = $4 AND id > $5))
                AND state <> 'superseded')",
        )
        .bind(&upload.request)
        .bind(&upload.destination)
        .bind(&upload.object_key)
        .bind(upload.version)
        .bind(upload.id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Task `task_id`'s uploads, by id.
    pub async fn task_uploads(&self, task_id: i64) -> Result<Vec<UploadRow>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads u JOIN tasks t ON t.id = u.task_id
             WHERE u.task_id = $1 ORDER BY u.id"
        );
        Ok(sqlx::query_as(&sql)
            .bind(task_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every destination's counts (manifests included), the bytes of the file versions delivered
    /// (manifests left out), the oldest pending and the newest error.
    pub async fn destination_summaries(&self) -> Result<Vec<DestinationSummary>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT destination,
                COUNT(*) FILTER (WHERE state = 'delivered') AS delivered,
                COUNT(*) FILTER (WHERE state = 'pending') AS pending,
                COUNT(*) FILTER (WHERE state = 'failed') AS failed,
                CAST(COALESCE(SUM(bytes) FILTER (WHERE state = 'delivered' AND role <> 'manifest'), 0)
                    AS BIGINT) AS bytes,
                MIN(pending_since) FILTER (WHERE state = 'pending') AS pending_since,
                (SELECT e.last_error FROM uploads e WHERE e.destination = u.destination
                    AND e.state IN ('pending', 'failed') AND e.last_error IS NOT NULL
                    ORDER BY e.id DESC LIMIT 1) AS last_error
             FROM uploads u GROUP BY destination ORDER BY destination",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The uploads of version `version` of the period `request` (under whichever task: a
    /// restatement puts the version it moves aside), by id: what its hook waits for and names.
    pub async fn version_uploads(
        &self,
        request: &str,
        version: i64,
    ) -> Result<Vec<UploadRow>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads u JOIN tasks t ON t.id = u.task_id
             WHERE u.request = $1 AND u.version = $2 ORDER BY u.id"
        );
        Ok(sqlx::query_as(&sql)
            .bind(request)
            .bind(version)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Whether `sha256` is the file of a version of the period `request` older than
    /// `version`: an object holding it may be replaced by `version`.
    pub async fn is_earlier_version(
        &self,
        request: &str,
        version: i64,
        sha256: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE request = $1 AND version < $2
                AND LOWER(sha256) = LOWER($3))",
        )
        .bind(request)
        .bind(version)
        .bind(sha256)
        .fetch_one(&self.pool)
        .await?)
    }
}
