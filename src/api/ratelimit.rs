//! The daemon-wide request budget (`api.max_requests_per_second`): `governor`'s GCRA with a
//! burst of one, so however many tasks are due the API sees an even, capped rate. Requests
//! wait for the budget one at a time, the others queued behind in order; one that stops
//! waiting (a shutdown drops it) costs no slot. A `Retry-After` pauses the whole budget,
//! including the request already waiting for its slot: it waits for the pause to end, then
//! takes a new slot. The budget runs on tokio's clock, the one the pause and the watchdog's
//! vouches use (and tests can pause), and waits on tokio's timer: `governor`'s own
//! `until_ready` would wait on a separate timer thread, on another clock. Waiting here is
//! legitimate: it vouches for the process to the watchdog (see `liveness`).

use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::Quota;
use tokio::time::Instant;

/// The widest spacing the budget uses, whatever rate it is given (validation refuses rates
/// below one request per 1000 s; this only keeps arithmetic finite).
const MAX_SPACING: Duration = Duration::from_secs(1000);

type Gcra = governor::RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

/// Tokio's clock, as `governor` reads it: the time since the budget was made.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    /// The tokio instant of one of `governor`'s.
    fn instant(&self, at: Nanos) -> Instant {
        self.origin
            .checked_add(Duration::from(at))
            .unwrap_or_else(Instant::now)
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::new(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

/// At most one request per `1 / per_second` (shared among `hosts`), none while paused.
#[derive(Debug)]
pub struct RateLimiter {
    budget: Mutex<std::sync::Arc<Gcra>>,
    /// The account's budget, requests per second, and how many hosts share it now.
    per_second: f64,
    hosts: std::sync::atomic::AtomicU32,
    clock: TokioClock,
    /// Held by the request waiting for the budget; the others queue for it (in order).
    turn: tokio::sync::Mutex<()>,
    /// No request is sent before this (the latest `Retry-After`).
    paused_until: Mutex<Instant>,
}

/// The time between two requests at `per_second`, kept within 1 ns..[`MAX_SPACING`].
fn spacing(per_second: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / per_second)
        .unwrap_or(MAX_SPACING)
        .clamp(Duration::from_nanos(1), MAX_SPACING)
}

/// A budget of one request per `1 / per_second`: a spacing of at least 1 ns always makes a
/// quota; burst 1 is `with_period`'s own.
fn gcra(per_second: f64, clock: TokioClock) -> Gcra {
    let quota = Quota::with_period(spacing(per_second))
        .unwrap_or(Quota::per_second(std::num::NonZeroU32::MIN));
    Gcra::direct_with_clock(quota, clock)
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        let clock = TokioClock {
            origin: Instant::now(),
        };
        RateLimiter {
            budget: Mutex::new(std::sync::Arc::new(gcra(per_second, clock))),
            per_second,
            hosts: std::sync::atomic::AtomicU32::new(1),
            clock,
            turn: tokio::sync::Mutex::new(()),
            paused_until: Mutex::new(clock.origin),
        }
    }

    /// Shares the account's budget among `hosts` hosts (at least one): each sends at most
    /// `per_second / hosts`. A change starts a new budget, with no burst saved up.
    pub fn share_among(&self, hosts: u32) {
        let hosts = hosts.max(1);
        let before = self.hosts.swap(hosts, std::sync::atomic::Ordering::Relaxed);
        if before != hosts {
            let rate = self.per_second / f64::from(hosts);
            *self.budget.lock().unwrap_or_else(|e| e.into_inner()) =
                std::sync::Arc::new(gcra(rate, self.clock));
        }
    }

    fn pause_end(&self) -> Instant {
        *self.paused_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until this request may be sent.
    pub async fn acquire(&self) {
        let _turn = self.turn.lock().await;
        loop {
            let paused_until = self.pause_end();
            if paused_until > Instant::now() {
                // Also when the pause began while this request waited for its slot.
                tokio::time::sleep_until(paused_until).await;
                continue;
            }
            let budget = self
                .budget
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            match budget.check() {
                Ok(()) => return,
                Err(not_until) => {
                    let slot = self.clock.instant(not_until.earliest_possible());
                    tokio::time::sleep_until(slot).await;
                }
            }
        }
    }

    /// Holds every request back until `until` (after a 429 or 503 with `Retry-After`).
    pub fn pause_until(&self, until: Instant) {
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        *paused = (*paused).max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_too_small_too_large_or_not_a_number_gives_a_finite_spacing() {
        for rate in [1e-20, 0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            let spacing = spacing(rate);
            assert!(spacing <= MAX_SPACING && !spacing.is_zero(), "{rate}");
            RateLimiter::new(rate);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_shared_among_three_hosts_spaces_requests_three_times_wider() {
        let limiter = RateLimiter::new(50.0);
        limiter.share_among(3);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(120));
        limiter.share_among(0);
        let alone = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert!(
            alone.elapsed() <= Duration::from_millis(60),
            "{:?}",
            alone.elapsed()
        );
    }

    // Tokio's paused clock: time only moves when every task waits, so these are exact.
    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_by_the_budget_and_an_idle_budget_saves_up_no_burst() {
        let limiter = RateLimiter::new(50.0);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(80));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let idle = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(idle.elapsed(), Duration::from_millis(40));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fractional_rate_spaces_requests_by_its_inverse() {
        let limiter = RateLimiter::new(0.4);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_requests_already_waiting_for_their_slot() {
        let limiter = RateLimiter::new(10.0);
        let start = Instant::now();
        limiter.acquire().await;
        // A second request waits for the slot at 100 ms...
        let waiting = async {
            limiter.acquire().await;
            start.elapsed()
        };
        // ...when a Retry-After of 300 ms arrives.
        let throttled = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            limiter.pause_until(start + Duration::from_millis(320));
        };
        let (sent_at, ()) = tokio::join!(waiting, throttled);
        assert!(sent_at >= Duration::from_millis(320), "{sent_at:?}");
        limiter.acquire().await;
        assert!(start.elapsed() >= sent_at + Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_stops_waiting_costs_no_slot_and_the_queue_keeps_its_order() {
        let limiter = RateLimiter::new(10.0);
        let start = Instant::now();
        limiter.acquire().await;
        // Given up 20 ms into its wait for the slot at 100 ms (as a shutdown drops it).
        let gave_up = tokio::time::timeout(Duration::from_millis(20), limiter.acquire()).await;
        assert!(gave_up.is_err(), "it was still waiting");
        // The next takes that slot; two more queue behind it, in the order they came.
        let order = Mutex::new(Vec::new());
        let queued = |n: u32| {
            let (limiter, order) = (&limiter, &order);
            async move {
                limiter.acquire().await;
                order.lock().expect("order").push((n, start.elapsed()));
            }
        };
        tokio::join!(queued(1), queued(2), queued(3));
        let order = order.into_inner().expect("order");
        let ms = |n| Duration::from_millis(n);
        assert_eq!(order, [(1, ms(100)), (2, ms(200)), (3, ms(300))]);
    }
}
