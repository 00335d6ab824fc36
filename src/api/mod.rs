//! The Gcore Billing Reseller *reports* API client: the five operations (create, list,
//! retrieve, download, templates) as typed async calls, with the `Authorization: apikey …`
//! header, the daemon-wide rate budget and classified errors. A JSON request has a total
//! deadline (`request_timeout`, however slowly the bytes come) and a bounded body; a download
//! an idle timeout and a size cap; a server's `Retry-After` holds back every request (capped at
//! `max_retry_after`) and is published for the engine to persist; a refused key stops every
//! request at once. It knows nothing of the config file or the database.

mod body;
mod credentials;
mod download;
mod error;
mod ratelimit;
mod response;
mod types;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::{header, Url};
use tokio::sync::watch;

pub use body::{parse_json, MAX_JSON_BODY};
pub use download::Download;
pub use error::{ApiError, ErrorClass, Operation};
pub use ratelimit::RateLimiter;
pub use response::{check, classify, parse_retry_after, StatusClass};
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
    /// The longest a server's `Retry-After` is obeyed.
    pub max_retry_after: Duration,
    /// A download longer than this is aborted.
    pub max_download_bytes: u64,
}

/// A client for one API account. Cheap to clone; clones share the connection pool and budget.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    limiter: Arc<RateLimiter>,
    /// Whether the key is accepted; shared, so one refusal stops every clone's requests.
    credentials: Arc<credentials::CredentialGate>,
    /// The latest end of an API-wide pause a server asked for (wall clock).
    pauses: Arc<watch::Sender<Option<SystemTime>>>,
    timeout: Duration,
    max_retry_after: Duration,
    max_download_bytes: u64,
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
            limiter: Arc::new(RateLimiter::new(options.max_requests_per_second)),
            credentials: Arc::default(),
            pauses: Arc::new(watch::channel(None).0),
            timeout: options.timeout,
            max_retry_after: options.max_retry_after,
            max_download_bytes: options.max_download_bytes,
            stop: None,
        })
    }

    /// The end of each API-wide pause a server asks for (`Retry-After`), as it is asked: the
    /// engine records it so that a restart honours it.
    pub fn pauses(&self) -> watch::Receiver<Option<SystemTime>> {
        self.pauses.subscribe()
    }

    /// Holds every request back until `until` (a pause recorded earlier), at most
    /// `max_retry_after` from now.
    pub fn honour_pause(&self, until: SystemTime) {
        let wait = until
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(self.max_retry_after);
        if let Some(at) = tokio::time::Instant::now().checked_add(wait) {
            self.limiter.pause_until(at);
        }
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

    /// Waits for leave to send (the key not refused, see [`credentials`]) and for the rate
    /// budget; fails if the client is told to stop first.
    async fn admit(&self, op: Operation) -> Result<credentials::Pass<'_>, ApiError> {
        let admitted = async {
            let pass = self.credentials.pass(op).await?;
            self.limiter.acquire().await;
            // A refusal may have come while this request waited for its slot.
            self.credentials.still_open(op)?;
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
        let _pass = self.admit(op).await?;
        let started = std::time::Instant::now();
        // In flight: bounded by the request timeout (a total one for JSON, idle for files).
        crate::liveness::vouch(self.timeout);
        let result = request.header(header::AUTHORIZATION, auth).send().await;
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

    /// Sends a JSON request (with its total deadline) and reads its bounded answer.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        op: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let response = self.send(op, request.timeout(self.timeout)).await?;
        let bytes = body::read_capped(op, response, MAX_JSON_BODY).await?;
        parse_json(op, &bytes)
    }

    /// `POST /billing/org/v1/reports`: creates a report task.
    pub async fn create(&self, body: &CreateReport<'_>) -> Result<FileTask, ApiError> {
        let op = Operation::Create;
        let request = self.http.post(self.url(REPORTS_PATH)).json(body);
        self.json(op, request).await
    }

    /// `GET /billing/org/v1/reports/{id}`: one task.
    pub async fn retrieve(&self, uuid: &str) -> Result<FileTask, ApiError> {
        let op = Operation::Retrieve;
        let request = self.http.get(self.url(&format!("{REPORTS_PATH}/{uuid}")));
        self.json(op, request).await
    }

    /// `GET /billing/org/v1/reports`: one page of tasks.
    pub async fn list(&self, query: &ListQuery) -> Result<Page<FileTask>, ApiError> {
        let op = Operation::List;
        let request = self
            .http
            .get(self.url(REPORTS_PATH))
            .query(&list_params(query));
        self.json(op, request).await
    }

    /// `GET /billing/org/v1/reports/templates`: every template, all pages.
    pub async fn templates(&self) -> Result<Vec<Template>, ApiError> {
        let op = Operation::Templates;
        let mut offset = 0u64;
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let request = self
                .http
                .get(self.url(&format!("{REPORTS_PATH}/templates")))
                .query(&[
                    ("limit", MAX_PAGE.to_string()),
                    ("offset", offset.to_string()),
                ]);
            let page: Page<Template> = self.json(op, request).await?;
            offset = offset.saturating_add(page.results.len() as u64);
            let done = page.next.is_none() || page.results.is_empty();
            all.extend(page.results);
            if done {
                return Ok(all);
            }
        }
        Err(too_many_pages(op))
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
        Download::new(response, self.timeout, self.max_download_bytes)
    }
}

/// More pages than any real listing has: a server whose `next` never ends.
const MAX_PAGES: usize = 100_000;

fn too_many_pages(op: Operation) -> ApiError {
    ApiError::BadResponse {
        op,
        reason: format!("more than {MAX_PAGES} pages: the listing does not end"),
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
    for status in &query.statuses {
        params.push(("status", status.as_str().to_string()));
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
            max_retry_after: Duration::from_secs(3600),
            max_download_bytes: 1 << 30,
        })
        .expect("client");
        let value = client.authorization(Operation::List).expect("header");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("averysecretpart"));
    }
}
