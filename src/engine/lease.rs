//! This host's lease on a database that several hosts share (PostgreSQL; see the store's
//! `leases`). Joining records a fresh lease id in `hosts` and makes every change of the store
//! carry it; a heartbeat on the owner's tracker renews it every quarter of `cluster.lease`, on
//! the database's clock, and counts the live hosts, among which the account's request budget
//! is shared. A lease that lapsed (the host stalled, or lost the database) is never revived:
//! the host joins again under a new id, and work begun under the old one stays fenced. Locally
//! the lease is trusted only until its last renewal began plus its length: no request whose
//! deadline ends later is sent, so no create leaves while another host may already be
//! reconciling it. A clean stop leaves: the tasks are free for the other hosts at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::store::{Lease, Store, StoreError};

/// This host's membership; the heartbeat ends when it is dropped or leaves.
#[derive(Debug)]
pub(super) struct HostLease {
    inner: Arc<Inner>,
    stop: CancellationToken,
    _stop_on_drop: DropGuard,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    name: String,
    lease: Duration,
    request_timeout: Duration,
    /// How many hosts held a live lease at the last heartbeat (this one included).
    hosts: AtomicU32,
    /// Until when the lease certainly holds: when its last renewal began, plus its length.
    trusted_until: tokio::sync::watch::Sender<Instant>,
    id: Mutex<Arc<str>>,
    /// Held by a renewal, and by leaving: a renewal in flight cannot join again after a leave.
    renewing: tokio::sync::Mutex<()>,
}

/// Joins the hosts sharing the database, if it is PostgreSQL (`None` on SQLite: one host).
pub(super) async fn join(
    store: &Store,
    config: &Config,
    tasks: &TaskTracker,
) -> Result<Option<Arc<HostLease>>, StoreError> {
    if !store.is_postgres() {
        return Ok(None);
    }
    let name = nix::unistd::gethostname()
        .ok()
        .and_then(|n| n.into_string().ok())
        .unwrap_or_else(|| "unknown-host".to_string());
    let inner = Arc::new(Inner {
        store: store.clone(),
        name,
        lease: config.cluster.lease,
        request_timeout: config.api.request_timeout,
        hosts: AtomicU32::new(1),
        trusted_until: tokio::sync::watch::channel(Instant::now()).0,
        id: Mutex::new(Arc::from("")),
        renewing: tokio::sync::Mutex::new(()),
    });
    inner.join_anew().await?;
    let stop = CancellationToken::new();
    tasks.spawn(heartbeat(inner.clone(), stop.clone()));
    Ok(Some(Arc::new(HostLease {
        inner,
        _stop_on_drop: stop.clone().drop_guard(),
        stop,
    })))
}

impl HostLease {
    /// How many hosts share the request budget now.
    pub(super) fn hosts(&self) -> u32 {
        self.inner.hosts.load(Ordering::Relaxed)
    }

    /// The lease's length (`cluster.lease`).
    pub(super) fn length(&self) -> std::time::Duration {
        self.inner.lease
    }

    /// Until when the lease certainly holds, as it is renewed: the API client sends no
    /// request whose deadline ends later (see `Client::sending_before`), so no create leaves
    /// while another host may already be reconciling it.
    pub(super) fn trusted_until(&self) -> tokio::sync::watch::Receiver<Instant> {
        self.inner.trusted_until.subscribe()
    }

    /// Leaves at a clean stop: the heartbeat ends and the tasks are free for the other hosts.
    pub(super) async fn leave(&self) {
        self.stop.cancel();
        let _renewal_ended = self.inner.renewing.lock().await;
        let id = self.inner.id();
        match self.inner.store.leave_hosts(&id).await {
            Ok(released) => {
                tracing::info!(lease = %id, released, "left the hosts sharing the database")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not end this host's lease: the other hosts take its tasks over when it lapses")
            }
        }
        self.inner.store.set_holder(None);
    }
}

impl Inner {
    fn id(&self) -> Arc<str> {
        self.id.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Records a fresh lease id and makes the store's changes carry it.
    async fn join_anew(&self) -> Result<(), StoreError> {
        let id: Arc<str> = Arc::from(format!(
            "{}-{}-{}",
            self.name,
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        let began = Instant::now();
        let pid = i64::from(std::process::id());
        self.store
            .join_hosts(&id, &self.name, pid, self.lease_ms())
            .await?;
        self.trusted_until.send_replace(began + self.lease);
        let old = std::mem::replace(
            &mut *self.id.lock().unwrap_or_else(|e| e.into_inner()),
            id.clone(),
        );
        self.store.set_holder(Some(Lease {
            id: id.clone(),
            create_margin_ms: self.create_margin_ms(),
        }));
        // The hooks this process still runs stay its own (unless re-armed meanwhile).
        if !old.is_empty() {
            if let Err(e) = self.store.move_running_hooks(&old, &id).await {
                tracing::warn!(error = %e, "cannot keep the running hooks under the new lease: another host may run them again");
            }
        }
        Ok(())
    }

    /// How long the lease must still run when creates are marked: a create's deadline. A
    /// create still waiting for the budget is not sent past [`HostLease::trusted_until`].
    fn create_margin_ms(&self) -> i64 {
        i64::try_from(self.request_timeout.as_millis()).unwrap_or(i64::MAX)
    }

    /// One renewal: renewed, or joined anew after a lapse; then the live hosts counted.
    /// Nothing once the host leaves.
    async fn renew(&self, stop: &CancellationToken) -> Result<(), StoreError> {
        let _renewing = self.renewing.lock().await;
        if stop.is_cancelled() {
            return Ok(());
        }
        let began = Instant::now();
        let id = self.id();
        if self.store.renew_host_lease(&id, self.lease_ms()).await? {
            self.trusted_until.send_replace(began + self.lease);
        } else {
            tracing::warn!(lease = %id, "this host's lease lapsed (the database was out of reach, or the host stalled): work begun under it is left to the other hosts; joining again");
            self.join_anew().await?;
        }
        let live = self.store.live_hosts().await?;
        let live = u32::try_from(live.max(1)).unwrap_or(u32::MAX);
        if self.hosts.swap(live, Ordering::Relaxed) != live {
            tracing::info!(
                hosts = live,
                "hosts sharing the database changed: the request budget is shared among them"
            );
            self.store.set_holder(Some(Lease {
                id: self.id(),
                create_margin_ms: self.create_margin_ms(),
            }));
        }
        Ok(())
    }
}

/// Renews the lease every quarter of its length until `stop`.
async fn heartbeat(inner: Arc<Inner>, stop: CancellationToken) {
    let every = (inner.lease / 4).max(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        if let Err(e) = inner.renew(&stop).await {
            tracing::warn!(error = %e, "cannot renew this host's lease: retrying at the next heartbeat");
        }
    }
}
