//! A blocking [`Read`] over the chunks a download receives, so a parser running on its own
//! thread reads the body as it arrives. The channel is bounded by its sender: memory stays at
//! a few chunks whatever the report's size.

use std::io::Read;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc::Receiver;

/// Reads the chunks sent on a channel, in order, until the sender is dropped.
pub struct ChunkReader {
    chunks: Receiver<Bytes>,
    current: Bytes,
}

impl ChunkReader {
    pub fn new(chunks: Receiver<Bytes>) -> ChunkReader {
        ChunkReader {
            chunks,
            current: Bytes::new(),
        }
    }

    /// Reads and drops whatever is still to come, so the sender never waits on this reader.
    pub fn drain(&mut self) {
        while self.chunks.blocking_recv().is_some() {}
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
