//! What a run says about the tasks: at its start, what the configuration's changes mean for
//! the tracked periods; at its end, how many tasks finished well or badly since it started and
//! how many still wait; for a one-shot run, when it has waited for the API long enough.

use super::{Engine, EngineError};
use crate::store::State;

/// How a run ended: the tasks that finished well or badly since it started, and those still
/// unfinished at its end (periods not delivered, waiting for the API or for the next run).
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub done: usize,
    pub failed: usize,
    pub waiting: usize,
}

/// Says what the configuration's changes since the last run mean for the tracked periods: one
/// line per changed report, and how many are unchanged.
pub(super) async fn log_changes(engine: &Engine) -> Result<(), EngineError> {
    let changes = super::describe_changes(&engine.store, &engine.config, engine.now()).await?;
    let unchanged = changes.iter().filter(|c| !c.changed).count();
    for change in changes.iter().filter(|c| c.changed) {
        tracing::info!("{}", change.line);
    }
    tracing::info!(
        unchanged,
        "reports whose tracked periods the config leaves as they are"
    );
    Ok(())
}

pub(super) async fn summarise(engine: &Engine, since: i64) -> Result<RunSummary, EngineError> {
    let mut summary = RunSummary::default();
    for (state, count) in engine.store.count_changed_since(since).await? {
        let count = usize::try_from(count).unwrap_or(0);
        match state.parse::<State>() {
            Ok(State::Done) => summary.done += count,
            Ok(State::Failed | State::Expired | State::Lost) => summary.failed += count,
            _ => {}
        }
    }
    summary.waiting = usize::try_from(engine.store.count_active().await?).unwrap_or(0);
    Ok(summary)
}

/// Whether a one-shot run has waited long enough: every unfinished task is a period the API
/// has kept from being sent (`intent`, or `creating` awaiting its reconcile) and the run has
/// lasted `polling.deadline`. The periods are not expired: they keep waiting, for the next run.
pub(super) async fn waited_out(engine: &Engine, started: i64) -> Result<bool, EngineError> {
    if engine.now() <= crate::clock::after(started, engine.config.polling.deadline) {
        return Ok(false);
    }
    let (mut unsent, mut active) = (0, 0);
    for (state, count) in engine.store.count_by_state().await? {
        match state.parse::<State>() {
            Ok(State::Intent | State::Creating) => {
                (unsent, active) = (unsent + count, active + count)
            }
            Ok(State::Polling | State::Downloading) => active += count,
            _ => {}
        }
    }
    if active > 0 && unsent == active {
        tracing::warn!(
            waiting = unsent,
            "still waiting for the API after polling.deadline: the run stops; the periods keep waiting for the next run"
        );
        return Ok(true);
    }
    Ok(false)
}
