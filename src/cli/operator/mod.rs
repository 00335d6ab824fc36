//! The operator commands: `status`, `show`, `check-config` and `templates`. They read the same
//! database as a running daemon (WAL lets them), and never create one.
//! The commands live in `status`, `show` and `templates` (what they say of destinations in
//! `destinations`, of the hosts sharing a PostgreSQL database in `hosts`); here are what they
//! share.

mod destinations;
mod hosts;
mod per_client;
mod show;
mod status;
mod templates;

use std::io::Write;
use std::path::Path;

use crate::config::{self, Overrides};
use crate::store::Store;

pub use show::show;
#[cfg(feature = "simulator")]
pub use status::status_table;
pub use status::{status, task_json, StatusArgs};
pub(super) use templates::refuse_during_api_pause;
pub use templates::templates;

pub(super) async fn open_store(config_path: &Path) -> anyhow::Result<Store> {
    let (database, _) = config::storage_paths(config_path, &Overrides::default())?;
    let location = crate::engine::store_location(&database)?;
    Ok(Store::open_existing_at(&location).await?)
}

/// Writes `text` to stdout. A reader that went away (`status | head`) is not an error: the
/// command just stops.
pub(super) fn print_quietly(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
