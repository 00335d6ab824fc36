//! The phase changes the store tests apply by hand (`Store::apply`), built as the state machine
//! would build them: one constructor per effect, named by what it does.

use gcore_reportd::lifecycle::{Change, Effect};
use gcore_reportd::store::State;

fn change(from: State, to: State, effect: Effect) -> Change {
    Change { from, to, effect }
}

/// `creating` → `polling`: remote task `uuid` (Pending, created at `created_at`) recorded.
pub fn created(uuid: &str, created_at: i64, next_at: i64, message: &str) -> Change {
    let effect = Effect::Created {
        uuid: uuid.into(),
        status: "Pending".into(),
        created_at,
        next_at,
        message: message.into(),
    };
    change(State::Creating, State::Polling, effect)
}

/// `from` → `to`, an end with `reason` (no hook).
pub fn ended(from: State, to: State, reason: &str) -> Change {
    let effect = Effect::End {
        reason: reason.into(),
        hook: false,
        refused: false,
    };
    change(from, to, effect)
}

/// `creating` → `failed`: the server refused the create.
pub fn refused(reason: &str) -> Change {
    let effect = Effect::End {
        reason: reason.into(),
        hook: false,
        refused: true,
    };
    change(State::Creating, State::Failed, effect)
}

/// `creating` → `intent`: the create certainly never left.
pub fn unsent(next_at: i64, error: &str) -> Change {
    let effect = Effect::Unsent {
        next_at,
        error: error.into(),
    };
    change(State::Creating, State::Intent, effect)
}

/// The same phase, looked at again at `next_at`.
pub fn retry(phase: State, next_at: i64, error: &str) -> Change {
    change(
        phase,
        phase,
        Effect::Retry {
            next_at,
            error: error.into(),
        },
    )
}

/// A poll that saw the task still running with `status`.
pub fn polled(status: &str, next_at: i64, changed: bool) -> Change {
    let effect = Effect::Poll {
        status: status.into(),
        changed,
        next_at,
    };
    change(State::Polling, State::Polling, effect)
}

/// A 404 that began at `since`.
pub fn missing(since: i64, next_at: i64, error: &str) -> Change {
    let effect = Effect::Missing {
        since,
        next_at,
        error: error.into(),
    };
    change(State::Polling, State::Polling, effect)
}

/// `polling` → `downloading`.
pub fn completed() -> Change {
    let effect = Effect::Download {
        status: "Completed".into(),
    };
    change(State::Polling, State::Downloading, effect)
}

/// `from` → `intent`: a new remote task due at `next_at`.
pub fn resubmit(from: State, reason: &str, next_at: i64, deadline_at: i64) -> Change {
    let effect = Effect::Resubmit {
        reason: reason.into(),
        next_at,
        deadline_at,
    };
    change(from, State::Intent, effect)
}

/// A rejected body of remote task `uuid` kept as evidence.
pub fn rejected(uuid: &str, sha256: &str, next_at: i64, message: &str) -> Change {
    let effect = Effect::Rejected {
        uuid: uuid.into(),
        sha256: sha256.into(),
        next_at,
        message: message.into(),
    };
    change(State::Downloading, State::Downloading, effect)
}
