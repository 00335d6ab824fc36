//! The reads of a report per client (issue 21), from the `client_id` column each backend
//! generates from a task's parameters: each client's newest request, the per-period state
//! counts `status` prints, and the undelivered clients the metrics count.

use gcore_reportd::store::Store;

use super::{deliver, downloading, period};

pub async fn a_report_per_client_is_read_per_client_from_its_parameters(store: &Store) {
    let mut ids = Vec::new();
    for client in [101, 102, 103] {
        let mut new = period(client, 0);
        new.report = "expenses".into();
        ids.push(match client {
            101 => downloading(store, &new, 1_000).await,
            _ => store
                .insert_intent(&new, 1_000)
                .await
                .expect("insert")
                .expect("new"),
        });
    }
    deliver(store, ids[0], 1, 1_001).await.expect("deliver");
    let mut newest = store
        .newest_client_requests("expenses")
        .await
        .expect("newest");
    newest.sort_by_key(|row| row.client_id);
    assert_eq!(
        newest.iter().map(|r| r.client_id).collect::<Vec<_>>(),
        [101, 102, 103]
    );
    assert!(newest.iter().all(|r| r.period_from == "2026-10-01"));
    assert!(newest[1].request.contains("102"), "{:?}", newest[1]);
    let counts = store.client_state_counts("expenses").await.expect("counts");
    let mut seen: Vec<(String, i64)> = counts
        .iter()
        .map(|c| (c.state.clone(), c.clients))
        .collect();
    seen.sort();
    assert_eq!(seen, [("done".into(), 1), ("intent".into(), 2)]);
    assert_eq!(
        store.clients_undelivered().await.expect("undelivered"),
        [("expenses".into(), 2)]
    );
    let row = store.task(ids[2]).await.expect("read").expect("row");
    assert_eq!(row.client_id(), Some(103));
}
