//! Batched status polling: when more than a few polling tasks are due at once, their statuses
//! come from the list operation (created since the oldest of them, ordered, 100 per page)
//! instead of one retrieve per task. Tasks the list does not return are retrieved one by one;
//! each task keeps its own backoff schedule either way.

use std::collections::{HashMap, HashSet};

use super::Engine;
use crate::api::{FileTask, ListQuery};
use crate::store::{State, TaskRow};

/// Below this many due polling tasks, one retrieve each is cheaper than a list.
const BATCH_THRESHOLD: usize = 8;
/// Slack around the server's creation times (its timestamps may be rounded).
const SLACK_MS: i64 = 2_000;
/// Slack before our own intent time when the server's creation time is unknown (clock skew).
const SKEW_MS: i64 = 10 * 60 * 1000;

impl Engine {
    /// Remote states of the due polling tasks, by uuid, when batching pays; empty otherwise
    /// (or when the list fails: the tasks are then polled one by one).
    pub(super) async fn batch_statuses(&self, tasks: &[TaskRow]) -> HashMap<String, FileTask> {
        let polling: Vec<&TaskRow> = tasks
            .iter()
            .filter(|t| t.state() == State::Polling && t.uuid.is_some())
            .collect();
        if polling.len() <= BATCH_THRESHOLD {
            return HashMap::new();
        }
        let query = window(&polling);
        let wanted: HashSet<&str> = polling.iter().filter_map(|t| t.uuid.as_deref()).collect();
        let listed = self
            .client
            .list_kept(&query, |r| wanted.contains(r.uuid.as_str()))
            .await;
        match listed {
            Ok(remote) => {
                let found: HashMap<String, FileTask> =
                    remote.into_iter().map(|r| (r.uuid.clone(), r)).collect();
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
}

/// The creation-time window that holds every task in `polling`: the server's own creation
/// times when known (tight), else our intent times widened for clock skew.
fn window(polling: &[&TaskRow]) -> ListQuery {
    let server = polling.iter().map(|t| t.remote_created_at);
    let (after, before) = match server.collect::<Option<Vec<i64>>>() {
        Some(times) => (
            times.iter().min().map(|t| t - SLACK_MS),
            times.iter().max().map(|t| t + SLACK_MS),
        ),
        None => (
            polling
                .iter()
                .map(|t| t.intent_at.unwrap_or(t.created_at) - SKEW_MS)
                .min(),
            None,
        ),
    };
    ListQuery {
        created_after: after.and_then(|t| jiff::Timestamp::from_millisecond(t).ok()),
        created_before: before.and_then(|t| jiff::Timestamp::from_millisecond(t).ok()),
        ordering: Some("created_at"),
        ..ListQuery::default()
    }
}
