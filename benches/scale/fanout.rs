//! `fanout`: one `[[reports]]` table with `clients = "all"` over N eligible clients (among test
//! and deleted accounts the listing leaves out), tasks finishing after ~2 s: all delivered,
//! API requests per delivered report counting the client pages, peak RSS and CPU time.

use std::time::Duration;

use gcore_reportd_sim::SimOptions;

use super::*;

/// Runs one report per client over `n` eligible clients; returns the run's directory (see
/// `many`).
pub(crate) async fn fanout(n: usize) -> tempfile::TempDir {
    let options = SimOptions {
        pending_for: Duration::from_secs(1),
        running_for: Duration::from_secs(1),
        clients: 1_000,
        ..SimOptions::default()
    };
    let key = options.api_key.clone();
    let sim = start_sim(options).await;
    let short = n.saturating_sub(sim.eligible_clients().len());
    sim.add_clients(u32::try_from(short).unwrap_or(u32::MAX));
    let eligible = sim.eligible_clients().len();
    let all = sim.clients().len();
    let dir = tempfile::tempdir().expect("temp dir");
    let body = "[polling]\ninitial_interval = \"1s\"\nmax_interval = \"4s\"\nmultiplier = 1.5\n\n\
        [[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nclients = \"all\"\n";
    let config = write_config(dir.path(), &sim, &key, body);
    let (usage, files) = run_once_counting(config, dir.path()).await;
    let counts = sim.request_counts();
    let total: u64 = counts.values().sum();
    println!("\n== fan-out: one report, clients = \"all\": {eligible} eligible of {all} clients");
    println!(
        "  run --once succeeded: {}, files downloaded: {files}/{eligible}",
        usage.success
    );
    println!(
        "  wall time to all downloaded: {:.2} s",
        usage.wall.as_secs_f64()
    );
    for (op, count) in &counts {
        println!(
            "  {op:>10}: {count:>7} requests = {:.4} per report",
            *count as f64 / eligible.max(1) as f64
        );
    }
    println!(
        "  API requests per delivered report, client pages included: {:.3}  (target <= 2.2)",
        total as f64 / files.max(1) as f64
    );
    println!("  peak RSS: {:.1} MB  (target <= 40 MB)", usage.max_rss_mb);
    println!(
        "  CPU time: {:.2} s ({:.2} s in the kernel) = {:.3} ms per report",
        usage.cpu.as_secs_f64(),
        usage.sys.as_secs_f64(),
        usage.cpu.as_secs_f64() * 1000.0 / eligible.max(1) as f64
    );
    if let Ok(log) = std::fs::read_to_string(dir.path().join("daemon.log")) {
        log.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .take(3)
            .for_each(|l| println!("  daemon: {l}"));
    }
    dir
}
