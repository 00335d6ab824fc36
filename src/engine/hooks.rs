//! Hooks: a report's `on_success` / `on_failure` command (an argv array, no shell) runs after
//! the task ends, with REPORT_NAME, REPORT_PATH, REPORT_UUID, PERIOD_FROM, PERIOD_TO,
//! REPORT_SHA256, REPORT_STATUS, REPORT_ROWS and REPORT_COLUMNS (empty when the file was not
//! verified) in its environment; `on_restated` runs instead of `on_success` when a refresh
//! brought a new version, with REPORT_VERSION and REPORT_PREVIOUS_SHA256 besides and `hook_timeout` to finish. The task's
//! `hook_state` is `pending` from the moment it ends, so a crash cannot skip a hook; the exit
//! status and the end of stderr go into the task's history.
//!
//! A hook runs in its own process group; when it overstays `hook_timeout`, or the daemon stops
//! while it runs, the whole group is killed, so nothing it started outlives it. It does not
//! inherit the notify socket, the watchdog variables or `GCORE_API_KEY`. While it runs the
//! systemd watchdog is pinged for it (its timeout bounds it), and its log lines carry the
//! task's span like every other line about the task.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Child;
use tracing::Instrument;

use super::{Engine, EngineError};
use crate::service;
use crate::store::{State, TaskRow};

/// How much of a hook's stderr is kept in the history.
const STDERR_KEPT: usize = 2000;

/// What a hook must not inherit from the daemon: the service-manager protocol and the key.
const NOT_INHERITED: [&str; 4] = [
    service::PROTOCOL_VARIABLES[0],
    service::PROTOCOL_VARIABLES[1],
    service::PROTOCOL_VARIABLES[2],
    "GCORE_API_KEY",
];

impl Engine {
    /// Runs every pending hook, one after the other.
    pub(super) async fn run_pending_hooks(&self) -> Result<(), EngineError> {
        for task in self.store.pending_hooks(64).await? {
            let span = tracing::info_span!("task", id = task.id, report = %task.report,
                period = %task.period_from, task_uuid = task.uuid.as_deref().unwrap_or(""));
            let result = self.run_and_record(&task).instrument(span.clone()).await;
            span.in_scope(|| super::tolerate_conflict(result))?;
        }
        Ok(())
    }

    async fn run_and_record(&self, task: &TaskRow) -> Result<(), EngineError> {
        let (ok, message) = service::keep_alive_during(self.run_hook(task)).await;
        if ok {
            tracing::info!("{message}");
        } else {
            tracing::error!(
                "{message}; rerun with `gcore-reportd retry-hook {}`",
                task.id
            );
        }
        Ok(self
            .store
            .record_hook(task.id, task.state, ok, &message, self.now())
            .await?)
    }

    async fn run_hook(&self, task: &TaskRow) -> (bool, String) {
        let Some(report) = self.report_config(task) else {
            return (
                true,
                "hook skipped: the report is no longer configured".into(),
            );
        };
        let restated = task.version.is_some_and(|v| v > 1);
        let (kind, argv) = match task.state {
            State::Done if restated => ("on_restated", &report.on_restated),
            State::Done => ("on_success", &report.on_success),
            _ => ("on_failure", &report.on_failure),
        };
        let previous = match task.version {
            Some(v) if restated => self
                .store
                .version_sha256(&task.request, v - 1)
                .await
                .ok()
                .flatten(),
            _ => None,
        };
        let Some((program, args)) = argv.split_first() else {
            return (true, format!("hook skipped: no {kind} configured any more"));
        };
        let what = format!("{kind} hook {program:?}");
        let child = match hook_command(program, args, task, previous).spawn() {
            Ok(child) => child,
            Err(e) => return (false, format!("{what} could not start: {e}")),
        };
        match supervise(child, report.hook_timeout).await {
            Ended::TimedOut => (
                false,
                format!(
                    "{what} timed out after {} and was killed",
                    humantime::format_duration(report.hook_timeout)
                ),
            ),
            Ended::WaitFailed(e) => (false, format!("{what} failed: {e}")),
            Ended::Exited(status, stderr) => (
                status.success(),
                format!("{what} exited with {status}{}", said(&stderr)),
            ),
        }
    }
}

/// The hook's command: its own process group, the task's variables, no stdin or stdout.
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
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in NOT_INHERITED {
        command.env_remove(name);
    }
    command
}

/// How a hook ended.
enum Ended {
    Exited(ExitStatus, Vec<u8>),
    WaitFailed(std::io::Error),
    TimedOut,
}

/// Waits for the hook (reading its stderr) for at most `timeout`; past it, or if this future is
/// dropped first, the hook's process group is killed.
async fn supervise(mut child: Child, timeout: Duration) -> Ended {
    let mut group = GroupKiller(child.id().and_then(|pid| i32::try_from(pid).ok()));
    let mut stderr = child.stderr.take();
    let wait = async {
        let mut err = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_end(&mut err).await;
        }
        (child.wait().await, err)
    };
    let ended = match tokio::time::timeout(timeout, wait).await {
        Err(_) => return Ended::TimedOut,
        Ok((Err(e), _)) => Ended::WaitFailed(e),
        Ok((Ok(status), err)) => Ended::Exited(status, err),
    };
    group.disarm();
    ended
}

/// Kills a process group with SIGKILL when dropped, unless disarmed once its leader has ended.
struct GroupKiller(Option<i32>);

impl GroupKiller {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) only sends a signal. The leader has not been reaped yet (we would
            // have disarmed), so the group id cannot have been reused.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

/// The end of a hook's stderr, for the history ("" when it said nothing).
fn said(stderr: &[u8]) -> String {
    let tail = String::from_utf8_lossy(&stderr[stderr.len().saturating_sub(STDERR_KEPT)..])
        .trim()
        .to_string();
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
    ]
}
