//! The engine's parts, each a concern that owns what it needs and nothing more, built
//! together by [`assemble`]. [`Shared`] is what every part reads (config, database, clock);
//! [`Remote`] guards the API (refused keys, pauses, the account); [`Ledger`] is the one way a
//! task's phase changes; [`Creates`], [`Polls`], [`Downloads`] and [`Reconciler`] each take
//! tasks of one phase a step further ([`Polls`] and [`Reconciler`] walking the list with a
//! [`Scanner`]); [`FanOut`] lists the reseller's clients; [`Destinations`] puts files to buckets
//! and [`Hooks`] runs commands, both in tasks of the owner. Each file of the engine holds one part's methods, so a part's dependencies are its
//! fields, and a call to another part names it (`self.ledger.observe(..)`).

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::carry::TaskSettings;
use super::clients::Listings;
use super::lease::HostLease;
use super::upload_plan::Buckets;
use super::{EngineError, Owner};
use crate::api::Client;
use crate::clock::Clock;
use crate::config::{Config, ReportConfig};
use crate::store::{Store, TaskRow};

/// What every part reads: the config, the database and the clock.
#[derive(Clone)]
pub(super) struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Clock,
}

impl Shared {
    /// Now, from the engine's clock (Unix ms).
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn report_config(&self, task: &TaskRow) -> Option<&ReportConfig> {
        self.config.report(&task.report)
    }

    /// The task's report settings: the config's, or for a report removed from the config,
    /// those the task was created with.
    pub async fn settings(&self, task: &TaskRow) -> Result<TaskSettings, EngineError> {
        if let Some(report) = self.report_config(task) {
            return Ok(TaskSettings::of(report));
        }
        let stored = self.store.task_settings(task.id).await?;
        Ok(TaskSettings::parse(stored.as_deref()).unwrap_or(TaskSettings::DEFAULT))
    }
}

/// What an engine is built from. A reload (`open::reconfigure`) carries over the database,
/// clock, lock, owner, account and lease and builds the rest anew (listings, download slots,
/// buckets); a client swapped for one that stops on a token ([`super::Engine::with_client`])
/// keeps all of it.
#[derive(Clone)]
pub(super) struct Base {
    pub shared: Shared,
    pub client: Client,
    /// The exclusive lock on an SQLite database (see `open::lock_database`), held while any
    /// clone of the engine lives; on PostgreSQL hosts share the database by leases (`lease`).
    pub lock: Arc<Option<std::fs::File>>,
    /// The database's Gcore account (`client_id`) once known, 0 before (see `account`).
    pub account: Arc<AtomicI64>,
    /// The tracker its tasks are on, the liveness registry, the running hooks (see `owner`).
    pub owner: Owner,
    /// What the fan-out reports' clients were listed for (see `clients`).
    pub listings: Arc<Mutex<Listings>>,
    pub download_slots: Arc<Semaphore>,
    /// The `[destinations.NAME]` clients (see `upload_plan`).
    pub buckets: Buckets,
    /// This host's lease, when hosts share the database (PostgreSQL; see `lease`).
    pub lease: Option<Arc<HostLease>>,
}

/// The API's gate: a refused key (`auth`), a pause the API asked for (`pause`), the account
/// the database belongs to (`account`).
#[derive(Clone)]
pub(super) struct Remote {
    pub shared: Shared,
    pub client: Client,
    pub account: Arc<AtomicI64>,
}

/// The one way a phase changes (`transition`), and a failed try rescheduled (`backoff`).
#[derive(Clone)]
pub(super) struct Ledger {
    pub shared: Shared,
    pub remote: Remote,
}

/// Creates in marked chunks (`create`).
#[derive(Clone)]
pub(super) struct Creates {
    pub shared: Shared,
    pub client: Client,
    pub remote: Remote,
    pub ledger: Ledger,
}

/// Status polls, one by one (`poll`) or batched from the list (`batch`), and the last look
/// at a deadline.
#[derive(Clone)]
pub(super) struct Polls {
    pub shared: Shared,
    pub client: Client,
    pub scanner: Scanner,
    pub remote: Remote,
    pub ledger: Ledger,
    pub downloads: Downloads,
}

/// Completed reports fetched (`download`), a failed one weighed (`transfer`), a saved one
/// delivered (`deliver`).
#[derive(Clone)]
pub(super) struct Downloads {
    pub shared: Shared,
    pub client: Client,
    pub ledger: Ledger,
    pub destinations: Destinations,
    pub slots: Arc<Semaphore>,
}

/// Creates of unknown outcome settled from the list (`reconcile`, `evidence`).
#[derive(Clone)]
pub(super) struct Reconciler {
    pub shared: Shared,
    pub client: Client,
    pub scanner: Scanner,
    pub ledger: Ledger,
    pub creates: Creates,
}

/// A paginated list of remote tasks walked in creation order (`scan`), its waits the owner's.
#[derive(Clone)]
pub(super) struct Scanner {
    pub client: Client,
    pub owner: Owner,
}

/// The reseller's clients listed for the fan-out reports (`clients`).
#[derive(Clone)]
pub(super) struct FanOut {
    pub shared: Shared,
    pub client: Client,
    pub remote: Remote,
    pub listings: Arc<Mutex<Listings>>,
}

/// Puts planned (`upload_plan`), claimed (`upload_schedule`) and sent (`upload`).
#[derive(Clone)]
pub(super) struct Destinations {
    pub shared: Shared,
    pub buckets: Buckets,
    pub owner: Owner,
    pub lease: Option<Arc<HostLease>>,
}

/// Hook commands run in tasks of the owner (`hooks`).
#[derive(Clone)]
pub(super) struct Hooks {
    pub shared: Shared,
    pub owner: Owner,
    pub destinations: Destinations,
}

/// Every part, built from one base.
#[derive(Clone)]
pub(super) struct Parts {
    pub remote: Remote,
    pub creates: Creates,
    pub polls: Polls,
    pub downloads: Downloads,
    pub reconciler: Reconciler,
    pub fan_out: FanOut,
    pub destinations: Destinations,
    pub hooks: Hooks,
}

/// Builds every part from `base`.
pub(super) fn assemble(base: &Base) -> Parts {
    let shared = base.shared.clone();
    let client = base.client.clone();
    let remote = Remote {
        shared: shared.clone(),
        client: client.clone(),
        account: base.account.clone(),
    };
    let ledger = Ledger {
        shared: shared.clone(),
        remote: remote.clone(),
    };
    let destinations = Destinations {
        shared: shared.clone(),
        buckets: base.buckets.clone(),
        owner: base.owner.clone(),
        lease: base.lease.clone(),
    };
    let downloads = Downloads {
        shared: shared.clone(),
        client: client.clone(),
        ledger: ledger.clone(),
        destinations: destinations.clone(),
        slots: base.download_slots.clone(),
    };
    let creates = Creates {
        shared: shared.clone(),
        client: client.clone(),
        remote: remote.clone(),
        ledger: ledger.clone(),
    };
    let scanner = Scanner {
        client: client.clone(),
        owner: base.owner.clone(),
    };
    Parts {
        polls: Polls {
            shared: shared.clone(),
            client: client.clone(),
            scanner: scanner.clone(),
            remote: remote.clone(),
            ledger: ledger.clone(),
            downloads: downloads.clone(),
        },
        reconciler: Reconciler {
            shared: shared.clone(),
            client: client.clone(),
            scanner,
            ledger,
            creates: creates.clone(),
        },
        fan_out: FanOut {
            shared: shared.clone(),
            client,
            remote: remote.clone(),
            listings: base.listings.clone(),
        },
        hooks: Hooks {
            shared,
            owner: base.owner.clone(),
            destinations: destinations.clone(),
        },
        remote,
        creates,
        downloads,
        destinations,
    }
}
