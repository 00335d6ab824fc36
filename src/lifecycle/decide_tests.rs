//! Each row of the transition table, asked of `decide`, and what `decide` refuses.

use super::decide_cases::{budget, cases, not_found, text, NOW};
use super::table::{Row, ROWS};
use super::{decide, Budget, Change, Effect, Observation, State};

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

#[test]
fn only_the_observations_that_spend_attempts_depend_on_the_attempt_budget() {
    let spent = Budget {
        attempts: 99,
        max_attempts: 1,
        resubmit_lost: true,
        on_failure: true,
    };
    for (from, seen, budget) in cases() {
        if seen.spends_attempts() {
            continue;
        }
        let name = seen.name();
        let with = decide(from, seen.clone(), &budget, NOW);
        assert_eq!(with, decide(from, seen, &spent, NOW), "{name} from {from}");
    }
}
