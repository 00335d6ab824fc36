//! One step of the loop, bounded: past [`STEP_LIMIT`] it sends nothing more and gets
//! `request_timeout` to end; on shutdown it gets `daemon.shutdown_timeout`. The step registers
//! in the liveness registry as one wait bounded by those limits.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::owner::{Progress, Reporter};
use super::{Engine, EngineError, StepOutcome};

/// The longest one step runs: past it no new request of the step is sent, in-flight ones get
/// `request_timeout`, and the loop goes on (the tasks keep their state).
const STEP_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Runs a step; on shutdown, lets it finish within `shutdown_timeout`, else abandons it. A
/// step past [`STEP_LIMIT`] sends nothing more and is given `request_timeout` to end. The step
/// registers as one wait bounded by those limits.
pub(super) async fn step_or_stop(
    engine: &Engine,
    shutdown: &CancellationToken,
    schedule: bool,
    reporter: &Reporter,
    stopped_at: &mut Option<Instant>,
) -> Result<Option<StepOutcome>, EngineError> {
    let request_timeout = engine.config().api.request_timeout;
    let _stepping = engine
        .base
        .owner
        .liveness
        .wait("step", STEP_LIMIT.saturating_add(request_timeout));
    let step_stop = shutdown.child_token();
    let bounded = engine.with_client(engine.base.client.clone().stopping_on(step_stop.clone()));
    let step = bounded.step(schedule);
    tokio::pin!(step);
    tokio::select! {
        outcome = &mut step => outcome.map(Some),
        _ = tokio::time::sleep(STEP_LIMIT) => {
            step_stop.cancel();
            tracing::warn!(limit = %humantime::format_duration(STEP_LIMIT), "the step ran past its limit: nothing more is sent in it");
            match tokio::time::timeout(request_timeout, step).await {
                Ok(outcome) => outcome.map(Some),
                Err(_) => {
                    tracing::warn!("the step did not end within api.request_timeout: abandoned (its tasks resume at the next step)");
                    Ok(Some(StepOutcome { active: 1, ..StepOutcome::default() }))
                }
            }
        }
        _ = shutdown.cancelled() => {
            *stopped_at = Some(Instant::now());
            reporter.say(Progress::Stopping);
            let grace = engine.config().daemon.shutdown_timeout;
            let _grace = engine.base.owner.liveness.wait("in-flight work at shutdown", grace);
            tracing::info!(grace = %humantime::format_duration(grace), "shutting down: letting in-flight work finish");
            match tokio::time::timeout(grace, step).await {
                Ok(outcome) => outcome.map(|_| None),
                Err(_) => {
                    tracing::warn!("in-flight work did not finish within daemon.shutdown_timeout: abandoned (it resumes at the next start)");
                    Ok(None)
                }
            }
        }
    }
}
