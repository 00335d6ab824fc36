//! What a verified download becomes. A report without refreshes is delivered straight under
//! its name (version 1). A report with a `refresh` list has each of its files staged first and
//! compared with the period's current one: the first becomes version 1; a refresh with the same
//! sha256 only confirms the current file ("confirmed unchanged at …"); one that differs becomes
//! the period's file, the old one kept as a version (see `versions`), and arms `on_restated`;
//! one whose remote task was created before the current version's is older content and is not
//! delivered (see `outcome`). Versions are numbered in delivery order, the highest is current.
//! An empty report under `on_empty = "refetch"` is not delivered: the next refresh asks again.
//! The period's manifest is rewritten before the database records the outcome (with the
//! manifest's uploads to the report's destinations), and every file step can be repeated, so
//! a crash at any point ends in the same files and record.

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::files::{FetchError, Saved};
use super::outcome::{decide, describe, downloaded_message, place, Current, Outcome};
use super::parts::Downloads;
use super::upload_plan::Previous;
use super::{versions, EngineError};
use crate::config::OnEmpty;
use crate::store::{Delivery, FileRecord, State, TaskRow};

impl Downloads {
    /// Whether `task`'s file is staged and compared before it is placed.
    pub(super) fn versioned(&self, task: &TaskRow) -> bool {
        task.refresh > 0
            || self
                .shared
                .report_config(task)
                .is_some_and(|r| !r.refresh.is_empty())
    }

    /// Records (and for a versioned report first places) a downloaded, verified file.
    pub(super) async fn deliver(&self, task: &TaskRow, file: Saved) -> Result<(), EngineError> {
        let shape = file.shape.map(|s| (count(s.rows), count(s.columns)));
        if shape.is_some_and(|(rows, _)| rows == 0) {
            crate::metrics::global().add_empty();
        }
        let path = file.path.to_string_lossy().into_owned();
        let record = FileRecord {
            path: &path,
            bytes: count(file.bytes),
            sha256: &file.sha256,
            shape,
        };
        if self.versioned(task) {
            return self.deliver_versioned(task, &file, record).await;
        }
        let message = downloaded_message(&record);
        // Version 1, unless the period has versions already (its report had a refresh list
        // once): the file written over the period's name is then the newest.
        let version = self.shared.store.next_version(&task.request).await?;
        let replaced = match version {
            1 => None,
            v => {
                self.shared
                    .store
                    .version_sha256(&task.request, v - 1)
                    .await?
            }
        };
        let previous = replaced.as_deref().map(|sha256| Previous {
            version: version - 1,
            bytes: 0,
            sha256,
            kept_at: None,
        });
        let uploads = self.destinations.plan_uploads(
            task,
            version,
            &file.path,
            (record.bytes, &file.sha256),
            previous,
        );
        let delivery = Delivery {
            file: record,
            path: Some(&path),
            version: Some(version),
            hook: self
                .shared
                .report_config(task)
                .is_some_and(|r| !r.on_success().is_empty()),
            next_refresh: None,
            message: &message,
            uploads: &uploads,
        };
        self.shared
            .store
            .record_delivery(task.id, &delivery, self.shared.now())
            .await?;
        tracing::info!(path = %path, bytes = record.bytes, sha256 = %file.sha256, "report downloaded");
        Ok(())
    }

    async fn deliver_versioned(
        &self,
        task: &TaskRow,
        file: &Saved,
        record: FileRecord<'_>,
    ) -> Result<(), EngineError> {
        let report = self.shared.report_config(task);
        let period_file = self.shared.config.storage.output_dir.join(&task.file_name);
        let refetch = record.shape.is_some_and(|(rows, _)| rows == 0)
            && report.is_some_and(|r| r.on_empty == OnEmpty::Refetch);
        let current_row = self.shared.store.current_version(&task.request).await?;
        let current = current_row.as_ref().and_then(Current::of);
        let outcome = decide(refetch, current, task.remote_created_at, &file.sha256);
        // The period's files are moved only by the task's holder (several hosts: see `lease`).
        self.shared.store.still_holds(task.id).await?;
        if let Err(source) = place(&outcome, &file.path, &period_file).await {
            let local = FetchError::Local {
                path: period_file,
                source,
            };
            let message =
                format!("{local}; will download again when the output directory is usable");
            let delay = super::backoff::retry_delay(
                &self.shared.config.polling,
                task.backoff_step + 1,
                None,
            );
            return self.ledger.reschedule(task, delay, &message).await;
        }
        let now = self.shared.now();
        let (version, hook, message) = describe(&outcome, &record, &period_file, now);
        let hook = hook
            && report.is_some_and(|r| match outcome {
                Outcome::Restated(_) => !r.on_restated().is_empty(),
                _ => !r.on_success().is_empty(),
            });
        let period_path = period_file.to_string_lossy().into_owned();
        let kept = match outcome {
            Outcome::Restated(v) => Some(versions::version_path(&period_file, v)),
            _ => None,
        };
        let previous = match (&outcome, current_row.as_ref()) {
            (Outcome::Restated(v), Some(row)) => row.sha256.as_deref().map(|sha256| Previous {
                version: *v,
                bytes: row.bytes.unwrap_or(0),
                sha256,
                kept_at: kept.as_deref(),
            }),
            _ => None,
        };
        let mut uploads = match version {
            Some(v) => self.destinations.plan_uploads(
                task,
                v,
                &period_file,
                (record.bytes, record.sha256),
                previous,
            ),
            None => Vec::new(),
        };
        let manifest = self
            .write_manifest(task, version, &record, now, &period_file)
            .await;
        // The rewritten manifest goes to each destination too, under the version now current.
        let current_version = version.or(current_row.as_ref().and_then(|r| r.version));
        if let (Some(manifest), Some(v)) = (manifest, current_version) {
            uploads.extend(self.destinations.plan_manifest_uploads(task, v, &manifest));
        }
        let delivery = Delivery {
            file: record,
            path: (!matches!(outcome, Outcome::EmptyRefetched)).then_some(period_path.as_str()),
            version,
            hook,
            next_refresh: self.first_refresh(task, now),
            message: &message,
            uploads: &uploads,
        };
        self.shared
            .store
            .record_delivery(task.id, &delivery, now)
            .await?;
        if matches!(outcome, Outcome::Restated(_)) {
            crate::metrics::global().add_restated();
        }
        tracing::info!(path = %period_path, refresh = task.refresh, "{message}");
        Ok(())
    }

    /// On a period's first task: when its first refresh is due (offsets count from now, the
    /// first delivery).
    fn first_refresh(&self, task: &TaskRow, now: i64) -> Option<(i64, i64)> {
        let first = self.shared.report_config(task)?.refresh.first()?;
        (task.refresh == 0).then(|| (crate::clock::after(now, *first), 1))
    }

    /// Rewrites the period's manifest with version `version` of `file` as task `task`'s
    /// outcome; what was written (to upload), or `None`. A failure is logged: the files and
    /// the record are what count, and the next version rewrites it.
    async fn write_manifest(
        &self,
        task: &TaskRow,
        version: Option<i64>,
        file: &FileRecord<'_>,
        now: i64,
        period_file: &Path,
    ) -> Option<Written> {
        let mut tasks = match self.shared.store.period_tasks(&task.request).await {
            Ok(tasks) => tasks,
            Err(e) => {
                tracing::warn!(error = %e, "the period's manifest was not rewritten");
                return None;
            }
        };
        for t in tasks.iter_mut().filter(|t| t.id == task.id) {
            t.state = State::Done;
            t.version = version;
            t.sha256 = Some(file.sha256.to_string());
            t.bytes = Some(file.bytes);
            (t.data_rows, t.data_columns) = file.shape.unzip();
            t.delivered_at = Some(now);
        }
        if tasks.iter().all(|t| t.version.is_none()) {
            return None; // nothing delivered yet: no manifest
        }
        let bytes = versions::manifest_bytes(&versions::manifest(&tasks, period_file));
        let written = Written {
            path: versions::manifest_path(period_file),
            bytes: count(bytes.len() as u64),
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        };
        let path = period_file.to_path_buf();
        let done = tokio::task::spawn_blocking(move || versions::write_manifest(&path, &bytes));
        if !matches!(done.await, Ok(Ok(()))) {
            tracing::warn!("the period's manifest could not be written");
            return None;
        }
        Some(written)
    }
}

/// A manifest as written: where, its size and sha256.
pub(super) struct Written {
    pub path: PathBuf,
    pub bytes: i64,
    pub sha256: String,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
