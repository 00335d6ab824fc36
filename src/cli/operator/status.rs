//! `status`: every task, newest first, as a table narrow enough for a terminal (with the
//! daemon-wide conditions above it) or as JSON Lines.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use super::{open_store, print_quietly};
use crate::cli::table;
use crate::config::{self, Overrides};
use crate::store::{State, TaskFilter, TaskRow};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print one JSON object per task (JSON Lines) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only this report's tasks.
    #[arg(long)]
    pub report: Option<String>,
    /// Only tasks in this state (intent, creating, polling, downloading, done, failed, expired, lost, held).
    #[arg(long, value_parser = |s: &str| s.parse::<State>())]
    pub state: Option<State>,
    /// At most this many tasks, newest first.
    #[arg(long, default_value_t = 200, conflicts_with = "all")]
    pub limit: i64,
    /// Every task, however many (the default shows the newest 200, and one line per period
    /// for a report per client).
    #[arg(long)]
    pub all: bool,
    /// Only the tasks asking this `client_id` (a report per client's).
    #[arg(long, value_name = "ID")]
    pub client: Option<i64>,
}
pub async fn status(config_path: &Path, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let filter = TaskFilter {
        report: args.report.clone(),
        state: args.state,
        limit: (!args.all && args.client.is_none()).then_some(args.limit + 1),
    };
    let mut tasks = store.list_tasks(&filter).await?;
    if let Some(client) = args.client {
        tasks.retain(|t| t.client_id() == Some(client));
        tasks.truncate(if args.all {
            tasks.len()
        } else {
            args.limit as usize + 1
        });
    }
    // The table summarises a report per client unless every task or one client is asked for.
    let summarised = match args.json || args.all || args.client.is_some() {
        true => Vec::new(),
        false => config::fan_out_names(config_path, &Overrides::default()).unwrap_or_default(),
    };
    let summarised: Vec<String> = (summarised.into_iter())
        .filter(|name| args.report.as_ref().is_none_or(|r| r == name))
        .collect();
    tasks.retain(|t| !summarised.contains(&t.report));
    let more = !args.all && tasks.len() as i64 > args.limit;
    tasks.truncate(if more {
        args.limit as usize
    } else {
        tasks.len()
    });
    // Tasks of reports no longer in the config finish under their own settings: say so.
    let configured = config::report_names(config_path, &Overrides::default()).ok();
    let removed = |report: &str| {
        !report.starts_with("submit-")
            && configured
                .as_ref()
                .is_some_and(|names| !names.iter().any(|n| n == report))
    };
    let mut out = String::new();
    let versions = crate::cli::versions::counts(&store, &tasks).await?;
    let conditions = store.conditions().await?;
    // A period not sent yet while the API holds every create back says so, and since when.
    let now = crate::clock::Clock::from_env()
        .map_err(crate::cli::UsageError)?
        .now_ms();
    let holding = crate::store::holding_back(&conditions, now);
    let waiting: HashMap<i64, String> = tasks
        .iter()
        .filter_map(|t| Some((t.id, waiting(t, holding?)?)))
        .collect();
    if args.json {
        let destinations = super::destinations::any(&store).await?;
        for task in &tasks {
            let mut json = task_json(task);
            json["destinations"] = match destinations {
                true => super::destinations::task_json(&store, task.id).await?,
                false => serde_json::Value::Array(Vec::new()),
            };
            json["waiting"] = waiting.get(&task.id).cloned().into();
            json["report_removed"] = removed(&task.report).into();
            json["versions"] = versions.get(&task.request).copied().unwrap_or(0).into();
            out.push_str(&json.to_string());
            out.push('\n');
        }
    } else {
        for task in tasks.iter_mut().filter(|t| removed(&t.report)) {
            task.report.push_str(" (removed)");
        }
        for condition in &conditions {
            let key = condition
                .key_fingerprint
                .as_ref()
                .map(|key| format!(" (key {key})"))
                .unwrap_or_default();
            let until = condition
                .until_at
                .map(|at| format!(", until {} UTC", table::time(at)))
                .unwrap_or_default();
            let since = table::time(condition.since);
            out.push_str(&format!(
                "! {}: {}{key} (since {since} UTC{until})\n",
                condition.kind.as_str(),
                condition.reason
            ));
        }
        out.push_str(&super::hosts::status_lines(&store).await?);
        out.push_str(&super::per_client::summary(&store, &summarised).await?);
        out.push_str(&super::destinations::status_lines(&store).await?);
        out.push_str(&status_table(&tasks, &versions, &waiting));
        if more {
            out.push_str(&format!(
                "(newest {} shown; --all or --limit N for more)\n",
                args.limit
            ));
        }
    }
    print_quietly(&out)?;
    Ok(ExitCode::SUCCESS)
}
/// The `status --json` object for one task.
pub fn task_json(task: &TaskRow) -> serde_json::Value {
    serde_json::json!({
        "id": task.id,
        "report": task.report,
        "client_id": task.client_id(),
        "period_from": task.period_from,
        "period_to": task.period_to,
        "template": task.template,
        "format": task.format,
        "uuid": task.uuid,
        "state": task.state,
        "remote_status": task.remote_status,
        "path": task.file_path,
        "bytes": task.bytes,
        "sha256": task.sha256,
        "attempts": task.attempts,
        "last_error": task.last_error,
        "next_attempt_at": table::rfc3339(task.next_attempt_at),
        "updated_at": table::rfc3339(task.updated_at),
        "rows": task.data_rows,
        "columns": task.data_columns,
        "empty": task.is_empty(),
        "refresh": task.refresh,
        "version": task.version,
    })
}

/// "waiting since 2026-12-04 09:00:00 UTC: the API refused the key (1a2b3c4d)" for a period not
/// sent yet (`intent`, or `creating` awaiting its reconcile) while `condition` holds every
/// create back; since the period was recorded.
fn waiting(task: &TaskRow, condition: &crate::store::Condition) -> Option<String> {
    task.state.is_creating().then(|| {
        let since = table::time(task.created_at);
        format!("waiting since {since} UTC: {}", condition.why_waiting())
    })
}

/// How many characters of a last error the table shows (`show ID` has all of it).
const ERROR_SHOWN: usize = 60;

/// The `status` table, narrow enough for a terminal: the uuid's first 8 characters (which
/// `show` accepts), the file's name (it is in `storage.output_dir`), the start of the error.
/// `versions`: how many versions each period's file has (by request), shown after the file's
/// name when there are several. `waiting`: by task id, why a period not sent yet waits (shown
/// whole, in place of its last error).
pub fn status_table(
    tasks: &[TaskRow],
    versions: &HashMap<String, i64>,
    waiting: &HashMap<i64, String>,
) -> String {
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                t.report.clone(),
                format!("{}..{}", t.period_from, t.period_to),
                t.state.to_string(),
                t.attempts.to_string(),
                t.uuid
                    .as_deref()
                    .map_or_else(|| "-".into(), |u| u.chars().take(8).collect()),
                table::time(t.updated_at),
                match (waiting.get(&t.id), versions.get(&t.request)) {
                    (Some(why), _) => why.clone(),
                    (None, Some(n)) if *n > 1 => format!("{} ({n} versions)", file_or_error(t)),
                    _ => file_or_error(t),
                },
            ]
        })
        .collect();
    let header = [
        "ID",
        "REPORT",
        "PERIOD",
        "STATE",
        "ATT",
        "UUID",
        "UPDATED (UTC)",
        "FILE / LAST ERROR",
    ];
    table::render(&header, &rows)
}

/// The task's file name, else the beginning of its last error.
fn file_or_error(task: &TaskRow) -> String {
    if let Some(path) = &task.file_path {
        return Path::new(path)
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
    }
    let error = task.last_error.as_deref().unwrap_or_default();
    if error.chars().count() <= ERROR_SHOWN {
        return error.to_string();
    }
    let cut: String = error.chars().take(ERROR_SHOWN - 1).collect();
    format!("{cut}…")
}
