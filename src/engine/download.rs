//! Downloading a completed report: one download slot, the body written into the output
//! directory by `files` (never a partial file under the report's name), then the file's path,
//! size and sha256 recorded and the task's `on_success` hook armed. A download the API keeps
//! failing is retried until the task's `polling.deadline`, then the task is `expired`; a local
//! fault (the output directory unusable, the disk full) is retried for as long as it lasts,
//! since the report is ready and only waits for somewhere to go. A file that arrives whole but
//! fails the report's `verify` check is never delivered; what a failed download costs (nothing
//! for a bad transfer, a new remote task for a bad file) is `transfer`'s.

use super::files::{self, Check, FetchError, Saved, Target};
use super::parts::Downloads;
use super::{backoff, EngineError};
use crate::api::ApiError;
use crate::lifecycle::Observation;
use crate::store::TaskRow;
use crate::verify::Strictness;

impl Downloads {
    /// One download step for a task in `downloading`.
    pub(super) async fn download(&self, task: &TaskRow) -> Result<(), EngineError> {
        let Ok(_slot) = self.slots.acquire().await else {
            return Ok(());
        };
        // Each chunk vouches for the process to the watchdog (see `api::Download`).
        match self.fetch(task).await {
            Ok(file) => self.deliver(task, file).await,
            Err(FetchError::Api(err @ ApiError::Stopped { .. })) => {
                self.ledger.retry_later(task, &err).await
            }
            Err(FetchError::Api(err)) if self.shared.now() > task.deadline_at => {
                let reason = format!(
                    "expired: the download kept failing past polling.deadline ({}): {err}",
                    humantime::format_duration(self.shared.config.polling.deadline)
                );
                self.ledger
                    .observe(task, Observation::DeadlinePassed { reason })
                    .await?;
                Ok(())
            }
            Err(FetchError::Api(err)) => self.transfer_failed(task, &err).await,
            Err(FetchError::Rejected { rejection, sha256 }) => {
                self.rejected(task, &rejection, &sha256).await
            }
            Err(local @ FetchError::Local { .. }) => {
                let step = task.backoff_step + 1;
                let delay = backoff::retry_delay(&self.shared.config.polling, step, None);
                let message = format!("{local}; will retry when the output directory is usable");
                self.ledger.reschedule(task, delay, &message).await
            }
        }
    }

    pub(super) fn verify_level(&self, task: &TaskRow) -> Strictness {
        self.shared
            .report_config(task)
            .map(|r| r.verify)
            .unwrap_or_default()
    }

    async fn fetch(&self, task: &TaskRow) -> Result<Saved, FetchError> {
        let uuid = task.uuid.as_deref().unwrap_or_default();
        let format = task.format;
        let dir = &self.shared.config.storage.output_dir;
        if !dir.is_dir() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|source| FetchError::Local {
                    path: dir.clone(),
                    source,
                })?;
            crate::ownership::match_parent_owner(dir);
        }
        // A refresh is staged and compared with the period's file, which its first task owns.
        let target = if self.versioned(task) {
            Target::staged(dir, task.id)
        } else {
            let target = Target::new(dir, task.id, &task.file_name);
            self.refuse_others_file(task, &target.path).await?;
            target
        };
        let download = self.client.download(uuid, format).await?;
        let check = Check {
            format,
            level: self.verify_level(task),
        };
        let depth = super::pipeline::depth_for(self.shared.config.downloads.max_concurrent);
        files::save(download, target, check, depth).await
    }

    /// A file recorded for another task is never replaced: the download waits (a local fault,
    /// retried) until the report's `file_name` tells its periods apart again.
    async fn refuse_others_file(
        &self,
        task: &TaskRow,
        path: &std::path::Path,
    ) -> Result<(), FetchError> {
        let shown = path.to_string_lossy();
        let owner = self.shared.store.file_owner(&shown, task.id).await;
        let message = match owner {
            Ok(None) => return Ok(()),
            Ok(Some(owner)) => format!(
                "the file is task {}'s ({} {}): not replacing it; give report {} a file_name that tells its periods apart and reload",
                owner.id, owner.report, owner.period_from, task.report
            ),
            Err(e) => format!("cannot check who owns the file: {e}"),
        };
        Err(FetchError::Local {
            path: path.to_path_buf(),
            source: std::io::Error::other(message),
        })
    }
}
