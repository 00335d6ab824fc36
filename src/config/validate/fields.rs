//! Parsing one report key's text into its typed value (schedule, time zone, dates, durations,
//! enums), each refusal naming the key and what is expected.

use std::str::FromStr;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::config::raw::RawReport;
use crate::config::*;

/// `refresh = ["2d", "7d", "30d"]`: durations after the first delivery, strictly ascending.
pub(super) fn parse_refresh(
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

pub(super) fn parse_on_empty(
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

pub(super) fn parse_with<T: FromStr>(
    key: &str,
    value: Option<String>,
    default: T,
) -> Result<T, ConfigError>
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

pub(super) fn parse_date_to_style(
    key: &str,
    value: Option<String>,
) -> Result<DateToStyle, ConfigError> {
    match value.as_deref() {
        None | Some("exclusive") => Ok(DateToStyle::Exclusive),
        Some("inclusive") => Ok(DateToStyle::Inclusive),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("{other:?} is not a style: expected \"exclusive\" or \"inclusive\""),
        )),
    }
}

pub(super) fn parse_timezone(key: &str, value: Option<String>) -> Result<TimeZone, ConfigError> {
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

pub(super) fn parse_date(key: &str, value: &str) -> Result<Date, ConfigError> {
    value.parse::<Date>().map_err(|_| {
        ConfigError::invalid(key, format!("{value:?} is not a date: expected YYYY-MM-DD"))
    })
}

pub(super) fn parse_schedule(
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
