//! Reseller-scale benchmark (`cargo bench --bench scale`): the real `gcore-reportd` binary
//! against the simulated API on loopback, printing figures beside the targets of issue 6.
//!
//! - N = 1,000 and N = 10,000 reports due at once, tasks finishing after ~2 s: wall time to all
//!   downloaded, API requests per completed report by operation, peak RSS and CPU time.
//! - One 1 GiB report: the daemon's download rate beside `curl -o` of the same URL, peak RSS.
//! - 100,000 task rows: `status` and start-up time.
//! - The 1 GiB CSV with `verify = "off"` and `verify = "strict"`: what verification costs in
//!   download throughput (issue 13: at most 10 %) and peak RSS (at most 30 MB).
//! - A slow server (`slow`): 174 MB sent at 20 MB/s in 16 KiB writes, downloaded by the daemon
//!   with `verify = "off"` and `"strict"` and by curl, side by side (issue 20: strict within 5 %
//!   of curl's time); `--rounds R` repeats it (default 3) and prints the medians.
//!
//! - A create burst of N per-client reports killed three times (`crash`), beside the same
//!   burst uncrashed: duplicates, API requests per report over all runs, wall times.
//!
//! Arguments select scenarios: `many`, `crash`, `big`, `rows`, `verified`, `slow` (default: all);
//! `--n N` overrides the report counts of `many` and `crash`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gcore_reportd_sim::{self as sim, SimHandle, SimOptions};

#[path = "scale/crash.rs"]
mod crash;
#[path = "scale/pace.rs"]
mod pace;

const BIN: &str = env!("CARGO_BIN_EXE_gcore-reportd");

/// The daemon binary to measure: `GCORE_REPORTD_BIN` if set (e.g. a previous release's build, to
/// compare it with this benchmark), else the one cargo built with the benchmark.
fn daemon_bin() -> String {
    std::env::var("GCORE_REPORTD_BIN").unwrap_or_else(|_| BIN.to_string())
}

/// What the kernel says a finished child used.
struct Usage {
    wall: Duration,
    max_rss_mb: f64,
    cpu: Duration,
    sys: Duration,
    success: bool,
}

/// Runs the daemon to completion and reads its resource usage with wait4(2) (which also reaps
/// the child, hence the allowed lint).
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str], dir: &Path) -> Usage {
    run_measured_with(args, dir, &[])
}

/// [`run_measured`] with extra environment variables.
#[allow(clippy::zombie_processes)]
fn run_measured_with(args: &[&str], dir: &Path, envs: &[(&str, String)]) -> Usage {
    let started = Instant::now();
    let child = Command::new(daemon_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("daemon.log"))
                .expect("log file"),
        )
        .spawn()
        .expect("spawn gcore-reportd");
    let pid = child.id() as libc::pid_t;
    let peak = std::thread::spawn(move || peak_rss_kb(pid));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child; status and usage point to live locals.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4 failed");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Usage {
        wall: started.elapsed(),
        max_rss_mb: peak.join().unwrap_or(0) as f64 / 1024.0,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        sys: tv(usage.ru_stime),
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}

/// The child's peak resident size (`VmHWM`, kB), sampled every 10 ms until it exits. Not
/// `ru_maxrss`: Linux counts in it the RSS of the process that spawned the child (this
/// benchmark, with the simulator and its records) as it was before `exec`.
fn peak_rss_kb(pid: libc::pid_t) -> u64 {
    let path = format!("/proc/{pid}/status");
    let mut peak = 0;
    while let Ok(status) = std::fs::read_to_string(&path) {
        let Some(hwm) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) else {
            break; // a zombie: the process has ended
        };
        let kb = hwm
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap_or(0);
        peak = peak.max(kb);
        std::thread::sleep(Duration::from_millis(10));
    }
    peak
}

fn write_config(dir: &Path, sim: &SimHandle, key: &str, body: &str) -> String {
    std::fs::write(dir.join("api-key"), key).expect("key");
    let config = dir.join("config.toml");
    let text = format!(
        "[api]\nbase_url = \"{}\"\napi_key_file = \"{}\"\nmax_requests_per_second = 5000\n\n[storage]\ndatabase = \"{}\"\noutput_dir = \"{}\"\n\n{body}",
        sim.base_url(),
        dir.join("api-key").display(),
        dir.join("state.db").display(),
        dir.join("reports").display(),
    );
    std::fs::write(&config, text).expect("config");
    config.display().to_string()
}

async fn start_sim(options: SimOptions) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    sim::start(listener, options).await.expect("simulator")
}

/// Runs N reports due at once; returns the run's directory, which the caller removes only at
/// the end: deleting 10,000 files just before the next run would bill that run for it (ext4
/// without a journal scans recently deleted inodes when it creates files).
async fn many(n: usize) -> tempfile::TempDir {
    let options = SimOptions {
        pending_for: Duration::from_secs(1),
        running_for: Duration::from_secs(1),
        ..SimOptions::default()
    };
    let key = options.api_key.clone();
    let sim = start_sim(options).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut body = String::from(
        "[polling]\ninitial_interval = \"1s\"\nmax_interval = \"4s\"\nmultiplier = 1.5\n\n",
    );
    for i in 0..n {
        body.push_str(&format!("[[reports]]\nname = \"client-{i}\"\ntemplate = \"ResellerExpenses\"\nparameters = {{ client_id = {i} }}\n"));
    }
    let config = write_config(dir.path(), &sim, &key, &body);
    let usage = tokio::task::spawn_blocking(move || {
        let dir = std::path::PathBuf::from(&config)
            .parent()
            .expect("dir")
            .to_path_buf();
        run_measured(&["--config", &config, "run", "--once"], &dir)
    })
    .await
    .expect("join");
    let files = std::fs::read_dir(dir.path().join("reports"))
        .map(|d| d.count())
        .unwrap_or(0);
    let counts = sim.request_counts();
    let total: u64 = counts.values().sum();
    println!("\n== N = {n} reports due at once (tasks take ~2 s: 1 s Pending, 1 s InProgress)");
    println!(
        "  run --once succeeded: {}, files downloaded: {files}/{n}",
        usage.success
    );
    println!(
        "  wall time to all downloaded: {:.2} s",
        usage.wall.as_secs_f64()
    );
    for (op, count) in &counts {
        println!(
            "  {op:>10}: {count:>7} requests = {:.3} per report",
            *count as f64 / n as f64
        );
    }
    println!(
        "  API requests per completed report: {:.3}  (target <= 2.2 at N = 1,000)",
        total as f64 / files.max(1) as f64
    );
    println!(
        "  peak RSS: {:.1} MB  (target <= 40 MB at N = 10,000)",
        usage.max_rss_mb
    );
    println!(
        "  CPU time: {:.2} s ({:.2} s in the kernel) = {:.3} ms per report  (target < 1 ms at N = 10,000)",
        usage.cpu.as_secs_f64(),
        usage.sys.as_secs_f64(),
        usage.cpu.as_secs_f64() * 1000.0 / n as f64
    );
    if let Ok(log) = std::fs::read_to_string(dir.path().join("daemon.log")) {
        log.lines()
            .filter(|l| l.contains("ERROR"))
            .take(3)
            .for_each(|l| println!("  daemon error: {l}"));
    }
    dir
}

fn rows_for(bytes: u64, params: &serde_json::Value) -> usize {
    let base = sim::report_len("ResellerExpenses", params, "csv", 0);
    let per_1000 = sim::report_len("ResellerExpenses", params, "csv", 1000) - base;
    ((bytes - base) * 1000 / per_1000) as usize
}

async fn big() {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let this_month = today.first_of_month();
    let prev = this_month
        .checked_sub(jiff::Span::new().months(1))
        .expect("date");
    let params =
        serde_json::json!({"date_from": prev.to_string(), "date_to": this_month.to_string()});
    let rows = rows_for(1 << 30, &params);
    let options = SimOptions {
        pending_for: Duration::ZERO,
        running_for: Duration::ZERO,
        report_rows: rows,
        ..SimOptions::default()
    };
    let key = options.api_key.clone();
    let sim = start_sim(options).await;
    let dir = tempfile::tempdir_in(".").expect("temp dir on the project's disk");
    let body = "[polling]\ninitial_interval = \"100ms\"\n\n[[reports]]\nname = \"big\"\ntemplate = \"ResellerExpenses\"\n";
    let config = write_config(dir.path(), &sim, &key, body);
    let d = dir.path().to_path_buf();
    let usage = tokio::task::spawn_blocking(move || {
        run_measured(&["--config", &config, "run", "--once"], &d)
    })
    .await
    .expect("join");
    let (bytes, download_secs) = download_timing(&dir.path().join("state.db")).await;
    let uuid = sim.tasks().first().map(|t| t.uuid.clone()).expect("a task");
    let url = format!(
        "{}/billing/org/v1/reports/{uuid}/download?format=csv",
        sim.base_url()
    );
    let target = dir.path().join("curl.csv");
    let header = format!("Authorization: apikey {key}");
    let curl = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let ok = Command::new("curl")
            .args(["-sS", "-o"])
            .arg(&target)
            .args(["-H", &header, &url])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        (
            ok,
            started.elapsed(),
            std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0),
        )
    })
    .await
    .expect("join");
    let mb = bytes as f64 / 1e6;
    let daemon_rate = mb / download_secs;
    let curl_rate = curl.2 as f64 / 1e6 / curl.1.as_secs_f64();
    println!(
        "\n== One report of {:.2} GiB ({rows} rows)",
        bytes as f64 / (1u64 << 30) as f64
    );
    println!(
        "  run --once succeeded: {}, wall {:.2} s",
        usage.success,
        usage.wall.as_secs_f64()
    );
    println!("  daemon download: {download_secs:.2} s = {daemon_rate:.0} MB/s (streamed, sha256, fsync, rename)");
    println!(
        "  curl -o same URL: {:.2} s = {curl_rate:.0} MB/s (curl ok: {})",
        curl.1.as_secs_f64(),
        curl.0
    );
    println!(
        "  daemon / curl: {:.0} %  (target >= 80 %)",
        daemon_rate / curl_rate * 100.0
    );
    println!(
        "  peak RSS while downloading: {:.1} MB  (target <= 30 MB)",
        usage.max_rss_mb
    );
}

/// Bytes of the downloaded file and seconds between "downloading" and "downloaded" events.
async fn download_timing(db: &Path) -> (u64, f64) {
    let store = gcore_reportd::store::Store::open_existing(db)
        .await
        .expect("db");
    let task = store.find_task("1").await.expect("task 1");
    let events = store.task_events(task.id).await.expect("events");
    let at = |state: &str| {
        events
            .iter()
            .find(|e| e.state == state)
            .map(|e| e.at)
            .unwrap_or(0)
    };
    let secs = (at("done") - at("downloading")) as f64 / 1000.0;
    (task.bytes.unwrap_or(0) as u64, secs.max(0.001))
}

async fn rows(n: i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("state.db");
    let store = gcore_reportd::store::Store::open(&db).await.expect("open");
    let mut tx = store.pool().begin().await.expect("begin");
    for i in 0..n {
        sqlx::query(
            "INSERT INTO tasks (report, period_from, period_to, template, format, parameters, file_name,
                state, uuid, next_attempt_at, deadline_at, created_at, updated_at, request)
             VALUES (?, '2025-01-01', '2025-02-01', 'ResellerExpenses', 'csv', '{}', 'f.csv', 'done', ?, ?, 0, 0, ?, ?)",
        )
        .bind(format!("client-{i}"))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(i)
        .bind(i)
        .bind(format!("{{\"parameters\":{{\"client_id\":{i}}},\"template\":\"ResellerExpenses\"}}"))
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    store.close().await;
    let sim = start_sim(SimOptions::default()).await;
    let config = write_config(dir.path(), &sim, "sim-key$secret", "");
    let d = dir.path().to_path_buf();
    let (status, status_all, startup) = tokio::task::spawn_blocking(move || {
        (
            run_measured(&["--config", &config, "status"], &d),
            run_measured(&["--config", &config, "status", "--all"], &d),
            run_measured(&["--config", &config, "run", "--once"], &d),
        )
    })
    .await
    .expect("join");
    println!("\n== {n} task rows in the database");
    println!(
        "  status (newest 200, the default): {:.0} ms  (target < 200 ms)",
        status.wall.as_secs_f64() * 1000.0
    );
    println!(
        "  status --all (every row as a table): {:.0} ms, peak RSS {:.0} MB",
        status_all.wall.as_secs_f64() * 1000.0,
        status_all.max_rss_mb
    );
    println!(
        "  start-up + run --once with nothing due: {:.0} ms (ok: {})  (target < 1 s)",
        startup.wall.as_secs_f64() * 1000.0,
        startup.success
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let wants = |name: &str| {
        args.iter()
            .all(|a| a.starts_with("--") || a.parse::<usize>().is_ok())
            || args.iter().any(|a| a == name)
    };
    let custom_n = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    println!("gcore-reportd scale benchmark (binary {})", daemon_bin());
    let mut finished_runs = Vec::new();
    if wants("many") {
        for n in custom_n
            .map(|n| vec![n])
            .unwrap_or_else(|| vec![1_000, 10_000])
        {
            finished_runs.push(many(n).await);
        }
    }
    if wants("crash") {
        for n in custom_n
            .map(|n| vec![n])
            .unwrap_or_else(|| vec![2_000, 10_000])
        {
            finished_runs.extend(crash::crash(n).await);
        }
    }
    if wants("big") {
        big().await;
    }
    if wants("rows") {
        rows(100_000).await;
    }
    if wants("verified") {
        pace::verified().await;
    }
    if wants("slow") {
        let rounds = args
            .iter()
            .position(|a| a == "--rounds")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        pace::slow(rounds).await;
    }
    drop(finished_runs);
}
