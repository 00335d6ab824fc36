//! Commands beside the daemon: `status` and `show` while it holds the database, SIGHUP
//! re-reading the key file, man pages and completions, and `check-config --online`.

use crate::common;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::{stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd_sim::SimOptions;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_show_work_while_the_daemon_holds_the_database() {
    let options = SimOptions {
        pending_for: Duration::from_millis(1500),
        running_for: Duration::from_millis(1500),
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, TWO_REPORTS).await;
    let mut daemon = h.spawn(h.child(&["run"]), "daemon.log");
    // Until the daemon has migrated a new database, `status` says to try again in a moment.
    wait_for(
        "the daemon has created its database",
        Duration::from_secs(30),
        || async { h.run(&["status"]).await.status.success() },
    )
    .await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut calls = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the reports never finished: {seen:?}"
        );
        // `show` after `status`: a task `status` saw must be there for `show`.
        let status = h.run(&["status", "--json"]).await;
        let shown = h.run(&["show", "1"]).await;
        calls += 1;
        assert!(status.status.success(), "status: {}", stderr(&status));
        let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&status.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        for row in &rows {
            *seen
                .entry(row["state"].as_str().unwrap_or("?").into())
                .or_default() += 1;
        }
        if !rows.is_empty() {
            assert!(shown.status.success(), "show 1: {}", stderr(&shown));
            assert!(String::from_utf8_lossy(&shown.stdout).contains("history:"));
        }
        if rows.len() == 2 && rows.iter().all(|r| r["state"] == "done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("{calls} status+show pairs while the daemon ran; states seen: {seen:?}");
    assert!(
        seen.contains_key("polling"),
        "seen while the task was in flight: {seen:?}"
    );
    assert!(daemon.is_running(), "the daemon was running all along");
    let table = h.run(&["status"]).await;
    assert!(table.status.success(), "{}", stderr(&table));
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(
        widest <= 120,
        "the table fits a terminal ({widest} columns):\n{table}"
    );
    let first = h.status().await.remove(0);
    let short = &first["uuid"].as_str().expect("uuid")[..8];
    assert!(
        table.contains(short),
        "the table shows the uuid's start:\n{table}"
    );
    let by_uuid = show(&h, short).await;
    assert!(
        by_uuid.contains(first["path"].as_str().expect("path")),
        "{by_uuid}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_makes_the_running_daemon_read_a_replaced_key_file() {
    let h = Harness::start(TWO_REPORTS).await;
    std::fs::write(h.path("api-key"), "1$revoked\n").expect("write the old key");
    let mut cmd = h.child(&["run"]);
    cmd.env("GCORE_REPORTD__API__AUTH_RETRY_INTERVAL", "300ms");
    let daemon = h.spawn(cmd, "daemon.log");
    let refused = || h.sim.status_counts().get(&401).copied().unwrap_or(0);
    wait_for(
        "the API refused the old key",
        Duration::from_secs(30),
        || async { refused() >= 2 },
    )
    .await;
    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("write the new key");
    // Two more probes after the file changed, both refused: the daemon still sends the key
    // it read at start.
    let written = refused();
    wait_for(
        "two more refusals after the key file changed",
        Duration::from_secs(30),
        || async { refused() >= written + 2 },
    )
    .await;
    assert!(
        h.output_files().is_empty(),
        "the old key is still in use before SIGHUP"
    );
    daemon.signal(libc::SIGHUP);
    wait_for_downloads(&h, 2).await;
    let log = daemon.log();
    daemon.stop().await;
    assert!(log.contains("configuration reloaded"), "{log}");
}

/// The names of the binary's visible subcommands, as clap defines them.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    gcore_reportd::cli::Cli::command()
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| sub.get_name().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn man_pages_and_completions_cover_every_subcommand() {
    let h = Harness::start("").await;
    let dir = h.path("man");
    let out = h
        .run(&["man", "--dir", dir.to_str().expect("utf-8 path")])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let main = std::fs::read_to_string(dir.join("gcore-reportd.1")).expect("main page");
    let subs = subcommands();
    assert!(subs.len() >= 10, "clap defines the subcommands: {subs:?}");
    for sub in &subs {
        let page = dir.join(format!("gcore-reportd-{sub}.1"));
        assert!(page.exists(), "{} is written", page.display());
        assert!(
            main.contains(&format!("gcore-reportd-{sub}(1)").replace('-', "\\-")),
            "the main page refers to gcore-reportd-{sub}(1)"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = h.run(&["completions", shell]).await;
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell} completes {sub}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_checks_each_template_and_its_parameters_against_the_api() {
    let h = Harness::start(TWO_REPORTS).await;
    let good = h.run(&["check-config", "--online"]).await;
    assert!(good.status.success(), "{}", stderr(&good));
    let said = String::from_utf8_lossy(&good.stdout);
    assert!(
        said.contains("online: 2 report(s) match the 4 template(s) the API offers"),
        "{said}"
    );

    h.write_config(&format!(
        r#"{}
[[reports]]
name = "typo"
template = "ResellerExpences"

[[reports]]
name = "bad-client"
template = "ResellerPlans"
parameters = {{ client_id = "forty-two", colour = "blue" }}
"#,
        common::FAST_POLLING
    ));
    let offline = h.run(&["check-config"]).await;
    assert!(offline.status.success(), "offline, the config is valid");
    let bad = h.run(&["check-config", "--online"]).await;
    assert_eq!(bad.status.code(), Some(78), "{}", stderr(&bad));
    let errors = stderr(&bad);
    for expected in [
        "report typo: template \"ResellerExpences\" is not offered by the API",
        "report bad-client: parameter \"client_id\" = \"forty-two\" is not of type integer",
        "report bad-client: parameter \"colour\" is not one of template ResellerPlans's",
    ] {
        assert!(errors.contains(expected), "{expected:?} in:\n{errors}");
    }
    assert!(h.sim.tasks().is_empty(), "nothing was created");
}
