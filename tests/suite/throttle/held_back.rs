//! What holds requests back: a pause an earlier daemon recorded holds back `run --once`,
//! `submit` and `templates`; a refused key costs one request per `auth_retry_interval` however
//! many tasks are due; `check-config` refuses an absurd request budget, naming the key.

use super::{answered, count, requests, shown_pause, ONE_REPORT};
use crate::common;
use crate::common::{stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd_sim::Faults;
use std::time::{Duration, Instant};

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
            "create_settle = \"1s\"",
            "create_settle = \"1s\"\nauth_retry_interval = \"60s\"",
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
