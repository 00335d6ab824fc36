//! The one place HTTP answers are classified: [`check`] maps a status code to success or an
//! [`ApiError`], reading field errors, `detail` messages and `Retry-After` along the way.

use std::time::{Duration, SystemTime};

use reqwest::{header, Response, StatusCode};

use super::error::{ApiError, Operation};

/// Longest server message quoted in an error.
const MAX_DETAIL: usize = 600;

/// Passes a successful response through; turns any other into the matching [`ApiError`].
pub async fn check(op: Operation, response: Response) -> Result<Response, ApiError> {
    let status = response.status();
    match status {
        s if s.is_success() => Ok(response),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(ApiError::Credentials {
            op,
            status: status.as_u16(),
            detail: detail(response).await,
        }),
        StatusCode::NOT_FOUND => Err(ApiError::NotFound { op }),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
            Err(unavailable(op, response))
        }
        s if s.is_server_error() => Err(unavailable(op, response)),
        _ => Err(ApiError::Rejected {
            op,
            status: status.as_u16(),
            detail: detail(response).await,
        }),
    }
}

fn unavailable(op: Operation, response: Response) -> ApiError {
    ApiError::Unavailable {
        op,
        status: response.status().as_u16(),
        retry_after: retry_after(response.headers(), SystemTime::now()),
    }
}

/// `Retry-After` as seconds or an HTTP date; a date in the past means "now".
pub fn retry_after(headers: &header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The server's explanation: DRF field errors flattened to `field: message; …`, or `detail`,
/// or the start of the body.
async fn detail(response: Response) -> String {
    let body = response.text().await.unwrap_or_default();
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
        let mut headers = header::HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        headers.insert(header::RETRY_AFTER, later.parse().expect("header"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
    }
}
