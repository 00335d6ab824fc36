//! How a download's bytes are checked on their way to the disk (see [`crate::verify`]): a CSV
//! or JSON body is parsed on a blocking thread fed the same blocks the writer gets, an XLSX is
//! opened from the finished temporary file, and nothing is checked under `verify = "off"`.
//!
//! The parser reads its channel through tokio-util's bridges: the blocks as a `StreamReader`
//! (an async buffered reader), made a blocking `BufRead` by a `SyncIoBridge`, so the CSV check
//! reads each block where it lies. The channel holds at most `depth` blocks: a parser that
//! falls that far behind slows the download, it never piles bytes up.

use bytes::Bytes;
use tempfile::NamedTempFile;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::files::FetchError;
use crate::format::ReportFormat;
use crate::verify::{self, Rejection, Shape, Strictness};

/// How a download's bytes are to be checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Check {
    pub format: ReportFormat,
    pub level: Strictness,
}

impl Check {
    /// Whether the body is parsed as it streams (CSV and JSON), rather than from the file.
    pub(super) fn streams(self) -> bool {
        self.level != Strictness::Off && self.format != ReportFormat::Xlsx
    }
}

/// The parser a streamed body is fed to (none when the body is checked from the file, or not
/// at all): its channel, holding up to `depth` blocks, and its verdict. Call from the runtime.
pub(super) fn spawn_verifier(
    check: Check,
    depth: usize,
) -> (
    Option<mpsc::Sender<Bytes>>,
    impl std::future::Future<Output = Result<Option<Shape>, Rejection>>,
) {
    let (tx, handle) = if check.streams() {
        let (tx, mut rx) = mpsc::channel::<Bytes>(depth);
        let blocks = futures_util::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
                .map(|block| block.map(Ok::<_, std::io::Error>))
        });
        let reader = SyncIoBridge::new(StreamReader::new(blocks));
        let handle = tokio::task::spawn_blocking(move || {
            verify::check_stream(check.format, check.level, reader)
        });
        (Some(tx), Some(handle))
    } else {
        (None, None)
    };
    let verdict = async move {
        match handle {
            None => Ok(None),
            Some(handle) => handle.await.unwrap_or_else(|e| {
                Err(Rejection {
                    problem: format!("the check stopped: {e}"),
                    width_only: false,
                })
            }),
        }
    };
    (tx, verdict)
}

/// Checks the finished temporary file, whose sha256 is `sha256` (an XLSX is read back from
/// disk; blocking).
pub(super) fn check_file(
    part: &NamedTempFile,
    check: Check,
    sha256: &str,
) -> Result<Option<Shape>, FetchError> {
    if check.level == Strictness::Off {
        return Ok(None);
    }
    let file = part.reopen().map_err(|source| FetchError::Local {
        path: part.path().to_path_buf(),
        source,
    })?;
    verify::check_seekable(check.format, check.level, file).map_err(|rejection| {
        FetchError::Rejected {
            rejection,
            sha256: sha256.to_string(),
        }
    })
}
