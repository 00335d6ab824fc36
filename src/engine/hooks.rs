//! Hooks: a report's `on_success` / `on_failure` command (an argv array, no shell) runs after
//! the task ends, with REPORT_NAME, REPORT_PATH, REPORT_UUID, REPORT_CLIENT_ID, PERIOD_FROM, PERIOD_TO,
//! REPORT_SHA256, REPORT_STATUS, REPORT_ROWS and REPORT_COLUMNS (empty when the file was not
//! verified) in its environment and `hook_timeout` to finish; `on_restated` runs instead of
//! `on_success` when a refresh brought a new version, with REPORT_VERSION and
//! REPORT_PREVIOUS_SHA256 besides, and REPORT_OBJECT_URLS (the `s3://` URLs of the task's
//! delivered objects, space-separated: a hook runs once every destination has the file, see
//! `upload`). The task's
//! `hook_state` is `pending` from the moment it ends, so a crash cannot skip a hook; the exit
//! status and the end of stderr go into the task's history (see `store::hook_runs` for a
//! `retry-hook` or `retry` issued while it runs).
//!
//! Hooks never hold up the engine: each runs in its own task (on the owner's tracker, see
//! `owner`), at most `hook_pool::HOOK_SLOTS` at once per engine, while steps go on polling and
//! downloading. A hook runs in its own process group (see `hook_process`); it does not inherit
//! the notify socket, the watchdog variables or `GCORE_API_KEY` (the `AWS_*` variables are left
//! as before destinations: hooks that copy files with the AWS CLI use them). It registers its
//! wait with the watchdog for its `hook_timeout` (and no longer), and its log lines carry the
//! task's span like every other line about the task.

use std::process::Stdio;

use tracing::Instrument;

use super::hook_process::{spawn_in_group, supervise, Ended, DRAIN};
use super::parts::Hooks;
use super::EngineError;
use crate::service;
use crate::store::{State, TaskRow};

/// How much of a hook's stderr a log line quotes (the history keeps more).
const STDERR_LOGGED: usize = 2000;
/// What a hook must not inherit from the daemon: the service-manager protocol and the key.
const NOT_INHERITED: [&str; 4] = [
    service::PROTOCOL_VARIABLES[0],
    service::PROTOCOL_VARIABLES[1],
    service::PROTOCOL_VARIABLES[2],
    "GCORE_API_KEY",
];

impl Hooks {
    /// Starts armed hooks in their own tasks, as many as there are free slots. Returns whether
    /// any hook is running or still armed (a one-shot run waits for them).
    pub(super) async fn start_pending_hooks(&self) -> Result<bool, EngineError> {
        let pool = &self.owner.hooks;
        let busy = pool.running();
        let want = pool.free_slots() + busy + 1;
        let mut outstanding = busy > 0;
        for task in self.shared.store.pending_hooks(want as i64).await? {
            outstanding = true;
            if pool.is_running(task.id) {
                continue; // re-armed while it runs: started again once it ends
            }
            let Some(slot) = pool.take_slot() else {
                break;
            };
            if !self.shared.store.claim_hook(task.id).await? {
                continue;
            }
            pool.started(task.id);
            let (hooks, pool) = (self.clone(), pool.clone());
            let span = tracing::info_span!("task", id = task.id, report = %task.report,
                period = %task.period_from, task_uuid = task.uuid.as_deref().unwrap_or(""));
            self.owner.tasks.spawn(
                async move {
                    tokio::select! {
                        recorded = hooks.run_and_record(&task) => if let Err(e) = recorded {
                            tracing::error!(error = %e, "the hook's outcome could not be recorded; it runs again at the next start");
                        },
                        // Dropping the supervision kills the hook's process group.
                        _ = pool.killed() => {}
                    }
                    pool.finished(task.id, slot);
                }
                .instrument(span),
            );
        }
        Ok(outstanding)
    }

    async fn run_and_record(&self, task: &TaskRow) -> Result<(), EngineError> {
        if self.shared.report_config(task).is_none() {
            let message = format!(
                "hook not run: report {} is no longer in the config",
                task.report
            );
            tracing::warn!("{message}");
            let now = self.shared.now();
            return Ok(self.shared.store.skip_hook(task.id, &message, now).await?);
        }
        let (ok, outcome, stderr) = self.run_hook(task).await;
        let logged = format!("{outcome}{}", said(&stderr, STDERR_LOGGED));
        let message = format!("{outcome}{}", said(&stderr, usize::MAX));
        if ok {
            tracing::info!("{logged}");
        } else {
            tracing::error!(
                "{logged}; rerun with `gcore-reportd retry-hook {}`",
                task.id
            );
        }
        Ok(self
            .shared
            .store
            .finish_hook(task.id, ok, &message, self.shared.now())
            .await?)
    }

    /// Runs the task's hook: whether it succeeded, how it ended, the end of its stderr.
    async fn run_hook(&self, task: &TaskRow) -> (bool, String, Vec<u8>) {
        let quiet = |ok: bool, outcome: String| (ok, outcome, Vec::new());
        let Some(report) = self.shared.report_config(task) else {
            return quiet(
                false,
                "hook not run: the report is no longer configured".into(),
            );
        };
        let restated = task.version.is_some_and(|v| v > 1);
        let (kind, argv) = match task.state {
            State::Done if restated => ("on_restated", report.on_restated()),
            State::Done => ("on_success", report.on_success()),
            _ => ("on_failure", report.on_failure()),
        };
        let previous = match task.version {
            Some(v) if restated => self
                .shared
                .store
                .version_sha256(&task.request, v - 1)
                .await
                .ok()
                .flatten(),
            _ => None,
        };
        let Some((program, args)) = argv.split_first() else {
            return quiet(true, format!("hook skipped: no {kind} configured any more"));
        };
        let what = format!("{kind} hook {program:?}");
        let urls = self.destinations.object_urls(task).await;
        let mut command = hook_command(program, args, task, previous);
        command.env("REPORT_OBJECT_URLS", urls);
        let child = match spawn_in_group(command) {
            Ok(child) => child,
            Err(e) => return quiet(false, format!("{what} could not start: {e}")),
        };
        let timeout = report.hook_timeout();
        let _waiting = self
            .owner
            .liveness
            .background("hook", timeout.saturating_add(DRAIN));
        match supervise(child, timeout).await {
            Ended::TimedOut => quiet(
                false,
                format!(
                    "{what} timed out after {} and was killed",
                    humantime::format_duration(timeout)
                ),
            ),
            Ended::WaitFailed(e) => quiet(false, format!("{what} failed: {e}")),
            Ended::Exited(status, stderr) => (
                status.success(),
                format!("{what} exited with {status}"),
                stderr,
            ),
        }
    }
}

/// The hook's command: the task's variables, no stdin or stdout (`hook_process` puts it in its
/// own process group).
fn hook_command(
    program: &str,
    args: &[String],
    task: &TaskRow,
    previous_sha256: Option<String>,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .envs(hook_env(task))
        .env(
            "REPORT_PREVIOUS_SHA256",
            previous_sha256.unwrap_or_default(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    command
}

/// The end of what the hook wrote to stderr, at most `max` bytes of it ("" when it said
/// nothing).
fn said(stderr: &[u8], max: usize) -> String {
    let end = &stderr[stderr.len().saturating_sub(max)..];
    let tail = String::from_utf8_lossy(end).trim().to_string();
    if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr: {tail}")
    }
}

/// The environment a hook sees.
fn hook_env(task: &TaskRow) -> Vec<(&'static str, String)> {
    vec![
        ("REPORT_NAME", task.report.clone()),
        ("REPORT_PATH", task.file_path.clone().unwrap_or_default()),
        ("REPORT_UUID", task.uuid.clone().unwrap_or_default()),
        ("PERIOD_FROM", task.period_from.clone()),
        ("PERIOD_TO", task.period_to.clone()),
        ("REPORT_SHA256", task.sha256.clone().unwrap_or_default()),
        ("REPORT_STATUS", task.state.to_string()),
        (
            "REPORT_ROWS",
            task.data_rows.map(|n| n.to_string()).unwrap_or_default(),
        ),
        (
            "REPORT_COLUMNS",
            task.data_columns.map(|n| n.to_string()).unwrap_or_default(),
        ),
        (
            "REPORT_VERSION",
            task.version.map(|n| n.to_string()).unwrap_or_default(),
        ),
        (
            "REPORT_CLIENT_ID",
            task.client_id().map(|n| n.to_string()).unwrap_or_default(),
        ),
    ]
}
