//! The rest of the engine's and the commands' statements, each run once on either backend with
//! the rule it keeps: hooks claimed once, refreshes scheduled once for an idle period, the
//! account remembered first come, and the other changes only from the state they expect.

use crate::common::moves;
use gcore_reportd::store::{
    canonical_request, Delivery, FileRecord, RefreshPlan, Rerendered, State, Store, StoreError,
};

use super::{downloading, period, uuid};

pub async fn a_hook_is_claimed_once_and_rearmed_only_when_its_task_is_finished(store: &Store) {
    let id = downloading(store, &period(1, 0), 1_000).await;
    let file = FileRecord {
        path: "/r/1.csv",
        bytes: 3,
        sha256: "ab",
        shape: None,
    };
    let delivery = Delivery {
        file,
        path: Some("/r/1.csv"),
        version: Some(1),
        hook: true,
        next_refresh: None,
        message: "delivered",
        uploads: &[],
    };
    store
        .record_delivery(id, &delivery, 1_001)
        .await
        .expect("deliver");
    let pending = store.pending_hooks(10).await.expect("pending");
    assert_eq!(pending.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
    assert!(store.claim_hook(id).await.expect("claim"));
    assert!(!store.claim_hook(id).await.expect("claim again"));
    assert_eq!(store.rearm_interrupted_hooks().await.expect("rearm"), 1);
    assert!(store.claim_hook(id).await.expect("claim after a crash"));
    store
        .finish_hook(id, true, "hook ok", 1_002)
        .await
        .expect("finish");
    assert!(store.rearm_hook(id, 1_003).await.expect("operator rearm"));
    store
        .skip_hook(id, "report removed", 1_004)
        .await
        .expect("skip");
    assert!(store.pending_hooks(10).await.expect("pending").is_empty());
    let owner = store
        .file_owner("/r/1.csv", id + 1)
        .await
        .expect("owner")
        .expect("one");
    assert_eq!(owner.id, id);
    assert_eq!(
        store.last_download_by_report().await.expect("last"),
        [("client-1".into(), 1_001)]
    );
}

pub async fn a_refresh_is_recorded_once_and_only_for_an_idle_period(store: &Store) {
    let first = downloading(store, &period(1, 0), 1_000).await;
    let path = format!("/r/{first}.csv");
    let delivery = Delivery {
        file: FileRecord {
            path: &path,
            bytes: 3,
            sha256: "ab",
            shape: Some((0, 2)),
        },
        path: Some(&path),
        version: Some(1),
        hook: false,
        next_refresh: Some((5_000, 1)),
        message: "delivered",
        uploads: &[],
    };
    store
        .record_delivery(first, &delivery, 1_001)
        .await
        .expect("deliver");
    assert!(store
        .due_refreshes(4_999, 10)
        .await
        .expect("not yet")
        .is_empty());
    assert_eq!(store.next_refresh_due().await.expect("next"), Some(5_000));
    let due = store.due_refreshes(6_000, 10).await.expect("due");
    assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), [first]);
    let refresh = period(1, 1);
    let plan = RefreshPlan {
        anchor: first,
        expected: 1,
        new: &refresh,
        skipped: 1..1,
        next: None,
    };
    let id = store
        .schedule_refresh(&plan, 6_000)
        .await
        .expect("refresh")
        .expect("recorded");
    let again = store.schedule_refresh(&plan, 6_001).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. }) | Ok(None)),
        "{again:?}"
    );
    assert!(store
        .due_refreshes(7_000, 10)
        .await
        .expect("none")
        .is_empty());
    let request = canonical_request(&refresh.template, &refresh.parameters);
    assert_eq!(store.period_tasks(&request).await.expect("period").len(), 2);
    assert_eq!(
        store.version_sha256(&request, 1).await.expect("sha"),
        Some("ab".into())
    );
    assert_eq!(
        store.count_restated_and_empty().await.expect("counts"),
        (0, 1)
    );
    assert_eq!(
        store.task(id).await.expect("read").expect("there").state,
        State::Intent
    );
}

pub async fn the_remaining_changes_apply_only_from_the_state_they_expect(store: &Store) {
    assert_eq!(store.remember_account(42, 1_000).await.expect("first"), 42);
    assert_eq!(store.remember_account(7, 1_001).await.expect("second"), 42);
    assert_eq!(store.account().await.expect("account"), Some(42));
    let id = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    assert_eq!(store.next_due_at().await.expect("due at"), Some(1_000));
    assert_eq!(store.due_tasks(1_000, 10).await.expect("due").len(), 1);
    store
        .begin_creates(&[id], 0, 60_000, 1_001)
        .await
        .expect("mark");
    store
        .apply(id, &moves::unsent(2_000, "429"), 1_002)
        .await
        .expect("not sent");
    let not_polling = store
        .apply(id, &moves::missing(1_003, 3_000, "404"), 1_003)
        .await;
    assert!(
        matches!(not_polling, Err(StoreError::Conflict { .. })),
        "{not_polling:?}"
    );
    store
        .begin_creates(&[id], 0, 60_000, 1_004)
        .await
        .expect("mark again");
    let created = uuid(id);
    let remote = (created.clone(), 1_005);
    store
        .apply(
            id,
            &moves::created(&remote.0, remote.1, 2_000, "created"),
            1_005,
        )
        .await
        .expect("created");
    assert!(store.uuid_known(&created).await.expect("known"));
    assert_eq!(
        store.newest_remote_uuid().await.expect("newest"),
        Some((created.clone(), true))
    );
    assert_eq!(
        store
            .count_created_still_working(1_006, true)
            .await
            .expect("working"),
        1
    );
    // Past its deadline (61_004), its last try not failed: worked on while a look can be made.
    for (can_look, working) in [(true, 1), (false, 0)] {
        let counted = store.count_created_still_working(70_000, can_look).await;
        assert_eq!(counted.expect("working"), working, "can_look {can_look}");
    }
    store
        .apply(id, &moves::missing(1_006, 3_000, "404"), 1_006)
        .await
        .expect("missing");
    let missing = store.task(id).await.expect("read").expect("there");
    assert_eq!(missing.missing_since, Some(1_006));
    let counted = store.count_created_still_working(70_000, true).await;
    assert_eq!(
        counted.expect("working"),
        0,
        "its last try failed: it waits for the API"
    );
    store
        .apply(
            id,
            &moves::resubmit(State::Polling, "failed remotely", 3_000, 90_000),
            1_007,
        )
        .await
        .expect("resubmit");
    store
        .begin_creates(&[id], 0, 60_000, 1_008)
        .await
        .expect("mark a third time");
    store
        .apply(id, &moves::refused("400: bad template"), 1_009)
        .await
        .expect("refused");
    let failed = store.task(id).await.expect("read").expect("there");
    assert_eq!(failed.state, State::Failed);
    let mut fixed = period(1, 0);
    fixed.settings = Some("{}".into());
    let rerendered = store
        .rerender(id, State::Failed, &fixed, 1_010)
        .await
        .expect("rerender");
    assert_eq!(rerendered, Rerendered::Done { changed: false });
    assert_eq!(
        store.task_settings(id).await.expect("settings"),
        Some("{}".into())
    );
    assert_eq!(
        store.unfinished_periods().await.expect("unfinished").len(),
        0
    );
    assert!(store
        .count_changed_since(1_000)
        .await
        .expect("changed")
        .contains(&("failed".into(), 1)));
    assert!(store.forget_task(id).await.expect("forget"));
    assert!(store.task(id).await.expect("read").is_none());
    let rejected = downloading(store, &period(2, 0), 2_000).await;
    let ruuid = uuid(rejected);
    store
        .apply(
            rejected,
            &moves::rejected(&ruuid, "cd", 3_000, "bad file"),
            2_001,
        )
        .await
        .expect("rejected");
    assert_eq!(
        store.rejected_body(rejected, &ruuid).await.expect("body"),
        Some("cd".into())
    );
}
