//! Process-wide counters for the Prometheus endpoint: API requests by operation and status,
//! request latency histograms, bytes downloaded, rejected, empty and restated reports. They are
//! prometheus-client metrics: the API client and the engine record into them, and the engine's
//! metrics server registers them, beside the task figures it reads from the database, in the
//! registry it encodes for each scrape.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the request latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    /// The HTTP status, 0 when no answer came.
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

type LatencyFamily = Family<OperationLabel, Histogram, fn() -> Histogram>;

/// The counters. One instance per process, from [`global`].
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    bytes_downloaded: Counter,
    rejected_files: Counter,
    empty_reports: Counter,
    restatements: Counter,
    odd_listed: Counter,
}

pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            bytes_downloaded: Counter::default(),
            rejected_files: Counter::default(),
            empty_reports: Counter::default(),
            restatements: Counter::default(),
            odd_listed: Counter::default(),
        }
    }

    /// One API request: its operation, HTTP status (0 when no answer came) and duration.
    pub fn record_request(&self, operation: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { operation, status })
            .inc();
        self.latency
            .get_or_create(&OperationLabel { operation })
            .observe(elapsed.as_secs_f64());
    }

    pub fn add_downloaded(&self, bytes: u64) {
        self.bytes_downloaded.inc_by(bytes);
    }

    /// A downloaded file failed its `verify` check and was not delivered.
    pub fn add_rejected(&self) {
        self.rejected_files.inc();
    }

    /// A verified report with a header and no data rows was downloaded.
    pub fn add_empty(&self) {
        self.empty_reports.inc();
    }

    /// A refresh brought a new version of a period's file.
    pub fn add_restated(&self) {
        self.restatements.inc();
    }

    /// A listed task that does not decode was skipped by a scan.
    pub fn add_odd_listed(&self) {
        self.odd_listed.inc();
    }

    /// Adds the counters to `registry` (prefixed by it); they share their values with these.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "api_requests",
            "API requests by operation and HTTP status (0: no answer)",
            self.requests.clone(),
        );
        registry.register(
            "api_request_duration_seconds",
            "API request latency (to the response headers)",
            self.latency.clone(),
        );
        registry.register(
            "downloaded_bytes",
            "Report bytes downloaded",
            self.bytes_downloaded.clone(),
        );
        registry.register(
            "rejected_files",
            "Downloaded files that failed verification and were not delivered",
            self.rejected_files.clone(),
        );
        registry.register(
            "empty_reports",
            "Verified reports downloaded with a header and no data rows",
            self.empty_reports.clone(),
        );
        registry.register(
            "restatements",
            "Refreshes that brought a new version of a period's file",
            self.restatements.clone(),
        );
        registry.register(
            "undecodable_list_items",
            "Listed tasks that did not decode and were skipped by a scan",
            self.odd_listed.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    #[test]
    fn a_request_counts_once_and_lands_in_every_bucket_above_its_duration() {
        let metrics = Metrics::new();
        metrics.record_request("create", 201, Duration::from_millis(30));
        metrics.add_downloaded(10);
        metrics.add_downloaded(5);
        let mut registry = Registry::with_prefix("gcore_reportd");
        metrics.register(&mut registry);
        let mut page = String::new();
        encode(&mut page, &registry).expect("encode");
        let has = |line: &str| page.lines().any(|l| l == line);
        assert!(has(
            "gcore_reportd_api_requests_total{operation=\"create\",status=\"201\"} 1"
        ));
        assert!(has("gcore_reportd_api_request_duration_seconds_bucket{operation=\"create\",le=\"0.025\"} 0"));
        assert!(has(
            "gcore_reportd_api_request_duration_seconds_bucket{operation=\"create\",le=\"0.05\"} 1"
        ));
        assert!(has(
            "gcore_reportd_api_request_duration_seconds_bucket{operation=\"create\",le=\"+Inf\"} 1"
        ));
        assert!(has("gcore_reportd_downloaded_bytes_total 15"), "{page}");
    }
}
