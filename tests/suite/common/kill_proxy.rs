//! A loopback TCP proxy between the daemon and an S3 server (moto) that kills the daemon
//! between a put landing and its answer: it forwards both ways, and when the server's answer
//! to the first object PUT (a PUT without a query string, once armed with the daemon's pid)
//! comes back, it SIGKILLs the daemon before forwarding a byte of that answer and closes the
//! connection. The object is then stored, and the daemon never learnt it. After that it only
//! forwards (pass-through), so a restarted daemon can use the same endpoint.

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
    fired: AtomicBool,
    /// The request line of the PUT whose answer was held back.
    held: Mutex<Option<String>>,
}

impl KillProxy {
    /// Listens on 127.0.0.1:`port` (connections to it are refused until then) and forwards to
    /// 127.0.0.1:`upstream`.
    pub async fn start(port: u16, upstream: u16) -> KillProxy {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the proxy cannot listen on port {port}: {e}"));
        let shared = Arc::new(Shared {
            upstream,
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

    /// Kills `pid` at the answer to the next object PUT.
    pub fn arm(&self, pid: u32) {
        self.shared.victim.store(pid, Ordering::SeqCst);
    }

    /// The request line of the PUT whose answer killed the daemon, once it has.
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
    // The PUT sent on this connection whose answer has not come back yet.
    let mut put_sent: Option<String> = None;
    loop {
        tokio::select! {
            n = from_client.read(&mut up) => {
                let Ok(n @ 1..) = n else { return };
                if let Some(line) = object_put(&up[..n]) {
                    put_sent = Some(line);
                }
                if to_server.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            n = from_server.read(&mut down) => {
                let Ok(n @ 1..) = n else { return };
                if let Some(line) = put_sent.take() {
                    if kill_once(&shared, line) {
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

/// SIGKILLs the armed pid if nothing was killed yet; whether it did.
fn kill_once(shared: &Shared, line: String) -> bool {
    let pid = shared.victim.load(Ordering::SeqCst);
    if pid == 0 || shared.fired.swap(true, Ordering::SeqCst) {
        return false;
    }
    *shared.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) on the test's own child, not reaped yet (the test waits for it after).
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill({pid}, SIGKILL)");
    true
}

/// The request line of an object PUT (no query string: not a multipart part) starting in
/// `bytes` (HTTP/1.1 without pipelining: a request's head starts a write).
fn object_put(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"PUT /") {
        return None;
    }
    let end = bytes.iter().position(|&b| b == b'\r')?;
    let line = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let target = line.split(' ').nth(1)?;
    (!target.contains('?')).then_some(line)
}
