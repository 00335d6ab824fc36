//! Children of a test: the binary spawned with its stderr and stdout captured in the harness
//! directory (printed only when the test fails), signals, and the peak memory they used.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use super::{wait_for_value, Harness, BIN};

impl Harness {
    /// `run` (the daemon) with JSON log lines and none of systemd's variables, for
    /// [`Harness::spawn`].
    pub fn daemon(&self) -> tokio::process::Command {
        self.child(&["--log-format", "json", "run"])
    }

    /// The binary with `args`, none of systemd's variables and no journal: for [`Harness::spawn`].
    pub fn child(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = self.command(args);
        cmd.env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM");
        cmd
    }

    /// Spawns `cmd` with its stderr into `log` and its stdout into `log.out` (both in the
    /// harness directory): a green test prints nothing, a failing one shows them.
    pub fn spawn(&self, mut cmd: tokio::process::Command, log: &str) -> Spawned {
        let create = |name: &str| std::fs::File::create(self.path(name)).expect("create a log");
        let out = format!("{log}.out");
        cmd.stdout(create(&out)).stderr(create(log));
        let child = cmd.spawn().expect("spawn gcore-reportd");
        Spawned {
            child,
            log: self.path(log),
            out: self.path(&out),
        }
    }
}

/// A child process of a test (see [`Harness::spawn`]). Killed when dropped; if the test is
/// failing then, what it wrote is printed, so the failure report shows the daemon's log.
pub struct Spawned {
    child: tokio::process::Child,
    log: PathBuf,
    out: PathBuf,
}

impl Spawned {
    /// What it has written to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The port its metrics endpoint listens on, once it says so (configured with port 0, the
    /// kernel picks a free one: nothing binds, drops and hopes to bind again).
    pub async fn metrics_port(&self) -> u16 {
        let line = wait_for_value("the metrics endpoint", Duration::from_secs(30), || async {
            self.logged("metrics endpoint listening")
        })
        .await;
        line.split("listen=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse::<std::net::SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .port()
    }

    /// The first stderr line containing `needle`.
    pub fn logged(&self, needle: &str) -> Option<String> {
        self.log()
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
    }

    pub fn id(&self) -> u32 {
        self.child.id().expect("the child is running")
    }

    pub fn signal(&self, signal: libc::c_int) {
        send_signal(&self.child, signal);
    }

    /// Whether it has not exited yet.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits (at most `limit`) for it to exit.
    pub async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the child did not exit within {limit:?}"))
            .expect("wait for the child")
    }

    /// Waits (at most `limit`) for it to exit; its status and everything it wrote.
    pub async fn finish(mut self, limit: Duration) -> Output {
        let status = self.wait(limit).await;
        Output {
            status,
            stdout: std::fs::read(&self.out).unwrap_or_default(),
            stderr: std::fs::read(&self.log).unwrap_or_default(),
        }
    }

    /// SIGTERM; it must exit 0 within 30 s.
    pub async fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let status = self.wait(Duration::from_secs(30)).await;
        assert!(status.success(), "exit {status}: {}", self.log());
    }

    /// SIGKILL, and reaps it.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill the child");
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "--- stderr of {} ---\n{}\n--- stdout ---\n{}",
                BIN,
                self.log(),
                std::fs::read_to_string(&self.out).unwrap_or_default()
            );
        }
    }
}
/// Sends `signal` to a running child.
pub fn send_signal(child: &tokio::process::Child, signal: libc::c_int) {
    let pid = child.id().expect("the child is running");
    let pid = libc::pid_t::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) on a pid we spawned and have not reaped yet.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

/// The peak resident memory of a running process (`VmHWM`), in KiB.
pub fn peak_rss_kib(child: &Spawned) -> u64 {
    let pid = child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}
