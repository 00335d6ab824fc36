//! systemd integration: `READY=1` once the database is migrated and the config loaded,
//! `STATUS=` lines saying what the daemon is doing, `WATCHDOG=1` from the working loop, and
//! `STOPPING=1` on shutdown. Without `NOTIFY_SOCKET` (not under systemd) every call is a no-op.
//!
//! The watchdog follows `sd_watchdog_enabled(3)`: it is on when `WATCHDOG_USEC` is set and
//! `WATCHDOG_PID` is either unset or this process's pid. `WATCHDOG=1` comes from a
//! [`Heartbeat`] task that pings four times per period while the process vouches for itself
//! (see `liveness`): while it progresses, or waits for a reason with an end (a `Retry-After`,
//! the rate budget, a backoff, a request's timeout, a hook's `hook_timeout`). A loop that hangs
//! outside every such wait stops the pings, and systemd restarts it.

use std::time::Duration;

use sd_notify::NotifyState;

/// The variables of the notify protocol, which a hook or other child must not inherit.
pub const PROTOCOL_VARIABLES: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// Talks to the service manager, if there is one.
#[derive(Debug, Clone)]
pub struct Notifier {
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Notifier {
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        Notifier {
            watchdog: watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id()),
        }
    }

    /// How often the working loop must ping: half of `WatchdogSec`, if a watchdog is set.
    pub fn ping_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(false, states) {
            tracing::debug!(error = %e, "cannot notify the service manager");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// Called by the working loop after each step; pings the watchdog if there is one.
    pub fn alive(&self) {
        if self.watchdog.is_some() {
            self.send(&[NotifyState::Watchdog]);
        }
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }
}

/// The watchdog period `sd_watchdog_enabled(3)` would report: `WATCHDOG_USEC` when it parses to
/// a positive number and `WATCHDOG_PID` is absent or names `me`.
fn watchdog_period(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec = usec?.trim().parse::<u64>().ok().filter(|u| *u > 0)?;
    match pid.map(|p| p.trim().parse::<u32>()) {
        None => Some(Duration::from_micros(usec)),
        Some(Ok(pid)) if pid == me => Some(Duration::from_micros(usec)),
        Some(_) => None,
    }
}

/// The task that feeds the watchdog; it stops when dropped.
pub struct Heartbeat(Option<tokio::task::JoinHandle<()>>);

impl Heartbeat {
    /// Starts pinging for `notifier`'s watchdog, if it has one: every quarter period, while
    /// the process vouches for itself (allowing half a period after the last vouch ended).
    pub fn start(notifier: &Notifier) -> Heartbeat {
        let Some(period) = notifier.watchdog else {
            return Heartbeat(None);
        };
        let notifier = notifier.clone();
        Heartbeat(Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period / 4);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut withheld = false;
            loop {
                ticks.tick().await;
                let alive = crate::liveness::is_vouched(period / 2);
                if alive {
                    notifier.alive();
                } else if !withheld {
                    tracing::error!("the daemon is neither progressing nor waiting for a reason: withholding the watchdog's pings");
                }
                withheld = !alive;
            }
        })))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_on_when_watchdog_pid_is_unset_or_ours() {
        let half_second = Some(Duration::from_millis(500));
        assert_eq!(watchdog_period(Some("500000"), None, 42), half_second);
        assert_eq!(watchdog_period(Some("500000"), Some("42"), 42), half_second);
    }

    #[test]
    fn the_watchdog_is_off_for_another_pid_a_zero_or_a_garbled_period() {
        assert_eq!(watchdog_period(Some("500000"), Some("43"), 42), None);
        assert_eq!(watchdog_period(Some("500000"), Some("x"), 42), None);
        assert_eq!(watchdog_period(Some("0"), None, 42), None);
        assert_eq!(watchdog_period(Some("soon"), None, 42), None);
        assert_eq!(watchdog_period(None, Some("42"), 42), None);
    }
}
