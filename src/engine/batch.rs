//! Batched status polling: when more than a few polling tasks are due at once, their statuses
//! come from the list operation (created since the oldest of them, ordered, 100 per page)
//! instead of one retrieve per task, and what the list says is recorded in bulk (one
//! transaction for the tasks still running, one statement for the completed ones). Tasks the
//! list does not return are retrieved one by one; each task keeps its own backoff schedule
//! either way.

use std::collections::{HashMap, HashSet};

use super::parts::Polls;
use super::EngineError;
use crate::api::{FileTask, ListQuery, TaskStatus};
use crate::clock::ms;
use crate::crashpoint;
use crate::lifecycle::Observation;
use crate::store::{State, TaskRow};

/// Below this many due polling tasks, one retrieve each is cheaper than a list.
const BATCH_THRESHOLD: usize = 8;
/// Slack around the server's creation times (its timestamps may be rounded).
const SLACK_MS: i64 = 2_000;

impl Polls {
    /// Remote states of the due polling tasks, by uuid, when batching pays; empty otherwise
    /// (or when the list fails: the tasks are then polled one by one).
    pub(super) async fn batch_statuses(&self, tasks: &[TaskRow]) -> HashMap<String, FileTask> {
        let polling: Vec<&TaskRow> = tasks
            .iter()
            .filter(|t| t.state == State::Polling && t.uuid.is_some())
            .collect();
        if polling.len() <= BATCH_THRESHOLD {
            return HashMap::new();
        }
        let query = window(&polling, ms(self.shared.config.api.clock_skew));
        let wanted: HashSet<&str> = polling.iter().filter_map(|t| t.uuid.as_deref()).collect();
        let listed = self
            .scanner
            .scan(&query, |r| wanted.contains(r.uuid.as_str()))
            .await;
        match listed {
            Ok(remote) => {
                let found: HashMap<String, FileTask> = remote
                    .tasks
                    .into_iter()
                    .map(|r| (r.uuid.clone(), r))
                    .collect();
                tracing::debug!(
                    due = polling.len(),
                    found = found.len(),
                    "batched status poll"
                );
                found
            }
            Err(crate::api::ApiError::Stopped { .. }) => HashMap::new(),
            Err(e) => {
                tracing::warn!(error = %e, "batched status poll failed; polling tasks one by one");
                HashMap::new()
            }
        }
    }

    /// Acts in bulk on the statuses a batched list brought back: tasks still running get
    /// their next poll time in one transaction, completed ones move to `downloading` in one
    /// statement. Returns what is left for one-by-one steps, with the listed remote state
    /// where it is needed: tasks the list did not return, tasks past their deadline, failed or
    /// cancelled ones, and the completed ones (now `downloading`, to fetch).
    pub(super) async fn apply_listed(
        &self,
        tasks: Vec<TaskRow>,
        mut statuses: HashMap<String, FileTask>,
    ) -> Result<Vec<(TaskRow, Option<FileTask>)>, EngineError> {
        let now = self.shared.now();
        let (mut running, mut completed, mut work) = (Vec::new(), Vec::new(), Vec::new());
        for mut task in tasks {
            let remote = task.uuid.as_deref().and_then(|u| statuses.remove(u));
            let Some(remote) = remote else {
                work.push((task, None));
                continue;
            };
            if now > task.deadline_at {
                work.push((task, Some(remote))); // its last look, see `Polls::at_deadline`
                continue;
            }
            let span = super::task_span(&task);
            // Asked of the state machine one by one, applied in bulk: one statement for the
            // tasks still running, one for the completed ones.
            match &remote.status {
                TaskStatus::Completed => {
                    span.in_scope(|| tracing::info!("remote task completed"));
                    let status = remote.status.as_str().to_string();
                    let change = self
                        .ledger
                        .decide(&task, Observation::Completed { status })
                        .await?;
                    completed.push(task.id);
                    task.state = change.to;
                    task.backoff_step = 0;
                    work.push((task, None));
                }
                TaskStatus::Failed | TaskStatus::Cancelled => work.push((task, Some(remote))),
                status => {
                    let seen = span.in_scope(|| self.still_running(&task, status, now));
                    let change = self.ledger.decide(&task, seen).await?;
                    running.extend(super::poll::poll_update(task.id, &change.effect));
                }
            }
        }
        let skipped = self.shared.store.record_polls(&running, now).await?;
        let done = TaskStatus::Completed;
        let moved = self
            .shared
            .store
            .begin_downloads(&completed, done.as_str(), now)
            .await?;
        moved.iter().for_each(|_| crashpoint::hit("poll.completed"));
        let conflicts = skipped + completed.len() - moved.len();
        if conflicts > 0 {
            tracing::warn!(
                conflicts,
                "tasks changed by another process during a batched poll: left as they are"
            );
        }
        // A completed task another process changed meanwhile is not downloaded.
        work.retain(|(t, _)| {
            t.state != State::Downloading || moved.contains(&t.id) || !completed.contains(&t.id)
        });
        Ok(work)
    }
}

/// The creation-time window that holds every task in `polling`: the server's own creation
/// times when known (tight), else our intent times widened for clock skew.
fn window(polling: &[&TaskRow], skew: i64) -> ListQuery {
    let server = polling.iter().map(|t| t.remote_created_at);
    let (after, before) = match server.collect::<Option<Vec<i64>>>() {
        Some(times) => (
            times.iter().min().map(|t| t - SLACK_MS),
            times.iter().max().map(|t| t + SLACK_MS),
        ),
        None => (
            polling
                .iter()
                .map(|t| t.intent_at.unwrap_or(t.created_at).saturating_sub(skew))
                .min(),
            None,
        ),
    };
    ListQuery {
        created_after: after.and_then(|t| jiff::Timestamp::from_millisecond(t).ok()),
        created_before: before.and_then(|t| jiff::Timestamp::from_millisecond(t).ok()),
        ..ListQuery::default()
    }
}
