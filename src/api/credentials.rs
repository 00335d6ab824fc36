//! Whether the API accepts the key, as far as this client knows, shared by every clone. A new
//! client assumes it does. Once the API has refused it (401/403), no request goes out at all,
//! whatever the number of tasks waiting to send one, until the engine says the refusal may be
//! tested again ([`super::Client::recheck_credentials`]); from then until an answer shows the
//! key accepted, one request at a time goes out (the probe). So a refused key costs one request
//! per `api.auth_retry_interval`, not one per task; in the very first step, those already in
//! flight when the first refusal arrives too.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use super::error::{ApiError, Operation};
use super::response::{classify, StatusClass};

const ACCEPTED: u8 = 0;
const UNKNOWN: u8 = 1;
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

    /// Fails once the key has been refused (checked again just before sending).
    pub fn still_open(&self, op: Operation) -> Result<(), ApiError> {
        match self.state.load(Ordering::Acquire) {
            REFUSED => Err(self.refused(op)),
            _ => Ok(()),
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

    /// The key was refused before this client knew it (a refusal recorded by an earlier run):
    /// the next request is a probe, unless an answer has shown the key accepted since.
    pub fn suspect(&self) {
        let _ = self
            .state
            .compare_exchange(ACCEPTED, UNKNOWN, Ordering::AcqRel, Ordering::Acquire);
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
