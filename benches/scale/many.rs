//! `many`: N reports due at once, tasks finishing after ~2 s: wall time to all downloaded,
//! API requests per completed report by operation, peak RSS and CPU time.

use std::time::Duration;

use gcore_reportd_sim::SimOptions;

use super::*;

/// Runs N reports due at once; returns the run's directory, which the caller removes only at
/// the end: deleting 10,000 files just before the next run would bill that run for it (ext4
/// without a journal scans recently deleted inodes when it creates files).
pub(crate) async fn many(n: usize) -> tempfile::TempDir {
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
    let (usage, files) = run_once_counting(config, dir.path()).await;
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
        "  peak RSS: {:.1} MB  (target <= 32 MB at N = 10,000)",
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
