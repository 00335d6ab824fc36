//! The destinations' figures on the metrics page (issue 22), read from the database at each
//! scrape: deliveries pending and failed, and bytes delivered, per destination. The label is
//! the destination's name, and only the configured destinations are listed, so the series
//! stay as few as the config's `[destinations.NAME]` tables.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::store::{Store, StoreError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabel {
    destination: String,
}

/// Registers `destination_deliveries_pending`, `…_failed` and `destination_delivered_bytes`.
pub(super) async fn register(
    registry: &mut Registry,
    store: &Store,
    config: &Config,
) -> Result<(), StoreError> {
    if config.destinations.is_empty() {
        return Ok(());
    }
    let summaries = store.destination_summaries().await?;
    let (pending, failed, bytes) = (
        Family::<DestinationLabel, Gauge>::default(),
        Family::<DestinationLabel, Gauge>::default(),
        Family::<DestinationLabel, Gauge>::default(),
    );
    for d in &config.destinations {
        let label = DestinationLabel {
            destination: d.name.clone(),
        };
        let s = summaries.iter().find(|s| s.destination == d.name);
        pending
            .get_or_create(&label)
            .set(s.map_or(0, |s| s.pending));
        failed.get_or_create(&label).set(s.map_or(0, |s| s.failed));
        bytes.get_or_create(&label).set(s.map_or(0, |s| s.bytes));
    }
    registry.register(
        "destination_deliveries_pending",
        "File versions not yet put to each destination (retried with backoff)",
        pending,
    );
    registry.register(
        "destination_deliveries_failed",
        "Deliveries refused because the key holds other bytes (an operator's retry)",
        failed,
    );
    registry.register(
        "destination_delivered_bytes",
        "Bytes of the file versions delivered to each destination",
        bytes,
    );
    Ok(())
}
