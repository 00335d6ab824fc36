//! The loop's pacing: its modes, when the schedules next need looking at ([`ScheduleClock`]),
//! how long to sleep after a step, the status line about it, the wake-up on a reloaded
//! configuration, and the wait after a database error.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::owner::{Progress, Reporter};
use super::scheduler::next_fire;
use super::{Engine, StepOutcome};
use crate::clock::until;
use crate::config::Config;

/// The longest the daemon sleeps without looking at its schedules again.
pub(super) const MAX_SLEEP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Keep running: schedules fire as time passes.
    Daemon,
    /// Do what is due now, wait for every task to end, then return.
    Once,
    /// Schedule nothing; work on the tasks already recorded until none is left in flight
    /// (`backfill`, `submit`).
    Drain,
}

/// After the database failed `failures` times in a row: logs it, says it in the status, and
/// waits (1 s, doubling up to a minute) or until shutdown.
pub(super) async fn wait_after_store_error(
    engine: &Engine,
    err: &crate::store::StoreError,
    failures: u32,
    shutdown: &CancellationToken,
    reporter: &Reporter,
) {
    let wait = Duration::from_secs(1 << failures.saturating_sub(1).min(6)).min(MAX_SLEEP);
    let retry_in = humantime::format_duration(wait);
    tracing::error!(error = %err, %retry_in, failures, "the database failed; tasks keep their state, retrying");
    let _waiting = engine
        .base
        .owner
        .liveness
        .wait("retry after a database error", wait);
    reporter.say(Progress::Status(format!(
        "database error, retrying in {retry_in}: {err}"
    )));
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = shutdown.cancelled() => {}
    }
}

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
