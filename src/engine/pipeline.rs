//! A large download, streamed: the network is read here, at the server's pace, while a blocking
//! thread writes and hashes the bytes and another checks them ([`super::checking`]), so the
//! three proceed at once and verification never slows a transfer it can keep up with.
//!
//! Network chunks, whatever their size (16 KiB from a slow sender, hundreds of KiB from a fast
//! one), are gathered into blocks of [`BLOCK`] bytes before they are handed over: a hand-off
//! (a thread wake-up) costs once per block, not once per chunk. What may wait between the
//! network and the slower of the two threads is a byte budget, [`BUDGET`] (the same blocks are
//! shared by both queues; less when many downloads run at once, [`depth_for`]), not a number
//! of chunks: the socket is read without pause until a
//! thread is that far behind, which on a busy host absorbs a descheduled thread's hundreds of
//! milliseconds. Memory stays flat whatever the report's size.
//!
//! Before (a queue of four network chunks to each thread, hashed on the runtime's thread),
//! from the simulator sending 174 MB at 20 MB/s in 16 KiB writes: see README, Performance.

use std::io::Write;

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use super::checking::{check_file, spawn_verifier, Check};
use super::files::{blocking, check_length, publish, FetchError, Saved, Target};
use crate::api::{ApiError, Download};
use crate::crashpoint;

/// The bytes handed to the writer and the checker at a time.
const BLOCK: usize = 256 * 1024;
/// The most bytes one download may hold waiting for the slower of its writer and checker.
const BUDGET: usize = 4 * 1024 * 1024;
/// The bytes all concurrent downloads together may hold so: with `downloads.max_concurrent`
/// up to 256, a per-download budget alone could reach a gigabyte under `MemoryMax=512M`.
const TOTAL_BUDGET: usize = 16 * 1024 * 1024;

/// Blocks each queue of one download holds (both queues share the same blocks): its share of
/// [`TOTAL_BUDGET`] among `max_concurrent` downloads, at least 2 and at most [`BUDGET`]'s worth
/// (the default 4 downloads get the whole 4 MiB each).
pub(super) fn depth_for(max_concurrent: usize) -> usize {
    (TOTAL_BUDGET / BLOCK / max_concurrent.max(1)).clamp(2, BUDGET / BLOCK)
}

/// How much of a large file is written before the kernel is asked to start writing it out.
const WRITEBACK_STEP: u64 = 8 * 1024 * 1024;

/// Streams the body into a temporary file, checks it, and renames it into place.
pub(super) async fn stream(
    mut download: Download,
    target: Target,
    check: Check,
    depth: usize,
) -> Result<Saved, FetchError> {
    let part = target.create_part()?;
    let part_path = part.path().to_path_buf();
    let (to_writer, blocks) = mpsc::channel::<Bytes>(depth);
    let writer = tokio::task::spawn_blocking(move || write_blocks(part, blocks));
    let (to_verifier, verifier) = spawn_verifier(check, depth);
    let mut pipe = Pipe {
        pending: BytesMut::with_capacity(BLOCK),
        writer: to_writer,
        verifier: to_verifier,
        received: 0,
    };
    let network = async {
        while let Some(chunk) = download.chunk().await? {
            crate::metrics::global().add_downloaded(chunk.len() as u64);
            crashpoint::hit("download.chunk");
            if !pipe.push(&chunk).await {
                return Ok(()); // the writer failed; its error is reported below
            }
        }
        pipe.flush().await;
        Ok::<(), ApiError>(())
    }
    .await;
    let received = pipe.received;
    drop(pipe);
    let written = match writer.await {
        Ok(Ok(written)) => Ok(written),
        Ok(Err(source)) => Err(FetchError::Local {
            path: part_path,
            source,
        }),
        Err(e) => Err(FetchError::Local {
            path: part_path,
            source: std::io::Error::other(e.to_string()),
        }),
    };
    let verdict = verifier.await;
    // On any failure the temporary file is dropped here, which removes it.
    let (part, bytes, sha256) = written.and_then(|w| {
        network?;
        check_length(received, download.expected_len)?;
        Ok(w)
    })?;
    blocking(target.path.clone(), move || {
        let shape = match verdict {
            Ok(_) if !check.streams() => check_file(&part, check, &sha256)?,
            verdict => verdict.map_err(|rejection| FetchError::Rejected {
                rejection,
                sha256: sha256.clone(),
            })?,
        };
        publish(&target, part)?;
        Ok(Saved {
            path: target.path,
            bytes,
            sha256,
            shape,
        })
    })
    .await
}

/// The network side: gathers chunks into blocks and hands each to the writer and the checker.
struct Pipe {
    pending: BytesMut,
    writer: mpsc::Sender<Bytes>,
    verifier: Option<mpsc::Sender<Bytes>>,
    received: u64,
}

impl Pipe {
    /// Takes a chunk; false once the writer has stopped (failed).
    async fn push(&mut self, mut chunk: &[u8]) -> bool {
        self.received += chunk.len() as u64;
        while !chunk.is_empty() {
            let take = (BLOCK - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.pending.len() == BLOCK && !self.hand_off().await {
                return false;
            }
        }
        true
    }

    /// Hands over what is gathered, at the end of the body.
    async fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.hand_off().await;
        }
    }

    async fn hand_off(&mut self) -> bool {
        let block = std::mem::replace(&mut self.pending, BytesMut::with_capacity(BLOCK)).freeze();
        if let Some(verifier) = &self.verifier {
            if verifier.send(block.clone()).await.is_err() {
                self.verifier = None; // it has rejected the body already
            }
        }
        self.writer.send(block).await.is_ok()
    }
}

/// The disk side: writes and hashes each block, starting the writeback of large files as it
/// goes, then fsyncs. Returns the file, its length and its sha256.
fn write_blocks(
    mut part: NamedTempFile,
    mut blocks: mpsc::Receiver<Bytes>,
) -> std::io::Result<(NamedTempFile, u64, String)> {
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut flushed = 0u64;
    while let Some(block) = blocks.blocking_recv() {
        part.write_all(&block)?;
        hasher.update(&block);
        bytes += block.len() as u64;
        if bytes - flushed >= WRITEBACK_STEP {
            start_writeback(part.as_file(), flushed, bytes - flushed);
            flushed = bytes;
        }
    }
    part.as_file().sync_all()?;
    Ok((part, bytes, hex::encode(hasher.finalize())))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_concurrent_downloads_share_the_byte_budget_instead_of_each_holding_it_whole() {
        assert_eq!(
            depth_for(4) * BLOCK,
            BUDGET,
            "the default four get 4 MiB each"
        );
        assert_eq!(depth_for(16) * BLOCK * 16, TOTAL_BUDGET);
        assert_eq!(depth_for(256), 2, "never fewer than two blocks");
        assert_eq!(depth_for(0) * BLOCK, BUDGET);
    }
}
