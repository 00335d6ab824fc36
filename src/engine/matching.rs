//! Whether a remote task is the one a create made: every parameter sent is echoed with the same
//! value once both are normalised (a server may echo `"42"` for `42`, or a date as a date-time
//! at midnight), and `type`, when echoed, is the template. An echo that contradicts nothing but
//! drops a parameter or re-zones a date is neither the task nor another's: [`Echo::Partial`].
//! Parameters compared are the row's own, which the store has already checked are an object.

use serde_json::{Map, Value};

use crate::api::FileTask;

/// How far a listed task's echo agrees with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Echo {
    /// Every parameter sent is echoed with the same value: the request's task, if new.
    Full,
    /// Nothing echoed contradicts the request, but a parameter is missing (or there is no echo
    /// at all), or a date is echoed as a moment near it in another zone: it may be the
    /// request's task, or not. Never adopted, never ignored.
    Partial,
    /// A parameter (or `type`) is echoed with another value: another request's task.
    Other,
}

/// Whether `remote` echoes the request `template` + `sent`.
pub(super) fn matches_request(
    remote: &FileTask,
    template: &str,
    sent: &Map<String, Value>,
) -> bool {
    echo_of(remote.parameters.as_ref(), template, sent) == Echo::Full
}

/// How the echoed parameters `echoed` (`None`: not echoed) agree with `template` + `sent`.
pub(super) fn echo_of(
    echoed: Option<&Map<String, Value>>,
    template: &str,
    sent: &Map<String, Value>,
) -> Echo {
    let Some(echoed) = echoed else {
        return Echo::Partial;
    };
    if let Some(kind) = echoed.get("type").and_then(Value::as_str) {
        if kind != template {
            return Echo::Other;
        }
    }
    let mut echo = Echo::Full;
    for (k, v) in sent {
        match echoed.get(k) {
            Some(e) if normalised(e) == normalised(v) => {}
            Some(e) if same_date_elsewhere(v, e) => echo = Echo::Partial,
            Some(_) => return Echo::Other,
            None => echo = Echo::Partial,
        }
    }
    echo
}

/// The date `sent` echoed as a moment within 14 hours of its UTC midnight (the same midnight
/// in another zone: `2026-10-01` as `2026-09-30T21:00:00Z`).
fn same_date_elsewhere(sent: &Value, echoed: &Value) -> bool {
    let (Some(sent), Some(echoed)) = (sent.as_str(), echoed.as_str()) else {
        return false;
    };
    let Some(date) = sent.trim().get(..10).filter(|_| sent.trim().len() == 10) else {
        return false;
    };
    let Ok(date) = date.parse::<jiff::civil::Date>() else {
        return false;
    };
    let Some(at) = moment(echoed.trim()) else {
        return false;
    };
    let Ok(midnight) =
        jiff::tz::TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
    else {
        return false;
    };
    at.duration_since(midnight).abs() <= jiff::SignedDuration::from_hours(14)
}

/// A moment written with an offset, or a naive date-time read as UTC.
fn moment(s: &str) -> Option<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    let civil = s.parse::<jiff::civil::DateTime>().ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

/// A value in the form two echoes of the same request agree on: numbers and numeric strings as
/// canonical number text, dates and midnight date-times as the date, other strings trimmed;
/// arrays and objects element by element.
pub(super) fn normalised(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(number_text(&n.to_string())),
        Value::String(s) => Value::String(normalised_text(s.trim())),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalised(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn normalised_text(s: &str) -> String {
    if s.parse::<f64>().is_ok_and(f64::is_finite) && !s.is_empty() && looks_numeric(s) {
        return number_text(s);
    }
    midnight_date(s).unwrap_or_else(|| s.to_string())
}

/// Only plain decimal numbers count (not "inf", "1e5" stays as the server wrote it).
fn looks_numeric(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `42`, `42.0` and `042` alike: integers without leading zeros, decimals without trailing ones.
fn number_text(s: &str) -> String {
    if let Ok(i) = s.parse::<i128>() {
        return i.to_string();
    }
    match s.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Ok(f) => f.to_string(),
        Err(_) => s.to_string(),
    }
}

/// `2026-10-01`, `2026-10-01T00:00:00Z`, `2026-10-01 00:00:00`, `2026-10-01T00:00:00+00:00`:
/// the date. A date-time at another hour is not a date and stays as written.
fn midnight_date(s: &str) -> Option<String> {
    let date = s.get(..10)?;
    date.parse::<jiff::civil::Date>().ok()?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(date.to_string());
    }
    let time = rest.strip_prefix(['T', ' '])?;
    let time = time
        .trim_end_matches('Z')
        .trim_end_matches("+00:00")
        .trim_end_matches(".000000")
        .trim_end_matches(".000");
    matches!(time, "00:00" | "00:00:00").then(|| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_number_echoed_as_a_string_is_the_same_value() {
        assert_eq!(normalised(&json!(42)), normalised(&json!("42")));
        assert_eq!(normalised(&json!(42)), normalised(&json!("42.0")));
        assert_ne!(normalised(&json!(42)), normalised(&json!("43")));
    }

    #[test]
    fn a_date_echoed_as_midnight_is_the_same_date_but_another_hour_is_not() {
        for echoed in [
            "2026-10-01T00:00:00Z",
            "2026-10-01 00:00:00",
            "2026-10-01T00:00:00+00:00",
        ] {
            assert_eq!(
                normalised(&json!("2026-10-01")),
                normalised(&json!(echoed)),
                "{echoed}"
            );
        }
        assert_ne!(
            normalised(&json!("2026-10-01")),
            normalised(&json!("2026-10-01T06:00:00Z"))
        );
    }

    #[test]
    fn an_echo_that_drops_or_re_zones_a_parameter_is_partial_and_one_that_differs_is_other() {
        let sent = json!({"date_from": "2026-10-01", "client_id": 42});
        let sent = sent.as_object().expect("object");
        let echo = |v: serde_json::Value| echo_of(v.as_object(), "T", sent);
        assert_eq!(
            echo(json!({"date_from": "2026-10-01", "client_id": "42"})),
            Echo::Full
        );
        assert_eq!(echo(json!({"date_from": "2026-10-01"})), Echo::Partial);
        assert_eq!(
            echo(json!({"date_from": "2026-09-30T21:00:00Z", "client_id": 42})),
            Echo::Partial
        );
        assert_eq!(
            echo(json!({"date_from": "2026-10-01T00:00:00+03:00", "client_id": 42})),
            Echo::Partial
        );
        assert_eq!(echo_of(None, "T", sent), Echo::Partial);
        assert_eq!(
            echo(json!({"date_from": "2026-10-01", "client_id": 43})),
            Echo::Other
        );
        assert_eq!(
            echo(json!({"date_from": "2026-11-01", "client_id": 42})),
            Echo::Other
        );
        assert_eq!(
            echo(json!({"type": "U", "date_from": "2026-10-01", "client_id": 42})),
            Echo::Other
        );
    }

    #[test]
    fn ordinary_strings_are_compared_as_written() {
        assert_ne!(normalised(&json!("abc")), normalised(&json!("ABC")));
        assert_eq!(normalised(&json!(" abc ")), normalised(&json!("abc")));
    }
}
