//! Downloading a completed report: streamed in chunks to a hidden temporary file in the output
//! directory (mode 0640) while its sha256 is computed, length checked against Content-Length,
//! fsynced, renamed into place and the directory fsynced, then recorded. A reader never sees a
//! partial file; a crash leaves at most a `.gcore-reportd-*.part` file, removed at start.
//! A download the API keeps failing is retried until the task's `polling.deadline`, then the
//! task is `expired`; a local fault (the output directory unusable, the disk full) is retried
//! for as long as it lasts, since the report is ready and only waits for somewhere to go.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use std::os::unix::fs::OpenOptionsExt;

use super::{backoff, now_ms, Engine, EngineError};
use crate::api::{ApiError, Download, Operation};
use crate::crashpoint;
use crate::format::ReportFormat;
use crate::store::{FileRecord, State, TaskRow};

const PART_PREFIX: &str = ".gcore-reportd-";
const PART_SUFFIX: &str = ".part";

/// Why a download attempt did not produce a file.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("cannot write {path}: {source}")]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
}

struct Fetched {
    path: PathBuf,
    bytes: u64,
    sha256: String,
}

impl Engine {
    /// One download step for a task in `downloading`.
    pub(super) async fn download(&self, task: &TaskRow) -> Result<(), EngineError> {
        let Ok(_slot) = self.download_slots.acquire().await else {
            return Ok(());
        };
        // A long download must not look like a hung loop to the systemd watchdog.
        match crate::service::keep_alive_during(self.fetch(task)).await {
            Ok(file) => {
                let path = file.path.to_string_lossy().into_owned();
                let bytes = i64::try_from(file.bytes).unwrap_or(i64::MAX);
                let record = FileRecord {
                    path: &path,
                    bytes,
                    sha256: &file.sha256,
                };
                let hook = self
                    .report_config(task)
                    .is_some_and(|r| !r.on_success.is_empty());
                self.store
                    .record_downloaded(task.id, &record, hook, now_ms())
                    .await?;
                tracing::info!(path = %path, bytes, sha256 = %file.sha256, "report downloaded");
                Ok(())
            }
            Err(FetchError::Api(err @ ApiError::Stopped { .. })) => {
                self.retry_later(task, &err).await
            }
            Err(FetchError::Api(err)) if now_ms() > task.deadline_at => {
                let reason = format!(
                    "expired: the download kept failing past polling.deadline ({}): {err}",
                    humantime::format_duration(self.config.polling.deadline)
                );
                tracing::warn!(%reason, "task expired");
                self.end_task(task, State::Expired, &reason).await
            }
            Err(FetchError::Api(err)) => self.retry_later(task, &err).await,
            Err(local @ FetchError::Local { .. }) => {
                let delay = backoff::retry_delay(&self.config.polling, task.tries + 1, None);
                let message = format!("{local}; will retry when the output directory is usable");
                self.reschedule(task, delay, &message).await
            }
        }
    }

    async fn fetch(&self, task: &TaskRow) -> Result<Fetched, FetchError> {
        let uuid = task.uuid.as_deref().unwrap_or_default();
        let format: ReportFormat = task.format.parse().unwrap_or(ReportFormat::Csv);
        let dir = &self.config.storage.output_dir;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| FetchError::Local {
                path: dir.clone(),
                source,
            })?;
        let download = self.client.download(uuid, format).await?;
        let part = dir.join(format!(
            "{PART_PREFIX}{}-{}{PART_SUFFIX}",
            task.id,
            uuid::Uuid::new_v4().simple()
        ));
        let result = write_part(&part, download).await;
        let (bytes, sha256) = match result {
            Ok(done) => done,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        crashpoint::hit("download.before_rename");
        let path = dir.join(&task.file_name);
        publish(&part, &path, dir).await?;
        crashpoint::hit("download.renamed");
        Ok(Fetched {
            path,
            bytes,
            sha256,
        })
    }
}

/// Chunks in flight between the network and the disk writer: bounds the memory a download
/// uses (this many of the HTTP client's chunks) whatever the report's size. Four keep both
/// sides busy; more only raise the peak RSS.
const PIPELINE_DEPTH: usize = 4;

/// Streams the body into `part`: the network is read here while a blocking thread hashes and
/// writes the chunks already received, so both proceed at once. Checks the length; fsyncs.
async fn write_part(part: &Path, mut download: Download) -> Result<(u64, String), FetchError> {
    let local = |source| FetchError::Local {
        path: part.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(part)
        .map_err(local)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(PIPELINE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || write_and_hash(file, rx));
    let mut received = 0u64;
    let network = async {
        while let Some(chunk) = download.chunk().await? {
            received += chunk.len() as u64;
            crate::metrics::global().add_downloaded(chunk.len() as u64);
            crashpoint::hit("download.chunk");
            if tx.send(chunk).await.is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        Ok::<(), ApiError>(())
    }
    .await;
    drop(tx);
    let written = writer
        .await
        .map_err(|e| local(std::io::Error::other(e.to_string())))?
        .map_err(local)?;
    network?;
    check_length(received, download.expected_len)?;
    Ok(written)
}

/// The disk side of a download: hashes and writes each chunk, then fsyncs the file.
fn write_and_hash(
    mut file: std::fs::File,
    mut chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
) -> std::io::Result<(u64, String)> {
    use std::io::Write;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = chunks.blocking_recv() {
        hasher.update(&chunk);
        file.write_all(&chunk)?;
        bytes += chunk.len() as u64;
    }
    file.sync_all()?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn check_length(got: u64, expected: Option<u64>) -> Result<(), ApiError> {
    let problem = match expected {
        _ if got == 0 => "the body is empty".to_string(),
        Some(want) if want != got => format!("got {got} bytes, Content-Length said {want}"),
        _ => return Ok(()),
    };
    Err(ApiError::BadResponse {
        op: Operation::Download,
        reason: problem,
    })
}

/// Renames the finished file into place and makes the rename durable.
async fn publish(part: &Path, path: &Path, dir: &Path) -> Result<(), FetchError> {
    if let Err(source) = tokio::fs::rename(part, path).await {
        let _ = tokio::fs::remove_file(part).await;
        return Err(FetchError::Local {
            path: path.to_path_buf(),
            source,
        });
    }
    let dir_file = tokio::fs::File::open(dir).await;
    if let Ok(d) = dir_file {
        let _ = d.sync_all().await;
    }
    Ok(())
}

/// Removes temporary files a killed or stopped daemon left in the output directory.
pub fn remove_partial_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PART_PREFIX)
            && name.ends_with(PART_SUFFIX)
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}
