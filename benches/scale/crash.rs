//! The crash scenario of `cargo bench --bench scale`: N per-client reports of one template due
//! at once, the daemon SIGKILLed three times just after a chunk of creates was marked "maybe
//! sent" (`GCORE_REPORTD_CRASH_AT=create.marked:K`), then `run --once` to the end; beside it
//! the same burst without a crash. Prints duplicates, files checked against the served bytes,
//! API requests per report over every run, and both wall times.

use std::path::Path;
use std::time::Duration;

use gcore_reportd::store::{State, Store, TaskFilter};
use gcore_reportd_sim::{self as sim, SimOptions};
use sha2::{Digest, Sha256};

use super::{run_measured_with, start_sim, write_config};

/// The settle window the scenario runs with (the default, 30 s, would make the recovery wait
/// half a minute for the creates cut off by each kill; the figure is about the work, not it).
const SETTLE: &str = "2s";

/// Runs both bursts; returns their directories (removed at the very end, see `many`).
pub async fn crash(n: usize) -> Vec<tempfile::TempDir> {
    println!("\n== N = {n} per-client reports, killed 3 times during the create burst (create_settle = {SETTLE})");
    let (plain_dir, plain) = burst(n, &[]).await;
    // Kills just after the 5th chunk of one process's creates was marked, three runs in a row.
    let (crash_dir, crashed) = burst(n, &[5, 5, 5]).await;
    println!(
        "  uncrashed: {:.2} s wall, {:.3} API requests per report",
        plain.wall_secs, plain.per_report
    );
    println!(
        "  crashed 3x: {:.2} s wall over all runs ({:.2}x the uncrashed; goal <= 1.3x), {:.3} API requests per report over the month (target <= 2.3)",
        crashed.wall_secs,
        crashed.wall_secs / plain.wall_secs.max(0.001),
        crashed.per_report
    );
    println!(
        "  crashed 3x: runs killed {} of 3, duplicates on the server: {}, files correct: {}/{n}, list requests: {}",
        crashed.killed, crashed.duplicates, crashed.files_ok, crashed.lists
    );
    vec![plain_dir, crash_dir]
}

struct Outcome {
    wall_secs: f64,
    per_report: f64,
    duplicates: usize,
    files_ok: usize,
    killed: usize,
    lists: u64,
}

/// One burst: a crashed `run --once` per kill point, then one to the end.
async fn burst(n: usize, kills: &[u64]) -> (tempfile::TempDir, Outcome) {
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
    let config = with_settle(&write_config(dir.path(), &sim, &key, &body));
    let d = dir.path().to_path_buf();
    let kills = kills.to_vec();
    let (wall, killed) = tokio::task::spawn_blocking(move || {
        let mut wall = 0.0;
        let mut killed = 0;
        let args = ["--config", config.as_str(), "run", "--once"];
        for k in kills {
            let env = [("GCORE_REPORTD_CRASH_AT", format!("create.marked:{k}"))];
            let usage = run_measured_with(&args, &d, &env);
            wall += usage.wall.as_secs_f64();
            killed += usize::from(!usage.success);
        }
        let last = run_measured_with(&args, &d, &[]);
        (wall + last.wall.as_secs_f64(), killed)
    })
    .await
    .expect("join");
    let counts = sim.request_counts();
    let total: u64 = counts.values().sum();
    let mut per_request = std::collections::HashMap::new();
    for task in sim.tasks() {
        *per_request
            .entry(task.parameters.to_string())
            .or_insert(0usize) += 1;
    }
    let duplicates = per_request.values().map(|c| c - 1).sum();
    let files_ok = files_correct(dir.path(), &sim.tasks()).await;
    let outcome = Outcome {
        wall_secs: wall,
        per_report: total as f64 / n.max(1) as f64,
        duplicates,
        files_ok,
        killed,
        lists: counts.get("list").copied().unwrap_or(0),
    };
    (dir, outcome)
}

/// Adds the settle window to the `[api]` table `write_config` wrote; returns the config's path.
fn with_settle(config: &str) -> String {
    let text = std::fs::read_to_string(config).expect("config");
    let text = text.replacen(
        "[api]\n",
        &format!("[api]\ncreate_settle = \"{SETTLE}\"\n"),
        1,
    );
    std::fs::write(config, text).expect("config");
    config.to_string()
}

/// How many `done` tasks have a file whose bytes are what the simulator serves for their
/// remote task (and whose recorded sha256 says so).
async fn files_correct(dir: &Path, tasks: &[gcore_reportd_sim::SimTask]) -> usize {
    let store = Store::open_existing(&dir.join("state.db"))
        .await
        .expect("db");
    let rows = store
        .list_tasks(&TaskFilter::default())
        .await
        .expect("rows");
    let by_uuid: std::collections::HashMap<&str, &gcore_reportd_sim::SimTask> =
        tasks.iter().map(|t| (t.uuid.as_str(), t)).collect();
    let mut ok = 0;
    for row in rows.iter().filter(|r| r.state == State::Done) {
        let (Some(uuid), Some(path), Some(sha)) = (&row.uuid, &row.file_path, &row.sha256) else {
            continue;
        };
        let Some(task) = by_uuid.get(uuid.as_str()) else {
            continue;
        };
        let mut params = task.parameters.clone();
        if let Some(map) = params.as_object_mut() {
            map.remove("type");
        }
        let served = sim::report_body(
            &task.template,
            &params,
            "csv",
            SimOptions::default().report_rows,
        );
        let on_disk = std::fs::read(path).unwrap_or_default();
        let served_sha = hex::encode(Sha256::digest(&served));
        if on_disk == served && *sha == served_sha {
            ok += 1;
        }
    }
    store.close().await;
    ok
}
