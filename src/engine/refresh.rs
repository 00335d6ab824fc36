//! Refreshes: a report's `refresh = ["2d", "7d", "30d"]` asks for a delivered period again
//! at each offset after its first delivery, at most once each. The schedule lives on the
//! period's first task (`next_refresh_at`, `next_refresh`); when it is due, the refresh's task
//! is recorded as an intent (its refresh number is part of its identity, so it cannot be
//! recorded twice) and the schedule moves on, in one transaction. From there the refresh is a
//! task like any other: durable intent, create, reconcile, poll, download, and `deliver`
//! compares its file with the period's current one.
//!
//! Refreshes of a period are serialised (issue 19): none is recorded while a task of the
//! period is unfinished, and when several offsets have passed (the daemon was stopped over
//! them) only the latest is asked; the schedule moves past all of them, and the ones skipped
//! are named in the period's history.

use std::time::Duration;

use super::parts::Shared;
use super::{EngineError, STEP_BATCH};
use crate::clock::after;
use crate::crashpoint;
use crate::store::{NewTask, RefreshPlan, StoreError, TaskRow};

/// Records the latest due refresh of every period that has one and no unfinished task;
/// returns how many tasks were recorded.
pub(super) async fn schedule_refreshes(shared: &Shared, now: i64) -> Result<usize, EngineError> {
    let mut recorded = 0;
    for anchor in shared.store.due_refreshes(now, STEP_BATCH).await? {
        let Some(n) = anchor.next_refresh else {
            continue;
        };
        let offsets = shared
            .report_config(&anchor)
            .map(|r| r.refresh.clone())
            .unwrap_or_default();
        let base = anchor.delivered_at.unwrap_or(now);
        let result = match latest_due(&offsets, base, n, now) {
            // The report's refresh list was shortened (or the report removed): no more.
            None => shared
                .store
                .schedule_refresh_end(anchor.id, n)
                .await
                .map(|()| None),
            Some(latest) => {
                let settings = shared
                    .report_config(&anchor)
                    .map(super::carry::TaskSettings::of);
                let deadline_at = after(now, shared.config.polling.deadline);
                let new = refresh_task(&anchor, latest, deadline_at, settings);
                let plan = RefreshPlan {
                    anchor: anchor.id,
                    expected: n,
                    new: &new,
                    skipped: n..latest,
                    next: next_after(&offsets, base, latest),
                };
                shared.store.schedule_refresh(&plan, now).await
            }
        };
        match result {
            Ok(Some(_)) => {
                crashpoint::hit("refresh.recorded");
                recorded += 1;
            }
            Ok(None) => {}
            // Another process moved this period's schedule first, or recorded a task of
            // the period meanwhile: looked at again when it is due and idle.
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(recorded)
}

/// When the next task or refresh is due.
pub(super) async fn next_due_or_refresh(shared: &Shared) -> Result<Option<i64>, EngineError> {
    let task = shared.store.next_due_at().await?;
    let refresh = shared.store.next_refresh_due().await?;
    let upload = shared.store.next_upload_at().await?;
    Ok([task, refresh, upload].into_iter().flatten().min())
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

/// The refresh to ask now of a period whose refresh `n` is due (refresh k is due at
/// `offsets[k - 1]` after `base`, its first delivery): the latest whose offset has passed by
/// `now`, and at least `n`, which its schedule said is due. `None` when the list has no
/// refresh `n` (it was shortened, or the report removed).
fn latest_due(offsets: &[Duration], base: i64, n: i64, now: i64) -> Option<i64> {
    let index = usize::try_from(n)
        .ok()
        .filter(|i| (1..=offsets.len()).contains(i))?;
    let passed = offsets[index..]
        .iter()
        .take_while(|d| after(base, **d) <= now)
        .count();
    Some(n + i64::try_from(passed).unwrap_or(0))
}

/// When the refresh after `latest` is due, and its number; `None` when none is left.
fn next_after(offsets: &[Duration], base: i64, latest: i64) -> Option<(i64, i64)> {
    let index = usize::try_from(latest).ok()?;
    offsets.get(index).map(|d| (after(base, *d), latest + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn offsets() -> Vec<Duration> {
        [3, 10, 30]
            .map(|days| Duration::from_secs(days * 86_400))
            .to_vec()
    }

    #[test]
    fn after_downtime_only_the_latest_due_refresh_is_asked_and_the_schedule_moves_past_it() {
        let day = 24 * HOUR;
        // Refresh 1 (3 days) due, refresh 2 (10 days) not yet.
        assert_eq!(latest_due(&offsets(), 0, 1, 4 * day), Some(1));
        assert_eq!(next_after(&offsets(), 0, 1), Some((10 * day, 2)));
        // Stopped from day 2 to day 11: refreshes 1 and 2 are both due; 2 is asked.
        assert_eq!(latest_due(&offsets(), 0, 1, 11 * day), Some(2));
        assert_eq!(next_after(&offsets(), 0, 2), Some((30 * day, 3)));
        // Past every offset: the last is asked and nothing is left.
        assert_eq!(latest_due(&offsets(), 0, 1, 40 * day), Some(3));
        assert_eq!(next_after(&offsets(), 0, 3), None);
    }

    #[test]
    fn a_refresh_the_list_no_longer_has_ends_the_schedule() {
        assert_eq!(latest_due(&offsets(), 0, 4, 100 * 24 * HOUR), None);
        assert_eq!(latest_due(&[], 0, 1, HOUR), None);
        assert_eq!(latest_due(&offsets(), 0, 0, HOUR), None);
    }
}
