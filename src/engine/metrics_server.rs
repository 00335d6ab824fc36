//! The optional Prometheus endpoint (`metrics.listen`): `GET /metrics` renders the process
//! counters (API requests, latency, bytes) and, from the database, tasks by state and, for each
//! configured report (not one-off submits, nor reports renamed or removed since), when its
//! newest delivered period was downloaded.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::{State, Store};

/// What the endpoint reads: the database, and the configuration in force.
type Shared = (Store, watch::Receiver<Arc<Config>>);

/// Serves `/metrics` on `listen` until `shutdown`.
pub async fn serve(
    listen: SocketAddr,
    store: Store,
    configs: watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "metrics endpoint listening");
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .with_state((store, configs));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn metrics(AxumState((store, configs)): AxumState<Shared>) -> impl IntoResponse {
    let config = configs.borrow().clone();
    match render(&store, &config).await {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            text,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("database error: {e}\n"),
        ),
    }
}

async fn render(store: &Store, config: &Config) -> Result<String, crate::store::StoreError> {
    let mut out = String::new();
    out.push_str("# HELP gcore_reportd_tasks Report tasks by local state.\n# TYPE gcore_reportd_tasks gauge\n");
    let counts = store.count_by_state().await?;
    for state in State::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map(|(_, n)| *n)
            .unwrap_or(0);
        let _ = writeln!(out, "gcore_reportd_tasks{{state=\"{state}\"}} {n}");
    }
    out.push_str("# HELP gcore_reportd_last_success_timestamp_seconds When each configured report's newest delivered period was downloaded.\n# TYPE gcore_reportd_last_success_timestamp_seconds gauge\n");
    let last = store.last_download_by_report().await?;
    for (report, at) in last.iter().filter(|(r, _)| config.report(r).is_some()) {
        let _ = writeln!(
            out,
            "gcore_reportd_last_success_timestamp_seconds{{report=\"{report}\"}} {}",
            at / 1000
        );
    }
    let (restated, empty) = store.count_restated_and_empty().await?;
    out.push_str("# HELP gcore_reportd_versions_restated Versions of period files after the first (restatements) recorded in the database.\n# TYPE gcore_reportd_versions_restated gauge\n");
    let _ = writeln!(out, "gcore_reportd_versions_restated {restated}");
    out.push_str("# HELP gcore_reportd_empty_reports Done tasks whose verified report had no data rows.\n# TYPE gcore_reportd_empty_reports gauge\n");
    let _ = writeln!(out, "gcore_reportd_empty_reports {empty}");
    crate::metrics::global().render(&mut out);
    Ok(out)
}
