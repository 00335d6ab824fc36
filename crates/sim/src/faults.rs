//! The faults a test can switch on at run time ([`Faults`]): which operations fail, how often,
//! how late, and how hostile the server is; [`super::broken`] builds the broken answers. Which
//! request gets a fault is decided by the simulator's seeded RNG, so a sequential test run is
//! repeatable.

use std::time::Duration;

/// Faults to inject; the default injects none.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Fraction of API requests answered 500/502/503/504 (HTML body for 502/503) before doing anything.
    pub error_rate: f64,
    /// Fraction of creates that create the task, then answer 500 (the client cannot know the outcome).
    pub error_after_create_rate: f64,
    /// Every create is answered 504 at once and its task appears this long afterwards: a
    /// backend that commits after the gateway in front of it gave up.
    pub late_create: Option<Duration>,
    /// With `late_create`: the fraction of creates so committed late (the others succeed).
    pub late_create_rate: f64,
    /// With `late_create`: how long the create is held open before its 504 (the gateway's
    /// timeout), so a client can be killed while it waits.
    pub hold_create: Duration,
    /// Task objects echo parameters loosely: numbers as strings, dates as midnight date-times.
    pub echo_loosely: bool,
    /// Retrieve answers 404 for a task younger than this (read-after-write lag).
    pub not_found_for: Duration,
    /// (n, times): the list request numbered n (from 0, counting every list request) and the
    /// next ones answer 503, `times` in all.
    pub fail_list_request: Option<(u32, u32)>,
    /// (n, times): `GET /iam/clients` number n (from 0) and the next answer 503, `times` in all.
    pub fail_clients_request: Option<(u32, u32)>,
    /// How far the server's clock is ahead of the host's (its tasks' `created_at`).
    pub server_clock_ahead: Duration,
    /// Every Nth request is answered 429 with Retry-After (0 = off).
    pub too_many_every: u32,
    /// Value of Retry-After on 429s.
    pub retry_after_secs: u64,
    /// Fraction of requests whose response body is cut off right after the headers.
    pub drop_rate: f64,
    /// Fraction of downloads that declare Content-Length N, send part of it, then abort.
    pub truncate_downloads_rate: f64,
    /// Fraction of successful JSON responses replaced by invalid JSON (status 200).
    pub invalid_json_rate: f64,
    /// Fraction of successful answers (JSON or file) sent as 200 with an empty body.
    pub empty_body_rate: f64,
    /// Fraction of downloads answered 200 with an HTML page (a proxy's) instead of the file.
    pub html_download_rate: f64,
    /// Fraction of task objects shown with status "Exploded" (not in the enum).
    pub unknown_status_rate: f64,
    /// Each distinct (template, parameters) fails its first N tasks.
    pub fail_first: u32,
    /// Tasks whose parameters[key] == value always end Failed.
    pub fail_when: Option<(String, serde_json::Value)>,
    /// Tasks whose parameters[key] == value stay InProgress for as long as this is set.
    pub never_finish_when: Option<(String, serde_json::Value)>,
    /// Tasks whose parameters[key] == value are listed (never retrieved) with a `status` that
    /// is a number: an item that does not decode as a task, on an otherwise good page.
    pub odd_listed_when: Option<(String, serde_json::Value)>,
    /// Task objects (listed, retrieved or created) echo their parameters without this one.
    pub echo_drops: Option<String>,
    /// Latency added to every response.
    pub delay: Duration,
    /// Every request for these operations ("create", "list", "retrieve", "download",
    /// "templates") is answered 429 with Retry-After.
    pub throttle_ops: Vec<String>,
    /// Sent verbatim as the Retry-After of every 429 instead of `retry_after_secs` (an absurd
    /// number, an HTTP date in year 9999).
    pub retry_after_header: Option<String>,
    /// Answers for these operations send their headers, then one byte per `trickle_every`.
    pub trickle_ops: Vec<String>,
    pub trickle_every: Duration,
    /// Successful answers for these operations get a chunked JSON body that never ends (the
    /// operation itself is carried out: a create creates its task).
    pub endless_ops: Vec<String>,
}
