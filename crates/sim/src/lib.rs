//! The built-in simulated Gcore Billing Reseller *reports* API: a stateful HTTP server on
//! loopback, used by the tests, the benchmarks and the `simulate`/`demo` commands. It answers
//! the five operations of the OpenAPI contract the way the real Django REST framework service is
//! inferred to (DRF error bodies, limit/offset pagination with absolute links), moves each task
//! Pending → InProgress → Completed in real time, serves deterministic report files (see
//! [`report_body`]) as streams, counts requests, and injects [`Faults`] switched on at run time.

// Handler steps return the finished error response as their `Err`: boxing it buys nothing here.
#![allow(clippy::result_large_err)]

mod broken;
mod clients;
mod content;
mod content_control;
mod controls;
mod faults;
mod gate;
mod handlers;
mod layout;
mod listing;
mod malformed;
mod pace;
mod query;
mod record;
mod reply;
mod state;
mod task;
mod templates;
mod validate;
mod workbook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio_util::sync::CancellationToken;

pub use clients::SimClient;
pub use content::{report_body, report_body_at, report_len, report_stream};
pub use faults::Faults;
pub use malformed::{malformed_body, malformed_variant};
pub use pace::Pace;
pub use record::{Exchange, RECORD_LIMIT};

use state::Shared;

/// How the simulator behaves.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The key it accepts in `Authorization: apikey <key>`.
    pub api_key: String,
    /// How long a new task stays Pending.
    pub pending_for: Duration,
    /// How long it then stays InProgress before it completes (or fails).
    pub running_for: Duration,
    /// Rows in every generated report.
    pub report_rows: usize,
    /// Seed of the RNG that decides which requests get a fault.
    pub seed: u64,
    /// Keep every request and answer, for [`SimHandle::exchanges`] (tests only: it holds
    /// bodies in memory).
    pub record: bool,
    /// The simulator's clock (its tasks' `created_at`) is the system's plus this many ms: a
    /// test running its binaries on a shifted clock (`GCORE_REPORTD_NOW`) shifts it alike.
    pub clock_offset_ms: i64,
    /// How many times a period's content changes before it closes: the n-th task created for
    /// the same template and parameters serves revision `min(n - 1, restatements)` of the
    /// content (0: a period's content never changes). See also [`SimHandle::close_periods`].
    pub restatements: u32,
    /// A slow server: every report file is sent at this rate in writes of this size (`None`:
    /// as fast as the connection takes it, in 64 KiB chunks).
    pub pace: Option<Pace>,
    /// The reseller's clients served by `GET /iam/clients`: this many from id 1001, every 7th
    /// a test account and every 11th deleted (see `SimHandle::add_clients` to change them).
    pub clients: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            api_key: "sim-key$secret".to_string(),
            pending_for: Duration::from_millis(200),
            running_for: Duration::from_millis(300),
            report_rows: 20,
            seed: 1,
            record: false,
            clock_offset_ms: 0,
            restatements: 0,
            pace: None,
            clients: 0,
        }
    }
}

/// A task as the simulator holds it; `parameters` include the `type` key the API adds and
/// `status` is the real one (never the "Exploded" of the unknown-status fault).
#[derive(Clone, Debug)]
pub struct SimTask {
    pub uuid: String,
    pub template: String,
    pub parameters: serde_json::Value,
    pub status: String,
    pub created_at: jiff::Timestamp,
    /// The data rows of its report.
    pub rows: usize,
    /// The revision of its period's content it serves (see [`SimOptions::restatements`]).
    pub revision: u32,
}

/// A running simulator. Dropping it (or [`SimHandle::shutdown`]) stops serving.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the faults in force; takes effect from the next request.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Serves another Gcore account from now on: only `key` is accepted, and the tasks created
    /// before (another account's) are not found.
    pub fn switch_account(&self, key: &str, client_id: i64) {
        self.shared.switch_account(key, client_id);
    }

    /// Every task, in creation order, with its status as of now.
    pub fn tasks(&self) -> Vec<SimTask> {
        self.shared.snapshot()
    }

    /// Requests received per operation: `create`, `list`, `retrieve`, `download`,
    /// `templates`, `clients`, `delete`, `other`. Every request counts, faulted or not.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.request_counts()
    }

    /// When the `n`th request (from 0, all operations) arrived, once it has.
    pub fn arrival(&self, n: usize) -> Option<std::time::Instant> {
        self.shared.arrival(n)
    }

    /// Responses sent per HTTP status code (the intended status, even when a fault then cut
    /// the body off).
    pub fn status_counts(&self) -> BTreeMap<u16, u64> {
        self.shared.status_counts()
    }

    /// Every request and its answer so far, in the order answered (empty unless
    /// [`SimOptions::record`] is on).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.exchanges()
    }

    /// Stops accepting connections; requests in flight are allowed to finish.
    pub fn shutdown(self) {
        self.stop.cancel();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts serving on `listener` in a spawned task.
pub async fn start(
    listener: tokio::net::TcpListener,
    options: SimOptions,
) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(options));
    let stop = CancellationToken::new();
    let app = router(shared.clone());
    let token = stop.clone();
    tokio::spawn(async move {
        if let Err(e) = serve(listener, app, token).await {
            tracing::warn!(error = %e, "the simulated API stopped");
        }
    });
    Ok(SimHandle { addr, shared, stop })
}

/// Serves on `listener` until `shutdown` is cancelled (the `simulate` command).
pub async fn serve_forever(
    listener: tokio::net::TcpListener,
    options: SimOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve(listener, router(Arc::new(Shared::new(options))), shutdown).await
}

async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/billing/org/v1/reports",
            get(listing::list).post(handlers::create),
        )
        .route("/billing/org/v1/reports/templates", get(templates::list))
        .route("/iam/clients", get(clients::list))
        .route(
            "/billing/org/v1/reports/{id}",
            get(handlers::retrieve).delete(handlers::delete),
        )
        .route(
            "/billing/org/v1/reports/{id}/download",
            get(handlers::download),
        )
        .fallback(reply::no_route)
        .method_not_allowed_fallback(reply::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            gate::front,
        ))
        .with_state(shared)
}
