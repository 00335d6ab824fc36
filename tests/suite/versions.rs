//! Restated months kept as versions (issue 13, items 2 and 3), with the real daemon, the
//! simulator (whose period content changes with each new task until it closes) and SQLite: a
//! period refreshed twice whose content changed once has two versions on disk, a manifest
//! listing both, one `on_restated` run, and a second refresh recorded unchanged; an empty
//! report under `on_empty = "refetch"` is asked again at the next refresh; a daemon killed
//! during a refresh creates no second remote task for it.

use crate::common;
use std::time::Duration;

use crate::common::{served_as_created, sha256_file, sha256_hex, show, stderr, wait_for, Harness};
use gcore_reportd_sim::SimOptions;
use serde_json::Value;

/// Waits until `status --json` satisfies `done`, then returns it.
async fn status_when(h: &Harness, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_for(what, Duration::from_secs(90), || async {
        h.try_status().await.is_some_and(|rows| done(&rows))
    })
    .await;
    h.status().await
}

fn all_done(rows: &[Value], n: usize) -> bool {
    rows.len() == n && rows.iter().all(|r| r["state"] == "done")
}

fn by_refresh(rows: &[Value], refresh: i64) -> &Value {
    rows.iter()
        .find(|r| r["refresh"] == refresh)
        .unwrap_or_else(|| panic!("no refresh {refresh}: {rows:?}"))
}

/// Starts the daemon, its log in the harness directory.
fn start_daemon(h: &Harness) -> common::Spawned {
    h.spawn(h.child(&["run"]), "daemon.log")
}

/// The value of the unlabelled metric `name` at `port`'s `/metrics`.
async fn metric(port: u16, name: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:{port}/metrics");
    let text = reqwest::get(url).await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Stops a daemon with SIGTERM and waits for it.
async fn stop(daemon: common::Spawned) {
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_refreshed_twice_that_changed_once_has_two_versions_a_manifest_and_one_restated_hook(
) {
    let options = SimOptions {
        restatements: 1,
        ..common::quick_sim()
    };
    let hook_log = tempfile::NamedTempFile::new().expect("temp file");
    let reports = format!(
        r#"
[metrics]
listen = "127.0.0.1:0"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
refresh = ["1s", "2s"]
on_restated = ['/bin/sh', '-c', 'echo "$REPORT_VERSION $REPORT_PREVIOUS_SHA256 $REPORT_SHA256 $REPORT_ROWS" >> "$0"', '{}']
"#,
        hook_log.path().display(),
    );
    let h = Harness::with_options(options, &reports).await;
    let daemon = start_daemon(&h);
    let rows = status_when(&h, "the first delivery and both refreshes", |r| {
        all_done(r, 3)
    })
    .await;
    stop(daemon).await;

    let remote = h.sim.tasks();
    assert_eq!(remote.len(), 3, "one remote task per refresh: {remote:?}");
    assert_eq!(
        remote.iter().map(|t| t.revision).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    let (first, second) = (by_refresh(&rows, 0), by_refresh(&rows, 1));
    let third = by_refresh(&rows, 2);
    assert_eq!(
        (first["version"].as_i64(), second["version"].as_i64()),
        (Some(1), Some(2))
    );
    assert!(
        third["version"].is_null(),
        "the second refresh delivered nothing new: {third}"
    );
    assert!(
        rows.iter().all(|r| r["versions"] == 2),
        "status shows two versions: {rows:?}"
    );

    let current = std::path::PathBuf::from(first["path"].as_str().expect("a path"));
    let stem = current
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem")
        .to_string();
    let (v1, manifest_path) = (
        h.output_dir().join(format!("{stem}.v1.csv")),
        h.output_dir().join(format!("{stem}.manifest.json")),
    );
    let mut expected = vec![
        format!("{stem}.csv"),
        format!("{stem}.manifest.json"),
        format!("{stem}.v1.csv"),
    ];
    expected.sort();
    assert_eq!(h.output_files(), expected);
    let (old, new) = (
        served_as_created(&remote[0], "csv"),
        served_as_created(&remote[1], "csv"),
    );
    assert_ne!(old, new, "the content changed once");
    assert_eq!(
        std::fs::read(&v1).expect("v1"),
        old,
        "version 1 kept beside the file"
    );
    assert_eq!(
        std::fs::read(&current).expect("current"),
        new,
        "version 2 is the period's file"
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("JSON");
    let versions = manifest["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2, "{manifest:#}");
    let (m1, m2) = (&versions[0], &versions[1]);
    assert_eq!(
        (m1["version"].as_i64(), m1["current"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(
        (m2["version"].as_i64(), m2["current"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(m1["file"], format!("{stem}.v1.csv"));
    assert_eq!(m2["file"], format!("{stem}.csv"));
    assert_eq!(m1["sha256"].as_str(), Some(sha256_hex(&old).as_str()));
    assert_eq!(m2["sha256"].as_str(), Some(sha256_file(&current).as_str()));
    assert_eq!(
        (m1["uuid"].as_str(), m2["uuid"].as_str()),
        (Some(remote[0].uuid.as_str()), Some(remote[1].uuid.as_str()))
    );
    assert_eq!(
        (m2["bytes"].as_u64(), m2["rows"].as_u64()),
        (Some(new.len() as u64), Some(20))
    );
    assert!(m1["downloaded_at"].is_string());
    assert_eq!(
        m2["confirmed_unchanged_at"].as_array().map(Vec::len),
        Some(1),
        "{m2}"
    );

    let hooks = std::fs::read_to_string(hook_log.path()).expect("hook log");
    let lines: Vec<&str> = hooks.lines().collect();
    assert_eq!(
        lines,
        [format!("2 {} {} 20", sha256_hex(&old), sha256_hex(&new))],
        "on_restated ran once, for version 2"
    );
    let history = show(&h, &third["id"].to_string()).await;
    assert!(history.contains("confirmed unchanged at"), "{history}");
    assert!(
        history.contains("version 2 (current)"),
        "show lists the versions:\n{history}"
    );
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
