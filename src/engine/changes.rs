//! What a configuration change means for the periods already tracked, one line per report, for
//! `check-config` and the start of `run`: a task is the request it makes (template and
//! parameters with the period's dates), so a renamed report, or a new format, file name, hook,
//! schedule time or time zone, carries its tasks over and creates nothing again; a changed
//! request (template, parameters, period kind or `date_to_style`) is a new request: its most
//! recent due period is created again, and delivered periods keep their files. Reports removed
//! from the config are listed too.

use std::collections::HashMap;

use serde_json::Value;

use super::catch_up::period_covering;
use super::fanout::fan_out_client as client;
use super::scheduler::{client_request_of, new_client_task, new_task, periods_due};
use crate::config::{Config, ReportConfig};
use crate::store::{canonical_request, NewestTask, ReportCounts, Store, StoreError};

/// What a changed request means, in the words of the README.
const NEW_REQUEST: &str =
    "a changed request is a new request: its most recent due period is created again";

/// A line about one report, and whether it describes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub line: String,
    pub changed: bool,
}

/// One line per configured report, then one per report removed from the config that still has
/// tasks, in config order then by name.
pub async fn describe_changes(
    store: &Store,
    config: &Config,
    now: i64,
) -> Result<Vec<Change>, StoreError> {
    let newest: HashMap<String, NewestTask> = store
        .newest_tasks()
        .await?
        .into_iter()
        .map(|t| (t.report.clone(), t))
        .collect();
    let counts: HashMap<String, ReportCounts> = store.report_counts().await?.into_iter().collect();
    let mut lines = Vec::with_capacity(config.reports.len());
    for report in &config.reports {
        let count = counts.get(&report.name).copied().unwrap_or_default();
        let change = match newest.get(&report.name) {
            Some(task) => {
                let task = current_task(store, report, task, now).await?;
                let mut change = compare(config, report, &task, count, now);
                if change.line.contains(NEW_REQUEST) {
                    let asked = client(report, &task.request);
                    change.line += &file_clash(store, config, report, asked, now).await?;
                }
                change
            }
            None => untracked(store, config, report, now).await?,
        };
        lines.push(change);
    }
    let mut gone: Vec<(&String, &ReportCounts)> = counts
        .iter()
        .filter(|(name, _)| config.report(name).is_none() && !name.starts_with("submit-"))
        .collect();
    gone.sort_by_key(|(name, _)| *name);
    for (name, count) in gone {
        let line = match count.unfinished {
            0 => format!("{name}: removed from the config; its {} tracked period(s) stay in the database, no new period is created", count.tasks),
            n => format!("{name}: removed from the config; its {n} unfinished task(s) finish under the settings they were created with (hooks are not run), no new period is created"),
        };
        lines.push(Change {
            line,
            changed: true,
        });
    }
    Ok(lines)
}

/// The task to hold the config against: the one making the config's request for the report's
/// most recent due period once it is tracked (a changed request already created again), else
/// the report's newest task.
async fn current_task(
    store: &Store,
    report: &ReportConfig,
    newest: &NewestTask,
    now: i64,
) -> Result<NewestTask, StoreError> {
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let Some(period) = periods_due(report, None, at).last().copied() else {
        return Ok(newest.clone());
    };
    let request = client_request_of(report, client(report, &newest.request), &period);
    if request == newest.request {
        return Ok(newest.clone());
    }
    Ok(match store.task_by_request(&request).await? {
        Some(t) if t.report == report.name => NewestTask {
            report: t.report,
            period_from: t.period_from,
            period_to: t.period_to,
            template: t.template,
            request: t.request,
            format: t.format.as_str().to_string(),
            file_name: t.file_name,
            state: t.state.as_str().to_string(),
        },
        _ => newest.clone(),
    })
}

/// When the most recent due period, asked again, would be named like a file another request of
/// the report has: the words saying its download waits, else nothing.
async fn file_clash(
    store: &Store,
    config: &Config,
    report: &ReportConfig,
    asked: Option<i64>,
    now: i64,
) -> Result<String, StoreError> {
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let Some(period) = periods_due(report, None, at).last().copied() else {
        return Ok(String::new());
    };
    let new = new_client_task(report, asked, &period, config.polling.deadline, now);
    let request = canonical_request(&new.template, &new.parameters);
    let taken = store
        .file_name_taken(&report.name, &new.file_name, &request)
        .await?;
    Ok(taken.map_or_else(String::new, |from| {
        format!("; but {} is already the file of the period from {from} under the old request: the new one waits until file_name tells them apart", new.file_name)
    }))
}

/// A configured report with tracked periods: its newest task against what the config asks.
fn compare(
    config: &Config,
    report: &ReportConfig,
    task: &NewestTask,
    count: ReportCounts,
    now: i64,
) -> Change {
    let name = &report.name;
    let kept = format!("{} delivered period(s) keep their files", count.delivered);
    let Some(period) = period_covering(report, &task.period_from, &task.period_to) else {
        let line = format!(
            "{name}: period changed to {} since the last run; {NEW_REQUEST}; {kept}",
            report.period
        );
        return Change {
            line,
            changed: true,
        };
    };
    let asked = client(report, &task.request);
    let new = new_client_task(report, asked, &period, config.polling.deadline, now);
    if canonical_request(&new.template, &new.parameters) != task.request {
        let what = what_changed(task, &new.template, &new.parameters);
        let line = format!("{name}: {what} changed since the last run; {NEW_REQUEST}; {kept}");
        return Change {
            line,
            changed: true,
        };
    }
    let undelivered = count.tasks - count.delivered;
    // A delivered file keeps its format and name; an undelivered one takes the new ones.
    let renamed_file = task.format != new.format.as_str() || task.file_name != new.file_name;
    if task.state != "done" && renamed_file {
        let line = format!("{name}: format or file name changed; the {undelivered} undelivered period(s) take the new ones, {kept}");
        return Change {
            line,
            changed: true,
        };
    }
    Change {
        line: format!("{name}: unchanged; {} tracked period(s)", count.tasks),
        changed: false,
    }
}

/// Which part of the request differs: the template, the parameters, or only the dates.
fn what_changed(
    task: &NewestTask,
    template: &str,
    parameters: &crate::store::Parameters,
) -> &'static str {
    if task.template != template {
        return "template";
    }
    let old: Value = serde_json::from_str(&task.request).unwrap_or_default();
    let undated = |p: &serde_json::Map<String, Value>| {
        let mut p = p.clone();
        p.remove("date_from");
        p.remove("date_to");
        p
    };
    let old_params = old["parameters"]
        .as_object()
        .map(undated)
        .unwrap_or_default();
    if old_params != undated(parameters) {
        return "parameters";
    }
    "the dates asked (period or date_to_style)"
}

/// A configured report without tasks under its name: new, or a rename of a report whose
/// requests it makes (its tasks are carried over at the next scheduling pass).
async fn untracked(
    store: &Store,
    config: &Config,
    report: &ReportConfig,
    now: i64,
) -> Result<Change, StoreError> {
    let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let name = &report.name;
    if let Some(period) = periods_due(report, None, at).last() {
        let new = new_task(report, period, config.polling.deadline, now);
        let request = canonical_request(&new.template, &new.parameters);
        if let Some(task) = store.task_by_request(&request).await? {
            let line = format!("{name}: makes the requests of report {}; its tracked periods carry over to {name} and none is created again", task.report);
            return Ok(Change {
                line,
                changed: true,
            });
        }
    }
    Ok(Change {
        line: format!("{name}: no tracked period yet"),
        changed: false,
    })
}
