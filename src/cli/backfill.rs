//! `backfill` records every period of one report in a date range (skipping those whose request
//! already has a task) and processes them to the end; `submit` creates a one-off task outside any
//! schedule. Both then run like `run --once`, limited to the tasks already recorded.

use std::process::ExitCode;

use jiff::civil::Date;

use super::progress::Progress;
use super::{load_config, Cli, UsageError};
use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::engine::{self, EngineError, RunMode};
use crate::format::ReportFormat;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// The report (a `name` from the config).
    #[arg(long)]
    pub report: String,
    /// First day of the range (YYYY-MM-DD): periods starting on or after it.
    #[arg(long)]
    pub from: Date,
    /// Last day of the range (YYYY-MM-DD): periods starting on or before it.
    #[arg(long)]
    pub to: Date,
    /// List the periods without recording or creating anything.
    #[arg(long)]
    pub dry_run: bool,
    /// For a report per client (`clients`): this client only (default: each of its clients,
    /// as listed by the API now for `clients = "all"`).
    #[arg(long, value_name = "ID")]
    pub client: Option<i64>,
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// The template code (see `gcore-reportd templates`).
    #[arg(long)]
    pub template: String,
    /// A parameter as key=value (repeatable); integers and true/false are sent as such.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, serde_json::Value)>,
    /// File format to download.
    #[arg(long, default_value = "csv")]
    pub format: ReportFormat,
}

fn parse_param(s: &str) -> Result<(String, serde_json::Value), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not key=value"))?;
    if key.is_empty() {
        return Err(format!("{s:?} has an empty key"));
    }
    let value = match value {
        "true" => serde_json::Value::Bool(true),
        "false" => serde_json::Value::Bool(false),
        v => v
            .parse::<i64>()
            .map(serde_json::Value::from)
            .unwrap_or_else(|_| serde_json::Value::from(v)),
    };
    Ok((key.to_string(), value))
}

pub async fn backfill(cli: &Cli, args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&cli.config, &Overrides::default())?;
    let Some(report) = config.report(&args.report).cloned() else {
        let msg = format!(
            "--report {}: no such report in {}",
            args.report,
            cli.config.display()
        );
        return Err(UsageError(msg).into());
    };
    if args.to < args.from {
        let msg = format!("--to {} is before --from {}", args.to, args.from);
        return Err(UsageError(msg).into());
    }
    let today = clock()?.now().to_zoned(report.timezone.clone()).date();
    let periods: Vec<_> = report
        .period
        .periods_starting_between(args.from, args.to)
        .into_iter()
        .filter(|p| p.until <= today)
        .collect();
    if args.dry_run {
        for p in &periods {
            println!(
                "{} {}..{}",
                report.name,
                p.from,
                p.date_to(report.date_to_style)
            );
        }
        println!("{} period(s); nothing recorded (--dry-run)", periods.len());
        return Ok(ExitCode::SUCCESS);
    }
    let clients = backfill_clients(&config, &report, args.client).await?;
    let since = clock()?.now_ms();
    let location = engine::store_location(&config.storage.database)?;
    let store = Store::open_at(&location, config.storage.busy_timeout).await?;
    let mut recorded = 0;
    for period in &periods {
        for client in &clients {
            let now = clock()?.now_ms();
            let deadline = config.polling.deadline;
            if engine::record_period(&store, &report, *client, period, deadline, now).await? {
                recorded += 1;
            }
        }
    }
    store.close().await;
    println!(
        "{recorded} new period(s) recorded, {} already had a task",
        periods.len() * clients.len() - recorded
    );
    drain(config, since).await
}

/// Whose periods a backfill records: the report's own (`None`), or for a report per client the
/// one `--client`, else each of its clients (listed by the API for `clients = "all"`).
async fn backfill_clients(
    config: &Config,
    report: &crate::config::ReportConfig,
    client: Option<i64>,
) -> anyhow::Result<Vec<Option<i64>>> {
    use crate::config::Clients;
    Ok(match (&report.clients, client) {
        (None, None) => vec![None],
        (None, Some(_)) => {
            let msg = format!(
                "--client: report {} is not a report per client (it sets no `clients`)",
                report.name
            );
            return Err(UsageError(msg).into());
        }
        (Some(_), Some(id)) => vec![Some(id)],
        (Some(Clients::Fixed(ids)), None) => ids.iter().copied().map(Some).collect(),
        (Some(Clients::All), None) => {
            let client = engine::build_client(config)?;
            let ids = client.list_clients().await?;
            ids.into_iter().map(Some).collect()
        }
    })
}

pub async fn submit(cli: &Cli, args: &SubmitArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&cli.config, &Overrides::default())?;
    let parameters: serde_json::Map<_, _> = args.params.iter().cloned().collect();
    let since = clock()?.now_ms();
    let location = engine::store_location(&config.storage.database)?;
    let store = Store::open_at(&location, config.storage.busy_timeout).await?;
    let id = engine::record_adhoc(
        &store,
        &args.template,
        args.format,
        parameters,
        config.polling.deadline,
        clock()?.now_ms(),
    )
    .await?;
    store.close().await;
    println!("task {id} recorded for template {}", args.template);
    drain(config, since).await
}

/// Works on recorded tasks until none is in flight; exit 1 if any failed. When a daemon
/// already works on the database, the recorded tasks are left to it. On a terminal the
/// progress line counts the tasks changed from `since` (those just recorded included).
async fn drain(config: Config, since: i64) -> anyhow::Result<ExitCode> {
    let supervisor = crate::app::Supervisor::default();
    supervisor.stop_on_signals();
    let shutdown = supervisor.shutdown();
    let progress = Progress::start(&config.storage.database, since);
    let result = supervisor.run(config, clock()?, RunMode::Drain, None).await;
    progress.finish(&result, &shutdown).await;
    let summary = match result {
        Err(EngineError::Busy { .. }) => {
            println!("another gcore-reportd is working on this database: it will process them");
            return Ok(ExitCode::SUCCESS);
        }
        other => other?,
    };
    println!("{} downloaded, {} failed", summary.done, summary.failed);
    Ok(if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The process's clock (the system's, unless a test fixed it with `GCORE_REPORTD_NOW`).
fn clock() -> Result<Clock, super::UsageError> {
    Clock::from_env().map_err(super::UsageError)
}
