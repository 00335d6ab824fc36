//! Reports fixed or removed while their tasks run: a typo fixed then retried, a removed
//! report's task finishing under its own settings, and the last-success metrics after a
//! rename and a submit.

use crate::common;
use std::time::Duration;

use crate::common::{stderr, wait_for, Harness, FAST_POLLING};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_rejected_with_400_is_fixed_in_the_config_then_retry_delivers_the_fixed_request() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpensez\"\n").await;
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "failed");
    let id = rows[0]["id"].to_string();

    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n"
    ));
    let retry = h.run(&["retry", &id]).await;
    assert!(retry.status.success(), "{}", stderr(&retry));
    assert!(String::from_utf8_lossy(&retry.stdout).contains("with the config's current template"));
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["state"], "done");
    assert_eq!(rows[0]["template"], "ResellerExpenses");
    let made: Vec<String> = h.sim.tasks().iter().map(|t| t.template.clone()).collect();
    assert_eq!(made, ["ResellerExpenses"], "the fixed template was sent");

    // A task whose report is gone cannot be re-rendered: refused.
    h.sim.set_faults(gcore_reportd_sim::Faults {
        fail_first: 5,
        ..Default::default()
    });
    let older = common::months_back(4).to_string();
    let backfill = [
        "backfill", "--report", "expenses", "--from", &older, "--to", &older,
    ];
    assert_eq!(h.run(&backfill).await.status.code(), Some(1));
    let failed = h
        .status()
        .await
        .into_iter()
        .find(|r| r["state"] == "failed")
        .expect("failed");
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"other\"\ntemplate = \"ResellerPlans\"\n"
    ));
    let retry = h.run(&["retry", &failed["id"].to_string()]).await;
    assert!(!retry.status.success());
    assert!(
        stderr(&retry).contains("report expenses is no longer in the config"),
        "{}",
        stderr(&retry)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_reports_task_finishes_with_its_own_max_attempts_and_no_hook_runs() {
    let h = Harness::start("").await;
    let marker = h.path("hook-ran");
    let hook = format!(
        "on_failure = [\"/bin/sh\", \"-c\", \"touch {}\"]",
        marker.display()
    );
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"flaky\"\ntemplate = \"ResellerExpenses\"\nmax_attempts = 5\n{hook}\n"
    ));
    // Every attempt fails remotely; the report leaves the config with its task in flight.
    h.sim.set_faults(gcore_reportd_sim::Faults {
        fail_first: 10,
        ..Default::default()
    });
    run_killed_at(&h, &["run", "--once"], "create.recorded:1").await;
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"other\"\ntemplate = \"ResellerPlans\"\n"
    ));
    let table = h.run(&["status"]).await;
    assert!(String::from_utf8_lossy(&table.stdout).contains("flaky (removed)"));
    let check = h.run(&["check-config"]).await;
    assert!(String::from_utf8_lossy(&check.stdout).contains(
        "flaky: removed from the config; its 1 unfinished task(s) finish under the settings they were created with"
    ));
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    let flaky = rows.iter().find(|r| r["report"] == "flaky").expect("flaky");
    assert_eq!(flaky["state"], "failed", "{flaky}");
    assert_eq!(
        flaky["attempts"], 5,
        "its own max_attempts, not the default 3"
    );
    assert_eq!(flaky["report_removed"], true);
    let expenses_tasks = h
        .sim
        .tasks()
        .iter()
        .filter(|t| t.template == "ResellerExpenses")
        .count();
    assert_eq!(expenses_tasks, 5, "no new period of the removed report");
    assert!(!marker.exists(), "its hook did not run");
    let show = h.run(&["show", &flaky["id"].to_string()]).await;
    assert!(!String::from_utf8_lossy(&show.stdout).contains("hook ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_success_metrics_cover_configured_reports_with_their_download_time_after_a_rename_and_a_submit(
) {
    let h = Harness::start("").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = |name: &str| {
        format!(
            "{FAST_POLLING}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n[[reports]]\nname = \"{name}\"\ntemplate = \"ResellerExpenses\"\non_success = [\"true\"]\n"
        )
    };
    h.write_config(&config("expenses"));
    assert!(h.run(&["run", "--once"]).await.status.success());
    let submit = [
        "submit",
        "--template",
        "ResellerPlans",
        "--param",
        "date_from=2026-01-01",
        "--param",
        "date_to=2026-02-01",
    ];
    assert!(h.run(&submit).await.status.success());
    let downloaded_at = h
        .status()
        .await
        .iter()
        .find(|r| r["report"] == "expenses")
        .map(|r| r["updated_at"].clone())
        .expect("row");
    // The hook runs again an hour later (the commands' clock is moved, not waited for): the
    // row changes, the download time does not.
    let at: jiff::Timestamp = downloaded_at
        .as_str()
        .expect("time")
        .parse()
        .expect("rfc3339");
    let later = (at + jiff::SignedDuration::from_hours(1)).to_string();
    let rearm = h
        .child(&["retry-hook", "1"])
        .env("GCORE_REPORTD_NOW", &later)
        .output()
        .await
        .expect("retry-hook");
    assert!(rearm.status.success(), "{}", stderr(&rearm));
    h.write_config(&config("costs"));
    let mut run = h.child(&["run"]);
    run.env("GCORE_REPORTD_NOW", &later);
    let daemon = h.spawn(run, "daemon.log");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let fetch = || async {
        match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    };
    wait_for(
        "the renamed report's series",
        Duration::from_secs(20),
        || async {
            fetch()
                .await
                .contains("last_success_timestamp_seconds{report=\"costs\"}")
                && h.try_status()
                    .await
                    .unwrap_or_default()
                    .iter()
                    .all(|r| r["report"] != "expenses")
        },
    )
    .await;
    let page = fetch().await;
    daemon.stop().await;
    let series: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("gcore_reportd_last_success_timestamp_seconds{"))
        .collect();
    assert_eq!(series.len(), 1, "only the configured report: {series:?}");
    let value: i64 = series[0]
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("value");
    assert!(
        (value - at.as_second()).abs() <= 1,
        "{value} vs the download at {at}"
    );
}
