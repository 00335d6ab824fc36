//! Turning a [`RawConfig`] into a [`Config`]: every value checked, `[defaults]` applied to each
//! report, and each refusal worded as "key: what is wrong, what is expected".

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use super::bounds;
use super::raw::{RawApi, RawConfig, RawPolling, RawReport};
use super::*;
use crate::naming;

/// Checks everything; the first problem found is returned.
pub fn validate(raw: RawConfig, key: ApiKey) -> Result<Config, ConfigError> {
    let api = validate_api(&raw.api, key)?;
    let polling = validate_polling(&raw.polling)?;
    let slots = ("downloads.max_concurrent", raw.downloads.max_concurrent);
    bounds::count(slots.0, slots.1, bounds::DOWNLOAD_SLOTS)?;
    let max_bytes = ("downloads.max_bytes", raw.downloads.max_bytes);
    bounds::count(max_bytes.0, max_bytes.1, bounds::DOWNLOAD_BYTES)?;
    let busy = ("storage.busy_timeout", raw.storage.busy_timeout);
    bounds::duration(busy.0, busy.0, busy.1)?;
    let grace = ("daemon.shutdown_timeout", raw.daemon.shutdown_timeout);
    bounds::duration(grace.0, grace.0, grace.1)?;
    let metrics_listen = match &raw.metrics.listen {
        None => None,
        Some(addr) => Some(addr.parse().map_err(|_| {
            ConfigError::invalid(
                "metrics.listen",
                format!("{addr:?} is not an address: expected IP:PORT, e.g. \"127.0.0.1:9464\""),
            )
        })?),
    };
    let mut names = HashSet::new();
    let mut reports = Vec::with_capacity(raw.reports.len());
    let defaults = &raw.defaults;
    let mut file_names = HashSet::new();
    let mut requests = HashMap::new();
    // Consumed one by one, so the raw and the checked reports are not both held in full.
    for (i, report) in raw.reports.into_iter().enumerate() {
        let report = validate_report(i, &report, defaults)?;
        if !names.insert(report.name.clone()) {
            return Err(ConfigError::invalid(
                format!("reports[{i}].name"),
                format!(
                    "{:?} is used by two reports: names must be unique",
                    report.name
                ),
            ));
        }
        let files = report
            .file_name
            .replace("{name}", &report.name)
            .replace("{template}", &report.template)
            .replace("{format}", report.format.as_str());
        check_same_request(i, &report, &mut requests)?;
        if !file_names.insert(files) {
            return Err(ConfigError::invalid(
                format!("reports[{i}].file_name"),
                "gives the same file names as another report's: add {name} to it",
            ));
        }
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
        metrics_listen,
        reports,
        by_name: Default::default(),
        warnings: Vec::new(),
    };
    config.index_reports();
    Ok(config)
}

fn validate_api(raw: &RawApi, key: ApiKey) -> Result<ApiConfig, ConfigError> {
    let url = reqwest::Url::parse(&raw.base_url).map_err(|e| {
        ConfigError::invalid(
            "api.base_url",
            format!("{:?} is not a URL: {e}", raw.base_url),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ConfigError::invalid(
            "api.base_url",
            "http:// is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https://",
        )),
        other => {
            return Err(ConfigError::invalid(
                "api.base_url",
                format!("unsupported scheme {other:?}: expected https://"),
            ))
        }
    }
    for (key, value) in [
        ("api.request_timeout", raw.request_timeout),
        ("api.auth_retry_interval", raw.auth_retry_interval),
        ("api.create_settle", raw.create_settle),
        ("api.max_retry_after", raw.max_retry_after),
        ("api.clock_skew", raw.clock_skew),
    ] {
        bounds::duration(key, key, value)?;
    }
    bounds::rate("api.max_requests_per_second", raw.max_requests_per_second)?;
    Ok(ApiConfig {
        base_url: url,
        key,
        request_timeout: raw.request_timeout,
        max_requests_per_second: raw.max_requests_per_second,
        auth_retry_interval: raw.auth_retry_interval,
        create_settle: raw.create_settle,
        max_retry_after: raw.max_retry_after,
        clock_skew: raw.clock_skew,
    })
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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

/// A report's value for a key: its own, else `[defaults]`'.
macro_rules! pick {
    ($report:expr, $defaults:expr, $field:ident) => {
        $report.$field.clone().or_else(|| $defaults.$field.clone())
    };
}

fn validate_report(i: usize, r: &RawReport, d: &RawReport) -> Result<ReportConfig, ConfigError> {
    let key = |k: &str| format!("reports[{i}].{k}");
    let name = r
        .name
        .clone()
        .ok_or_else(|| ConfigError::invalid(key("name"), "missing: every report needs a name"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ConfigError::invalid(
            key("name"),
            format!("{name:?} is not allowed: use letters, digits, '_' and '-' only"),
        ));
    }
    let template = pick!(r, d, template)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                key("template"),
                "missing: the API's template code, e.g. \"ResellerExpenses\"",
            )
        })?;
    let format = parse_with(&key("format"), pick!(r, d, format), ReportFormat::Csv)?;
    let period = parse_with(
        &key("period"),
        pick!(r, d, period),
        PeriodKind::PreviousMonth,
    )?;
    let date_to_style = parse_date_to_style(&key("date_to_style"), pick!(r, d, date_to_style))?;
    let timezone = parse_timezone(&key("timezone"), pick!(r, d, timezone))?;
    let schedule = parse_schedule(&key, r, d)?;
    let catch_up_from = pick!(r, d, catch_up_from)
        .map(|s| parse_date(&key("catch_up_from"), &s))
        .transpose()?;
    let file_name = pick!(r, d, file_name).unwrap_or_else(|| naming::DEFAULT_TEMPLATE.to_string());
    naming::check_template(&file_name)
        .map_err(|e| ConfigError::invalid(key("file_name"), e.to_string()))?;
    if !file_name.contains("{date_from}") && !file_name.contains("{date_to}") {
        return Err(ConfigError::invalid(
            key("file_name"),
            format!("{file_name:?} names no {{date_from}} or {{date_to}}: each period's file would replace the last"),
        ));
    }
    // Month-to-date periods of one month share their first day: only date_to tells them apart.
    if period == PeriodKind::MonthToDate && !file_name.contains("{date_to}") {
        return Err(ConfigError::invalid(
            key("file_name"),
            format!("{file_name:?} cannot tell this report's periods apart: month-to-date periods of a month share {{date_from}}, so each day's file would replace the last; add {{date_to}}"),
        ));
    }
    let max_attempts = pick!(r, d, max_attempts).unwrap_or(3);
    bounds::count(&key("max_attempts"), max_attempts, bounds::ATTEMPTS)?;
    let mut parameters = d.parameters.clone().unwrap_or_default();
    parameters.extend(r.parameters.clone().unwrap_or_default());
    for reserved in ["date_from", "date_to"] {
        if parameters.contains_key(reserved) {
            return Err(ConfigError::invalid(
                key(&format!("parameters.{reserved}")),
                "is set by the daemon from the report's period: remove it",
            ));
        }
    }
    let on_success = pick!(r, d, on_success).unwrap_or_default();
    let on_failure = pick!(r, d, on_failure).unwrap_or_default();
    for (k, argv) in [("on_success", &on_success), ("on_failure", &on_failure)] {
        if argv
            .first()
            .is_some_and(|program| program.trim().is_empty())
        {
            return Err(ConfigError::invalid(
                key(k),
                "the first element must name a program",
            ));
        }
    }
    let hook_timeout = match pick!(r, d, hook_timeout) {
        None => std::time::Duration::from_secs(300),
        Some(s) => humantime::parse_duration(&s).map_err(|e| {
            ConfigError::invalid(
                key("hook_timeout"),
                format!("{s:?} is not a duration ({e}): expected e.g. \"5m\""),
            )
        })?,
    };
    bounds::duration(&key("hook_timeout"), "hook_timeout", hook_timeout)?;
    let max_catch_up_periods = pick!(r, d, max_catch_up_periods).unwrap_or(36);
    bounds::count(
        &key("max_catch_up_periods"),
        max_catch_up_periods,
        (1, 10_000),
    )?;
    let verify = parse_with(&key("verify"), pick!(r, d, verify), Default::default())?;
    let refresh = parse_refresh(&key("refresh"), pick!(r, d, refresh))?;
    let on_empty = parse_on_empty(&key("on_empty"), pick!(r, d, on_empty), &refresh)?;
    let on_restated = pick!(r, d, on_restated).unwrap_or_default();
    if on_restated.first().is_some_and(|p| p.trim().is_empty()) {
        return Err(ConfigError::invalid(
            key("on_restated"),
            "the first element must name a program",
        ));
    }
    Ok(ReportConfig {
        name,
        template,
        format,
        period,
        date_to_style,
        schedule,
        timezone,
        catch_up_from,
        file_name,
        max_attempts,
        resubmit_lost: pick!(r, d, resubmit_lost).unwrap_or(false),
        parameters,
        on_success,
        on_failure,
        hook_timeout,
        max_catch_up_periods,
        verify,
        on_empty,
        refresh,
        on_restated,
    })
}

/// `refresh = ["2d", "7d", "30d"]`: durations after the first delivery, strictly ascending.
fn parse_refresh(
    key: &str,
    value: Option<Vec<String>>,
) -> Result<Vec<std::time::Duration>, ConfigError> {
    let mut offsets = Vec::new();
    for text in value.unwrap_or_default() {
        let offset = humantime::parse_duration(&text).map_err(|e| {
            ConfigError::invalid(
                key,
                format!(
                    "{text:?} is not a duration ({e}): expected e.g. [\"2d\", \"7d\", \"30d\"]"
                ),
            )
        })?;
        if offset.is_zero() || offsets.last().is_some_and(|last| *last >= offset) {
            return Err(ConfigError::invalid(
                key,
                format!("{text:?}: offsets must be longer than 0s and strictly ascending"),
            ));
        }
        offsets.push(offset);
    }
    Ok(offsets)
}

fn parse_on_empty(
    key: &str,
    value: Option<String>,
    refresh: &[std::time::Duration],
) -> Result<OnEmpty, ConfigError> {
    match value.as_deref() {
        None | Some("deliver") => Ok(OnEmpty::Deliver),
        Some("refetch") if refresh.is_empty() => Err(ConfigError::invalid(
            key,
            "\"refetch\" asks again at the next refresh, but the report has no refresh list: set refresh = [\"2d\", ...] or on_empty = \"deliver\"",
        )),
        Some("refetch") => Ok(OnEmpty::Refetch),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("{other:?} is not a policy: expected \"deliver\" or \"refetch\""),
        )),
    }
}

fn parse_with<T: FromStr>(key: &str, value: Option<String>, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match value {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|e: T::Err| ConfigError::invalid(key, e.to_string())),
    }
}

fn parse_date_to_style(key: &str, value: Option<String>) -> Result<DateToStyle, ConfigError> {
    match value.as_deref() {
        None | Some("exclusive") => Ok(DateToStyle::Exclusive),
        Some("inclusive") => Ok(DateToStyle::Inclusive),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("{other:?} is not a style: expected \"exclusive\" or \"inclusive\""),
        )),
    }
}

fn parse_timezone(key: &str, value: Option<String>) -> Result<TimeZone, ConfigError> {
    match value {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(&name).map_err(|_| {
            ConfigError::invalid(
                key,
                format!(
                    "unknown time zone {name:?}: expected an IANA name such as \"Europe/Berlin\""
                ),
            )
        }),
    }
}

fn parse_date(key: &str, value: &str) -> Result<Date, ConfigError> {
    value.parse::<Date>().map_err(|_| {
        ConfigError::invalid(key, format!("{value:?} is not a date: expected YYYY-MM-DD"))
    })
}

fn parse_schedule(
    key: &dyn Fn(&str) -> String,
    r: &RawReport,
    d: &RawReport,
) -> Result<Schedule, ConfigError> {
    let text = pick!(r, d, schedule).unwrap_or_else(|| "monthly".to_string());
    let day = pick!(r, d, day);
    let at = pick!(r, d, at);
    if text.trim() != "monthly" {
        if day.is_some() || at.is_some() {
            return Err(ConfigError::invalid(
                key(if day.is_some() { "day" } else { "at" }),
                "applies only to schedule = \"monthly\"; a cron line carries its own time",
            ));
        }
        return text
            .parse::<Schedule>()
            .map_err(|e| ConfigError::invalid(key("schedule"), e.to_string()));
    }
    let at = match at {
        None => Time::midnight(),
        Some(s) => s.parse::<Time>().map_err(|_| {
            ConfigError::invalid(
                key("at"),
                format!("{s:?} is not a time of day: expected HH:MM"),
            )
        })?,
    };
    Schedule::monthly(day.unwrap_or(crate::schedule::DEFAULT_MONTHLY_DAY), at)
        .map_err(|e| ConfigError::invalid(key("day"), e.to_string()))
}

/// Reports already seen, by what they ask apart from the dates: (template, parameters,
/// date_to style) → (name, period kind) of each.
type Requests = HashMap<(String, String, bool), Vec<(String, PeriodKind)>>;

/// Refuses a report that makes the same request as an earlier one for some period: the
/// database tracks one task per request (a task is its request), so the second report would
/// never get its own. Two formats of one report are two reports with other parameters, or one
/// report and a hook that converts the file.
fn check_same_request(
    i: usize,
    report: &ReportConfig,
    seen: &mut Requests,
) -> Result<(), ConfigError> {
    let parameters = serde_json::Value::Object(report.parameters.clone()).to_string();
    let exclusive = report.date_to_style == DateToStyle::Exclusive;
    let key = (report.template.clone(), parameters, exclusive);
    // Nearly every request is made by one report: room for one (a default Vec grows to four,
    // 1.3 MB with 10,000 reports, at the start's peak).
    let same = seen.entry(key).or_insert_with(|| Vec::with_capacity(1));
    if let Some((other, _)) = same
        .iter()
        .find(|(_, kind)| can_coincide(*kind, report.period))
    {
        return Err(ConfigError::invalid(
            format!("reports[{i}].template"),
            format!(
                "report {:?} asks the same as report {other:?} (template, parameters and period): a task is its request, so only one of them would get it; merge them (a hook can convert the file into another format)",
                report.name
            ),
        ));
    }
    same.push((report.name.clone(), report.period));
    Ok(())
}

/// Whether two period kinds can yield the same dates (month-to-date on the 2nd is the 1st's
/// day, on the 1st the whole previous month).
fn can_coincide(a: PeriodKind, b: PeriodKind) -> bool {
    use PeriodKind::{MonthToDate, PreviousDay, PreviousMonth};
    a == b
        || matches!(
            (a, b),
            (MonthToDate, PreviousDay | PreviousMonth) | (PreviousDay | PreviousMonth, MonthToDate)
        )
}
