//! Signals, with the real daemon: SIGTERM or SIGINT while creates or downloads are in flight
//! stops it with exit 0 within `daemon.shutdown_timeout` (in-flight work either finishes or is
//! abandoned), leaves no temporary file and a consistent database (each task's state is the one
//! its last event recorded, SQLite's integrity check passes), and a following `run --once`
//! delivers every period exactly once. SIGHUP reloads the config: a new report is created
//! without a restart, and a broken config is refused with a logged error while the old one
//! keeps working. A throttling TCP proxy between the daemon and the simulator makes downloads
//! last long enough to be interrupted.
//!
//! The tests are grouped by family: SIGTERM or SIGINT during a slow download
//! (`mid_download`), during hanging creates or with requests queued behind the budget
//! (`requests`), and SIGHUP's reload (`sighup`); the proxy and the checks every family uses are
//! here.

mod mid_download;
mod requests;
mod sighup;

use crate::common::{
    assert_no_temporary_files, assert_one_remote_task_per_request, sha256_file, sha256_hex,
    Harness, Spawned,
};
use gcore_reportd_sim::{self as sim, SimOptions};
use sqlx::Connection;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
