//! Upgrading a real database of the 0.1.0 release (tests/fixtures/release-0.1.0.sql, a dump of
//! what that release wrote against the simulator): every task, event and delivered file record
//! survives the migrations unchanged, and every row decodes under this version's types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gcore_reportd::store::Store;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

const DUMP: &str = include_str!("../fixtures/release-0.1.0.sql");

/// The release's database, loaded from the dump into `dir/state.db` (no migration run).
async fn release_database(dir: &Path) -> PathBuf {
    let db = dir.join("state.db");
    let pool = connect(&db).await;
    sqlx::raw_sql(DUMP).execute(&pool).await.expect("load dump");
    pool.close().await;
    db
}

async fn connect(db: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("open database")
}

/// What the release promised about each task: its identity, state, remote task and file.
async fn task_facts(db: &Path) -> BTreeMap<i64, String> {
    let pool = connect(db).await;
    let rows = sqlx::query(
        "SELECT id, report, period_from, period_to, template, parameters, state, uuid, refresh,
             version, file_path, bytes, sha256, hook_state
         FROM tasks ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("read tasks");
    pool.close().await;
    rows.iter()
        .map(|r| {
            let text = |c: &str| r.get::<Option<String>, _>(c).unwrap_or_default();
            let int = |c: &str| r.get::<Option<i64>, _>(c).map(|v| v.to_string());
            let facts = [
                text("report"),
                text("period_from"),
                text("period_to"),
                text("template"),
                text("parameters"),
                text("state"),
                text("uuid"),
                int("refresh").unwrap_or_default(),
                int("version").unwrap_or_default(),
                text("file_path"),
                int("bytes").unwrap_or_default(),
                text("sha256"),
                text("hook_state"),
            ];
            (r.get::<i64, _>("id"), facts.join("|"))
        })
        .collect()
}

/// Every event: its task, time, state and message.
async fn event_facts(db: &Path) -> Vec<(i64, i64, i64, String, Option<String>)> {
    let pool = connect(db).await;
    let rows = sqlx::query("SELECT id, task_id, at, state, message FROM events ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("read events");
    pool.close().await;
    rows.iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("task_id"),
                r.get("at"),
                r.get("state"),
                r.get("message"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_release_database_keeps_every_task_event_and_file_record_through_the_migrations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = release_database(dir.path()).await;
    let (tasks_before, events_before) = (task_facts(&db).await, event_facts(&db).await);
    assert_eq!(tasks_before.len(), 11, "the fixture's tasks");
    assert_eq!(events_before.len(), 89, "the fixture's events");

    let store = Store::open(&db).await.expect("migrated to this version");
    for id in tasks_before.keys() {
        let task = store
            .find_task(&id.to_string())
            .await
            .expect("task decodes");
        let events = store.task_events(*id).await.expect("events decode");
        let expected = events_before.iter().filter(|e| e.1 == *id).count();
        assert_eq!(events.len(), expected, "events of task {id}");
        assert_eq!(
            task.request,
            gcore_reportd::store::canonical_request(&task.template, &task.parameters),
            "task {id}'s request is the canonical one"
        );
        // Its current attempt is carried into the ledger's attempts, live while unfinished.
        let attempts = store.task_attempts(*id).await.expect("attempts decode");
        if task.uuid.is_some() || task.intent_at.is_some() {
            assert_eq!(attempts.len(), 1, "task {id}: {attempts:?}");
            assert_eq!(attempts[0].uuid, task.uuid, "task {id}");
            let live = attempts[0].ended_at.is_none();
            assert_eq!(
                live,
                task.state.is_unfinished(),
                "task {id} {}: {attempts:?}",
                task.state
            );
        } else {
            assert!(attempts.is_empty(), "task {id} sent nothing: {attempts:?}");
        }
    }
    let delivered: Vec<(i64, i64)> =
        sqlx::query_as("SELECT task_id, version FROM deliveries ORDER BY task_id")
            .fetch_all(store.pool())
            .await
            .expect("the ledger's deliveries");
    let expected: Vec<(i64, i64)> = vec![(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)]
        .into_iter()
        .chain([(7, 2), (8, 2), (9, 2)])
        .collect();
    assert_eq!(
        delivered, expected,
        "every delivered version carried into the ledger"
    );
    store.close().await;

    assert_eq!(task_facts(&db).await, tasks_before, "tasks unchanged");
    assert_eq!(event_facts(&db).await, events_before, "events unchanged");
}

#[tokio::test]
async fn a_release_database_opens_twice_without_migrating_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = release_database(dir.path()).await;
    Store::open(&db).await.expect("first open").close().await;
    let tasks = task_facts(&db).await;
    Store::open(&db).await.expect("second open").close().await;
    assert_eq!(task_facts(&db).await, tasks);
}

/// The fixture's `daily-plans` report, as the release's config had it.
const DAILY_PLANS: &str = r#"
[defaults]
max_catch_up_periods = 1

[[reports]]
name = "daily-plans"
template = "ResellerPlans"
format = "csv"
period = "previous-day"
schedule = "cron: 0 6 * * *"
"#;

#[tokio::test]
async fn an_intent_the_release_left_past_its_old_deadline_is_created_once_after_the_upgrade() {
    let h = crate::common::Harness::start(DAILY_PLANS).await;
    let db = release_database(h.dir.path()).await;
    // The fixture was written on 2026-12-04; the suite's clock may be set earlier, so the
    // intent is made due now. Its deadline stays where the release put it, long past.
    let pool = connect(&db).await;
    sqlx::query("UPDATE tasks SET next_attempt_at = 0 WHERE id = 11 AND state = 'intent'")
        .execute(&pool)
        .await
        .expect("make due");
    pool.close().await;

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let store = Store::open(&db).await.expect("open");
    let task = store.find_task("11").await.expect("task 11");
    store.close().await;
    assert_eq!(task.state.as_str(), "done", "{task:?}");
    let created: Vec<_> = h
        .sim
        .tasks()
        .into_iter()
        .filter(|t| t.parameters["date_from"] == "2026-12-03")
        .collect();
    assert_eq!(
        created.len(),
        1,
        "one remote task for the intent: {created:?}"
    );
}
