//! A throttled, slow or hostile API, with the real binary against the simulator: every create
//! answered 429 with `Retry-After: 8` while a stand-in for systemd's notify socket measures
//! the watchdog's pings, then a SIGKILL and a restart that must wait out the pause it recorded
//! (and, on the test's clock, a restarted engine that sends nothing until the clock passes it);
//! absurd `Retry-After` values (a u64's maximum, a date in year 9999) capped at
//! `api.max_retry_after`; a server that trickles a byte a second (JSON answers and downloads);
//! a refused key with many reports due (one request per `auth_retry_interval`); endless JSON
//! bodies on create and on list (the daemon's peak RSS stays under 40 MB).

use crate::common;
use std::time::{Duration, Instant};

use crate::common::notify::{longest_gap, Datagrams};
use crate::common::{
    peak_rss_kib, status_conditions, stderr, wait_for, wait_for_value, Harness, TWO_REPORTS,
};
use gcore_reportd_sim::Faults;
use tokio::process::Command;

const ONE_REPORT: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#;

/// What the daemon may weigh at most, in KiB, whatever a server or a hook sends it.
const RSS_LIMIT_KIB: u64 = 40 * 1024;

fn requests(h: &Harness) -> u64 {
    h.sim.request_counts().values().sum()
}

fn count(h: &Harness, op: &str) -> u64 {
    h.sim.request_counts().get(op).copied().unwrap_or(0)
}

fn answered(h: &Harness, status: u16) -> u64 {
    h.sim.status_counts().get(&status).copied().unwrap_or(0)
}

/// The pause `status` shows, as "HH:MM:SS", once it shows one.
async fn shown_pause(h: &Harness) -> String {
    wait_for_value(
        "status to show the API's pause",
        Duration::from_secs(15),
        || async {
            status_conditions(h).await.iter().find_map(|c| {
                c.split_once("the API asked to wait until ")
                    .map(|(_, rest)| rest.chars().take(8).collect::<String>())
            })
        },
    )
    .await
}

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
async fn a_server_trickling_a_byte_a_second_fails_json_requests_at_request_timeout_and_they_are_retried(
) {
    let h = Harness::start(ONE_REPORT).await;
    h.sim.set_faults(Faults {
        trickle_ops: vec!["create".into(), "list".into()],
        trickle_every: Duration::from_secs(1),
        ..Faults::default()
    });
    let started = Instant::now();
    let mut cmd = h.daemon();
    cmd.env("GCORE_REPORTD__API__REQUEST_TIMEOUT", "1s");
    let child = h.spawn(cmd, "daemon.log");
    // The create times out (its task may exist: it is looked for), the look-ups time out too.
    wait_for(
        "three trickled requests",
        Duration::from_secs(20),
        || async { count(&h, "create") + count(&h, "list") >= 3 },
    )
    .await;
    let three = started.elapsed();
    h.sim.set_faults(Faults::default());
    h.wait_for_done(1, Duration::from_secs(30)).await;
    child.stop().await;
    let logged = h.read("daemon.log");
    let timeouts = logged.matches("timed out").count();
    assert!(timeouts >= 2, "the trickled requests timed out: {logged}");
    assert_eq!(
        count(&h, "create"),
        1,
        "the trickled create's task was adopted"
    );
    assert_eq!(h.sim.tasks().len(), 1);
    assert!(
        three < Duration::from_secs(12),
        "each request ended at its timeout: {three:?}"
    );
    eprintln!("trickled JSON: three requests in {three:?} (request_timeout 1 s), {timeouts} timeouts logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_stalled_for_request_timeout_is_retried_without_leaving_a_partial_file() {
    let h = Harness::start(ONE_REPORT).await;
    h.sim.set_faults(Faults {
        trickle_ops: vec!["download".into()],
        trickle_every: Duration::from_secs(3),
        ..Faults::default()
    });
    let mut cmd = h.daemon();
    cmd.env("GCORE_REPORTD__API__REQUEST_TIMEOUT", "1s");
    let child = h.spawn(cmd, "daemon.log");
    wait_for(
        "a stalled download retried",
        Duration::from_secs(30),
        || async { count(&h, "download") >= 2 },
    )
    .await;
    assert!(
        h.output_files().iter().all(|f| !f.starts_with('.')),
        "no partial file is left: {:?}",
        h.output_files()
    );
    h.sim.set_faults(Faults::default());
    h.wait_for_done(1, Duration::from_secs(30)).await;
    child.stop().await;
    let rows = h.status().await;
    let path = rows[0]["path"].as_str().expect("path");
    let task = &h.sim.tasks()[0];
    assert_eq!(
        common::sha256_file(std::path::Path::new(path)),
        common::sha256_hex(&common::served_bytes(task, "csv"))
    );
    eprintln!(
        "stalled downloads: {} tries before the good one",
        count(&h, "download") - 1
    );
}

/// Eighteen months of one report and two more: twenty tasks due at once.
fn many_reports() -> String {
    format!(
        "{TWO_REPORTS}\n[[reports]]\nname = \"history\"\ntemplate = \"ResellerStatistics\"\ncatch_up_from = \"{}\"\nday = 1\n",
        common::months_back(18)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_costs_one_request_per_auth_interval_however_many_tasks_are_due() {
    let h = Harness::start(&many_reports()).await;
    std::fs::write(h.path("api-key"), "7$wrong-secret-0000\n").expect("wrong key");
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let interval = Duration::from_secs(60);
    std::fs::write(
        h.config_path(),
        text.replace(
            "create_settle = \"100ms\"",
            "create_settle = \"100ms\"\nauth_retry_interval = \"60s\"",
        )
        .replace(
            "max_requests_per_second = 500",
            "max_requests_per_second = 20",
        ),
    )
    .expect("config");
    // The engine runs on the test's clock: each interval passes when the test says so.
    let clock = gcore_reportd::clock::Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    let first = engine.step(true).await.expect("first step");
    assert_eq!(first.scheduled, 20, "twenty tasks are due");
    // The default budget (20/s): the first 401 is normally back before the next create's
    // slot; a create already on its way then is refused too.
    let first_step = requests(&h);
    assert!(
        (1..=2).contains(&first_step),
        "the first refusal stops the step: {first_step} requests"
    );
    // Each interval: nothing a millisecond before it has passed, one probe once it has.
    let probe = |engine: gcore_reportd::engine::Engine, sent: u64| {
        let clock = clock.clone();
        let h = &h;
        async move {
            clock.advance(interval - Duration::from_millis(1));
            engine.step(true).await.expect("step in the pause");
            assert_eq!(requests(h), sent, "no request within the interval");
            clock.advance(Duration::from_millis(1));
            engine.step(true).await.expect("step after the pause");
            assert_eq!(requests(h), sent + 1, "one probe per interval");
            engine
        }
    };
    let mut engine = engine;
    for n in 0..3 {
        engine = probe(engine, first_step + n).await;
    }
    // Restarted: the recorded refusal holds, then one probe per interval again.
    drop(engine);
    let engine = h.engine_on(&clock).await;
    engine.step(true).await.expect("step after the restart");
    let sent = first_step + 3;
    assert_eq!(requests(&h), sent, "the refusal holds after a restart");
    probe(engine, sent).await;
    assert_eq!(answered(&h, 401), sent + 1, "every request was refused");
    assert_eq!(h.status().await.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_json_bodies_on_create_and_list_leave_the_daemon_small_and_are_retried() {
    let h = Harness::start(TWO_REPORTS).await;
    h.sim.set_faults(Faults {
        endless_ops: vec!["create".into(), "list".into()],
        ..Faults::default()
    });
    let child = h.spawn(h.daemon(), "daemon.log");
    wait_for(
        "creates and look-ups cut off, then retried",
        Duration::from_secs(30),
        || async { count(&h, "create") >= 2 && count(&h, "list") >= 4 },
    )
    .await;
    let during = peak_rss_kib(&child);
    let rows = h.status().await;
    assert!(
        rows.iter().all(|r| r["uuid"].is_null()),
        "nothing is recorded from an endless body: {rows:?}"
    );
    assert!(
        rows.iter().any(|r| r["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("longer than"))),
        "the error names the cut: {rows:?}"
    );
    h.sim.set_faults(Faults::default());
    h.wait_for_done(2, Duration::from_secs(30)).await;
    let peak = peak_rss_kib(&child);
    child.stop().await;
    assert_eq!(
        h.sim.tasks().len(),
        2,
        "the cut-off creates' tasks were adopted, not doubled"
    );
    assert!(
        peak < RSS_LIMIT_KIB,
        "peak RSS {peak} KiB (during the endless bodies: {during} KiB)"
    );
    eprintln!(
        "endless bodies: peak RSS {during} KiB while {} creates and {} lists were cut off, {peak} KiB at the end",
        count(&h, "create"),
        count(&h, "list")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_refuses_a_request_budget_of_1e_minus_20_naming_the_key() {
    let h = Harness::start(ONE_REPORT).await;
    let out = h
        .command(&["check-config"])
        .env("GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND", "1e-20")
        .output()
        .await
        .expect("check-config");
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("api.max_requests_per_second"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
}

/// Runs the daemon until a create is answered 429 with `Retry-After: 3`, SIGKILLs it, and
/// returns when that 429 was seen.
async fn pause_then_kill(h: &Harness, log: &str) -> Instant {
    h.sim.set_faults(Faults {
        throttle_ops: vec!["create".into()],
        retry_after_secs: 3,
        ..Faults::default()
    });
    let seen = answered(h, 429);
    let mut child = h.spawn(h.daemon(), log);
    wait_for("a create answered 429", Duration::from_secs(20), || async {
        answered(h, 429) > seen
    })
    .await;
    let throttled_at = Instant::now();
    shown_pause(h).await;
    child.kill().await;
    h.sim.set_faults(Faults::default());
    throttled_at
}

/// Runs `args` to its end, noting when its first request reached the API.
async fn first_request_of(h: &Harness, args: &[&str]) -> (std::process::Output, Instant) {
    let before = requests(h) as usize;
    let out = h.run(args).await;
    let first = h.sim.arrival(before).expect("a request was sent");
    (out, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_the_daemon_recorded_holds_back_run_once_submit_and_templates() {
    let h = Harness::start(ONE_REPORT).await;
    let throttled_at = pause_then_kill(&h, "first.log").await;
    // The commands that ask the API directly refuse, saying until when.
    for args in [&["templates"][..], &["check-config", "--online"]] {
        let out = h.run(args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("asked to wait until"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(
        count(&h, "templates"),
        0,
        "no templates request in the pause"
    );
    let (out, first) = first_request_of(&h, &["run", "--once"]).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let once_waited = first - throttled_at;

    // A second report, whose create the daemon is throttled on; `submit` finds it recorded.
    h.write_config(&format!("{}\n{TWO_REPORTS}", common::FAST_POLLING));
    let throttled_at = pause_then_kill(&h, "second.log").await;
    let submit = [
        "submit",
        "--template",
        "ResellerCredits",
        "--param",
        "date_from=2025-03-01",
        "--param",
        "date_to=2025-04-01",
    ];
    let (out, first) = first_request_of(&h, &submit).await;
    assert!(out.status.success(), "submit: {}", stderr(&out));
    let submit_waited = first - throttled_at;
    for (what, waited) in [("run --once", once_waited), ("submit", submit_waited)] {
        assert!(
            waited >= Duration::from_millis(2_900),
            "{what} sent a request {waited:?} after a 429 with Retry-After: 3"
        );
    }
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    eprintln!("after a recorded Retry-After of 3 s: run --once's first request after {once_waited:?}, submit's after {submit_waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_larger_than_max_bytes_is_aborted_and_goes_through_once_the_limit_is_raised() {
    let options = gcore_reportd_sim::SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(150),
        report_rows: 400,
        ..gcore_reportd_sim::SimOptions::default()
    };
    let h = Harness::with_options(options, ONE_REPORT).await;
    let small = format!(
        "{}\n[downloads]\nmax_bytes = 1024\n{ONE_REPORT}",
        common::FAST_POLLING
    );
    h.write_config(&small);
    let child = h.spawn(h.daemon(), "daemon.log");
    wait_for(
        "a download refused twice",
        Duration::from_secs(30),
        || async { count(&h, "download") >= 2 },
    )
    .await;
    let rows = h.status().await;
    let error = rows[0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("downloads.max_bytes"), "{rows:?}");
    assert!(
        h.output_files().is_empty(),
        "nothing is left of the aborted downloads: {:?}",
        h.output_files()
    );
    h.write_config(&format!("{}\n{ONE_REPORT}", common::FAST_POLLING));
    child.signal(libc::SIGHUP);
    h.wait_for_done(1, Duration::from_secs(30)).await;
    child.stop().await;
    let rows = h.status().await;
    assert!(
        rows[0]["bytes"].as_i64().is_some_and(|b| b > 1024),
        "{rows:?}"
    );
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
