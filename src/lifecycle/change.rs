//! The change the state machine decides: the phase a task is expected in (compare-and-set), the
//! phase it moves to, and what is written with it. The store applies a change in one
//! transaction with its event (`Store::apply`); the event each effect leaves is said here.

use super::State;

/// A task's move from `from` to `to` (the same phase for a retry or a poll), with its effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub from: State,
    pub to: State,
    pub effect: Effect,
}

/// What a change writes besides the phase. The event each leaves is in its doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The remote task is the period's current attempt; polled from `next_at`. Event: `message`.
    Created {
        uuid: String,
        status: String,
        created_at: i64,
        next_at: i64,
        message: String,
    },
    /// Back to `intent`, no longer maybe sent; due again at `next_at`. Event: `not sent: …`.
    Unsent { next_at: i64, error: String },
    /// The same phase, looked at again at `next_at`. Event: `error`.
    Retry { next_at: i64, error: String },
    /// Still running, polled again at `next_at`. An event only when the status `changed`.
    Poll {
        status: String,
        changed: bool,
        next_at: i64,
    },
    /// A 404 that began at `since`, within the grace: polled again at `next_at`. Event: `error`.
    Missing {
        since: i64,
        next_at: i64,
        error: String,
    },
    /// Completed: the file is fetched now. Event: `report ready: downloading`.
    Download { status: String },
    /// A rejected body's sha256 kept as evidence; downloaded again at `next_at`. Event: `message`.
    Rejected {
        uuid: String,
        sha256: String,
        next_at: i64,
        message: String,
    },
    /// The attempt ended; a new remote task is due at `next_at` with a new `deadline_at`.
    /// Events: `reason` (with the ended attempt's uuid), then `resubmitting as a new remote task`.
    Resubmit {
        reason: String,
        next_at: i64,
        deadline_at: i64,
    },
    /// The task ends (or is held) with `reason`, its `on_failure` hook armed when `hook`. A
    /// create the server `refused` certainly made no task: it no longer counts as maybe sent.
    /// Event: `reason`.
    End {
        reason: String,
        hook: bool,
        refused: bool,
    },
}

impl Effect {
    /// The effect's name, as the README's transition table writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Effect::Created { .. } => "record the remote task",
            Effect::Unsent { .. } => "due again, not maybe sent",
            Effect::Retry { .. } => "look again later",
            Effect::Poll { .. } => "poll again later",
            Effect::Missing { .. } => "note the 404, poll again",
            Effect::Download { .. } => "download now",
            Effect::Rejected { .. } => "keep the sha256, download again",
            Effect::Resubmit { .. } => "a new remote task",
            Effect::End { refused: true, .. } => "end, not maybe sent",
            Effect::End { .. } => "end",
        }
    }
}

/// An observation the phase cannot take: a caller's mistake, named with both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a task in {from} cannot take the observation {seen:?}: no transition of the lifecycle starts there")]
pub struct Unexpected {
    pub from: State,
    pub seen: &'static str,
}
