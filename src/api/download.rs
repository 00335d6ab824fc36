//! A report file being received: the body as a stream of chunks, under an idle timeout (the
//! client's read timeout: no byte for `request_timeout` fails it, a slow but steady file does
//! not) and a size cap (`downloads.max_bytes`), past which it fails before more is read.

use futures_util::StreamExt;

use super::error::transport;
use super::error::{ApiError, Operation};

type Body =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// A download in progress: the declared length, and the body to read chunk by chunk.
pub struct Download {
    pub expected_len: Option<u64>,
    body: Body,
    idle: std::time::Duration,
    limit: u64,
    received: u64,
    liveness: crate::liveness::Liveness,
}

impl Download {
    /// Starts reading `response`; fails at once when its declared length passes `limit`.
    pub(super) fn new(
        response: reqwest::Response,
        idle: std::time::Duration,
        limit: u64,
        liveness: crate::liveness::Liveness,
    ) -> Result<Download, ApiError> {
        let expected_len = response.content_length();
        if expected_len.is_some_and(|len| len > limit) {
            return Err(too_large(limit));
        }
        Ok(Download {
            expected_len,
            body: Box::pin(response.bytes_stream()),
            idle,
            limit,
            received: 0,
            liveness,
        })
    }

    /// The next chunk, `None` at the end of the body.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ApiError> {
        // Waiting for the next chunk is bounded by the idle timeout.
        let waiting = self.liveness.wait("download chunk", self.idle);
        let next = self.body.next().await;
        drop(waiting);
        match next {
            None => Ok(None),
            Some(Ok(bytes)) => {
                self.received = self.received.saturating_add(bytes.len() as u64);
                if self.received > self.limit {
                    return Err(too_large(self.limit));
                }
                Ok(Some(bytes))
            }
            Some(Err(e)) => Err(transport(Operation::Download, &e)),
        }
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::BadResponse {
        op: Operation::Download,
        reason: format!(
            "the file is larger than downloads.max_bytes ({limit} bytes): download aborted"
        ),
    }
}

/// Whether a download's `Content-Type` is the format asked for.
pub(super) fn check_content_type(
    response: &reqwest::Response,
    format: crate::format::ReportFormat,
) -> Result<(), ApiError> {
    let got = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = got.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(format.media_type()) {
        return Ok(());
    }
    Err(ApiError::BadResponse {
        op: Operation::Download,
        reason: format!(
            "expected Content-Type {} for {format}, got {got:?}",
            format.media_type()
        ),
    })
}
