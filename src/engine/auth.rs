//! When the API refuses the credentials (401/403) the daemon keeps running but stops calling
//! the API for `api.auth_retry_interval`, logging one clear error per interval; the condition
//! is stored with a fingerprint of the refused key, so `status` shows it and a restart honours
//! it, unless the key has been replaced since (by a reload or before the restart): then the
//! API is called again at once. `run --once` cannot wait out the interval, so it stops (exit 75,
//! its periods still waiting) and its tasks resume at the next run.

use super::parts::Remote;
use super::EngineError;
use crate::api::ApiError;
use crate::clock::after;
use crate::store::{ConditionKind, NewCondition};

/// A refusal in force: until when, and what the API said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRefusal {
    pub until: i64,
    pub message: String,
}

impl Remote {
    /// The refusal in force at `now`, if any. One recorded for another key no longer holds:
    /// it is cleared (unless renewed meanwhile).
    pub(super) async fn auth_refusal(&self, now: i64) -> Result<Option<AuthRefusal>, EngineError> {
        let Some(refusal) = self
            .shared
            .store
            .condition(ConditionKind::AuthBlocked)
            .await?
        else {
            return Ok(None);
        };
        let current = self.shared.config.api.key.fingerprint();
        // A refusal recorded without a fingerprint holds whatever the key. One renewed since it
        // was read (by this key, or the old one) is not cleared: it is read again next step.
        let replaced = refusal
            .key_fingerprint
            .as_ref()
            .is_some_and(|refused| *refused != current);
        if replaced && self.shared.store.clear_condition(&refusal).await? {
            tracing::info!(
                "the API key was replaced since the API refused it: calling the API again"
            );
            return Ok(None);
        }
        let in_force = refusal.until_at.filter(|until| *until > now);
        if in_force.is_none() {
            // The interval has passed: the key is tried again, one request at a time.
            self.client.suspect_credentials();
        }
        Ok(in_force.map(|until| AuthRefusal {
            until,
            message: match &refusal.key_fingerprint {
                Some(refused) => format!("key {refused}: {}", refusal.reason),
                None => refusal.reason.clone(),
            },
        }))
    }

    /// Records a credentials refusal, with the refused key's fingerprint (never the key);
    /// logs it once per interval.
    pub(super) async fn credentials_refused(&self, err: &ApiError) -> Result<(), EngineError> {
        let now = self.shared.now();
        if self.auth_refusal(now).await?.is_some() {
            return Ok(());
        }
        let interval = self.shared.config.api.auth_retry_interval;
        let fingerprint = self.shared.config.api.key.fingerprint();
        let reason = err.to_string();
        let refusal = NewCondition {
            reason: &reason,
            until_at: Some(after(now, interval)),
            key_fingerprint: Some(&fingerprint),
        };
        self.shared
            .store
            .record_condition(ConditionKind::AuthBlocked, &refusal, now)
            .await?;
        tracing::error!(
            error = %err,
            retry_in = %humantime::format_duration(interval),
            "the API refused the credentials: no API calls until the key is replaced or the interval passes"
        );
        Ok(())
    }

    /// After a step in which nobody re-recorded a refusal, an expired one is cleared; one
    /// renewed meanwhile stays.
    pub(super) async fn clear_expired_auth_block(&self, now: i64) -> Result<(), EngineError> {
        let refusal = self
            .shared
            .store
            .condition(ConditionKind::AuthBlocked)
            .await?;
        if let Some(refusal) = refusal {
            if refusal.until_at.is_none_or(|until| until <= now)
                && self.shared.store.clear_condition(&refusal).await?
            {
                tracing::info!("the API accepts the credentials again");
            }
        }
        Ok(())
    }
}
