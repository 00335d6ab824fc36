//! When the API refuses the credentials (401/403) the daemon keeps running but stops calling
//! the API for `api.auth_retry_interval`, logging one clear error per interval; the condition
//! is stored with a fingerprint of the refused key, so `status` shows it and a restart honours
//! it, unless the key has been replaced since (by a reload or before the restart): then the
//! API is called again at once. `run --once` cannot wait out the interval, so it stops (exit 1)
//! and its tasks resume at the next run.

use super::{Engine, EngineError};
use crate::api::ApiError;
use crate::clock::after;
use crate::store::{Condition, AUTH_BLOCKED};

/// A refusal in force: until when, and what the API said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRefusal {
    pub until: i64,
    pub message: String,
}

impl Engine {
    /// The refusal in force at `now`, if any. One recorded for another key no longer holds:
    /// it is cleared.
    pub(super) async fn auth_refusal(&self, now: i64) -> Result<Option<AuthRefusal>, EngineError> {
        let Some(condition) = self.store.condition(AUTH_BLOCKED).await? else {
            return Ok(None);
        };
        let current = self.config.api.key.fingerprint();
        if refused_key(&condition).is_some_and(|refused| refused != current) {
            self.store.clear_condition(AUTH_BLOCKED).await?;
            tracing::info!(
                "the API key was replaced since the API refused it: calling the API again"
            );
            return Ok(None);
        }
        let in_force = condition.until_at.filter(|until| *until > now);
        if in_force.is_none() {
            // The interval has passed: the key is tried again, one request at a time.
            self.client.suspect_credentials();
        }
        Ok(in_force.map(|until| AuthRefusal {
            until,
            message: condition.value,
        }))
    }

    /// Records a credentials refusal; logs it once per interval.
    pub(super) async fn credentials_refused(&self, err: &ApiError) -> Result<(), EngineError> {
        let now = self.now();
        if self.auth_refusal(now).await?.is_some() {
            return Ok(());
        }
        let interval = self.config.api.auth_retry_interval;
        let until = after(now, interval);
        let value = format!("key {}: {err}", self.config.api.key.fingerprint());
        self.store
            .set_condition(AUTH_BLOCKED, &value, Some(until), now)
            .await?;
        tracing::error!(
            error = %err,
            retry_in = %humantime::format_duration(interval),
            "the API refused the credentials: no API calls until the key is replaced or the interval passes"
        );
        Ok(())
    }

    /// After a step in which nobody re-recorded a refusal, an expired one is cleared.
    pub(super) async fn clear_expired_auth_block(&self, now: i64) -> Result<(), EngineError> {
        let condition = self.store.condition(AUTH_BLOCKED).await?;
        if let Some(c) = condition {
            if c.until_at.is_none_or(|until| until <= now) {
                self.store.clear_condition(AUTH_BLOCKED).await?;
                tracing::info!("the API accepts the credentials again");
            }
        }
        Ok(())
    }
}

/// The fingerprint of the key a stored refusal was for (`key <fingerprint>: <message>`);
/// `None` for a refusal recorded without one, which then holds whatever the key.
fn refused_key(condition: &Condition) -> Option<&str> {
    let rest = condition.value.strip_prefix("key ")?;
    rest.split_once(": ").map(|(fingerprint, _)| fingerprint)
}
