//! Each row of the transition table, asked of `decide`, and what `decide` refuses.

use std::time::Duration;

use super::table::{Row, ROWS};
use super::{decide, Budget, Change, Effect, Observation, State};

const NOW: i64 = 1_000_000;

fn budget(attempts: i64, max_attempts: i64) -> Budget {
    Budget {
        attempts,
        max_attempts,
        resubmit_lost: false,
        on_failure: true,
    }
}

fn text(s: &str) -> String {
    s.to_string()
}

fn not_found(first_seen: Option<i64>) -> Observation {
    Observation::NotFound {
        error: text("404"),
        first_seen,
        lost_after_ms: 60_000,
        next_poll_at: NOW + 10,
        deadline_at: NOW + 99,
    }
}

fn rejected(before: Option<&str>, expires_at: i64) -> Observation {
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
fn cases() -> Vec<(State, Observation, Budget)> {
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

fn check(row: &Row, from: State, change: &Change) {
    assert!(
        row.from.contains(from.as_str()) || row.from.starts_with("intent …"),
        "{row:?} from {from}"
    );
    let to = if row.to == "(unchanged)" {
        from.as_str()
    } else {
        row.to
    };
    assert_eq!(change.from, from, "{row:?}");
    assert_eq!(change.to.as_str(), to, "{row:?}");
    assert_eq!(change.effect.name(), row.effect, "{row:?}");
}

#[test]
fn every_row_of_the_table_is_what_decide_answers() {
    let cases = cases();
    assert_eq!(cases.len(), ROWS.len());
    for (row, (from, seen, budget)) in ROWS.iter().zip(cases) {
        assert_eq!(seen.name(), row.seen, "{row:?}");
        let change = decide(from, seen, &budget, NOW).unwrap_or_else(|e| panic!("{row:?}: {e}"));
        check(row, from, &change);
    }
}

#[test]
fn an_observation_a_phase_cannot_take_is_an_error_naming_both() {
    let seen = Observation::Completed {
        status: text("Completed"),
    };
    let err = decide(State::Done, seen, &budget(1, 3), NOW).unwrap_err();
    assert_eq!((err.from, err.seen), (State::Done, "completed"));
    assert!(err.to_string().contains("done"), "{err}");
    let seen = Observation::DeadlinePassed {
        reason: text("expired"),
    };
    assert!(
        decide(State::Creating, seen.clone(), &budget(1, 3), NOW).is_err(),
        "a creating task is reconciled, never expired"
    );
    assert!(
        decide(State::Intent, seen, &budget(1, 3), NOW).is_err(),
        "an intent never expires"
    );
    let fault = Observation::Fault {
        message: text("503"),
        retry_at: NOW,
    };
    assert!(
        decide(State::Held, fault, &budget(1, 3), NOW).is_err(),
        "a held task waits for an operator"
    );
}

#[test]
fn a_held_period_arms_no_failure_hook_and_a_refused_create_is_no_longer_maybe_sent() {
    let seen = Observation::Ambiguous {
        reason: text("why"),
    };
    let held = decide(State::Creating, seen, &budget(0, 3), NOW).unwrap();
    assert_eq!(
        held.effect,
        Effect::End {
            reason: text("why"),
            hook: false,
            refused: false
        }
    );
    let seen = Observation::CreateRefused {
        reason: text("400"),
    };
    let refused = decide(State::Creating, seen, &budget(0, 3), NOW).unwrap();
    assert_eq!(
        refused.effect,
        Effect::End {
            reason: text("400"),
            hook: true,
            refused: true
        }
    );
}

#[test]
fn a_404_keeps_the_time_it_began_and_counts_the_grace_from_it() {
    let first = decide(State::Polling, not_found(None), &budget(1, 3), NOW).unwrap();
    assert!(
        matches!(first.effect, Effect::Missing { since: NOW, .. }),
        "{first:?}"
    );
    let later = decide(
        State::Polling,
        not_found(Some(NOW - 59_999)),
        &budget(1, 3),
        NOW,
    )
    .unwrap();
    assert!(
        matches!(later.effect, Effect::Missing { since, .. } if since == NOW - 59_999),
        "{later:?}"
    );
    let gone = decide(
        State::Polling,
        not_found(Some(NOW - 61_000)),
        &budget(1, 3),
        NOW,
    )
    .unwrap();
    let Effect::End { reason, .. } = gone.effect else {
        panic!("{gone:?}")
    };
    assert!(
        reason.starts_with("the remote task vanished: 404 for 1m 1s"),
        "{reason}"
    );
}
