//! One simulated report task: its record, its lifecycle and its JSON form. The status is not
//! driven by timers: each time the task is looked at, [`TaskRecord::advance`] moves it along
//! Pending → InProgress → Completed/Failed according to the time elapsed since creation and
//! the faults in force, and records when the status changed (`updated_at`).

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{json, Map, Value};

use super::faults::Faults;

/// The reseller's own identity, as the API reports it on every task.
pub(crate) const USER_ID: i64 = 1;
pub(crate) const CLIENT_ID: i64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    InProgress,
    Completed,
    Failed,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::InProgress => "InProgress",
            Status::Completed => "Completed",
            Status::Failed => "Failed",
        }
    }

    fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Failed)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TaskRecord {
    pub uuid: String,
    pub template: String,
    /// The parameters as the create request gave them (no `type` key added).
    pub params: Map<String, Value>,
    pub created: Instant,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub status: Status,
    /// Set at creation when this task is one of the first `fail_first` of its kind.
    pub doomed: Option<String>,
    /// Why the task failed, once it has.
    pub error: Option<String>,
    /// Whether `never_finish_when` kept the task running past its nominal end.
    pub held: bool,
    /// The account (`client_id`) whose key created it: other accounts do not see it.
    pub client_id: i64,
    /// The data rows of its report, fixed when it was created.
    pub rows: usize,
    /// Which revision of its period's content it serves (0 = the first; see
    /// [`super::SimOptions::restatements`]).
    pub revision: u32,
    /// Downloads of its file so far.
    pub downloads: u32,
    /// Created with a bad file: every download is the same malformed bytes.
    pub bad_file: bool,
}

impl TaskRecord {
    pub(crate) fn new(
        template: &str,
        params: Map<String, Value>,
        doomed: Option<String>,
        clock_ahead: Duration,
        client_id: i64,
    ) -> TaskRecord {
        let created_at = add(micros(Timestamp::now()), clock_ahead);
        TaskRecord {
            uuid: uuid::Uuid::new_v4().to_string(),
            template: template.to_string(),
            params,
            created: Instant::now(),
            created_at,
            updated_at: created_at,
            status: Status::Pending,
            doomed,
            error: None,
            held: false,
            client_id,
            rows: 0,
            revision: 0,
            downloads: 0,
            bad_file: false,
        }
    }

    /// The parameters as the API shows them: the request's plus `type`.
    pub(crate) fn shown_params(&self) -> Value {
        let mut params = self.params.clone();
        params.insert("type".into(), Value::String(self.template.clone()));
        Value::Object(params)
    }

    /// Moves the status along to where it is at `now`; final statuses never change.
    pub(crate) fn advance(
        &mut self,
        now: Instant,
        pending_for: Duration,
        running_for: Duration,
        faults: &Faults,
    ) {
        if self.status.is_final() {
            return;
        }
        let elapsed = now.saturating_duration_since(self.created);
        let end = pending_for + running_for;
        let (status, offset) = if elapsed < pending_for {
            (Status::Pending, Duration::ZERO)
        } else if elapsed < end {
            (Status::InProgress, pending_for)
        } else if matches_rule(&self.params, &faults.never_finish_when) {
            self.held = true;
            (Status::InProgress, pending_for)
        } else if let Some(reason) = self.failure(faults) {
            self.error = Some(reason);
            (Status::Failed, end)
        } else {
            (Status::Completed, end)
        };
        if status != self.status {
            let nominal = add(self.created_at, offset);
            let changed = if self.held && status.is_final() {
                micros(Timestamp::now())
            } else {
                nominal
            };
            self.updated_at = changed.max(self.updated_at);
            self.status = status;
        }
    }

    fn failure(&self, faults: &Faults) -> Option<String> {
        if let Some(reason) = &self.doomed {
            return Some(reason.clone());
        }
        match &faults.fail_when {
            Some((key, value)) if matches_rule(&self.params, &faults.fail_when) => Some(format!(
                "Report generation failed: simulated failure for parameters.{key} = {value}"
            )),
            _ => None,
        }
    }

    /// The FileTask object; `shown_status` overrides the status (the unknown-status fault).
    pub(crate) fn to_json(&self, rows: usize, shown_status: Option<&str>) -> Value {
        let notes = match self.status {
            Status::Pending => json!({}),
            Status::InProgress | Status::Completed => json!({ "records_to_process": rows }),
            Status::Failed => json!({
                "records_to_process": rows,
                "errors": [{ "message": self.error.clone().unwrap_or_default() }],
            }),
        };
        json!({
            "uuid": self.uuid,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "user_id": USER_ID,
            "client_id": self.client_id,
            "task_type": "Report",
            "status": shown_status.unwrap_or(self.status.as_str()),
            "processing_notes": notes,
            "parameters": self.shown_params(),
        })
    }
}

/// Parameters as a lax server echoes them: numbers as strings, dates as midnight date-times.
pub(crate) fn loosen(params: &mut Value) {
    let Some(map) = params.as_object_mut() else {
        return;
    };
    for value in map.values_mut() {
        let loose = match &*value {
            Value::Number(n) => Value::String(n.to_string()),
            Value::String(s) if super::query::strict_date(s).is_some() => {
                Value::String(format!("{s}T00:00:00Z"))
            }
            _ => continue,
        };
        *value = loose;
    }
}

/// Whether `params[key] == value` for a fault rule.
pub(crate) fn matches_rule(params: &Map<String, Value>, rule: &Option<(String, Value)>) -> bool {
    rule.as_ref()
        .is_some_and(|(key, value)| params.get(key) == Some(value))
}

/// RFC 3339 in UTC with microseconds and `Z`, as Django REST framework renders datetimes.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Truncates to whole microseconds, the precision the API shows.
impl TaskRecord {
    /// Moves its times by `offset_ms` (see `SimOptions::clock_offset_ms`).
    pub(crate) fn shift_clock(&mut self, offset_ms: i64) {
        let by = jiff::SignedDuration::from_millis(offset_ms);
        self.created_at = self.created_at.checked_add(by).unwrap_or(self.created_at);
        self.updated_at = self.updated_at.checked_add(by).unwrap_or(self.updated_at);
    }
}

fn micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .map(micros)
        .unwrap_or(t)
}
