//! The state machine, written once: from a task's phase, what a step saw, the task's attempt
//! budget and the time, the one change to make. Pure: no I/O, no clock of its own. Every
//! phase change the engine makes is asked of [`decide`]; the README's transition table is its
//! rows (`table`, checked against the README by a test).

use std::time::Duration;

use super::{Budget, Change, Effect, Observation, State, Unexpected};

/// The change a task in `from` makes on `seen`, at `now` (Unix ms).
pub fn decide(
    from: State,
    seen: Observation,
    budget: &Budget,
    now: i64,
) -> Result<Change, Unexpected> {
    let change = |to: State, effect: Effect| Ok(Change { from, to, effect });
    let end = |to: State, reason: String| {
        let hook = budget.on_failure && to != State::Held;
        change(to, end_effect(reason, hook, false))
    };
    match (from, seen) {
        (
            State::Creating,
            Observation::Created {
                uuid,
                status,
                created_at,
                next_poll_at,
                message,
            },
        ) => {
            let next_at = next_poll_at;
            change(
                State::Polling,
                Effect::Created {
                    uuid,
                    status,
                    created_at,
                    next_at,
                    message,
                },
            )
        }
        (State::Creating, Observation::CreateRefused { reason }) => {
            change(State::Failed, end_effect(reason, budget.on_failure, true))
        }
        (State::Creating, Observation::CreateNotSent { error, retry_at }) => change(
            State::Intent,
            Effect::Unsent {
                next_at: retry_at,
                error,
            },
        ),
        (State::Creating, Observation::Ambiguous { reason }) => end(State::Held, reason),
        (
            State::Polling,
            Observation::Running {
                status,
                changed,
                next_poll_at,
            },
        ) => {
            let next_at = next_poll_at;
            change(
                State::Polling,
                Effect::Poll {
                    status,
                    changed,
                    next_at,
                },
            )
        }
        (State::Polling, Observation::Completed { status }) => {
            change(State::Downloading, Effect::Download { status })
        }
        (
            State::Polling,
            Observation::RemoteEnded {
                why,
                resubmit_at,
                deadline_at,
            },
        ) => {
            let attempt = budget.attempts.max(1);
            let reason = format!("attempt {attempt}: {why}");
            if attempt >= budget.max_attempts {
                return end(State::Failed, reason);
            }
            change(State::Intent, resubmit(reason, resubmit_at, deadline_at))
        }
        (
            State::Polling,
            Observation::NotFound {
                error,
                first_seen,
                lost_after_ms,
                next_poll_at,
                deadline_at,
            },
        ) => {
            let since = first_seen.unwrap_or(now);
            let lasted = now.saturating_sub(since);
            if lasted < lost_after_ms {
                let grace = humantime::format_duration(millis(lost_after_ms));
                let error = format!(
                    "the remote task answered 404 ({error}); it is lost if that lasts {grace}"
                );
                return change(
                    State::Polling,
                    Effect::Missing {
                        since,
                        next_at: next_poll_at,
                        error,
                    },
                );
            }
            let lasted = humantime::format_duration(millis(lasted));
            let reason = format!("the remote task vanished: 404 for {lasted} ({error})");
            if budget.resubmit_lost && budget.attempts < budget.max_attempts {
                return change(State::Intent, resubmit(reason, now, deadline_at));
            }
            end(State::Lost, reason)
        }
        (State::Downloading, seen @ Observation::Rejected { .. }) => rejected(seen, budget, now),
        (State::Polling | State::Downloading, Observation::DeadlinePassed { reason }) => {
            end(State::Expired, reason)
        }
        (phase, Observation::Fault { message, retry_at }) if phase.is_active() => change(
            phase,
            Effect::Retry {
                next_at: retry_at,
                error: message,
            },
        ),
        (phase, Observation::Inconsistent { reason }) if phase.is_active() => {
            end(State::Failed, reason)
        }
        (from, seen) => Err(Unexpected {
            from,
            seen: seen.name(),
        }),
    }
}

/// A body of the current remote task failed verification: the same bytes twice mean the remote
/// file is bad (a new remote task while `max_attempts` allows); other bytes, or a first
/// rejection, are downloaded again (a transfer fault, not counted) unless the deadline passed.
fn rejected(seen: Observation, budget: &Budget, now: i64) -> Result<Change, Unexpected> {
    let Observation::Rejected {
        uuid,
        sha256,
        before,
        reason,
        expires_at,
        polling_deadline,
        retry_at,
        resubmit_at,
        deadline_at,
    } = seen
    else {
        let seen = seen.name();
        return Err(Unexpected {
            from: State::Downloading,
            seen,
        });
    };
    let from = State::Downloading;
    let on_failure = budget.on_failure;
    if before.as_deref() == Some(sha256.as_str()) {
        let attempt = budget.attempts.max(1);
        let max = budget.max_attempts;
        let why = format!("remote task {uuid}'s file is malformed, the same bytes downloaded twice (sha256 {sha256}): {reason}");
        if attempt >= max {
            let tasks = if attempt == 1 { "task" } else { "tasks" };
            let reason =
                format!("failed after {attempt} remote {tasks} (max_attempts = {max}): {why}");
            let effect = end_effect(reason, on_failure, false);
            return Ok(Change {
                from,
                to: State::Failed,
                effect,
            });
        }
        let effect = resubmit(
            format!("attempt {attempt}: {why}"),
            resubmit_at,
            deadline_at,
        );
        return Ok(Change {
            from,
            to: State::Intent,
            effect,
        });
    }
    if now > expires_at {
        let deadline = humantime::format_duration(polling_deadline);
        let reason = format!("expired: the downloads kept arriving malformed past polling.deadline ({deadline}): {reason}");
        let effect = end_effect(reason, on_failure, false);
        return Ok(Change {
            from,
            to: State::Expired,
            effect,
        });
    }
    let message = match before {
        None => format!(
            "{reason}; sha256 {sha256}: downloading it again (different bytes would mean the transfer was at fault, not counted against max_attempts; the same bytes that the remote file is bad)"
        ),
        Some(previous) => format!(
            "{reason}; sha256 {sha256}, not the {previous} rejected before: the transfer was at fault, not counted against max_attempts; downloading again"
        ),
    };
    let effect = Effect::Rejected {
        uuid,
        sha256,
        next_at: retry_at,
        message,
    };
    Ok(Change {
        from,
        to: from,
        effect,
    })
}

fn end_effect(reason: String, hook: bool, refused: bool) -> Effect {
    Effect::End {
        reason,
        hook,
        refused,
    }
}

fn resubmit(reason: String, next_at: i64, deadline_at: i64) -> Effect {
    Effect::Resubmit {
        reason,
        next_at,
        deadline_at,
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
