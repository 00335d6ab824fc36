//! Whether the API accepts the key, as far as this client knows, shared by every clone. Until
//! an answer has shown the key accepted, one request at a time goes out (the probe); once the
//! API has refused it (401/403), no request goes out at all, whatever the number of tasks
//! waiting to send one, until the engine says the refusal may be tested again
//! ([`super::Client::recheck_credentials`]). So a refused key costs one request per
//! `api.auth_retry_interval`, not one per task.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use super::error::{ApiError, Operation};
use super::response::{classify, StatusClass};

const UNKNOWN: u8 = 0;
const ACCEPTED: u8 = 1;
const REFUSED: u8 = 2;

#[derive(Debug, Default)]
pub struct CredentialGate {
    state: AtomicU8,
    /// Held by the one request sent while the key is not known to be accepted.
    probe: tokio::sync::Mutex<()>,
    /// What the API said when it refused the key.
    refusal: Mutex<String>,
}

/// Leave to send: while probing, the guard that keeps the other requests back.
pub struct Pass<'a>(#[allow(dead_code)] Option<tokio::sync::MutexGuard<'a, ()>>);

impl CredentialGate {
    /// Waits until a request may be sent; fails at once once the key has been refused.
    pub async fn pass(&self, op: Operation) -> Result<Pass<'_>, ApiError> {
        loop {
            match self.state.load(Ordering::Acquire) {
                ACCEPTED => return Ok(Pass(None)),
                REFUSED => return Err(self.refused(op)),
                _ => {
                    let guard = self.probe.lock().await;
                    if self.state.load(Ordering::Acquire) == UNKNOWN {
                        return Ok(Pass(Some(guard)));
                    }
                }
            }
        }
    }

    /// Learns from an answer's status (`None`: no answer came).
    pub fn learn(&self, status: Option<u16>, error: Option<&ApiError>) {
        match status.map(classify) {
            Some(StatusClass::Credentials) => {
                if let Some(err) = error {
                    *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = err.to_string();
                }
                self.state.store(REFUSED, Ordering::Release);
            }
            // A gateway's 5xx, or no answer, says nothing about the key.
            Some(StatusClass::Unavailable) | None => {}
            Some(_) => self.state.store(ACCEPTED, Ordering::Release),
        }
    }

    /// The refusal may be tested again: the next request is a probe.
    pub fn recheck(&self) {
        let _ = self
            .state
            .compare_exchange(REFUSED, UNKNOWN, Ordering::AcqRel, Ordering::Acquire);
    }

    fn refused(&self, op: Operation) -> ApiError {
        ApiError::NotSentRefused {
            op,
            earlier: self
                .refusal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
