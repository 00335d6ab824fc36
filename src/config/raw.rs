//! The config file as written: serde structs that mirror the TOML tables one to one, with
//! `deny_unknown_fields` so a typo is an error rather than a silently ignored key. Nothing here
//! is validated beyond types; `validate` turns a [`RawConfig`] into a checked `Config`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub storage: RawStorage,
    #[serde(default)]
    pub polling: RawPolling,
    #[serde(default)]
    pub downloads: RawDownloads,
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub metrics: RawMetrics,
    /// `[cluster]`: several hosts on one PostgreSQL database (issue 23).
    #[serde(default)]
    pub cluster: RawCluster,
    #[serde(default)]
    pub defaults: RawReport,
    #[serde(default)]
    pub reports: Vec<RawReport>,
    /// `[destinations.NAME]`: object-storage buckets reports are delivered to (issue 22).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub destinations: std::collections::BTreeMap<String, RawDestination>,
}

/// One `[destinations.NAME]` table: `url = "s3://bucket/prefix"`, an optional S3-compatible
/// `endpoint` and `region`. Credentials are never in the file (see `config::destinations`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDestination {
    pub url: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    #[serde(default = "default_base_url")]
    pub base_url: String,
    pub api_key_file: Option<PathBuf>,
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(default = "default_rate")]
    pub max_requests_per_second: f64,
    #[serde(default = "default_auth_retry", with = "humantime_serde")]
    pub auth_retry_interval: Duration,
    #[serde(default = "default_create_settle", with = "humantime_serde")]
    pub create_settle: Duration,
    #[serde(default = "default_max_retry_after", with = "humantime_serde")]
    pub max_retry_after: Duration,
    #[serde(default = "default_clock_skew", with = "humantime_serde")]
    pub clock_skew: Duration,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStorage {
    pub database: PathBuf,
    pub output_dir: PathBuf,
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPolling {
    #[serde(with = "humantime_serde")]
    pub initial_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    pub multiplier: f64,
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    /// How long a tracked task may answer 404 before it is `lost`.
    #[serde(with = "humantime_serde")]
    pub lost_after: Duration,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDownloads {
    pub max_concurrent: usize,
    pub max_bytes: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDaemon {
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCluster {
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

impl Default for RawCluster {
    fn default() -> Self {
        RawCluster {
            lease: Duration::from_secs(90),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub listen: Option<String>,
}

/// One `[[reports]]` table; also the shape of `[defaults]`, whose keys fill in what a report
/// leaves out.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    pub name: Option<String>,
    pub template: Option<String>,
    pub format: Option<String>,
    pub period: Option<String>,
    pub date_to_style: Option<String>,
    pub schedule: Option<String>,
    pub day: Option<u8>,
    pub at: Option<String>,
    pub timezone: Option<String>,
    pub catch_up_from: Option<String>,
    pub file_name: Option<String>,
    pub max_attempts: Option<u32>,
    pub resubmit_lost: Option<bool>,
    pub parameters: Option<super::Parameters>,
    pub on_success: Option<Vec<String>>,
    pub on_failure: Option<Vec<String>>,
    pub hook_timeout: Option<String>,
    pub max_catch_up_periods: Option<u32>,
    pub verify: Option<String>,
    pub on_empty: Option<String>,
    pub refresh: Option<Vec<String>>,
    pub on_restated: Option<Vec<String>>,
    /// Fan-out: `"all"` or a list of client ids (see `config::clients`).
    pub clients: Option<super::clients::RawClients>,
    pub destinations: Option<Vec<String>>,
}

fn default_base_url() -> String {
    "https://api.gcore.com".to_string()
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_create_settle() -> Duration {
    Duration::from_secs(30)
}

fn default_clock_skew() -> Duration {
    Duration::from_secs(600)
}

fn default_auth_retry() -> Duration {
    Duration::from_secs(600)
}

fn default_rate() -> f64 {
    20.0
}

impl Default for RawApi {
    fn default() -> Self {
        RawApi {
            base_url: default_base_url(),
            api_key_file: None,
            request_timeout: default_request_timeout(),
            max_requests_per_second: default_rate(),
            auth_retry_interval: default_auth_retry(),
            create_settle: default_create_settle(),
            max_retry_after: default_max_retry_after(),
            clock_skew: default_clock_skew(),
        }
    }
}

impl Default for RawStorage {
    fn default() -> Self {
        RawStorage {
            database: PathBuf::from("/var/lib/gcore-reportd/state.db"),
            output_dir: PathBuf::from("/var/lib/gcore-reportd/reports"),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for RawPolling {
    fn default() -> Self {
        RawPolling {
            initial_interval: Duration::from_secs(10),
            max_interval: Duration::from_secs(600),
            multiplier: 2.0,
            deadline: Duration::from_secs(48 * 3600),
            lost_after: Duration::from_secs(600),
        }
    }
}

impl Default for RawDownloads {
    fn default() -> Self {
        RawDownloads {
            max_concurrent: 4,
            max_bytes: DEFAULT_MAX_DOWNLOAD,
        }
    }
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

fn default_max_retry_after() -> Duration {
    Duration::from_secs(3600)
}

/// The default `downloads.max_bytes`: 20 GiB, far above any billing report.
const DEFAULT_MAX_DOWNLOAD: u64 = 20 << 30;
