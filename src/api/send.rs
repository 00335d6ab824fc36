//! The way every request goes: leave to send (the key not refused, see `credentials`), the
//! rate budget (paused by a `Retry-After`), the `Authorization` header, the answer classified
//! (a server's message scrubbed of the key), and a `Retry-After` turned into an API-wide pause
//! that is published for the engine to record. JSON requests add their total deadline and a
//! bounded body.

use std::time::{Duration, SystemTime};

use reqwest::header;
use tokio::sync::watch;

use super::error::transport;
use super::MAX_JSON_BODY;
use super::{body, credentials, parse_json, response, ApiError, Client, Operation};
use crate::secret::ApiKey;

impl Client {
    /// The end of each API-wide pause a server asks for (`Retry-After`), as it is asked: the
    /// engine records it so that a restart honours it.
    pub fn pauses(&self) -> watch::Receiver<Option<SystemTime>> {
        self.pauses.subscribe()
    }

    /// After a refusal of the key: the next request may test it again (the others wait for
    /// its answer).
    pub fn recheck_credentials(&self) {
        self.credentials.recheck();
    }

    /// A refusal of the key was recorded before this client existed: until an answer shows
    /// it accepted, one request at a time.
    pub fn suspect_credentials(&self) {
        self.credentials.suspect();
    }

    /// A server asked every request to wait `wait`: hold them back, and publish the end.
    fn pause_for(&self, wait: Duration) {
        if wait.is_zero() {
            return; // "Retry-After: 0", or a date in the past: no pause at all
        }
        if let Some(at) = tokio::time::Instant::now().checked_add(wait) {
            self.limiter.pause_until(at);
        }
        let Some(end) = SystemTime::now().checked_add(wait) else {
            return;
        };
        self.pauses.send_if_modified(|latest| match latest {
            Some(t) if *t >= end => false,
            _ => {
                *latest = Some(end);
                true
            }
        });
    }

    /// Waits for leave to send (the key not refused, see [`credentials`]) and for the rate
    /// budget; fails if the client is told to stop first.
    async fn admit(&self, op: Operation) -> Result<credentials::Pass<'_>, ApiError> {
        let admitted = async {
            let pass = self.credentials.pass(op).await?;
            self.limiter.acquire().await;
            // A refusal may have come while this request waited for its slot.
            self.credentials.still_open(op)?;
            // Checked last, right before the request leaves: however long the wait was.
            if let Some(until) = &self.send_before {
                let ends = tokio::time::Instant::now() + self.timeout;
                if ends > *until.borrow() {
                    return Err(ApiError::Stopped { op });
                }
            }
            Ok(pass)
        };
        match &self.stop {
            Some(stop) => tokio::select! {
                biased;
                _ = stop.cancelled() => Err(ApiError::Stopped { op }),
                admitted = admitted => admitted,
            },
            None => admitted.await,
        }
    }

    /// Sends a request through the rate budget, with auth, and classifies the answer.
    pub(super) async fn send(
        &self,
        op: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let auth = self.authorization(op)?;
        let _pass = self.admit(op).await?;
        let started = std::time::Instant::now();
        // In flight: bounded by the request timeout (a total one for JSON, idle for files).
        let in_flight = self.liveness.wait("API request", self.timeout);
        let result = request.header(header::AUTHORIZATION, auth).send().await;
        drop(in_flight);
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        crate::metrics::global().record_request(
            op.as_str(),
            status.unwrap_or(0),
            started.elapsed(),
        );
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                self.credentials.learn(None, None);
                return Err(transport(op, &e));
            }
        };
        let checked = response::check(op, response, self.max_retry_after)
            .await
            .map_err(|e| redact(e, &self.key));
        self.credentials.learn(status, checked.as_ref().err());
        if let Some(wait) = checked.as_ref().err().and_then(ApiError::retry_after) {
            self.pause_for(wait);
        }
        checked
    }

    /// The `Authorization` header, marked sensitive so no debug output of a request shows it.
    pub(super) fn authorization(&self, op: Operation) -> Result<header::HeaderValue, ApiError> {
        let mut value = header::HeaderValue::from_str(&format!("apikey {}", self.key.expose()))
            .map_err(|_| ApiError::Credentials {
                op,
                status: 0,
                detail: "the API key holds characters an HTTP header cannot carry".to_string(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Sends a JSON request (with its total deadline) and reads its bounded answer.
    pub(super) async fn json<T: serde::de::DeserializeOwned>(
        &self,
        op: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let response = self.send(op, request.timeout(self.timeout)).await?;
        let bytes = body::read_capped(op, response, MAX_JSON_BODY, &self.body_budget).await?;
        parse_json(op, &bytes)
    }
}

/// Removes the key from a message the server wrote (a 401 may quote the token it got), so
/// it cannot reach a log line or the database through an error; then shortens it.
fn redact(err: ApiError, key: &ApiKey) -> ApiError {
    match err {
        ApiError::Rejected { op, status, detail } => ApiError::Rejected {
            op,
            status,
            detail: response::cap(scrub(&detail, key)),
        },
        ApiError::Credentials { op, status, detail } => ApiError::Credentials {
            op,
            status,
            detail: response::cap(scrub(&detail, key)),
        },
        other => other,
    }
}

/// `text` without the key, nor its secret part (after `$` or `_`) when that is long enough
/// not to be an ordinary word.
fn scrub(text: &str, key: &ApiKey) -> String {
    const REDACTED: &str = "[redacted]";
    let full = key.expose();
    let mut out = text.replace(full, REDACTED);
    if let Some((_, secret)) = full.split_once(['$', '_']) {
        if secret.len() >= 8 {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_message_quoting_the_key_is_scrubbed_before_anyone_sees_it() {
        let key = ApiKey::new("4217$averysecretpart").expect("key");
        let err = ApiError::Credentials {
            op: Operation::Create,
            status: 401,
            detail: "Bad permanent token: 4217$averysecretpart (or averysecretpart)".into(),
        };
        let shown = redact(err, &key).to_string();
        assert!(!shown.contains("averysecretpart"), "{shown}");
        assert!(shown.contains("Bad permanent token: [redacted]"), "{shown}");
    }
}
