//! Turning schedules into work: for every configured report, each period that is due (the most
//! recent one, or all since `catch_up_from`) and has no task yet is recorded as an intent row.
//! The unique (report, period) key makes a second row for a period impossible.

use std::time::Duration;

use crate::config::{Config, ReportConfig};
use crate::naming::{self, NameParts};
use crate::period::Period;
use crate::schedule::due_periods;
use crate::store::{NewTask, Store, StoreError};

/// Records every due period of every report that has no task yet; returns how many were new.
pub async fn schedule_periods(store: &Store, config: &Config, now: i64) -> Result<usize, StoreError> {
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut created = 0;
    for report in &config.reports {
        let periods = due_periods(&report.schedule, report.period, &report.timezone, report.catch_up_from, at);
        for period in periods {
            if record_period(store, report, &period, config.polling.deadline, now).await? {
                created += 1;
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
    let from = period.from.to_string();
    let to = period.date_to(report.date_to_style).to_string();
    if store.period_has_task(&report.name, &from, &to).await? {
        return Ok(false);
    }
    let parameters = period_parameters(report, &from, &to);
    let file_name = naming::render(
        &report.file_name,
        &NameParts {
            name: &report.name,
            template: &report.template,
            date_from: &from,
            date_to: &to,
            format: report.format.as_str(),
        },
    );
    let new = NewTask {
        report: &report.name,
        period_from: &from,
        period_to: &to,
        template: &report.template,
        format: report.format.as_str(),
        parameters: &serde_json::Value::Object(parameters).to_string(),
        file_name: &file_name,
        deadline_at: now + i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX / 2),
    };
    let id = store.insert_intent(&new, now).await?;
    crate::crashpoint::hit("schedule.recorded");
    if let Some(id) = id {
        tracing::info!(id, report = %report.name, period_from = %from, period_to = %to, "period due: task recorded");
    }
    Ok(id.is_some())
}

/// The `parameters` sent on create: the report's own, plus `date_from` and `date_to`.
pub fn period_parameters(
    report: &ReportConfig,
    from: &str,
    to: &str,
) -> serde_json::Map<String, serde_json::Value> {
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
    format: crate::format::ReportFormat,
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
    let (from, to) = (date("date_from"), date("date_to"));
    let file_name = naming::render(
        naming::DEFAULT_TEMPLATE,
        &NameParts {
            name: &name,
            template,
            date_from: &from,
            date_to: &to,
            format: format.as_str(),
        },
    );
    let new = NewTask {
        report: &name,
        period_from: &from,
        period_to: &to,
        template,
        format: format.as_str(),
        parameters: &serde_json::Value::Object(parameters.clone()).to_string(),
        file_name: &file_name,
        deadline_at: now + i64::try_from(deadline.as_millis()).unwrap_or(i64::MAX / 2),
    };
    let id = store.insert_intent(&new, now).await?;
    id.ok_or_else(|| StoreError::NoSuchTask(name))
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
