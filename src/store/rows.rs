//! The shapes of what the store reads and writes: a task row, an event row, and the small
//! records the engine hands over when a task is created, downloaded or recorded as due.

use sqlx::FromRow;

use super::State;

/// One report task, as stored.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct TaskRow {
    pub id: i64,
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub template: String,
    pub format: String,
    pub parameters: String,
    pub file_name: String,
    pub state: String,
    pub uuid: Option<String>,
    pub remote_status: Option<String>,
    pub attempts: i64,
    pub tries: i64,
    pub next_attempt_at: i64,
    pub intent_at: Option<i64>,
    pub deadline_at: i64,
    pub last_error: Option<String>,
    pub file_path: Option<String>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub hook_state: Option<String>,
    pub remote_created_at: Option<i64>,
    pub data_rows: Option<i64>,
    pub data_columns: Option<i64>,
    pub version: Option<i64>,
    pub delivered_at: Option<i64>,
    pub next_refresh_at: Option<i64>,
    pub next_refresh: Option<i64>,
}

impl TaskRow {
    /// A verified report with a header and no data rows.
    pub fn is_empty(&self) -> bool {
        self.data_rows == Some(0)
    }

    /// The local state; a value this version does not know reads as `Failed`.
    pub fn state(&self) -> State {
        self.state.parse().unwrap_or(State::Failed)
    }
}

/// One entry of a task's history.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct EventRow {
    pub id: i64,
    pub task_id: i64,
    pub at: i64,
    pub state: String,
    pub uuid: Option<String>,
    pub remote_status: Option<String>,
    pub message: Option<String>,
}

/// A remote task as recorded when it is created or adopted.
#[derive(Debug, Clone, Copy)]
pub struct RemoteTask<'a> {
    pub uuid: &'a str,
    pub status: &'a str,
    /// The server's creation time (Unix ms).
    pub created_at: i64,
}

/// A downloaded file, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct FileRecord<'a> {
    pub path: &'a str,
    pub bytes: i64,
    pub sha256: &'a str,
    /// Data rows and columns, when the file was verified.
    pub shape: Option<(i64, i64)>,
}

/// What the scheduler records when a period falls due.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub template: String,
    pub format: String,
    pub parameters: String,
    pub file_name: String,
    pub deadline_at: i64,
}

/// Which tasks `status` lists.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub report: Option<String>,
    pub state: Option<State>,
    pub limit: Option<i64>,
}
