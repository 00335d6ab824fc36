//! Proof of life for the systemd watchdog. Work that is progressing or waiting for a reason the
//! daemon can name vouches for the process for as long as that reason lasts: a request for its
//! `request_timeout`, a wait in the rate budget or behind a `Retry-After` until its end, a
//! download until its idle timeout, a hook for its `hook_timeout`, the loop for its sleep.
//! The heartbeat (`service::spawn_heartbeat`) pings only while some vouch is in force, so a
//! loop that hangs outside every bounded wait stops the pings and systemd restarts it.
//!
//! One process-wide deadline, kept as milliseconds since its first use (monotonic clock).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A deadline until which the process is vouched for.
#[derive(Debug)]
struct Vouched {
    base: Instant,
    /// Milliseconds since `base`.
    until: AtomicU64,
}

impl Vouched {
    fn new() -> Vouched {
        Vouched {
            base: Instant::now(),
            until: AtomicU64::new(0),
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    fn vouch(&self, for_at_least: Duration) {
        let until = Instant::now()
            .checked_add(for_at_least)
            .map(|at| self.millis(at))
            .unwrap_or(u64::MAX);
        self.until.fetch_max(until, Ordering::Relaxed);
    }

    fn holds(&self, grace: Duration) -> bool {
        let now = self.millis(Instant::now());
        let grace = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        self.until.load(Ordering::Relaxed).saturating_add(grace) >= now
    }
}

fn process() -> &'static Vouched {
    static PROCESS: OnceLock<Vouched> = OnceLock::new();
    PROCESS.get_or_init(Vouched::new)
}

/// The process is alive and busy with bounded work until `for_at_least` from now.
pub fn vouch(for_at_least: Duration) {
    process().vouch(for_at_least);
}

/// The process is alive and waits legitimately until `until` (a tokio instant: the rate
/// budget's slot, the end of a `Retry-After`).
pub fn vouch_until(until: tokio::time::Instant) {
    vouch(until.saturating_duration_since(tokio::time::Instant::now()));
}

/// Whether some vouch is in force now, allowing `grace` after the last one ended (the short
/// unvouched stretches between two bounded waits: a database statement, a log line).
pub fn is_vouched(grace: Duration) -> bool {
    process().holds(grace)
}

/// Runs `work`, vouching for it until `bound` has passed (work with its own time limit).
pub async fn bounded<F: Future>(bound: Duration, work: F) -> F::Output {
    vouch(bound);
    work.await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vouch_holds_for_its_duration_and_its_grace_then_lapses() {
        let vouched = Vouched::new();
        std::thread::sleep(Duration::from_millis(5));
        assert!(!vouched.holds(Duration::ZERO), "nothing vouched yet");
        vouched.vouch(Duration::from_millis(30));
        assert!(vouched.holds(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!vouched.holds(Duration::ZERO), "lapsed");
        assert!(vouched.holds(Duration::from_secs(10)), "within the grace");
    }

    #[test]
    fn a_huge_vouch_does_not_overflow() {
        let vouched = Vouched::new();
        vouched.vouch(Duration::MAX);
        assert!(vouched.holds(Duration::MAX));
    }
}
