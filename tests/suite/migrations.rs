//! Upgrading a database the previous release wrote: migration 0008 rebuilds `tasks` and
//! `events` (a table constraint cannot be dropped in SQLite); every task and every event of its
//! history must survive, with the canonical request the new identity needs. Migration 0013
//! carries the free-text `daemon_state` rows into typed conditions.

use gcore_reportd::store::ConditionKind;
use gcore_reportd::store::{State, Store};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// A database at `dir/state.db` migrated only by the migrations named before `first_missing`
/// (e.g. "0008"), as an earlier release left it, and a connection to it.
pub(crate) async fn migrated_before(
    dir: &std::path::Path,
    first_missing: &str,
) -> (std::path::PathBuf, sqlx::SqlitePool) {
    let old = dir.join("old-migrations");
    std::fs::create_dir(&old).expect("dir");
    for entry in std::fs::read_dir("migrations").expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if name.as_str() < first_missing {
            std::fs::copy(&path, old.join(&name)).expect("copy");
        }
    }
    let db = dir.join("state.db");
    let options = SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .expect("open");
    let migrator = sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("migrator");
    migrator.run(&pool).await.expect("old migrations");
    (db, pool)
}

/// A database migrated only up to 0007, as the previous release left it, with one task that
/// has a history of two events (appended by 0007's trigger).
async fn previous_release_database(dir: &std::path::Path) -> std::path::PathBuf {
    let (db, pool) = migrated_before(dir, "0008").await;
    sqlx::query(
        "INSERT INTO tasks (report, period_from, period_to, template, format, parameters,
            file_name, state, next_attempt_at, deadline_at, created_at, updated_at, event_message)
         VALUES ('plans-42', '2026-10-01', '2026-11-01', 'ResellerPlans', 'json',
            '{\"client_id\":42,\"date_from\":\"2026-10-01\",\"date_to\":\"2026-11-01\"}',
            'plans.json', 'intent', 1, 2, 1, 1, 'period due: task recorded')",
    )
    .execute(&pool)
    .await
    .expect("insert");
    sqlx::query(
        "UPDATE tasks SET state = 'polling', uuid = 'u-1', tries = 3, updated_at = 5,
            event_message = 'created' WHERE id = 1",
    )
    .execute(&pool)
    .await
    .expect("update");
    pool.close().await;
    db
}

#[tokio::test]
async fn a_previous_release_database_keeps_every_task_and_event_through_the_rebuild() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = previous_release_database(dir.path()).await;
    let store = Store::open(&db).await.expect("migrated to this version");
    let task = store.find_task("1").await.expect("task 1");
    assert_eq!(task.state, State::Polling);
    assert_eq!(task.uuid.as_deref(), Some("u-1"));
    assert_eq!(task.backoff_step, 3, "tries carried over as backoff_step");
    assert_eq!(task.refresh, 0);
    assert_eq!(
        task.request,
        r#"{"parameters":{"client_id":42,"date_from":"2026-10-01","date_to":"2026-11-01"},"template":"ResellerPlans"}"#
    );
    let canonical = gcore_reportd::store::canonical_request(&task.template, &task.parameters);
    assert_eq!(
        task.request, canonical,
        "the migration's text is the store's"
    );
    let events = store.task_events(1).await.expect("events");
    let messages: Vec<_> = events.iter().filter_map(|e| e.message.clone()).collect();
    assert_eq!(messages, ["period due: task recorded", "created"]);
}

#[tokio::test]
async fn the_conditions_of_daemon_state_carry_over_with_the_refused_keys_fingerprint_in_its_column()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, pool) = migrated_before(dir.path(), "0013").await;
    sqlx::query(
        "INSERT INTO daemon_state (key, value, until_at, updated_at) VALUES
            ('auth_blocked', 'key 1a2b3c4d: the API refused the credentials (401): no', 9000, 7000),
            ('api_paused', 'the API asked to wait until 14:05:30 UTC', 8000, 6000)",
    )
    .execute(&pool)
    .await
    .expect("conditions of the previous release");
    pool.close().await;
    let store = Store::open(&db).await.expect("migrated to this version");
    let refusal = store
        .condition(ConditionKind::AuthBlocked)
        .await
        .expect("read");
    let refusal = refusal.expect("carried over");
    assert_eq!(refusal.key_fingerprint.as_deref(), Some("1a2b3c4d"));
    assert_eq!(refusal.reason, "the API refused the credentials (401): no");
    assert_eq!((refusal.until_at, refusal.since), (Some(9000), 7000));
    let pause = store
        .condition(ConditionKind::ApiPaused)
        .await
        .expect("read");
    let pause = pause.expect("carried over");
    assert_eq!(pause.reason, "the API asked to wait until 14:05:30 UTC");
    assert_eq!((pause.until_at, pause.key_fingerprint), (Some(8000), None));
    store.close().await;
}
