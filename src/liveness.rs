//! Proof of life for the systemd watchdog. Work that is progressing or waiting for a reason the
//! daemon can name vouches for the process for as long as that reason lasts: a request for its
//! `request_timeout`, a wait in the rate budget or behind a `Retry-After` until its end, a
//! download until its idle timeout, a hook for its `hook_timeout`, the loop for its sleep.
//! The heartbeat (`service::spawn_heartbeat`) pings only while some vouch is in force, so a
//! loop that hangs outside every bounded wait stops the pings and systemd restarts it.
//!
//! One process-wide deadline, kept as milliseconds since the first use (monotonic clock).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static ALIVE_UNTIL: AtomicU64 = AtomicU64::new(0);

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn millis_since_base(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(base()).as_millis()).unwrap_or(u64::MAX)
}

/// The process is alive and busy with bounded work until `for_at_least` from now.
pub fn vouch(for_at_least: Duration) {
    let until = Instant::now()
        .checked_add(for_at_least)
        .map(millis_since_base)
        .unwrap_or(u64::MAX);
    ALIVE_UNTIL.fetch_max(until, Ordering::Relaxed);
}

/// The process is alive and waits legitimately until `until` (a tokio instant: the rate
/// budget's slot, the end of a `Retry-After`).
pub fn vouch_until(until: tokio::time::Instant) {
    vouch(until.saturating_duration_since(tokio::time::Instant::now()));
}

/// Whether some vouch is in force now, allowing `grace` after the last one ended (the short
/// unvouched stretches between two bounded waits: a database statement, a log line).
pub fn is_vouched(grace: Duration) -> bool {
    let now = millis_since_base(Instant::now());
    let grace = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
    ALIVE_UNTIL.load(Ordering::Relaxed).saturating_add(grace) >= now
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
    fn a_vouch_holds_for_its_duration_and_a_huge_one_does_not_overflow() {
        vouch(Duration::from_millis(200));
        assert!(is_vouched(Duration::ZERO));
        vouch(Duration::MAX);
        assert!(is_vouched(Duration::MAX));
    }
}
