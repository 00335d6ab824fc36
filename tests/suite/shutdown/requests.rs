//! SIGTERM while requests are in flight or queued: with create answers hanging the daemon
//! exits 0 and the next run adopts each task once; with many requests queued behind the
//! request budget no new request is sent after the signal.

use super::{
    assert_database_consistent, assert_each_period_delivered_once, exit_within, options,
    throttling_proxy, THIRD_REPORT, TWO_REPORTS,
};
use crate::common;
use crate::common::{stderr, wait_for, Harness};
use std::time::{Duration, Instant};

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
