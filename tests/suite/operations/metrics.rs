//! The Prometheus endpoint: its values after a run, read from the page it serves.

use crate::common;
use std::collections::BTreeMap;

use crate::common::{wait_for_value, Harness, TWO_REPORTS};

use super::*;

/// `series{labels} value` lines of a Prometheus text page, by series.
fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn sample(all: &BTreeMap<String, f64>, series: &str) -> f64 {
    *all.get(series)
        .unwrap_or_else(|| panic!("{series} is served: {all:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_serves_values_that_match_the_run() {
    let h = Harness::start("").await;
    h.write_config(&format!(
        "{}\n[metrics]\nlisten = \"127.0.0.1:0\"\n{TWO_REPORTS}",
        common::FAST_POLLING
    ));
    let started = common::now().as_second();
    let daemon = h.spawn(h.child(&["run"]), "daemon.log");
    let port = daemon.metrics_port().await;
    wait_for_downloads(&h, 2).await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let response = reqwest::get(&url).await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let page = response.text().await.expect("metrics body");
    let finished = common::now().as_second();
    let all = samples(&page);

    for (state, n) in [
        ("done", 2.0),
        ("polling", 0.0),
        ("failed", 0.0),
        ("intent", 0.0),
    ] {
        assert_eq!(
            sample(&all, &format!("gcore_reportd_tasks{{state=\"{state}\"}}")),
            n
        );
    }

    let sent = h.sim.request_counts();
    let answered = h.sim.status_counts();
    let mut by_op: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_status: BTreeMap<u16, f64> = BTreeMap::new();
    for (series, n) in &all {
        let Some(labels) = series.strip_prefix("gcore_reportd_api_requests_total{") else {
            continue;
        };
        let op = labels.split('"').nth(1).expect("operation").to_string();
        let status: u16 = labels
            .split('"')
            .nth(3)
            .expect("status")
            .parse()
            .expect("code");
        *by_op.entry(op).or_default() += n;
        *by_status.entry(status).or_default() += n;
    }
    eprintln!("requests by operation: daemon {by_op:?}, simulator {sent:?}");
    for (op, n) in &sent {
        assert_eq!(
            by_op.get(op).copied().unwrap_or(0.0),
            *n as f64,
            "{op} requests"
        );
    }
    assert_eq!(by_op.get("create"), Some(&2.0), "two creates");
    assert_eq!(by_op.get("download"), Some(&2.0), "two downloads");
    for (status, n) in &answered {
        assert_eq!(
            by_status.get(status).copied(),
            Some(*n as f64),
            "status {status}"
        );
    }

    for (op, n) in &by_op {
        let count = sample(
            &all,
            &format!("gcore_reportd_api_request_duration_seconds_count{{operation=\"{op}\"}}"),
        );
        assert_eq!(count, *n, "{op}: one latency sample per request");
        let inf = sample(&all, &format!("gcore_reportd_api_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}}"));
        assert_eq!(inf, *n);
        let sum = sample(
            &all,
            &format!("gcore_reportd_api_request_duration_seconds_sum{{operation=\"{op}\"}}"),
        );
        assert!(sum > 0.0 && sum < 10.0 * n, "{op} latency sum {sum}");
        let ten_seconds = sample(
            &all,
            &format!(
                "gcore_reportd_api_request_duration_seconds_bucket{{operation=\"{op}\",le=\"10\"}}"
            ),
        );
        assert_eq!(ten_seconds, *n, "every request took under 10 s");
    }

    let tasks = h.status().await;
    let bytes: u64 = tasks
        .iter()
        .map(|t| t["bytes"].as_u64().expect("bytes"))
        .sum();
    assert_eq!(
        sample(&all, "gcore_reportd_downloaded_bytes_total"),
        bytes as f64
    );
    for report in ["expenses", "plans-42"] {
        let at = sample(
            &all,
            &format!("gcore_reportd_last_success_timestamp_seconds{{report=\"{report}\"}}"),
        ) as i64;
        assert!(
            (started..=finished).contains(&at),
            "{report} succeeded during the run: {started} <= {at} <= {finished}"
        );
    }
    eprintln!("metrics page:\n{page}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periods_waiting_for_a_refused_key_are_counted_and_stay_missing() {
    let h = Harness::start("").await;
    h.write_config(&format!(
        "{}\n[metrics]\nlisten = \"127.0.0.1:0\"\n{TWO_REPORTS}",
        common::FAST_POLLING
    ));
    std::fs::write(h.path("api-key"), "7$refused-key-for-metrics\n").expect("wrong key");
    let daemon = h.spawn(h.child(&["run"]), "daemon.log");
    let port = daemon.metrics_port().await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let all = wait_for_value("two periods waiting", Duration::from_secs(30), || async {
        let page = reqwest::get(&url).await.ok()?.text().await.ok()?;
        let all = samples(&page);
        (all.get("gcore_reportd_periods_waiting_for_api") == Some(&2.0)).then_some(all)
    })
    .await;
    let since = sample(
        &all,
        "gcore_reportd_waiting_for_api_since_timestamp_seconds",
    );
    assert!(
        (since - common::now().as_second() as f64).abs() < 120.0,
        "{since}"
    );
    // Still missing: no report has a last success for the missing-report alert to clear.
    assert!(
        !all.keys()
            .any(|k| k.starts_with("gcore_reportd_last_success_timestamp_seconds")),
        "{all:#?}"
    );
}
