//! One step of the engine: record the periods due now, then take every due task one step
//! further according to its state (uncertain creates reconciled together, fresh ones created
//! in marked chunks, polls batched, completed reports downloaded), and a task past its
//! `polling.deadline` looked at one last time. The outcome says when the next step is worth
//! running.

use std::time::Duration;

use futures_util::StreamExt;
use tracing::Instrument;

use super::{
    refresh, schedule_periods, task_span, tolerate_conflict, Engine, EngineError, STEP_BATCH,
    STEP_CONCURRENCY,
};
use crate::api::FileTask;
use crate::clock::after;
use crate::store::{State, TaskRow};

/// What one step did, and when the next one is worth running.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOutcome {
    pub scheduled: usize,
    pub processed: usize,
    pub active: i64,
    pub next_due_at: Option<i64>,
    /// The API refused the credentials and is not being called until `next_due_at`: what it
    /// said.
    pub auth_refused: Option<String>,
    /// A hook is running or armed: a one-shot run waits for it.
    pub hooks_busy: bool,
}

impl Engine {
    /// Records every period due now (see [`schedule_periods`]), then works on due tasks.
    pub async fn step(&self, schedule: bool) -> Result<StepOutcome, EngineError> {
        let now = self.now();
        let lists = self.parts.fan_out.fan_out_lists(schedule, now).await?;
        let scheduled = if schedule || !lists.is_empty() {
            let scheduled = schedule_periods(self.store(), self.config(), &lists, now).await?;
            self.parts.fan_out.fan_out_recorded(&lists, now);
            scheduled
        } else {
            0
        };
        let scheduled = scheduled + refresh::schedule_refreshes(&self.base.shared, now).await?;
        let active = self.store().count_active().await?;
        let hooks_busy = self.parts.hooks.start_pending_hooks().await?;
        if let Some(refusal) = self.parts.remote.auth_refusal(now).await? {
            return Ok(StepOutcome {
                scheduled,
                processed: 0,
                active,
                next_due_at: Some(refusal.until),
                auth_refused: Some(refusal.message),
                hooks_busy,
            });
        }
        if let Some(until) = self.parts.remote.api_pause(now).await? {
            return Ok(StepOutcome {
                scheduled,
                processed: 0,
                active,
                next_due_at: Some(until),
                auth_refused: None,
                hooks_busy,
            });
        }
        self.base.client.recheck_credentials();
        if let Some(lease) = &self.base.lease {
            self.base.client.share_budget(lease.hosts());
            let rearmed = self.store().rearm_orphaned_hooks().await?;
            if rearmed > 0 {
                tracing::info!(rearmed, "hooks a stopped host left running run again");
            }
        }
        let processed = self.work_due().await?;
        let uploads_busy = self.parts.destinations.start_due_uploads().await?;
        let hooks_busy = self.parts.hooks.start_pending_hooks().await? || uploads_busy;
        if processed > 0 {
            self.parts.remote.clear_expired_auth_block(now).await?;
        }
        let refusal = self.parts.remote.auth_refusal(self.now()).await?;
        let next_due_at = match &refusal {
            Some(refusal) => Some(refusal.until),
            None => {
                let due = refresh::next_due_or_refresh(&self.base.shared).await?;
                match (due, self.parts.fan_out.fan_out_wake()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        };
        Ok(StepOutcome {
            scheduled,
            processed,
            active: self.store().count_active().await?,
            next_due_at,
            auth_refused: refusal.map(|r| r.message),
            hooks_busy,
        })
    }

    /// Runs one step for every due task. Creates whose outcome is unknown are reconciled
    /// together (one list pass); polling tasks' statuses come from one paginated list when many
    /// are due; the creates to send go out in chunks, each chunk marked "maybe sent" just before
    /// its POSTs.
    pub async fn work_due(&self) -> Result<usize, EngineError> {
        let now = self.now();
        // With several hosts: the due tasks this one holds, and a share of those no live host
        // holds, now leased to it, so that hosts stepping in turn share the unclaimed work.
        let new = match &self.base.lease {
            None => STEP_BATCH,
            Some(lease) => (STEP_BATCH / i64::from(lease.hosts())).max(STEP_CONCURRENCY as i64),
        };
        // A `creating` task taken over from a lapsed lease is reconciled only `create_settle`
        // plus one lease after its claim. Its earlier holder checked, right before each create
        // left, that the create's deadline ended within that holder's lease. But a holder
        // stopped between that check and the bytes leaving (a paused VM, SIGSTOP) sends when it
        // wakes. The extra lease covers such a stall up to a lease long, and the server
        // committing that create late (`create_settle`).
        // One whose host left cleanly (all its creates had ended) waits `create_settle` only.
        let settle = self.config().api.create_settle;
        let lapsed = settle
            + self
                .base
                .lease
                .as_ref()
                .map_or(Duration::ZERO, |l| l.length());
        let settled = (after(now, lapsed), after(now, settle));
        let limits = (STEP_BATCH, new);
        let tasks = self.store().claim_due_tasks(now, limits, settled).await?;
        let count = tasks.len();
        let (mut fresh, mut uncertain, mut others) = (Vec::new(), Vec::new(), Vec::new());
        // A period not yet created remotely has no deadline: it waits as long as the API keeps
        // it from being sent (`polling.deadline` counts from its create's mark). One whose create
        // may have been sent is reconciled, however late, never expired unseen nor sent again.
        for task in tasks {
            match task.state {
                State::Intent => fresh.push(task),
                State::Creating => uncertain.push(task),
                _ => others.push(task),
            }
        }
        fresh.extend(self.parts.reconciler.reconcile(uncertain).await?);
        let statuses = self.parts.polls.batch_statuses(&others).await;
        let work = self.parts.polls.apply_listed(others, statuses).await?;
        let advanced = futures_util::stream::iter(work)
            .map(|(task, known)| async move { self.advance(task, known).await })
            .buffer_unordered(STEP_CONCURRENCY)
            .collect::<Vec<_>>();
        let (results, created) = tokio::join!(advanced, self.parts.creates.create_all(fresh));
        created?;
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(count)
    }

    /// Takes one task one step further, according to its state. `known` is the task's remote
    /// state when a batched list already fetched it.
    async fn advance(&self, task: TaskRow, known: Option<FileTask>) -> Result<(), EngineError> {
        let span = task_span(&task);
        let result = self
            .advance_in_span(task, known)
            .instrument(span.clone())
            .await;
        span.in_scope(|| tolerate_conflict(result))
    }

    async fn advance_in_span(
        &self,
        task: TaskRow,
        known: Option<FileTask>,
    ) -> Result<(), EngineError> {
        let state = task.state;
        if state == State::Polling && self.now() > task.deadline_at {
            return self.parts.polls.at_deadline(&task, known).await;
        }
        match state {
            // `work_due` hands these to `reconcile` and `create_all`.
            State::Intent | State::Creating => Ok(()),
            State::Polling => match known {
                Some(remote) => self.parts.polls.apply_status(&task, &remote).await,
                None => self.parts.polls.poll(&task).await,
            },
            State::Downloading => self.parts.downloads.download(&task).await,
            State::Done | State::Failed | State::Expired | State::Lost | State::Held => Ok(()),
        }
    }
}
