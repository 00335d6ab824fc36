//! `show ID|UUID`: one task's fields, its attempts (each remote task made, or maybe made), the
//! versions of its period's file, its deliveries to object-storage destinations and its whole
//! event history.

use std::path::Path;
use std::process::ExitCode;

use super::{open_store, print_quietly, task_json};
use crate::cli::table;

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
    let attempts = store.task_attempts(task.id).await?;
    if !attempts.is_empty() {
        out.push_str("\nattempts (remote tasks made, or maybe made):\n");
        let rows: Vec<Vec<String>> = attempts
            .iter()
            .map(|a| {
                vec![
                    table::time(a.sent_at),
                    a.uuid.clone().unwrap_or_else(|| "- (not known)".into()),
                    table::time(a.deadline_at),
                    a.ended_at.map_or_else(|| "-".into(), table::time),
                    a.ended_as.clone().unwrap_or_else(|| "live".into()),
                ]
            })
            .collect();
        let head = ["SENT (UTC)", "UUID", "DEADLINE (UTC)", "ENDED (UTC)", "AS"];
        out.push_str(&table::render(&head, &rows));
    }
    if let Some(versions) = crate::cli::versions::period_table(&store, &task).await? {
        out.push_str(
            "
versions of the period's file:
",
        );
        out.push_str(&versions);
    }
    if let Some(uploads) = super::destinations::task_table(&store, task.id).await? {
        out.push_str("\ndeliveries to destinations:\n");
        out.push_str(&uploads);
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
