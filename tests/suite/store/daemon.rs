//! The daemon and the operator commands on PostgreSQL: `storage.database` a URL of the run's
//! private server, the real binary against the simulator.

use std::time::Duration;

use crate::common::{
    assert_one_remote_task_per_request, months_back, postgres, stderr, Harness, FAST_POLLING,
    TWO_REPORTS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_on_postgresql_delivers_every_report_and_status_and_show_read_it() {
    let h = Harness::start(TWO_REPORTS).await;
    let url = postgres::database().await;
    h.write_config_on(&url, &format!("{FAST_POLLING}\n{TWO_REPORTS}"));
    // An empty database is one no daemon has created yet, as a missing SQLite file.
    let check = h.run(&["check-config"]).await;
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("no database yet"));
    // One host is sound; several need one shared output directory: a local one is warned of.
    let said = format!(
        "{}{}",
        stderr(&check),
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(
        said.contains("storage.output_dir") && said.contains("local filesystem"),
        "{said}"
    );
    let early = h.run(&["status"]).await;
    assert!(
        stderr(&early).contains("does not exist yet"),
        "{}",
        stderr(&early)
    );
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once failed: {}", stderr(&out));
    assert!(!h.path("state.db").exists(), "no SQLite file beside it");
    let rows = h.status().await;
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["state"] == "done"),
        "every task delivered: {rows:?}"
    );
    assert_one_remote_task_per_request(&h, rows.len(), "run --once on PostgreSQL");
    assert_eq!(h.output_files().len(), rows.len(), "{:?}", h.output_files());
    let id = rows[0]["id"].to_string();
    let show = h.run(&["show", &id]).await;
    assert!(show.status.success(), "show failed: {}", stderr(&show));
    let uuid = rows[0]["uuid"].as_str().expect("a uuid");
    assert!(String::from_utf8_lossy(&show.stdout).contains(uuid));
    // A second run finds every period recorded: it creates nothing.
    let again = h.run(&["run", "--once"]).await;
    assert!(
        again.status.success(),
        "second run failed: {}",
        stderr(&again)
    );
    assert_one_remote_task_per_request(&h, rows.len(), "a second run --once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_password_in_the_url_never_shows_and_a_bad_url_exits_78() {
    let h = Harness::start(TWO_REPORTS).await;
    let url = postgres::database().await;
    // The server trusts loopback, so any password is accepted; the database is missing.
    let with_password = url.replacen("postgres@", "postgres:pw-s3cret@", 1) + "_missing";
    h.write_config_on(&with_password, TWO_REPORTS);
    let status = h.run(&["status"]).await;
    assert!(!status.status.success(), "no such database");
    let shown = format!(
        "{}{}",
        stderr(&status),
        String::from_utf8_lossy(&status.stdout)
    );
    assert!(
        shown.contains("_missing") && !shown.contains("pw-s3cret"),
        "{shown}"
    );
    let check = h.run(&["check-config"]).await;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
    assert!(
        printed.contains("postgres:***@"),
        "the effective settings: {printed}"
    );
    assert!(!printed.contains("pw-s3cret"), "{printed}");
    let bad = "postgres://postgres:pw-s3cret@db.example:no-port/reportd";
    h.write_config_on(bad, TWO_REPORTS);
    let check = h.run(&["check-config"]).await;
    assert_eq!(check.status.code(), Some(78), "{}", stderr(&check));
    let said = stderr(&check);
    assert!(
        said.contains("storage.database") && !said.contains("pw-s3cret"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beside_a_daemon_on_postgresql_another_host_and_a_backfill_run_and_status_lists_them_creating_nothing_twice(
) {
    let h = Harness::start(TWO_REPORTS).await;
    let url = postgres::database().await;
    let metrics = "[metrics]\nlisten = \"127.0.0.1:0\"\n";
    h.write_config_on(&url, &format!("{FAST_POLLING}\n{metrics}{TWO_REPORTS}"));
    let daemon = h.spawn(h.child(&["run"]), "daemon.log");
    h.wait_for_done(2, Duration::from_secs(30)).await;
    // The metrics page counts the hosts holding a live lease: this one.
    let page = format!("http://127.0.0.1:{}/metrics", daemon.metrics_port().await);
    let page = reqwest::get(&page)
        .await
        .expect("GET")
        .text()
        .await
        .expect("page");
    assert!(
        page.lines().any(|l| l == "gcore_reportd_hosts_live 1"),
        "{page}"
    );
    assert!(
        page.contains("gcore_reportd_host_tasks_leased{host=\""),
        "{page}"
    );
    // A second host on the same database: it finds every period recorded and delivered.
    let second = h.run(&["run", "--once"]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    // A backfill beside the daemon works as one more host: its period is made once.
    let (from, to) = (months_back(4).to_string(), months_back(3).to_string());
    let backfill = [
        "backfill", "--report", "expenses", "--from", &from, "--to", &to,
    ];
    let backfill = h.run(&backfill).await;
    assert!(backfill.status.success(), "{}", stderr(&backfill));
    let rows = h.status().await;
    assert!(
        rows.len() > 2,
        "the backfill recorded its periods: {rows:?}"
    );
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    let status = h.run(&["status"]).await;
    let said = String::from_utf8_lossy(&status.stdout).to_string();
    let hosts: Vec<&str> = said.lines().filter(|l| l.starts_with("@ host ")).collect();
    assert_eq!(
        hosts.len(),
        3,
        "the daemon, the one-shot run, the backfill: {said}"
    );
    assert_eq!(
        hosts.iter().filter(|l| l.contains("): live,")).count(),
        1,
        "the one-shot run left, the daemon lives: {said}"
    );
    daemon.stop().await;
    let status = h.run(&["status"]).await;
    let said = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        !said.contains("): live,"),
        "the daemon left at its stop: {said}"
    );
    let n = rows.len();
    assert_one_remote_task_per_request(&h, n, "a daemon, a second host and a backfill");
}
