//! A task's phase (`intent` → `creating` → `polling` → `downloading` → an end, or `held` for an
//! operator): its names as stored and shown, and what each means for the engine.

use std::str::FromStr;

/// A task's local state: where it is in create → poll → download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Recorded as due; nothing sent yet.
    Intent,
    /// A create was (maybe) sent; its outcome must be reconciled before creating again.
    Creating,
    /// Created remotely; waiting for Completed / Failed / Cancelled.
    Polling,
    /// Completed remotely; the file is being fetched.
    Downloading,
    /// The file is in the output directory.
    Done,
    /// Given up: rejected, or failed remotely `max_attempts` times.
    Failed,
    /// Not finished before `polling.deadline`.
    Expired,
    /// The remote task vanished (404).
    Lost,
    /// A create's outcome cannot be settled from the evidence (a listed task that may be its,
    /// or not): the period waits for an operator (`retry`, or `retry --create` once they have
    /// checked) rather than risk a second remote task.
    Held,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Intent,
        State::Creating,
        State::Polling,
        State::Downloading,
        State::Done,
        State::Failed,
        State::Expired,
        State::Lost,
        State::Held,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Intent => "intent",
            State::Creating => "creating",
            State::Polling => "polling",
            State::Downloading => "downloading",
            State::Done => "done",
            State::Failed => "failed",
            State::Expired => "expired",
            State::Lost => "lost",
            State::Held => "held",
        }
    }

    /// Whether no remote task is known yet (`intent` or `creating`).
    pub fn is_creating(self) -> bool {
        matches!(self, State::Intent | State::Creating)
    }

    /// Whether the period's task is unfinished: the engine works on it, or (`held`) it waits for
    /// an operator. A period has one unfinished task at a time.
    pub fn is_unfinished(self) -> bool {
        self.is_active() || self == State::Held
    }

    /// Whether the engine still has work to do for a task in this state.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Intent | State::Creating | State::Polling | State::Downloading
        )
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown state {s:?}: expected one of intent, creating, polling, downloading, done, failed, expired, lost, held"))
    }
}
