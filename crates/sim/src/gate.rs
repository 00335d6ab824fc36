//! The layer every request passes through before and after its handler: it counts the request
//! by operation and its answer by status code, logs it at debug, adds the configured delay,
//! injects the request-level faults (server errors, 429 with any Retry-After, invalid JSON,
//! empty bodies, HTML pages, dropped, trickled and endless bodies), records the exchange when
//! asked to, and checks the `Authorization: apikey <key>` header the way Django REST framework
//! would.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::broken;
use super::faults::Faults;
use super::record::Exchange;
use super::state::Shared;
use super::{record, reply};

const ERROR_STATUSES: [StatusCode; 4] = [
    StatusCode::INTERNAL_SERVER_ERROR,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
    StatusCode::GATEWAY_TIMEOUT,
];

pub(crate) async fn front(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let op = operation(&method, &path);
    let (faults, number) = shared.begin(op);
    if !faults.delay.is_zero() {
        tokio::time::sleep(faults.delay).await;
    }
    let (request, exchange) = match shared.options.record {
        false => (request, None),
        true => match record::start(request).await {
            Ok((request, exchange)) => (request, Some(exchange)),
            Err(response) => return response,
        },
    };
    let response = match early_answer(&shared, &faults, op, number, request.headers()) {
        Some(answer) => answer,
        None => next.run(request).await,
    };
    let status = response.status();
    let response = garble(&shared, &faults, op, response).await;
    let response = hamper(&faults, op, response).await;
    let dropped = shared.roll(faults.drop_rate);
    let response = match exchange {
        Some(exchange) => keep_record(&shared, exchange, response, dropped).await,
        None => response,
    };
    shared.count_status(status);
    tracing::debug!(%method, path, op, status = status.as_u16(), dropped, "simulated API request");
    if dropped {
        broken::cut_after_headers(response)
    } else {
        response
    }
}

async fn keep_record(
    shared: &Shared,
    exchange: Exchange,
    response: Response,
    dropped: bool,
) -> Response {
    let (response, exchange) = record::finish(exchange, response, dropped).await;
    shared.push_exchange(exchange);
    response
}

/// Which of the API's operations a request is for ("other" when none).
fn operation(method: &Method, path: &str) -> &'static str {
    if method == Method::GET && path == "/iam/clients" {
        return "clients";
    }
    let rest = path
        .strip_prefix("/billing/org/v1/reports")
        .unwrap_or("\u{0}");
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    match (method.as_str(), rest, segments.as_slice()) {
        ("GET", "", _) => "list",
        ("POST", "", _) => "create",
        ("GET", _, ["templates"]) => "templates",
        ("GET", _, [_]) => "retrieve",
        ("DELETE", _, [_]) => "delete",
        ("GET", _, [_, "download"]) => "download",
        _ => "other",
    }
}

/// An answer given before the handler runs: an injected error, a 429, or a 401.
fn early_answer(
    shared: &Shared,
    faults: &Faults,
    op: &str,
    number: u64,
    headers: &HeaderMap,
) -> Option<Response> {
    if shared.roll(faults.error_rate) {
        let status = ERROR_STATUSES[shared.draw(ERROR_STATUSES.len() as u64) as usize];
        return Some(broken::server_error(status));
    }
    let every = u64::from(faults.too_many_every);
    let throttled = faults.throttle_ops.iter().any(|o| o == op);
    if throttled || (every > 0 && number.is_multiple_of(every)) {
        return Some(match &faults.retry_after_header {
            Some(value) => broken::throttled_with(value),
            None => broken::throttled(faults.retry_after_secs),
        });
    }
    authenticate(headers, &shared.current_key()).err()
}

/// The faults that spoil a successful answer: an HTML page instead of a file, an empty body,
/// invalid JSON (for the API's JSON answers, not report files).
async fn garble(shared: &Shared, faults: &Faults, op: &str, response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let success = response.status().is_success();
    if op == "download" && success && shared.roll(faults.html_download_rate) {
        return broken::html_page();
    }
    if success && shared.roll(faults.empty_body_rate) {
        return broken::empty_body(response);
    }
    let eligible = op != "download" && is_json && success;
    if eligible && shared.roll(faults.invalid_json_rate) {
        broken::invalid_json(response).await
    } else {
        response
    }
}

/// The faults of a hostile server or proxy: a successful answer's body that never ends, or any
/// answer's body trickled a byte at a time.
async fn hamper(faults: &Faults, op: &str, response: Response) -> Response {
    let listed = |ops: &[String]| ops.iter().any(|o| o == op);
    if response.status().is_success() && listed(&faults.endless_ops) {
        return broken::endless(response);
    }
    if listed(&faults.trickle_ops) {
        return broken::trickle(response, faults.trickle_every).await;
    }
    response
}

/// DRF-style token authentication with the `apikey` keyword (any case), one space, the key.
fn authenticate(headers: &HeaderMap, key: &str) -> Result<(), Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "Authentication credentials were not provided.",
        ));
    };
    let Ok(text) = value.to_str() else {
        return Err(unauthorized(
            "Invalid token header. Token string should not contain invalid characters.",
        ));
    };
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("apikey") {
        return Err(unauthorized(
            "Authentication credentials were not provided.",
        ));
    }
    if token.is_empty() {
        return Err(unauthorized(
            "Invalid token header. No credentials provided.",
        ));
    }
    if token.contains(char::is_whitespace) {
        return Err(unauthorized(
            "Invalid token header. Token string should not contain spaces.",
        ));
    }
    if token != key {
        return Err(unauthorized("Invalid token."));
    }
    Ok(())
}

fn unauthorized(message: &str) -> Response {
    let mut response = reply::detail(StatusCode::UNAUTHORIZED, message);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("apikey"));
    response
}
