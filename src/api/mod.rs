//! The Gcore Billing Reseller *reports* API client: the five operations (create, list,
//! retrieve, download, templates) as typed async calls, with the `Authorization: apikey …`
//! header, a request timeout, the daemon-wide rate budget and classified errors.
//! It knows nothing of the config file or the database.

mod error;
mod ratelimit;
mod response;
mod types;

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{header, Url};

pub use error::{ApiError, ErrorClass, Operation};
pub use ratelimit::RateLimiter;
pub use types::*;

use crate::format::ReportFormat;
use crate::secret::ApiKey;

const REPORTS_PATH: &str = "billing/org/v1/reports";
/// The largest page the API serves.
pub const MAX_PAGE: u32 = 100;

/// Settings for [`Client::new`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub base_url: Url,
    pub key: ApiKey,
    pub timeout: Duration,
    pub max_requests_per_second: f64,
}

/// A client for one API account. Cheap to clone; clones share the connection pool and budget.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    limiter: std::sync::Arc<RateLimiter>,
    /// Once cancelled, nothing more is sent (see [`Client::stopping_on`]).
    stop: Option<tokio_util::sync::CancellationToken>,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gcore-reportd/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .read_timeout(options.timeout)
            .https_only(options.base_url.scheme() == "https")
            .build()
            .map_err(|e| ApiError::Transport {
                op: Operation::List,
                message: format!("cannot build the HTTP client: {e}"),
                maybe_sent: false,
            })?;
        let mut base = options.base_url;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Client {
            http,
            base,
            key: options.key,
            limiter: std::sync::Arc::new(RateLimiter::new(options.max_requests_per_second)),
            stop: None,
        })
    }

    /// The same client, sending nothing once `token` is cancelled: a request still waiting
    /// for the rate budget fails at once with [`ApiError::Stopped`]. Requests already sent,
    /// and bodies being read, are not interrupted.
    pub fn stopping_on(mut self, token: tokio_util::sync::CancellationToken) -> Client {
        self.stop = Some(token);
        self
    }

    /// Whether the client has been told to stop sending.
    pub fn is_stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.is_cancelled())
    }

    /// Waits for the rate budget; fails if the client is told to stop first.
    async fn admit(&self, op: Operation) -> Result<(), ApiError> {
        match &self.stop {
            Some(stop) => tokio::select! {
                biased;
                _ = stop.cancelled() => Err(ApiError::Stopped { op }),
                _ = self.limiter.acquire() => Ok(()),
            },
            None => {
                self.limiter.acquire().await;
                Ok(())
            }
        }
    }

    fn url(&self, path: &str) -> Url {
        // Joining a relative path onto a base ending in '/' cannot fail.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// Sends a request through the rate budget, with auth, and classifies the answer.
    async fn send(
        &self,
        op: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let auth = self.authorization(op)?;
        self.admit(op).await?;
        let started = std::time::Instant::now();
        let result = request.header(header::AUTHORIZATION, auth).send().await;
        let status = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
        crate::metrics::global().record_request(op.as_str(), status, started.elapsed());
        let response = result.map_err(|e| transport(op, &e))?;
        let checked = response::check(op, response)
            .await
            .map_err(|e| redact(e, &self.key));
        if let Err(ApiError::Unavailable {
            retry_after: Some(wait),
            ..
        }) = &checked
        {
            self.limiter
                .pause_until(tokio::time::Instant::now() + *wait);
        }
        checked
    }

    /// The `Authorization` header, marked sensitive so no debug output of a request shows it.
    fn authorization(&self, op: Operation) -> Result<header::HeaderValue, ApiError> {
        let mut value = header::HeaderValue::from_str(&format!("apikey {}", self.key.expose()))
            .map_err(|_| ApiError::Credentials {
                op,
                status: 0,
                detail: "the API key holds characters an HTTP header cannot carry".to_string(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    async fn json<T: serde::de::DeserializeOwned>(
        op: Operation,
        response: reqwest::Response,
    ) -> Result<T, ApiError> {
        let bytes = response.bytes().await.map_err(|e| transport(op, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::BadResponse {
            op,
            reason: format!("invalid JSON ({e}) in a body of {} bytes", bytes.len()),
        })
    }

    /// `POST /billing/org/v1/reports`: creates a report task.
    pub async fn create(&self, body: &CreateReport<'_>) -> Result<FileTask, ApiError> {
        let op = Operation::Create;
        let request = self.http.post(self.url(REPORTS_PATH)).json(body);
        Self::json(op, self.send(op, request).await?).await
    }

    /// `GET /billing/org/v1/reports/{id}`: one task.
    pub async fn retrieve(&self, uuid: &str) -> Result<FileTask, ApiError> {
        let op = Operation::Retrieve;
        let request = self.http.get(self.url(&format!("{REPORTS_PATH}/{uuid}")));
        Self::json(op, self.send(op, request).await?).await
    }

    /// `GET /billing/org/v1/reports`: one page of tasks.
    pub async fn list(&self, query: &ListQuery) -> Result<Page<FileTask>, ApiError> {
        let op = Operation::List;
        let request = self
            .http
            .get(self.url(REPORTS_PATH))
            .query(&list_params(query));
        Self::json(op, self.send(op, request).await?).await
    }

    /// `GET /billing/org/v1/reports/templates`: every template, all pages.
    pub async fn templates(&self) -> Result<Vec<Template>, ApiError> {
        let op = Operation::Templates;
        let mut offset = 0u64;
        let mut all = Vec::new();
        loop {
            let request = self
                .http
                .get(self.url(&format!("{REPORTS_PATH}/templates")))
                .query(&[
                    ("limit", MAX_PAGE.to_string()),
                    ("offset", offset.to_string()),
                ]);
            let page: Page<Template> = Self::json(op, self.send(op, request).await?).await?;
            offset += page.results.len() as u64;
            let done = page.next.is_none() || page.results.is_empty();
            all.extend(page.results);
            if done {
                return Ok(all);
            }
        }
    }

    /// `GET /billing/org/v1/reports/{uuid}/download`: the file, as a stream to be consumed.
    pub async fn download(&self, uuid: &str, format: ReportFormat) -> Result<Download, ApiError> {
        let op = Operation::Download;
        let request = self
            .http
            .get(self.url(&format!("{REPORTS_PATH}/{uuid}/download")))
            .query(&[("format", format.as_str())])
            .header(header::ACCEPT, format.media_type());
        let response = self.send(op, request).await?;
        check_content_type(&response, format)?;
        let expected_len = response.content_length();
        Ok(Download {
            expected_len,
            body: Box::pin(response.bytes_stream()),
        })
    }
}

/// A download in progress: the declared length, and the body to read chunk by chunk.
pub struct Download {
    pub expected_len: Option<u64>,
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
}

impl Download {
    /// The next chunk, `None` at the end of the body.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ApiError> {
        match self.body.next().await {
            None => Ok(None),
            Some(Ok(bytes)) => Ok(Some(bytes)),
            Some(Err(e)) => Err(transport(Operation::Download, &e)),
        }
    }
}

fn check_content_type(response: &reqwest::Response, format: ReportFormat) -> Result<(), ApiError> {
    let got = response
        .headers()
        .get(header::CONTENT_TYPE)
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

fn list_params(query: &ListQuery) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    let stamp = |t: jiff::Timestamp| t.round(jiff::Unit::Second).unwrap_or(t).to_string();
    if let Some(t) = query.created_after {
        params.push(("created_after", stamp(t)));
    }
    if let Some(t) = query.created_before {
        params.push(("created_before", stamp(t)));
    }
    if let Some(template) = &query.template {
        params.push(("template", template.clone()));
    }
    if let Some(ordering) = query.ordering {
        params.push(("ordering", ordering.to_string()));
    }
    params.push(("limit", query.limit.clamp(1, MAX_PAGE).to_string()));
    params.push(("offset", query.offset.to_string()));
    params
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

/// Describes a transport failure with its causes; no header (and so no key) is ever included.
fn transport(op: Operation, err: &reqwest::Error) -> ApiError {
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

    #[test]
    fn the_authorization_header_is_marked_sensitive() {
        let client = Client::new(ClientOptions {
            base_url: Url::parse("http://127.0.0.1:9/").expect("url"),
            key: ApiKey::new("4217$averysecretpart").expect("key"),
            timeout: Duration::from_secs(1),
            max_requests_per_second: 10.0,
        })
        .expect("client");
        let value = client.authorization(Operation::List).expect("header");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("averysecretpart"));
    }
}
