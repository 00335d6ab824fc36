//! A `creating` task taken over by another host: reconciled only after a settle window from
//! the claim, longer when the earlier holder's lease lapsed (it may have been stalled with a
//! create about to leave) than when that host left cleanly (every create of it had ended).

use super::leases::{claimed_by_a, host};
use gcore_reportd::store::Store;

pub async fn a_create_taken_over_from_a_lapsed_lease_waits_out_the_settle_again(store: &Store) {
    let (a, id) = claimed_by_a(store).await;
    assert_eq!(
        a.begin_creates(&[id], 0, 60_000, 1_000)
            .await
            .expect("mark"),
        [id]
    );
    store.end_host_lease("a").await.expect("a stalls");
    // Its create may have left until its lease lapsed: b takes the task, not yet to reconcile.
    let b = host(store, "b", 60_000, 0).await;
    let taken = b
        .claim_due_tasks(5_000, (10, 10), (35_000, 9_000))
        .await
        .expect("claim");
    assert!(taken.is_empty(), "{taken:?}");
    let task = store.task(id).await.expect("read").expect("row");
    assert_eq!(task.next_attempt_at, 35_000);
    let c = host(store, "c", 60_000, 0).await;
    assert!(c
        .claim_due_tasks(40_000, (10, 10), (0, 0))
        .await
        .expect("c")
        .is_empty());
    let due = b
        .claim_due_tasks(35_000, (10, 10), (99_000, 99_000))
        .await
        .expect("b");
    assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
}

pub async fn a_create_left_by_a_host_that_stopped_cleanly_waits_only_the_settle(store: &Store) {
    let (a, id) = claimed_by_a(store).await;
    a.begin_creates(&[id], 0, 60_000, 1_000)
        .await
        .expect("mark");
    // The create was answered unknown, then the host stopped: its lease ends at once.
    assert_eq!(store.leave_hosts("a").await.expect("a leaves"), 1);
    let b = host(store, "b", 60_000, 0).await;
    let taken = b
        .claim_due_tasks(5_000, (10, 10), (35_000, 9_000))
        .await
        .expect("claim");
    assert!(taken.is_empty(), "{taken:?}");
    let task = store.task(id).await.expect("read").expect("row");
    assert_eq!(
        task.next_attempt_at, 9_000,
        "the settle only, not the lapsed lease's wait"
    );
}
