//! Exactly once across restarts: one remote task per (report, period) whatever happens to the
//! daemon between a create and its answer. The simulator holds creates and commits them late,
//! echoes parameters loosely, loses tasks for a while, fails list pages and runs a clock ahead;
//! the real binary runs against it with a real SQLite file.

use std::time::Duration;

use crate::common::{
    assert_no_temporary_files, assert_one_remote_task_per_request, months_back, stderr, wait_for,
    Harness, Spawned,
};
use gcore_reportd::store::{NewTask, RemoteTask, State, Store, StoreError};
use gcore_reportd_sim::{Faults, SimOptions};

fn sim_options() -> SimOptions {
    SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(100),
        seed: 10,
        ..SimOptions::default()
    }
}

/// `n` monthly reports of one template, one client each, caught up over `months` months.
fn per_client_reports(n: usize, months: i64) -> String {
    let from = months_back(months);
    (0..n)
        .map(|i| {
            format!("[[reports]]\nname = \"client-{i}\"\ntemplate = \"ResellerExpenses\"\ncatch_up_from = \"{from}\"\nday = 1\nparameters = {{ client_id = {i} }}\n")
        })
        .collect()
}

fn creates(h: &Harness) -> u64 {
    h.sim.request_counts().get("create").copied().unwrap_or(0)
}

/// Starts `run` and waits until it has said it is starting.
async fn start_daemon(h: &Harness, settle: &str) -> Spawned {
    let mut cmd = h.command(&["run"]);
    cmd.env("GCORE_REPORTD__API__CREATE_SETTLE", settle);
    let child = h.spawn(cmd, "daemon.log");
    wait_for("the daemon to start", Duration::from_secs(20), || async {
        child.logged("gcore-reportd starting").is_some()
    })
    .await;
    child
}

async fn kill(mut child: Spawned) {
    child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_while_creates_are_held_and_committed_late_never_create_a_period_twice() {
    // 3 clients x 4 months = 12 periods. Every create is held for 1 s, answered 504, and its
    // task committed 3 s after it arrived.
    let h = Harness::with_options(sim_options(), &per_client_reports(3, 4)).await;
    h.sim.set_faults(Faults {
        late_create: Some(Duration::from_secs(3)),
        hold_create: Duration::from_secs(1),
        ..Faults::default()
    });
    // The default api.create_settle (the harness config sets a short one).
    let settle = "30s";
    let first = start_daemon(&h, settle).await;
    wait_for("every create sent", Duration::from_secs(20), || async {
        creates(&h) == 12
    })
    .await;
    kill(first).await;
    // Six quick restarts, each killed as soon as it has started.
    for _ in 0..6 {
        kill(start_daemon(&h, settle).await).await;
    }
    let out = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD__API__CREATE_SETTLE", settle)
        .output()
        .await
        .expect("run --once");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 12, "no create was sent again");
    assert_one_remote_task_per_request(&h, 12, "late commits");
    let rows = h.status().await;
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_eq!(h.output_files().len(), 12);
    assert_no_temporary_files(&h, "late commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_echoing_its_parameters_as_strings_and_date_times_is_adopted_not_created_again() {
    let h = Harness::with_options(sim_options(), &per_client_reports(2, 1)).await;
    // Every create makes its task, then answers 500; the task echoes `"0"` for 0 and
    // `2026-…T00:00:00Z` for each date.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        echo_loosely: true,
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_one_remote_task_per_request(&h, 2, "loose echo");
    assert_eq!(creates(&h), 2);
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_that_clears_within_the_grace_period_does_not_lose_the_task() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    // Read-after-write lag: for its first second the task answers 404 (several polls).
    h.sim.set_faults(Faults {
        not_found_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    assert_eq!(rows[0]["attempts"], 1, "not resubmitted");
    assert_eq!(h.sim.tasks().len(), 1);
    let show = h.run(&["show", "1"]).await;
    let history = String::from_utf8_lossy(&show.stdout);
    assert!(history.contains("answered 404"), "{history}");
    assert!(h.sim.status_counts().get(&404).copied().unwrap_or(0) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_fails_on_one_page_asks_for_that_page_again_not_for_the_first() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    // 250 other tasks of the template on the server: the search for the unanswered create
    // reads three pages (offsets 0, 100, 200).
    let http = reqwest::Client::new();
    for i in 0..250 {
        let body = serde_json::json!({
            "template_code": "ResellerExpenses",
            "parameters": { "client_id": 1000 + i, "date_from": "2025-01-01", "date_to": "2025-02-01" },
        });
        let answer = http
            .post(format!("{}/billing/org/v1/reports", h.sim.base_url()))
            .header("Authorization", format!("apikey {}", h.key))
            .json(&body)
            .send()
            .await
            .expect("create");
        assert_eq!(answer.status().as_u16(), 201);
    }
    // The create is answered 500 after creating; the page at offset 100 fails twice.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        fail_list_at_offset: Some((100, 2)),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let counts = h.sim.request_counts();
    assert_eq!(
        counts.get("create"),
        Some(&251),
        "adopted, not created again"
    );
    assert_eq!(
        counts.get("list"),
        Some(&5),
        "pages 0, 100 (failed twice, then served) and 200: {counts:?}"
    );
    assert_eq!(h.status().await[0]["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_clock_five_minutes_ahead_is_warned_about_and_still_reconciled() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    h.sim.set_faults(Faults {
        server_clock_ahead: Duration::from_secs(300),
        error_after_create_rate: 1.0,
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        creates(&h),
        1,
        "the unanswered create was found despite the skew"
    );
    assert!(
        stderr(&out).contains("disagree by 300s"),
        "{}",
        stderr(&out)
    );
}

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
    daemon.begin_creates(&[id], 0, 1_001).await.expect("mark");
    let remote = RemoteTask {
        uuid: "5f0c0000-0000-4000-8000-000000000001",
        status: "Pending",
        created_at: 1_002,
    };
    daemon
        .record_created(id, &remote, 2_000, 1_003, "created")
        .await
        .expect("created");
    // The daemon read the task while polling; meanwhile it ended (say, expired) and an
    // operator forgot it, then the same id is... gone: every later change is refused.
    daemon
        .give_up(id, State::Polling, State::Expired, "expired", false, 1_004)
        .await
        .expect("expire");
    let events_before = daemon.task_events(id).await.expect("events").len();
    let stale = daemon
        .record_poll(id, "InProgress", 3_000, 1_005, true)
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
    let gone = daemon.begin_download(id, "Completed", 1_006).await;
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
