//! The loop's pacing: when the schedules next need looking at ([`ScheduleClock`]), how long
//! to sleep after a step, what to tell the service manager about it, and the wake-up on a
//! reloaded configuration.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::scheduler::next_fire;
use super::{RunMode, StepOutcome};
use crate::clock::until;
use crate::config::Config;

/// The longest the daemon sleeps without looking at its schedules again.
pub(super) const MAX_SLEEP: Duration = Duration::from_secs(60);

pub(super) fn sleep_for(outcome: &StepOutcome, mode: RunMode, now: i64) -> Duration {
    let cap = match mode {
        RunMode::Daemon => MAX_SLEEP,
        RunMode::Once | RunMode::Drain => Duration::from_secs(5),
    };
    match outcome.next_due_at {
        Some(at) => until(now, at).min(cap),
        None => cap,
    }
}

/// When the schedules next need looking at. Computed once per scheduling pass instead of on
/// every step: with 10,000 reports, evaluating every schedule each step would dominate.
#[derive(Debug, Default)]
pub(super) struct ScheduleClock {
    /// The next fire time of any report (Unix ms), and which report and local time it is.
    pub(super) next: Option<(i64, String, String)>,
    advanced: bool,
}

impl ScheduleClock {
    pub(super) fn is_first(&self) -> bool {
        !self.advanced
    }

    pub(super) fn is_due(&self, now: i64) -> bool {
        match &self.next {
            _ if !self.advanced => true,
            Some((at, _, _)) => now >= *at,
            None => false,
        }
    }

    /// Looks up the next fire time after `now`.
    pub(super) fn advance(&mut self, config: &Config, now: i64) {
        self.advanced = true;
        self.next = next_fire(config, now).map(|(report, at)| {
            let local = at.strftime("%Y-%m-%d %H:%M %Z").to_string();
            (at.timestamp().as_millisecond(), report, local)
        });
    }

    /// How long until the schedules need looking at again.
    pub(super) fn until_due(&self, now: i64) -> Duration {
        match &self.next {
            Some((at, _, _)) => until(now, *at),
            None => MAX_SLEEP,
        }
    }
}

/// What the daemon is doing, for systemd's `STATUS=`: tasks in flight and the next due report.
pub(super) fn status_line(clock: &ScheduleClock, outcome: &StepOutcome) -> String {
    let mut line = format!("{} task(s) in flight", outcome.active);
    if let Some((_, report, local)) = &clock.next {
        line.push_str(&format!(", next due {report} {local}"));
    }
    line
}

/// Resolves when a new configuration arrives (`true`); never, without a reload channel or
/// once its sender is gone.
pub(super) async fn reload_signalled(reloads: Option<&mut watch::Receiver<Arc<Config>>>) -> bool {
    if let Some(rx) = reloads {
        if rx.changed().await.is_ok() {
            return true;
        }
    }
    std::future::pending().await
}
