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
mod shared_dir;
mod storage;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::format::ReportFormat;
use crate::period::{DateToStyle, PeriodKind};
use crate::schedule::Schedule;
use crate::secret::ApiKey;

pub use clients::Clients;
pub use database::{database, Database};
pub use destinations::{DestinationConfig, S3Credentials};
pub use load::{fan_out_names, load, report_names, storage_paths, Overrides, DEFAULT_PATH};
pub use parameters::Parameters;

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
    /// Positions in `reports` by report name (the engine looks a report up for every task it
    /// touches; there may be 10,000).
    by_name: std::collections::HashMap<String, usize>,
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

/// One configured report request, with `[defaults]` and built-in defaults applied.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub name: String,
    pub template: String,
    pub format: ReportFormat,
    pub period: PeriodKind,
    pub date_to_style: DateToStyle,
    pub schedule: Schedule,
    pub timezone: TimeZone,
    pub catch_up_from: Option<Date>,
    pub file_name: String,
    pub max_attempts: u32,
    pub resubmit_lost: bool,
    pub parameters: Parameters,
    /// Command (argv, no shell) run after the file is downloaded.
    pub on_success: Vec<String>,
    /// Command run when the task ends failed, expired or lost.
    pub on_failure: Vec<String>,
    pub hook_timeout: Duration,
    /// Without `catch_up_from`, the most periods created after the report's newest task in one
    /// pass (a longer gap warns, and its newest periods are created).
    pub max_catch_up_periods: u32,
    /// How the downloaded bytes are checked before they are delivered.
    pub verify: crate::verify::Strictness,
    /// What an empty report (a header, no data rows) leads to.
    pub on_empty: OnEmpty,
    /// Offsets after the period's first delivery at which it is requested again, ascending.
    pub refresh: Vec<Duration>,
    /// Command run when a refresh brought a file that differs from the current one.
    pub on_restated: Vec<String>,
    /// Fan-out: one task per (client, period) for these clients (`None`: one per period).
    pub clients: Option<Clients>,
    /// The `[destinations.NAME]` its files are also delivered to.
    pub destinations: Vec<String>,
}

/// A report's `on_empty` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnEmpty {
    /// Deliver it, marked empty.
    #[default]
    Deliver,
    /// Do not deliver it; the period is asked again at its next refresh.
    Refetch,
}

impl OnEmpty {
    pub fn as_str(self) -> &'static str {
        match self {
            OnEmpty::Deliver => "deliver",
            OnEmpty::Refetch => "refetch",
        }
    }
}

impl Config {
    pub fn report(&self, name: &str) -> Option<&ReportConfig> {
        self.reports.get(*self.by_name.get(name)?)
    }

    /// Builds the name index of `reports`; validation has made the names unique.
    fn index_reports(&mut self) {
        self.by_name = (self.reports.iter().enumerate())
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
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
