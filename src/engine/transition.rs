//! The one way the engine changes a task's phase: a step turns what it saw into an
//! `Observation`, asks the state machine (`lifecycle::decide`) with the task's attempt budget,
//! and has the store apply the answer (`Store::apply`: one transaction, compare-and-set, with
//! its event). The ends and resubmissions are logged here, once, with their reasons.

use super::parts::Ledger;
use super::EngineError;
use crate::lifecycle::{self, Budget, Change, Effect, Observation, State};
use crate::store::TaskRow;

impl Ledger {
    /// Decides and applies what `seen` means for `task`; the change made.
    pub(super) async fn observe(
        &self,
        task: &TaskRow,
        seen: Observation,
    ) -> Result<Change, EngineError> {
        let change = self.decide(task, seen).await?;
        self.apply(task, &change).await?;
        Ok(change)
    }

    /// What `seen` means for `task`, not yet applied.
    pub(super) async fn decide(
        &self,
        task: &TaskRow,
        seen: Observation,
    ) -> Result<Change, EngineError> {
        let budget = self.budget(task, seen.spends_attempts()).await?;
        Ok(lifecycle::decide(
            task.state,
            seen,
            &budget,
            self.shared.now(),
        )?)
    }

    /// Applies a change `decide` made for `task`, logging an end or a resubmission.
    pub(super) async fn apply(&self, task: &TaskRow, change: &Change) -> Result<(), EngineError> {
        self.shared
            .store
            .apply(task.id, change, self.shared.now())
            .await?;
        match (&change.effect, change.to) {
            (Effect::End { reason, .. }, State::Held) => {
                tracing::warn!(%reason, "an earlier create cannot be reconciled: held for an operator");
            }
            // The caller logged the refusal, with what to fix.
            (Effect::End { refused: true, .. }, _) => {}
            (Effect::End { reason, .. }, State::Failed) => {
                tracing::error!(%reason, "task failed");
            }
            (Effect::End { reason, .. }, State::Lost) => {
                tracing::error!(%reason, "task lost; set resubmit_lost = true to create a new one automatically");
            }
            (Effect::End { reason, .. }, state) => {
                tracing::warn!(%reason, "task {state}");
            }
            (Effect::Resubmit { reason, .. }, _) => {
                tracing::warn!(%reason, "resubmitting as a new remote task");
            }
            _ => {}
        }
        Ok(())
    }

    /// The task's attempts and the report's settings that bound them. Only an observation that
    /// may spend an attempt reads them (from the database, for a report removed from the
    /// config): a batch of polls reads none.
    async fn budget(&self, task: &TaskRow, spends: bool) -> Result<Budget, EngineError> {
        let settings = match spends {
            true => self.shared.settings(task).await?,
            false => super::carry::TaskSettings::DEFAULT,
        };
        let on_failure = self
            .shared
            .report_config(task)
            .is_some_and(|r| !r.on_failure().is_empty());
        Ok(Budget {
            attempts: task.attempts,
            max_attempts: settings.max_attempts.into(),
            resubmit_lost: settings.resubmit_lost,
            on_failure,
        })
    }
}
