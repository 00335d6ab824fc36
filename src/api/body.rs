//! Reading answer bodies without trusting their size: a JSON answer is gathered chunk by chunk
//! up to [`MAX_JSON_BODY`] and refused past it (a transient fault naming the operation: a
//! server or proxy streaming an endless body must not grow the daemon without bound), and the
//! body of an error answer is read only as far as its message needs. All JSON bodies a client
//! (and its clones) reads at once share [`BODY_BUDGET`] bytes (see [`body_budget`]), so many
//! concurrent hostile answers cannot add up.

use reqwest::Response;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::error::transport;
use super::error::{ApiError, Operation};

/// The largest JSON answer read. A list page of 100 tasks is about 100 KB; a template
/// catalogue far less.
pub const MAX_JSON_BODY: usize = 4 * 1024 * 1024;
/// The bytes all JSON bodies being read may hold together.
pub const BODY_BUDGET: usize = 4 * MAX_JSON_BODY;

/// A budget of [`BODY_BUDGET`] bytes, for a client and its clones to share.
pub fn body_budget() -> Semaphore {
    Semaphore::new(BODY_BUDGET)
}

/// The whole body, if it is at most `cap` bytes; a longer one fails as soon as it passes the
/// cap (or at once, when its Content-Length says so), without reading the rest. The memory it
/// holds is taken from `budget` first.
pub async fn read_capped(
    op: Operation,
    mut response: Response,
    cap: usize,
    budget: &Semaphore,
) -> Result<Vec<u8>, ApiError> {
    let too_long = || ApiError::BadResponse {
        op,
        reason: format!(
            "the body is longer than {} KiB: not read further",
            cap / 1024
        ),
    };
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Err(too_long());
    }
    let mut body = Vec::new();
    let mut held: Option<SemaphorePermit<'_>> = None;
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(op, &e))? {
        let len = body.len().saturating_add(chunk.len());
        if len > cap {
            return Err(too_long());
        }
        if len > body.capacity() {
            // Doubling, but never past the cap; the budget is taken before the memory.
            let grown = body.capacity().saturating_mul(2).clamp(len, cap);
            let more = u32::try_from(grown - body.capacity()).unwrap_or(u32::MAX);
            let permit = budget.acquire_many(more).await.map_err(|_| too_long())?;
            match held.as_mut() {
                Some(held) => held.merge(permit),
                None => held = Some(permit),
            }
            body.reserve_exact(grown - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most the first `cap` bytes of the body; whatever went wrong reading it, what was read.
pub async fn read_prefix(op: Operation, mut response: Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(%op, error = %e, "the error body could not be read whole");
                break;
            }
        }
    }
    body
}

/// Parses a JSON body read by [`read_capped`].
pub fn parse_json<T: serde::de::DeserializeOwned>(
    op: Operation,
    bytes: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadResponse {
        op,
        reason: format!("invalid JSON ({e}) in a body of {} bytes", bytes.len()),
    })
}
