//! Refreshes: a report's `refresh = ["2d", "7d", "30d"]` asks for a delivered period again
//! at each offset after its first delivery, each exactly once. The schedule lives on the
//! period's first task (`next_refresh_at`, `next_refresh`); when it is due, the refresh's task
//! is recorded as an intent (its refresh number is part of its identity, so it cannot be
//! recorded twice) and the schedule moves on, in one transaction. From there the refresh is a
//! task like any other: durable intent, create, reconcile, poll, download, and `deliver`
//! compares its file with the period's current one.

use super::{Engine, EngineError, STEP_BATCH};
use crate::clock::after;
use crate::store::{NewTask, StoreError, TaskRow};

impl Engine {
    /// Records every refresh due by `now`; returns how many tasks were recorded.
    pub(super) async fn schedule_refreshes(&self, now: i64) -> Result<usize, EngineError> {
        let mut recorded = 0;
        for anchor in self.store.due_refreshes(now, STEP_BATCH).await? {
            let Some(n) = anchor.next_refresh else {
                continue;
            };
            let offsets = self
                .report_config(&anchor)
                .map(|r| r.refresh.clone())
                .unwrap_or_default();
            let index = usize::try_from(n).unwrap_or(usize::MAX);
            let base = anchor.delivered_at.unwrap_or(now);
            // Refresh n is due at offsets[n - 1]; the one after it at offsets[n].
            let next = offsets.get(index).map(|d| (after(base, *d), n + 1));
            let settings = self
                .report_config(&anchor)
                .map(super::carry::TaskSettings::of);
            let deadline_at = after(now, self.config.polling.deadline);
            let new = refresh_task(&anchor, n, deadline_at, settings);
            let ended = index > offsets.len();
            let result = if ended {
                // The report's refresh list was shortened (or the report removed): no more.
                self.store
                    .schedule_refresh_end(anchor.id, n)
                    .await
                    .map(|()| None)
            } else {
                self.store
                    .schedule_refresh(anchor.id, n, &new, next, now)
                    .await
            };
            match result {
                Ok(Some(_)) => recorded += 1,
                Ok(None) => {}
                // Another process moved this period's schedule first.
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(recorded)
    }

    /// When the next task or refresh is due.
    pub(super) async fn next_due_or_refresh(&self) -> Result<Option<i64>, EngineError> {
        let task = self.store.next_due_at().await?;
        let refresh = self.store.next_refresh_due().await?;
        Ok(match (task, refresh) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

/// Refresh `n` of the period whose first task is `anchor`: the same request again.
fn refresh_task(
    anchor: &TaskRow,
    n: i64,
    deadline_at: i64,
    settings: Option<super::carry::TaskSettings>,
) -> NewTask {
    NewTask {
        report: anchor.report.clone(),
        period_from: anchor.period_from.clone(),
        period_to: anchor.period_to.clone(),
        template: anchor.template.clone(),
        format: anchor.format,
        parameters: anchor.parameters.0.clone(),
        file_name: anchor.file_name.clone(),
        deadline_at,
        refresh: n,
        settings: settings.map(super::carry::TaskSettings::to_json),
    }
}
