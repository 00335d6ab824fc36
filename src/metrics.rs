//! Process-wide counters for the Prometheus endpoint: API requests by operation and status,
//! request latency histograms, bytes downloaded. The API client records into them; the engine's
//! metrics server renders them with the task counts it reads from the database.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The counters. One instance per process, from [`global`].
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    bytes_downloaded: AtomicU64,
    rejected_files: AtomicU64,
    empty_reports: AtomicU64,
    restatements: AtomicU64,
}

pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    /// One API request: its operation, HTTP status (0 when no answer came) and duration.
    pub fn record_request(&self, op: &'static str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests.entry((op, status)).or_default() += 1;
        drop(requests);
        let secs = elapsed.as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = latency.entry(op).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn add_downloaded(&self, bytes: u64) {
        self.bytes_downloaded.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A downloaded file failed its `verify` check and was not delivered.
    pub fn add_rejected(&self) {
        self.rejected_files.fetch_add(1, Ordering::Relaxed);
    }

    /// A verified report with a header and no data rows was downloaded.
    pub fn add_empty(&self) {
        self.empty_reports.fetch_add(1, Ordering::Relaxed);
    }

    /// A refresh brought a new version of a period's file.
    pub fn add_restated(&self) {
        self.restatements.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests so far, by operation (all statuses).
    pub fn requests_by_operation(&self) -> BTreeMap<&'static str, u64> {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_op = BTreeMap::new();
        for ((op, _), n) in requests.iter() {
            *by_op.entry(*op).or_default() += n;
        }
        by_op
    }

    /// The counters in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP gcore_reportd_api_requests_total API requests by operation and HTTP status (0: no answer).\n# TYPE gcore_reportd_api_requests_total counter\n");
        for ((op, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "gcore_reportd_api_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP gcore_reportd_api_request_duration_seconds API request latency.\n# TYPE gcore_reportd_api_request_duration_seconds histogram\n");
        for (op, h) in self
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "gcore_reportd_api_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "gcore_reportd_api_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(
                out,
                "gcore_reportd_api_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "gcore_reportd_api_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP gcore_reportd_downloaded_bytes_total Report bytes downloaded.\n# TYPE gcore_reportd_downloaded_bytes_total counter\n");
        let _ = writeln!(
            out,
            "gcore_reportd_downloaded_bytes_total {}",
            self.bytes_downloaded.load(Ordering::Relaxed)
        );
        out.push_str("# HELP gcore_reportd_rejected_files_total Downloaded files that failed verification and were not delivered.\n# TYPE gcore_reportd_rejected_files_total counter\n");
        let _ = writeln!(
            out,
            "gcore_reportd_rejected_files_total {}",
            self.rejected_files.load(Ordering::Relaxed)
        );
        out.push_str("# HELP gcore_reportd_empty_reports_total Verified reports downloaded with a header and no data rows.\n# TYPE gcore_reportd_empty_reports_total counter\n");
        let _ = writeln!(
            out,
            "gcore_reportd_empty_reports_total {}",
            self.empty_reports.load(Ordering::Relaxed)
        );
        out.push_str("# HELP gcore_reportd_restatements_total Refreshes that brought a new version of a period's file.\n# TYPE gcore_reportd_restatements_total counter\n");
        let _ = writeln!(
            out,
            "gcore_reportd_restatements_total {}",
            self.restatements.load(Ordering::Relaxed)
        );
    }
}
