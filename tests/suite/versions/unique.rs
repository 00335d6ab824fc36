//! A period's version numbers are unique (migration 0015), on a real SQLite file: a second
//! row with the same (period, version) is refused, the store records a version only as the
//! period's next one, and a database that already holds duplicates is renumbered in delivery
//! order when it is migrated.

use gcore_reportd::store::{Delivery, FileRecord, State, Store, StoreError};

pub(super) const REQUEST: &str = r#"{"parameters":{"date_from":"2026-10-01","date_to":"2026-11-01"},"template":"ResellerExpenses"}"#;

/// Inserts a task of `request` with refresh number `refresh`, in `state`, holding `version`
/// (delivered at `delivered_at`); the insert's outcome.
pub(super) async fn insert(
    pool: &sqlx::SqlitePool,
    request: &str,
    refresh: i64,
    state: &str,
    version: Option<i64>,
    delivered_at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO tasks (report, period_from, period_to, template, format, parameters,
            file_name, state, next_attempt_at, deadline_at, created_at, updated_at, request,
            refresh, version, delivered_at, sha256)
         VALUES ('expenses', '2026-10-01', '2026-11-01', 'ResellerExpenses', 'csv',
            '{\"date_from\":\"2026-10-01\",\"date_to\":\"2026-11-01\"}', 'e.csv', ?1, 0,
            9999999999999, 0, ?2, ?3, ?4, ?5, ?2, 'sha-' || ?4)
         RETURNING id",
    )
    .bind(state)
    .bind(delivered_at)
    .bind(request)
    .bind(refresh)
    .bind(version)
    .fetch_one(pool)
    .await
}

/// A delivery of `/r/e.csv` as version `version`.
pub(super) fn delivery(version: i64) -> Delivery<'static> {
    Delivery {
        file: FileRecord {
            path: "/r/e.csv",
            bytes: 3,
            sha256: "abc",
            shape: None,
        },
        path: Some("/r/e.csv"),
        version: Some(version),
        hook: false,
        next_refresh: None,
        uploads: &[],
        message: "delivered",
    }
}

async fn versions(pool: &sqlx::SqlitePool) -> Vec<(i64, Option<i64>)> {
    sqlx::query_as("SELECT refresh, version FROM tasks ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("versions")
}

#[tokio::test]
async fn a_second_row_with_the_same_period_and_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    let pool = store.pool();
    insert(pool, REQUEST, 0, "done", Some(1), 10)
        .await
        .expect("version 1");
    let second = insert(pool, REQUEST, 1, "done", Some(1), 20).await;
    let refused = second.expect_err("a second version 1 of the period is refused");
    assert!(
        refused.to_string().contains("UNIQUE constraint failed"),
        "{refused}"
    );
    insert(pool, REQUEST, 1, "done", Some(2), 20)
        .await
        .expect("version 2 is another");
    insert(pool, "another period", 0, "done", Some(1), 20)
        .await
        .expect("another period has its own version 1");
    insert(pool, REQUEST, 2, "done", None, 30)
        .await
        .expect("any number of deliveries without a version");
    insert(pool, REQUEST, 3, "done", None, 40)
        .await
        .expect("any number of deliveries without a version");
}

#[tokio::test]
async fn the_store_records_a_version_only_as_the_periods_next_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    // One task of a period is live at a time (migration 0018), so the late refresh is
    // recorded once the first is done, still believing version 1 is free.
    let first = insert(store.pool(), REQUEST, 1, "downloading", None, 0)
        .await
        .expect("refresh 1");
    store
        .record_delivery(first, &delivery(1), 10)
        .await
        .expect("version 1");
    let late = insert(store.pool(), REQUEST, 2, "downloading", None, 0)
        .await
        .expect("refresh 2");
    let taken = store.record_delivery(late, &delivery(1), 20).await;
    assert!(
        matches!(
            taken,
            Err(StoreError::Conflict {
                expected: State::Downloading,
                ..
            })
        ),
        "version 1 was taken: {taken:?}"
    );
    let gap = store.record_delivery(late, &delivery(3), 20).await;
    assert!(matches!(gap, Err(StoreError::Conflict { .. })), "{gap:?}");
    store
        .record_delivery(late, &delivery(2), 20)
        .await
        .expect("version 2, after version 1");
    assert_eq!(versions(store.pool()).await, [(1, Some(1)), (2, Some(2))]);
}

#[tokio::test]
async fn duplicate_versions_of_an_earlier_release_are_renumbered_in_delivery_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, pool) = crate::migrations::migrated_before(dir.path(), "0015").await;
    // Two refreshes that were due at once both recorded version 2; the later delivery (the
    // current file) was refresh 1's.
    insert(&pool, REQUEST, 0, "done", Some(1), 10)
        .await
        .expect("v1");
    let late = insert(&pool, REQUEST, 1, "done", Some(2), 30)
        .await
        .expect("v2");
    insert(&pool, REQUEST, 2, "done", Some(2), 20)
        .await
        .expect("v2 again");
    insert(&pool, REQUEST, 3, "done", None, 40)
        .await
        .expect("unchanged");
    insert(&pool, "another period", 0, "done", Some(1), 10)
        .await
        .expect("another");
    insert(&pool, "another period", 1, "done", Some(2), 20)
        .await
        .expect("another v2");
    pool.close().await;

    let store = Store::open(&db).await.expect("migrated");
    assert_eq!(
        versions(store.pool()).await,
        [
            (0, Some(1)),
            (1, Some(3)),
            (2, Some(2)),
            (3, None),
            (0, Some(1)),
            (1, Some(2))
        ],
        "the duplicates numbered by delivery, the others kept"
    );
    let current = store
        .current_version(REQUEST)
        .await
        .expect("current")
        .expect("a version");
    assert_eq!(current.id, late, "the last delivery is current");
    let events = store.task_events(late).await.expect("events");
    let messages: Vec<_> = events.iter().filter_map(|e| e.message.clone()).collect();
    assert_eq!(
        messages,
        ["version 2 is now version 3: another delivery of the period had the same number (migration 0015)"]
    );
}
