//! The transition table's rows as cases for `decide`'s tests: each row's phase, observation
//! and budget, with the helpers that build them.

use std::time::Duration;

use super::{Budget, Observation, State};

pub(super) const NOW: i64 = 1_000_000;

pub(super) fn budget(attempts: i64, max_attempts: i64) -> Budget {
    Budget {
        attempts,
        max_attempts,
        resubmit_lost: false,
        on_failure: true,
    }
}

pub(super) fn text(s: &str) -> String {
    s.to_string()
}

pub(super) fn not_found(first_seen: Option<i64>) -> Observation {
    Observation::NotFound {
        error: text("404"),
        first_seen,
        lost_after_ms: 60_000,
        next_poll_at: NOW + 10,
        deadline_at: NOW + 99,
    }
}

pub(super) fn rejected(before: Option<&str>, expires_at: i64) -> Observation {
    Observation::Rejected {
        uuid: text("u1"),
        sha256: text("aa"),
        before: before.map(text),
        reason: text("a short row"),
        expires_at,
        polling_deadline: Duration::from_secs(3600),
        retry_at: NOW + 10,
        resubmit_at: NOW + 20,
        deadline_at: NOW + 99,
    }
}

/// The table's rows, each as a case: the phase, what is seen, the budget.
pub(super) fn cases() -> Vec<(State, Observation, Budget)> {
    let one = budget(1, 3);
    let spent = budget(3, 3);
    let created = Observation::Created {
        uuid: text("u1"),
        status: text("Pending"),
        created_at: NOW,
        next_poll_at: NOW + 10,
        message: text("created"),
    };
    let ended = |b| {
        (
            State::Polling,
            Observation::RemoteEnded {
                why: text("Failed"),
                resubmit_at: NOW,
                deadline_at: NOW + 9,
            },
            b,
        )
    };
    let resubmit_lost = Budget {
        resubmit_lost: true,
        ..one
    };
    let running = Observation::Running {
        status: text("InProgress"),
        changed: true,
        next_poll_at: NOW + 10,
    };
    vec![
        (State::Creating, created, one),
        (
            State::Creating,
            Observation::CreateRefused {
                reason: text("400"),
            },
            one,
        ),
        (
            State::Creating,
            Observation::CreateNotSent {
                error: text("429"),
                retry_at: NOW + 5,
            },
            one,
        ),
        (
            State::Creating,
            Observation::Ambiguous {
                reason: text("a listed task may be its"),
            },
            one,
        ),
        (State::Polling, running, one),
        (
            State::Polling,
            Observation::Completed {
                status: text("Completed"),
            },
            one,
        ),
        ended(one),
        ended(spent),
        (State::Polling, not_found(Some(NOW - 1_000)), one),
        (State::Polling, not_found(Some(NOW - 60_000)), resubmit_lost),
        (State::Polling, not_found(Some(NOW - 60_000)), one),
        (State::Downloading, rejected(Some("aa"), NOW + 99), one),
        (State::Downloading, rejected(Some("aa"), NOW + 99), spent),
        (State::Downloading, rejected(Some("bb"), NOW - 1), one),
        (State::Downloading, rejected(None, NOW + 99), one),
        (
            State::Downloading,
            Observation::DeadlinePassed {
                reason: text("expired"),
            },
            one,
        ),
        (
            State::Intent,
            Observation::Fault {
                message: text("503"),
                retry_at: NOW + 5,
            },
            one,
        ),
        (
            State::Polling,
            Observation::Inconsistent {
                reason: text("no uuid"),
            },
            one,
        ),
    ]
}
