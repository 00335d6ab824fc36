//! `check-config`'s view of the effective configuration: every setting after `[defaults]`,
//! built-in defaults and environment overrides, as real TOML (a `Serialize` view written by
//! `toml::to_string_pretty`) in the keys and forms the config file takes, so an operator can
//! compare it with the file or load it back. The API key is only mentioned, as `[redacted]`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{Config, ReportConfig};
use crate::period::DateToStyle;
use crate::schedule::Schedule;

/// A duration as the config writes it (`"30s"`, `"2days"`).
fn dur(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[derive(Serialize)]
struct View {
    api: Api,
    storage: Storage,
    polling: Polling,
    downloads: Downloads,
    daemon: Daemon,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<Metrics>,
    reports: Vec<Report>,
}

#[derive(Serialize)]
struct Api {
    base_url: String,
    request_timeout: String,
    max_requests_per_second: f64,
    auth_retry_interval: String,
    create_settle: String,
    clock_skew: String,
    max_retry_after: String,
}

#[derive(Serialize)]
struct Storage {
    database: String,
    output_dir: String,
    busy_timeout: String,
}

#[derive(Serialize)]
struct Polling {
    initial_interval: String,
    max_interval: String,
    multiplier: f64,
    deadline: String,
    lost_after: String,
}

#[derive(Serialize)]
struct Downloads {
    max_concurrent: usize,
    max_bytes: u64,
}

#[derive(Serialize)]
struct Daemon {
    shutdown_timeout: String,
}

#[derive(Serialize)]
struct Metrics {
    listen: String,
}

#[derive(Serialize)]
struct Report {
    name: String,
    template: String,
    format: String,
    period: String,
    date_to_style: &'static str,
    schedule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    catch_up_from: Option<String>,
    file_name: String,
    max_attempts: u32,
    resubmit_lost: bool,
    hook_timeout: String,
    max_catch_up_periods: u32,
    verify: String,
    on_empty: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    refresh: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    on_success: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    on_failure: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    on_restated: Vec<String>,
    parameters: Map<String, Value>,
}

/// The whole effective configuration, as TOML.
pub fn render(config: &Config) -> String {
    let view = View {
        api: Api {
            base_url: config.api.base_url.to_string(),
            request_timeout: dur(config.api.request_timeout),
            max_requests_per_second: config.api.max_requests_per_second,
            auth_retry_interval: dur(config.api.auth_retry_interval),
            create_settle: dur(config.api.create_settle),
            clock_skew: dur(config.api.clock_skew),
            max_retry_after: dur(config.api.max_retry_after),
        },
        storage: Storage {
            database: crate::secret::redacted_path(&config.storage.database),
            output_dir: config.storage.output_dir.to_string_lossy().into_owned(),
            busy_timeout: dur(config.storage.busy_timeout),
        },
        polling: Polling {
            initial_interval: dur(config.polling.initial_interval),
            max_interval: dur(config.polling.max_interval),
            multiplier: config.polling.multiplier,
            deadline: dur(config.polling.deadline),
            lost_after: dur(config.polling.lost_after),
        },
        downloads: Downloads {
            max_concurrent: config.downloads.max_concurrent,
            max_bytes: config.downloads.max_bytes,
        },
        daemon: Daemon {
            shutdown_timeout: dur(config.daemon.shutdown_timeout),
        },
        metrics: config.metrics_listen.map(|listen| Metrics {
            listen: listen.to_string(),
        }),
        reports: config.reports.iter().map(report).collect(),
    };
    let key = format!("# the API key: {} (never shown)\n", config.api.key);
    match toml::to_string_pretty(&view) {
        Ok(text) => key + &text,
        Err(e) => format!("# the settings cannot be shown as TOML: {e}\n"),
    }
}

fn report(r: &ReportConfig) -> Report {
    let (schedule, day, at) = match &r.schedule {
        Schedule::Monthly { day, at } => ("monthly".to_string(), Some(*day), Some(at.to_string())),
        Schedule::Cron(_) => (r.schedule.to_string(), None, None),
    };
    Report {
        name: r.name.clone(),
        template: r.template.clone(),
        format: r.format.to_string(),
        period: r.period.to_string(),
        date_to_style: match r.date_to_style {
            DateToStyle::Exclusive => "exclusive",
            DateToStyle::Inclusive => "inclusive",
        },
        schedule,
        day,
        at,
        timezone: r.timezone.iana_name().unwrap_or("UTC").to_string(),
        catch_up_from: r.catch_up_from.map(|d| d.to_string()),
        file_name: r.file_name.clone(),
        max_attempts: r.max_attempts,
        resubmit_lost: r.resubmit_lost,
        hook_timeout: dur(r.hook_timeout()),
        max_catch_up_periods: r.max_catch_up_periods,
        verify: r.verify.to_string(),
        on_empty: r.on_empty.as_str(),
        refresh: r.refresh.iter().map(|d| dur(*d)).collect(),
        on_success: r.on_success().to_vec(),
        on_failure: r.on_failure().to_vec(),
        on_restated: r.on_restated().to_vec(),
        parameters: r.parameters.to_map(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_written_as_a_toml_table_that_parses_back() {
        let view = View {
            api: Api {
                base_url: "https://api.gcore.com/".into(),
                request_timeout: "30s".into(),
                max_requests_per_second: 20.0,
                auth_retry_interval: "10m".into(),
                create_settle: "30s".into(),
                clock_skew: "10m".into(),
                max_retry_after: "1h".into(),
            },
            storage: Storage {
                database: "/var/lib/x/state.db".into(),
                output_dir: "/var/lib/x/reports".into(),
                busy_timeout: "10s".into(),
            },
            polling: Polling {
                initial_interval: "10s".into(),
                max_interval: "10m".into(),
                multiplier: 2.0,
                deadline: "2days".into(),
                lost_after: "10m".into(),
            },
            downloads: Downloads {
                max_concurrent: 4,
                max_bytes: 1,
            },
            daemon: Daemon {
                shutdown_timeout: "20s".into(),
            },
            metrics: None,
            reports: Vec::new(),
        };
        let text = toml::to_string_pretty(&view).expect("toml");
        let back: toml::Table = text.parse().expect("it is TOML");
        assert_eq!(back["polling"]["lost_after"].as_str(), Some("10m"));
        let mut parameters = Map::new();
        parameters.insert("client_id".into(), 42.into());
        let table =
            toml::to_string(&serde_json::json!({ "parameters": parameters })).expect("toml");
        assert!(table.contains("client_id = 42"), "{table}");
    }
}
