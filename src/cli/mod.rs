//! The command line: every subcommand's arguments (clap), and [`dispatch`], which runs one and
//! maps its outcome to an exit code: 0 success, 1 a report failed or a runtime error, 2 bad
//! usage (clap), 75 due periods still waiting for the API at the end of a run (EX_TEMPFAIL: a
//! refused key, a run stopped while they wait), 78 a configuration error (EX_CONFIG), including
//! an API key of another account than the database's.

mod backfill;
mod check;
#[cfg(feature = "simulator")]
mod demo;
mod docs;
mod effective;
mod operator;
mod progress;
mod retry;
mod steer;
mod table;
mod versions;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, ConfigError, Overrides};
use crate::engine::{EngineError, RunMode};
use crate::logging::LogFormat;

/// Exit code for a configuration error (sysexits.h EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// Exit code for a run that ended with due periods not delivered but still waiting for the API
/// (sysexits.h EX_TEMPFAIL): the next run resumes them.
pub const EXIT_TEMPFAIL: u8 = 75;

/// Creates, tracks and downloads Gcore Billing Reseller reports on a schedule.
#[derive(Debug, Parser)]
#[command(name = "gcore-reportd", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "GCORE_REPORTD_CONFIG", default_value = config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Log format [default: journald when stderr is the journal (JOURNAL_STREAM), else text].
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log level or filter (e.g. "debug", "gcore_reportd=trace"); default from RUST_LOG, else
    /// info (warn while `run --once`, `backfill`, `submit` or `demo` shows its progress line).
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: create due reports, poll them, download the files.
    Run {
        /// Do what is due now, wait until every task has ended, then exit
        /// (0 if all were downloaded, 1 if any failed, 75 if some still wait for the API).
        #[arg(long)]
        once: bool,
    },
    /// Show every task: report, period, state, attempts, uuid, file.
    Status(operator::StatusArgs),
    /// Show one task (by id or uuid) with its whole event history.
    Show {
        /// Task id (from `status`) or remote uuid (at least 8 leading characters).
        task: String,
    },
    /// Give a failed, expired or lost task a new attempt. One whose create may have reached
    /// the server is searched for there first.
    Retry {
        /// Task id or remote uuid.
        task: String,
        /// Create a new remote task without searching for an earlier one (for a task held for
        /// an operator, once Gcore's own list shows no task for its period).
        #[arg(long)]
        create: bool,
    },
    /// Run a task's on_success / on_failure hook again (after it failed).
    RetryHook {
        /// Task id or remote uuid.
        task: String,
    },
    /// Drop a task (and its history) so its period can be created again.
    Forget {
        /// Task id or remote uuid.
        task: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Validate the config and print the effective settings (API key redacted).
    CheckConfig {
        /// Also check every report's template code and parameters against the live templates
        /// operation (exit 78 on a mismatch).
        #[arg(long)]
        online: bool,
    },
    /// List the report templates the API offers, with their parameters.
    Templates {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Record every period of a report in a date range that has no task yet, and process them.
    Backfill(backfill::BackfillArgs),
    /// Create a one-off report task outside any schedule and process it to the end.
    Submit(backfill::SubmitArgs),
    /// Print shell completions for SHELL (bash, zsh, fish, …) to stdout.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) to stdout, or write every page to a directory.
    Man {
        /// Write gcore-reportd.1 and one gcore-reportd-COMMAND.1 per subcommand into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Serve the built-in simulated Gcore API, for trying configs without an account.
    #[cfg(feature = "simulator")]
    Simulate(demo::SimulateArgs),
    /// Run the whole flow against the simulator with config/demo.toml, into ./demo-reports/.
    #[cfg(feature = "simulator")]
    Demo(demo::DemoArgs),
}

/// Runs the chosen command and returns the process exit code.
pub async fn dispatch(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Run { once } => run(&cli, *once).await,
        Command::Status(args) => operator::status(&cli.config, args).await,
        Command::Show { task } => operator::show(&cli.config, task).await,
        Command::Retry { task, create } => retry::retry(&cli.config, task, *create).await,
        Command::RetryHook { task } => steer::retry_hook(&cli.config, task).await,
        Command::Forget { task, yes } => steer::forget(&cli.config, task, *yes).await,
        Command::CheckConfig { online } => check::check_config(&cli.config, *online).await,
        Command::Templates { json } => operator::templates(&cli.config, *json).await,
        Command::Backfill(args) => backfill::backfill(&cli, args).await,
        Command::Submit(args) => backfill::submit(&cli, args).await,
        Command::Completions { shell } => docs::completions(*shell),
        Command::Man { dir } => docs::man(dir.as_deref()),
        #[cfg(feature = "simulator")]
        Command::Simulate(args) => demo::simulate(args).await,
        #[cfg(feature = "simulator")]
        Command::Demo(args) => demo::demo(args).await,
    };
    match result {
        Ok(code) => code,
        Err(err) => report_error(&err),
    }
}

/// A command-line argument that is wrong in a way clap cannot see (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn report_error(err: &anyhow::Error) -> ExitCode {
    if let Some(usage) = err.downcast_ref::<UsageError>() {
        eprintln!("gcore-reportd: {usage}");
        return ExitCode::from(2);
    }
    if let Some(config_err) = err.downcast_ref::<ConfigError>() {
        eprintln!("gcore-reportd: config error: {config_err}");
        return ExitCode::from(EXIT_CONFIG);
    }
    eprintln!("gcore-reportd: {}", chain(err));
    if is_wrong_account(err) {
        // The key file is configuration too: restarting cannot fix it (the unit's
        // RestartPreventExitStatus=78 stops systemd from trying every 10 s).
        return ExitCode::from(EXIT_CONFIG);
    }
    if engine_error(err, |e| matches!(e, EngineError::CredentialsRefused(_))) {
        // The periods keep waiting for a key the API accepts: the next run resumes them.
        return ExitCode::from(EXIT_TEMPFAIL);
    }
    ExitCode::FAILURE
}

fn is_wrong_account(err: &anyhow::Error) -> bool {
    engine_error(err, |e| matches!(e, EngineError::WrongAccount { .. }))
}

/// Whether an engine error in `err`'s chain is one `is` picks.
fn engine_error(err: &anyhow::Error, is: impl Fn(&EngineError) -> bool) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<EngineError>().is_some_and(&is))
}

/// An error and its causes on one line.
fn chain(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Loads the config, or fails with a [`ConfigError`] that maps to exit code 78.
pub(crate) fn load_config(
    path: &std::path::Path,
    overrides: &Overrides,
) -> anyhow::Result<config::Config> {
    let config = config::load(path, overrides)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    Ok(config)
}

async fn run(cli: &Cli, once: bool) -> anyhow::Result<ExitCode> {
    // One copy of the config, shared by the engine and the reloader (see `Supervisor::run`).
    let config = std::sync::Arc::new(load_config(&cli.config, &Overrides::default())?);
    let supervisor = crate::app::Supervisor::default();
    supervisor.stop_on_signals();
    let mode = if once { RunMode::Once } else { RunMode::Daemon };
    let reloads = (!once).then(|| {
        let path = cli.config.clone();
        supervisor.reload_on_sighup(std::sync::Arc::clone(&config), move || {
            tracing::info!(path = %path.display(), "reading the config again");
            load_config(&path, &Overrides::default())
        })
    });
    tracing::info!(
        reports = config.reports.len(),
        ?mode,
        "gcore-reportd starting"
    );
    let clock = crate::clock::Clock::from_env().map_err(UsageError)?;
    let progress = match once {
        true => progress::Progress::start(&config.storage.database, clock.now_ms()),
        false => progress::Progress::off(),
    };
    let shutdown = supervisor.shutdown();
    let result = supervisor.run(config, clock, mode, reloads).await;
    progress.finish(&result, &shutdown).await;
    let summary = result?;
    tracing::info!(
        done = summary.done,
        failed = summary.failed,
        "gcore-reportd stopped"
    );
    Ok(match once {
        true if summary.failed > 0 => ExitCode::FAILURE,
        true if summary.waiting > 0 || summary.unlisted > 0 => {
            eprintln!("gcore-reportd: {}", summary.unfinished());
            ExitCode::from(EXIT_TEMPFAIL)
        }
        _ => ExitCode::SUCCESS,
    })
}
