//! One task of a period in flight at a time, on a real SQLite file: an operator's `retry` of an
//! earlier refresh is refused while a later one is unfinished, and allowed once it has ended.

use super::unique::{insert, REQUEST};
use gcore_reportd::store::Store;

#[tokio::test]
async fn a_retry_of_an_earlier_refresh_waits_until_the_periods_task_in_flight_has_ended() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    let pool = store.pool();
    insert(pool, REQUEST, 0, "done", Some(1), 10)
        .await
        .expect("first delivery");
    let failed = insert(pool, REQUEST, 1, "failed", None, 20)
        .await
        .expect("refresh 1");
    let polling = insert(pool, REQUEST, 2, "polling", None, 30)
        .await
        .expect("refresh 2");
    insert(pool, "another period", 0, "polling", None, 30)
        .await
        .expect("another period's task");
    assert_eq!(
        store.in_flight_beside(failed).await.expect("lookup"),
        Some(polling)
    );
    assert!(
        !store
            .retry_task(failed, false, 1_000, 40)
            .await
            .expect("retry"),
        "refused while refresh 2 is in flight"
    );
    sqlx::query("UPDATE tasks SET state = 'done' WHERE id = ?")
        .bind(polling)
        .execute(pool)
        .await
        .expect("refresh 2 ends");
    assert_eq!(store.in_flight_beside(failed).await.expect("lookup"), None);
    assert!(
        store
            .retry_task(failed, false, 1_000, 50)
            .await
            .expect("retry"),
        "retried once refresh 2 has ended"
    );
}
