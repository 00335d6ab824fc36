//! Where catch-up starts. A task is the request it makes, so a report catches up from the
//! newest period tracked under the request the config makes NOW (its template, parameters,
//! period kind and `date_to_style`), not from the newest period of the report's name. A changed
//! request is a new request: while none of its periods is tracked, only its most recent due
//! period is created, and every later one as it falls due.
//!
//! The common case costs one query for all reports: the report's newest tracked period is one
//! the config still asks exactly. Only a report whose newest period was asked differently looks
//! further back, over the last `max_catch_up_periods` periods of its current kind, with one
//! query per chunk of requests, not one per report.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::Timestamp;

use super::scheduler::request_of;
use crate::config::ReportConfig;
use crate::period::Period;
use crate::store::{NewestRequest, Store, StoreError};

/// Requests looked up per query when reports look back for their request's newest period.
const REQUESTS_PER_QUERY: usize = 2_000;

/// The first day of each report's newest period tracked under the request the config makes for
/// it now; a report without one (new, renamed, or asking something new) is absent.
pub async fn catch_up_starts(
    store: &Store,
    reports: &[ReportConfig],
    at: Timestamp,
) -> Result<HashMap<String, Date>, StoreError> {
    let mut newest: HashMap<String, Vec<NewestRequest>> = HashMap::new();
    for row in store.newest_requests().await? {
        newest.entry(row.report.clone()).or_default().push(row);
    }
    let mut starts = HashMap::new();
    let mut look_back = Vec::new();
    // A fan-out report catches up per client (see `fanout::client_periods`).
    for report in reports.iter().filter(|r| r.clients.is_none()) {
        let Some(rows) = newest.get(&report.name) else {
            continue;
        };
        match rows.iter().find(|row| asks_the_same(report, row)) {
            Some(row) => {
                if let Ok(from) = row.period_from.parse() {
                    starts.insert(report.name.clone(), from);
                }
            }
            None => look_back.push(report),
        }
    }
    starts.extend(newest_tracked(store, &look_back, at).await?);
    Ok(starts)
}

/// Whether the config asks exactly what `row`'s task asks: the period it covers under the
/// report's current kind, with the same `date_to`, template and parameters.
fn asks_the_same(report: &ReportConfig, row: &NewestRequest) -> bool {
    period_covering(report, &row.period_from, &row.period_to).is_some_and(|period| {
        period.date_to(report.date_to_style).to_string() == row.period_to
            && request_of(report, &period) == row.request
    })
}

/// For reports whose newest tracked period the config asks differently: the newest of the
/// periods within `max_catch_up_periods` of today whose request (as the config makes it now) is
/// tracked. A report with none is a new request and absent from the result.
async fn newest_tracked(
    store: &Store,
    reports: &[&ReportConfig],
    at: Timestamp,
) -> Result<HashMap<String, Date>, StoreError> {
    let mut candidates: Vec<(&str, Date, String)> = Vec::new();
    let mut found: HashMap<String, Date> = HashMap::new();
    for report in reports {
        let today = at.to_zoned(report.timezone.clone()).date();
        let periods = report
            .period
            .periods_reaching_back(today, report.max_catch_up_periods.saturating_add(1));
        for period in periods {
            candidates.push((&report.name, period.from, request_of(report, &period)));
            if candidates.len() >= REQUESTS_PER_QUERY {
                keep_tracked(store, &mut candidates, &mut found).await?;
            }
        }
    }
    keep_tracked(store, &mut candidates, &mut found).await?;
    Ok(found)
}

/// Records in `found` the newest first day per report among the `candidates` whose request is
/// tracked, and empties `candidates`.
async fn keep_tracked(
    store: &Store,
    candidates: &mut Vec<(&str, Date, String)>,
    found: &mut HashMap<String, Date>,
) -> Result<(), StoreError> {
    if candidates.is_empty() {
        return Ok(());
    }
    let requests: Vec<&str> = candidates.iter().map(|(_, _, r)| r.as_str()).collect();
    let tracked = store.tracked_requests(&requests).await?;
    for ((report, from, _), tracked) in candidates.drain(..).zip(tracked) {
        if !tracked {
            continue;
        }
        let newest = found.entry(report.to_string()).or_insert(from);
        *newest = (*newest).max(from);
    }
    Ok(())
}

/// The report's period (under the current config) that a task of `from`..`to` covers: the one
/// starting on `from`, and for month-to-date the one with the same `date_to`.
pub fn period_covering(report: &ReportConfig, from: &str, to: &str) -> Option<Period> {
    let from: jiff::civil::Date = from.parse().ok()?;
    let end = from.checked_add(jiff::Span::new().days(100)).ok()?;
    let periods: Vec<Period> = report
        .period
        .periods_starting_between(from, end)
        .into_iter()
        .filter(|p| p.from == from)
        .collect();
    let same_end = periods
        .iter()
        .find(|p| p.date_to(report.date_to_style).to_string() == to);
    match (same_end, periods.as_slice()) {
        (Some(p), _) => Some(*p),
        (None, [only]) => Some(*only),
        _ => None,
    }
}
