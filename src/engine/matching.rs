//! Whether a remote task is the one a create made: every parameter sent is echoed with the same
//! value once both are normalised (a server may echo `"42"` for `42`, or a date as a date-time
//! at midnight), and `type`, when echoed, is the template. Parameters compared are the row's
//! own, which the store has already checked are an object.

use serde_json::{Map, Value};

use crate::api::FileTask;

/// Whether `remote` echoes the request `template` + `sent`.
pub(super) fn matches_request(
    remote: &FileTask,
    template: &str,
    sent: &Map<String, Value>,
) -> bool {
    let Some(echoed) = &remote.parameters else {
        return false;
    };
    if let Some(kind) = echoed.get("type").and_then(Value::as_str) {
        if kind != template {
            return false;
        }
    }
    sent.iter().all(|(k, v)| {
        echoed
            .get(k)
            .is_some_and(|e| normalised(e) == normalised(v))
    })
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
    fn ordinary_strings_are_compared_as_written() {
        assert_ne!(normalised(&json!("abc")), normalised(&json!("ABC")));
        assert_eq!(normalised(&json!(" abc ")), normalised(&json!("abc")));
    }
}
