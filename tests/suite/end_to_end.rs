//! The whole path, with the real binary, a real SQLite file and the simulator on 127.0.0.1:
//! a report is created once, polled, downloaded with the right bytes; a restart resumes; a
//! remote failure is recorded with its reason.

use crate::common;
use std::time::Duration;

use crate::common::{sha256_file, sha256_hex, stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd::clock::Clock;
use gcore_reportd_sim::{Faults, SimOptions};

/// The bytes the simulator serves for the task created for `template` and `period_from`.
fn expected_bytes(h: &Harness, template: &str, format: &str, period_from: &str) -> Vec<u8> {
    let task = h
        .sim
        .tasks()
        .into_iter()
        .find(|t| t.template == template && t.parameters["date_from"] == period_from)
        .expect("the simulator has the task");
    common::served_bytes(&task, format)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_report_is_created_once_polled_and_downloaded_with_the_right_bytes() {
    let h = Harness::start(TWO_REPORTS).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once failed: {}", stderr(&out));

    let tasks = h.sim.tasks();
    assert_eq!(tasks.len(), 2, "one remote task per report: {tasks:?}");
    let status = h.status().await;
    assert_eq!(status.len(), 2);
    for row in &status {
        assert_eq!(row["state"], "done", "{row}");
        assert_eq!(row["attempts"], 1);
        let path = std::path::PathBuf::from(row["path"].as_str().expect("path"));
        let (template, format) = match row["report"].as_str() {
            Some("expenses") => ("ResellerExpenses", "csv"),
            _ => ("ResellerPlans", "json"),
        };
        let want = expected_bytes(
            &h,
            template,
            format,
            row["period_from"].as_str().expect("from"),
        );
        assert_eq!(row["sha256"].as_str(), Some(sha256_hex(&want).as_str()));
        assert_eq!(
            sha256_file(&path),
            sha256_hex(&want),
            "file {} has the served bytes",
            path.display()
        );
        assert_eq!(row["bytes"].as_u64(), Some(want.len() as u64));
        assert!(path.starts_with(h.output_dir()));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        assert_eq!(
            name,
            format!(
                "{}_{}_{}.{format}",
                row["report"].as_str().unwrap_or(""),
                row["period_from"].as_str().unwrap_or(""),
                row["period_to"].as_str().unwrap_or("")
            )
        );
    }

    let again = h.run(&["run", "--once"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(h.sim.tasks().len(), 2, "a second run creates nothing new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_resumes_without_creating_a_second_task() {
    let options = SimOptions {
        pending_for: Duration::from_millis(800),
        running_for: Duration::from_millis(800),
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, TWO_REPORTS).await;
    let mut daemon = h.spawn(h.daemon(), "daemon.log");
    wait_for(
        "both tasks created and polling",
        Duration::from_secs(30),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.len() == 2 && rows.iter().all(|t| t["state"] == "polling"))
        },
    )
    .await;
    daemon.kill().await;
    let midway = h.status().await;
    assert!(
        midway.iter().all(|t| t["state"] == "polling"),
        "stopped while polling: {midway:?}"
    );
    assert_eq!(h.sim.tasks().len(), 2, "both created before the kill");

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        h.sim.tasks().len(),
        2,
        "no second remote task after the restart"
    );
    let done = h.status().await;
    assert!(
        done.iter()
            .all(|t| t["state"] == "done" && t["attempts"] == 1),
        "{done:?}"
    );
    assert_eq!(h.output_files().len(), 2, "{:?}", h.output_files());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_remote_task_is_recorded_with_its_reason_and_run_once_exits_1() {
    let h = Harness::start(
        r#"
[[reports]]
name = "doomed"
template = "ResellerExpenses"
max_attempts = 2
parameters = { client_id = 13 }
"#,
    )
    .await;
    h.sim.set_faults(Faults {
        fail_when: Some(("client_id".into(), serde_json::json!(13))),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let status = h.status().await;
    assert_eq!(status.len(), 1);
    assert_eq!(status[0]["state"], "failed");
    assert_eq!(status[0]["attempts"], 2, "resubmitted once, then gave up");
    let reason = status[0]["last_error"].as_str().expect("last_error");
    assert!(
        reason.contains("Failed"),
        "reason names the remote status: {reason}"
    );
    assert_eq!(h.sim.tasks().len(), 2);
    assert!(h.output_files().is_empty(), "no file for a failed report");

    let show = h.run(&["show", "1"]).await;
    let history = String::from_utf8_lossy(&show.stdout);
    for task in h.sim.tasks() {
        assert!(
            history.contains(&task.uuid),
            "history keeps attempt {}:\n{history}",
            task.uuid
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_appears_in_no_log_line_at_trace_level() {
    let h = Harness::start(TWO_REPORTS).await;
    let out = h.run(&["--log-level", "trace", "run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let logs = stderr(&out);
    assert!(logs.lines().count() > 50, "trace logging produced lines");
    let secret = h.key.split('$').nth(1).expect("key has a secret part");
    assert!(
        !logs.contains(&h.key) && !logs.contains(secret),
        "the key leaked into the log"
    );
    let check = h.run(&["check-config"]).await;
    assert!(check.status.success());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
    assert!(!printed.contains(secret), "check-config printed the key");
    let db = std::fs::read(h.path("state.db")).expect("database");
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the key is in the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_task_has_every_change_in_its_history_in_order() {
    let h = Harness::start(TWO_REPORTS).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once failed: {}", stderr(&out));

    let store = gcore_reportd::store::Store::open(&h.path("state.db"))
        .await
        .expect("database");
    let events = store.task_events(1).await.expect("history");
    let states: Vec<&str> = events.iter().map(|e| e.state.as_str()).collect();
    assert_eq!(states.first(), Some(&"intent"), "{states:?}");
    assert_eq!(states.get(1), Some(&"creating"), "{states:?}");
    assert_eq!(states.get(2), Some(&"polling"), "{states:?}");
    assert_eq!(&states[states.len() - 2..], ["downloading", "done"]);
    assert!(states[2..states.len() - 2].iter().all(|s| *s == "polling"));
    assert_eq!(
        events[0].message.as_deref(),
        Some("period due: task recorded")
    );
    let uuid = h
        .sim
        .tasks()
        .into_iter()
        .map(|t| t.uuid)
        .collect::<Vec<_>>();
    assert!(uuid.contains(events[2].uuid.as_ref().expect("created with its uuid")));
    let last = events
        .last()
        .and_then(|e| e.message.as_deref())
        .unwrap_or("");
    assert!(last.starts_with("downloaded "), "{last}");
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_polled_through_the_list_keep_each_change_in_their_history() {
    let reports: String = (0..40)
        .map(|i| {
            format!("[[reports]]\nname = \"client-{i}\"\ntemplate = \"ResellerExpenses\"\nparameters = {{ client_id = {i} }}\n")
        })
        .collect();
    let options = SimOptions {
        pending_for: Duration::from_secs(2),
        running_for: Duration::from_secs(1),
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, &reports).await;
    // The engine's clock is the test's: each step is an hour later, so every task is due,
    // and the steps wait for the simulator's tasks to change, not for fixed times.
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    let first = engine.step(true).await.expect("first step");
    assert_eq!(first.scheduled, 40);
    assert_eq!(h.sim.tasks().len(), 40, "all created in the first step");
    // Each later step finds all 40 due and looks them up with one list instead of 40
    // retrieves: still Pending, then InProgress, then Completed and fetched.
    for status in ["Pending", "InProgress", "Completed"] {
        wait_for(status, Duration::from_secs(20), || async {
            h.sim.tasks().iter().all(|t| t.status == status)
        })
        .await;
        clock.advance(Duration::from_secs(3600));
        assert_eq!(
            engine.work_due().await.expect("batched step"),
            40,
            "{status}"
        );
    }
    let counts = h.sim.request_counts();
    assert_eq!(counts.get("retrieve"), None, "{counts:?}");
    assert_eq!(counts.get("list"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("download"), Some(&40), "{counts:?}");
    assert_eq!(h.output_files().len(), 40);

    for id in 1..=40 {
        let events = engine.store().task_events(id).await.expect("history");
        let states: Vec<&str> = events.iter().map(|e| e.state.as_str()).collect();
        let statuses: Vec<&str> = events
            .iter()
            .map(|e| e.remote_status.as_deref().unwrap_or("-"))
            .collect();
        assert_eq!(
            (states, statuses),
            (
                vec![
                    "intent",
                    "creating",
                    "polling",
                    "polling",
                    "downloading",
                    "done"
                ],
                vec!["-", "-", "Pending", "InProgress", "Completed", "Completed"]
            ),
            "task {id}: an event for each change, none for a poll that saw no change"
        );
    }
}
