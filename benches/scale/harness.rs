//! The benchmark's means: the daemon run as a child with its resource usage read from the
//! kernel (wall, CPU, peak RSS sampled from `/proc`), and a config and simulator for a run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gcore_reportd_sim::{self as sim, SimHandle, SimOptions};

use super::*;

/// What the kernel says a finished child used.
pub(crate) struct Usage {
    pub(crate) wall: Duration,
    pub(crate) max_rss_mb: f64,
    pub(crate) cpu: Duration,
    pub(crate) sys: Duration,
    pub(crate) success: bool,
}

/// Runs the daemon to completion and reads its resource usage with wait4(2) (which also reaps
/// the child, hence the allowed lint).
#[allow(clippy::zombie_processes)]
pub(crate) fn run_measured(args: &[&str], dir: &Path) -> Usage {
    run_measured_with(args, dir, &[])
}

/// [`run_measured`] with extra environment variables.
#[allow(clippy::zombie_processes)]
pub(crate) fn run_measured_with(args: &[&str], dir: &Path, envs: &[(&str, String)]) -> Usage {
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
pub(crate) fn peak_rss_kb(pid: libc::pid_t) -> u64 {
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

pub(crate) fn write_config(dir: &Path, sim: &SimHandle, key: &str, body: &str) -> String {
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

pub(crate) async fn start_sim(options: SimOptions) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    sim::start(listener, options).await.expect("simulator")
}

/// `run --once` with `config` in `dir`, measured, and the report files it left in `dir/reports`.
pub(crate) async fn run_once_counting(config: String, dir: &Path) -> (Usage, usize) {
    let work = dir.to_path_buf();
    let usage = tokio::task::spawn_blocking(move || {
        run_measured(&["--config", &config, "run", "--once"], &work)
    })
    .await
    .expect("join");
    let files = std::fs::read_dir(dir.join("reports"))
        .map(|d| d.count())
        .unwrap_or(0);
    (usage, files)
}
