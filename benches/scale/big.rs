//! `big`: one 1 GiB report, the daemon's download rate beside `curl -o` of the same URL, and
//! its peak RSS; with the helpers the other download scenarios share.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gcore_reportd_sim::{self as sim, Pace, SimHandle, SimOptions};

use super::*;

pub(crate) fn rows_for(bytes: u64, params: &serde_json::Value) -> usize {
    let base = sim::report_len("ResellerExpenses", params, "csv", 0);
    let per_1000 = sim::report_len("ResellerExpenses", params, "csv", 1000) - base;
    ((bytes - base) * 1000 / per_1000) as usize
}

/// `date_from`/`date_to` of the previous month: the period `run --once` asks for.
pub(crate) fn previous_month() -> serde_json::Value {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let this_month = today.first_of_month();
    let prev = this_month
        .checked_sub(jiff::Span::new().months(1))
        .expect("date");
    serde_json::json!({"date_from": prev.to_string(), "date_to": this_month.to_string()})
}

/// A simulator whose tasks complete at once and whose reports are about `bytes` long.
pub(crate) async fn report_server(bytes: u64, pace: Option<Pace>) -> SimHandle {
    start_sim(SimOptions {
        pending_for: Duration::ZERO,
        running_for: Duration::ZERO,
        report_rows: rows_for(bytes, &previous_month()),
        pace,
        ..SimOptions::default()
    })
    .await
}

pub(crate) async fn big() {
    let rows = rows_for(1 << 30, &previous_month());
    let sim = report_server(1 << 30, None).await;
    let key = SimOptions::default().api_key;
    let dir = tempfile::tempdir_in(".").expect("temp dir on the project's disk");
    let body = "[polling]\ninitial_interval = \"100ms\"\n\n[[reports]]\nname = \"big\"\ntemplate = \"ResellerExpenses\"\n";
    let config = write_config(dir.path(), &sim, &key, body);
    let d = dir.path().to_path_buf();
    let usage = tokio::task::spawn_blocking(move || {
        run_measured(&["--config", &config, "run", "--once"], &d)
    })
    .await
    .expect("join");
    let (bytes, download_secs) = download_timing(&dir.path().join("state.db")).await;
    let uuid = sim.tasks().first().map(|t| t.uuid.clone()).expect("a task");
    let url = format!(
        "{}/billing/org/v1/reports/{uuid}/download?format=csv",
        sim.base_url()
    );
    let target = dir.path().join("curl.csv");
    let header = format!("Authorization: apikey {key}");
    let curl = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let ok = Command::new("curl")
            .args(["-sS", "-o"])
            .arg(&target)
            .args(["-H", &header, &url])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        (
            ok,
            started.elapsed(),
            std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0),
        )
    })
    .await
    .expect("join");
    let mb = bytes as f64 / 1e6;
    let daemon_rate = mb / download_secs;
    let curl_rate = curl.2 as f64 / 1e6 / curl.1.as_secs_f64();
    println!(
        "\n== One report of {:.2} GiB ({rows} rows)",
        bytes as f64 / (1u64 << 30) as f64
    );
    println!(
        "  run --once succeeded: {}, wall {:.2} s",
        usage.success,
        usage.wall.as_secs_f64()
    );
    println!("  daemon download: {download_secs:.2} s = {daemon_rate:.0} MB/s (streamed, sha256, fsync, rename)");
    println!(
        "  curl -o same URL: {:.2} s = {curl_rate:.0} MB/s (curl ok: {})",
        curl.1.as_secs_f64(),
        curl.0
    );
    println!(
        "  daemon / curl: {:.0} %  (target >= 80 %)",
        daemon_rate / curl_rate * 100.0
    );
    println!(
        "  peak RSS while downloading: {:.1} MB  (target <= 30 MB)",
        usage.max_rss_mb
    );
}

/// Bytes of the downloaded file and seconds between "downloading" and "downloaded" events.
pub(crate) async fn download_timing(db: &Path) -> (u64, f64) {
    let store = gcore_reportd::store::Store::open_existing(db)
        .await
        .expect("db");
    let task = store.find_task("1").await.expect("task 1");
    let events = store.task_events(task.id).await.expect("events");
    let at = |state: &str| {
        events
            .iter()
            .find(|e| e.state == state)
            .map(|e| e.at)
            .unwrap_or(0)
    };
    let secs = (at("done") - at("downloading")) as f64 / 1000.0;
    (task.bytes.unwrap_or(0) as u64, secs.max(0.001))
}
