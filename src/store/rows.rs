//! The shapes of what the store reads and writes: a task row (typed at this boundary: a value
//! this version cannot read is an error naming the row, never a default), an event row, and the
//! small records the engine hands over when a task is created, downloaded or recorded as due.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::FromRow;

use super::{State, StoreError};
use crate::format::ReportFormat;

/// A request's parameters, as sent on create (`date_from`/`date_to` included).
pub type Parameters = Map<String, Value>;

/// One report task, as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskRow {
    pub id: i64,
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub template: String,
    pub format: ReportFormat,
    pub parameters: Json<Parameters>,
    pub file_name: String,
    pub state: State,
    pub uuid: Option<String>,
    pub remote_status: Option<String>,
    /// Remote tasks created for this period so far.
    pub attempts: i64,
    /// How far the current step (poll, retry, download) has backed off.
    pub backoff_step: i64,
    pub next_attempt_at: i64,
    /// When the current create was (maybe) sent: the start of its settle window.
    pub intent_at: Option<i64>,
    /// The current attempt's `polling.deadline`, set when its create is marked (or a resubmit
    /// starts); it is consulted only once the remote task exists (`polling`, `downloading`).
    pub deadline_at: i64,
    pub last_error: Option<String>,
    pub file_path: Option<String>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub hook_state: Option<String>,
    pub remote_created_at: Option<i64>,
    /// The canonical request (see [`canonical_request`]): with `refresh`, the task's identity.
    pub request: String,
    pub refresh: i64,
    /// When the remote task first answered 404 (cleared when it answers again).
    pub missing_since: Option<i64>,
    /// Data rows and columns of the verified file (issue 13); `Some(0)` rows: an empty report.
    pub data_rows: Option<i64>,
    pub data_columns: Option<i64>,
    /// Which version of the period's file this task delivered, if any.
    pub version: Option<i64>,
    pub delivered_at: Option<i64>,
    /// On a period's first task: when its next refresh is due, and that refresh's number.
    pub next_refresh_at: Option<i64>,
    pub next_refresh: Option<i64>,
}

impl TaskRow {
    /// A verified report with a header and no data rows.
    pub fn is_empty(&self) -> bool {
        self.data_rows == Some(0)
    }
}

/// A task row as SQLite hands it over, before its text columns are checked.
#[derive(Debug, FromRow)]
pub(super) struct RawTaskRow {
    id: i64,
    report: String,
    period_from: String,
    period_to: String,
    template: String,
    format: String,
    parameters: String,
    file_name: String,
    state: String,
    uuid: Option<String>,
    remote_status: Option<String>,
    attempts: i64,
    backoff_step: i64,
    next_attempt_at: i64,
    intent_at: Option<i64>,
    deadline_at: i64,
    last_error: Option<String>,
    file_path: Option<String>,
    bytes: Option<i64>,
    sha256: Option<String>,
    created_at: i64,
    updated_at: i64,
    hook_state: Option<String>,
    remote_created_at: Option<i64>,
    request: String,
    refresh: i64,
    missing_since: Option<i64>,
    data_rows: Option<i64>,
    data_columns: Option<i64>,
    version: Option<i64>,
    delivered_at: Option<i64>,
    next_refresh_at: Option<i64>,
    next_refresh: Option<i64>,
}

impl TryFrom<RawTaskRow> for TaskRow {
    type Error = StoreError;

    fn try_from(raw: RawTaskRow) -> Result<TaskRow, StoreError> {
        let bad = |column: &'static str, value: &str, why: String| StoreError::BadRow {
            id: raw.id,
            column,
            value: value.chars().take(80).collect(),
            why,
        };
        let state = raw
            .state
            .parse()
            .map_err(|e: String| bad("state", &raw.state, e))?;
        let format = raw
            .format
            .parse()
            .map_err(|e: crate::format::UnknownFormat| bad("format", &raw.format, e.to_string()))?;
        let parameters = match serde_json::from_str::<Value>(&raw.parameters) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                let why = "not a JSON object".to_string();
                return Err(bad("parameters", &raw.parameters, why));
            }
            Err(e) => return Err(bad("parameters", &raw.parameters, e.to_string())),
        };
        Ok(TaskRow {
            id: raw.id,
            report: raw.report,
            period_from: raw.period_from,
            period_to: raw.period_to,
            template: raw.template,
            format,
            parameters: Json(parameters),
            file_name: raw.file_name,
            state,
            uuid: raw.uuid,
            remote_status: raw.remote_status,
            attempts: raw.attempts,
            backoff_step: raw.backoff_step,
            next_attempt_at: raw.next_attempt_at,
            intent_at: raw.intent_at,
            deadline_at: raw.deadline_at,
            last_error: raw.last_error,
            file_path: raw.file_path,
            bytes: raw.bytes,
            sha256: raw.sha256,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
            hook_state: raw.hook_state,
            remote_created_at: raw.remote_created_at,
            request: raw.request,
            refresh: raw.refresh,
            missing_since: raw.missing_since,
            data_rows: raw.data_rows,
            data_columns: raw.data_columns,
            version: raw.version,
            delivered_at: raw.delivered_at,
            next_refresh_at: raw.next_refresh_at,
            next_refresh: raw.next_refresh,
        })
    }
}

/// Checks every row read: the first that this version cannot read is the error.
pub(super) fn typed(rows: Vec<RawTaskRow>) -> Result<Vec<TaskRow>, StoreError> {
    rows.into_iter().map(TaskRow::try_from).collect()
}

/// The canonical form of a request, the task's identity with its refresh number: compact JSON
/// `{"parameters":{…},"template":"CODE"}`, keys sorted (the same text migration 0008 built for
/// the rows before it).
pub fn canonical_request(template: &str, parameters: &Parameters) -> String {
    let mut request = Map::new();
    request.insert("parameters".into(), Value::Object(parameters.clone()));
    request.insert("template".into(), Value::String(template.to_string()));
    Value::Object(request).to_string()
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
    pub format: ReportFormat,
    pub parameters: Parameters,
    pub file_name: String,
    /// Not consulted while the period is not sent: its create's mark sets the real deadline.
    pub deadline_at: i64,
    pub refresh: i64,
    /// The report's settings as JSON (see migration 0011), kept with the task.
    pub settings: Option<String>,
}

/// Which tasks `status` lists.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub report: Option<String>,
    pub state: Option<State>,
    pub limit: Option<i64>,
}

impl TaskRow {
    /// The `client_id` the task asks, when it is an integer (a report per client's tasks).
    pub fn client_id(&self) -> Option<i64> {
        self.parameters.0.get("client_id").and_then(|v| v.as_i64())
    }
}
