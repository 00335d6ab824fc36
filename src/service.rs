//! The systemd notify protocol: `READY=1`, `STATUS=` lines, `WATCHDOG=1` and `STOPPING=1`
//! through [`Notifier`]. Without `NOTIFY_SOCKET` (not under systemd) every call is a no-op.
//! The application decides when each is said (see `app::systemd`: the watchdog is fed only
//! while every registered wait is within its own deadline, see `liveness`).
//!
//! The watchdog follows `sd_watchdog_enabled(3)`: it is on when `WATCHDOG_USEC` is set and
//! `WATCHDOG_PID` is either unset or this process's pid.

use std::time::Duration;

use sd_notify::NotifyState;

/// The variables of the notify protocol, which a hook or other child must not inherit.
pub const PROTOCOL_VARIABLES: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// Talks to the service manager, if there is one.
#[derive(Debug, Clone)]
pub struct Notifier {
    watchdog: Option<Duration>,
    /// Where the datagrams go: the socket, or (in tests) a list of the lines said.
    #[cfg(test)]
    recorded: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Notifier {
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        Notifier {
            watchdog: watchdog_period(usec.as_deref(), pid.as_deref(), std::process::id()),
            #[cfg(test)]
            recorded: None,
        }
    }

    /// A notifier with a watchdog of `period` that records each datagram it would send (its
    /// lines joined by newlines).
    #[cfg(test)]
    pub(crate) fn recording(
        period: Duration,
    ) -> (Notifier, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let lines = std::sync::Arc::default();
        let notifier = Notifier {
            watchdog: Some(period),
            recorded: Some(std::sync::Arc::clone(&lines)),
        };
        (notifier, lines)
    }

    /// `WatchdogSec`, if the service manager set a watchdog for this process.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        #[cfg(test)]
        if let Some(lines) = &self.recorded {
            let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
            let datagram: Vec<String> = states.iter().map(|state| state.to_string()).collect();
            lines.push(datagram.join("\n"));
            return;
        }
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

    /// Pings the watchdog, if there is one.
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
