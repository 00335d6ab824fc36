//! The ledger's exactly-one keys (migration 0018): one delivery per (period, version,
//! destination), written in the transaction that records the version, and one live task per
//! period; a database of an earlier release is carried into both.

use gcore_reportd::store::Store;

use super::unique::{delivery, insert, REQUEST};

async fn deliveries(pool: &sqlx::SqlitePool) -> Vec<(i64, i64, String, String)> {
    sqlx::query_as("SELECT task_id, version, destination, location FROM deliveries ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("deliveries")
}

#[tokio::test]
async fn each_version_delivered_is_one_ledger_row_and_a_second_delivery_of_it_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    let first = insert(store.pool(), REQUEST, 0, "downloading", None, 0)
        .await
        .expect("first");
    store
        .record_delivery(first, &delivery(1), 10)
        .await
        .expect("version 1");
    let refresh = insert(store.pool(), REQUEST, 1, "downloading", None, 0)
        .await
        .expect("refresh");
    store
        .record_delivery(refresh, &delivery(2), 20)
        .await
        .expect("version 2");
    let expected = vec![
        (first, 1, "output_dir".to_string(), "/r/e.csv".to_string()),
        (refresh, 2, "output_dir".to_string(), "/r/e.csv".to_string()),
    ];
    assert_eq!(deliveries(store.pool()).await, expected);

    let again = sqlx::query(
        "INSERT INTO deliveries (task_id, request, version, destination, location, bytes,
            sha256, delivered_at) VALUES (?1, ?2, 2, 'output_dir', '/r/x.csv', 1, 'x', 30)",
    )
    .bind(refresh)
    .bind(REQUEST)
    .execute(store.pool())
    .await;
    let refused = again.expect_err("version 2 reached the output directory already");
    assert!(refused.to_string().contains("UNIQUE"), "{refused}");
    assert_eq!(deliveries(store.pool()).await, expected, "nothing added");
}

#[tokio::test]
async fn a_period_has_at_most_one_live_task_whatever_its_refresh_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    insert(store.pool(), REQUEST, 0, "polling", None, 0)
        .await
        .expect("the first task");
    let second = insert(store.pool(), REQUEST, 1, "intent", None, 0).await;
    let refused = second.expect_err("a refresh beside a live task is refused");
    assert!(refused.to_string().contains("UNIQUE"), "{refused}");
    insert(store.pool(), "another period", 1, "intent", None, 0)
        .await
        .expect("another period has its own live task");
}

#[tokio::test]
async fn an_earlier_database_keeps_one_live_task_per_period_and_carries_only_real_deliveries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, pool) = crate::migrations::migrated_before(dir.path(), "0018").await;
    let done = insert(&pool, REQUEST, 0, "done", Some(1), 10)
        .await
        .expect("v1");
    sqlx::query("UPDATE tasks SET file_path = '/r/e.csv', bytes = 3 WHERE id = ?1")
        .bind(done)
        .execute(&pool)
        .await
        .expect("its file");
    // A refresh that found the file unchanged: the period's path, no version.
    let unchanged = insert(&pool, REQUEST, 3, "done", None, 15)
        .await
        .expect("unchanged refresh");
    sqlx::query("UPDATE tasks SET file_path = '/r/e.csv', bytes = 3 WHERE id = ?1")
        .bind(unchanged)
        .execute(&pool)
        .await
        .expect("its path");
    let earlier = insert(&pool, REQUEST, 1, "polling", None, 0)
        .await
        .expect("refresh 1");
    let later = insert(&pool, REQUEST, 2, "intent", None, 0)
        .await
        .expect("refresh 2, due at the same time");
    pool.close().await;

    let store = Store::open(&db).await.expect("migrated");
    let state = |id: i64| {
        let store = &store;
        async move { store.find_task(&id.to_string()).await.expect("task").state }
    };
    assert_eq!(state(earlier).await.as_str(), "polling");
    assert_eq!(state(later).await.as_str(), "expired");
    let events = store.task_events(later).await.expect("events");
    assert!(
        events.iter().any(|e| e
            .message
            .as_deref()
            .is_some_and(|m| m.contains("migration 0018"))),
        "{events:?}"
    );
    let carried = deliveries(store.pool()).await;
    assert_eq!(
        carried,
        [(done, 1, "output_dir".to_string(), "/r/e.csv".to_string())]
    );
}
