//! Test harness shared by the integration tests: a simulated Gcore API on 127.0.0.1, a
//! temporary directory with a config file, database and output directory, and the real
//! `gcore-reportd` binary run against them.
#![allow(dead_code)]

pub mod notify;
pub mod openapi;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use gcore_reportd::sim::{self, SimHandle, SimOptions, SimTask};
use sha2::{Digest, Sha256};

pub const BIN: &str = env!("CARGO_BIN_EXE_gcore-reportd");

/// A simulator plus a scratch directory holding `config.toml`, `state.db` and `reports/`.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    pub key: String,
}

/// Two monthly reports in two formats, one with a parameter.
pub const TWO_REPORTS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"

[[reports]]
name = "plans-42"
template = "ResellerPlans"
format = "json"
parameters = { client_id = 42 }
"#;

/// Fast polling so tests finish in seconds.
pub const FAST_POLLING: &str = r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
"#;

impl Harness {
    /// Starts a simulator with quick task lifecycles and writes a config with `reports`.
    pub async fn start(reports: &str) -> Harness {
        Self::with_options(
            SimOptions {
                pending_for: Duration::from_millis(100),
                running_for: Duration::from_millis(150),
                ..SimOptions::default()
            },
            reports,
        )
        .await
    }

    pub async fn with_options(options: SimOptions, reports: &str) -> Harness {
        let key = options.api_key.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let sim = sim::start(listener, options)
            .await
            .expect("start simulator");
        let harness = Harness {
            dir: tempfile::tempdir().expect("temp dir"),
            sim,
            key,
        };
        harness.write_config(&format!("{FAST_POLLING}\n{reports}"));
        harness
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("config.toml")
    }

    pub fn output_dir(&self) -> PathBuf {
        self.path("reports")
    }

    /// Writes config.toml: the simulator's URL, the harness paths, then `body`.
    pub fn write_config(&self, body: &str) {
        let text = format!(
            "[api]\nbase_url = \"{}\"\napi_key_file = \"{}\"\nrequest_timeout = \"5s\"\nmax_requests_per_second = 500\ncreate_settle = \"100ms\"\n\n[storage]\ndatabase = \"{}\"\noutput_dir = \"{}\"\n{body}\n",
            self.sim.base_url(),
            self.path("api-key").display(),
            self.path("state.db").display(),
            self.output_dir().display(),
        );
        std::fs::write(self.path("api-key"), format!("{}\n", self.key)).expect("write key");
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// The binary with `--config` set and a clean environment for its variables.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("--config").arg(self.config_path()).args(args);
        cmd.env_remove("GCORE_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        cmd
    }

    /// Runs the binary to completion (at most two minutes).
    pub async fn run(&self, args: &[&str]) -> Output {
        let child = self.command(args).output();
        tokio::time::timeout(Duration::from_secs(120), child)
            .await
            .expect("gcore-reportd did not finish within 120 s")
            .expect("spawn gcore-reportd")
    }

    /// `status --json` rows, or `None` while the database is not there or not ready yet.
    pub async fn try_status(&self) -> Option<Vec<serde_json::Value>> {
        let out = self.run(&["status", "--json"]).await;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// `status --json`, parsed.
    pub async fn status(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["status", "--json"]).await;
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("status --json line is JSON"))
            .collect()
    }

    /// Files in the output directory, names sorted.
    pub fn output_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.output_dir())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read file"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The first day of the month `n` months before the current one (UTC).
pub fn months_back(n: i64) -> jiff::civil::Date {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(n))
        .expect("date arithmetic")
}

/// The bytes the simulator serves for `task` in `format` (default row count).
pub fn served_bytes(task: &SimTask, format: &str) -> Vec<u8> {
    sim::report_body(
        &task.template,
        &task.parameters,
        format,
        SimOptions::default().report_rows,
    )
}

/// Polls `check` every 20 ms until it holds, failing the test after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = std::time::Instant::now() + limit;
    while !check().await {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
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
pub fn peak_rss_kib(child: &tokio::process::Child) -> u64 {
    let pid = child.id().expect("the child is running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// The daemon-wide conditions `status` prints above its table (`! key: value (until …)`).
pub async fn status_conditions(h: &Harness) -> Vec<String> {
    let out = h.run(&["status"]).await;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("! "))
        .map(str::to_string)
        .collect()
}

impl Harness {
    /// `run` (the daemon) with JSON log lines into `log` (in the harness directory) and none of
    /// systemd's variables.
    pub fn daemon(&self, log: &str) -> tokio::process::Command {
        let mut cmd = self.command(&["--log-format", "json", "run"]);
        let file = std::fs::File::create(self.path(log)).expect("create the daemon's log");
        cmd.stdout(std::process::Stdio::null())
            .stderr(file)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        cmd
    }

    /// What a file in the harness directory holds ("" if nothing).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Waits until there are `n` tasks, every one done.
    pub async fn wait_for_done(&self, n: usize, limit: Duration) {
        wait_for("every report delivered", limit, || async {
            self.try_status()
                .await
                .is_some_and(|rows| rows.len() == n && rows.iter().all(|r| r["state"] == "done"))
        })
        .await;
    }

    /// SIGTERMs the daemon, which must exit 0 within 30 s (else its log `log` is shown).
    pub async fn stop(&self, mut child: tokio::process::Child, log: &str) {
        send_signal(&child, libc::SIGTERM);
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the daemon stopped within 30 s")
            .expect("wait");
        assert!(status.success(), "exit {status}: {}", self.read(log));
    }
}
/// How many remote tasks the simulator holds per request (template + parameters, `type` left
/// out), keyed by the request's canonical JSON.
pub fn remote_tasks_per_request(h: &Harness) -> std::collections::BTreeMap<String, usize> {
    let mut per = std::collections::BTreeMap::new();
    for task in h.sim.tasks() {
        let mut params = task.parameters.clone();
        if let Some(map) = params.as_object_mut() {
            map.remove("type");
        }
        *per.entry(format!("{} {params}", task.template))
            .or_default() += 1;
    }
    per
}

/// Exactly one remote task per (report, period): `expected` distinct requests, none twice.
pub fn assert_one_remote_task_per_request(h: &Harness, expected: usize, case: &str) {
    let per = remote_tasks_per_request(h);
    assert_eq!(
        per.len(),
        expected,
        "{case}: requests on the server: {per:?}"
    );
    assert!(
        per.values().all(|n| *n == 1),
        "{case}: duplicate remote tasks: {per:?}"
    );
}

/// No `.gcore-reportd-*.part` (nor any hidden) file in the output directory.
pub fn assert_no_temporary_files(h: &Harness, case: &str) {
    let files = h.output_files();
    assert!(
        files.iter().all(|f| !f.starts_with('.')),
        "{case}: temporary files left in the output directory: {files:?}"
    );
}

/// The bytes the simulator serves for `task` in `format`, at the task's own row count and
/// content revision.
pub fn served_as_created(task: &SimTask, format: &str) -> Vec<u8> {
    sim::report_body_at(
        &task.template,
        &task.parameters,
        format,
        task.rows,
        task.revision,
    )
}

/// `show KEY`'s output (it must succeed).
pub async fn show(h: &Harness, key: &str) -> String {
    let out = h.run(&["show", key]).await;
    assert!(out.status.success(), "show {key}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The simulator options [`Harness::start`] uses: tasks complete within a quarter second.
pub fn quick_sim() -> SimOptions {
    SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(150),
        ..SimOptions::default()
    }
}
