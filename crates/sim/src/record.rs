//! Recording of what crosses the wire, for conformance tests: with `SimOptions::record` on,
//! every request (method, path, query, headers, body) and its answer (status, headers, body)
//! is kept as an [`Exchange`]. Bodies are buffered and passed on unchanged; a response body
//! larger than [`RECORD_LIMIT`] (a benchmark-sized report) is passed through unrecorded.

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;

use super::{broken, reply};

/// Response bodies up to this size are recorded.
pub const RECORD_LIMIT: u64 = 16 * 1024 * 1024;

/// One request and the answer the simulator gave it.
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Request headers, names in lower case, in the order received.
    pub request_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    pub status: u16,
    pub response_content_type: Option<String>,
    pub response_headers: Vec<(String, String)>,
    /// The body as sent (empty when it was larger than [`RECORD_LIMIT`]).
    pub response_body: Vec<u8>,
    /// The body was cut off on the wire (a drop or truncation fault).
    pub aborted: bool,
}

impl Exchange {
    /// The first request header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.request_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Reads the request body into an [`Exchange`] and hands back an equivalent request.
pub(crate) async fn start(request: Request) -> Result<(Request, Exchange), Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, RECORD_LIMIT as usize).await else {
        return Err(reply::detail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large.",
        ));
    };
    let exchange = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        request_headers: header_pairs(&parts.headers),
        request_body: bytes.to_vec(),
        ..Exchange::default()
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), exchange))
}

/// Completes `exchange` with `response` (whose body is read and sent on as it was, failing
/// where it failed) and returns the response with the recorded exchange.
pub(crate) async fn finish(
    mut exchange: Exchange,
    response: Response,
    dropped: bool,
) -> (Response, Exchange) {
    let (parts, body) = response.into_parts();
    exchange.status = parts.status.as_u16();
    exchange.response_headers = header_pairs(&parts.headers);
    exchange.response_content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    exchange.aborted = dropped;
    let declared = body
        .size_hint()
        .exact()
        .or_else(|| content_length(&parts.headers));
    if declared.is_some_and(|n| n > RECORD_LIMIT) {
        return (Response::from_parts(parts, body), exchange);
    }
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut failure = None;
    let mut stream = body.into_data_stream();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(e) => {
                failure = Some(std::io::Error::other(e.to_string()));
                break;
            }
        }
    }
    exchange.response_body = chunks.concat();
    let body = match failure {
        None => Body::from(Bytes::from(exchange.response_body.clone())),
        Some(error) => {
            exchange.aborted = true;
            tracing::debug!(%error, "recorded a body cut off on the wire");
            let sent = futures_util::stream::iter(chunks.into_iter().map(Ok));
            Body::from_stream(sent.chain(futures_util::stream::once(broken::abort(
                "simulated connection abort",
            ))))
        }
    };
    (Response::from_parts(parts, body), exchange)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
