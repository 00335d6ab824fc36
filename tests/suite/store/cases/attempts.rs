//! The ledger's attempts: each remote task made, or maybe made, for a task is one row, begun
//! with the "maybe sent" mark, named when the create is answered, ended by the change that
//! ends it; at most one is live per task, and a held task keeps its uncertain one live.

use super::{period, uuid};
use crate::common::moves;
use gcore_reportd::store::{State, Store};

/// How each attempt of task `id` ended, oldest first (`live` for the one still live).
async fn endings(store: &Store, id: i64) -> Vec<(Option<String>, String)> {
    let attempts = store.task_attempts(id).await.expect("attempts");
    let live = attempts.iter().filter(|a| a.ended_at.is_none()).count();
    assert!(live <= 1, "at most one live attempt: {attempts:?}");
    attempts
        .into_iter()
        .map(|a| (a.uuid, a.ended_as.unwrap_or_else(|| "live".into())))
        .collect()
}

fn ended(uuid: Option<&str>, how: &str) -> (Option<String>, String) {
    (uuid.map(str::to_string), how.to_string())
}

pub async fn each_remote_task_of_a_period_is_one_attempt_row_ended_by_the_change_that_ends_it(
    store: &Store,
) {
    let id = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    assert!(
        endings(store, id).await.is_empty(),
        "an intent has sent nothing"
    );
    // Marked, then certainly not sent (a 429): the attempt ends as such.
    store
        .begin_creates(&[id], 0, 60_000, 1_001)
        .await
        .expect("mark");
    store
        .apply(id, &moves::unsent(1_500, "429"), 1_002)
        .await
        .expect("not sent");
    // Marked again, and again after a search found nothing: one attempt each.
    store
        .begin_creates(&[id], 0, 60_000, 1_003)
        .await
        .expect("mark");
    store
        .begin_creates(&[id], 0, 60_000, 1_004)
        .await
        .expect("mark again");
    // Answered: the live attempt is named; then its remote task fails and a new one is due.
    let first = uuid(1);
    store
        .apply(id, &moves::created(&first, 1_004, 2_000, "created"), 1_005)
        .await
        .expect("created");
    let attempts = store.task_attempts(id).await.expect("attempts");
    let live = attempts.last().expect("an attempt");
    assert_eq!(
        (live.sent_at, live.deadline_at),
        (1_004, 61_004),
        "{attempts:?}"
    );
    let resubmit = moves::resubmit(State::Polling, "Failed", 2_000, 90_000);
    store.apply(id, &resubmit, 1_006).await.expect("resubmit");
    // The next create is refused by the server: certainly no task.
    store
        .begin_creates(&[id], 0, 60_000, 1_007)
        .await
        .expect("mark");
    store
        .apply(id, &moves::refused("400"), 1_008)
        .await
        .expect("refused");
    assert_eq!(
        endings(store, id).await,
        [
            ended(None, "not sent"),
            ended(None, "no task found"),
            ended(Some(&first), "resubmitted"),
            ended(None, "refused"),
        ]
    );
}

pub async fn a_held_task_keeps_its_attempt_live_and_a_retry_resumes_or_abandons_it(store: &Store) {
    let id = store
        .insert_intent(&period(2, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    store
        .begin_creates(&[id], 0, 60_000, 1_001)
        .await
        .expect("mark");
    let hold = moves::ended(
        State::Creating,
        State::Held,
        "held for an operator: ambiguous",
    );
    store.apply(id, &hold, 1_002).await.expect("held");
    assert_eq!(endings(store, id).await, [ended(None, "live")]);
    // A second task of the period cannot start beside a held one.
    let refresh = store.insert_intent(&period(2, 1), 1_003).await;
    assert!(
        refresh.is_err(),
        "a held task keeps its period's live slot: {refresh:?}"
    );
    // `retry` searches again: the same attempt, live, its deadline renewed.
    assert!(store
        .retry_task(id, false, 99_000, 1_004)
        .await
        .expect("retry"));
    let task = store.task(id).await.expect("read").expect("there");
    assert_eq!(task.state, State::Creating);
    let attempts = store.task_attempts(id).await.expect("attempts");
    assert_eq!(
        (attempts.len(), attempts[0].deadline_at),
        (1, 99_000),
        "{attempts:?}"
    );
    // Held again, then `retry --create`: that attempt is abandoned, a new one begins.
    store.apply(id, &hold, 1_005).await.expect("held again");
    assert!(store
        .retry_task(id, true, 99_000, 1_006)
        .await
        .expect("retry --create"));
    store
        .begin_creates(&[id], 0, 60_000, 1_007)
        .await
        .expect("mark");
    assert_eq!(
        endings(store, id).await,
        [ended(None, "abandoned by an operator"), ended(None, "live")]
    );
}
