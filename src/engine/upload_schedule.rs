//! When an upload is tried. An attempt that did not get the object there is tried again after
//! a backoff (2 s doubling, at most 5 min), so a destination down for hours is retried while
//! all else goes on. With several hosts sharing the database, an upload is worked by one: it
//! is claimed by putting its next attempt off by a lease (`Store::claim_upload`, compare-and-set on the time
//! read), and the claim is renewed every third of a lease while the attempt runs, so a long put
//! (a 1 GiB file, a large restatement's copy) is not taken up by another host meanwhile. A host
//! that dies leaves the upload due a lease later; the next host looks at the key first (HEAD),
//! so no second version is written. One host claims nothing. The claim's times are the engine's
//! clock, not the database's (unlike tasks' leases): hosts' clocks must agree within a third of
//! a lease, or one may take up another's upload early (its puts stay conditional).

use std::time::Duration;

use super::parts::Destinations;
use crate::clock::after;
use crate::store::{StoreError, UploadRow};

const FIRST_RETRY: Duration = Duration::from_secs(2);
const MAX_RETRY: Duration = Duration::from_secs(300);

impl Destinations {
    /// Takes `upload` from the other hosts: the time its claim runs to (its due time with one
    /// host), or `None` if another host took it first.
    pub(super) async fn claim_upload(&self, upload: &UploadRow) -> Result<Option<i64>, StoreError> {
        if self.lease.is_none() {
            return Ok(Some(upload.next_attempt_at));
        }
        let until = after(self.shared.now(), self.shared.config.cluster.lease);
        let claimed = self
            .shared
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
        let lease = self.shared.config.cluster.lease;
        // A renewal whose answer was lost may have landed: its time is tried too.
        let mut unanswered = None;
        loop {
            tokio::time::sleep((lease / 3).max(Duration::from_millis(100))).await;
            let next = after(self.shared.now(), lease);
            let mut renewed = self.shared.store.claim_upload(upload.id, until, next).await;
            if let (Ok(false), Some(landed)) = (&renewed, unanswered) {
                renewed = self
                    .shared
                    .store
                    .claim_upload(upload.id, landed, next)
                    .await;
            }
            match renewed {
                Ok(true) => (until, unanswered) = (next, None),
                Ok(false) => {
                    tracing::warn!("the upload's claim was taken over by another host: left to it");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the upload's claim");
                    unanswered = Some(next);
                }
            }
        }
    }

    /// Records a failed attempt: pending again after the backoff.
    pub(super) async fn again(&self, upload: &UploadRow, message: &str) -> Result<(), StoreError> {
        let step = u32::try_from(upload.attempts.clamp(0, 16)).unwrap_or(16);
        let delay = FIRST_RETRY.saturating_mul(1 << step).min(MAX_RETRY);
        let next = crate::clock::after(self.shared.now(), delay);
        tracing::warn!(error = %message, retry_in = ?delay, "upload not done; tried again later");
        self.shared
            .store
            .upload_attempt_failed(upload.id, message, next)
            .await?;
        Ok(())
    }
}
