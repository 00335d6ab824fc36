//! With several hosts sharing the database, an upload is worked by one: it is claimed by
//! putting its next attempt off by a lease (`Store::claim_upload`, compare-and-set on the time
//! read), and the claim is renewed every third of a lease while the attempt runs, so a long put
//! (a 1 GiB file, a large restatement's copy) is not taken up by another host meanwhile. A host
//! that dies leaves the upload due a lease later; the next host looks at the key first (HEAD),
//! so no second version is written. One host claims nothing.

use std::time::Duration;

use super::Engine;
use crate::clock::after;
use crate::store::{StoreError, UploadRow};

impl Engine {
    /// Takes `upload` from the other hosts: the time its claim runs to (its due time with one
    /// host), or `None` if another host took it first.
    pub(super) async fn claim_upload(&self, upload: &UploadRow) -> Result<Option<i64>, StoreError> {
        if self.lease.is_none() {
            return Ok(Some(upload.next_attempt_at));
        }
        let until = after(self.now(), self.config.cluster.lease);
        let claimed = self
            .store
            .claim_upload(upload.id, upload.next_attempt_at, until)
            .await?;
        Ok(claimed.then_some(until))
    }

    /// Renews the claim on `upload` (made to run to `until`) every third of a lease; returns
    /// only once another host holds it (never with one host). A database out of reach is
    /// tried again at the next renewal.
    pub(super) async fn keep_claimed(&self, upload: &UploadRow, mut until: i64) {
        if self.lease.is_none() {
            return std::future::pending().await;
        }
        let lease = self.config.cluster.lease;
        loop {
            tokio::time::sleep((lease / 3).max(Duration::from_millis(100))).await;
            let next = after(self.now(), lease);
            match self.store.claim_upload(upload.id, until, next).await {
                Ok(true) => until = next,
                Ok(false) => {
                    tracing::warn!("the upload's claim was taken over by another host: left to it");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "cannot renew the upload's claim"),
            }
        }
    }
}
