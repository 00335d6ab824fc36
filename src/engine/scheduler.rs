//! Turning schedules into work: for every configured report, each period that is due (the most
//! recent one and every one since the newest period tracked under the request the config makes
//! now, or all since `catch_up_from`) whose exact request has no task yet is recorded as an
//! intent row, oldest first. The unique key makes a second row for a request impossible. A
//! report per client (`clients`) does the same per (client, period), for the clients listed
//! when its periods fell due (see `fanout`).

use std::time::Duration;

use jiff::civil::Date;
use jiff::Timestamp;

use super::fanout::ClientLists;
use super::requests::intent;
pub use super::requests::{client_request_of, new_client_task, new_task, request_of};
use crate::config::{Config, ReportConfig};
use crate::format::ReportFormat;
use crate::naming;
use crate::period::Period;
use crate::schedule::due_periods;
use crate::store::{canonical_request, NewTask, Store, StoreError};

/// Intents recorded per transaction when many periods fall due at once.
const INTENTS_PER_TRANSACTION: usize = 500;

/// Records every due period of every report that has no task yet, and of every fan-out report
/// in `lists` for each of its clients; returns how many were new.
pub async fn schedule_periods(
    store: &Store,
    config: &Config,
    lists: &ClientLists,
    now: i64,
) -> Result<usize, StoreError> {
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    super::carry::carry_over_unfinished(store, config, now).await?;
    let newest = super::catch_up::catch_up_starts(store, &config.reports, at).await?;
    let mut due = Vec::new();
    for report in config.reports.iter().filter(|r| r.clients.is_none()) {
        let newest = newest.get(&report.name).copied();
        due.extend(
            periods_due(report, newest, at)
                .into_iter()
                .map(|p| (report, None, p)),
        );
    }
    for (name, clients) in lists.iter() {
        if let Some(report) = config.report(name).filter(|r| r.clients.is_some()) {
            let periods = super::fanout::client_periods(store, report, clients, at).await?;
            due.extend(periods.into_iter().map(|(c, p)| (report, Some(c), p)));
        }
    }
    due.sort_by_key(|(_, _, period)| period.from);
    // The rows are built a transaction's worth at a time: 10,000 of them at once (parameters,
    // request, settings) were the daemon's peak heap, 14 MB of the 25 MB (heaptrack, 10,000
    // reports due at once).
    let mut created = 0;
    for due in due.chunks(INTENTS_PER_TRANSACTION) {
        let chunk: Vec<NewTask> = due
            .iter()
            .map(|(report, client, p)| {
                new_client_task(report, *client, p, config.polling.deadline, now)
            })
            .collect();
        let moved = store.carry_over(&chunk, now).await?;
        if moved > 0 {
            tracing::info!(moved, "tasks carried over to their report's new name, format or file name (the same request)");
        }
        let chunk = super::carry::untracked(store, &chunk).await?;
        let ids = store.insert_intents(&chunk, now).await?;
        crate::crashpoint::hit("schedule.recorded");
        for (new, id) in chunk.iter().zip(ids) {
            if let Some(id) = id {
                created += 1;
                tracing::info!(id, report = %new.report, client_id = client_of(new), period_from = %new.period_from, period_to = %new.period_to, "period due: task recorded");
            }
        }
    }
    Ok(created)
}

/// The periods of `report` due at `at`. With `catch_up_from`, every one since that date (see
/// [`due_periods`]). Without it, the most recent one and, once the report's request has a task
/// (`newest` is the first day of its newest period, see `catch_up_starts`), every period after
/// that one however long the daemon was down, at most `max_catch_up_periods` of them: a longer
/// gap is logged and only its newest periods are created.
pub fn periods_due(report: &ReportConfig, newest: Option<Date>, at: Timestamp) -> Vec<Period> {
    let due = |from| due_periods(&report.schedule, report.period, &report.timezone, from, at);
    let recent = due(report.catch_up_from);
    let Some(newest) = newest.filter(|_| report.catch_up_from.is_none()) else {
        return recent;
    };
    let mut periods: Vec<Period> = due(Some(newest))
        .into_iter()
        .filter(|p| p.from > newest)
        .chain(recent)
        .collect();
    periods.sort();
    periods.dedup();
    let max = usize::try_from(report.max_catch_up_periods).unwrap_or(usize::MAX);
    if periods.len() > max {
        let skipped = periods.len() - max;
        let (first, last) = (periods[0].from, periods[skipped - 1].from);
        tracing::warn!(
            report = %report.name,
            "{} periods are due since the newest task ({newest}); creating the newest {max} \
             (max_catch_up_periods); `gcore-reportd backfill --report {} --from {first} --to \
             {last}` creates the {skipped} older ones",
            periods.len(),
            report.name,
        );
        periods.drain(..skipped);
    }
    periods
}

/// Records one period of a report (of one client, for a fan-out report) as an intent; false if
/// its request already had a task.
pub async fn record_period(
    store: &Store,
    report: &ReportConfig,
    client: Option<i64>,
    period: &Period,
    deadline: Duration,
    now: i64,
) -> Result<bool, StoreError> {
    let new = new_client_task(report, client, period, deadline, now);
    let news = std::slice::from_ref(&new);
    store.carry_over(news, now).await?;
    let request = canonical_request(&new.template, &new.parameters);
    let tracked = store.tracked_requests(&[request.as_str()]).await?;
    if tracked.first().copied().unwrap_or(false) {
        return Ok(false);
    }
    Ok(store.insert_intent(&new, now).await?.is_some())
}

/// A one-off task outside any schedule (`gcore-reportd submit`): recorded under a fresh report
/// name `submit-<id>`, then driven like any other. Returns the task id.
pub async fn record_adhoc(
    store: &Store,
    template: &str,
    format: ReportFormat,
    parameters: serde_json::Map<String, serde_json::Value>,
    deadline: Duration,
    now: i64,
) -> Result<i64, StoreError> {
    let name = format!("submit-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let date = |key: &str| {
        parameters
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| "-".to_string())
    };
    let dates = (date("date_from"), date("date_to"));
    let new = intent(
        &name,
        template,
        format,
        naming::DEFAULT_TEMPLATE,
        parameters,
        dates,
        deadline,
        now,
    );
    let id = store.insert_intent(&new, now).await?;
    id.ok_or(StoreError::NoSuchTask(name))
}

/// The `client_id` a task asks, if any.
fn client_of(new: &NewTask) -> Option<i64> {
    new.parameters.get("client_id").and_then(|v| v.as_i64())
}

/// The next moment a report's schedule fires after `now`, and which report it is.
pub fn next_fire(config: &Config, now: i64) -> Option<(String, jiff::Zoned)> {
    let at = jiff::Timestamp::from_millisecond(now).ok()?;
    config
        .reports
        .iter()
        .filter_map(|r| {
            let next = r.schedule.next_fire_after(&r.timezone, at)?;
            Some((r.name.clone(), next.to_zoned(r.timezone.clone())))
        })
        .min_by_key(|(_, z)| z.timestamp())
}
