//! What `status` and `show` say of object-storage deliveries (issue 22): above the status
//! table one line per destination (delivered, pending since when, failed, the newest error);
//! in `status --json`, each task's `destinations` (one object per upload); in `show`, the
//! task's uploads one per row. Nothing is printed where no destination was ever used.

use crate::cli::table;
use crate::store::{Store, StoreError};

/// One line per destination for `status`, empty when there are none.
pub async fn status_lines(store: &Store) -> Result<String, StoreError> {
    let mut out = String::new();
    for d in store.destination_summaries().await? {
        let since = d
            .pending_since
            .map(|at| format!(" since {} UTC", table::time(at)))
            .unwrap_or_default();
        let error = d
            .last_error
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "~ destination {}: {} delivered ({} bytes), {} pending{since}, {} failed{error}\n",
            d.destination, d.delivered, d.bytes, d.pending, d.failed
        ));
    }
    Ok(out)
}

/// Whether any destination was ever used (else no task has uploads to look up).
pub async fn any(store: &Store) -> Result<bool, StoreError> {
    Ok(!store.destination_summaries().await?.is_empty())
}

/// The task's uploads for `status --json`: destination, role (`current`, `kept` or
/// `manifest`), key, version, state, pending since, delivered at, attempts and the last error
/// of each.
pub async fn task_json(store: &Store, task_id: i64) -> Result<serde_json::Value, StoreError> {
    let uploads = store.task_uploads(task_id).await?;
    let json = uploads.iter().map(|u| {
        serde_json::json!({
            "destination": u.destination,
            "role": u.role,
            "key": u.object_key,
            "version": u.version,
            "state": u.state,
            "pending_since": table::rfc3339(u.pending_since),
            "delivered_at": u.delivered_at.map(table::rfc3339),
            "attempts": u.attempts,
            "last_error": u.last_error,
        })
    });
    Ok(json.collect())
}

/// The task's uploads as a table for `show`, `None` when it has none.
pub async fn task_table(store: &Store, task_id: i64) -> Result<Option<String>, StoreError> {
    let uploads = store.task_uploads(task_id).await?;
    if uploads.is_empty() {
        return Ok(None);
    }
    let rows: Vec<Vec<String>> = uploads
        .iter()
        .map(|u| {
            let when = match u.delivered_at {
                Some(at) => table::time(at),
                None => format!("since {}", table::time(u.pending_since)),
            };
            vec![
                u.destination.clone(),
                u.object_key.clone(),
                u.version.to_string(),
                u.state.clone(),
                when,
                u.attempts.to_string(),
                u.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Ok(Some(table::render(
        &[
            "DESTINATION",
            "KEY",
            "VERSION",
            "STATE",
            "AT (UTC)",
            "ATT",
            "LAST ERROR",
        ],
        &rows,
    )))
}
