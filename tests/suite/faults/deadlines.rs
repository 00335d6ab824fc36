//! The polling deadline: a report completed before it is still fetched, a task that never
//! finishes and a download that keeps failing both end `expired` at it (also on the engine's
//! clock), leaving no partial file.

use super::{assert_done_rows_have_the_served_bytes, run_with_env, sim_options};
use crate::common;
use crate::common::{assert_no_request_has_two_live_remote_tasks, stderr, Harness};
use gcore_reportd::clock::Clock;
use gcore_reportd_sim::Faults;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_completed_before_the_deadline_is_fetched_though_its_next_poll_is_after_it() {
    // The first poll is due 2 s after the create, the deadline 1 s after it, and the report is
    // ready after 0.25 s: the look at the deadline finds it Completed and fetches it.
    let h = Harness::with_options(sim_options(29), "").await;
    h.write_config(
        r#"
[polling]
initial_interval = "2s"
max_interval = "4s"
deadline = "1s"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#,
    );
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "last look", &[]);
    assert_eq!(h.sim.request_counts().get("retrieve"), Some(&1));
}

/// A report whose remote task never finishes, under [`never_finishing_stuck`].
const STUCK: &str = r#"
[[reports]]
name = "stuck"
template = "ResellerExpenses"
parameters = { client_id = 666 }
"#;

fn never_finishing_stuck() -> Faults {
    Faults {
        never_finish_when: Some(("client_id".into(), serde_json::json!(666))),
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_never_finishes_expires_at_the_deadline_and_run_once_exits_1() {
    let h = Harness::with_options(sim_options(5), "").await;
    h.write_config(&format!(
        r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
deadline = "3s"
{STUCK}
[[reports]]
name = "fine"
template = "ResellerPlans"
format = "json"
parameters = {{ client_id = 7 }}
"#
    ));
    h.sim.set_faults(never_finishing_stuck());
    let started = Instant::now();
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        elapsed >= Duration::from_secs(3),
        "expired no earlier than the deadline: {elapsed:?}"
    );
    let rows = h.status().await;
    let stuck = rows.iter().find(|r| r["report"] == "stuck").expect("stuck");
    assert_eq!(stuck["state"], "expired", "{stuck}");
    let reason = stuck["last_error"].as_str().unwrap_or("");
    assert!(
        reason.contains("polling.deadline") && reason.contains("3s"),
        "the reason names the deadline: {reason}"
    );
    let fine = rows.iter().find(|r| r["report"] == "fine").expect("fine");
    assert_eq!(fine["state"], "done", "{fine}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "never finishes", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "never finishes");
    assert_eq!(h.sim.tasks().len(), 2, "no task was created twice");
    eprintln!("expired after {elapsed:.2?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_engines_clock_a_task_still_running_expires_at_its_first_look_past_the_deadline() {
    let h = Harness::with_options(sim_options(6), "").await;
    h.write_config(&format!(
        "[polling]\ninitial_interval = \"1m\"\nmax_interval = \"10m\"\ndeadline = \"1h\"\n{STUCK}"
    ));
    h.sim.set_faults(never_finishing_stuck());
    // The engine runs on the test's clock, moved to each poll's due time in turn.
    let start = common::now().as_millisecond();
    let deadline = start + 3_600_000;
    let clock = Clock::manual(start);
    let engine = h.engine_on(&clock).await;
    engine.step(true).await.expect("the step that creates");
    let mut polls = 0;
    let row = loop {
        let row = h.status().await.remove(0);
        if row["state"] != "polling" {
            break row;
        }
        assert!(
            clock.now_ms() <= deadline,
            "still polling past the deadline: {row}"
        );
        let due: jiff::Timestamp = row["next_attempt_at"]
            .as_str()
            .expect("a due time")
            .parse()
            .expect("RFC 3339");
        clock.set(due.as_millisecond());
        engine.step(false).await.expect("a step at the due time");
        polls += 1;
        assert!(polls < 100, "never expired: {row}");
    };
    assert_eq!(row["state"], "expired", "{row}");
    assert!(
        clock.now_ms() > deadline,
        "expired before the deadline: {row}"
    );
    let reason = row["last_error"].as_str().unwrap_or("");
    assert!(reason.contains("polling.deadline (1h)"), "{reason}");
    assert!(
        polls >= 6,
        "backoff of at most 10 m: {polls} polls in the hour"
    );
    assert_eq!(h.sim.tasks().len(), 1, "created once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_keeps_failing_expires_at_the_deadline_without_leaving_a_partial_file() {
    let h = Harness::with_options(sim_options(17), "").await;
    h.write_config(
        r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
deadline = "2s"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#,
    );
    h.sim.set_faults(Faults {
        truncate_downloads_rate: 1.0,
        ..Faults::default()
    });
    let started = Instant::now();
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        h.command(&["run", "--once"]).output(),
    )
    .await
    .expect("run --once gives up at the deadline instead of retrying forever")
    .expect("spawn");
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "expired", "{rows:?}");
    let reason = rows[0]["last_error"].as_str().unwrap_or("");
    assert!(
        reason.contains("polling.deadline") && reason.contains("download"),
        "the reason names the deadline and the failing download: {reason}"
    );
    let downloads = h.sim.request_counts().get("download").copied().unwrap_or(0);
    assert!(downloads >= 2, "the download was retried: {downloads}");
    assert!(h.output_files().is_empty(), "{:?}", h.output_files());
    assert_eq!(h.sim.tasks().len(), 1);
    eprintln!("gave up after {elapsed:.2?} and {downloads} download attempts");
}
