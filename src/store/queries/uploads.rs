//! Object-storage deliveries (issue 22, migration 0017): one `uploads` row per (period,
//! version, destination, object key), written pending in the transaction that records the
//! version, then moved by the uploader, each change compare-and-set on `pending` with the
//! task's event. A delivered upload adds the ledger's `deliveries` row for its destination
//! (a version already delivered there under its current key keeps that row; a manifest adds
//! none). The reads for
//! the operator's `status`, `show` and the metrics are in `upload_reads`.

use super::events::append;
use super::{Conn, NewUpload, Store, StoreError, UploadRow};

pub(super) const UPLOAD_COLUMNS: &str = "u.id, u.task_id, t.report, u.request, u.version,
    u.destination, u.role, u.object_key, u.source_path, u.bytes, u.sha256, u.replaces_sha256,
    u.state, u.attempts, u.next_attempt_at, u.pending_since, u.last_error, u.etag,
    u.delivered_at";

/// Records `uploads` of task `task_id`'s new version, pending from `now` (inside the caller's
/// transaction: the durable intent of each put).
pub(super) async fn insert_pending(
    conn: &mut Conn,
    task_id: i64,
    request: &str,
    uploads: &[NewUpload],
    now: i64,
) -> Result<(), StoreError> {
    for u in uploads {
        sqlx::query(
            "INSERT INTO uploads (task_id, request, version, destination, role, object_key,
                source_path, bytes, sha256, replaces_sha256, next_attempt_at, pending_since)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
             ON CONFLICT (request, version, destination, object_key, sha256) DO NOTHING",
        )
        .bind(task_id)
        .bind(request)
        .bind(u.version)
        .bind(&u.destination)
        .bind(u.role)
        .bind(&u.object_key)
        .bind(&u.source_path)
        .bind(u.bytes)
        .bind(&u.sha256)
        .bind(&u.replaces_sha256)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The object is at its key with the upload's bytes: delivered, the ledger's delivery
    /// row for the destination added (kept as it is when the version has one there already).
    pub async fn upload_delivered(
        &self,
        upload: &UploadRow,
        etag: Option<&str>,
        location: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE uploads SET state = 'delivered', etag = $1, delivered_at = $2,
                last_error = NULL
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(etag)
        .bind(now)
        .bind(upload.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Ok(false);
        }
        // A manifest is no version of the file: the ledger's deliveries do not list it.
        if upload.role != "manifest" {
            sqlx::query(
                "INSERT INTO deliveries (task_id, request, version, destination, location, bytes,
                sha256, data_rows, delivered_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, NULL, $8
             ON CONFLICT (request, version, destination) DO NOTHING",
            )
            .bind(upload.task_id)
            .bind(&upload.request)
            .bind(upload.version)
            .bind(&upload.destination)
            .bind(location)
            .bind(upload.bytes)
            .bind(&upload.sha256)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let message = format!("delivered to {}: {location}", upload.destination);
        append(&mut tx, upload.task_id, now, Some(&message)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An attempt that did not get the object there: tried again at `next_at`.
    pub async fn upload_attempt_failed(
        &self,
        id: i64,
        error: &str,
        next_at: i64,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE uploads SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(error)
        .bind(next_at)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// The upload ends without a put: `failed` (the key holds other bytes; an operator's
    /// `retry` makes it pending again) or `superseded` (a newer version took the key).
    pub async fn upload_ended(
        &self,
        upload: &UploadRow,
        state: &str,
        message: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE uploads SET state = $1, last_error = $2, attempts = attempts + 1
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(state)
        .bind(message)
        .bind(upload.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Ok(false);
        }
        append(&mut tx, upload.task_id, now, Some(message)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every pending upload due at `now` at the latest (a start does not wait out a backoff).
    pub async fn uploads_due_at(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE uploads SET next_attempt_at = $1
             WHERE state = 'pending' AND next_attempt_at > $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// An operator's `retry` of task `task_id`: its failed uploads pending again, due now.
    /// Returns how many.
    pub async fn retry_failed_uploads(&self, task_id: i64, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE uploads SET state = 'pending', next_attempt_at = $1, pending_since = $1
             WHERE task_id = $2 AND state = 'failed'",
        )
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            let message = format!("retry: {changed} failed upload(s) pending again");
            append(&mut tx, task_id, now, Some(&message)).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
