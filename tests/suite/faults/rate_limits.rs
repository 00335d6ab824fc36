//! 429 every third request with `Retry-After`, never undercut (also with several tasks in
//! flight), and the request budget capping the rate however many tasks are due.

use super::{
    assert_done_rows_have_the_served_bytes, four_periods, periods_in_three_formats, sim_options,
    ONE_REPORT, RUN_LIMIT,
};
use crate::common::{assert_no_request_has_two_live_remote_tasks, stderr, Harness};
use gcore_reportd_sim::{Faults, SimOptions};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_429_with_retry_after_no_request_arrives_before_it_has_passed() {
    // A slow task, so that several of its polls fall on every third request.
    let options = SimOptions {
        record: true,
        pending_for: Duration::from_millis(1500),
        running_for: Duration::from_millis(1000),
        ..sim_options(3)
    };
    let h = Harness::with_options(options, ONE_REPORT).await;
    h.sim.set_faults(Faults {
        too_many_every: 3,
        retry_after_secs: 1,
        ..Faults::default()
    });
    // Watch arrivals (counted as a request comes in) and 429s (counted as it is answered).
    let (out, seen) = watch_counters(&h, h.command(&["run", "--once"]).output()).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let exchanges = h.sim.exchanges();
    let throttled: Vec<_> = exchanges.iter().filter(|e| e.status == 429).collect();
    assert!(
        throttled.len() >= 2,
        "several requests were throttled: {} of {}",
        throttled.len(),
        exchanges.len()
    );
    for e in &throttled {
        let retry_after = e
            .response_headers
            .iter()
            .find(|(n, _)| n == "retry-after")
            .map(|(_, v)| v.as_str());
        assert_eq!(retry_after, Some("1"), "{e:?}");
    }
    // Requests are sequential (one task), so exchange k is request k+1. For each 429, the
    // next request must arrive at least Retry-After after the 429 went out (observation lag
    // is a few ms; a request arriving in the same observation would show as a zero gap).
    let first_seen =
        |pred: &dyn Fn(&(Instant, u64, u64)) -> bool| seen.iter().find(|s| pred(s)).map(|s| s.0);
    let mut gaps = Vec::new();
    let mut throttled_so_far = 0;
    for (k, e) in exchanges.iter().enumerate() {
        if e.status != 429 {
            continue;
        }
        throttled_so_far += 1;
        let answered = first_seen(&|s| s.2 >= throttled_so_far).expect("429 observed");
        let next_request = k as u64 + 2;
        if let Some(arrived) = first_seen(&|s| s.1 >= next_request) {
            gaps.push(arrived.saturating_duration_since(answered));
        }
    }
    assert!(!gaps.is_empty(), "observed the 429s: {seen:?}");
    let shortest = gaps.iter().min().copied().unwrap_or_default();
    eprintln!(
        "429s: {}, requests: {}, shortest wait after a 429: {shortest:.3?}",
        throttled.len(),
        exchanges.len()
    );
    assert!(
        shortest >= Duration::from_millis(970),
        "a request arrived {shortest:?} after a 429 with Retry-After: 1 ({gaps:?})"
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "429", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "429");
}

/// Watches the simulator's counters every millisecond while `run` runs: (when, requests
/// arrived, 429s answered) at each change.
async fn watch_counters<F>(h: &Harness, run: F) -> (std::process::Output, Vec<(Instant, u64, u64)>)
where
    F: std::future::Future<Output = std::io::Result<std::process::Output>>,
{
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut seen: Vec<(Instant, u64, u64)> = Vec::new();
    let counts = || {
        let requests: u64 = h.sim.request_counts().values().sum();
        let throttled = h.sim.status_counts().get(&429).copied().unwrap_or(0);
        (requests, throttled)
    };
    let run = async {
        let out = tokio::time::timeout(RUN_LIMIT, run).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        out.expect("the run finished in time").expect("spawn")
    };
    let watch = async {
        let mut last = (0, 0);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let now = counts();
            if now != last {
                seen.push((Instant::now(), now.0, now.1));
                last = now;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let (out, ()) = tokio::join!(run, watch);
    (out, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_tasks_in_flight_no_request_is_sent_after_a_429_until_retry_after_has_passed()
{
    let options = SimOptions {
        pending_for: Duration::from_millis(1200),
        running_for: Duration::from_millis(800),
        ..sim_options(23)
    };
    let h = Harness::with_options(options, &four_periods()).await;
    h.sim.set_faults(Faults {
        too_many_every: 3,
        retry_after_secs: 1,
        ..Faults::default()
    });
    // 20 requests a second: requests queue behind the budget, 50 ms apart.
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env("GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND", "20");
    let (out, seen) = watch_counters(&h, cmd.output()).await;
    assert!(out.status.success(), "{}", stderr(&out));

    // A request that arrives within a few ms of a 429 was sent before the daemon could have
    // read it; anything later and before Retry-After has passed undercuts it.
    let in_flight = Duration::from_millis(15);
    let retry_after = Duration::from_millis(1000 - 20);
    let mut violations = Vec::new();
    let mut throttled = 0;
    for (i, (at, _, count)) in seen.iter().enumerate() {
        let previous = if i == 0 { 0 } else { seen[i - 1].2 };
        if *count <= previous {
            continue;
        }
        throttled += count - previous;
        let arrived_before = seen[i].1;
        for (later, requests, _) in &seen[i + 1..] {
            let gap = later.duration_since(*at);
            if gap >= retry_after {
                break;
            }
            if *requests > arrived_before && gap > in_flight {
                violations.push(gap);
                break;
            }
        }
    }
    assert!(throttled >= 3, "several 429s: {throttled}");
    assert!(
        violations.is_empty(),
        "requests arrived this long after a 429 with Retry-After: 1: {violations:?}"
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "429 with queued requests", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "429 with queued requests");
    eprintln!("concurrent 429s: {throttled}, none undercut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn however_many_tasks_are_due_the_request_budget_caps_the_rate() {
    let h = Harness::with_options(sim_options(29), &periods_in_three_formats(10)).await;
    h.sim.set_faults(Faults {
        error_rate: 0.2,
        ..Faults::default()
    });
    let per_second = 10;
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env(
        "GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND",
        per_second.to_string(),
    );
    let started = Instant::now();
    let (out, seen) = watch_counters(&h, cmd.output()).await;
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut arrivals = Vec::new();
    let mut last = 0;
    for (at, requests, _) in &seen {
        arrivals.extend(std::iter::repeat_n(*at, (requests - last) as usize));
        last = *requests;
    }
    let busiest = arrivals
        .iter()
        .map(|from| {
            arrivals
                .iter()
                .filter(|t| **t >= *from && t.duration_since(*from) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    // One extra for the observation lag at the window's edges.
    assert!(
        busiest <= per_second + 1,
        "{busiest} requests within one second, budget {per_second}/s"
    );
    assert!(
        arrivals.len() > 2 * per_second,
        "enough requests to tell: {}",
        arrivals.len()
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "budget", &[]);
    eprintln!(
        "request budget: {} requests in {elapsed:.2?}, at most {busiest} in any second (budget {per_second}/s)",
        arrivals.len()
    );
}
