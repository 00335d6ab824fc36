//! `simulate` serves the built-in simulated Gcore API on a loopback address; `demo` starts it
//! on a free port and runs the whole flow against it with `config/demo.toml`, so a newcomer sees
//! reports land in `./demo-reports/` without a Gcore account.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::progress::Progress;
use super::{load_config, operator};
use crate::config::Overrides;
use crate::engine::RunMode;
use crate::secret::ApiKey;
use crate::store::{Store, TaskFilter};
use gcore_reportd_sim::{self as sim, SimOptions};

/// The demo config, used when `config/demo.toml` is not in the working directory.
const DEMO_TOML: &str = include_str!("../../config/demo.toml");

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// API key the simulator accepts.
    #[arg(
        long,
        env = "GCORE_API_KEY",
        default_value = "sim-key$secret",
        hide_env_values = true
    )]
    pub api_key: String,
    /// How long a new task stays Pending.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub pending_for: Duration,
    /// How long a task stays InProgress before it completes.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub running_for: Duration,
    /// Rows in each generated report.
    #[arg(long, default_value_t = 20)]
    pub rows: usize,
    /// How many times a period's content changes (one change per new task for it) before it
    /// is final: a refreshed report then brings a new version.
    #[arg(long, default_value_t = 0)]
    pub restatements: u32,
    /// The reseller's clients `GET /iam/clients` serves: this many from id 1001, every 7th a
    /// test account and every 11th deleted (for reports per client).
    #[arg(long, default_value_t = 12)]
    pub clients: u32,
    /// A slow server: send every report file at this many MB/s (10^6 bytes), in writes of
    /// `--write-kib` (default: as fast as the client reads).
    #[arg(long, value_name = "MB_PER_S", value_parser = parse_rate)]
    pub pace: Option<f64>,
    /// With `--pace`: the size of each write, in KiB.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub write_kib: u32,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && (0.001..=100_000.0).contains(&rate) => Ok(rate),
        _ => Err(format!("{text:?}: expected MB/s between 0.001 and 100000")),
    }
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo's reports go (its database and lock go beside it, `DIR.state.db`).
    #[arg(long, default_value = "demo-reports")]
    pub dir: PathBuf,
}

pub async fn simulate(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {}: the simulator serves loopback addresses only",
            args.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let options = SimOptions {
        api_key: args.api_key.clone(),
        pending_for: args.pending_for,
        running_for: args.running_for,
        report_rows: args.rows,
        restatements: args.restatements,
        clients: args.clients,
        pace: args.pace.map(|rate| sim::Pace {
            bytes_per_second: (rate * 1e6) as u64,
            write_size: args.write_kib as usize * 1024,
        }),
        ..SimOptions::default()
    };
    println!("simulated Gcore API on http://{}", args.listen);
    let supervisor = crate::app::Supervisor::default();
    supervisor.stop_on_signals();
    sim::serve_forever(listener, options, supervisor.shutdown()).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let config_path = demo_config(&args.dir)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let options = SimOptions {
        pending_for: Duration::from_millis(800),
        running_for: Duration::from_millis(1200),
        clients: 12,
        ..SimOptions::default()
    };
    let key = ApiKey::new(&options.api_key).context("the simulator's key is empty")?;
    let sim = sim::start(listener, options).await?;
    println!("simulated Gcore API listening on {}", sim.base_url());
    let overrides = Overrides {
        base_url: Some(sim.base_url()),
        api_key: Some(key),
    };
    let mut config = load_config(&config_path, &overrides)?;
    config.storage.output_dir = args.dir.clone();
    config.storage.database = beside(&args.dir, "state.db");
    fresh_database(&config.storage.database);
    let supervisor = crate::app::Supervisor::default();
    supervisor.stop_on_signals();
    let shutdown = supervisor.shutdown();
    let database = config.storage.database.clone();
    let clock = crate::clock::Clock::system();
    let progress = Progress::start(&database, clock.now_ms());
    let result = supervisor.run(config, clock, RunMode::Once, None).await;
    progress.finish(&result, &shutdown).await;
    let summary = result?;
    sim.shutdown();
    let store = Store::open_existing(&database).await?;
    let tasks = store.list_tasks(&TaskFilter::default()).await?;
    println!();
    let versions = super::versions::counts(&store, &tasks).await?;
    print!(
        "{}",
        operator::status_table(&tasks, &versions, &Default::default())
    );
    println!(
        "\n{} report(s) downloaded into {}/, {} failed. Inspect with:\n  gcore-reportd --config {} status --json",
        summary.done,
        args.dir.display(),
        summary.failed,
        config_path.display()
    );
    Ok(if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `config/demo.toml` when run from a checkout, else a copy written into the demo directory.
fn demo_config(dir: &Path) -> anyhow::Result<PathBuf> {
    let in_checkout = PathBuf::from("config/demo.toml");
    if in_checkout.exists() {
        return Ok(in_checkout);
    }
    let copy = dir.join("demo.toml");
    std::fs::write(&copy, DEMO_TOML).with_context(|| format!("cannot write {}", copy.display()))?;
    Ok(copy)
}

/// A file next to `dir` (not inside it: the directory holds the reports only), named after it:
/// `demo-reports.state.db` beside `demo-reports/`. The lock file goes next to the database.
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().map_or_else(
        || "demo-reports".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let parent = dir.parent().unwrap_or_else(|| Path::new("."));
    parent.join(format!("{name}.{suffix}"))
}

/// Each demo starts from an empty database: the simulator it talks to is new too.
fn fresh_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
}
