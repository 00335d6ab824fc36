//! The application: one [`Supervisor`] owns every task the daemon spawns, on one
//! [`TaskTracker`] with the shutdown [`CancellationToken`]: the signal handlers, the SIGHUP
//! reloader, the metrics endpoint, the systemd notifier with its watchdog (see `systemd`), and,
//! lent to the engine through its `Owner`, the hooks and the recorder of API pauses. The
//! engine knows nothing of systemd or signals; the supervisor wires them to it, and when the
//! engine's run ends it waits on the tracker (within `daemon.shutdown_timeout`), so nothing
//! outlives the process's owner.

mod destination_metrics;
mod host_metrics;
mod metrics_server;
mod systemd;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::Config;
use crate::engine::{self, EngineError, Owner, RunMode, RunSummary};
use crate::liveness::Liveness;
use crate::service::Notifier;

/// How long the tasks left when the engine has stopped (the metrics endpoint, the notifier,
/// the signal handler: each ends with the services token) may take to end.
const SERVICES_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Owns the daemon's tasks, its shutdown token and its liveness registry.
#[derive(Debug)]
pub struct Supervisor {
    tasks: TaskTracker,
    shutdown: CancellationToken,
    /// Stops the application's own services (signals, reloads, metrics): at the shutdown, or
    /// when the engine's run ends by itself.
    services: CancellationToken,
    liveness: Liveness,
}

impl Default for Supervisor {
    fn default() -> Supervisor {
        let shutdown = CancellationToken::new();
        Supervisor {
            tasks: TaskTracker::new(),
            services: shutdown.child_token(),
            shutdown,
            liveness: Liveness::default(),
        }
    }
}

impl Supervisor {
    /// The token whose cancellation stops the daemon (SIGTERM, SIGINT).
    pub fn shutdown(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Cancels the shutdown token on SIGTERM or SIGINT.
    pub fn stop_on_signals(&self) {
        use tokio::signal::unix::{signal, SignalKind};
        let (shutdown, services) = (self.shutdown.clone(), self.services.clone());
        self.tasks.spawn(async move {
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
                _ = services.cancelled() => return,
            }
            shutdown.cancel();
        });
    }

    /// New configurations, one per SIGHUP, as `load` reads them; a config that fails to load
    /// is refused with a logged error and the old one kept.
    pub fn reload_on_sighup<F>(&self, current: Arc<Config>, load: F) -> watch::Receiver<Arc<Config>>
    where
        F: Fn() -> anyhow::Result<Config> + Send + 'static,
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (tx, rx) = watch::channel(current);
        let services = self.services.clone();
        self.tasks.spawn(async move {
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                tracing::error!("cannot install the SIGHUP handler: config reload disabled");
                return;
            };
            loop {
                tokio::select! {
                    received = hup.recv() => if received.is_none() { return },
                    _ = services.cancelled() => return,
                }
                tracing::info!("SIGHUP received: reloading the config");
                match load() {
                    Ok(config) => {
                        if tx.send(Arc::new(config)).is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "new config refused; keeping the old one"),
                }
            }
        });
        rx
    }

    /// Opens the engine on the supervisor's tracker and liveness registry, starts the metrics
    /// endpoint (`metrics.listen`) and the systemd notifier beside it, runs it, then stops the
    /// services and waits for every task: at most [`SERVICES_GRACE`] more, since the engine
    /// has already spent `daemon.shutdown_timeout` on its work and hooks, and a second full
    /// timeout would overrun the unit's `TimeoutStopSec`.
    pub async fn run(
        self,
        config: impl Into<Arc<Config>>,
        clock: Clock,
        mode: RunMode,
        reloads: Option<watch::Receiver<Arc<Config>>>,
    ) -> Result<RunSummary, EngineError> {
        let config = config.into();
        let grace = config.daemon.shutdown_timeout.min(SERVICES_GRACE);
        let result = self.run_engine(config, clock, mode, reloads).await;
        self.services.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tasks.len(),
                "tasks still running after the engine stopped: abandoned"
            );
        }
        result
    }

    async fn run_engine(
        &self,
        config: Arc<Config>,
        clock: Clock,
        mode: RunMode,
        reloads: Option<watch::Receiver<Arc<Config>>>,
    ) -> Result<RunSummary, EngineError> {
        let listen = config.metrics_listen;
        // The configured reports, current after each reload: only they have a last-success series.
        // The engine's own config, shared, not copied: a copy of 10,000 reports is 10 MB of
        // heap (heaptrack, `run --once` at N = 10,000: peak heap 27.6 MB, 10.4 MB of it this
        // copy).
        let configs = reloads
            .clone()
            .unwrap_or_else(|| watch::channel(Arc::clone(&config)).1);
        let owner = Owner::new(self.tasks.clone(), self.liveness.clone());
        let engine = engine::open_owned_engine(config, clock.clone(), owner).await?;
        if let Some(listen) = listen {
            let (store, stop) = (engine.store().clone(), self.services.clone());
            self.tasks.spawn(async move {
                if let Err(e) = metrics_server::serve(listen, store, configs, clock, stop).await {
                    tracing::error!(%listen, error = %e, "the metrics endpoint cannot listen");
                }
            });
        }
        let (events, progress) = mpsc::unbounded_channel();
        let notifier = Notifier::from_env();
        self.tasks.spawn(systemd::speak_for(
            notifier,
            progress,
            self.liveness.clone(),
        ));
        engine::run_owned(engine, self.shutdown.clone(), mode, reloads, Some(events)).await
    }
}
