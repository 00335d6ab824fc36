//! SIGTERM or SIGINT while a slow download is in flight: past `daemon.shutdown_timeout` the
//! download is abandoned and no partial file is left, within it the download finishes; either
//! way the daemon exits 0 in time and the next `run --once` delivers every period once.

use super::{
    assert_database_consistent, assert_each_period_delivered_once, exit_within, options,
    throttling_proxy, TWO_REPORTS,
};
use crate::common::{assert_no_temporary_files, stderr, wait_for, Harness, Spawned};
use std::time::{Duration, Instant};

/// Rows per report for the slow-download cases: about 2.3 MB per file.
const BIG_ROWS: usize = 40_000;

/// Starts `run` (the daemon) through a throttling proxy, with `shutdown_timeout`, and waits
/// until a download is writing its temporary file.
async fn daemon_mid_download(h: &Harness, shutdown_timeout: &str) -> Spawned {
    let proxy = throttling_proxy(h.sim.addr(), Duration::from_millis(20)).await;
    let mut cmd = h.child(&["run"]);
    cmd.env("GCORE_REPORTD__API__BASE_URL", format!("http://{proxy}"))
        .env("GCORE_REPORTD__DAEMON__SHUTDOWN_TIMEOUT", shutdown_timeout);
    let child = h.spawn(cmd, "daemon.log");
    wait_for(
        "a download's temporary file",
        Duration::from_secs(20),
        || async { h.output_files().iter().any(|f| f.ends_with(".part")) },
    )
    .await;
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_download_past_the_shutdown_timeout_exits_0_in_time_and_leaves_no_partial_file()
{
    let h = Harness::with_options(options(BIG_ROWS, 1), TWO_REPORTS).await;
    let grace = Duration::from_secs(1);
    let mut child = daemon_mid_download(&h, "1s").await;
    let signalled = Instant::now();
    child.signal(libc::SIGTERM);
    let (code, took) = exit_within(&mut child, Duration::from_secs(10), signalled).await;
    assert_eq!(code, Some(0), "{}", child.log());
    assert!(
        took <= grace + Duration::from_millis(800),
        "exited {took:?} after SIGTERM; shutdown_timeout is {grace:?}"
    );
    assert!(
        child
            .logged("did not finish within daemon.shutdown_timeout")
            .is_some(),
        "the abandoned work is logged"
    );
    assert_no_temporary_files(&h, "after SIGTERM");
    assert_database_consistent(&h, "after SIGTERM").await;
    let midway = h.status().await;
    assert!(
        midway.iter().any(|r| r["state"] != "done"),
        "some work was interrupted: {midway:?}"
    );

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_each_period_delivered_once(&h, BIG_ROWS, "after SIGTERM").await;
    assert_database_consistent(&h, "after the next run").await;
    eprintln!("SIGTERM mid-download: exited 0 after {took:.2?} (shutdown_timeout 1s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_download_lets_the_download_finish_within_the_shutdown_timeout_and_exits_0() {
    let h = Harness::with_options(options(BIG_ROWS, 2), TWO_REPORTS).await;
    let grace = Duration::from_secs(20);
    let mut child = daemon_mid_download(&h, "20s").await;
    let signalled = Instant::now();
    child.signal(libc::SIGINT);
    let (code, took) = exit_within(&mut child, grace + Duration::from_secs(2), signalled).await;
    assert_eq!(code, Some(0), "{}", child.log());
    assert!(took <= grace, "exited {took:?} after SIGINT");
    assert!(child.logged("SIGINT received").is_some());
    assert!(
        child.logged("did not finish within").is_none(),
        "the in-flight download finished within the grace period"
    );
    assert_no_temporary_files(&h, "after SIGINT");
    assert_database_consistent(&h, "after SIGINT").await;
    let rows = h.status().await;
    let downloaded = rows.iter().filter(|r| r["state"] == "done").count();
    assert!(
        downloaded >= 1,
        "the in-flight download completed: {rows:?}"
    );

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_each_period_delivered_once(&h, BIG_ROWS, "after SIGINT").await;
    eprintln!(
        "SIGINT mid-download: exited 0 after {took:.2?}, {downloaded} file(s) finished first"
    );
}
