//! Leases (several hosts on one database): hosts claiming at once take different tasks; a
//! host whose lease lapsed, whether or not another took its task over, changes nothing; a
//! create is marked only under a lease that outlives its deadline; a hook a dead host left
//! running is armed again. The lease of a "dead" host is backdated by ending it in the
//! database, as its lapse would.

use crate::common::moves;
use gcore_reportd::store::{Lease, PollUpdate, Store, StoreError};

use super::{deliver, downloading, period};

/// A second handle on `store`'s database, joined as host `id` with a lease of `lease_ms`.
pub(super) async fn host(store: &Store, id: &str, lease_ms: i64, create_margin_ms: i64) -> Store {
    let host = store.with_own_lease();
    host.join_hosts(id, &format!("machine-{id}"), 1, lease_ms)
        .await
        .expect("join");
    host.set_holder(Some(Lease {
        id: id.into(),
        create_margin_ms,
    }));
    host
}

/// Host "a" (a 60 s lease) with period 1's task recorded at 1,000 and claimed by it.
pub(super) async fn claimed_by_a(store: &Store) -> (Store, i64) {
    let a = host(store, "a", 60_000, 0).await;
    let id = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    a.claim_due_tasks(1_000, (10, 10), (0, 0))
        .await
        .expect("claim");
    (a, id)
}

pub async fn hosts_claiming_at_once_take_different_tasks(store: &Store) {
    let (a, b) = (
        host(store, "a", 60_000, 0).await,
        host(store, "b", 60_000, 0).await,
    );
    let news: Vec<_> = (1..=10).map(|c| period(c, 0)).collect();
    store.insert_intents(&news, 1_000).await.expect("intents");
    let (ta, tb) = tokio::join!(
        a.claim_due_tasks(1_000, (6, 6), (0, 0)),
        b.claim_due_tasks(1_000, (6, 6), (0, 0))
    );
    let (ta, tb) = (ta.expect("a claims"), tb.expect("b claims"));
    let mut all: Vec<i64> = ta.iter().chain(&tb).map(|t| t.id).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!((ta.len() + tb.len(), all.len()), (10, 10), "{ta:?} {tb:?}");
    // Each host claims its own again, never the other's live ones.
    let again = a
        .claim_due_tasks(1_000, (100, 100), (0, 0))
        .await
        .expect("again");
    let mine: Vec<i64> = ta.iter().map(|t| t.id).collect();
    assert_eq!(again.iter().map(|t| t.id).collect::<Vec<_>>(), mine);
    let hosts = store.hosts().await.expect("hosts");
    let leased: Vec<(&str, i64)> = hosts.iter().map(|h| (h.id.as_str(), h.leased)).collect();
    assert!(leased.contains(&("a", ta.len() as i64)), "{leased:?}");
    assert_eq!(store.live_hosts().await.expect("live"), 2);
}

pub async fn a_host_whose_lease_was_taken_over_changes_nothing(store: &Store) {
    let a = host(store, "a", 60_000, 0).await;
    let id = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    assert_eq!(
        a.claim_due_tasks(1_000, (10, 10), (0, 0))
            .await
            .expect("claim")
            .len(),
        1
    );
    assert_eq!(
        a.begin_creates(&[id], 0, 60_000, 1_000)
            .await
            .expect("mark"),
        [id]
    );
    // Host a stalls; its lease lapses and host b takes the task over.
    store.end_host_lease("a").await.expect("backdate");
    let b = host(store, "b", 60_000, 0).await;
    assert_eq!(
        b.claim_due_tasks(1_001, (10, 10), (0, 0))
            .await
            .expect("claim")[0]
            .id,
        id
    );
    let remote = ("5f0c0000-0000-4000-8000-000000000001", 1_000);
    let stale = a
        .apply(
            id,
            &moves::created(remote.0, remote.1, 2_000, "created"),
            1_002,
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Fenced { id: i, .. }) if i == id),
        "{stale:?}"
    );
    let before = store.task_events(id).await.expect("events").len();
    b.apply(
        id,
        &moves::created(remote.0, remote.1, 2_000, "found by reconcile"),
        1_003,
    )
    .await
    .expect("b writes");
    let poll = PollUpdate {
        id,
        status: "InProgress".into(),
        next_at: 3_000,
        changed: true,
    };
    assert_eq!(
        a.record_polls(std::slice::from_ref(&poll), 1_004)
            .await
            .expect("a"),
        1
    );
    assert!(a
        .begin_downloads(&[id], "Completed", 1_005)
        .await
        .expect("a")
        .is_empty());
    let task = store.task(id).await.expect("read").expect("row");
    assert_eq!(
        (task.remote_status.as_deref(), task.next_attempt_at),
        (Some("Pending"), 2_000)
    );
    assert_eq!(
        store.task_events(id).await.expect("events").len(),
        before + 1
    );
}

pub async fn a_lapsed_lease_writes_nothing_even_before_another_host_takes_over(store: &Store) {
    let (a, id) = claimed_by_a(store).await;
    store.end_host_lease("a").await.expect("backdate");
    assert!(a
        .begin_creates(&[id], 0, 60_000, 1_001)
        .await
        .expect("mark")
        .is_empty());
    let stale = a
        .apply(
            id,
            &moves::retry(gcore_reportd::store::State::Intent, 9, "x"),
            1_002,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Fenced { .. })), "{stale:?}");
    // A lapsed lease is not renewed: the host joins again under a new id.
    assert!(!a.renew_host_lease("a", 60_000).await.expect("renew"));
}

pub async fn a_create_is_marked_only_under_a_lease_that_outlives_its_deadline(store: &Store) {
    let a = host(store, "a", 5_000, 30_000).await;
    let id = store
        .insert_intent(&period(1, 0), 1_000)
        .await
        .expect("insert")
        .expect("new");
    a.claim_due_tasks(1_000, (10, 10), (0, 0))
        .await
        .expect("claim");
    assert!(a
        .begin_creates(&[id], 0, 60_000, 1_001)
        .await
        .expect("mark")
        .is_empty());
    assert!(a.renew_host_lease("a", 60_000).await.expect("renew"));
    assert_eq!(
        a.begin_creates(&[id], 0, 60_000, 1_002)
            .await
            .expect("mark"),
        [id]
    );
}

pub async fn a_hook_a_dead_host_left_running_is_armed_again(store: &Store) {
    let (a, b) = (
        host(store, "a", 60_000, 0).await,
        host(store, "b", 60_000, 0).await,
    );
    let id = downloading(store, &period(1, 0), 1_000).await;
    deliver(store, id, 1, 1_001).await.expect("deliver");
    store.rearm_hook(id, 1_002).await.expect("arm");
    assert!(a.claim_hook(id).await.expect("claim"));
    assert!(!b.claim_hook(id).await.expect("claimed once"));
    assert_eq!(b.rearm_orphaned_hooks().await.expect("a lives"), 0);
    store.end_host_lease("a").await.expect("a dies");
    assert_eq!(b.rearm_orphaned_hooks().await.expect("rearm"), 1);
    assert!(b.claim_hook(id).await.expect("b runs it"));
}

pub async fn a_host_back_under_a_new_lease_is_fenced_from_the_task_another_took(store: &Store) {
    let (a, id) = claimed_by_a(store).await;
    store.end_host_lease("a").await.expect("a stalls");
    let b = host(store, "b", 60_000, 0).await;
    b.claim_due_tasks(1_001, (10, 10), (0, 0))
        .await
        .expect("b claims");
    // a wakes and joins again under a new id: live, but the task is b's.
    a.join_hosts("a2", "machine-a", 1, 60_000)
        .await
        .expect("rejoin");
    a.set_holder(Some(Lease {
        id: "a2".into(),
        create_margin_ms: 0,
    }));
    let stale = a
        .apply(
            id,
            &moves::retry(gcore_reportd::store::State::Intent, 9, "x"),
            1_002,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Fenced { .. })), "{stale:?}");
    assert!(a
        .begin_creates(&[id], 0, 60_000, 1_003)
        .await
        .expect("mark")
        .is_empty());
    b.apply(
        id,
        &moves::retry(gcore_reportd::store::State::Intent, 9, "b's"),
        1_004,
    )
    .await
    .expect("b writes");
}
