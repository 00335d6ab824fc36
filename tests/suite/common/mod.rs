//! Test harness shared by the integration tests: a simulated Gcore API on 127.0.0.1, a
//! temporary directory with a config file, database and output directory, and the real
//! `gcore-reportd` binary run against them.
#![allow(dead_code)]

pub mod notify;
pub mod openapi;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use gcore_reportd_sim::{self as sim, SimHandle, SimOptions, SimTask};
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
        let options = SimOptions {
            clock_offset_ms: clock_offset_ms(),
            ..options
        };
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
        if clock_offset_ms() != 0 {
            cmd.env(gcore_reportd::clock::NOW_VARIABLE, now().to_string());
        }
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

/// The first day of the month `n` months before the current one (UTC, by [`now`]).
pub fn months_back(n: i64) -> jiff::civil::Date {
    let today = now().to_zoned(jiff::tz::TimeZone::UTC).date();
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

/// Polls `check` until it yields a value, and returns it; panics naming `what` after `limit`.
pub async fn wait_for_value<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
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
pub fn peak_rss_kib(child: &Spawned) -> u64 {
    let pid = child.id();
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

    /// What a file in the harness directory holds ("" if nothing).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// The engine in this process, on the harness's config file as it is now, reading "now"
    /// from `clock` (a manual one: the test moves time); a second call is a restart.
    pub async fn engine_on(
        &self,
        clock: &gcore_reportd::clock::Clock,
    ) -> gcore_reportd::engine::Engine {
        let config =
            gcore_reportd::config::load(&self.config_path(), &Default::default()).expect("config");
        gcore_reportd::engine::open_engine(config, clock.clone())
            .await
            .expect("engine")
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
}
/// How many remote tasks the simulator holds per request (template + parameters, `type` left
/// out), keyed by the request's canonical JSON.
pub fn remote_tasks_per_request(h: &Harness) -> std::collections::BTreeMap<String, usize> {
    let mut per = std::collections::BTreeMap::new();
    for task in h.sim.tasks() {
        *per.entry(request_key(&task)).or_default() += 1;
    }
    per
}

/// A remote task's request: its template and parameters (`type` left out), as JSON.
fn request_key(task: &SimTask) -> String {
    let mut params = task.parameters.clone();
    if let Some(map) = params.as_object_mut() {
        map.remove("type");
    }
    format!("{} {params}", task.template)
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

impl Harness {
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

/// No request has two remote tasks that did not fail (one that failed remotely may have been
/// followed by another: `max_attempts`).
pub fn assert_no_request_has_two_live_remote_tasks(h: &Harness, case: &str) {
    let mut live = std::collections::BTreeMap::<String, usize>::new();
    for task in h.sim.tasks().iter().filter(|t| t.status != "Failed") {
        *live.entry(request_key(task)).or_default() += 1;
    }
    assert!(
        live.values().all(|n| *n <= 1),
        "{case}: a request has two live remote tasks: {live:?}"
    );
}

/// Set in the test process to run the tests (and every binary they start) as if the system
/// clock said this RFC 3339 instant, e.g. to check them near a month boundary.
pub const TEST_NOW_VARIABLE: &str = "GCORE_REPORTD_TEST_NOW";

/// How far the tests' clock is from the system's (ms), fixed for the test process: zero,
/// unless [`TEST_NOW_VARIABLE`] says otherwise (the suite then runs from that instant) or the
/// start is in the last [`BEFORE_MIDNIGHT`] of a UTC day (see [`not_straddling_midnight`]).
pub fn clock_offset_ms() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        let real = jiff::Timestamp::now();
        let system = match std::env::var(TEST_NOW_VARIABLE) {
            Ok(at) => at
                .parse()
                .expect("GCORE_REPORTD_TEST_NOW is an RFC 3339 instant"),
            Err(_) => real,
        };
        not_straddling_midnight(system).as_millisecond() - real.as_millisecond()
    })
}

/// How long before a UTC midnight the suite does not start: longer than a whole run takes.
const BEFORE_MIDNIGHT: jiff::SignedDuration = jiff::SignedDuration::from_mins(20);

/// `at`, or, in the last [`BEFORE_MIDNIGHT`] of a UTC day, an hour before that midnight. A
/// test on the real clock cannot stop it: one that straddled midnight (the daily reports' fire
/// time, on the 1st a new month, on the 2nd the default monthly schedule's) would compare the
/// periods due when it started with those due when its daemon ran. The boundaries themselves
/// are met by `month_ends`, which drives a manual clock through them; the suite is run at such
/// instants by `.ci/run`.
fn not_straddling_midnight(at: jiff::Timestamp) -> jiff::Timestamp {
    let midnight = at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .and_then(|d| d.checked_add(jiff::Span::new().days(1)))
        .expect("the next midnight")
        .timestamp();
    if at.duration_until(midnight) <= BEFORE_MIDNIGHT {
        let hour = jiff::SignedDuration::from_hours(1);
        return midnight.checked_sub(hour).expect("in range");
    }
    at
}

/// Now, by the tests' clock (see [`clock_offset_ms`]): what the binaries the harness starts
/// take as now.
pub fn now() -> jiff::Timestamp {
    let real = jiff::Timestamp::now().as_millisecond();
    jiff::Timestamp::from_millisecond(real + clock_offset_ms()).expect("in range")
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
