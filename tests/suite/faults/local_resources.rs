//! Local resources unusable for a while: an output directory that cannot be written and a
//! database locked by another process (also past its busy timeout) only delay the work; nothing
//! is lost.

use super::{assert_done_rows_have_the_served_bytes, four_periods, sim_options, RUN_LIMIT};
use crate::common;
use crate::common::{
    assert_no_request_has_two_live_remote_tasks, assert_no_temporary_files, stderr, wait_for,
    Harness,
};
use gcore_reportd_sim::SimOptions;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_directory_that_is_unusable_for_a_while_delays_the_files_but_loses_nothing() {
    // Tasks take a while, so that the directory can be spoilt once the daemon has started (at
    // start, an output_dir that is not a directory is a configuration error: exit 78).
    let options = SimOptions {
        pending_for: Duration::from_millis(1500),
        ..sim_options(9)
    };
    let h = Harness::with_options(options, &four_periods()).await;
    // A file downloaded earlier, which must survive.
    let dir = h.output_dir();
    std::fs::create_dir_all(&dir).expect("output dir");
    std::fs::write(dir.join("earlier.csv"), b"downloaded before\n").expect("earlier file");

    let mut child = h.spawn(h.command(&["run", "--once"]), "run.log");
    wait_for(
        "the four tasks to be created",
        Duration::from_secs(20),
        || async {
            let rows = h.try_status().await.unwrap_or_default();
            rows.len() == 4 && rows.iter().all(|r| r["state"] == "polling")
        },
    )
    .await;
    // The directory is moved away and a regular file takes its name: as root, chmod would not
    // stop the daemon, but a file where a directory should be does.
    let away = h.path("reports.away");
    std::fs::rename(&dir, &away).expect("move the output dir away");
    std::fs::write(&dir, b"not a directory").expect("file in the way");
    let blocked_since = Instant::now();
    // Wait until every task is downloadable and the write failures show in `status`.
    wait_for(
        "every task to report the unusable output directory",
        Duration::from_secs(20),
        || async {
            let rows = h.try_status().await.unwrap_or_default();
            rows.len() == 4
                && rows.iter().all(|r| {
                    r["state"] == "downloading"
                        && r["last_error"]
                            .as_str()
                            .is_some_and(|e| e.contains(&*dir.to_string_lossy()))
                })
        },
    )
    .await;
    // "It does not give up": every task fails to write its file again, and the run goes on.
    wait_for(
        "every task to have met the unusable directory twice",
        Duration::from_secs(30),
        || async {
            let mut met = 0;
            for row in h.try_status().await.unwrap_or_default() {
                let id = row["id"].to_string();
                let shown = h.run(&["show", &id]).await;
                let history = String::from_utf8_lossy(&shown.stdout).into_owned();
                met += usize::from(history.matches("output directory is usable").count() >= 2);
            }
            met == 4
        },
    )
    .await;
    assert!(child.is_running(), "the daemon waits for the directory");
    let downloads_while_blocked = h.sim.request_counts().get("download").copied();
    std::fs::remove_file(&dir).expect("remove the file in the way");
    std::fs::rename(&away, &dir).expect("restore the output dir");

    let out = child.finish(RUN_LIMIT).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "unusable dir", &["earlier.csv"]);
    assert_eq!(
        std::fs::read(dir.join("earlier.csv")).expect("earlier file"),
        b"downloaded before\n"
    );
    assert_no_request_has_two_live_remote_tasks(&h, "unusable dir");
    assert_no_temporary_files(&h, "unusable dir");
    eprintln!(
        "output dir blocked for {:.2?}; downloads requested while blocked: {downloads_while_blocked:?}",
        blocked_since.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_process_for_a_while_only_delays_the_work() {
    use sqlx::Connection;
    let options = SimOptions {
        pending_for: Duration::from_millis(600),
        ..sim_options(19)
    };
    let h = Harness::with_options(options, "").await;
    // Well past the second the lock is held: the daemon waits for it, whatever it was doing.
    h.write_config(&format!(
        "busy_timeout = \"30s\"\n{}\n{}",
        common::FAST_POLLING,
        four_periods()
    ));
    let mut child = h.spawn(h.command(&["run", "--once"]), "run.log");
    wait_for(
        "the tasks to be created",
        Duration::from_secs(10),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.len() == 4 && rows.iter().all(|r| r["state"] == "polling"))
        },
    )
    .await;
    let url = format!("sqlite://{}", h.path("state.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .expect("lock");
    let locked = Instant::now();
    let before = h.sim.request_counts().get("retrieve").copied();
    // "For a while" is the point: a second, not a condition (the daemon may be waiting for the
    // lock to write what it was told, or asking the API, and neither shows from here).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let polls_while_locked = h.sim.request_counts().get("retrieve").copied();
    assert!(child.is_running(), "the daemon waits for the lock");
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .expect("unlock");
    let held = locked.elapsed();
    drop(conn);
    let out = child.finish(RUN_LIMIT).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "locked db", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "locked db");
    assert_eq!(h.sim.tasks().len(), 4);
    eprintln!("database locked for {held:.2?}; polls {before:?} before, {polls_while_locked:?} at the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_outlives_a_database_locked_past_its_busy_timeout_and_resumes() {
    use sqlx::Connection;
    let options = SimOptions {
        pending_for: Duration::from_secs(2),
        ..sim_options(23)
    };
    let h = Harness::with_options(options, "").await;
    h.write_config(&format!(
        "busy_timeout = \"300ms\"\n{}\n{}",
        common::FAST_POLLING,
        four_periods()
    ));
    let child = h.spawn(h.child(&["run"]), "daemon.log");
    wait_for(
        "the tasks to be created",
        Duration::from_secs(30),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.len() == 4 && rows.iter().all(|r| r["uuid"].is_string()))
        },
    )
    .await;
    let url = format!("sqlite://{}", h.path("state.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .expect("lock");
    // Held until a step has failed with "database is locked" (past the busy timeout).
    wait_for(
        "a step failing on the lock",
        Duration::from_secs(20),
        || async { child.logged("database is locked").is_some() },
    )
    .await;
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .expect("unlock");
    drop(conn);
    wait_for(
        "every report to be delivered after the lock is gone",
        Duration::from_secs(40),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.iter().all(|r| r["state"] == "done"))
        },
    )
    .await;
    child.signal(libc::SIGTERM);
    let out = child.finish(RUN_LIMIT).await;
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("the database failed") && log.contains("database is locked"),
        "the failed steps are logged with SQLite's reason:\n{log}"
    );
    let rows = h.status().await;
    assert_done_rows_have_the_served_bytes(&h, &rows, "locked past busy_timeout", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "locked past busy_timeout");
    assert_eq!(h.sim.tasks().len(), 4);
}
