//! Writing a report's body into the output directory so that a reader never sees a partial
//! file: a hidden temporary file (mode 0640) receives the bytes while their sha256 is computed,
//! its length is checked against Content-Length, it is fsynced, renamed into place and the
//! directory fsynced. A crash leaves at most a `.gcore-reportd-*.part` file, removed at start.
//!
//! Before the rename, the bytes are checked to be the format asked for ([`crate::verify`]): a
//! streamed CSV or JSON body is parsed on its own thread as it arrives, an XLSX is opened from
//! the temporary file; a rejected file is removed, never renamed into place.
//!
//! A body that Content-Length says is small is gathered in memory and written, fsynced and
//! renamed by one blocking call (one hop to the blocking pool per file instead of one per
//! operation: what matters with 10,000 small reports). A larger or unsized body streams
//! through a bounded pipeline, so memory stays flat whatever the report's size.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::api::{ApiError, Download, Operation};
use crate::crashpoint;
use crate::verify::{self, Rejection, Shape};

pub(super) use super::checking::Check;
use super::checking::{check_file, spawn_verifier};

const PART_PREFIX: &str = ".gcore-reportd-";
const PART_SUFFIX: &str = ".part";

/// The largest body (by Content-Length) gathered in memory before it is written. With
/// `downloads.max_concurrent` slots, at most that many such buffers exist at once.
const SMALL_BODY: u64 = 256 * 1024;

/// Chunks in flight between the network and the disk writer: bounds the memory a streamed
/// download uses whatever the report's size. Four keep both sides busy.
const PIPELINE_DEPTH: usize = 4;

/// Why a download attempt did not produce a file.
#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("cannot write {path}: {source}")]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The body arrived whole but is not the format asked for.
    #[error("{0}")]
    Rejected(Rejection),
}

/// A report file in place: its path, size, sha256 and (when verified) shape.
pub(super) struct Saved {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub shape: Option<Shape>,
}

/// Where a download goes: its temporary file and its final name in `dir`.
pub(super) struct Target {
    pub dir: PathBuf,
    pub part: PathBuf,
    pub path: PathBuf,
}

impl Target {
    /// `file_name` in `dir`, via a temporary file unique to this attempt of task `id`.
    pub fn new(dir: &Path, id: i64, file_name: &str) -> Target {
        let unique = uuid::Uuid::new_v4().simple();
        Target {
            dir: dir.to_path_buf(),
            part: dir.join(format!("{PART_PREFIX}{id}-{unique}{PART_SUFFIX}")),
            path: dir.join(file_name),
        }
    }

    /// A hidden name in `dir` that the caller moves into place itself (a refreshed period's
    /// file is compared with the current one first); removed at start like any `.part`.
    pub fn staged(dir: &Path, id: i64) -> Target {
        let unique = uuid::Uuid::new_v4().simple();
        Target {
            dir: dir.to_path_buf(),
            part: dir.join(format!("{PART_PREFIX}{id}-{unique}{PART_SUFFIX}")),
            path: dir.join(format!("{PART_PREFIX}{id}-{unique}-staged{PART_SUFFIX}")),
        }
    }

    pub(super) fn local(&self, source: std::io::Error) -> FetchError {
        FetchError::Local {
            path: self.part.clone(),
            source,
        }
    }
}

/// Writes the body of `download` to `target`'s final path.
pub(super) async fn save(
    download: Download,
    target: Target,
    check: Check,
) -> Result<Saved, FetchError> {
    match download.expected_len {
        Some(len) if len <= SMALL_BODY => {
            let body = gather(download, len).await?;
            let part = target.part.clone();
            blocking(part, move || write_whole(&target, &body, check)).await
        }
        _ => stream(download, target, check).await,
    }
}

/// Runs file work on the blocking pool; `path` names the file if the work cannot run.
async fn blocking<T: Send + 'static>(
    path: PathBuf,
    work: impl FnOnce() -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(FetchError::Local {
            path,
            source: std::io::Error::other(e.to_string()),
        })
    })
}

/// Reads a small body whole, failing as soon as it is longer than announced.
async fn gather(mut download: Download, len: u64) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while let Some(chunk) = download.chunk().await? {
        crate::metrics::global().add_downloaded(chunk.len() as u64);
        crashpoint::hit("download.chunk");
        body.extend_from_slice(&chunk);
        if body.len() as u64 > len {
            break;
        }
    }
    check_length(body.len() as u64, Some(len))?;
    Ok(body)
}

/// The blocking half of a small download: check, temporary file, fsync, rename, directory
/// fsync.
fn write_whole(target: &Target, body: &[u8], check: Check) -> Result<Saved, FetchError> {
    let shape = verify::check_seekable(check.format, check.level, std::io::Cursor::new(body))
        .map_err(FetchError::Rejected)?;
    let result = (|| {
        let mut file = create_part(&target.part)?;
        file.write_all(body)?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&target.part);
        return Err(target.local(source));
    }
    publish(target)?;
    Ok(Saved {
        path: target.path.clone(),
        bytes: body.len() as u64,
        sha256: hex::encode(Sha256::digest(body)),
        shape,
    })
}

/// Streams the body into the temporary file: the network is read and hashed here while a
/// blocking thread writes the chunks already received and another parses them, so all three
/// proceed at once.
async fn stream(mut download: Download, target: Target, check: Check) -> Result<Saved, FetchError> {
    let file = create_part(&target.part).map_err(|e| target.local(e))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(PIPELINE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || write_chunks(file, rx));
    let (mut to_verifier, verifier) = spawn_verifier(check);
    let mut received = 0u64;
    let mut hasher = Sha256::new();
    let network = async {
        while let Some(chunk) = download.chunk().await? {
            received += chunk.len() as u64;
            hasher.update(&chunk);
            crate::metrics::global().add_downloaded(chunk.len() as u64);
            crashpoint::hit("download.chunk");
            if let Some(v) = &to_verifier {
                if v.send(chunk.clone()).await.is_err() {
                    to_verifier = None; // it has rejected the body already
                }
            }
            if tx.send(chunk).await.is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        Ok::<(), ApiError>(())
    }
    .await;
    drop(tx);
    drop(to_verifier);
    let written = match writer.await {
        Ok(Ok(written)) => Ok(written),
        Ok(Err(e)) => Err(target.local(e)),
        Err(e) => Err(target.local(std::io::Error::other(e.to_string()))),
    };
    let checked = written.and_then(|w| {
        network?;
        check_length(received, download.expected_len)?;
        Ok((w, hex::encode(hasher.finalize())))
    });
    let verdict = verifier.await;
    let (bytes, sha256) = match checked {
        Ok(done) => done,
        Err(e) => {
            let _ = tokio::fs::remove_file(&target.part).await;
            return Err(e);
        }
    };
    blocking(target.path.clone(), move || {
        let shape = match verdict {
            Ok(_) if !check.streams() => check_file(&target, check),
            verdict => verdict.map_err(FetchError::Rejected),
        };
        let shape = shape.inspect_err(|_| {
            let _ = std::fs::remove_file(&target.part);
        })?;
        publish(&target)?;
        Ok(Saved {
            path: target.path,
            bytes,
            sha256,
            shape,
        })
    })
    .await
}

fn create_part(part: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(part)?;
    crate::ownership::match_parent_owner(part);
    Ok(file)
}

/// The disk side of a streamed download: writes each chunk, starting the writeback of large
/// files as it goes, then fsyncs. (The network side hashes: the two halves run at once.)
fn write_chunks(
    mut file: std::fs::File,
    mut chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
) -> std::io::Result<u64> {
    let mut bytes = 0u64;
    let mut flushed = 0u64;
    while let Some(chunk) = chunks.blocking_recv() {
        file.write_all(&chunk)?;
        bytes += chunk.len() as u64;
        if bytes - flushed >= WRITEBACK_STEP {
            start_writeback(&file, flushed, bytes - flushed);
            flushed = bytes;
        }
    }
    file.sync_all()?;
    Ok(bytes)
}

/// How much of a large file is written before the kernel is asked to start writing it out.
const WRITEBACK_STEP: u64 = 8 * 1024 * 1024;

/// Asks the kernel to start writing `len` bytes at `offset` to disk now, without waiting: the
/// fsync at the end then has little left to do, instead of a whole report's dirty pages.
fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // Neither nix nor rustix wraps sync_file_range(2), hence libc.
    // SAFETY: sync_file_range on a descriptor we own; it only schedules I/O. A failure (e.g. a
    // file system without support) is harmless: the final fsync still makes the file durable.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
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

/// Renames the finished temporary file into place and makes the rename durable (blocking).
fn publish(target: &Target) -> Result<(), FetchError> {
    crashpoint::hit("download.before_rename");
    if let Err(source) = std::fs::rename(&target.part, &target.path) {
        let _ = std::fs::remove_file(&target.part);
        return Err(FetchError::Local {
            path: target.path.clone(),
            source,
        });
    }
    crashpoint::hit("download.renamed");
    if let Ok(dir) = std::fs::File::open(&target.dir) {
        let _ = dir.sync_all();
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
