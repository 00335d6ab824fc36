//! Refreshes at their edges: an empty report under `on_empty = "refetch"` is not delivered and
//! is asked again at the next refresh; a daemon killed during a refresh creates no second
//! remote task for it.

use super::{all_done, by_refresh, start_daemon, status_when, stop};
use crate::common;
use crate::common::{served_as_created, show, stderr, Harness};
use gcore_reportd_sim::SimOptions;
use std::time::Duration;

/// The value of the unlabelled metric `name` at `port`'s `/metrics`.
async fn metric(port: u16, name: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let text = reqwest::get(url).await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_report_under_on_empty_refetch_is_not_delivered_and_asked_again_at_the_next_refresh(
) {
    let options = SimOptions {
        report_rows: 0,
        ..common::quick_sim()
    };
    let reports = r#"
[metrics]
listen = "127.0.0.1:0"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "json"
refresh = ["4s"]
on_empty = "refetch"
"#;
    let h = Harness::with_options(options, reports).await;
    let daemon = start_daemon(&h);
    let port = daemon.metrics_port().await;
    let rows = status_when(&h, "the empty first report", |r| all_done(r, 1)).await;
    h.sim.set_report_rows(20);
    let first = &rows[0];
    assert_eq!(
        (first["empty"].as_bool(), first["rows"].as_i64()),
        (Some(true), Some(0)),
        "{first}"
    );
    assert!(
        first["path"].is_null() && first["version"].is_null(),
        "not delivered: {first}"
    );
    assert!(h.output_files().is_empty(), "{:?}", h.output_files());
    let rows = status_when(&h, "the refresh", |r| all_done(r, 2)).await;
    assert_eq!(
        metric(port, "gcore_reportd_empty_reports_total").await,
        Some(1.0)
    );
    assert_eq!(metric(port, "gcore_reportd_empty_reports").await, Some(1.0));
    stop(daemon).await;
    let refresh = by_refresh(&rows, 1);
    assert_eq!(
        (refresh["rows"].as_i64(), refresh["version"].as_i64()),
        (Some(20), Some(1)),
        "{refresh}"
    );
    let remote = h.sim.tasks();
    assert_eq!(remote.len(), 2);
    let path = refresh["path"].as_str().expect("delivered");
    assert_eq!(
        std::fs::read(path).expect("file"),
        served_as_created(&remote[1], "json")
    );
    let history = show(&h, &first["id"].to_string()).await;
    assert!(
        history.contains("not delivered (on_empty = \"refetch\")"),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_during_a_refresh_creates_no_second_remote_task_for_it() {
    let reports = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
refresh = ["1s"]
"#;
    let h = Harness::start(reports).await;
    // The second create is the refresh's: the daemon dies right after its POST was answered.
    let killed = h
        .command(&["run"])
        .env("GCORE_REPORTD_CRASH_AT", "create.after_post:2")
        .output();
    let killed = tokio::time::timeout(Duration::from_secs(90), killed)
        .await
        .expect("the daemon reached the refresh")
        .expect("run");
    assert!(
        killed.status.code().is_none(),
        "killed by the signal: {}",
        stderr(&killed)
    );
    assert_eq!(
        h.sim.tasks().len(),
        2,
        "the refresh's create reached the server"
    );
    let resumed = h.run(&["run", "--once"]).await;
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let rows = h.status().await;
    assert!(all_done(&rows, 2), "{rows:?}");
    let remote = h.sim.tasks();
    assert_eq!(
        remote.len(),
        2,
        "no second remote task for the refresh: {remote:?}"
    );
    assert_eq!(
        by_refresh(&rows, 1)["uuid"].as_str(),
        Some(remote[1].uuid.as_str()),
        "adopted"
    );
}
