//! Configuration: where it comes from (the TOML file, then `GCORE_REPORTD__SECTION__KEY`
//! environment variables, then the API key from its file, `GCORE_API_KEY` or the systemd
//! credential), what it means (checked types in [`Config`]), and the errors that stop the
//! program before it touches anything (exit code 78).

mod bounds;
mod clients;
mod database;
mod destinations;
mod load;
mod parameters;
mod parse;
mod raw;
mod report;
mod shared_dir;
mod storage;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use crate::format::ReportFormat;
use crate::period::{DateToStyle, PeriodKind};
use crate::schedule::Schedule;
use crate::secret::ApiKey;

pub use clients::Clients;
pub use database::{database, Database};
pub use destinations::{DestinationConfig, S3Credentials};
pub use load::{fan_out_names, load, report_names, storage_paths, Overrides, DEFAULT_PATH};
pub use parameters::Parameters;
pub use report::{Hooks, OnEmpty, ReportConfig};

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    pub storage: StorageConfig,
    pub polling: PollingConfig,
    pub downloads: DownloadsConfig,
    pub daemon: DaemonConfig,
    pub cluster: ClusterConfig,
    /// Where the Prometheus endpoint listens, if anywhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// `[destinations.NAME]`, by name (issue 22).
    pub destinations: Vec<DestinationConfig>,
    pub reports: Vec<ReportConfig>,
    /// Positions in `reports`, sorted by report name, for a binary search (the engine looks a
    /// report up for every task it touches; there may be 10,000). Positions rather than a
    /// `HashMap` of cloned names: 40 kB at N = 10,000 instead of about 0.8 MB (a table of
    /// 16,384 slots of 32 bytes and a copy of every name).
    by_name: Box<[u32]>,
    /// Problems worth a warning but not a refusal (e.g. a key file readable by others).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub base_url: reqwest::Url,
    pub key: ApiKey,
    pub request_timeout: Duration,
    pub max_requests_per_second: f64,
    pub auth_retry_interval: Duration,
    /// After a create whose outcome is unknown, how long to wait before looking for its task
    /// on the server (a backend may commit it after the gateway in front of it gave up).
    pub create_settle: Duration,
    /// The longest a server's `Retry-After` is obeyed (longer ones are capped, with a warning).
    pub max_retry_after: Duration,
    /// How far this host's clock and Gcore's may disagree: the margin of every search of the
    /// server by creation time.
    pub clock_skew: Duration,
}

#[derive(Clone)]
pub struct StorageConfig {
    pub database: PathBuf,
    pub output_dir: PathBuf,
    /// How long a statement waits for a lock another process holds on the database.
    pub busy_timeout: Duration,
}

/// `database` is shown redacted: a PostgreSQL URL may hold a password.
impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("database", &crate::secret::redacted_path(&self.database))
            .field("output_dir", &self.output_dir)
            .field("busy_timeout", &self.busy_timeout)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct PollingConfig {
    pub initial_interval: Duration,
    pub max_interval: Duration,
    pub multiplier: f64,
    pub deadline: Duration,
    /// How long a tracked task may answer 404 (read-after-write lag) before it is `lost`.
    pub lost_after: Duration,
}

#[derive(Debug, Clone)]
pub struct DownloadsConfig {
    pub max_concurrent: usize,
    /// A download larger than this is aborted and its partial file removed.
    pub max_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub shutdown_timeout: Duration,
}

/// `[cluster]`: how hosts sharing a PostgreSQL database hold their work.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// How long a host's lease on the tasks it works on lasts without renewal: a dead host's
    /// work is taken over this long after its last heartbeat (plus a step).
    pub lease: Duration,
}

impl Config {
    /// The report of this name. Positions are read with `get`: a `reports` changed after
    /// validation makes a lookup miss, never panic.
    pub fn report(&self, name: &str) -> Option<&ReportConfig> {
        let name_at = |i: u32| self.reports.get(i as usize).map(|r| r.name.as_str());
        let found = (self.by_name)
            .binary_search_by(|&i| name_at(i).cmp(&Some(name)))
            .ok()?;
        self.reports.get(self.by_name[found] as usize)
    }

    /// Builds the name index of `reports`; validation has made the names unique (and a file
    /// of more than `u32::MAX` reports cannot be read into memory).
    fn index_reports(&mut self) {
        let mut by_name: Vec<u32> = (0..self.reports.len() as u32).collect();
        by_name.sort_unstable_by(|&a, &b| {
            (self.reports[a as usize].name).cmp(&self.reports[b as usize].name)
        });
        self.by_name = by_name.into_boxed_slice();
    }
}

/// Why a configuration was refused. Every message names the file or key and what is expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source} (set --config or GCORE_REPORTD_CONFIG)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Shape { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("cannot read API key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("api.api_key_file: no API key found: set api.api_key_file, the GCORE_API_KEY environment variable, or a systemd credential named gcore-api-key")]
    NoKey,
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}
