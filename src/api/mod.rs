//! The Gcore Billing Reseller *reports* API client: the five operations (create, list,
//! retrieve, download, templates) as typed async calls, with the `Authorization: apikey …`
//! header, the daemon-wide rate budget and classified errors. A JSON request has a total
//! deadline (`request_timeout`, however slowly the bytes come) and a bounded body; a download
//! an idle timeout and a size cap; a server's `Retry-After` holds back every request (capped at
//! `max_retry_after`) and is published for the engine to persist; a refused key stops every
//! request at once. It knows nothing of the config file or the database.

mod body;
mod clients;
mod credentials;
mod download;
mod error;
mod listed;
mod query;
mod ratelimit;
mod response;
mod send;
mod templates;
mod types;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::{header, Url};
use tokio::sync::watch;

pub use body::{parse_json, MAX_JSON_BODY};
pub use clients::CLIENTS_PAGE;
pub use download::Download;
pub use error::{ApiError, ErrorClass, Operation};
pub use listed::{Listed, Odd};
use query::list_params;
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
    /// No request is sent whose deadline would end after this (see [`Client::sending_before`]).
    send_before: Option<watch::Receiver<tokio::time::Instant>>,
    /// Where each request and each wait for a download's next bytes registers itself for the
    /// watchdog (see [`Client::watched_by`]).
    liveness: crate::liveness::Liveness,
    /// The bytes the JSON bodies this client and its clones read at once may hold together.
    body_budget: Arc<tokio::sync::Semaphore>,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gcore-reportd/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .read_timeout(options.timeout)
            .https_only(options.base_url.scheme() == "https")
            // The API's roots are the built-in (webpki) ones, as before object_store (the
            // destinations' client) switched reqwest's native roots on for every client.
            .tls_built_in_native_certs(false)
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
            send_before: None,
            liveness: crate::liveness::Liveness::default(),
            body_budget: Arc::new(body::body_budget()),
        })
    }

    /// The same client, sending nothing once `token` is cancelled: a request still waiting
    /// for the rate budget fails at once with [`ApiError::Stopped`]. Requests already sent,
    /// and bodies being read, are not interrupted.
    pub fn stopping_on(mut self, token: tokio_util::sync::CancellationToken) -> Client {
        self.stop = Some(token);
        self
    }

    /// The same client, sending a request only while its whole deadline (`timeout`) ends
    /// before the instant `until` holds then; past it, a request fails with
    /// [`ApiError::Stopped`], never sent. (A host sharing the database sends nothing that could
    /// outlive its lease.)
    pub fn sending_before(mut self, until: watch::Receiver<tokio::time::Instant>) -> Client {
        self.send_before = Some(until);
        self
    }

    /// The client registers each request (for its timeout) and each wait for a download's next
    /// bytes (for the idle timeout) in `liveness`, the registry the watchdog reads.
    pub fn watched_by(mut self, liveness: crate::liveness::Liveness) -> Client {
        self.liveness = liveness;
        self
    }

    /// Shares the account's request budget among `hosts` hosts (see `RateLimiter`).
    pub fn share_budget(&self, hosts: u32) {
        self.limiter.share_among(hosts);
    }

    /// Whether the client has been told to stop sending.
    pub fn is_stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.is_cancelled())
    }

    fn url(&self, path: &str) -> Url {
        // Joining a relative path onto a base ending in '/' cannot fail.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
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

    /// `GET /billing/org/v1/reports`: one page of tasks, each decoded on its own.
    pub async fn list(&self, query: &ListQuery) -> Result<Page<Listed>, ApiError> {
        let op = Operation::List;
        let request = self
            .http
            .get(self.url(REPORTS_PATH))
            .query(&list_params(query));
        self.json(op, request).await
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
        download::check_content_type(&response, format)?;
        Download::new(
            response,
            self.timeout,
            self.max_download_bytes,
            self.liveness.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
