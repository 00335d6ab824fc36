//! When the API refuses the credentials (401/403) the daemon keeps running but stops calling
//! the API for `api.auth_retry_interval`, logging one clear error per interval; the condition
//! is stored, so `status` shows it and a restart honours it.

use super::{ms, now_ms, Engine, EngineError};
use crate::api::ApiError;
use crate::store::AUTH_BLOCKED;

impl Engine {
    /// Until when API calls are suspended, if they are.
    pub(super) async fn auth_blocked_until(&self, now: i64) -> Result<Option<i64>, EngineError> {
        let condition = self.store.condition(AUTH_BLOCKED).await?;
        Ok(condition
            .and_then(|c| c.until_at)
            .filter(|until| *until > now))
    }

    /// Records a credentials refusal; logs it once per interval.
    pub(super) async fn credentials_refused(&self, err: &ApiError) -> Result<(), EngineError> {
        let now = now_ms();
        if self.auth_blocked_until(now).await?.is_some() {
            return Ok(());
        }
        let interval = self.config.api.auth_retry_interval;
        let until = now + ms(interval);
        self.store
            .set_condition(AUTH_BLOCKED, &err.to_string(), Some(until), now)
            .await?;
        tracing::error!(
            error = %err,
            retry_in = %humantime::format_duration(interval),
            "the API refused the credentials: no API calls until the key is fixed or the interval passes"
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
