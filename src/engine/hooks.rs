//! Hooks: a report's `on_success` / `on_failure` command (an argv array, no shell) runs after
//! the task ends, with REPORT_NAME, REPORT_PATH, REPORT_UUID, PERIOD_FROM, PERIOD_TO,
//! REPORT_SHA256 and REPORT_STATUS in its environment and `hook_timeout` to finish. The task's
//! `hook_state` is `pending` from the moment it ends, so a crash cannot skip a hook; the exit
//! status and the end of stderr go into the task's history.

use std::process::Stdio;

use tokio::io::AsyncReadExt;

use super::{now_ms, Engine, EngineError};
use crate::store::{State, TaskRow};

/// How much of a hook's stderr is kept in the history.
const STDERR_KEPT: usize = 2000;

impl Engine {
    /// Runs every pending hook, one after the other.
    pub(super) async fn run_pending_hooks(&self) -> Result<(), EngineError> {
        for task in self.store.pending_hooks(64).await? {
            let (ok, message) = self.run_hook(&task).await;
            if ok {
                tracing::info!(task = task.id, "{message}");
            } else {
                tracing::error!(
                    task = task.id,
                    "{message}; rerun with `gcore-reportd retry-hook {}`",
                    task.id
                );
            }
            self.store
                .record_hook(task.id, ok, &message, now_ms())
                .await?;
        }
        Ok(())
    }

    async fn run_hook(&self, task: &TaskRow) -> (bool, String) {
        let Some(report) = self.report_config(task) else {
            return (
                true,
                "hook skipped: the report is no longer configured".into(),
            );
        };
        let (kind, argv) = match task.state() {
            State::Done => ("on_success", &report.on_success),
            _ => ("on_failure", &report.on_failure),
        };
        let Some((program, args)) = argv.split_first() else {
            return (true, format!("hook skipped: no {kind} configured any more"));
        };
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .envs(hook_env(task))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                return (
                    false,
                    format!("{kind} hook {program:?} could not start: {e}"),
                )
            }
        };
        let mut stderr = child.stderr.take();
        let wait = async {
            let mut err = Vec::new();
            if let Some(pipe) = stderr.as_mut() {
                let _ = pipe.read_to_end(&mut err).await;
            }
            (child.wait().await, err)
        };
        match tokio::time::timeout(report.hook_timeout, wait).await {
            Err(_) => (
                false,
                format!(
                    "{kind} hook {program:?} timed out after {} and was killed",
                    humantime::format_duration(report.hook_timeout)
                ),
            ),
            Ok((Err(e), _)) => (false, format!("{kind} hook {program:?} failed: {e}")),
            Ok((Ok(status), err)) => {
                let tail = String::from_utf8_lossy(&err[err.len().saturating_sub(STDERR_KEPT)..])
                    .trim()
                    .to_string();
                let said = if tail.is_empty() {
                    String::new()
                } else {
                    format!("; stderr: {tail}")
                };
                (
                    status.success(),
                    format!("{kind} hook {program:?} exited with {status}{said}"),
                )
            }
        }
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
        ("REPORT_STATUS", task.state.clone()),
    ]
}
