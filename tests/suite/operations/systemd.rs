//! The systemd notify protocol on a test `NOTIFY_SOCKET`: READY, STATUS, WATCHDOG pings (only
//! for the process `WATCHDOG_PID` names) and STOPPING.

use crate::common;
use std::time::{Duration, Instant};

use crate::common::notify::{notify_lines, Datagrams};
use crate::common::{stderr, wait_for, Harness, TWO_REPORTS};

use super::*;

/// When the two reports (`monthly`: day 1 at 00:00 UTC) are next due, as a STATUS line says it.
/// The next 00:00 UTC on the 2nd of a month: the default monthly due day.
fn next_monthly_run() -> String {
    let now = common::now().to_zoned(jiff::tz::TimeZone::UTC);
    let this_month = now
        .date()
        .first_of_month()
        .tomorrow()
        .expect("the 2nd")
        .at(0, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("midnight UTC exists");
    let next = if this_month > now {
        this_month
    } else {
        this_month
            .checked_add(jiff::Span::new().months(1))
            .expect("next month")
    };
    next.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_systemd_the_daemon_says_ready_reports_status_pings_the_watchdog_and_says_stopping() {
    let h = Harness::start("").await;
    let hook_env = h.path("hook.env");
    // The hook sleeps for two and a half watchdog periods: the daemon must keep pinging for it.
    h.write_config(&format!(
        "{}\n{TWO_REPORTS}\non_success = ['/bin/sh', '-c', 'sleep 2.5; env > \"$0\"', '{}']\n",
        common::FAST_POLLING,
        hook_env.display()
    ));
    let socket = h.path("notify.sock");
    let datagrams = Datagrams::bind(&socket);
    let started = Instant::now();
    let mut cmd = h.child(&["run"]);
    cmd.env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "1000000");
    let daemon = h.spawn(cmd, "daemon.log");
    wait_for_downloads(&h, 2).await;
    wait_for("the hook has run", Duration::from_secs(30), || async {
        hook_env.exists()
    })
    .await;
    wait_for(
        "the status with nothing in flight, and five pings",
        Duration::from_secs(30),
        || async {
            let lines = datagrams.lines();
            lines
                .iter()
                .any(|l| l.starts_with("STATUS=0 task(s) in flight"))
                && lines.iter().filter(|l| *l == "WATCHDOG=1").count() >= 5
        },
    )
    .await;
    daemon.stop().await;
    let received = datagrams.finish();

    let messages: Vec<Vec<String>> = received.iter().map(|(_, d)| notify_lines(d)).collect();
    eprintln!(
        "{} datagrams in {:?}: first {:?}, last {:?}",
        messages.len(),
        started.elapsed(),
        messages.first(),
        messages.last()
    );
    assert!(
        messages
            .first()
            .is_some_and(|m| m.contains(&"READY=1".into())),
        "READY=1 comes first: {messages:?}"
    );
    assert_eq!(
        messages
            .iter()
            .flatten()
            .filter(|l| *l == "READY=1")
            .count(),
        1,
        "READY=1 once"
    );
    assert!(
        messages
            .last()
            .is_some_and(|m| m.contains(&"STOPPING=1".into())),
        "STOPPING=1 comes last: {:?}",
        messages.last()
    );

    let statuses: Vec<&str> = messages
        .iter()
        .flatten()
        .filter_map(|l| l.strip_prefix("STATUS="))
        .collect();
    let due = next_monthly_run();
    for in_flight in ["2 task(s) in flight", "0 task(s) in flight"] {
        let (a, b) = (
            format!("{in_flight}, next due expenses {due}"),
            format!("{in_flight}, next due plans-42 {due}"),
        );
        assert!(
            statuses.iter().any(|s| *s == a || *s == b),
            "a STATUS says \"{a}\" (or plans-42): {statuses:?}"
        );
    }

    let pings: Vec<Instant> = received
        .iter()
        .filter(|(_, d)| notify_lines(d).contains(&"WATCHDOG=1".into()))
        .map(|(at, _)| *at)
        .collect();
    assert!(pings.len() >= 5, "several WATCHDOG=1: {}", pings.len());
    let longest = pings
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    eprintln!(
        "{} WATCHDOG=1 pings, longest gap {longest:?} (WatchdogSec 1s)",
        pings.len()
    );
    assert!(
        longest < Duration::from_millis(1000),
        "no gap of a whole watchdog period, even during the 2.5 s hook: {longest:?}"
    );

    let env = read_env(&hook_env);
    for inherited in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
        assert!(
            !env.contains_key(inherited),
            "the hook does not inherit {inherited}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_not_pinged_when_watchdog_pid_names_another_process() {
    let h = Harness::start(TWO_REPORTS).await;
    let socket = h.path("notify.sock");
    let datagrams = Datagrams::bind(&socket);
    let mut cmd = h.child(&["run", "--once"]);
    cmd.env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "400000")
        .env("WATCHDOG_PID", "1");
    let out = h
        .spawn(cmd, "daemon.log")
        .finish(Duration::from_secs(120))
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = datagrams
        .finish()
        .iter()
        .flat_map(|(_, d)| notify_lines(d))
        .collect();
    assert!(lines.contains(&"READY=1".into()), "{lines:?}");
    assert!(lines.contains(&"STOPPING=1".into()), "{lines:?}");
    assert!(
        !lines.contains(&"WATCHDOG=1".into()),
        "the watchdog belongs to pid 1: {lines:?}"
    );
}
