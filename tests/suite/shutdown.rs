//! Signals, with the real daemon: SIGTERM or SIGINT while creates or downloads are in flight
//! stops it with exit 0 within `daemon.shutdown_timeout` (in-flight work either finishes or is
//! abandoned), leaves no temporary file and a consistent database (each task's state is the one
//! its last event recorded, SQLite's integrity check passes), and a following `run --once`
//! delivers every period exactly once. SIGHUP reloads the config: a new report is created
//! without a restart, and a broken config is refused with a logged error while the old one
//! keeps working. A throttling TCP proxy between the daemon and the simulator makes downloads
//! last long enough to be interrupted.

use crate::common;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{
    assert_no_temporary_files, assert_one_remote_task_per_request, sha256_file, sha256_hex, stderr,
    wait_for, Harness, Spawned,
};
use gcore_reportd_sim::{self as sim, SimOptions};
use sqlx::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Rows per report for the slow-download cases: about 2.3 MB per file.
const BIG_ROWS: usize = 40_000;

fn options(report_rows: usize, seed: u64) -> SimOptions {
    SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(150),
        report_rows,
        seed,
        ..SimOptions::default()
    }
}

const TWO_REPORTS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"

[[reports]]
name = "plans-42"
template = "ResellerPlans"
format = "json"
parameters = { client_id = 42 }
"#;

const THIRD_REPORT: &str = r#"
[[reports]]
name = "stats"
template = "ResellerStatistics"
format = "xlsx"
"#;

/// Forwards 127.0.0.1:<port> to `target`, passing answers on 16 KiB at a time, each after
/// `pace`: at 20 ms that is 800 KiB/s, so a report of a few MB takes seconds to download; at
/// seconds, the server has done the work long before the client hears about it.
async fn throttling_proxy(target: SocketAddr, pace: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let up = async {
                    let _ = tokio::io::copy(&mut client_rx, &mut server_tx).await;
                    let _ = server_tx.shutdown().await;
                };
                let down = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = server_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(pace).await;
                        if client_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = client_tx.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    addr
}

/// Waits for the child to exit; returns its exit code and how long after `since` it exited.
async fn exit_within(
    child: &mut Spawned,
    limit: Duration,
    since: Instant,
) -> (Option<i32>, Duration) {
    let status = child.wait(limit).await;
    (status.code(), since.elapsed())
}

/// The database is sound: SQLite's integrity check passes and every task's state is the
/// state its latest event recorded (a row and its history were changed together).
async fn assert_database_consistent(h: &Harness, case: &str) {
    let url = format!("sqlite://{}?mode=ro", h.path("state.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(check, "ok", "{case}");
    let disagreeing: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT t.id, t.state, (SELECT e.state FROM events e WHERE e.task_id = t.id
                                ORDER BY e.id DESC LIMIT 1) AS last
         FROM tasks t WHERE last IS NULL OR last != t.state",
    )
    .fetch_all(&mut conn)
    .await
    .expect("query");
    assert!(
        disagreeing.is_empty(),
        "{case}: tasks whose state disagrees with their history: {disagreeing:?}"
    );
    let _ = conn.close().await;
}

/// Every period has exactly one remote task and one file with the served bytes.
async fn assert_each_period_delivered_once(h: &Harness, rows_per_report: usize, case: &str) {
    let rows = h.status().await;
    assert_one_remote_task_per_request(h, rows.len(), case);
    let tasks = h.sim.tasks();
    for row in &rows {
        assert_eq!(row["state"], "done", "{case}: {row}");
        let task = tasks
            .iter()
            .find(|t| Some(t.uuid.as_str()) == row["uuid"].as_str())
            .expect("the row's remote task");
        let mut params = task.parameters.clone();
        if let Some(map) = params.as_object_mut() {
            map.remove("type");
        }
        let format = row["format"].as_str().expect("format");
        let want = sim::report_body(&task.template, &params, format, rows_per_report);
        let path = std::path::PathBuf::from(row["path"].as_str().expect("path"));
        assert_eq!(
            sha256_file(&path),
            sha256_hex(&want),
            "{case}: {}",
            path.display()
        );
    }
    assert_eq!(h.output_files().len(), rows.len(), "{case}");
    assert_no_temporary_files(h, case);
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_create_answers_hang_exits_0_and_the_next_run_adopts_each_task_once() {
    let h = Harness::with_options(options(20, 3), &format!("{TWO_REPORTS}{THIRD_REPORT}")).await;
    // The simulator creates each task at once; the proxy holds its answer back for 3 s.
    let proxy = throttling_proxy(h.sim.addr(), Duration::from_secs(3)).await;
    let mut cmd = h.child(&["run"]);
    cmd.env("GCORE_REPORTD__API__BASE_URL", format!("http://{proxy}"));
    cmd.env("GCORE_REPORTD__DAEMON__SHUTDOWN_TIMEOUT", "1s");
    let mut child = h.spawn(cmd, "daemon.log");
    wait_for("three tasks created", Duration::from_secs(10), || async {
        h.sim.tasks().len() == 3
    })
    .await;
    let signalled = Instant::now();
    child.signal(libc::SIGTERM);
    let (code, took) = exit_within(&mut child, Duration::from_secs(10), signalled).await;
    assert_eq!(code, Some(0), "{}", child.log());
    assert!(took <= Duration::from_millis(1800), "exited after {took:?}");
    assert_database_consistent(&h, "creates abandoned").await;
    let midway = h.status().await;
    assert!(
        midway.iter().all(|r| r["state"] == "creating"),
        "the outcome of every create is unknown: {midway:?}"
    );

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_each_period_delivered_once(&h, 20, "creates abandoned").await;
    assert_database_consistent(&h, "after the next run").await;
    let history = h.run(&["show", "1"]).await;
    let history = String::from_utf8_lossy(&history.stdout).into_owned();
    assert!(history.contains("adopted"), "{history}");
    eprintln!(
        "SIGTERM with 3 create answers in flight: exited 0 after {took:.2?}; the next run adopted all 3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_adds_a_report_without_a_restart_and_a_broken_config_is_refused_while_the_old_one_keeps_working(
) {
    let slow = SimOptions {
        pending_for: Duration::from_millis(1500),
        ..options(20, 4)
    };
    let h = Harness::with_options(slow, TWO_REPORTS).await;
    let mut child = h.spawn(h.child(&["run"]), "daemon.log");
    wait_for("two tasks polling", Duration::from_secs(10), || async {
        h.try_status()
            .await
            .is_some_and(|rows| rows.len() == 2 && rows.iter().all(|r| r["state"] == "polling"))
    })
    .await;

    // A broken config: refused with an error naming the key; the old one keeps working.
    let good = std::fs::read_to_string(h.config_path()).expect("config");
    std::fs::write(
        h.config_path(),
        format!("{good}\n[[reports]]\nname = \"broken\"\ntemplate = \"ResellerCredits\"\nperiod = \"fortnight\"\n"),
    )
    .expect("write broken config");
    child.signal(libc::SIGHUP);
    wait_for("the refusal in the log", Duration::from_secs(5), || async {
        child.logged("new config refused").is_some()
    })
    .await;
    let refusal = child.logged("new config refused").unwrap_or_default();
    assert!(
        refusal.contains("period"),
        "the error names the key: {refusal}"
    );
    wait_for(
        "the old reports to be delivered",
        Duration::from_secs(10),
        || async {
            let rows = h.status().await;
            rows.len() == 2 && rows.iter().all(|r| r["state"] == "done")
        },
    )
    .await;
    assert!(child.is_running(), "still running");

    // A good config with a third report: created without a restart.
    std::fs::write(h.config_path(), format!("{good}\n{THIRD_REPORT}")).expect("write config");
    let reloaded = Instant::now();
    child.signal(libc::SIGHUP);
    wait_for(
        "the new report to be created",
        Duration::from_secs(5),
        || async { h.sim.tasks().len() == 3 },
    )
    .await;
    let created_after = reloaded.elapsed();
    wait_for("the new report's file", Duration::from_secs(10), || async {
        let rows = h.status().await;
        rows.len() == 3 && rows.iter().all(|r| r["state"] == "done")
    })
    .await;

    let signalled = Instant::now();
    child.signal(libc::SIGTERM);
    let (code, took) = exit_within(&mut child, Duration::from_secs(5), signalled).await;
    assert_eq!(code, Some(0));
    assert_each_period_delivered_once(&h, 20, "after reloads").await;
    assert_database_consistent(&h, "after reloads").await;
    assert!(
        child.logged("configuration reloaded").is_some(),
        "{}",
        child.log()
    );
    eprintln!(
        "SIGHUP: new report created {created_after:.2?} after the reload; idle SIGTERM exit in {took:.2?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_new_requests_at_once_even_with_many_queued_behind_the_request_budget() {
    let back = common::months_back(30);
    let reports = format!(
        "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\ncatch_up_from = \"{back}\"\nday = 1\n"
    );
    let h = Harness::with_options(options(20, 5), &reports).await;
    // Four requests a second: thirty creates queue up behind the budget.
    let mut cmd = h.child(&["run"]);
    cmd.env("GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND", "4");
    let mut child = h.spawn(cmd, "daemon.log");
    let creates = || h.sim.request_counts().get("create").copied().unwrap_or(0);
    wait_for("the first creates", Duration::from_secs(10), || async {
        creates() >= 3
    })
    .await;
    let signalled = Instant::now();
    let before = h.sim.request_counts().values().sum::<u64>();
    child.signal(libc::SIGTERM);
    let (code, took) = exit_within(&mut child, Duration::from_secs(25), signalled).await;
    assert_eq!(code, Some(0), "{}", child.log());
    let after = h.sim.request_counts().values().sum::<u64>();
    assert!(
        after - before <= 1,
        "{} request(s) were sent after SIGTERM",
        after - before
    );
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after SIGTERM"
    );
    assert_database_consistent(&h, "stopped with creates queued").await;

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_each_period_delivered_once(&h, 20, "stopped with creates queued").await;
    eprintln!(
        "SIGTERM with creates queued: {} request(s) after the signal, exited 0 after {took:.2?}",
        after - before
    );
}
