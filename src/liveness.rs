//! Proof of life for the systemd watchdog: a registry of the process's outstanding waits.
//! Each long wait (the loop's sleep, a step, a request, a download's next chunk, a hook)
//! registers itself with its own deadline and gets a [`Wait`] guard that unregisters it when
//! the wait ends. The watchdog is fed ([`Liveness::is_alive`]) only while every registered
//! wait is within its own deadline, and while the registry is empty only briefly (the
//! stretches between two waits): a hook allowed to run for a day cannot hide a poll loop stuck
//! past its step's bound, and a loop hanging outside every wait stops the pings too. Work that
//! runs beside the loop (a hook) registers as a *background* wait: it is held to its own
//! deadline, but it does not count as the loop being somewhere, so a loop hanging outside its
//! waits stops the pings even while a day-long hook runs.
//!
//! The application makes one [`Liveness`] and hands clones to the engine and the API client;
//! deadlines are on tokio's clock, so tests can pause it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The registry of outstanding waits (cheap to clone: every clone is the same registry).
#[derive(Debug, Clone)]
pub struct Liveness(Arc<Mutex<Waits>>);

#[derive(Debug)]
struct Waits {
    next_id: u64,
    /// Each outstanding wait: what it is, until when it may last, and whether it runs beside
    /// the loop (background) rather than being where the loop is.
    open: BTreeMap<u64, (&'static str, Instant, bool)>,
    /// How many of them are the loop's own (not background).
    foreground: usize,
    /// When the last of the loop's own waits ended.
    idle_since: Instant,
}

/// One outstanding wait; it is unregistered when dropped.
#[must_use = "the wait is unregistered as soon as its guard is dropped"]
#[derive(Debug)]
pub struct Wait {
    registry: Liveness,
    id: u64,
}

impl Default for Liveness {
    fn default() -> Liveness {
        Liveness(Arc::new(Mutex::new(Waits {
            next_id: 0,
            open: BTreeMap::new(),
            foreground: 0,
            idle_since: Instant::now(),
        })))
    }
}

impl Liveness {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waits> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a wait named `what` that may last `bound` from now.
    pub fn wait(&self, what: &'static str, bound: Duration) -> Wait {
        let now = Instant::now();
        self.wait_until(what, now.checked_add(bound).unwrap_or_else(far_future))
    }

    /// Registers a wait named `what` that may last until `deadline`.
    pub fn wait_until(&self, what: &'static str, deadline: Instant) -> Wait {
        self.register(what, deadline, false)
    }

    /// Registers work named `what` that runs beside the loop for at most `bound` (a hook): held
    /// to its deadline, but not counted as the loop being in a wait.
    pub fn background(&self, what: &'static str, bound: Duration) -> Wait {
        let deadline = Instant::now().checked_add(bound).unwrap_or_else(far_future);
        self.register(what, deadline, true)
    }

    fn register(&self, what: &'static str, deadline: Instant, background: bool) -> Wait {
        let mut waits = self.lock();
        let id = waits.next_id;
        waits.next_id += 1;
        waits.open.insert(id, (what, deadline, background));
        if !background {
            waits.foreground += 1;
        }
        Wait {
            registry: self.clone(),
            id,
        }
    }

    /// The first registered wait past its deadline by more than `grace`, if any: what it is
    /// and how long it has been overdue.
    pub fn overdue(&self, grace: Duration) -> Option<(&'static str, Duration)> {
        let now = Instant::now();
        let waits = self.lock();
        waits
            .open
            .values()
            .map(|(what, deadline, _)| (*what, now.saturating_duration_since(*deadline)))
            .filter(|(_, late)| *late > grace)
            .max_by_key(|(_, late)| *late)
    }

    /// Whether the process may be vouched for now: no wait overdue (allowing `grace` past its
    /// deadline), and one of the loop's own waits registered or the last one ended within
    /// `grace` (background work does not count).
    pub fn is_alive(&self, grace: Duration) -> bool {
        if self.overdue(grace).is_some() {
            return false;
        }
        let waits = self.lock();
        waits.foreground > 0 || waits.idle_since.elapsed() <= grace
    }

    /// How many waits are registered now.
    pub fn outstanding(&self) -> usize {
        self.lock().open.len()
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let mut waits = self.registry.lock();
        if let Some((_, _, false)) = waits.open.remove(&self.id) {
            waits.foreground -= 1;
            if waits.foreground == 0 {
                waits.idle_since = Instant::now();
            }
        }
    }
}

/// A deadline no wait reaches (about 30 years ahead).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_millis(500);

    #[tokio::test(start_paused = true)]
    async fn a_wait_holds_for_its_bound_and_its_grace_then_is_overdue() {
        let liveness = Liveness::default();
        let _sleep = liveness.wait("sleep", Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(30) + GRACE).await;
        assert!(liveness.is_alive(GRACE), "within the grace");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!liveness.is_alive(GRACE), "overdue");
        assert_eq!(liveness.overdue(GRACE).map(|(w, _)| w), Some("sleep"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_registry_is_alive_only_briefly_after_the_last_wait_ended() {
        let liveness = Liveness::default();
        drop(liveness.wait("request", Duration::from_secs(5)));
        assert_eq!(liveness.outstanding(), 0);
        assert!(liveness.is_alive(GRACE), "just between two waits");
        tokio::time::advance(GRACE * 2).await;
        assert!(!liveness.is_alive(GRACE), "hanging outside every wait");
    }

    #[tokio::test(start_paused = true)]
    async fn a_day_long_hook_does_not_vouch_for_an_overdue_poll() {
        let liveness = Liveness::default();
        let _hook = liveness.background("hook", Duration::from_secs(86400));
        let _poll = liveness.wait("step", Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(liveness.is_alive(GRACE));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!liveness.is_alive(GRACE), "the hook must not hide the step");
        drop(_poll);
        assert!(liveness.is_alive(GRACE), "the overdue wait ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_loop_hanging_outside_its_waits_is_not_vouched_for_by_a_running_hook() {
        let liveness = Liveness::default();
        let _hook = liveness.background("hook", Duration::from_secs(86400));
        drop(liveness.wait("step", Duration::from_secs(10)));
        assert!(liveness.is_alive(GRACE), "just between two steps");
        tokio::time::advance(GRACE * 2).await;
        assert!(
            !liveness.is_alive(GRACE),
            "the hook's day must not vouch for a loop that registers no wait"
        );
        let _sleep = liveness.wait("sleep", Duration::from_secs(60));
        assert!(liveness.is_alive(GRACE), "the loop is back in a wait");
    }

    #[tokio::test(start_paused = true)]
    async fn a_background_wait_past_its_own_deadline_is_overdue() {
        let liveness = Liveness::default();
        let _sleep = liveness.wait("sleep", Duration::from_secs(3600));
        let _hook = liveness.background("hook", Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(5) + GRACE * 2).await;
        assert_eq!(liveness.overdue(GRACE).map(|(w, _)| w), Some("hook"));
        assert!(!liveness.is_alive(GRACE));
    }

    #[test]
    fn a_huge_bound_does_not_overflow() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let liveness = Liveness::default();
            let _wait = liveness.wait("forever", Duration::MAX);
            assert!(liveness.is_alive(Duration::ZERO));
        });
    }
}
