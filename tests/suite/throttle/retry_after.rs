//! `Retry-After` waited out: every create answered 429 with `Retry-After: 8` while the
//! watchdog stays fed, then a SIGKILL and a restart that waits out the recorded pause (also a
//! restarted engine on the test's clock); absurd values (a u64's maximum, a date in year 9999)
//! capped at `api.max_retry_after` and shown by `status`.

use super::{answered, count, requests, shown_pause, ONE_REPORT};
use crate::common;
use crate::common::notify::{longest_gap, Datagrams};
use crate::common::{status_conditions, wait_for, wait_for_value, Harness, TWO_REPORTS};
use gcore_reportd_sim::Faults;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// `status` no longer shows the API's pause.
async fn assert_pause_cleared(h: &Harness) {
    assert!(
        !status_conditions(h)
            .await
            .iter()
            .any(|c| c.contains("asked to wait")),
        "the pause is cleared once it has passed"
    );
}

fn seconds_until(hh_mm_ss: &str) -> i64 {
    let at: jiff::civil::Time = hh_mm_ss.parse().expect("HH:MM:SS");
    let now = common::now().to_zoned(jiff::tz::TimeZone::UTC).time();
    let diff = at.duration_since(now).as_secs();
    (diff + 43_200).rem_euclid(86_400) - 43_200
}

/// Long enough for six watchdog pings (WatchdogSec 2 s) before the SIGKILL and several after
/// the restart; each second more is a second more of the suite.
const RETRY_AFTER_SECS: u64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_keeps_the_watchdog_fed_and_a_restarted_daemon_waits_it_out() {
    let h = Harness::start(TWO_REPORTS).await;
    h.sim.set_faults(Faults {
        throttle_ops: vec!["create".into()],
        retry_after_secs: RETRY_AFTER_SECS,
        ..Faults::default()
    });
    let socket = h.path("notify.sock");
    let datagrams = Datagrams::bind(&socket);
    let watched = |cmd: &mut Command| {
        cmd.env("NOTIFY_SOCKET", &socket)
            .env("WATCHDOG_USEC", "2000000");
    };
    let mut first = h.daemon();
    watched(&mut first);
    let started = Instant::now();
    let mut first = h.spawn(first, "first.log");
    wait_for("a create answered 429", Duration::from_secs(20), || async {
        answered(&h, 429) > 0
    })
    .await;
    let throttled_at = Instant::now();
    let until = shown_pause(&h).await;
    // Creates sent with the first, before its 429 came back, are answered 429 too; after it,
    // nothing is sent.
    let sent = requests(&h);
    let left = seconds_until(&until);
    let asked = RETRY_AFTER_SECS as i64;
    assert!(
        (asked - 3..=asked + 1).contains(&left),
        "the pause ends in {left} s ({until})"
    );
    // The daemon waits on the Retry-After; the watchdog must not starve meanwhile: six pings
    // (WatchdogSec 2 s, so at least three seconds) into the pause.
    wait_for(
        "six watchdog pings during the pause",
        Duration::from_secs(20),
        || async {
            datagrams
                .pings()
                .iter()
                .filter(|p| **p > throttled_at)
                .count()
                >= 6
        },
    )
    .await;
    let killed_at = Instant::now();
    let first_gap = longest_gap(&datagrams.pings(), started, killed_at);
    assert_eq!(requests(&h), sent, "nothing more was sent during the pause");
    first.kill().await;
    let before = requests(&h);

    let mut second = h.daemon();
    watched(&mut second);
    let restarted = Instant::now();
    let second = h.spawn(second, "second.log");
    h.sim.set_faults(Faults::default());
    let first_request = wait_for_value(
        "a request after the pause",
        Duration::from_secs(40),
        || async { h.sim.arrival(before as usize) },
    )
    .await;
    let waited = first_request - throttled_at;
    assert!(
        waited >= Duration::from_secs(RETRY_AFTER_SECS) - Duration::from_millis(100),
        "a request reached the API {waited:?} after the 429 (Retry-After: {RETRY_AFTER_SECS})"
    );
    h.wait_for_done(2, Duration::from_secs(30)).await;
    let delivered = Instant::now();
    let second_gap = longest_gap(&datagrams.pings(), restarted, delivered);
    second.stop().await;
    assert_eq!(h.sim.tasks().len(), 2, "one remote task per report");
    for gap in [first_gap, second_gap] {
        assert!(
            gap <= Duration::from_secs(1),
            "a gap of {gap:?} between WATCHDOG=1 pings (WatchdogSec 2 s)"
        );
    }
    assert_pause_cleared(&h).await;
    eprintln!(
        "watchdog gaps: {first_gap:?} before the SIGKILL, {second_gap:?} after the restart; first request {waited:?} after the 429; delivered {:?} after the restart",
        delivered - restarted
    );
}

/// The daemon against creates answered 429 with `Retry-After: value`, capped at 3 s.
async fn capped_wait(value: &str) -> Duration {
    let h = Harness::start(ONE_REPORT).await;
    h.sim.set_faults(Faults {
        throttle_ops: vec!["create".into()],
        retry_after_header: Some(value.into()),
        ..Faults::default()
    });
    let mut cmd = h.daemon();
    cmd.env("GCORE_REPORTD__API__MAX_RETRY_AFTER", "3s");
    let mut child = h.spawn(cmd, "daemon.log");
    wait_for("a first 429", Duration::from_secs(20), || async {
        answered(&h, 429) >= 1
    })
    .await;
    let first = Instant::now();
    let until = shown_pause(&h).await;
    let left = seconds_until(&until);
    assert!(
        (0..=4).contains(&left),
        "{value}: status says {until} ({left} s)"
    );
    wait_for("a second 429", Duration::from_secs(20), || async {
        answered(&h, 429) >= 2
    })
    .await;
    let waited = first.elapsed();
    assert!(child.is_running(), "{value}: still running");
    h.sim.set_faults(Faults::default());
    h.wait_for_done(1, Duration::from_secs(30)).await;
    child.stop().await;
    let logged = h.read("daemon.log");
    assert!(
        logged.contains("longer than api.max_retry_after"),
        "{value}: the cap is logged"
    );
    assert!(!logged.contains("panicked"), "{value}: {logged}");
    waited
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_retry_after_values_are_waited_for_max_retry_after_and_shown_by_status() {
    let (huge, far) = tokio::join!(
        capped_wait("18446744073709551615"),
        capped_wait("Fri, 31 Dec 9999 23:59:59 GMT")
    );
    for (what, waited) in [("u64::MAX seconds", huge), ("year 9999", far)] {
        assert!(
            waited >= Duration::from_millis(2_900) && waited < Duration::from_secs(8),
            "{what}: the next create came {waited:?} after the first (cap 3 s)"
        );
    }
    eprintln!("capped waits: {huge:?} (u64::MAX), {far:?} (year 9999)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_retry_after_holds_a_restarted_engine_back_until_its_clock_has_passed_it() {
    let h = Harness::start(ONE_REPORT).await;
    h.sim.set_faults(Faults {
        throttle_ops: vec!["create".into()],
        retry_after_secs: 30,
        ..Faults::default()
    });
    // The engines run on the test's clock: the pause passes when the test says so.
    let start = common::now().as_millisecond();
    let clock = gcore_reportd::clock::Clock::manual(start);
    let throttled = h.engine_on(&clock).await;
    throttled.step(true).await.expect("the throttled step");
    assert_eq!(answered(&h, 429), 1, "the create was answered 429");
    shown_pause(&h).await;
    // A restart: a new engine, whose client never met the 429, on the same clock.
    drop(throttled);
    h.sim.set_faults(Faults::default());
    let engine = h.engine_on(&clock).await;
    let sent = requests(&h);
    for (advance, what) in [(0, "at once"), (29, "29 s after the 429")] {
        clock.advance(Duration::from_secs(advance));
        let outcome = engine.step(true).await.expect("step in the pause");
        assert_eq!(requests(&h), sent, "nothing is sent {what}");
        assert_eq!(outcome.processed, 0, "{what}");
        let wakes = outcome.next_due_at.expect("a wake-up") - start;
        assert!(
            (29_000..=30_000).contains(&wakes),
            "the loop wakes at the pause's end, {wakes} ms after the 429"
        );
    }
    clock.advance(Duration::from_secs(1));
    engine.step(true).await.expect("step after the pause");
    assert_eq!(
        count(&h, "create"),
        2,
        "the create goes out once the pause has passed"
    );
    assert_pause_cleared(&h).await;
}
