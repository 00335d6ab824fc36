//! Two refreshes due at once (issue 19, scenario 5): the daemon delivers a period, is stopped
//! over two of its refresh offsets (the commands' clock is moved past them, not waited for),
//! then runs. Only the latest due refresh is asked, once; the one skipped is in the period's
//! history; the schedule moves past both; the period's versions are unique and increasing and
//! its current file holds the newest bytes. A daemon killed right after recording that refresh
//! asks it once all the same.

use super::by_refresh;
use crate::common;
use crate::common::{served_as_created, show, stderr, Harness};
use gcore_reportd_sim::SimOptions;
use serde_json::Value;
use std::time::Duration;

/// Refreshes at 1 and 2 minutes (both passed by [`after_downtime`]) and at an hour (not).
const REPORTS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
refresh = ["1m", "2m", "1h"]
"#;

/// A harness whose period is delivered once (each remote task serves newer content).
async fn delivered_once() -> Harness {
    let options = SimOptions {
        restatements: 5,
        ..common::quick_sim()
    };
    let h = Harness::with_options(options, REPORTS).await;
    let first = h.run(&["run", "--once"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(h.sim.tasks().len(), 1, "the first delivery");
    h
}

/// `run --once` as if started three minutes from now: both short offsets have passed.
fn after_downtime(h: &Harness) -> tokio::process::Command {
    let later = common::now() + jiff::SignedDuration::from_mins(3);
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env(gcore_reportd::clock::NOW_VARIABLE, later.to_string());
    cmd
}

async fn finish(mut cmd: tokio::process::Command) -> std::process::Output {
    tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("finished within 90 s")
        .expect("run")
}

/// One refresh task (refresh 2), the history naming refresh 1 skipped, versions 1 and 2 in
/// delivery order, the newest bytes current.
async fn assert_only_the_latest_refresh_ran(h: &Harness) {
    let remote = h.sim.tasks();
    assert_eq!(remote.len(), 2, "exactly one refresh task: {remote:?}");
    let rows = h.status().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    let (first, latest) = (by_refresh(&rows, 0), by_refresh(&rows, 2));
    let mut versions: Vec<(i64, i64)> = rows
        .iter()
        .filter_map(|r| Some((r["id"].as_i64()?, r["version"].as_i64()?)))
        .collect();
    versions.sort();
    assert_eq!(
        versions.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        [1, 2],
        "one new version, numbered after the first: {rows:?}"
    );
    assert_eq!(latest["version"].as_i64(), Some(2), "{latest}");
    let current = first["path"].as_str().expect("the period's file");
    assert_eq!(
        std::fs::read(current).expect("current file"),
        served_as_created(&remote[1], "csv"),
        "the current file holds the newest bytes"
    );
    assert_ne!(
        served_as_created(&remote[0], "csv"),
        served_as_created(&remote[1], "csv"),
        "the refresh brought new content"
    );
    let history = show(h, &first["id"].to_string()).await;
    assert!(
        history.contains("refresh 1 skipped: refresh 2 was due as well"),
        "{history}"
    );
    assert_eq!(
        latest["uuid"].as_str(),
        Some(remote[1].uuid.as_str()),
        "{latest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_refreshes_due_at_once_after_downtime_ask_only_the_latest_and_make_its_bytes_current() {
    let h = delivered_once().await;
    let resumed = finish(after_downtime(&h)).await;
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_only_the_latest_refresh_ran(&h).await;
    // The schedule moved past both offsets: at the same time again, nothing more is due.
    let again = finish(after_downtime(&h)).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(h.sim.tasks().len(), 2, "no refresh asked again");
    let rows: Vec<Value> = h.status().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_right_after_recording_the_latest_refresh_asks_it_once() {
    let h = delivered_once().await;
    let mut killed = after_downtime(&h);
    killed.env("GCORE_REPORTD_CRASH_AT", "refresh.recorded:1");
    let killed = finish(killed).await;
    assert!(
        killed.status.code().is_none(),
        "killed at the crash point: {}",
        stderr(&killed)
    );
    assert_eq!(h.sim.tasks().len(), 1, "killed before the refresh's create");
    let resumed = finish(after_downtime(&h)).await;
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_only_the_latest_refresh_ran(&h).await;
}
