//! The records the store's statements take and return beyond task and event rows (`rows`),
//! attempts included: the same for every backend, so the engine never knows which database it
//! has.

use super::{FileRecord, NewTask};

/// A polled task still running remotely: its status and when to look at it next.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PollUpdate {
    pub id: i64,
    pub status: String,
    pub next_at: i64,
    /// Whether the status differs from the stored one (only then is an event kept).
    #[serde(skip)]
    pub changed: bool,
}

/// How a task's download ends: the file recorded, the version it became (if any), whether a
/// hook is to run, the refresh schedule (on a period's first task) and the event's message.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `path` is `None` when nothing was delivered.
    pub file: FileRecord<'a>,
    pub path: Option<&'a str>,
    pub version: Option<i64>,
    pub hook: bool,
    /// When the period is next requested again, and that refresh's number.
    pub next_refresh: Option<(i64, i64)>,
    pub message: &'a str,
    /// The object-storage puts the new version calls for, recorded pending with it.
    pub uploads: &'a [NewUpload],
}

/// A task of its report's newest tracked period (see [`Store::newest_requests`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NewestRequest {
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub request: String,
}

/// What re-rendering a task's request for `retry` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerendered {
    /// The task now makes the config's request (`changed`: it differs from the old one).
    Done { changed: bool },
    /// Another task already makes the config's request for this period.
    Taken { by: i64 },
}

/// A task that a file path is recorded for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileOwner {
    pub id: i64,
    pub report: String,
    pub period_from: String,
}

/// A refresh to record: the period's first task `anchor` (its schedule read as `expected`),
/// the refresh's task, the refresh numbers it skips (due too, but older) and the schedule
/// after it (when, and which refresh), `None` when none is left.
#[derive(Debug, Clone)]
pub struct RefreshPlan<'a> {
    pub anchor: i64,
    pub expected: i64,
    pub new: &'a NewTask,
    pub skipped: std::ops::Range<i64>,
    pub next: Option<(i64, i64)>,
}

/// A report's newest tracked period and what its task asks (see [`Store::newest_tasks`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NewestTask {
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub template: String,
    pub request: String,
    pub format: String,
    pub file_name: String,
    pub state: String,
}

/// How many tasks a report has, and how many of them delivered a file.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct ReportCounts {
    pub tasks: i64,
    pub delivered: i64,
    pub unfinished: i64,
}

/// A first delivery of a client's newest tracked period of a report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NewestClientRequest {
    pub client_id: i64,
    pub period_from: String,
    pub period_to: String,
    pub request: String,
}

/// How many of a fan-out report's clients are in each state, per period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientStateCount {
    pub report: String,
    pub period_from: String,
    pub period_to: String,
    pub state: String,
    pub clients: i64,
}

/// An upload to record with a new version: where, what, and (for the period's current key)
/// the sha256 of the version it replaces there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub destination: String,
    /// `current` (the period's name), `kept` (a restated version's versioned name) or
    /// `manifest` (the period's manifest as just rewritten).
    pub role: &'static str,
    pub version: i64,
    pub object_key: String,
    pub source_path: String,
    pub bytes: i64,
    pub sha256: String,
    pub replaces_sha256: Option<String>,
}

/// An upload as the uploader and the operator see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: i64,
    pub task_id: i64,
    pub report: String,
    pub request: String,
    pub version: i64,
    pub destination: String,
    pub role: String,
    pub object_key: String,
    pub source_path: String,
    pub bytes: i64,
    pub sha256: String,
    pub replaces_sha256: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub pending_since: i64,
    pub last_error: Option<String>,
    pub etag: Option<String>,
    pub delivered_at: Option<i64>,
}

/// One destination's deliveries at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DestinationSummary {
    pub destination: String,
    pub delivered: i64,
    pub pending: i64,
    pub failed: i64,
    /// Bytes delivered there.
    pub bytes: i64,
    /// Since when the oldest pending upload waits (Unix ms).
    pub pending_since: Option<i64>,
    /// The newest error of a pending or failed upload.
    pub last_error: Option<String>,
}

/// A host sharing the database (see [`Store::hosts`]): its lease, on the database's clock.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct HostRow {
    /// The lease id: fresh at each start and after each lapse.
    pub id: String,
    pub name: String,
    pub pid: i64,
    pub started_at: i64,
    pub last_seen: i64,
    pub lease_until: i64,
    /// The database's now when read (Unix ms): the lease is live while `lease_until` is later.
    pub db_now: i64,
    /// How many unfinished tasks carry this lease.
    pub leased: i64,
}

/// One attempt of a task: a remote task made, or maybe made (migration 0023).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AttemptRow {
    pub id: i64,
    pub task_id: i64,
    /// When its create was marked "maybe sent" (Unix ms).
    pub sent_at: i64,
    /// Its `polling.deadline`, counted from that mark.
    pub deadline_at: i64,
    /// Its remote task, once known.
    pub uuid: Option<String>,
    pub ended_at: Option<i64>,
    /// How it ended: `not sent`, `refused`, `no task found`, `resubmitted`, `failed`,
    /// `expired`, `lost`, `delivered`, `no new version`, `abandoned by an operator`.
    pub ended_as: Option<String>,
}
