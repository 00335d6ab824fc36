//! The operator commands: `status`, `show`, `check-config` and `templates`. They read the same
//! database as a running daemon (WAL lets them), and never create one.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::{load_config, table};
use crate::config::{self, Overrides};
use crate::engine;
use crate::store::{State, Store, TaskFilter, TaskRow};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Print one JSON object per task (JSON Lines) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only this report's tasks.
    #[arg(long)]
    pub report: Option<String>,
    /// Only tasks in this state (intent, creating, polling, downloading, done, failed, expired, lost).
    #[arg(long, value_parser = |s: &str| s.parse::<State>())]
    pub state: Option<State>,
    /// At most this many tasks, newest first.
    #[arg(long, default_value_t = 200, conflicts_with = "all")]
    pub limit: i64,
    /// Every task, however many (the default shows the newest 200).
    #[arg(long)]
    pub all: bool,
}

/// The commands that ask the API directly (`templates`, `check-config --online`) send nothing
/// while a pause the API asked for (a `Retry-After` the daemon recorded) lasts.
pub(super) async fn refuse_during_api_pause(config: &config::Config) -> anyhow::Result<()> {
    let store = match Store::open_existing(&config.storage.database).await {
        Ok(store) => store,
        Err(crate::store::StoreError::Missing { .. }) => return Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the database for a pause the API asked for; asking the API anyway");
            return Ok(());
        }
    };
    let paused = store.condition(crate::store::API_PAUSED).await;
    store.close().await;
    let now = crate::clock::Clock::from_env()
        .map_err(super::UsageError)?
        .now_ms();
    match paused? {
        Some(pause) if pause.until_at.is_some_and(|until| until > now) => Err(anyhow::anyhow!(
            "{}, and this command would ask it something: try again after that",
            pause.value
        )),
        _ => Ok(()),
    }
}

pub(super) async fn open_store(config_path: &Path) -> anyhow::Result<Store> {
    let (database, _) = config::storage_paths(config_path, &Overrides::default())?;
    Ok(Store::open_existing(&database).await?)
}

pub async fn status(config_path: &Path, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let filter = TaskFilter {
        report: args.report.clone(),
        state: args.state,
        limit: (!args.all).then_some(args.limit + 1),
    };
    let mut tasks = store.list_tasks(&filter).await?;
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
    let versions = super::versions::counts(&store, &tasks).await?;
    if args.json {
        for task in &tasks {
            let mut json = task_json(task);
            json["report_removed"] = removed(&task.report).into();
            json["versions"] = versions.get(&task.request).copied().unwrap_or(0).into();
            out.push_str(&json.to_string());
            out.push('\n');
        }
    } else {
        for task in tasks.iter_mut().filter(|t| removed(&t.report)) {
            task.report.push_str(" (removed)");
        }
        for condition in store.conditions().await? {
            let until = condition
                .until_at
                .map(|at| format!(" (until {} UTC)", table::time(at)))
                .unwrap_or_default();
            out.push_str(&format!(
                "! {}: {}{until}\n",
                condition.key, condition.value
            ));
        }
        out.push_str(&status_table(&tasks, &versions));
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

/// Writes `text` to stdout. A reader that went away (`status | head`) is not an error: the
/// command just stops.
pub(super) fn print_quietly(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The `status --json` object for one task.
pub fn task_json(task: &TaskRow) -> serde_json::Value {
    serde_json::json!({
        "id": task.id,
        "report": task.report,
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

/// How many characters of a last error the table shows (`show ID` has all of it).
const ERROR_SHOWN: usize = 60;

/// The `status` table, narrow enough for a terminal: the uuid's first 8 characters (which
/// `show` accepts), the file's name (it is in `storage.output_dir`), the start of the error.
/// `versions`: how many versions each period's file has (by request), shown after the file's
/// name when there are several.
pub fn status_table(tasks: &[TaskRow], versions: &HashMap<String, i64>) -> String {
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
                match versions.get(&t.request) {
                    Some(n) if *n > 1 => format!("{} ({n} versions)", file_or_error(t)),
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

pub async fn show(config_path: &Path, key: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let task = store.find_task(key).await?;
    let events = store.task_events(task.id).await?;
    let json = task_json(&task);
    let mut out = String::new();
    if let Some(fields) = json.as_object() {
        for (k, v) in fields {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            out.push_str(&format!("{k:>16}: {value}\n"));
        }
    }
    out.push_str(&format!(
        "{:>16}: {}\n",
        "parameters",
        serde_json::Value::Object(task.parameters.0.clone())
    ));
    if let Some(versions) = super::versions::period_table(&store, &task).await? {
        out.push_str(
            "
versions of the period's file:
",
        );
        out.push_str(&versions);
    }
    out.push_str(
        "
history:
",
    );
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                table::time(e.at),
                e.state.clone(),
                e.uuid.clone().unwrap_or_else(|| "-".into()),
                e.remote_status.clone().unwrap_or_else(|| "-".into()),
                e.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &["AT (UTC)", "STATE", "UUID", "REMOTE", "MESSAGE"],
        &rows,
    ));
    print_quietly(&out)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn templates(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(config_path, &Overrides::default())?;
    refuse_during_api_pause(&config).await?;
    let client = engine::build_client(&config)?;
    let templates = client
        .templates()
        .await
        .context("cannot list the report templates")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&templates)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = templates
        .iter()
        .map(|t| {
            let params = t.parameters.clone().unwrap_or_default().parameters;
            let params: Vec<String> = params
                .iter()
                .map(|p| {
                    let req = if p.required == Some(true) { "" } else { "?" };
                    format!("{}{req}:{}", p.name, p.kind.as_deref().unwrap_or("any"))
                })
                .collect();
            vec![
                t.code.clone(),
                t.name_en.clone().unwrap_or_default(),
                params.join(", "),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["CODE", "NAME", "PARAMETERS (? = optional)"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}
