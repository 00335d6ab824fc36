//! The loop around [`Engine::step`]: open the database, clean up after a crash, then step,
//! sleep until the next due task or schedule (or a reloaded config), and stop when told to
//! (shutdown token) or, in `--once` mode, when nothing is left in flight.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::account::KeyCheck;
use super::scheduler::next_fire;
use super::{files::remove_partial_files, Engine, EngineError, StepOutcome};
use crate::api::{Client, ClientOptions};
use crate::clock::{until, Clock};
use crate::config::Config;
use crate::liveness;
use crate::service::{Heartbeat, Notifier};
use crate::store::{State, Store};

/// The longest the daemon sleeps without looking at its schedules again.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The longest one step runs: past it no new request of the step is sent, in-flight ones get
/// `request_timeout`, and the loop goes on (the tasks keep their state).
const STEP_LIMIT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Keep running: schedules fire as time passes.
    Daemon,
    /// Do what is due now, wait for every task to end, then return.
    Once,
    /// Schedule nothing; work on the tasks already recorded until none is left in flight
    /// (`backfill`, `submit`).
    Drain,
}

/// How a run ended: the tasks that finished badly since it started.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub done: usize,
    pub failed: usize,
}

/// Builds the engine from `config` and runs it until `shutdown` (or, in `Once` mode, until no
/// task is in flight).
pub async fn run(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
    mode: RunMode,
) -> Result<RunSummary, EngineError> {
    run_with_reloads(config, clock, shutdown, mode, None).await
}

/// [`run`], also taking new configurations (SIGHUP) from `reloads` between steps.
pub async fn run_with_reloads(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
    mode: RunMode,
    reloads: Option<watch::Receiver<Arc<Config>>>,
) -> Result<RunSummary, EngineError> {
    let mut engine = open_engine(config, clock).await?;
    // From the shutdown signal on, nothing new is sent; requests in flight may finish.
    engine.client = engine.client.clone().stopping_on(shutdown.clone());
    engine.check_account().await?;
    log_changes(&engine).await?;
    if let Some(listen) = engine.config.metrics_listen {
        let (store, token) = (engine.store.clone(), shutdown.clone());
        // The configured reports, current after each reload: only they have a last-success series.
        let configs = reloads
            .clone()
            .unwrap_or_else(|| watch::channel(engine.config.clone()).1);
        tokio::spawn(async move {
            if let Err(e) = super::metrics_server::serve(listen, store, configs, token).await {
                tracing::error!(%listen, error = %e, "the metrics endpoint cannot listen");
            }
        });
    }
    let notifier = Notifier::from_env();
    let rearmed = engine.store.rearm_interrupted_hooks().await?;
    if rearmed > 0 {
        tracing::info!(rearmed, "hooks interrupted by a crash run again");
    }
    notifier.ready("database ready, starting work");
    let heartbeat = Heartbeat::start(&notifier);
    let grace = engine.config.daemon.shutdown_timeout;
    let stop_deadline = super::hooks::stop_deadline(&shutdown, grace);
    let started = engine.now();
    let result = drive(engine.clone(), &shutdown, mode, &notifier, reloads).await;
    super::hooks::wait_for_hooks(&shutdown, stop_deadline, grace).await;
    drop(heartbeat);
    notifier.stopping();
    let removed = remove_partial_files(&engine.config.storage.output_dir);
    if removed > 0 {
        tracing::info!(removed, "removed temporary files of interrupted downloads");
    }
    let summary = summarise(&engine, started).await;
    engine.store.close().await;
    result?;
    summary
}

/// Says what the configuration's changes since the last run mean for the tracked periods: one
/// line per changed report, and how many are unchanged.
async fn log_changes(engine: &Engine) -> Result<(), EngineError> {
    let changes = super::describe_changes(&engine.store, &engine.config, engine.now()).await?;
    let unchanged = changes.iter().filter(|c| !c.changed).count();
    for change in changes.iter().filter(|c| c.changed) {
        tracing::info!("{}", change.line);
    }
    tracing::info!(
        unchanged,
        "reports whose tracked periods the config leaves as they are"
    );
    Ok(())
}

/// Opens the database (migrating it), removes stale temporary files, builds the client.
pub async fn open_engine(config: Config, clock: Clock) -> Result<Engine, EngineError> {
    let lock = Arc::new(lock_database(&config.storage.database)?);
    let store = Store::open_waiting(&config.storage.database, config.storage.busy_timeout).await?;
    let removed = remove_partial_files(&config.storage.output_dir);
    if removed > 0 {
        tracing::info!(
            removed,
            "removed temporary files left by an interrupted run"
        );
    }
    let client = build_client(&config).map_err(EngineError::Client)?;
    Ok(Engine::new(Arc::new(config), store, client, clock, lock))
}

/// Takes `<database>.lock` exclusively (`File::try_lock`, an flock on Linux): one process at a
/// time works on a database, so two engines never race for the same task or clean up each
/// other's downloads. The kernel releases it when the process ends, however it ends.
fn lock_database(database: &std::path::Path) -> Result<std::fs::File, EngineError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| EngineError::Lock {
            path: path.clone(),
            source,
        })?;
    crate::ownership::match_parent_owner(&path);
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(EngineError::Busy { path }),
        Err(std::fs::TryLockError::Error(source)) => Err(EngineError::Lock { path, source }),
    }
}

async fn drive(
    mut engine: Engine,
    shutdown: &CancellationToken,
    mode: RunMode,
    notifier: &Notifier,
    mut reloads: Option<watch::Receiver<Arc<Config>>>,
) -> Result<(), EngineError> {
    let mut clock = ScheduleClock::default();
    let mut reload_seen = false;
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        if let Some(rx) = reloads.as_mut() {
            if std::mem::take(&mut reload_seen) || rx.has_changed().unwrap_or(false) {
                let config = rx.borrow_and_update().clone();
                let reloaded = reconfigure(&engine, config, shutdown)?;
                match key_check(&engine, &reloaded).await? {
                    KeyCheck::Accepted => {
                        tracing::info!(
                            reports = reloaded.config.reports.len(),
                            "configuration reloaded"
                        );
                        engine = reloaded;
                        clock = ScheduleClock::default();
                    }
                    KeyCheck::Refused => {}
                    KeyCheck::Later => reload_seen = true,
                }
            }
        }
        let engine = &engine;
        let now = engine.now();
        let schedule = match mode {
            RunMode::Daemon => clock.is_due(now),
            RunMode::Once => clock.is_first(),
            RunMode::Drain => false,
        };
        if schedule || clock.is_first() {
            clock.advance(&engine.config, now);
        }
        let outcome = match step_or_stop(engine, shutdown, schedule, notifier).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return Ok(()),
            // The daemon outlives a database it cannot use for a while (a lock held past
            // `storage.busy_timeout`, a full disk): the tasks keep their state in it, and the
            // whole step, schedules included, is tried again.
            Err(EngineError::Store(e)) if mode == RunMode::Daemon => {
                failures += 1;
                clock = ScheduleClock::default();
                wait_after_store_error(&e, failures, shutdown, notifier).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        failures = 0;
        notifier.alive();
        notifier.status(&status_line(&clock, &outcome));
        if mode != RunMode::Daemon && outcome.active == 0 && !outcome.hooks_busy {
            return Ok(());
        }
        // A one-shot run cannot wait out `auth_retry_interval`: it stops, and the next run
        // (with the key replaced, or after the interval) resumes the tasks.
        if let (RunMode::Once | RunMode::Drain, Some(refusal)) = (mode, &outcome.auth_refused) {
            return Err(EngineError::CredentialsRefused(refusal.clone()));
        }
        let mut wait = sleep_for(&outcome, mode, engine.now());
        if let Some(ping) = notifier.ping_interval() {
            wait = wait.min(ping);
        }
        if mode == RunMode::Daemon {
            wait = wait.min(clock.until_due(engine.now()));
        }
        // Sleeping until the next due work is the loop's legitimate wait.
        liveness::vouch(wait);
        // A reload wakes the loop at once: a new report must not wait for the next due task;
        // so does a hook's end (a slot for the next, or the end of a one-shot run).
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => {}
            changed = reload_signalled(reloads.as_mut()) => reload_seen = changed,
            _ = super::hooks::hook_ended() => {}
        }
    }
    Ok(())
}

/// After the database failed `failures` times in a row: logs it, says it in systemd's
/// `STATUS=`, and waits (1 s, doubling up to a minute) or until shutdown.
async fn wait_after_store_error(
    err: &crate::store::StoreError,
    failures: u32,
    shutdown: &CancellationToken,
    notifier: &Notifier,
) {
    let wait = Duration::from_secs(1 << failures.saturating_sub(1).min(6)).min(MAX_SLEEP);
    let retry_in = humantime::format_duration(wait);
    tracing::error!(error = %err, %retry_in, failures, "the database failed; tasks keep their state, retrying");
    notifier.alive();
    liveness::vouch(wait);
    notifier.status(&format!("database error, retrying in {retry_in}: {err}"));
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = shutdown.cancelled() => {}
    }
}

/// Resolves when a new configuration arrives (`true`); never, without a reload channel or
/// once its sender is gone.
async fn reload_signalled(reloads: Option<&mut watch::Receiver<Arc<Config>>>) -> bool {
    if let Some(rx) = reloads {
        if rx.changed().await.is_ok() {
            return true;
        }
    }
    std::future::pending().await
}

/// The engine with a reloaded config: same database, new client, new settings.
fn reconfigure(
    engine: &Engine,
    config: Arc<Config>,
    shutdown: &CancellationToken,
) -> Result<Engine, EngineError> {
    let mut config = (*config).clone();
    if config.storage.database != engine.config.storage.database {
        tracing::warn!("storage.database changed: this takes effect at the next restart");
        config.storage.database = engine.config.storage.database.clone();
    }
    let client = build_client(&config)
        .map_err(EngineError::Client)?
        .stopping_on(shutdown.clone());
    let mut reloaded = Engine::new(
        Arc::new(config),
        engine.store.clone(),
        client,
        engine.clock.clone(),
        engine.lock.clone(),
    );
    reloaded.account = engine.account.clone();
    Ok(reloaded)
}

/// Whether a reload may replace `engine` by `reloaded`: yes when the key is the same; else
/// the new key's account decides (see `account`). A database error leaves it for later.
async fn key_check(engine: &Engine, reloaded: &Engine) -> Result<KeyCheck, EngineError> {
    if reloaded.config.api.key == engine.config.api.key {
        return Ok(KeyCheck::Accepted);
    }
    match reloaded.check_new_key().await {
        Err(EngineError::Store(e)) => {
            tracing::warn!(error = %e, "cannot check the new API key's account: the reload waits for the next wake-up");
            Ok(KeyCheck::Later)
        }
        other => other,
    }
}

/// The API client for a configuration.
pub fn build_client(config: &Config) -> Result<Client, crate::api::ApiError> {
    Client::new(ClientOptions {
        base_url: config.api.base_url.clone(),
        key: config.api.key.clone(),
        timeout: config.api.request_timeout,
        max_requests_per_second: config.api.max_requests_per_second,
        max_retry_after: config.api.max_retry_after,
        max_download_bytes: config.downloads.max_bytes,
    })
}

/// Runs a step; on shutdown, lets it finish within `shutdown_timeout`, else abandons it. A
/// step past [`STEP_LIMIT`] sends nothing more and is given `request_timeout` to end.
async fn step_or_stop(
    engine: &Engine,
    shutdown: &CancellationToken,
    schedule: bool,
    notifier: &Notifier,
) -> Result<Option<StepOutcome>, EngineError> {
    let step_stop = shutdown.child_token();
    let mut bounded = engine.clone();
    bounded.client = engine.client.clone().stopping_on(step_stop.clone());
    let step = bounded.step(schedule);
    tokio::pin!(step);
    tokio::select! {
        outcome = &mut step => outcome.map(Some),
        _ = tokio::time::sleep(STEP_LIMIT) => {
            step_stop.cancel();
            tracing::warn!(limit = %humantime::format_duration(STEP_LIMIT), "the step ran past its limit: nothing more is sent in it");
            match tokio::time::timeout(engine.config.api.request_timeout, step).await {
                Ok(outcome) => outcome.map(Some),
                Err(_) => {
                    tracing::warn!("the step did not end within api.request_timeout: abandoned (its tasks resume at the next step)");
                    Ok(Some(StepOutcome { active: 1, ..StepOutcome::default() }))
                }
            }
        }
        _ = shutdown.cancelled() => {
            notifier.stopping();
            let grace = engine.config.daemon.shutdown_timeout;
            tracing::info!(grace = %humantime::format_duration(grace), "shutting down: letting in-flight work finish");
            match tokio::time::timeout(grace, step).await {
                Ok(outcome) => outcome.map(|_| None),
                Err(_) => {
                    tracing::warn!("in-flight work did not finish within daemon.shutdown_timeout: abandoned (it resumes at the next start)");
                    Ok(None)
                }
            }
        }
    }
}

fn sleep_for(outcome: &StepOutcome, mode: RunMode, now: i64) -> Duration {
    let cap = match mode {
        RunMode::Daemon => MAX_SLEEP,
        RunMode::Once | RunMode::Drain => Duration::from_secs(5),
    };
    match outcome.next_due_at {
        Some(at) => until(now, at).min(cap),
        None => cap,
    }
}

/// When the schedules next need looking at. Computed once per scheduling pass instead of on
/// every step: with 10,000 reports, evaluating every schedule each step would dominate.
#[derive(Debug, Default)]
struct ScheduleClock {
    /// The next fire time of any report (Unix ms), and which report and local time it is.
    next: Option<(i64, String, String)>,
    advanced: bool,
}

impl ScheduleClock {
    fn is_first(&self) -> bool {
        !self.advanced
    }

    fn is_due(&self, now: i64) -> bool {
        match &self.next {
            _ if !self.advanced => true,
            Some((at, _, _)) => now >= *at,
            None => false,
        }
    }

    /// Looks up the next fire time after `now`.
    fn advance(&mut self, config: &Config, now: i64) {
        self.advanced = true;
        self.next = next_fire(config, now).map(|(report, at)| {
            let local = at.strftime("%Y-%m-%d %H:%M %Z").to_string();
            (at.timestamp().as_millisecond(), report, local)
        });
    }

    /// How long until the schedules need looking at again.
    fn until_due(&self, now: i64) -> Duration {
        match &self.next {
            Some((at, _, _)) => until(now, *at),
            None => MAX_SLEEP,
        }
    }
}

/// What the daemon is doing, for systemd's `STATUS=`: tasks in flight and the next due report.
fn status_line(clock: &ScheduleClock, outcome: &StepOutcome) -> String {
    let mut line = format!("{} task(s) in flight", outcome.active);
    if let Some((_, report, local)) = &clock.next {
        line.push_str(&format!(", next due {report} {local}"));
    }
    line
}

async fn summarise(engine: &Engine, since: i64) -> Result<RunSummary, EngineError> {
    let mut summary = RunSummary::default();
    for (state, count) in engine.store.count_changed_since(since).await? {
        let count = usize::try_from(count).unwrap_or(0);
        match state.parse::<State>() {
            Ok(State::Done) => summary.done += count,
            Ok(State::Failed | State::Expired | State::Lost) => summary.failed += count,
            _ => {}
        }
    }
    Ok(summary)
}
