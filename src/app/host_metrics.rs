//! The hosts' figures on the metrics page (issue 23), read from the database at each scrape,
//! on PostgreSQL only (one SQLite host holds no lease): how many hosts hold a live lease, and
//! how many unfinished tasks each live host holds. A host that died leaves the first below the
//! number deployed; its tasks are taken over when its lease lapses. The label is the host's
//! name (its lease id changes at each start).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::store::{Store, StoreError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
}

/// Registers `hosts_live` and `host_tasks_leased`.
pub(super) async fn register(registry: &mut Registry, store: &Store) -> Result<(), StoreError> {
    if !store.is_postgres() {
        return Ok(());
    }
    let hosts = store.hosts().await?;
    let live: Vec<_> = hosts.iter().filter(|h| h.lease_until > h.db_now).collect();
    let count = Gauge::<i64>::default();
    count.set(i64::try_from(live.len()).unwrap_or(i64::MAX));
    let leased = Family::<HostLabel, Gauge>::default();
    for host in live {
        let label = HostLabel {
            host: host.name.clone(),
        };
        leased.get_or_create(&label).inc_by(host.leased);
    }
    registry.register(
        "hosts_live",
        "Hosts holding a live lease on the shared PostgreSQL database",
        count,
    );
    registry.register(
        "host_tasks_leased",
        "Unfinished tasks each live host holds",
        leased,
    );
    Ok(())
}
