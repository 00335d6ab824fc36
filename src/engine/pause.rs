//! An API-wide pause (a server's `Retry-After` on a 429 or 503) is state: each one the client
//! meets is recorded as a condition (`conditions`), so that a daemon restarted by systemd,
//! `run --once`, `backfill` and `submit` honour it too (no request reaches the API before it
//! has passed), and `status` shows it ("the API asked to wait until 14:05:30 UTC"). A passed
//! pause is cleared, or a capped one rewritten, only if no new pause was recorded meanwhile.

use std::time::SystemTime;

use super::parts::Remote;
use super::EngineError;
use crate::api::Client;
use crate::clock::{after, Clock};
use crate::store::{ConditionKind, NewCondition, Store};

impl Remote {
    /// The end of a recorded API pause still in force at `now`, by the engine's clock: the
    /// step sends nothing before it. It is capped at `api.max_retry_after` from now, so a
    /// clock stepped back cannot hold the daemon for days. A pause that has passed is cleared.
    /// (The client that met the `Retry-After` also holds its own requests back until then, in
    /// real time: requests of the same step wait in its rate budget.)
    pub(super) async fn api_pause(&self, now: i64) -> Result<Option<i64>, EngineError> {
        // Each change below applies only to the pause as read: when the client records a new
        // one meanwhile, the change is refused and the new pause is read again.
        for _ in 0..3 {
            let Some(pause) = self
                .shared
                .store
                .condition(ConditionKind::ApiPaused)
                .await?
            else {
                return Ok(None);
            };
            let cap = after(now, self.shared.config.api.max_retry_after);
            match pause.until_at {
                Some(until) if until > now && until <= cap => return Ok(Some(until)),
                // Recorded past the cap (the clock stepped back, or a lower cap since): the
                // database keeps the capped end, so the next step does not find it again.
                Some(until) if until > now => {
                    if self
                        .shared
                        .store
                        .shorten_condition(&pause, &describe(cap), cap, now)
                        .await?
                    {
                        return Ok(Some(cap));
                    }
                }
                _ => {
                    if self.shared.store.clear_condition(&pause).await? {
                        return Ok(None);
                    }
                }
            }
        }
        // Pauses keep coming faster than they can be read: one more step's wait is right.
        Ok(Some(after(
            now,
            self.shared.config.api.max_retry_after.min(PAUSE_RECHECK),
        )))
    }
}

/// How long a step waits when the recorded pause kept changing under it.
const PAUSE_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Records each pause `client` (or a clone of it) meets, for as long as one of them lives,
/// in `clock`'s time (the engine's, which may be shifted from the system's), on the owner's
/// `tasks`.
pub(super) fn record_pauses(
    store: &Store,
    client: &Client,
    clock: &Clock,
    tasks: &tokio_util::task::TaskTracker,
) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let mut pauses = client.pauses();
    let (store, clock) = (store.clone(), clock.clone());
    tasks.spawn(async move {
        while pauses.changed().await.is_ok() {
            let Some(until) = *pauses.borrow_and_update() else {
                continue;
            };
            let now = clock.now_ms();
            let wait = until.duration_since(SystemTime::now()).unwrap_or_default();
            let until_ms = crate::clock::after(now, wait);
            let said = describe(until_ms);
            tracing::warn!("{said}: holding every request back");
            let pause = NewCondition {
                reason: &said,
                until_at: Some(until_ms),
                key_fingerprint: None,
            };
            let recorded = store
                .record_condition(ConditionKind::ApiPaused, &pause, now)
                .await;
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "cannot record the API's pause; a restart would not honour it");
            }
        }
    });
}

/// "the API asked to wait until 14:05:30 UTC".
fn describe(until_ms: i64) -> String {
    let at = jiff::Timestamp::from_millisecond(until_ms)
        .map(|t| t.strftime("%H:%M:%S").to_string())
        .unwrap_or_else(|_| "a time past the calendar".to_string());
    format!("the API asked to wait until {at} UTC")
}
