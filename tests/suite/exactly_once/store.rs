//! The store's rules, in process on a real SQLite file: a change expecting a state another
//! process changed is refused and writes nothing; a row this version cannot read is an error
//! naming it.

use crate::common::moves;
use gcore_reportd::store::{NewTask, State, Store, StoreError};

/// A minimal due task for the store-level tests.
fn new_task(client: i64) -> NewTask {
    let mut parameters = serde_json::Map::new();
    parameters.insert("client_id".into(), client.into());
    NewTask {
        report: format!("client-{client}"),
        period_from: "2026-10-01".into(),
        period_to: "2026-11-01".into(),
        template: "ResellerExpenses".into(),
        format: gcore_reportd::format::ReportFormat::Csv,
        parameters,
        file_name: format!("client-{client}.csv"),
        deadline_at: i64::MAX / 2,
        refresh: 0,
        settings: None,
    }
}

#[tokio::test]
async fn a_change_expecting_a_state_another_process_changed_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    let daemon = Store::open(&path).await.expect("open");
    let operator = Store::open_existing(&path).await.expect("open again");
    let id = daemon
        .insert_intent(&new_task(1), 1_000)
        .await
        .expect("insert")
        .expect("new");
    daemon
        .begin_creates(&[id], 0, 60_000, 1_001)
        .await
        .expect("mark");
    let remote = ("5f0c0000-0000-4000-8000-000000000001", 1_002);
    daemon
        .apply(
            id,
            &moves::created(remote.0, remote.1, 2_000, "created"),
            1_003,
        )
        .await
        .expect("created");
    // The daemon read the task while polling; meanwhile it ended (say, expired) and an
    // operator forgot it, then the same id is... gone: every later change is refused.
    daemon
        .apply(
            id,
            &moves::ended(State::Polling, State::Expired, "expired"),
            1_004,
        )
        .await
        .expect("expire");
    let events_before = daemon.task_events(id).await.expect("events").len();
    let stale = daemon
        .apply(id, &moves::polled("InProgress", 3_000, true), 1_005)
        .await;
    assert!(
        matches!(
            stale,
            Err(StoreError::Conflict {
                expected: State::Polling,
                ..
            })
        ),
        "{stale:?}"
    );
    let row = operator.find_task(&id.to_string()).await.expect("row");
    assert_eq!(row.state, State::Expired, "nothing overwritten");
    assert_eq!(row.remote_status.as_deref(), Some("Pending"));
    assert_eq!(
        daemon.task_events(id).await.expect("events").len(),
        events_before
    );
    assert!(operator.forget_task(id).await.expect("forget"));
    let gone = daemon.apply(id, &moves::completed(), 1_006).await;
    assert!(matches!(gone, Err(StoreError::Conflict { .. })), "{gone:?}");
}

#[tokio::test]
async fn a_row_this_version_cannot_read_is_an_error_naming_the_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    let id = store
        .insert_intent(&new_task(2), 1_000)
        .await
        .expect("insert")
        .expect("new");
    for (column, value) in [
        ("state", "paused"),
        ("format", "pdf"),
        ("parameters", "[1]"),
    ] {
        let sql = format!("UPDATE tasks SET {column} = ? WHERE id = ?");
        let saved: (String, String, String) =
            sqlx::query_as("SELECT state, format, parameters FROM tasks WHERE id = ?")
                .bind(id)
                .fetch_one(store.pool())
                .await
                .expect("read");
        sqlx::query(&sql)
            .bind(value)
            .bind(id)
            .execute(store.pool())
            .await
            .expect("corrupt");
        let err = store.find_task(&id.to_string()).await.expect_err("refused");
        let message = err.to_string();
        assert!(
            message.contains(&format!("task {id}")) && message.contains(column),
            "{message}"
        );
        sqlx::query("UPDATE tasks SET state = ?, format = ?, parameters = ? WHERE id = ?")
            .bind(saved.0)
            .bind(saved.1)
            .bind(saved.2)
            .bind(id)
            .execute(store.pool())
            .await
            .expect("restore");
    }
}
