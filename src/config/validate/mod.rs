//! Turning a [`RawConfig`] into a [`Config`]: every value checked, `[defaults]` applied to each
//! report, and each refusal worded as "key: what is wrong, what is expected".

/// A report's value for a key: its own, else `[defaults]`'. Defined before the submodules,
/// which use it.
macro_rules! pick {
    ($report:expr, $defaults:expr, $field:ident) => {
        $report.$field.clone().or_else(|| $defaults.$field.clone())
    };
}

mod api;
pub(super) use api::is_loopback;
mod duplicates;
mod fields;
mod report;
mod unique;

use std::collections::HashSet;

use super::bounds;
use super::raw::{RawConfig, RawPolling};
use super::*;
use report::validate_report;
use unique::Seen;

/// Checks everything; the first problem found is returned.
pub fn validate(raw: RawConfig, key: ApiKey) -> Result<Config, ConfigError> {
    let api = api::validate_api(&raw.api, key)?;
    let polling = validate_polling(&raw.polling)?;
    let slots = ("downloads.max_concurrent", raw.downloads.max_concurrent);
    bounds::count(slots.0, slots.1, bounds::DOWNLOAD_SLOTS)?;
    let max_bytes = ("downloads.max_bytes", raw.downloads.max_bytes);
    bounds::count(max_bytes.0, max_bytes.1, bounds::DOWNLOAD_BYTES)?;
    let busy = ("storage.busy_timeout", raw.storage.busy_timeout);
    bounds::duration(busy.0, busy.0, busy.1)?;
    let grace = ("daemon.shutdown_timeout", raw.daemon.shutdown_timeout);
    bounds::duration(grace.0, grace.0, grace.1)?;
    let cluster = api::validate_cluster(raw.cluster.lease, &api)?;
    let metrics_listen = match &raw.metrics.listen {
        None => None,
        Some(addr) => Some(addr.parse().map_err(|_| {
            ConfigError::invalid(
                "metrics.listen",
                format!("{addr:?} is not an address: expected IP:PORT, e.g. \"127.0.0.1:9464\""),
            )
        })?),
    };
    let destinations = super::destinations::validate(&raw.destinations)?;
    let mut reports = Vec::with_capacity(raw.reports.len());
    let mut seen = Seen::with_capacity(raw.reports.len());
    let defaults = &raw.defaults;
    // Consumed one by one, so the raw and the checked reports are not both held in full.
    for (i, report) in raw.reports.into_iter().enumerate() {
        let own_destinations = report.destinations.is_some();
        let report = validate_report(i, &report, defaults)?;
        let key = match own_destinations {
            true => format!("reports[{i}].destinations"),
            false => "defaults.destinations".to_string(),
        };
        check_destination_names(&key, &report.destinations, &destinations)?;
        seen.admit(&reports, i, &report)?;
        reports.push(report);
    }
    let mut config = Config {
        api,
        storage: StorageConfig {
            database: raw.storage.database,
            output_dir: raw.storage.output_dir,
            busy_timeout: raw.storage.busy_timeout,
        },
        polling,
        downloads: DownloadsConfig {
            max_concurrent: raw.downloads.max_concurrent,
            max_bytes: raw.downloads.max_bytes,
        },
        daemon: DaemonConfig {
            shutdown_timeout: raw.daemon.shutdown_timeout,
        },
        cluster,
        metrics_listen,
        destinations,
        reports,
        by_name: Default::default(),
        warnings: Vec::new(),
    };
    config.index_reports();
    Ok(config)
}

/// The names a report's files get, apart from their dates: its `file_name` with the name,
/// template and format filled in. A report of one client names its file by its `client_id`; a
/// fan-out report's `{client_id}` differs per client, so it stays a placeholder here.
fn file_names(report: &ReportConfig) -> String {
    let files = (report.file_name)
        .replace("{name}", &report.name)
        .replace("{template}", &report.template)
        .replace("{format}", report.format.as_str());
    match (&report.clients, report.parameters.get("client_id")) {
        (None, Some(id)) => files.replace("{client_id}", &parameter_text(id)),
        _ => files,
    }
}

/// A parameter's value as a file name shows it: a string without its quotes.
fn parameter_text(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// Every destination a report names is a `[destinations.NAME]` table, named once.
fn check_destination_names(
    key: &str,
    named: &[String],
    destinations: &[DestinationConfig],
) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for name in named {
        if !destinations.iter().any(|d| &d.name == name) {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{name:?} is not a destination: add a [destinations.{name}] table or remove it"
                ),
            ));
        }
        if !seen.insert(name) {
            return Err(ConfigError::invalid(
                key,
                format!("{name:?} is named twice"),
            ));
        }
    }
    Ok(())
}

fn validate_polling(raw: &RawPolling) -> Result<PollingConfig, ConfigError> {
    for (key, value) in [
        ("polling.initial_interval", raw.initial_interval),
        ("polling.max_interval", raw.max_interval),
        ("polling.deadline", raw.deadline),
        ("polling.lost_after", raw.lost_after),
    ] {
        bounds::duration(key, key, value)?;
    }
    if raw.initial_interval.is_zero() {
        return Err(ConfigError::invalid(
            "polling.initial_interval",
            "must be longer than 0s",
        ));
    }
    if raw.max_interval < raw.initial_interval {
        return Err(ConfigError::invalid(
            "polling.max_interval",
            "must be at least polling.initial_interval",
        ));
    }
    if !(raw.multiplier >= 1.0 && raw.multiplier <= 100.0) {
        return Err(ConfigError::invalid(
            "polling.multiplier",
            "must be between 1.0 and 100.0",
        ));
    }
    if raw.deadline.is_zero() {
        return Err(ConfigError::invalid(
            "polling.deadline",
            "must be longer than 0s",
        ));
    }
    Ok(PollingConfig {
        initial_interval: raw.initial_interval,
        max_interval: raw.max_interval,
        multiplier: raw.multiplier,
        deadline: raw.deadline,
        lost_after: raw.lost_after,
    })
}
