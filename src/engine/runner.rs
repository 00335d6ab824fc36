//! The loop around [`Engine::step`]: clean up after a crash, then step, sleep until the next
//! due task or schedule (or a reloaded config, or a hook's end), and stop when told to
//! (shutdown token) or, in `--once` mode, when nothing is left in flight. Each long wait of the
//! loop (a step, a sleep, the hooks' grace) registers in the owner's liveness registry with its
//! own bound; how the loop is doing goes out as [`Progress`] events.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::account::KeyCheck;
use super::bounded_step::step_or_stop;
use super::open::{key_check, open_owned_engine, reconfigure};
use super::owner::{Owner, Progress, Reporter};
pub use super::pacing::RunMode;
use super::pacing::{
    reload_signalled, sleep_for, status_line, wait_after_store_error, ScheduleClock,
};
pub use super::run_report::RunSummary;
use super::run_report::{log_changes, summarise, waited_out};
use super::{files::remove_partial_files, Engine, EngineError};
use crate::clock::Clock;
use crate::config::Config;

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

/// [`run`], also taking new configurations (SIGHUP) from `reloads` between steps. The engine
/// owns its tasks and waits for them before returning.
pub async fn run_with_reloads(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
    mode: RunMode,
    reloads: Option<watch::Receiver<Arc<Config>>>,
) -> Result<RunSummary, EngineError> {
    let owner = Owner::default();
    let tasks = owner.tasks().clone();
    let grace = config.daemon.shutdown_timeout;
    let engine = open_owned_engine(config, clock, owner).await?;
    let result = run_owned(engine, shutdown, mode, reloads, None).await;
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!("the engine's tasks did not end within daemon.shutdown_timeout");
    }
    result
}

/// Runs an engine opened with its owner (see [`super::open_owned_engine`]) until `shutdown`
/// (or, in `Once` and `Drain` modes, until no task is in flight), saying how it goes on
/// `events`. Its hooks have ended (or were killed past the grace) when it returns; the owner's
/// tracker holds nothing of it but the recorder of API pauses, which ends with the engine.
pub async fn run_owned(
    mut engine: Engine,
    shutdown: CancellationToken,
    mode: RunMode,
    reloads: Option<watch::Receiver<Arc<Config>>>,
    events: Option<mpsc::UnboundedSender<Progress>>,
) -> Result<RunSummary, EngineError> {
    let reporter = Reporter::new(events);
    // From the shutdown signal on, nothing new is sent; requests in flight may finish.
    engine = engine.with_client(engine.base.client.clone().stopping_on(shutdown.clone()));
    engine.parts.remote.check_account().await?;
    log_changes(&engine).await?;
    // One host: what a crash interrupted is its own. Several: each step re-arms what a dead
    // host left (`Engine::step`), and another host's pending uploads keep their times.
    if engine.base.lease.is_none() {
        let rearmed = engine.store().rearm_interrupted_hooks().await?;
        if rearmed > 0 {
            tracing::info!(rearmed, "hooks interrupted by a crash run again");
        }
        engine.store().uploads_due_at(engine.now()).await?; // a start tries pending uploads at once
    }
    reporter.say(Progress::Ready("database ready, starting work".into()));
    let grace = engine.config().daemon.shutdown_timeout;
    let started = engine.now();
    let mut stopped_at = None;
    let result = drive(
        engine.clone(),
        &shutdown,
        mode,
        &reporter,
        reloads,
        &mut stopped_at,
    )
    .await;
    // Running hooks get the rest of the shutdown's grace, or the grace after a one-shot run.
    let deadline = stopped_at.unwrap_or_else(Instant::now) + grace;
    {
        let _waiting = engine
            .base
            .owner
            .liveness
            .wait_until("hooks to end", deadline);
        engine.base.owner.hooks.wait_until(deadline).await;
    }
    reporter.say(Progress::Stopping);
    if engine.base.lease.is_none() {
        let removed = remove_partial_files(&engine.config().storage.output_dir, None);
        if removed > 0 {
            tracing::info!(removed, "removed temporary files of interrupted downloads");
        }
    }
    let summary = summarise(&engine, started).await;
    if let Some(lease) = &engine.base.lease {
        lease.leave().await;
    }
    engine.store().close().await;
    result?;
    summary
}

/// Steps and sleeps until told to stop; `stopped_at` is when it saw the shutdown (the grace
/// runs from then).
async fn drive(
    mut engine: Engine,
    shutdown: &CancellationToken,
    mode: RunMode,
    reporter: &Reporter,
    mut reloads: Option<watch::Receiver<Arc<Config>>>,
    stopped_at: &mut Option<Instant>,
) -> Result<(), EngineError> {
    let mut clock = ScheduleClock::default();
    let mut reload_seen = false;
    let (mut failures, started) = (0u32, engine.now());
    while !shutdown.is_cancelled() {
        if let Some(rx) = reloads.as_mut() {
            if std::mem::take(&mut reload_seen) || rx.has_changed().unwrap_or(false) {
                let config = rx.borrow_and_update().clone();
                let reloaded = reconfigure(&engine, config, shutdown)?;
                match key_check(&engine, &reloaded).await? {
                    KeyCheck::Accepted => {
                        tracing::info!(
                            reports = reloaded.config().reports.len(),
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
            clock.advance(engine.config(), now);
        }
        let outcome = match step_or_stop(engine, shutdown, schedule, reporter, stopped_at).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return Ok(()),
            // The daemon outlives a database it cannot use for a while (a lock held past
            // `storage.busy_timeout`, a full disk): the tasks keep their state in it, and the
            // whole step, schedules included, is tried again.
            Err(EngineError::Store(e)) if mode == RunMode::Daemon => {
                failures += 1;
                clock = ScheduleClock::default();
                wait_after_store_error(engine, &e, failures, shutdown, reporter).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        failures = 0;
        reporter.say(Progress::Status(status_line(&clock, &outcome)));
        if mode != RunMode::Daemon && outcome.active == 0 && !outcome.hooks_busy {
            return Ok(());
        }
        if mode != RunMode::Daemon && waited_out(engine, started).await? {
            return Ok(());
        }
        // A one-shot run cannot wait out `auth_retry_interval`: it stops, and the next run
        // (with the key replaced, or after the interval) resumes the tasks.
        if let (RunMode::Once | RunMode::Drain, Some(refusal)) = (mode, &outcome.auth_refused) {
            return Err(EngineError::CredentialsRefused(refusal.clone()));
        }
        let mut wait = sleep_for(&outcome, mode, engine.now());
        if mode == RunMode::Daemon {
            wait = wait.min(clock.until_due(engine.now()));
        }
        // Another host's tasks become this one's when its lease lapses: look for them.
        if engine.base.lease.is_some() {
            wait = wait.min(engine.config().cluster.lease / 4);
        }
        // Sleeping until the next due work is the loop's legitimate wait, for that long.
        let _sleeping = engine
            .base
            .owner
            .liveness
            .wait("sleep until due work", wait);
        // A reload wakes the loop at once: a new report must not wait for the next due task;
        // so does a hook's end (a slot for the next, or the end of a one-shot run).
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => *stopped_at = Some(Instant::now()),
            changed = reload_signalled(reloads.as_mut()) => reload_seen = changed,
            _ = engine.base.owner.hooks.ended() => {}
        }
    }
    stopped_at.get_or_insert_with(Instant::now);
    Ok(())
}
