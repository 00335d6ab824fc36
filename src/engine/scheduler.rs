//! Turning schedules into work: for every configured report, each period that is due (the most
//! recent one, or all since `catch_up_from`) and has no task yet is recorded as an intent row,
//! oldest first. The unique (report, period) key makes a second row for a period impossible.

use std::time::Duration;

use crate::config::{Config, ReportConfig};
use crate::format::ReportFormat;
use crate::naming::{self, NameParts};
use crate::period::Period;
use crate::schedule::due_periods;
use crate::store::{NewTask, Parameters, Store, StoreError};

/// Intents recorded per transaction when many periods fall due at once.
const INTENTS_PER_TRANSACTION: usize = 500;

/// Records every due period of every report that has no task yet; returns how many were new.
pub async fn schedule_periods(
    store: &Store,
    config: &Config,
    now: i64,
) -> Result<usize, StoreError> {
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut news = Vec::new();
    for report in &config.reports {
        let periods = due_periods(
            &report.schedule,
            report.period,
            &report.timezone,
            report.catch_up_from,
            at,
        );
        news.extend(
            periods
                .iter()
                .map(|p| new_task(report, p, config.polling.deadline, now)),
        );
    }
    news.sort_by(|a, b| a.period_from.cmp(&b.period_from));
    let mut created = 0;
    for chunk in news.chunks(INTENTS_PER_TRANSACTION) {
        let ids = store.insert_intents(chunk, now).await?;
        crate::crashpoint::hit("schedule.recorded");
        for (new, id) in chunk.iter().zip(ids) {
            if let Some(id) = id {
                created += 1;
                tracing::info!(id, report = %new.report, period_from = %new.period_from, period_to = %new.period_to, "period due: task recorded");
            }
        }
    }
    Ok(created)
}

/// Records one period of a report as an intent; false if it already had a task.
pub async fn record_period(
    store: &Store,
    report: &ReportConfig,
    period: &Period,
    deadline: Duration,
    now: i64,
) -> Result<bool, StoreError> {
    let new = new_task(report, period, deadline, now);
    Ok(store.insert_intent(&new, now).await?.is_some())
}

/// The intent row for one period of a report.
fn new_task(report: &ReportConfig, period: &Period, deadline: Duration, now: i64) -> NewTask {
    let from = period.from.to_string();
    let to = period.date_to(report.date_to_style).to_string();
    let parameters = period_parameters(report, &from, &to);
    intent(
        &report.name,
        &report.template,
        report.format,
        &report.file_name,
        parameters,
        (from, to),
        deadline,
        now,
    )
}

/// The `parameters` sent on create: the report's own, plus `date_from` and `date_to`.
fn period_parameters(report: &ReportConfig, from: &str, to: &str) -> Parameters {
    let mut parameters = report.parameters.clone();
    parameters.insert("date_from".into(), from.into());
    parameters.insert("date_to".into(), to.into());
    parameters
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

/// Builds an intent row: file name rendered, parameters serialised, deadline set.
#[allow(clippy::too_many_arguments)]
fn intent(
    name: &str,
    template: &str,
    format: ReportFormat,
    file_template: &str,
    parameters: serde_json::Map<String, serde_json::Value>,
    (from, to): (String, String),
    deadline: Duration,
    now: i64,
) -> NewTask {
    let file_name = naming::render(
        file_template,
        &NameParts {
            name,
            template,
            date_from: &from,
            date_to: &to,
            format: format.as_str(),
        },
    );
    NewTask {
        report: name.to_string(),
        period_from: from,
        period_to: to,
        template: template.to_string(),
        format,
        parameters,
        file_name,
        deadline_at: crate::clock::after(now, deadline),
        refresh: 0,
    }
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
