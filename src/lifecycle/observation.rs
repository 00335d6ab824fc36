//! What a step can see of a task, as the state machine takes it: an answer of the API, a fault,
//! the clock passing a deadline, or the evidence of a search. The times in an observation (when
//! to look again, a new attempt's deadline) are the engine's backoff policy, worked out before
//! it asks; which of them the task gets is the decision's (`decide`).

/// One thing a step saw of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The create was answered with remote task `uuid`, or a search found it.
    Created {
        uuid: String,
        status: String,
        created_at: i64,
        next_poll_at: i64,
        message: String,
    },
    /// The API refused the create (a 4xx): it certainly made no task.
    CreateRefused { reason: String },
    /// The create certainly never reached the server (a 429, a refused connection or key, a
    /// shutdown): it is due again at `retry_at`.
    CreateNotSent { error: String, retry_at: i64 },
    /// A search for an unanswered create found a task that may be its, or may not: the evidence
    /// cannot settle it.
    Ambiguous { reason: String },
    /// A poll: the remote task is still running (`changed`: not the status seen last).
    Running {
        status: String,
        changed: bool,
        next_poll_at: i64,
    },
    /// A poll: the remote task is Completed.
    Completed { status: String },
    /// A poll: the remote task ended Failed or Cancelled; `why` names it and the reason.
    RemoteEnded {
        why: String,
        resubmit_at: i64,
        deadline_at: i64,
    },
    /// A poll was answered 404 (`error`); the 404s began at `first_seen` (none: this one).
    NotFound {
        error: String,
        first_seen: Option<i64>,
        lost_after_ms: i64,
        next_poll_at: i64,
        deadline_at: i64,
    },
    /// A downloaded body of remote task `uuid` failed verification (`reason`); `before` is the
    /// sha256 of the body of the same remote task rejected last, if any.
    Rejected {
        uuid: String,
        sha256: String,
        before: Option<String>,
        reason: String,
        expires_at: i64,
        polling_deadline: std::time::Duration,
        retry_at: i64,
        resubmit_at: i64,
        deadline_at: i64,
    },
    /// `polling.deadline` passed without the report completing (`reason` says how).
    DeadlinePassed { reason: String },
    /// A fault worth trying again (the network, a 5xx or 429, the output directory): the task
    /// is looked at again at `retry_at`.
    Fault { message: String, retry_at: i64 },
    /// The row contradicts itself (a polling task without a uuid).
    Inconsistent { reason: String },
}

impl Observation {
    /// Whether the decision may spend or count an attempt (`Budget::max_attempts`,
    /// `Budget::resubmit_lost`); the others need only `Budget::on_failure`.
    pub fn spends_attempts(&self) -> bool {
        matches!(
            self,
            Observation::RemoteEnded { .. }
                | Observation::NotFound { .. }
                | Observation::Rejected { .. }
        )
    }

    /// The observation's name, as the README's transition table writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Observation::Created { .. } => "created",
            Observation::CreateRefused { .. } => "create refused",
            Observation::CreateNotSent { .. } => "create not sent",
            Observation::Ambiguous { .. } => "ambiguous evidence",
            Observation::Running { .. } => "running",
            Observation::Completed { .. } => "completed",
            Observation::RemoteEnded { .. } => "failed or cancelled",
            Observation::NotFound { .. } => "not found",
            Observation::Rejected { .. } => "body rejected",
            Observation::DeadlinePassed { .. } => "deadline passed",
            Observation::Fault { .. } => "fault",
            Observation::Inconsistent { .. } => "inconsistent row",
        }
    }
}

/// What the decision needs to know of the task besides its phase: its attempts so far and the
/// report's settings that bound them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Remote tasks made for the period so far.
    pub attempts: i64,
    /// The report's `max_attempts`.
    pub max_attempts: i64,
    /// The report's `resubmit_lost`: a vanished remote task is made again.
    pub resubmit_lost: bool,
    /// The report has an `on_failure` hook, armed when the task ends badly.
    pub on_failure: bool,
}
