//! The ways the simulator breaks a response when a [`super::faults::Faults`] switch says so:
//! server errors with the bodies real proxies send, a body cut off after the headers, a
//! download cut short of its Content-Length, JSON that does not parse, and a hostile server's
//! answers: absurd `Retry-After` values, a body trickled a byte at a time, a JSON body that
//! never ends.

use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::reply;

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
