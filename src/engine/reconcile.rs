//! Reconciling creates whose outcome is unknown (`creating` tasks: a timeout, a 5xx, a crash
//! between the mark and the answer). No create is sent again before `intent_at +
//! api.create_settle` (a backend may commit a task after its gateway gave up), whichever
//! process looks. Then the uncertain tasks of one template are reconciled together: one
//! paginated list pass over their common creation window (from the earliest intent, less
//! `api.clock_skew`) serves all of them. A listed task that echoes a request's normalised
//! parameters, was created since that request's intent and is not yet known is adopted; a
//! request with no such task is certainly absent and is created again.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use tracing::Instrument;

use super::create::Adoption;
use super::matching::{matches_request, normalised};
use super::{task_span, tolerate_conflict, Engine, EngineError};
use crate::api::{FileTask, ListQuery};
use crate::clock::{after, ms};
use crate::store::{State, TaskRow};

impl Engine {
    /// Reconciles the due `creating` tasks; returns those the server certainly does not have.
    pub(super) async fn reconcile(&self, tasks: Vec<TaskRow>) -> Result<Vec<TaskRow>, EngineError> {
        let now = self.now();
        let settle = self.config.api.create_settle;
        let mut by_template: BTreeMap<String, Vec<TaskRow>> = BTreeMap::new();
        for task in tasks {
            let settled_at = after(intent_of(&task), settle);
            if settled_at > now {
                self.wait_for_settle(&task, settled_at).await?;
            } else {
                by_template
                    .entry(task.template.clone())
                    .or_default()
                    .push(task);
            }
        }
        let mut absent = Vec::new();
        for (template, group) in by_template {
            absent.extend(self.reconcile_template(&template, group).await?);
        }
        Ok(absent)
    }

    /// A `creating` task looked at inside its settle window (after a restart, a `retry`): it
    /// waits, nothing is sent or searched.
    async fn wait_for_settle(&self, task: &TaskRow, settled_at: i64) -> Result<(), EngineError> {
        let message = format!(
            "an earlier create may still be committed by the server: looking for its task after api.create_settle ({})",
            humantime::format_duration(self.config.api.create_settle)
        );
        let now = self.now();
        let result = self
            .store
            .schedule_retry(task.id, State::Creating, settled_at, &message, now)
            .await
            .map_err(EngineError::from);
        task_span(task).in_scope(|| tolerate_conflict(result))
    }

    /// One list pass for the uncertain tasks of `template`.
    async fn reconcile_template(
        &self,
        template: &str,
        group: Vec<TaskRow>,
    ) -> Result<Vec<TaskRow>, EngineError> {
        let skew = ms(self.config.api.clock_skew);
        let since = group
            .iter()
            .map(intent_of)
            .min()
            .unwrap_or(0)
            .saturating_sub(skew);
        let query = ListQuery {
            created_after: jiff::Timestamp::from_millisecond(since).ok(),
            template: Some(template.to_string()),
            ordering: Some("created_at"),
            ..ListQuery::default()
        };
        let wanted = Wanted::new(&group);
        let listed = self.scan(&query, |remote| wanted.may_match(remote)).await;
        let candidates = match listed {
            Ok(candidates) => candidates,
            Err(err) => {
                for task in &group {
                    let result = self
                        .retry_later(task, &err)
                        .instrument(task_span(task))
                        .await;
                    task_span(task).in_scope(|| tolerate_conflict(result))?;
                }
                return Ok(Vec::new());
            }
        };
        tracing::debug!(
            uncertain = group.len(),
            candidates = candidates.len(),
            "reconciled unknown create outcomes"
        );
        self.assign(group, candidates, skew).await
    }

    /// Gives each uncertain task (oldest intent first) the earliest unknown candidate that
    /// echoes its request and was created since its intent; returns the tasks left without one.
    async fn assign(
        &self,
        mut group: Vec<TaskRow>,
        candidates: Vec<FileTask>,
        skew: i64,
    ) -> Result<Vec<TaskRow>, EngineError> {
        group.sort_by_key(intent_of);
        let mut taken = HashSet::new();
        let mut absent = Vec::new();
        for task in group {
            let earliest = intent_of(&task).saturating_sub(skew);
            let mut found = None;
            for remote in &candidates {
                let fits = remote.created_at.as_millisecond() >= earliest
                    && !taken.contains(remote.uuid.as_str())
                    && matches_request(remote, &task.template, &task.parameters);
                if fits && !self.store.uuid_known(&remote.uuid).await? {
                    found = Some(remote);
                    break;
                }
            }
            let span = task_span(&task);
            match found {
                Some(remote) => {
                    taken.insert(remote.uuid.as_str());
                    let how = Adoption::Found;
                    let result = self
                        .adopt(&task, remote, how)
                        .instrument(span.clone())
                        .await;
                    span.in_scope(|| tolerate_conflict(result))?;
                }
                None => {
                    span.in_scope(|| {
                        tracing::info!("the server has no task from the earlier create: creating")
                    });
                    absent.push(task);
                }
            }
        }
        Ok(absent)
    }
}

/// When the task's current create was (maybe) sent.
fn intent_of(task: &TaskRow) -> i64 {
    task.intent_at.unwrap_or(task.created_at)
}

/// The uncertain requests by their normalised dates, so each listed task is compared only with
/// the requests of its own period.
struct Wanted<'a>(HashMap<String, Vec<&'a TaskRow>>);

impl<'a> Wanted<'a> {
    fn new(group: &'a [TaskRow]) -> Wanted<'a> {
        let mut map: HashMap<String, Vec<&TaskRow>> = HashMap::new();
        for task in group {
            map.entry(period_key(&task.parameters))
                .or_default()
                .push(task);
        }
        Wanted(map)
    }

    fn may_match(&self, remote: &FileTask) -> bool {
        let Some(echoed) = &remote.parameters else {
            return false;
        };
        self.0.get(&period_key(echoed)).is_some_and(|tasks| {
            tasks
                .iter()
                .any(|t| matches_request(remote, &t.template, &t.parameters))
        })
    }
}

fn period_key(parameters: &serde_json::Map<String, Value>) -> String {
    let part = |k: &str| parameters.get(k).map(normalised).unwrap_or(Value::Null);
    format!("{}|{}", part("date_from"), part("date_to"))
}
