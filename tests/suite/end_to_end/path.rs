//! The whole path: each report is created once, polled and downloaded with the right bytes; a
//! restart in the middle resumes without a second remote task; a failed remote task is
//! recorded with its reason and `run --once` exits 1; the API key appears in no log line.

use crate::common;
use crate::common::{sha256_file, sha256_hex, stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd_sim::{Faults, SimOptions};
use std::time::Duration;

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
