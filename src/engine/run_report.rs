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
    /// Reports per client whose clients could not be listed at the run's last try: their due
    /// periods are not recorded yet.
    pub unlisted: usize,
}

impl RunSummary {
    /// Why a one-shot run ends with work left for the next one.
    pub fn unfinished(&self) -> String {
        match self.unlisted {
            0 => format!("{} due period(s) not delivered yet (waiting for the API, or the run was stopped): the next run resumes them; see `gcore-reportd status`", self.waiting),
            n => format!("the clients of {n} report(s) per client could not be listed: their due periods are not recorded yet; the next run lists them again ({} other due period(s) not delivered yet)", self.waiting),
        }
    }
}

/// Says what the configuration's changes since the last run mean for the tracked periods: one
/// line per changed report, and how many are unchanged.
pub(super) async fn log_changes(engine: &Engine) -> Result<(), EngineError> {
    let changes = super::describe_changes(engine.store(), engine.config(), engine.now()).await?;
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
    for (state, count) in engine.store().count_changed_since(since).await? {
        let count = usize::try_from(count).unwrap_or(0);
        match state.parse::<State>() {
            Ok(State::Done) => summary.done += count,
            Ok(State::Failed | State::Expired | State::Lost) => summary.failed += count,
            _ => {}
        }
    }
    // A held period needs its operator as a failed one does, however long ago it was held: it
    // stays undelivered until they act.
    let held = engine.store().count_by_state().await?;
    let held = held.iter().filter(|(s, _)| s == State::Held.as_str());
    summary.failed += held
        .map(|(_, n)| usize::try_from(*n).unwrap_or(0))
        .sum::<usize>();
    summary.waiting = usize::try_from(engine.store().count_active().await?).unwrap_or(0);
    summary.unlisted = engine.parts.fan_out.fan_out_unlisted();
    Ok(summary)
}

/// Whether a one-shot run has waited long enough: it has lasted `polling.deadline`, and every
/// unfinished task waits for the API, either a period it has kept from being sent (`intent`,
/// or `creating` awaiting its reconcile) or a polling one past its deadline whose last look
/// the API has not answered (one not looked at yet is still worked on). The periods are not
/// expired: they keep waiting, for the next run.
pub(super) async fn waited_out(engine: &Engine, started: i64) -> Result<bool, EngineError> {
    let now = engine.now();
    if now <= crate::clock::after(started, engine.config().polling.deadline) {
        return Ok(false);
    }
    let active = engine.store().count_active().await?;
    if active == 0 {
        return Ok(false);
    }
    // A task just past its deadline is looked at once more when its poll comes round, unless
    // the API is paused or refuses the key: then that look waits for the API too.
    let remote = &engine.parts.remote;
    let can_look =
        remote.api_pause(now).await?.is_none() && remote.auth_refusal(now).await?.is_none();
    let working = engine
        .store()
        .count_created_still_working(now, can_look)
        .await?;
    if working == 0 {
        tracing::warn!(
            waiting = active,
            "still waiting for the API after polling.deadline: the run stops; the periods keep waiting for the next run"
        );
        return Ok(true);
    }
    Ok(false)
}
