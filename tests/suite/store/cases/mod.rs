//! The conformance cases (see `store/mod.rs`): each takes an open, empty store of either
//! backend. The ledger's promises are in `ledger`, several hosts' leases in `leases`, conditions, batches and the reads the
//! commands make in `changes`; the shared steps are here.

mod attempts;
mod changes;
mod clients;
pub(super) mod leases;
mod ledger;
mod manifest_uploads;
mod more;
mod takeover;
mod uploads;

pub use attempts::*;
pub use changes::*;
pub use clients::*;
pub use leases::*;
pub use ledger::*;
pub use manifest_uploads::*;
pub use more::*;
pub use takeover::*;
pub use uploads::*;

use crate::common::moves;
use gcore_reportd::format::ReportFormat;
use gcore_reportd::store::{Delivery, FileRecord, NewTask, Store, StoreError};

/// A due period of client `client`'s report (`refresh` 0: its first delivery).
pub fn period(client: i64, refresh: i64) -> NewTask {
    let mut parameters = serde_json::Map::new();
    parameters.insert("client_id".into(), client.into());
    parameters.insert("date_from".into(), "2026-10-01".into());
    NewTask {
        report: format!("client-{client}"),
        period_from: "2026-10-01".into(),
        period_to: "2026-11-01".into(),
        template: "ResellerExpenses".into(),
        format: ReportFormat::Csv,
        parameters,
        file_name: format!("client-{client}.csv"),
        deadline_at: i64::MAX / 2,
        refresh,
        settings: None,
    }
}

pub fn uuid(n: i64) -> String {
    format!("5f0c0000-0000-4000-8000-{n:012}")
}

/// Records `new` and takes it to `downloading` (created as `uuid(id)`); its id.
pub async fn downloading(store: &Store, new: &NewTask, now: i64) -> i64 {
    let id = store
        .insert_intent(new, now)
        .await
        .expect("insert")
        .expect("new");
    assert_eq!(
        store
            .begin_creates(&[id], 0, 60_000, now)
            .await
            .expect("mark"),
        [id]
    );
    let uuid = uuid(id);
    let remote = (uuid, now);
    store
        .apply(
            id,
            &moves::created(&remote.0, remote.1, now, "created"),
            now,
        )
        .await
        .expect("created");
    store
        .apply(id, &moves::completed(), now)
        .await
        .expect("download");
    id
}

/// Delivers task `id` as `version` of its period.
pub async fn deliver(store: &Store, id: i64, version: i64, now: i64) -> Result<(), StoreError> {
    let path = format!("/reports/{id}.csv");
    let delivery = Delivery {
        file: FileRecord {
            path: &path,
            bytes: 10,
            sha256: "ab",
            shape: Some((1, 2)),
        },
        path: Some(&path),
        version: Some(version),
        hook: false,
        next_refresh: None,
        message: "delivered",
        uploads: &[],
    };
    store.record_delivery(id, &delivery, now).await
}
