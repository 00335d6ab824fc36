//! The uploader (issue 22): each pending `uploads` row (written with the version it delivers,
//! the durable intent) is put to its bucket in its own task on the owner's tracker, at most
//! [`UPLOAD_SLOTS`] at once, while steps go on. One attempt:
//!
//! - a row for the period's current key (or its manifest's) that a newer version (or
//!   rewrite) has since claimed is `superseded` (the newer one replaces whatever is there);
//! - after an earlier attempt, and for a large file, a HEAD first: the same sha256 there
//!   means delivered, with no second put (a small file's crash after its put is met by the
//!   412 of the next put and the same HEAD);
//! - a create-only put (`If-None-Match: *`); refused, a HEAD decides: the same sha256 is
//!   delivered; the sha256 of the version this one replaces (for a manifest: of an earlier
//!   upload of it) is replaced on condition that the object still has the ETag just seen
//!   (`If-Match`); anything else `failed`, naming the key, never overwritten (`retry` again);
//! - a transport fault or a changed local file: pending again after a backoff (2 s doubling,
//!   at most 5 min), so a destination down for hours is retried while all else goes on.
//!
//! A crash between a put landing and its record is met by the HEAD of the next attempt. With
//! several hosts, an upload is claimed by one (`claim_upload`).

use tracing::Instrument;

use super::parts::Destinations;
use crate::objects::{Bucket, ObjectError, Put};
use crate::store::{StoreError, UploadRow};

pub(super) const UPLOAD_SLOTS: usize = 4; // uploads at once

enum Attempt {
    Delivered(Option<String>),
    Superseded,
    Refused(String),
    Again(String),
}

impl Destinations {
    /// Starts due uploads in their own tasks, as many as there are free slots. Returns whether
    /// any is running (a one-shot run waits for them).
    pub(super) async fn start_due_uploads(&self) -> Result<bool, StoreError> {
        let running = self.owner.uploads.clone();
        let busy = running.lock().unwrap_or_else(|e| e.into_inner()).len();
        let free = UPLOAD_SLOTS.saturating_sub(busy);
        if free == 0 {
            return Ok(true);
        }
        let (store, now) = (&self.shared.store, self.shared.now());
        let due = store.due_uploads(now, (free + busy) as i64).await?;
        for upload in due {
            {
                let mut set = running.lock().unwrap_or_else(|e| e.into_inner());
                if set.len() >= UPLOAD_SLOTS || !set.insert(upload.id) {
                    continue;
                }
            }
            let Some(claimed) = self.claim_upload(&upload).await? else {
                running
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&upload.id);
                continue;
            };
            let destinations = self.clone();
            let running = running.clone();
            let span = tracing::info_span!("upload", id = upload.task_id, report = %upload.report,
                destination = %upload.destination, key = %upload.object_key);
            self.owner.tasks.spawn(
                async move {
                    // An upload whose claim another host took over (this one could not renew
                    // it) is left to that host.
                    let attempt = tokio::select! {
                        biased;
                        attempt = destinations.upload_once(&upload) => attempt,
                        () = destinations.keep_claimed(&upload, claimed) => Ok(()),
                    };
                    if let Err(e) = attempt {
                        tracing::error!(error = %e, "the upload's outcome could not be recorded; it is looked at again");
                    }
                    running.lock().unwrap_or_else(|e| e.into_inner()).remove(&upload.id);
                    destinations.owner.hooks.wake();
                }
                .instrument(span),
            );
        }
        let busy = !running.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
        Ok(busy)
    }

    async fn upload_once(&self, upload: &UploadRow) -> Result<(), StoreError> {
        let bucket = match self.buckets.get(&upload.destination) {
            Some(Ok(bucket)) => bucket,
            Some(Err(e)) => return self.again(upload, e).await,
            None => {
                let why = format!(
                    "destination {:?} is not in the config: put its [destinations.{}] back",
                    upload.destination, upload.destination
                );
                return self.again(upload, &why).await;
            }
        };
        let now = || self.shared.now();
        match self.attempt(bucket, upload).await {
            Ok(Attempt::Delivered(etag)) => {
                let url = bucket.url(&upload.object_key);
                if self
                    .shared
                    .store
                    .upload_delivered(upload, etag.as_deref(), &url, now())
                    .await?
                {
                    crate::crashpoint::hit("upload.recorded");
                    tracing::info!(url = %url, "delivered to the destination");
                }
                Ok(())
            }
            Ok(Attempt::Superseded) => {
                let message = format!(
                    "{}: version {} superseded at {} by a newer version",
                    upload.destination, upload.version, upload.object_key
                );
                self.shared
                    .store
                    .upload_ended(upload, "superseded", &message, now())
                    .await?;
                Ok(())
            }
            Ok(Attempt::Refused(message)) => {
                tracing::error!(%message, "upload refused");
                self.shared
                    .store
                    .upload_ended(upload, "failed", &message, now())
                    .await?;
                Ok(())
            }
            Ok(Attempt::Again(message)) => self.again(upload, &message).await,
            Err(e) => self.again(upload, &e.to_string()).await,
        }
    }

    async fn attempt(&self, bucket: &Bucket, upload: &UploadRow) -> Result<Attempt, ObjectError> {
        let key = upload.object_key.as_str();
        if upload.role != "kept"
            && self
                .shared
                .store
                .newer_upload_of_key(upload)
                .await
                .unwrap_or(false)
        {
            return Ok(Attempt::Superseded);
        }
        // After an earlier attempt (or a crash after a put: the 412 of the next put would say
        // so too, but a large file would be sent whole first), a HEAD before any put.
        if upload.attempts > 0 || upload.bytes >= crate::objects::MULTIPART_FROM as i64 {
            if let Some(head) = bucket.head(key).await? {
                let found = digest(bucket, key, &head).await?;
                if found.is_some_and(|f| f.eq_ignore_ascii_case(&upload.sha256)) {
                    return Ok(Attempt::Delivered(head.etag));
                }
            }
        }
        let source = std::path::Path::new(&upload.source_path);
        let put = bucket.put_file(key, source, &upload.sha256, None).await;
        let put = match put {
            Err(ObjectError::SourceChanged { .. }) if upload.role != "kept" => {
                // The period's file (or manifest) moved on, the newer upload not yet recorded.
                return Ok(Attempt::Again(put.unwrap_err().to_string()));
            }
            other => other?,
        };
        if let Put::Written(etag) = put {
            crate::crashpoint::hit("upload.put_landed");
            return Ok(Attempt::Delivered(etag));
        }
        let Some(head) = bucket.head(key).await? else {
            return Ok(Attempt::Again(format!("{key}: refused, then not found")));
        };
        let found = digest(bucket, key, &head).await?;
        let same = |sha256: &str| {
            found
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case(sha256))
        };
        if same(&upload.sha256) {
            return Ok(Attempt::Delivered(head.etag));
        }
        // The key holds an older version of the period (the one this replaces, or an earlier
        // one when versions in between were superseded while the destination was away), or
        // for a manifest what an earlier upload of it put: it is replaced, on condition that
        // it still holds what the HEAD saw.
        let older = match (&found, upload.role.as_str()) {
            (Some(found), "current") => {
                (self.shared.store)
                    .is_earlier_version(&upload.request, upload.version, found)
                    .await
            }
            (Some(found), "manifest") => {
                self.shared
                    .store
                    .is_earlier_upload_of_key(upload, found)
                    .await
            }
            _ => Ok(false),
        };
        let older = older.map_err(|e| ObjectError::Transfer {
            key: key.to_string(),
            message: e.to_string(),
        })?;
        if let (true, Some(etag)) = (older, head.etag.as_deref()) {
            return match bucket
                .put_file(key, source, &upload.sha256, Some(etag))
                .await?
            {
                Put::Written(etag) => {
                    crate::crashpoint::hit("upload.put_landed");
                    Ok(Attempt::Delivered(etag))
                }
                Put::Refused => Ok(Attempt::Again(format!("{key}: changed while replaced"))),
            };
        }
        // A newer upload of the key (recorded and put while this one ran) is not other bytes.
        if upload.role != "kept"
            && self
                .shared
                .store
                .newer_upload_of_key(upload)
                .await
                .unwrap_or(false)
        {
            return Ok(Attempt::Superseded);
        }
        Ok(Attempt::Refused(format!(
            "{}: {} holds other bytes than version {} (sha256 {}): not overwritten; remove or rename the object, then `retry`",
            upload.destination, bucket.url(key), upload.version, upload.sha256
        )))
    }
}

/// The sha256 of the object at `key`: its metadata, or its bytes read and hashed when it has
/// none (an object another writer put, or a large file's multipart copy).
async fn digest(
    bucket: &Bucket,
    key: &str,
    head: &crate::objects::Head,
) -> Result<Option<String>, ObjectError> {
    match &head.sha256 {
        Some(s) => Ok(Some(s.clone())),
        None => bucket.hash_object(key).await,
    }
}
