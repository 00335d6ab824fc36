//! How a download's bytes are checked on their way to the disk (see [`crate::verify`]): a CSV
//! or JSON body is parsed on a blocking thread fed the same chunks the writer gets (a bounded
//! channel: a slow parser slows the download, it never piles chunks up), an XLSX is opened from
//! the finished temporary file, and nothing is checked under `verify = "off"`.

use super::files::{FetchError, Target};
use crate::format::ReportFormat;
use crate::verify::{self, Rejection, Shape, Strictness};

/// Chunks in flight between the network and the parser.
const PIPELINE_DEPTH: usize = 4;

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
/// at all): its channel and its verdict.
pub(super) fn spawn_verifier(
    check: Check,
) -> (
    Option<tokio::sync::mpsc::Sender<bytes::Bytes>>,
    impl std::future::Future<Output = Result<Option<Shape>, Rejection>>,
) {
    let (tx, handle) = if check.streams() {
        let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(PIPELINE_DEPTH);
        let reader = verify::ChunkReader::new(rx);
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

/// Checks the finished temporary file (an XLSX is read back from disk; blocking).
pub(super) fn check_file(target: &Target, check: Check) -> Result<Option<Shape>, FetchError> {
    if check.level == Strictness::Off {
        return Ok(None);
    }
    let file = std::fs::File::open(&target.part).map_err(|e| target.local(e))?;
    verify::check_seekable(check.format, check.level, file).map_err(FetchError::Rejected)
}
