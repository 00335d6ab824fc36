//! A refused key (401): the daemon pauses every API call for `auth_retry_interval` and
//! `status` says why, a replaced key and SIGHUP end the pause at once, and `run --once` exits 75
//! (its periods still waiting), then tries a replaced key at once.

use super::{assert_done_rows_have_the_served_bytes, run_with_env, ONE_REPORT};
use crate::common;
use crate::common::{status_conditions, stderr, wait_for, Harness};
use gcore_reportd::clock::Clock;
use std::time::{Duration, Instant};

/// Sets `api.auth_retry_interval` in the harness's config file.
fn set_auth_retry_interval(h: &Harness, interval: &str) {
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let setting = format!("create_settle = \"1s\"\nauth_retry_interval = \"{interval}\"");
    std::fs::write(
        h.config_path(),
        text.replace("create_settle = \"1s\"", &setting),
    )
    .expect("config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_pauses_all_api_calls_for_the_interval_and_status_shows_why() {
    let h = Harness::start(ONE_REPORT).await;
    std::fs::write(h.path("api-key"), "7$wrong-secret-0000\n").expect("wrong key");
    set_auth_retry_interval(&h, "10m");
    let interval = Duration::from_secs(600);
    // The engine runs on the test's clock: the interval passes when the test says so.
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    let total = || h.sim.request_counts().values().sum::<u64>();
    let refused = || h.sim.status_counts().get(&401).copied().unwrap_or(0);

    let first = engine.step(true).await.expect("first step");
    assert_eq!((total(), refused()), (1, 1), "one request, refused");
    assert!(first.auth_refused.is_some(), "{first:?}");
    let table = String::from_utf8_lossy(&h.run(&["status"]).await.stdout).into_owned();
    assert!(
        table.contains("auth_blocked") && table.contains("401"),
        "status shows the refused credentials:\n{table}"
    );
    let rows = h.status().await;
    assert!(
        rows[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("credentials")),
        "{rows:?}"
    );

    // A millisecond before the interval has passed, nothing reaches the API.
    clock.advance(interval - Duration::from_millis(1));
    let held = engine.step(true).await.expect("step in the pause");
    assert_eq!(total(), 1, "no API call during auth_retry_interval");
    assert!(held.auth_refused.is_some(), "{held:?}");
    // Once it has, the key is tried again, once, and refused again.
    clock.advance(Duration::from_millis(1));
    let again = engine.step(true).await.expect("step after the pause");
    assert_eq!((total(), refused()), (2, 2), "one retry, refused");
    assert!(
        again.auth_refused.is_some(),
        "the pause is renewed: {again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_key_and_sighup_end_the_pause_at_once_with_one_error_logged() {
    let h = Harness::start(ONE_REPORT).await;
    let wrong = "7$wrong-secret-0000";
    std::fs::write(h.path("api-key"), format!("{wrong}\n")).expect("wrong key");
    // An interval far longer than the test: a delivery proves the pause was ended, not waited.
    set_auth_retry_interval(&h, "1h");
    let mut child = h.spawn(h.daemon(), "daemon.log");
    let refused = || h.sim.status_counts().get(&401).copied().unwrap_or(0);
    wait_for(
        "a refusal shown by status",
        Duration::from_secs(20),
        || async {
            refused() == 1
                && status_conditions(&h)
                    .await
                    .iter()
                    .any(|c| c.contains("auth_blocked"))
        },
    )
    .await;
    assert!(child.is_running(), "the daemon keeps running");

    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("right key");
    child.signal(libc::SIGHUP);
    h.wait_for_done(1, Duration::from_secs(30)).await;
    let logs = child.log();
    child.stop().await;
    let errors = logs
        .lines()
        .filter(|l| l.contains("refused the credentials") && l.contains("\"ERROR\""))
        .count();
    assert_eq!((errors, refused()), (1, 1), "one refusal, one error logged");
    let secret = wrong.split('$').nth(1).expect("secret part");
    assert!(!logs.contains(secret), "the wrong key leaked into the log");
    let rows = h.status().await;
    assert_done_rows_have_the_served_bytes(&h, &rows, "401", &[]);
    assert!(
        !status_conditions(&h)
            .await
            .iter()
            .any(|c| c.contains("auth_blocked")),
        "cleared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_ends_run_once_with_exit_75_and_a_replaced_key_is_tried_at_once() {
    let h = Harness::start(ONE_REPORT).await;
    std::fs::write(h.path("api-key"), "7$another-wrong-secret\n").expect("wrong key");
    let total = || h.sim.request_counts().values().sum::<u64>();

    // The first run is refused: it stops at once instead of waiting out the 10 min interval.
    let first = tokio::time::timeout(
        Duration::from_secs(15),
        h.command(&["run", "--once"]).output(),
    )
    .await
    .expect("run --once with a refused key ends")
    .expect("spawn");
    assert_eq!(first.status.code(), Some(75), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("refused the credentials"),
        "{}",
        stderr(&first)
    );
    let rows = h.status().await;
    assert!(
        ["intent", "creating"].contains(&rows[0]["state"].as_str().unwrap_or("")),
        "the task keeps its state: {rows:?}"
    );
    let after_first = total();

    // A second run with the same key honours the pause: no API call at all.
    let second = run_with_env(&h, &["run", "--once"], &[]).await;
    assert_eq!(second.status.code(), Some(75), "{}", stderr(&second));
    assert_eq!(total(), after_first, "no API call while the refusal holds");

    // With the key replaced, the pause no longer applies.
    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("right key");
    let started = Instant::now();
    let third = run_with_env(&h, &["run", "--once"], &[]).await;
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(started.elapsed() < Duration::from_secs(10));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "replaced key", &[]);
    let table = String::from_utf8_lossy(&h.run(&["status"]).await.stdout).into_owned();
    assert!(!table.contains("auth_blocked"), "{table}");
    assert_eq!(h.sim.tasks().len(), 1);
}
