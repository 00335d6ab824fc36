//! A loopback TCP proxy between the daemon and an S3 server (moto) that kills the daemon
//! between a put landing and its answer: it forwards both ways, and when the server's answer
//! to the first object PUT (a PUT without a query string; started with the daemon's pid)
//! comes back, it SIGKILLs the daemon before forwarding a byte of that answer and closes the
//! connection. The object is then stored, and the daemon never learnt it. Or, armed with
//! [`KillProxy::lose_copy_answer`], it only closes the connection at the answer to the first
//! CopyObject (a PUT with `x-amz-copy-source`, no query string): the copy is done, the answer
//! lost. After that it only forwards (pass-through), so a restarted daemon can use the same
//! endpoint.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; stops accepting when dropped.
pub struct KillProxy {
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    upstream: u16,
    /// The pid to kill, 0 while not armed.
    victim: AtomicU32,
    /// Whether to lose the answer to the first CopyObject instead.
    lose_copy: AtomicBool,
    fired: AtomicBool,
    /// The request line of the PUT whose answer was held back.
    held: Mutex<Option<String>>,
}

impl KillProxy {
    /// Listens on 127.0.0.1:`port` (connections to it are refused until then) and forwards to
    /// 127.0.0.1:`upstream`.
    pub async fn start(port: u16, upstream: u16) -> KillProxy {
        Self::start_with(port, upstream, 0).await
    }

    async fn start_with(port: u16, upstream: u16, victim: u32) -> KillProxy {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the proxy cannot listen on port {port}: {e}"));
        let shared = Arc::new(Shared {
            upstream,
            victim: AtomicU32::new(victim),
            ..Shared::default()
        });
        let for_accept = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, for_accept.clone()));
            }
        });
        KillProxy { shared, accept }
    }

    /// Like [`KillProxy::start`], armed to kill `pid` at the answer to the first object PUT
    /// from its first connection on.
    pub async fn start_killing(port: u16, upstream: u16, pid: u32) -> KillProxy {
        Self::start_with(port, upstream, pid).await
    }

    /// Closes the connection at the answer to the next CopyObject, without forwarding it.
    pub fn lose_copy_answer(&self) {
        self.shared.lose_copy.store(true, Ordering::SeqCst);
    }

    /// The request line of the PUT whose answer was held back (killing the daemon, or lost).
    pub fn held_put(&self) -> Option<String> {
        self.shared
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for KillProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Forwards one connection both ways until either side closes (or the daemon is killed).
async fn forward(mut client: TcpStream, shared: Arc<Shared>) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", shared.upstream)).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    let mut up = vec![0u8; 64 * 1024];
    let mut down = vec![0u8; 64 * 1024];
    // The PUT sent on this connection whose answer has not come back yet, and whether it
    // was a copy.
    let mut put_sent: Option<(String, bool)> = None;
    loop {
        tokio::select! {
            n = from_client.read(&mut up) => {
                let Ok(n @ 1..) = n else { return };
                if let Some(put) = object_put(&up[..n]) {
                    put_sent = Some(put);
                }
                if to_server.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            n = from_server.read(&mut down) => {
                let Ok(n @ 1..) = n else { return };
                if let Some((line, copy)) = put_sent.take() {
                    if hold_once(&shared, line, copy) {
                        return; // the answer is never forwarded
                    }
                }
                if to_client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Whether this answer is held back: the first one armed for (SIGKILLing the armed pid, or
/// for a copy's answer, only losing it).
fn hold_once(shared: &Shared, line: String, copy: bool) -> bool {
    let pid = shared.victim.load(Ordering::SeqCst);
    let lose = copy && shared.lose_copy.load(Ordering::SeqCst);
    if (pid == 0 && !lose) || shared.fired.swap(true, Ordering::SeqCst) {
        return false;
    }
    *shared.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
    if lose {
        return true;
    }
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) on the test's own child, not reaped yet (the test waits for it after).
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill({pid}, SIGKILL)");
    true
}

/// The request line of an object PUT (no query string: not a multipart part) starting in
/// `bytes` (HTTP/1.1 without pipelining: a request's head starts a write), and whether it is
/// a copy.
fn object_put(bytes: &[u8]) -> Option<(String, bool)> {
    if !bytes.starts_with(b"PUT /") {
        return None;
    }
    let end = bytes.iter().position(|&b| b == b'\r')?;
    let line = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let target = line.split(' ').nth(1)?;
    let head = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    let copy = head.contains("\r\nx-amz-copy-source:");
    (!target.contains('?')).then_some((line, copy))
}
