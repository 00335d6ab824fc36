//! The one place HTTP answers are classified: [`check`] maps a status code to success or an
//! [`ApiError`], reading field errors, `detail` messages and `Retry-After` along the way.
//! Nothing a server sends can make it panic or wait without end: a `Retry-After` is capped at
//! `api.max_retry_after` (with a warning) and an error body is read up to a small cap.

use std::time::{Duration, SystemTime};

use reqwest::{header, Response};

use super::body;
use super::error::{ApiError, Operation};

/// Longest server message quoted in an error.
const MAX_DETAIL: usize = 600;
/// The most of an error body read to find its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What an answer's status means, before any body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    Credentials,
    NotFound,
    /// Worth retrying; a `Retry-After` applies.
    Unavailable,
    Rejected,
}

/// Sorts a status code (any `u16`, even one no standard names) into its [`StatusClass`].
pub fn classify(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        401 | 403 => StatusClass::Credentials,
        404 => StatusClass::NotFound,
        408 | 429 | 500..=599 => StatusClass::Unavailable,
        _ => StatusClass::Rejected,
    }
}

/// Passes a successful response through; turns any other into the matching [`ApiError`].
/// `max_wait` caps the server's `Retry-After`.
pub async fn check(
    op: Operation,
    response: Response,
    max_wait: Duration,
) -> Result<Response, ApiError> {
    let status = response.status().as_u16();
    match classify(status) {
        StatusClass::Success => Ok(response),
        StatusClass::Credentials => Err(ApiError::Credentials {
            op,
            status,
            detail: detail(op, response).await,
        }),
        StatusClass::NotFound => Err(ApiError::NotFound { op }),
        StatusClass::Unavailable => Err(ApiError::Unavailable {
            op,
            status,
            retry_after: retry_after(op, response.headers(), SystemTime::now(), max_wait),
        }),
        StatusClass::Rejected => Err(ApiError::Rejected {
            op,
            status,
            detail: detail(op, response).await,
        }),
    }
}

/// The header's `Retry-After`, capped at `max_wait` with a warning (see [`parse_retry_after`]).
pub fn retry_after(
    op: Operation,
    headers: &header::HeaderMap,
    now: SystemTime,
    max_wait: Duration,
) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    let (wait, capped) = parse_retry_after(value, now, max_wait)?;
    if capped {
        tracing::warn!(%op, retry_after = value, capped_at = %humantime::format_duration(max_wait),
            "the API asked to wait longer than api.max_retry_after: waiting that long instead");
    }
    Some(wait)
}

/// `Retry-After` as seconds or an HTTP date (a date in the past means "now"), and whether it
/// was cut to `max_wait`. Digits too many for any integer are an absurdly long wait: capped.
/// Anything else (a negative or fractional number, garbage) is ignored: `None`.
pub fn parse_retry_after(
    value: &str,
    now: SystemTime,
    max_wait: Duration,
) -> Option<(Duration, bool)> {
    let value = value.trim();
    let asked = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse::<u64>().ok().map(Duration::from_secs)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        Some(when.duration_since(now).unwrap_or(Duration::ZERO))
    };
    match asked {
        Some(wait) if wait <= max_wait => Some((wait, false)),
        _ => Some((max_wait, true)),
    }
}

/// The server's explanation: DRF field errors flattened to `field: message; …`, or `detail`,
/// or the start of the body.
async fn detail(op: Operation, response: Response) -> String {
    let bytes = body::read_prefix(op, response, MAX_ERROR_BODY).await;
    let body = String::from_utf8_lossy(&bytes);
    let text = match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(json) => flatten("", &json).join("; "),
        Err(_) => body.trim().to_string(),
    };
    if text.is_empty() {
        "no details given".to_string()
    } else {
        text
    }
}

/// Shortens a server message to [`MAX_DETAIL`] bytes. Called only after the key has been
/// scrubbed from it: a cut through a quoted key would leave a piece no scrub could find.
pub fn cap(mut text: String) -> String {
    if text.len() > MAX_DETAIL {
        let cut = (0..=MAX_DETAIL)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn flatten(prefix: &str, value: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let key = match (prefix, k.as_str()) {
                    (_, "detail" | "non_field_errors" | "error" | "message")
                        if prefix.is_empty() =>
                    {
                        String::new()
                    }
                    ("", k) => k.to_string(),
                    (p, k) => format!("{p}.{k}"),
                };
                flatten(&key, v)
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(|v| flatten(prefix, v)).collect(),
        Value::String(s) if prefix.is_empty() => vec![s.clone()],
        Value::String(s) => vec![format!("{prefix}: {s}")],
        other if prefix.is_empty() => vec![other.to_string()],
        other => vec![format!("{prefix}: {other}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_are_flattened_with_their_paths() {
        let body = serde_json::json!({"parameters": {"date_from": ["This field is required."]}, "template_code": ["Unknown."]});
        let lines = flatten("", &body);
        assert_eq!(
            lines,
            vec![
                "parameters.date_from: This field is required.",
                "template_code: Unknown."
            ]
        );
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let cap = Duration::from_secs(3600);
        let mut headers = header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().expect("header"));
        let op = Operation::Create;
        assert_eq!(
            retry_after(op, &headers, now, cap),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        headers.insert(header::RETRY_AFTER, later.parse().expect("header"));
        assert_eq!(
            retry_after(op, &headers, now, cap),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn absurd_retry_after_values_are_capped_and_garbage_is_ignored() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let cap = Duration::from_secs(3600);
        for absurd in [
            "18446744073709551615",
            "99999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(absurd, now, cap),
                Some((cap, true)),
                "{absurd}"
            );
        }
        for garbage in ["", "-5", "1.5", "soon", "Fri, 31 Dec 99999 23:59:59 GMT"] {
            assert_eq!(parse_retry_after(garbage, now, cap), None, "{garbage:?}");
        }
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&past, now, cap),
            Some((Duration::ZERO, false))
        );
    }

    #[test]
    fn every_status_code_has_a_class() {
        assert_eq!(classify(200), StatusClass::Success);
        assert_eq!(classify(403), StatusClass::Credentials);
        assert_eq!(classify(429), StatusClass::Unavailable);
        assert_eq!(classify(599), StatusClass::Unavailable);
        assert_eq!(classify(418), StatusClass::Rejected);
        assert_eq!(classify(0), StatusClass::Rejected);
        assert_eq!(classify(u16::MAX), StatusClass::Rejected);
    }
}
