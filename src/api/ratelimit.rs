//! The daemon-wide request budget (`api.max_requests_per_second`): every request takes the next
//! free slot, so however many tasks are due the API sees an even, capped rate. A `Retry-After`
//! pauses the whole budget, including requests already waiting for their slot: when a slot
//! comes up during a pause, its request waits for the pause to end and takes a new slot.
//! Waiting here is legitimate: it vouches for the process to the watchdog (see `liveness`).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::liveness;

/// The widest spacing the budget uses, whatever rate it is given (validation refuses rates
/// below one request per 1000 s; this only keeps arithmetic finite).
const MAX_SPACING: Duration = Duration::from_secs(1000);

/// Hands out evenly spaced send times; at most one request per `spacing`, none while paused.
#[derive(Debug)]
pub struct RateLimiter {
    spacing: Duration,
    slots: Mutex<Slots>,
}

#[derive(Debug)]
struct Slots {
    /// The earliest free slot.
    next: Instant,
    /// No request is sent before this (the latest `Retry-After`).
    paused_until: Instant,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            spacing: Duration::try_from_secs_f64(1.0 / per_second)
                .unwrap_or(MAX_SPACING)
                .min(MAX_SPACING),
            slots: Mutex::new(Slots {
                next: now,
                paused_until: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until this request may be sent.
    pub async fn acquire(&self) {
        loop {
            let slot = {
                let mut slots = self.lock();
                let slot = slots.next.max(slots.paused_until).max(Instant::now());
                slots.next = slot.checked_add(self.spacing).unwrap_or(slot);
                slot
            };
            liveness::vouch_until(slot);
            tokio::time::sleep_until(slot).await;
            let paused_until = self.lock().paused_until;
            if paused_until <= Instant::now() {
                return;
            }
            // A pause began while this request waited for its slot.
            liveness::vouch_until(paused_until);
            tokio::time::sleep_until(paused_until).await;
        }
    }

    /// Holds every request back until `until` (after a 429 or 503 with `Retry-After`).
    pub fn pause_until(&self, until: Instant) {
        let mut slots = self.lock();
        slots.paused_until = slots.paused_until.max(until);
    }

    /// Until when requests are held back (in the past when they are not).
    pub fn paused_until(&self) -> Instant {
        self.lock().paused_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_too_small_or_not_a_number_gives_a_finite_spacing() {
        for rate in [1e-20, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(RateLimiter::new(rate).spacing <= MAX_SPACING, "{rate}");
        }
    }

    // Tokio's paused clock: time only moves when every task waits, so these are exact.
    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_budget() {
        let limiter = RateLimiter::new(50.0);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(80),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_requests_already_waiting_for_their_slot() {
        let limiter = std::sync::Arc::new(RateLimiter::new(10.0));
        let start = Instant::now();
        limiter.acquire().await;
        // A second request takes the slot at 100 ms and waits for it...
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.acquire().await;
                start.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // ...when a Retry-After of 300 ms arrives.
        limiter.pause_until(start + Duration::from_millis(320));
        let sent_at = waiting.await.expect("task");
        assert!(sent_at >= Duration::from_millis(320), "{sent_at:?}");
        limiter.acquire().await;
        assert!(start.elapsed() >= sent_at + Duration::from_millis(100));
    }
}
