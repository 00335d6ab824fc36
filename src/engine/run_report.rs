//! What a run says about the tasks: at its start, what the configuration's changes mean for
//! the tracked periods; at its end, how many tasks finished well or badly since it started.

use super::{Engine, EngineError};
use crate::store::State;

/// How a run ended: the tasks that finished badly since it started.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub done: usize,
    pub failed: usize,
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
    Ok(summary)
}
