//! Outages longer than `polling.deadline`: every request answered 429, or the key refused, for
//! longer than the deadline. A period the API keeps from being sent has no deadline: it waits,
//! visibly (`status`: "waiting since …"), and is created exactly once when the API is back; a
//! `run --once` that ends with periods still waiting exits 75. The engine runs on the test's
//! clock, so the outage lasts as long as the test says.

use super::{assert_done_rows_have_the_served_bytes, run_with_env, sim_options};
use crate::common;
use crate::common::{assert_one_remote_task_per_request, stderr, wait_for, Harness};
use gcore_reportd::clock::Clock;
use gcore_reportd_sim::Faults;
use std::time::Duration;

/// Two reports, three monthly periods each (from three months back), deadline 8 s.
fn two_reports_three_periods(extra_api: &str) -> String {
    let back = common::months_back(3);
    format!(
        r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
deadline = "8s"
{extra_api}
[[reports]]
name = "expenses"
template = "ResellerExpenses"
catch_up_from = "{back}"
day = 1

[[reports]]
name = "plans"
template = "ResellerPlans"
format = "json"
catch_up_from = "{back}"
day = 1
"#
    )
}

/// Steps `engine` until every one of `n` rows is done, moving `clock` by `by` after each step
/// once the simulator's tasks have completed (in real time: the engine's clock must not pass a
/// task's deadline before the simulator could finish it); panics after 200 steps.
async fn step_until_done(
    h: &Harness,
    engine: &gcore_reportd::engine::Engine,
    clock: &Clock,
    by: Duration,
    n: usize,
) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        engine.step(true).await.expect("a step after the outage");
        let rows = h.status().await;
        if rows.len() == n && rows.iter().all(|r| r["state"] == "done") {
            return rows;
        }
        wait_for(
            "the simulator's tasks completed",
            Duration::from_secs(20),
            || async { h.sim.tasks().iter().all(|t| t.status == "Completed") },
        )
        .await;
        clock.advance(by);
    }
    panic!("not every period delivered: {:?}", h.status().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_the_deadline_loses_no_period() {
    let h = Harness::with_options(sim_options(41), "").await;
    h.write_config(&two_reports_three_periods(""));
    h.sim.set_faults(every_request_429());
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    // 30 s of the engine's time, every request answered 429: far past the 8 s deadline.
    for _ in 0..10 {
        engine.step(true).await.expect("a step in the outage");
        clock.advance(Duration::from_secs(3));
    }
    let throttled = h.sim.status_counts().get(&429).copied().unwrap_or(0);
    assert!(throttled >= 2, "the creates met the outage: {throttled}");
    assert!(h.sim.tasks().is_empty(), "nothing created in the outage");
    let rows = h.status().await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        rows.iter().all(|r| r["state"] == "intent"),
        "every period still waits: {rows:?}"
    );
    h.sim.set_faults(Faults::default());
    let rows = step_until_done(&h, &engine, &clock, Duration::from_secs(2), 6).await;
    assert_done_rows_have_the_served_bytes(&h, &rows, "429 outage", &[]);
    assert_one_remote_task_per_request(&h, 6, "429 outage");
}

/// Every request of every operation answered 429 with `Retry-After: 1`.
fn every_request_429() -> Faults {
    let all_ops = ["create", "list", "retrieve", "download", "templates"];
    Faults {
        throttle_ops: all_ops.iter().map(|op| op.to_string()).collect(),
        retry_after_secs: 1,
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_whose_answers_were_lost_before_an_outage_are_reconciled_not_expired_nor_sent_again(
) {
    let h = Harness::with_options(sim_options(47), "").await;
    h.write_config(&two_reports_three_periods(""));
    // Each create makes its task, then answers 500: the daemon cannot know, the task stays
    // `creating` until a list shows it.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        ..Faults::default()
    });
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    engine
        .step(true)
        .await
        .expect("the step whose creates are unanswered");
    assert_eq!(h.sim.tasks().len(), 6, "every create reached the server");
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "creating"), "{rows:?}");
    let rows = outage_past_the_deadline(&h, &engine, &clock).await;
    assert!(
        rows.iter().all(|r| r["state"] == "creating"),
        "still to be reconciled, not expired: {rows:?}"
    );
    recover_and_deliver_six(&h, &engine, &clock, "unanswered, then 429s").await;
}

/// 24 s of the engine's time with every request answered 429, past the 8 s deadline (each
/// step retries its lists for about 10 s of real time: two steps); the rows after it.
async fn outage_past_the_deadline(
    h: &Harness,
    engine: &gcore_reportd::engine::Engine,
    clock: &Clock,
) -> Vec<serde_json::Value> {
    h.sim.set_faults(every_request_429());
    for _ in 0..2 {
        clock.advance(Duration::from_secs(12));
        engine.step(true).await.expect("a step in the outage");
    }
    h.status().await
}

/// The API back: every one of the six periods delivered, from one remote task each.
async fn recover_and_deliver_six(
    h: &Harness,
    engine: &gcore_reportd::engine::Engine,
    clock: &Clock,
    case: &str,
) {
    h.sim.set_faults(Faults::default());
    let rows = step_until_done(h, engine, clock, Duration::from_secs(1), 6).await;
    assert_done_rows_have_the_served_bytes(h, &rows, case, &[]);
    assert_one_remote_task_per_request(h, 6, case);
}

/// The binary's clock set to where the test's clock is (see `GCORE_REPORTD_NOW`).
fn at(clock: &Clock) -> (&'static str, String) {
    let now = jiff::Timestamp::from_millisecond(clock.now_ms()).expect("in range");
    (gcore_reportd::clock::NOW_VARIABLE, now.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_refused_for_longer_than_the_deadline_then_fixed_creates_every_period_once() {
    let h = Harness::with_options(sim_options(43), "").await;
    h.write_config(&two_reports_three_periods(""));
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let with_interval = "create_settle = \"100ms\"\nauth_retry_interval = \"5s\"";
    let text = text.replace("create_settle = \"100ms\"", with_interval);
    std::fs::write(h.config_path(), text).expect("config");
    std::fs::write(h.path("api-key"), "7$refused-over-the-weekend\n").expect("wrong key");
    // A weekend of refusals on the engine's clock: 30 s, the key tried every 5 s.
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    for _ in 0..6 {
        let outcome = engine.step(true).await.expect("a refused step");
        assert!(outcome.auth_refused.is_some(), "{outcome:?}");
        clock.advance(Duration::from_secs(6));
    }
    engine.step(true).await.expect("the last refused step");
    drop(engine);
    assert!(
        h.sim.tasks().is_empty(),
        "nothing created with the refused key"
    );
    let rows = h.status().await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    for row in &rows {
        assert_eq!(row["state"], "intent", "still waiting, not expired: {row}");
        let waiting = row["waiting"].as_str().unwrap_or_default();
        assert!(
            waiting.starts_with("waiting since ") && waiting.contains("the API refused the key"),
            "{row}"
        );
    }
    let table = String::from_utf8_lossy(&h.run(&["status"]).await.stdout).into_owned();
    assert!(table.contains("waiting since"), "{table}");

    // While the key is refused, `run --once` exits 75: due periods were not delivered.
    let (variable, now) = at(&clock);
    let refused = run_with_env(&h, &["run", "--once"], &[(variable, &now)]).await;
    assert_eq!(refused.status.code(), Some(75), "{}", stderr(&refused));

    // With the right key, every due period is created once and delivered.
    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("right key");
    let (variable, now) = at(&clock);
    let fixed = run_with_env(&h, &["run", "--once"], &[(variable, &now)]).await;
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert!(rows.iter().all(|r| r["waiting"].is_null()), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "refused key", &[]);
    assert_one_remote_task_per_request(&h, 6, "refused key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_tasks_whose_last_look_meets_an_outage_past_the_deadline_are_not_expired() {
    let h = Harness::with_options(sim_options(53), "").await;
    h.write_config(&two_reports_three_periods(""));
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    engine.step(true).await.expect("the creates");
    assert_eq!(h.sim.tasks().len(), 6, "every period created");
    // Past the 8 s deadline counted from the creates, every request answered 429: the
    // deadline's last look gets no answer, and a report may have completed meanwhile.
    let rows = outage_past_the_deadline(&h, &engine, &clock).await;
    assert!(
        rows.iter().all(|r| r["state"] == "polling"),
        "no answer, no expiry: {rows:?}"
    );
    recover_and_deliver_six(&h, &engine, &clock, "last look in an outage").await;
}
