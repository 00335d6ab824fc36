//! Speaking for the engine to systemd: its [`Progress`] events become `READY=1`, `STATUS=`
//! and `STOPPING=1` in order, and from `READY=1` until the events end, `WATCHDOG=1` goes out
//! every quarter of `WatchdogSec` while the liveness registry vouches for the process: every
//! registered wait within its own deadline (allowing half a period). A wait overdue, or a loop
//! hanging outside every wait, withholds the pings and systemd restarts the daemon.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::engine::Progress;
use crate::liveness::Liveness;
use crate::service::Notifier;

/// Forwards `events` to `notifier` and feeds its watchdog (if any) until the events end; then
/// says STOPPING=1 last (once READY=1 was said).
pub(super) async fn speak_for(
    notifier: Notifier,
    mut events: mpsc::UnboundedReceiver<Progress>,
    liveness: Liveness,
) {
    let period = notifier.watchdog_period();
    let mut ticks = tokio::time::interval(period.map_or(Duration::from_secs(3600), |p| p / 4));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut ready, mut withheld) = (false, false);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(Progress::Ready(status)) => {
                    notifier.ready(&status);
                    ready = true;
                }
                Some(Progress::Status(status)) => notifier.status(&status),
                Some(Progress::Stopping) => notifier.stopping(),
                None => {
                    if ready {
                        notifier.stopping();
                    }
                    return;
                }
            },
            _ = ticks.tick(), if ready && period.is_some() => {
                let grace = period.unwrap_or_default() / 2;
                let alive = liveness.is_alive(grace);
                if alive {
                    notifier.alive();
                } else if !withheld {
                    match liveness.overdue(grace) {
                        Some((what, late)) => tracing::error!(wait = what, overdue = %humantime::format_duration(late), "a wait is past its deadline: withholding the watchdog's pings"),
                        None => tracing::error!("the daemon is neither progressing nor waiting for a reason: withholding the watchdog's pings"),
                    }
                }
                withheld = !alive;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(4);

    /// The pings sent in `span` of the paused clock, counted in steps of a second.
    async fn pings_during(sent: &std::sync::Mutex<Vec<String>>, span: Duration) -> usize {
        let before = pings(sent);
        let end = tokio::time::Instant::now() + span;
        while tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        pings(sent) - before
    }

    fn pings(sent: &std::sync::Mutex<Vec<String>>) -> usize {
        let sent = sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.iter().filter(|l| l.as_str() == "WATCHDOG=1").count()
    }

    #[tokio::test(start_paused = true)]
    async fn a_day_long_hook_running_beside_an_overdue_step_stops_the_watchdog_pings() {
        let (notifier, sent) = Notifier::recording(PERIOD);
        let liveness = Liveness::default();
        let (events, progress) = mpsc::unbounded_channel();
        let speaker = tokio::spawn(speak_for(notifier, progress, liveness.clone()));
        events
            .send(Progress::Ready("ready".into()))
            .expect("speaker");
        let hook = liveness.background("hook", Duration::from_secs(86400));
        let step = liveness.wait("step", Duration::from_secs(10));
        let fed = pings_during(&sent, Duration::from_secs(10)).await;
        assert!(
            fed >= 8,
            "both waits within their deadlines: {fed} pings in 10 s"
        );
        // The step is stuck past its own deadline (and the grace); the hook still may run.
        tokio::time::sleep(PERIOD / 2 + Duration::from_secs(1)).await;
        let starved = pings_during(&sent, Duration::from_secs(60)).await;
        assert_eq!(
            starved, 0,
            "the hook's day must not vouch for the stuck step"
        );
        drop(step);
        // The loop goes back to sleeping until its next due work.
        let sleep = liveness.wait("sleep", Duration::from_secs(3600));
        let resumed = pings_during(&sent, Duration::from_secs(10)).await;
        assert!(
            resumed >= 8,
            "the stuck wait ended: {resumed} pings in 10 s"
        );
        drop((hook, sleep, events));
        speaker.await.expect("speaker ends with the events");
        let sent = sent.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            sent.first().is_some_and(|d| d.starts_with("READY=1")),
            "{sent:?}"
        );
        assert!(
            sent.last().is_some_and(|d| d.starts_with("STOPPING=1")),
            "{sent:?}"
        );
    }
}
