//! `retry ID`: a failed, expired or lost task gets a new attempt that asks what the config asks
//! now (template, parameters, format, file name for the task's period), so the usual fix works:
//! correct the config, then retry. A task whose report is no longer in the config is refused
//! (there is nothing to re-render it from), except a one-off `submit`, retried as it was. A task
//! whose create may have reached the server is searched for there first; `--create` skips the
//! search (the operator has looked: a task held for an operator is the case). A task is
//! refused while another task of its period (a refresh) is in flight. A done task's failed
//! deliveries to destinations (an object with other bytes at the key) are made pending again.

use std::path::Path;
use std::process::ExitCode;

use super::operator::open_store;
use super::{load_config, UsageError};
use crate::clock::{after, Clock};
use crate::config::{Config, Overrides, ReportConfig};
use crate::engine;
use crate::store::{Rerendered, State, Store, TaskRow};

pub async fn retry(config_path: &Path, key: &str, create: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let task = store.find_task(key).await?;
    if task.state == State::Done {
        let now = Clock::from_env().map_err(UsageError)?.now_ms();
        let again = store.retry_failed_uploads(task.id, now).await?;
        if again > 0 {
            println!("task {}: {again} failed delivery(ies) to destinations will be attempted again by the running daemon (or `run --once`)", task.id);
            return Ok(ExitCode::SUCCESS);
        }
    }
    if !matches!(
        task.state,
        State::Failed | State::Expired | State::Lost | State::Held
    ) {
        let msg = format!(
            "task {} is {}: only failed, expired, lost or held tasks (or a done task's failed deliveries to destinations) can be retried",
            task.id, task.state
        );
        return Err(UsageError(msg).into());
    }
    if let Some(other) = store.in_flight_beside(task.id).await? {
        let msg = format!(
            "task {other} of the same period is still in flight, and a period has one task in flight at a time: retry task {} when task {other} has ended",
            task.id
        );
        return Err(UsageError(msg).into());
    }
    let config = load_config(config_path, &Overrides::default())?;
    let now = Clock::from_env().map_err(UsageError)?.now_ms();
    let note = match config.report(&task.report) {
        Some(report) => rerender(&store, &config, report, &task, now).await?,
        None if task.report.starts_with("submit-") => "a one-off task, retried as it was".into(),
        None => {
            let msg = format!(
                "task {}'s report {} is no longer in the config: retry sends what the config asks for the period, and it asks nothing; put the report back, or `forget` the task",
                task.id, task.report
            );
            return Err(UsageError(msg).into());
        }
    };
    let deadline_at = after(now, config.polling.deadline);
    if !store.retry_task(task.id, create, deadline_at, now).await? {
        let msg = format!("task {} changed meanwhile: look again with `show`", task.id);
        return Err(UsageError(msg).into());
    }
    println!(
        "task {} ({} {}..{}) will be attempted again by the running daemon (or `run --once`): {note}",
        task.id, task.report, task.period_from, task.period_to
    );
    Ok(ExitCode::SUCCESS)
}

/// Makes the task ask what the report's current config asks for its period.
async fn rerender(
    store: &Store,
    config: &Config,
    report: &ReportConfig,
    task: &TaskRow,
    now: i64,
) -> anyhow::Result<String> {
    let Some(period) = engine::period_covering(report, &task.period_from, &task.period_to) else {
        let msg = format!(
            "report {}'s periods are now {}: none starts on {} as task {}'s did; `backfill` the new periods instead",
            report.name, report.period, task.period_from, task.id
        );
        return Err(UsageError(msg).into());
    };
    // A report per client's task keeps its client: the config is held against its request.
    let client = report.clients.as_ref().and(task.client_id());
    let new = engine::new_client_task(report, client, &period, config.polling.deadline, now);
    match store.rerender(task.id, task.state, &new, now).await? {
        Rerendered::Done { changed: true } => {
            Ok("with the config's current template and parameters".into())
        }
        Rerendered::Done { changed: false } => Ok("the config asks the same as before".into()),
        Rerendered::Taken { by } => {
            let msg = format!(
                "the config's request for this period is task {by}'s already: retry or show that one"
            );
            Err(UsageError(msg).into())
        }
    }
}
