//! A stand-in for systemd's notify socket: the datagrams a daemon sends to `NOTIFY_SOCKET`
//! (READY, STATUS, WATCHDOG, STOPPING), each with the moment it arrived.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A datagram and when it arrived.
pub type Received = (Instant, Vec<u8>);

/// Datagrams received on a Unix socket, with when each arrived, collected by a thread.
pub struct Datagrams {
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Datagrams {
    pub fn bind(path: &Path) -> Datagrams {
        let socket = UnixDatagram::bind(path).expect("bind the test socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("read timeout");
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            // Once told to stop, it reads on until the socket is empty (a read times out).
            loop {
                match socket.recv(&mut buf) {
                    Ok(n) => {
                        let mut all = sink.lock().expect("datagram list");
                        all.push((Instant::now(), buf[..n].to_vec()));
                    }
                    Err(_) if stopped.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
        });
        Datagrams {
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops listening (after what is queued has been read) and returns every datagram.
    pub fn finish(mut self) -> Vec<Received> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("listener thread");
        }
        std::mem::take(&mut *self.received.lock().expect("datagram list"))
    }
}

/// The `KEY=VALUE` lines of one sd_notify datagram.
pub fn notify_lines(datagram: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(datagram)
        .lines()
        .map(str::to_string)
        .collect()
}

impl Datagrams {
    /// Every line received so far (the listener keeps running).
    pub fn lines(&self) -> Vec<String> {
        let all = self.received.lock().expect("datagram list");
        all.iter().flat_map(|(_, d)| notify_lines(d)).collect()
    }

    /// When each `WATCHDOG=1` received so far arrived (the listener keeps running).
    pub fn pings(&self) -> Vec<Instant> {
        let all = self.received.lock().expect("datagram list");
        all.iter()
            .filter(|(_, d)| notify_lines(d).iter().any(|l| l == "WATCHDOG=1"))
            .map(|(at, _)| *at)
            .collect()
    }
}

/// The longest time between two of `pings` that fall in `from..until`.
pub fn longest_gap(pings: &[Instant], from: Instant, until: Instant) -> Duration {
    let inside: Vec<Instant> = pings
        .iter()
        .copied()
        .filter(|at| *at >= from && *at <= until)
        .collect();
    inside
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default()
}
