//! The faults a test can switch on at run time ([`Faults`]) and the ways the simulator breaks a
//! response: server errors with the bodies real proxies send, a body cut off after the headers,
//! a download cut short of its Content-Length, JSON that does not parse, and a hostile
//! server's: absurd `Retry-After` values, a body trickled a byte at a time, a JSON body that
//! never ends. Which request gets a fault is decided by the simulator's seeded RNG, so a
//! sequential test run is repeatable.

use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::reply;

/// Faults to inject; the default injects none.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Fraction of API requests answered 500/502/503/504 (HTML body for 502/503) before doing anything.
    pub error_rate: f64,
    /// Fraction of creates that create the task, then answer 500 (the client cannot know the outcome).
    pub error_after_create_rate: f64,
    /// Every create is answered 504 at once and its task appears this long afterwards: a
    /// backend that commits after the gateway in front of it gave up.
    pub late_create: Option<Duration>,
    /// With `late_create`: the fraction of creates so committed late (the others succeed).
    pub late_create_rate: f64,
    /// With `late_create`: how long the create is held open before its 504 (the gateway's
    /// timeout), so a client can be killed while it waits.
    pub hold_create: Duration,
    /// Task objects echo parameters loosely: numbers as strings, dates as midnight date-times.
    pub echo_loosely: bool,
    /// Retrieve answers 404 for a task younger than this (read-after-write lag).
    pub not_found_for: Duration,
    /// (n, times): the list request numbered n (from 0, counting every list request) and the
    /// next ones answer 503, `times` in all.
    pub fail_list_request: Option<(u32, u32)>,
    /// (n, times): `GET /iam/clients` number n (from 0) and the next answer 503, `times` in all.
    pub fail_clients_request: Option<(u32, u32)>,
    /// How far the server's clock is ahead of the host's (its tasks' `created_at`).
    pub server_clock_ahead: Duration,
    /// Every Nth request is answered 429 with Retry-After (0 = off).
    pub too_many_every: u32,
    /// Value of Retry-After on 429s.
    pub retry_after_secs: u64,
    /// Fraction of requests whose response body is cut off right after the headers.
    pub drop_rate: f64,
    /// Fraction of downloads that declare Content-Length N, send part of it, then abort.
    pub truncate_downloads_rate: f64,
    /// Fraction of successful JSON responses replaced by invalid JSON (status 200).
    pub invalid_json_rate: f64,
    /// Fraction of successful answers (JSON or file) sent as 200 with an empty body.
    pub empty_body_rate: f64,
    /// Fraction of downloads answered 200 with an HTML page (a proxy's) instead of the file.
    pub html_download_rate: f64,
    /// Fraction of task objects shown with status "Exploded" (not in the enum).
    pub unknown_status_rate: f64,
    /// Each distinct (template, parameters) fails its first N tasks.
    pub fail_first: u32,
    /// Tasks whose parameters[key] == value always end Failed.
    pub fail_when: Option<(String, serde_json::Value)>,
    /// Tasks whose parameters[key] == value stay InProgress for as long as this is set.
    pub never_finish_when: Option<(String, serde_json::Value)>,
    /// Tasks whose parameters[key] == value are listed (never retrieved) with a `status` that
    /// is a number: an item that does not decode as a task, on an otherwise good page.
    pub odd_listed_when: Option<(String, serde_json::Value)>,
    /// Task objects (listed, retrieved or created) echo their parameters without this one.
    pub echo_drops: Option<String>,
    /// Latency added to every response.
    pub delay: Duration,
    /// Every request for these operations ("create", "list", "retrieve", "download",
    /// "templates") is answered 429 with Retry-After.
    pub throttle_ops: Vec<String>,
    /// Sent verbatim as the Retry-After of every 429 instead of `retry_after_secs` (an absurd
    /// number, an HTTP date in year 9999).
    pub retry_after_header: Option<String>,
    /// Answers for these operations send their headers, then one byte per `trickle_every`.
    pub trickle_ops: Vec<String>,
    pub trickle_every: Duration,
    /// Successful answers for these operations get a chunked JSON body that never ends (the
    /// operation itself is carried out: a create creates its task).
    pub endless_ops: Vec<String>,
}

/// How long a sabotaged body waits before failing, so the bytes before it are flushed first.
const ABORT_AFTER: Duration = Duration::from_millis(20);

/// The answer to an injected server error, with the body each kind of server would send.
pub(crate) fn server_error(status: StatusCode) -> Response {
    match status {
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE => {
            let reason = status.canonical_reason().unwrap_or("Error");
            let code = status.as_u16();
            let html = format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            (status, [(header::CONTENT_TYPE, "text/html")], html).into_response()
        }
        StatusCode::GATEWAY_TIMEOUT => reply::detail(status, "Gateway Timeout"),
        _ => reply::detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A server error occurred.",
        ),
    }
}

/// 429 as Django REST framework's throttling sends it.
pub(crate) fn throttled(retry_after_secs: u64) -> Response {
    let unit = if retry_after_secs == 1 {
        "second"
    } else {
        "seconds"
    };
    let message =
        format!("Request was throttled. Expected available in {retry_after_secs} {unit}.");
    let mut response = reply::detail(StatusCode::TOO_MANY_REQUESTS, &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// A 429 whose Retry-After is `value`, verbatim (what no well-behaved server would send).
pub(crate) fn throttled_with(value: &str) -> Response {
    let mut response = throttled(1);
    match HeaderValue::from_str(value) {
        Ok(v) => response.headers_mut().insert(header::RETRY_AFTER, v),
        Err(_) => response.headers_mut().remove(header::RETRY_AFTER),
    };
    response
}

/// The same answer, its body sent one byte per `every` after the headers (a server or proxy
/// that trickles).
pub(crate) async fn trickle(response: Response, every: Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let drip = futures_util::stream::unfold(0usize, move |at| {
        let bytes = bytes.clone();
        async move {
            if at >= bytes.len() {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<_, std::io::Error>(bytes.slice(at..at + 1)), at + 1))
        }
    });
    Response::from_parts(parts, Body::from_stream(drip))
}

/// The same status and content type, with a chunked JSON body that never ends: an opening
/// brace, then padding objects for ever.
pub(crate) fn endless(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let pad = Bytes::from(format!("{{\"pad\":\"{}\"}},", "x".repeat(64 * 1024)));
    let head = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(Bytes::from_static(b"{\"count\":1,\"results\":["))
    });
    let tail = futures_util::stream::repeat_with(move || Ok(pad.clone()));
    Response::from_parts(parts, Body::from_stream(head.chain(tail)))
}

/// Keeps the status and headers (with the Content-Length they promised) but fails the body
/// before its first byte: the client gets the headers, then a connection error.
pub(crate) fn cut_after_headers(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(len) = body.size_hint().exact() {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let failing = futures_util::stream::once(abort::<Bytes>("simulated connection drop"));
    Response::from_parts(parts, Body::from_stream(failing))
}

/// The first `keep` bytes of `stream`, then an error that aborts the connection.
pub(crate) fn truncate<S>(
    stream: S,
    keep: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let head = stream
        .scan(keep, |left, chunk| {
            let out = match chunk {
                Ok(_) if *left == 0 => None,
                Ok(mut bytes) => {
                    bytes.truncate((*left).min(bytes.len() as u64) as usize);
                    *left -= bytes.len() as u64;
                    Some(Ok(bytes))
                }
                Err(e) => Some(Err(e)),
            };
            futures_util::future::ready(out)
        })
        .boxed();
    head.chain(futures_util::stream::once(abort(
        "simulated truncated download",
    )))
}

/// Waits [`ABORT_AFTER`], then fails: the connection is aborted after what was sent before.
pub(crate) async fn abort<T>(why: &'static str) -> Result<T, std::io::Error> {
    tokio::time::sleep(ABORT_AFTER).await;
    Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        why,
    ))
}

/// Replaces a successful answer's body with nothing (Content-Length 0), status kept.
pub(crate) fn empty_body(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
    Response::from_parts(parts, Body::empty())
}

/// What a proxy in front of the API might answer instead of a file: 200 with an HTML page.
pub(crate) fn html_page() -> Response {
    let html = "<html><body><h1>Service temporarily unavailable</h1></body></html>\n";
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// Replaces a JSON body with its first half (never valid JSON), status 200.
pub(crate) async fn invalid_json(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.status = StatusCode::OK;
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(half.len()));
    Response::from_parts(parts, Body::from(half))
}
