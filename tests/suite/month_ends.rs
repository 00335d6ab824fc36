//! Month ends, a year end and the first period due after the spring daylight-saving change
//! (Berlin on UTC+2) met head-on instead of stepped around:
//! the engine runs in process on a manual clock that the test sets to the last second before
//! each period falls due and then to the instant it does. Two reports make the same monthly
//! request apart from their client, one on UTC and one on Berlin time (whose midnight is 23:00
//! or 22:00 UTC), so each boundary is met twice, an hour or two apart. The dates are fixed in
//! the past: the outcome is the same whatever day the suite runs.

use std::collections::BTreeSet;

use crate::common::Harness;
use gcore_reportd::clock::Clock;
use gcore_reportd::engine::Engine;

const REPORTS: &str = r#"
[[reports]]
name = "utc"
template = "ResellerExpenses"
parameters = { client_id = 1 }

[[reports]]
name = "berlin"
template = "ResellerExpenses"
parameters = { client_id = 2 }
timezone = "Europe/Berlin"
"#;

/// An RFC 3339 instant in Unix ms.
fn at(instant: &str) -> i64 {
    instant
        .parse::<jiff::Timestamp>()
        .expect("an RFC 3339 instant")
        .as_millisecond()
}

/// Every (report, first day of period) the database tracks.
async fn tracked(engine: &Engine) -> BTreeSet<(String, String)> {
    engine
        .store()
        .list_tasks(&Default::default())
        .await
        .expect("list tasks")
        .into_iter()
        .map(|t| (t.report, t.period_from))
        .collect()
}

/// Sets the clock to `instant`, runs one scheduling step, and checks that exactly `expected`
/// (report, period start) pairs were new.
async fn step_at(engine: &Engine, clock: &Clock, instant: &str, expected: &[(&str, &str)]) {
    let before = tracked(engine).await;
    clock.set(at(instant));
    engine.step(true).await.expect("a step");
    let after = tracked(engine).await;
    let new: BTreeSet<(String, String)> = after.difference(&before).cloned().collect();
    let expected: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .collect();
    assert_eq!(new, expected, "new periods at {instant}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_period_is_recorded_at_the_instant_it_falls_due_through_month_year_and_dst_ends() {
    let h = Harness::start(REPORTS).await;
    let clock = Clock::manual(at("2025-12-01T22:59:59Z"));
    let engine = h.engine_on(&clock).await;

    // A first start: the most recent due period of each (November falls due on the 2nd).
    step_at(
        &engine,
        &clock,
        "2025-12-01T22:59:59Z",
        &[("utc", "2025-10-01"), ("berlin", "2025-10-01")],
    )
    .await;
    // Midnight in Berlin (CET, UTC+1) is 23:00 UTC: November is due there, not yet in UTC.
    step_at(
        &engine,
        &clock,
        "2025-12-01T23:00:00Z",
        &[("berlin", "2025-11-01")],
    )
    .await;
    step_at(&engine, &clock, "2025-12-01T23:59:59.999Z", &[]).await;
    step_at(
        &engine,
        &clock,
        "2025-12-02T00:00:00Z",
        &[("utc", "2025-11-01")],
    )
    .await;

    // The year end: December 2025 falls due on 2 January 2026.
    step_at(&engine, &clock, "2026-01-01T22:59:59Z", &[]).await;
    step_at(
        &engine,
        &clock,
        "2026-01-01T23:00:00Z",
        &[("berlin", "2025-12-01")],
    )
    .await;
    step_at(
        &engine,
        &clock,
        "2026-01-02T00:00:00Z",
        &[("utc", "2025-12-01")],
    )
    .await;

    // Across the spring DST change (29 March 2026): Berlin's midnight of 2 April is 22:00 UTC;
    // the months skipped while the clock jumped are caught up, oldest first.
    step_at(
        &engine,
        &clock,
        "2026-04-01T21:59:59Z",
        &[
            ("utc", "2026-01-01"),
            ("utc", "2026-02-01"),
            ("berlin", "2026-01-01"),
            ("berlin", "2026-02-01"),
        ],
    )
    .await;
    step_at(
        &engine,
        &clock,
        "2026-04-01T22:00:00Z",
        &[("berlin", "2026-03-01")],
    )
    .await;
    step_at(
        &engine,
        &clock,
        "2026-04-02T00:00:00Z",
        &[("utc", "2026-03-01")],
    )
    .await;
}
