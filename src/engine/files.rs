//! Writing a report's body into the output directory so that a reader never sees a partial
//! file: a hidden temporary file (mode 0640, `tempfile`'s, removed if the attempt fails)
//! receives the bytes while their sha256 is computed, its length is checked against
//! Content-Length, it is fsynced, renamed into place (`persist`) and the directory fsynced. A
//! crash leaves at most a `.gcore-reportd-*.part` file, removed at start.
//!
//! Before the rename, the bytes are checked to be the format asked for ([`crate::verify`]): a
//! streamed CSV or JSON body is parsed on its own thread as it arrives, an XLSX is opened from
//! the temporary file; a rejected file is removed, never renamed into place.
//!
//! A body that Content-Length says is small is gathered in memory and written, fsynced and
//! renamed by one blocking call (one hop to the blocking pool per file instead of one per
//! operation: what matters with 10,000 small reports). A larger or unsized body streams
//! through [`super::pipeline`], at the server's pace, in bounded memory.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::api::{ApiError, Download, Operation};
use crate::crashpoint;
use crate::verify::{self, Rejection, Shape};

pub(super) use super::checking::Check;

const PART_PREFIX: &str = ".gcore-reportd-";
const PART_SUFFIX: &str = ".part";

/// The largest body (by Content-Length) gathered in memory before it is written. With
/// `downloads.max_concurrent` slots, at most that many such buffers exist at once.
const SMALL_BODY: u64 = 256 * 1024;

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
    /// The body arrived whole but is not the format asked for; `sha256` is the rejected
    /// body's, the evidence that tells a bad transfer from a bad file (see `transfer`).
    #[error("{rejection}")]
    Rejected {
        rejection: Rejection,
        sha256: String,
    },
}

/// A report file in place: its path, size, sha256 and (when verified) shape.
pub(super) struct Saved {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub shape: Option<Shape>,
}

/// Where a download goes: its directory, the task it is for and its final name in `dir`.
pub(super) struct Target {
    pub dir: PathBuf,
    pub id: i64,
    pub path: PathBuf,
}

impl Target {
    /// `file_name` in `dir`, via a temporary file unique to this attempt of task `id`.
    pub fn new(dir: &Path, id: i64, file_name: &str) -> Target {
        Target {
            dir: dir.to_path_buf(),
            id,
            path: dir.join(file_name),
        }
    }

    /// A hidden name in `dir` that the caller moves into place itself (a refreshed period's
    /// file is compared with the current one first); removed at start like any `.part`.
    pub fn staged(dir: &Path, id: i64) -> Target {
        let unique = uuid::Uuid::new_v4().simple();
        Target {
            dir: dir.to_path_buf(),
            id,
            path: dir.join(format!("{PART_PREFIX}{id}-{unique}-staged{PART_SUFFIX}")),
        }
    }

    /// A new temporary file for this attempt, `.gcore-reportd-ID-RANDOM.part` (mode 0640),
    /// removed when dropped unless [`publish`]ed (blocking).
    pub(super) fn create_part(&self) -> Result<NamedTempFile, FetchError> {
        let prefix = format!("{PART_PREFIX}{}-", self.id);
        let part = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(PART_SUFFIX)
            .rand_bytes(16)
            .permissions(std::fs::Permissions::from_mode(0o640))
            .tempfile_in(&self.dir)
            .map_err(|source| FetchError::Local {
                path: self.dir.clone(),
                source,
            })?;
        crate::ownership::match_parent_owner(part.path());
        Ok(part)
    }
}

/// A failure writing the temporary file `part`.
pub(super) fn local(part: &NamedTempFile, source: std::io::Error) -> FetchError {
    FetchError::Local {
        path: part.path().to_path_buf(),
        source,
    }
}

/// Writes the body of `download` to `target`'s final path; a streamed body is queued at most
/// `depth` blocks deep (see [`super::pipeline::depth_for`]).
pub(super) async fn save(
    download: Download,
    target: Target,
    check: Check,
    depth: usize,
) -> Result<Saved, FetchError> {
    match download.expected_len {
        Some(len) if len <= SMALL_BODY => {
            let body = gather(download, len).await?;
            let dir = target.dir.clone();
            blocking(dir, move || write_whole(&target, &body, check)).await
        }
        _ => super::pipeline::stream(download, target, check, depth).await,
    }
}

/// Runs file work on the blocking pool; `path` names the file if the work cannot run.
pub(super) async fn blocking<T: Send + 'static>(
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
    let sha256 = hex::encode(Sha256::digest(body));
    let shape = verify::check_seekable(check.format, check.level, std::io::Cursor::new(body))
        .map_err(|rejection| FetchError::Rejected {
            rejection,
            sha256: sha256.clone(),
        })?;
    let mut part = target.create_part()?;
    part.write_all(body)
        .and_then(|()| part.as_file().sync_all())
        .map_err(|e| local(&part, e))?;
    publish(target, part)?;
    Ok(Saved {
        path: target.path.clone(),
        bytes: body.len() as u64,
        sha256,
        shape,
    })
}

pub(super) fn check_length(got: u64, expected: Option<u64>) -> Result<(), ApiError> {
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

/// Renames the finished (fsynced) temporary file into place and makes the rename durable
/// (blocking). A file that cannot be renamed is removed.
pub(super) fn publish(target: &Target, part: NamedTempFile) -> Result<(), FetchError> {
    crashpoint::hit("download.before_rename");
    if let Err(e) = part.persist(&target.path) {
        return Err(FetchError::Local {
            path: target.path.clone(),
            source: e.error,
        });
    }
    crashpoint::hit("download.renamed");
    if let Ok(dir) = std::fs::File::open(&target.dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes temporary files a killed or stopped daemon left in the output directory: all of
/// them, or (hosts sharing the directory) those untouched for `older_than`.
pub fn remove_partial_files(dir: &Path, older_than: Option<std::time::Duration>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = || {
            older_than.is_none_or(|age| {
                let modified = entry.metadata().and_then(|m| m.modified());
                modified.is_ok_and(|m| m.elapsed().is_ok_and(|e| e >= age))
            })
        };
        if name.starts_with(PART_PREFIX)
            && name.ends_with(PART_SUFFIX)
            && stale()
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}
