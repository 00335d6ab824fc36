//! A slow server: a report body sent at a set rate in small writes, the way a server that
//! generates its CSV as it sends it (or a WAN link) hands a client its bytes. The body's
//! chunks are cut into pieces of [`Pace::write_size`] bytes, and each piece waits for its
//! moment on a schedule measured from the first byte (so timer slack does not add up: a late
//! piece is followed at once by the ones it delayed).

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

/// The rate and write size of a slow server's downloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Bytes sent per second.
    pub bytes_per_second: u64,
    /// Bytes per write (the size of each body chunk handed to the connection).
    pub write_size: usize,
}

impl Pace {
    /// 20 MB/s in 16 KiB writes: the slow server.
    pub const SLOW: Pace = Pace {
        bytes_per_second: 20_000_000,
        write_size: 16 * 1024,
    };

    /// When the byte at offset `sent` is due, counted from the first byte.
    fn due(&self, sent: u64) -> Duration {
        let rate = self.bytes_per_second.max(1);
        Duration::from_nanos(
            u64::try_from(u128::from(sent) * 1_000_000_000 / u128::from(rate)).unwrap_or(u64::MAX),
        )
    }
}

/// `body`, re-cut into writes of `pace.write_size` bytes sent at `pace.bytes_per_second`.
pub(crate) fn paced(
    body: BoxStream<'static, Result<Bytes, std::io::Error>>,
    pace: Pace,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let size = pace.write_size.max(1);
    let pieces = body.flat_map(move |chunk| {
        let pieces: Vec<Result<Bytes, std::io::Error>> = match chunk {
            Ok(bytes) => (0..bytes.len())
                .step_by(size)
                .map(|at| Ok(bytes.slice(at..(at + size).min(bytes.len()))))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    });
    let start = tokio::time::Instant::now();
    pieces
        .scan(0u64, move |sent, piece| {
            let due = start + pace.due(*sent);
            if let Ok(bytes) = &piece {
                *sent += bytes.len() as u64;
            }
            async move {
                tokio::time::sleep_until(due).await;
                Some(piece)
            }
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_paced_body_keeps_its_bytes_in_small_writes_and_takes_its_time() {
        let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let pace = Pace {
            bytes_per_second: 10_000_000,
            write_size: 16 * 1024,
        };
        let started = tokio::time::Instant::now();
        let pieces: Vec<Bytes> = paced(futures_util::stream::iter(chunks).boxed(), pace)
            .map(|p| p.expect("no error"))
            .collect()
            .await;
        let elapsed = started.elapsed();
        assert!(pieces.iter().all(|p| p.len() <= 16 * 1024));
        assert_eq!(pieces.concat(), body);
        // The last piece is due when all but its bytes were sent: ~0.1 s for 1 MB at 10 MB/s.
        assert!(elapsed >= Duration::from_millis(98), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(101), "{elapsed:?}");
    }
}
