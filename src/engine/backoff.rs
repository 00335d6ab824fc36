//! How long to wait before looking at a task again. Polls grow from `initial_interval` by
//! `multiplier` up to `max_interval`, with jitter so thousands of tasks do not poll in step;
//! retries after errors use full jitter, and never undercut a server's `Retry-After`; a task
//! rescheduled after a failed try (`Ledger::retry_later`).

use std::time::Duration;

use rand::Rng;

use super::parts::Ledger;
use super::EngineError;
use crate::api::{ApiError, ErrorClass};
use crate::clock::after;
use crate::config::PollingConfig;
use crate::lifecycle::Observation;
use crate::store::TaskRow;

/// The exponential curve without jitter: `initial * multiplier^n`, capped at `max`.
fn curve(polling: &PollingConfig, n: i64) -> Duration {
    let exp = polling.multiplier.powi(n.clamp(0, 64) as i32);
    let secs = polling.initial_interval.as_secs_f64() * exp;
    // Finite and bounded by the validated config; whatever it is, no panic.
    Duration::try_from_secs_f64(secs.min(polling.max_interval.as_secs_f64()))
        .unwrap_or(polling.max_interval)
}

/// Delay before the next status poll, after `polls` polls so far: between 75 % and 100 % of
/// the curve, never below `initial_interval` nor above `max_interval`.
pub fn poll_delay(polling: &PollingConfig, polls: i64) -> Duration {
    let full = curve(polling, polls);
    let jittered = full.mul_f64(rand::rng().random_range(0.75..=1.0));
    jittered.clamp(polling.initial_interval, polling.max_interval)
}

/// Delay before retrying after the `tries`-th consecutive failure: full jitter over the curve,
/// at least 100 ms, and at least the server's `Retry-After`.
pub fn retry_delay(polling: &PollingConfig, tries: i64, retry_after: Option<Duration>) -> Duration {
    let cap = curve(polling, tries);
    let jittered = cap.mul_f64(rand::rng().random_range(0.0..=1.0));
    jittered
        .max(Duration::from_millis(100))
        .max(retry_after.unwrap_or(Duration::ZERO))
}

/// Delay before resubmitting a period whose remote task failed (`attempt` tasks so far).
pub fn resubmit_delay(polling: &PollingConfig, attempt: i64) -> Duration {
    curve(polling, attempt)
}

impl Ledger {
    /// Reschedules after a failed try: transient errors back off (never undercutting
    /// `Retry-After`). A credentials error also suspends every API call for
    /// `api.auth_retry_interval` (see `auth`), which holds the task back with all the others.
    pub(super) async fn retry_later(
        &self,
        task: &TaskRow,
        err: &ApiError,
    ) -> Result<(), EngineError> {
        if let ApiError::Stopped { .. } = err {
            // Nothing was sent: the task stays as it is and is due again at the next start.
            tracing::debug!(error = %err, "left for the next start");
            return Ok(());
        }
        if err.class() == ErrorClass::Credentials {
            self.remote.credentials_refused(err).await?;
        }
        let delay = retry_delay(
            &self.shared.config.polling,
            task.backoff_step + 1,
            err.retry_after(),
        );
        self.reschedule(task, delay, &err.to_string()).await
    }

    /// Notes `message` as the task's last error and looks at the task again after `delay`.
    pub(super) async fn reschedule(
        &self,
        task: &TaskRow,
        delay: Duration,
        message: &str,
    ) -> Result<(), EngineError> {
        tracing::warn!(error = %message, retry_in = %humantime::format_duration(delay), "will retry");
        let retry_at = after(self.shared.now(), delay);
        let message = message.to_string();
        self.observe(task, Observation::Fault { message, retry_at })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polling() -> PollingConfig {
        PollingConfig {
            initial_interval: Duration::from_secs(10),
            max_interval: Duration::from_secs(600),
            multiplier: 2.0,
            deadline: Duration::from_secs(3600),
            lost_after: Duration::from_secs(600),
        }
    }

    #[test]
    fn polls_stay_between_the_initial_and_the_maximum_interval() {
        let p = polling();
        for polls in 0..40 {
            let d = poll_delay(&p, polls);
            assert!(
                d >= p.initial_interval && d <= p.max_interval,
                "{polls}: {d:?}"
            );
        }
        assert!(poll_delay(&p, 20) >= Duration::from_secs(450));
    }

    #[test]
    fn polls_grow_exponentially_until_the_cap() {
        let p = polling();
        assert_eq!(curve(&p, 0), Duration::from_secs(10));
        assert_eq!(curve(&p, 3), Duration::from_secs(80));
        assert_eq!(curve(&p, 10), Duration::from_secs(600));
    }

    #[test]
    fn extreme_settings_and_counts_give_bounded_delays_without_panicking() {
        let mut p = polling();
        p.multiplier = 100.0;
        p.max_interval = Duration::from_secs(30 * 24 * 3600);
        for n in [i64::MIN, -1, 0, 1, 64, i64::MAX] {
            assert!(curve(&p, n) <= p.max_interval);
            assert!(poll_delay(&p, n) <= p.max_interval);
            let huge = Some(Duration::from_secs(u64::MAX));
            assert_eq!(retry_delay(&p, n, huge), Duration::from_secs(u64::MAX));
        }
        assert_eq!(crate::clock::after(i64::MAX - 1, Duration::MAX), i64::MAX);
    }

    #[test]
    fn a_retry_never_undercuts_retry_after() {
        let p = polling();
        for tries in 0..10 {
            let d = retry_delay(&p, tries, Some(Duration::from_secs(30)));
            assert!(d >= Duration::from_secs(30));
            assert!(retry_delay(&p, tries, None) <= Duration::from_secs(600));
        }
    }
}
