//! `hosts`: three daemons (`run --once`, each its own process) on one PostgreSQL database (a
//! private server the benchmark starts, see `tests/suite/common/postgres.rs`) work N reports
//! due at once, tasks finishing after ~2 s: all delivered, API requests per report in all
//! (target at most 2.3 at N = 10,000), no report created or downloaded twice, wall time, and
//! each host's peak RSS and CPU time.

use std::time::Duration;

use gcore_reportd_sim::SimOptions;

use super::*;

const HOSTS: usize = 3;

/// Runs N reports on three hosts; returns the run's directory (see `many`).
pub(crate) async fn hosts(n: usize) -> tempfile::TempDir {
    let options = SimOptions {
        pending_for: Duration::from_secs(1),
        running_for: Duration::from_secs(1),
        ..SimOptions::default()
    };
    let key = options.api_key.clone();
    let sim = start_sim(options).await;
    let url = postgres::database().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut body = String::from(
        "[polling]\ninitial_interval = \"1s\"\nmax_interval = \"4s\"\nmultiplier = 1.5\n\n",
    );
    for i in 0..n {
        body.push_str(&format!("[[reports]]\nname = \"client-{i}\"\ntemplate = \"ResellerExpenses\"\nparameters = {{ client_id = {i} }}\n"));
    }
    let config = write_config(dir.path(), &sim, &key, &body);
    let sqlite = format!("database = \"{}\"", dir.path().join("state.db").display());
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replacen(&sqlite, &format!("database = \"{url}\""), 1),
    )
    .expect("config on PostgreSQL");
    let runs: Vec<_> = (0..HOSTS)
        .map(|_| {
            let (config, work) = (config.clone(), dir.path().to_path_buf());
            tokio::task::spawn_blocking(move || {
                run_measured(&["--config", &config, "run", "--once"], &work)
            })
        })
        .collect();
    let mut usages = Vec::new();
    for run in runs {
        usages.push(run.await.expect("join"));
    }
    let files = std::fs::read_dir(dir.path().join("reports"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0);
    let counts = sim.request_counts();
    let total: u64 = counts.values().sum();
    let mut per_client = std::collections::BTreeMap::<String, usize>::new();
    for task in sim.tasks() {
        *per_client
            .entry(task.parameters["client_id"].to_string())
            .or_default() += 1;
    }
    let twice = per_client.values().filter(|&&c| c > 1).count();
    let wall = usages.iter().map(|u| u.wall).max().unwrap_or_default();
    println!("\n== {HOSTS} hosts on one PostgreSQL database, N = {n} reports due at once (tasks take ~2 s)");
    println!(
        "  every run --once succeeded: {}, files downloaded: {files}/{n}",
        usages.iter().all(|u| u.success)
    );
    println!("  wall time to all downloaded: {:.2} s", wall.as_secs_f64());
    for (op, count) in &counts {
        println!(
            "  {op:>10}: {count:>7} requests = {:.3} per report",
            *count as f64 / n as f64
        );
    }
    println!(
        "  API requests per report, all hosts: {:.3}  (target <= 2.3 at N = 10,000)",
        total as f64 / files.max(1) as f64
    );
    println!(
        "  reports created twice: {twice}; downloads: {} for {n} reports  (target: 0, and one each)",
        counts.get("download").copied().unwrap_or(0)
    );
    for (i, u) in usages.iter().enumerate() {
        println!(
            "  host {i}: peak RSS {:.1} MB, CPU {:.2} s ({:.2} s in the kernel)",
            u.max_rss_mb,
            u.cpu.as_secs_f64(),
            u.sys.as_secs_f64()
        );
    }
    if let Ok(log) = std::fs::read_to_string(dir.path().join("daemon.log")) {
        log.lines()
            .filter(|l| l.contains("ERROR"))
            .take(3)
            .for_each(|l| println!("  daemon error: {l}"));
    }
    dir
}
