//! The ledger's promises at store level: one intent per request, compare-and-set changes, one
//! live task per period, one delivery per version.

use crate::common::moves;
use gcore_reportd::store::{canonical_request, State, Store, StoreError};

use super::{deliver, downloading, period, uuid};

pub async fn an_intent_is_recorded_once_per_request(store: &Store) {
    let first = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert");
    let again = store
        .insert_intent(&period(1, 0), 2_000)
        .await
        .expect("insert again");
    assert!(
        first.is_some() && again.is_none(),
        "{first:?} then {again:?}"
    );
    let batch = [period(2, 0), period(1, 0), period(2, 0)];
    let ids = store.insert_intents(&batch, 3_000).await.expect("batch");
    assert!(
        ids[0].is_some() && ids[1].is_none() && ids[2].is_none(),
        "{ids:?}"
    );
    assert_eq!(store.count_active().await.expect("count"), 2);
    let events = store.task_events(first.expect("id")).await.expect("events");
    assert_eq!(
        events.len(),
        1,
        "one event for the one recording: {events:?}"
    );
}

pub async fn a_change_expecting_another_state_is_refused_and_leaves_no_event(store: &Store) {
    let id = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    let uuid = uuid(1);
    let remote = (uuid, 1_001);
    // Still an intent: recording a create (which expects `creating`) is refused.
    let early = store
        .apply(
            id,
            &moves::created(&remote.0, remote.1, 2_000, "created"),
            1_002,
        )
        .await;
    assert!(
        matches!(early, Err(StoreError::Conflict { .. })),
        "{early:?}"
    );
    let wrong = store
        .apply(id, &moves::retry(State::Polling, 2_000, "later"), 1_003)
        .await;
    assert!(
        matches!(wrong, Err(StoreError::Conflict { .. })),
        "{wrong:?}"
    );
    let task = store.task(id).await.expect("read").expect("there");
    assert_eq!(task.state, State::Intent);
    assert_eq!(store.task_events(id).await.expect("events").len(), 1);
    // Marked, then created: each from the state it expects.
    store
        .begin_creates(&[id], 0, 60_000, 1_004)
        .await
        .expect("mark");
    store
        .apply(
            id,
            &moves::created(&remote.0, remote.1, 2_000, "created"),
            1_005,
        )
        .await
        .expect("created");
    let twice = store
        .apply(
            id,
            &moves::created(&remote.0, remote.1, 2_000, "created"),
            1_006,
        )
        .await;
    assert!(
        matches!(twice, Err(StoreError::Conflict { .. })),
        "{twice:?}"
    );
    let task = store.task(id).await.expect("read").expect("there");
    assert_eq!((task.state, task.attempts), (State::Polling, 1));
    assert_eq!(store.task_events(id).await.expect("events").len(), 3);
}

pub async fn a_period_has_one_live_task_at_a_time(store: &Store) {
    let first = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    let refresh = store.insert_intent(&period(1, 1), 1_001).await;
    assert!(
        refresh.is_err(),
        "a second live task of the period: {refresh:?}"
    );
    store
        .apply(
            first,
            &moves::ended(State::Intent, State::Failed, "refused"),
            1_002,
        )
        .await
        .expect("fail");
    let second = store
        .insert_intent(&period(1, 1), 1_003)
        .await
        .expect("insert")
        .expect("new");
    // The failed one cannot be retried while its period's refresh is live.
    assert!(!store
        .retry_task(first, false, i64::MAX / 2, 1_004)
        .await
        .expect("retry"));
    assert_eq!(
        store.in_flight_beside(first).await.expect("beside"),
        Some(second)
    );
}

pub async fn a_version_is_delivered_once_per_period(store: &Store) {
    let request = canonical_request("ResellerExpenses", &period(1, 0).parameters);
    let first = downloading(store, &period(1, 0), 1_000).await;
    assert_eq!(store.next_version(&request).await.expect("next"), 1);
    deliver(store, first, 1, 1_001).await.expect("version 1");
    let again = deliver(store, first, 1, 1_002).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    // A refresh claiming version 1 again is refused; as version 2 it is delivered.
    let refresh = downloading(store, &period(1, 1), 2_000).await;
    let stale = deliver(store, refresh, 1, 2_001).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    deliver(store, refresh, 2, 2_002).await.expect("version 2");
    let counts = store
        .version_counts(&[request.as_str()])
        .await
        .expect("counts");
    assert_eq!(counts, [(request.clone(), 2)]);
    let current = store
        .current_version(&request)
        .await
        .expect("current")
        .expect("one");
    assert_eq!((current.id, current.version), (refresh, Some(2)));
}
