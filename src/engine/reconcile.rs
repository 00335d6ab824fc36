//! Reconciling creates whose outcome is unknown (`creating` tasks: a timeout, a 5xx, a crash
//! between the mark and the answer). No create is sent again before `intent_at +
//! api.create_settle` (a backend may commit a task after its gateway gave up), whichever
//! process looks. Then the uncertain tasks of one template are reconciled together: one
//! complete list walk over their common creation window (from the earliest intent, less
//! `api.clock_skew`) serves all of them. A listed task that echoes a request's normalised
//! parameters, was created since that request's intent and is not yet known is adopted. A
//! listed item that does not decode but shows a uuid is retrieved on its own. A request is
//! created again only when the walk was complete and nothing listed could be its task; when
//! the evidence is ambiguous (see `evidence`) the task is held for an operator instead.

use std::collections::{BTreeMap, HashSet};

use tracing::Instrument;

use super::create::Adoption;
use super::evidence::{Doubt, Wanted};
use super::matching::matches_request;
use super::parts::Reconciler;
use super::scan::Listing;
use super::{task_span, tolerate_conflict, EngineError};
use crate::api::{FileTask, ListQuery};
use crate::clock::{after, ms};
use crate::crashpoint;
use crate::lifecycle::Observation;
use crate::store::TaskRow;

/// At most this many undecodable items are retrieved on their own per walk.
const ODD_RETRIEVES: usize = 20;

impl Reconciler {
    /// Reconciles the due `creating` tasks; returns those the server certainly does not have.
    pub(super) async fn reconcile(&self, tasks: Vec<TaskRow>) -> Result<Vec<TaskRow>, EngineError> {
        let now = self.shared.now();
        let settle = self.shared.config.api.create_settle;
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
            humantime::format_duration(self.shared.config.api.create_settle)
        );
        let seen = Observation::Fault {
            message,
            retry_at: settled_at,
        };
        let result = self.ledger.observe(task, seen).await.map(drop);
        task_span(task).in_scope(|| tolerate_conflict(result))
    }

    /// One list pass for the uncertain tasks of `template`.
    async fn reconcile_template(
        &self,
        template: &str,
        group: Vec<TaskRow>,
    ) -> Result<Vec<TaskRow>, EngineError> {
        let skew = ms(self.shared.config.api.clock_skew);
        let since = group
            .iter()
            .map(intent_of)
            .min()
            .unwrap_or(0)
            .saturating_sub(skew);
        let query = ListQuery {
            created_after: jiff::Timestamp::from_millisecond(since).ok(),
            template: Some(template.to_string()),
            ..ListQuery::default()
        };
        let wanted = Wanted::new(&group);
        let listed = self
            .scanner
            .scan(&query, |remote| wanted.may_match(remote))
            .await;
        let listing = match listed {
            Ok(listing) => listing,
            Err(err) => {
                for task in &group {
                    let result = self
                        .ledger
                        .retry_later(task, &err)
                        .instrument(task_span(task))
                        .await;
                    task_span(task).in_scope(|| tolerate_conflict(result))?;
                }
                return Ok(Vec::new());
            }
        };
        let evidence = self.identify_odd(listing, &wanted).await?;
        tracing::debug!(
            uncertain = group.len(),
            candidates = evidence.tasks.len(),
            undecodable = evidence.odd_seen,
            "reconciled unknown create outcomes"
        );
        self.assign(group, evidence, skew).await
    }

    /// Retrieves, one by one, the undecodable listed items that show a uuid no task tracks and
    /// could be an uncertain request's task: one that decodes so joins the candidates; the
    /// others stay odd (doubt).
    async fn identify_odd(
        &self,
        mut listing: Listing,
        wanted: &Wanted<'_>,
    ) -> Result<Listing, EngineError> {
        let mut odd = Vec::new();
        let mut asked = 0;
        for item in std::mem::take(&mut listing.odd) {
            if !wanted.may_be(item.parameters.as_ref()) {
                continue;
            }
            let Some(uuid) = item.uuid.clone() else {
                odd.push(item);
                continue;
            };
            if self.shared.store.uuid_known(&uuid).await? {
                continue;
            }
            if asked >= ODD_RETRIEVES {
                odd.push(item);
                continue;
            }
            asked += 1;
            match self.client.retrieve(&uuid).await {
                Ok(task) if task.uuid == uuid => {
                    if wanted.may_match(&task) {
                        listing.tasks.push(task);
                    }
                }
                Ok(_) => odd.push(item),
                Err(e) => {
                    tracing::debug!(uuid, error = %e, "an undecodable listed task could not be retrieved");
                    odd.push(item);
                }
            }
        }
        listing.odd = odd;
        listing.tasks.sort_by_key(|t| t.created_at);
        Ok(listing)
    }

    /// Gives each uncertain task (oldest intent first) the earliest unknown candidate that
    /// echoes its request and was created since its intent; holds for an operator those with
    /// doubt and none; returns the tasks the server certainly does not have.
    async fn assign(
        &self,
        mut group: Vec<TaskRow>,
        evidence: Listing,
        skew: i64,
    ) -> Result<Vec<TaskRow>, EngineError> {
        group.sort_by_key(intent_of);
        let mut unknown = Vec::new();
        for remote in &evidence.tasks {
            if !self.shared.store.uuid_known(&remote.uuid).await? {
                unknown.push(remote);
            }
        }
        let others = match group.first() {
            Some(task) => self.tracked_echoes(&task.template, &unknown).await?,
            None => Default::default(),
        };
        let mut taken = HashSet::new();
        let mut unmatched = Vec::new();
        for task in group {
            let earliest = intent_of(&task).saturating_sub(skew);
            let found = unknown.iter().copied().find(|remote| {
                remote.created_at.as_millisecond() >= earliest
                    && !taken.contains(remote.uuid.as_str())
                    && others
                        .get(remote.uuid.as_str())
                        .is_none_or(|request| *request == task.request)
                    && matches_request(remote, &task.template, &task.parameters)
            });
            let Some(remote) = found else {
                unmatched.push(task);
                continue;
            };
            taken.insert(remote.uuid.as_str());
            let span = task_span(&task);
            let result = self
                .creates
                .adopt(&task, remote, Adoption::Found)
                .instrument(span.clone())
                .await;
            span.in_scope(|| tolerate_conflict(result))?;
        }
        // Doubt is weighed once every full echo has found its request: a task that is another
        // uncertain request's in full is no doubt about this one.
        let free: Vec<&FileTask> = unknown
            .iter()
            .copied()
            .filter(|r| !taken.contains(r.uuid.as_str()) && !others.contains_key(r.uuid.as_str()))
            .collect();
        let mut absent = Vec::new();
        for task in unmatched {
            let earliest = intent_of(&task).saturating_sub(skew);
            let span = task_span(&task);
            let doubt = Doubt::about(&task, earliest, &free, &evidence.odd, evidence.odd_unkept);
            if doubt.is_empty() {
                span.in_scope(|| {
                    tracing::info!("the server has no task from the earlier create: creating")
                });
                absent.push(task);
            } else {
                let result = self.hold(&task, &doubt).instrument(span.clone()).await;
                span.in_scope(|| tolerate_conflict(result))?;
            }
        }
        Ok(absent)
    }

    /// Holds an uncertain task for an operator (`held`), saying why and the ways out.
    async fn hold(&self, task: &TaskRow, doubt: &Doubt) -> Result<(), EngineError> {
        let reason = doubt.message(task.id);
        self.ledger
            .observe(task, Observation::Ambiguous { reason })
            .await?;
        crashpoint::hit("reconcile.held");
        Ok(())
    }
}

/// When the task's current create was (maybe) sent.
fn intent_of(task: &TaskRow) -> i64 {
    task.intent_at.unwrap_or(task.created_at)
}
