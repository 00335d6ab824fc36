//! Budgets that match the fault (issue 19, scenario 4): a malformed download is fetched again;
//! different bytes the second time mean the transfer was at fault and cost nothing, the same
//! bytes twice mean the remote file is bad and a new remote task is made. Transfer faults
//! (truncated bodies, corrupted bytes) never use `max_attempts`, and a kill between the two
//! downloads of a bad file keeps the evidence.

use super::row;
use crate::common::{served_as_created, show, stderr, Harness};
use gcore_reportd_sim::Faults;

/// Eight monthly reports, CSV and JSON, told apart by their client.
fn eight_reports() -> String {
    (1..=8)
        .map(|n| {
            let format = if n % 2 == 0 { "json" } else { "csv" };
            format!(
                "[[reports]]\nname = \"r{n}\"\ntemplate = \"ResellerExpenses\"\nformat = \"{format}\"\nparameters = {{ client_id = {n} }}\n\n"
            )
        })
        .collect()
}

/// The one report of the single-report tests.
const EXPENSES: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
"#;

/// The file delivered for `report` is the bytes the simulator's `nth` (from 0) task serves.
fn assert_delivered_from(h: &Harness, status: &[serde_json::Value], report: &str, nth: usize) {
    let task = row(status, report);
    assert_eq!(task["state"], "done", "{task}");
    let remote = &h.sim.tasks()[nth];
    let path = task["path"].as_str().expect("a path");
    let want = served_as_created(remote, "csv");
    assert_eq!(std::fs::read(path).expect("the file"), want, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_the_downloads_malformed_in_transit_deliver_every_report_from_one_remote_task_each() {
    // One remote task allowed per period: no transfer fault may use it.
    let config = format!("[defaults]\nmax_attempts = 1\n{}", eight_reports());
    let h = Harness::start(&config).await;
    h.sim.serve_malformed_every_other(true);
    h.sim.set_faults(Faults {
        truncate_downloads_rate: 0.3,
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let status = h.status().await;
    assert_eq!(status.len(), 8, "{status:?}");
    for task in &status {
        assert_eq!(task["state"], "done", "none failed: {task}");
        assert_eq!(task["attempts"].as_u64(), Some(1), "{task}");
    }
    assert_eq!(h.sim.tasks().len(), 8, "one remote task per report");
    let downloads = h.sim.request_counts().get("download").copied();
    assert!(
        downloads >= Some(16),
        "each report at least twice: {downloads:?}"
    );
    let history = show(&h, &row(&status, "r1")["id"].to_string()).await;
    assert!(
        history.contains("not counted against max_attempts"),
        "the rejection says it costs no attempt:\n{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_malformed_bytes_downloaded_twice_make_a_new_remote_task_that_is_delivered() {
    let h = Harness::start(EXPENSES).await;
    h.sim.serve_bad_files(1);
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let status = h.status().await;
    assert_eq!(h.sim.tasks().len(), 2, "a second remote task was made");
    assert_eq!(row(&status, "expenses")["attempts"].as_u64(), Some(2));
    assert_delivered_from(&h, &status, "expenses", 1);
    let downloads = h.sim.request_counts().get("download").copied();
    assert_eq!(downloads, Some(3), "the bad file twice, the good one once");
    let history = show(&h, &row(&status, "expenses")["id"].to_string()).await;
    assert!(
        history.contains("the same bytes downloaded twice")
            && history.contains("resubmitting as a new remote task"),
        "{history}"
    );
}

/// Runs once killed at `point`, then once to the end: the bad file of the first remote task
/// is downloaded twice in all, however the kill fell.
async fn killed_at(point: &str) {
    let h = Harness::start(EXPENSES).await;
    h.sim.serve_bad_files(1);
    let killed = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD_CRASH_AT", point)
        .output()
        .await
        .expect("spawn gcore-reportd");
    assert_eq!(
        killed.status.code(),
        None,
        "{point}: killed: {}",
        stderr(&killed)
    );
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{point}: {}", stderr(&out));
    let status = h.status().await;
    assert_eq!(h.sim.tasks().len(), 2, "{point}: two remote tasks");
    assert_delivered_from(&h, &status, "expenses", 1);
    let downloads = h.sim.request_counts().get("download").copied();
    assert_eq!(downloads, Some(3), "{point}: the evidence was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_between_the_two_downloads_of_a_bad_file_keeps_the_evidence() {
    killed_at("download.rejected:1").await;
    killed_at("download.resubmitted:1").await;
}
