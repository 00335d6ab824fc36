//! What can go wrong talking to the API, sorted by whose fault it is: ours (4xx, with the
//! server's field errors), the credentials' (401/403), nobody's for long (429, 5xx, transport,
//! bad bodies). The client only classifies; the engine decides what to retry.

use std::time::Duration;

/// The operation a request belonged to, for messages and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    List,
    Retrieve,
    Download,
    Templates,
    /// `GET /iam/clients` (the reseller's clients, for reports per client).
    Clients,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::List => "list",
            Operation::Retrieve => "retrieve",
            Operation::Download => "download",
            Operation::Templates => "templates",
            Operation::Clients => "clients",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{op}: the API rejected the request (HTTP {status}): {detail}")]
    Rejected {
        op: Operation,
        status: u16,
        detail: String,
    },
    #[error("{op}: the API refused the credentials (HTTP {status}): {detail}; check the API key (api.api_key_file, GCORE_API_KEY or the gcore-api-key credential) and its permissions")]
    Credentials {
        op: Operation,
        status: u16,
        detail: String,
    },
    #[error("{op}: not found (HTTP 404)")]
    NotFound { op: Operation },
    #[error("{op}: the API answered HTTP {status}{}", retry_hint(.retry_after))]
    Unavailable {
        op: Operation,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("{op}: {message}")]
    Transport {
        op: Operation,
        message: String,
        /// Whether the request may have reached the server (false for a refused connection).
        maybe_sent: bool,
    },
    #[error("{op}: unusable response: {reason}")]
    BadResponse { op: Operation, reason: String },
    /// The daemon is stopping: the request was never sent.
    #[error("{op}: not sent: the daemon is stopping")]
    Stopped { op: Operation },
    /// The API refused the key earlier (`earlier` says how): the request was never sent.
    #[error("{op}: not sent, the key was refused: {earlier}")]
    NotSentRefused { op: Operation, earlier: String },
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (Retry-After {}s)", d.as_secs()),
        None => String::new(),
    }
}

/// How the engine should treat an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Our request is wrong; retrying will not help.
    Permanent,
    /// The key is missing, wrong or lacks permission.
    Credentials,
    /// The thing asked about does not exist.
    NotFound,
    /// Worth trying again later.
    Transient,
}

impl ApiError {
    /// Whether a create that failed this way may still have made its task: the request may
    /// have reached the server (a timeout, a dropped connection, a 5xx other than a 429, an
    /// unreadable answer).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ApiError::Transport { maybe_sent, .. } => *maybe_sent,
            ApiError::Unavailable { status, .. } => *status != 429,
            ApiError::BadResponse { .. } => true,
            _ => false,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Rejected { .. } => ErrorClass::Permanent,
            ApiError::Credentials { .. } | ApiError::NotSentRefused { .. } => {
                ErrorClass::Credentials
            }
            ApiError::NotFound { .. } => ErrorClass::NotFound,
            ApiError::Unavailable { .. }
            | ApiError::Transport { .. }
            | ApiError::BadResponse { .. }
            | ApiError::Stopped { .. } => ErrorClass::Transient,
        }
    }

    /// The server's `Retry-After`, which a retry must not undercut.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Describes a transport failure with its causes; no header (and so no key) is ever included.
pub(super) fn transport(op: Operation, err: &reqwest::Error) -> ApiError {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_timeout() {
        message.push_str(" (timed out)");
    }
    ApiError::Transport {
        op,
        message,
        maybe_sent: !err.is_connect(),
    }
}
