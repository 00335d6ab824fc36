//! Conditions changed only as read, batched changes on rows in the expected state, requests
//! found by their canonical text, and the reads behind `status` and `show`.

use crate::common::moves;
use gcore_reportd::store::{
    canonical_request, ConditionKind, NewCondition, NewTask, PollUpdate, State, Store, TaskFilter,
};

use super::{deliver, downloading, period, uuid};

pub async fn a_condition_changes_only_as_it_was_read(store: &Store) {
    let pause = NewCondition {
        reason: "429",
        until_at: Some(5_000),
        key_fingerprint: None,
    };
    let read = store
        .record_condition(ConditionKind::ApiPaused, &pause, 1_000)
        .await
        .expect("record");
    let renewed = store
        .record_condition(ConditionKind::ApiPaused, &pause, 2_000)
        .await
        .expect("renew");
    assert_eq!((renewed.since, renewed.version), (1_000, read.version + 1));
    assert!(!store.clear_condition(&read).await.expect("stale clear"));
    assert!(!store
        .shorten_condition(&read, "r", 3_000, 2_001)
        .await
        .expect("stale"));
    assert!(store
        .shorten_condition(&renewed, "r", 3_000, 2_002)
        .await
        .expect("shorten"));
    let now = store
        .condition(ConditionKind::ApiPaused)
        .await
        .expect("read")
        .expect("one");
    assert_eq!(now.until_at, Some(3_000));
    assert!(store.clear_condition(&now).await.expect("clear"));
    assert!(store.conditions().await.expect("all").is_empty());
}

pub async fn batched_changes_touch_only_rows_in_the_expected_state(store: &Store) {
    let news: Vec<NewTask> = (1..=4).map(|c| period(c, 0)).collect();
    let ids: Vec<i64> = store
        .insert_intents(&news, 1_000)
        .await
        .expect("insert")
        .into_iter()
        .map(|id| id.expect("new"))
        .collect();
    store
        .apply(
            ids[3],
            &moves::ended(State::Intent, State::Failed, "gone"),
            1_001,
        )
        .await
        .expect("fail");
    let marked = store
        .begin_creates(&ids, 500, 60_000, 1_002)
        .await
        .expect("mark");
    assert_eq!(marked, ids[..3]);
    for &id in &ids[..2] {
        let uuid = uuid(id);
        let remote = (uuid, 1_003);
        store
            .apply(
                id,
                &moves::created(&remote.0, remote.1, 2_000, "created"),
                1_003,
            )
            .await
            .expect("created");
    }
    let polls: Vec<PollUpdate> = ids[..3]
        .iter()
        .map(|&id| PollUpdate {
            id,
            status: "InProgress".into(),
            next_at: 9_000,
            changed: true,
        })
        .collect();
    let skipped = store.record_polls(&polls, 1_004).await.expect("polls");
    assert_eq!(skipped, 1, "the task still creating is left as it is");
    let polled = store.task(ids[0]).await.expect("read").expect("there");
    assert_eq!(
        (polled.remote_status.as_deref(), polled.next_attempt_at),
        (Some("InProgress"), 9_000)
    );
    let moved = store
        .begin_downloads(&ids, "Completed", 1_005)
        .await
        .expect("downloads");
    assert_eq!(moved, ids[..2]);
    let by_state = store.count_by_state().await.expect("counts");
    for (state, n) in [("creating", 1), ("downloading", 2), ("failed", 1)] {
        assert!(
            by_state.contains(&(state.to_string(), n)),
            "{state}: {by_state:?}"
        );
    }
}

pub async fn requests_renamed_or_tracked_are_found_by_their_canonical_text(store: &Store) {
    let old = period(1, 0);
    store
        .insert_intent(&old, 1_000)
        .await
        .expect("insert")
        .expect("new");
    let request = canonical_request(&old.template, &old.parameters);
    let other = canonical_request("ResellerPlans", &old.parameters);
    let tracked = store
        .tracked_requests(&[&other, &request])
        .await
        .expect("tracked");
    assert_eq!(tracked, [false, true]);
    let mut renamed = old.clone();
    renamed.report = "renamed".into();
    renamed.file_name = "renamed.csv".into();
    assert_eq!(
        store
            .carry_over(&[renamed.clone()], 2_000)
            .await
            .expect("carry"),
        1
    );
    assert_eq!(store.carry_over(&[renamed], 2_001).await.expect("again"), 0);
    let task = store
        .task_by_request(&request)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        (task.report.as_str(), task.file_name.as_str()),
        ("renamed", "renamed.csv")
    );
}

pub async fn the_operator_views_read_the_same_rows(store: &Store) {
    let first = downloading(store, &period(1, 0), 1_000).await;
    deliver(store, first, 1, 1_001).await.expect("deliver");
    let second = store
        .insert_intent(&period(2, 0), 1_002)
        .await
        .expect("insert")
        .expect("new");
    let all = store
        .list_tasks(&TaskFilter::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 2);
    let one = TaskFilter {
        report: Some("client-2".into()),
        state: Some(State::Intent),
        limit: Some(5),
    };
    let listed = store.list_tasks(&one).await.expect("filtered");
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [second]);
    let by_prefix = store
        .find_task(&uuid(first)[..12])
        .await
        .expect("by uuid prefix");
    assert_eq!(by_prefix.id, first);
    let counts = store.report_counts().await.expect("report counts");
    let client1 = counts
        .iter()
        .find(|(r, _)| r == "client-1")
        .expect("client-1")
        .1;
    assert_eq!(
        (client1.tasks, client1.delivered, client1.unfinished),
        (1, 1, 0)
    );
    assert_eq!(
        store.unsent_periods().await.expect("unsent"),
        (1, Some(1_002))
    );
    assert_eq!(store.newest_tasks().await.expect("newest").len(), 2);
    let done = store.task(first).await.expect("read").expect("there");
    assert_eq!(
        (done.state, done.data_rows, done.version),
        (State::Done, Some(1), Some(1))
    );
}
