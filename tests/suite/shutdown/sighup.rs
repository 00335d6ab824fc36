//! SIGHUP reloads the config: a new report is created without a restart, and a broken config
//! is refused with a logged error while the old one keeps working.

use super::{
    assert_database_consistent, assert_each_period_delivered_once, exit_within, options,
    THIRD_REPORT, TWO_REPORTS,
};
use crate::common::{wait_for, Harness};
use gcore_reportd_sim::SimOptions;
use std::time::{Duration, Instant};

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
