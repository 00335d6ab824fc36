//! The versions of a period's file in the operator commands: `status` shows how many versions
//! each listed period has, `show` lists them (the first delivery and every refresh: which
//! version each delivered, or that it confirmed the current one unchanged).

use std::collections::HashMap;

use super::table;
use crate::store::{Store, StoreError, TaskRow};

/// Versions per request, for the periods of `tasks`.
pub async fn counts(store: &Store, tasks: &[TaskRow]) -> Result<HashMap<String, i64>, StoreError> {
    let mut requests: Vec<&str> = tasks.iter().map(|t| t.request.as_str()).collect();
    requests.sort_unstable();
    requests.dedup();
    let mut counts = HashMap::new();
    for chunk in requests.chunks(500) {
        counts.extend(store.version_counts(chunk).await?);
    }
    Ok(counts)
}

/// The `show` table of a period's deliveries, or `None` when the period has one task only.
pub async fn period_table(store: &Store, task: &TaskRow) -> Result<Option<String>, StoreError> {
    let tasks = store.period_tasks(&task.request).await?;
    if tasks.len() < 2 && task.version.unwrap_or(1) == 1 {
        return Ok(None);
    }
    let latest = tasks.iter().filter_map(|t| t.version).max();
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let outcome = match t.version {
                Some(v) if Some(v) == latest => format!("version {v} (current)"),
                Some(v) => format!("version {v}"),
                None if t.sha256.is_some() && !t.is_empty() => "confirmed unchanged".into(),
                None if t.is_empty() => "empty, not delivered".into(),
                None => "-".into(),
            };
            vec![
                t.refresh.to_string(),
                t.id.to_string(),
                t.state.to_string(),
                t.delivered_at
                    .map(table::time)
                    .unwrap_or_else(|| "-".into()),
                outcome,
                t.data_rows
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                t.sha256
                    .as_deref()
                    .map(|s| s[..s.len().min(12)].to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "REFRESH",
        "TASK",
        "STATE",
        "DELIVERED (UTC)",
        "OUTCOME",
        "ROWS",
        "SHA256",
    ];
    Ok(Some(table::render(&header, &rows)))
}
