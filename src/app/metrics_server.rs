//! The optional Prometheus endpoint (`metrics.listen`): `GET /metrics` renders the process
//! counters (API requests, latency, bytes) and, from the database, tasks by state, the periods
//! waiting for the API and, for each configured report (not one-off submits, nor reports renamed
//! or removed since), when its newest delivered period was downloaded.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::prometheus_text::{encode, CONTENT_TYPE};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{State, Store};

/// What the endpoint reads: the database, the configuration in force, and the engine's clock
/// (a test's or `GCORE_REPORTD_NOW`'s time, not the machine's, judges which conditions hold).
type Shared = (Store, watch::Receiver<Arc<Config>>, Clock);

/// Serves `/metrics` on `listen` until `shutdown`.
pub async fn serve(
    listen: SocketAddr,
    store: Store,
    configs: watch::Receiver<Arc<Config>>,
    clock: Clock,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    // The bound address, not the configured one: with port 0 the kernel picks the port.
    let listen = listener.local_addr()?;
    tracing::info!(%listen, "metrics endpoint listening");
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .with_state((store, configs, clock));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn metrics(AxumState((store, configs, clock)): AxumState<Shared>) -> impl IntoResponse {
    let config = configs.borrow().clone();
    match render(&store, &config, clock.now_ms()).await {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("{e}\n"),
        ),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReportLabel {
    report: String,
}

/// The page: the database's figures, read now, and the process counters, in Prometheus text.
async fn render(store: &Store, config: &Config, now: i64) -> Result<String, PageError> {
    let mut registry = Registry::with_prefix("gcore_reportd");
    let tasks = Family::<StateLabel, Gauge>::default();
    let counts = store.count_by_state().await?;
    for state in State::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map_or(0, |(_, n)| *n);
        let label = StateLabel {
            state: state.as_str(),
        };
        tasks.get_or_create(&label).set(n);
    }
    registry.register("tasks", "Report tasks by local state", tasks);
    let last_success = Family::<ReportLabel, Gauge>::default();
    let last = store.last_download_by_report().await?;
    for (report, at) in last.into_iter().filter(|(r, _)| config.report(r).is_some()) {
        let label = ReportLabel { report };
        last_success.get_or_create(&label).set(at / 1000);
    }
    registry.register(
        "last_success_timestamp_seconds",
        "When each configured report's newest delivered period was downloaded",
        last_success,
    );
    register_waiting(&mut registry, store, now).await?;
    // A report per client: one series per report (never per client), counting the clients
    // whose newest period is not delivered yet.
    let undelivered = Family::<ReportLabel, Gauge>::default();
    let missing: std::collections::HashMap<String, i64> =
        store.clients_undelivered().await?.into_iter().collect();
    for report in config.reports.iter().filter(|r| r.clients.is_some()) {
        let n = missing.get(&report.name).copied().unwrap_or(0);
        let label = ReportLabel {
            report: report.name.clone(),
        };
        undelivered.get_or_create(&label).set(n);
    }
    registry.register(
        "clients_undelivered",
        "Per report per client: clients whose newest period is not delivered yet",
        undelivered,
    );
    let (restated, empty) = store.count_restated_and_empty().await?;
    registry.register(
        "versions_restated",
        "Versions of period files after the first (restatements) recorded in the database",
        gauge(restated),
    );
    registry.register(
        "empty_reports",
        "Done tasks whose verified report had no data rows",
        gauge(empty),
    );
    super::destination_metrics::register(&mut registry, store, config).await?;
    super::host_metrics::register(&mut registry, store).await?;
    crate::metrics::global().register(&mut registry);
    let mut out = String::new();
    encode(&mut out, &registry).map_err(|_| PageError::Encode)?;
    Ok(out)
}

/// Periods not sent yet while a daemon-wide condition (a refused key, a pause the API asked
/// for) holds every create back, and when the oldest of them was recorded (only while some
/// wait). They stay missing: `last_success_timestamp_seconds` does not move for them.
async fn register_waiting(
    registry: &mut Registry,
    store: &Store,
    now: i64,
) -> Result<(), PageError> {
    let conditions = store.conditions().await?;
    let (unsent, oldest) = match crate::store::holding_back(&conditions, now) {
        Some(_) => store.unsent_periods().await?,
        None => (0, None),
    };
    registry.register(
        "periods_waiting_for_api",
        "Due periods not sent yet because the API refuses the key or asked us to wait",
        gauge(unsent),
    );
    if let Some(oldest) = oldest {
        registry.register(
            "waiting_for_api_since_timestamp_seconds",
            "When the oldest period waiting for the API was recorded",
            gauge(oldest / 1000),
        );
    }
    Ok(())
}

fn gauge(value: i64) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(value);
    gauge
}

/// Why the page could not be made (answered as a 500 with this message).
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error("database error: {0}")]
    Database(#[from] crate::store::StoreError),
    #[error("the metrics could not be encoded as Prometheus text")]
    Encode,
}
