//! Log output: `tracing` events to stderr as text or JSON lines, filtered by `RUST_LOG` or
//! `--log-level`. Spans carry the task id, report, period and uuid, so every line of a task's
//! work says which task it was.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with span fields.
    Json,
}

/// Installs the global subscriber; `level` wins over `RUST_LOG` when given.
pub fn init(format: LogFormat, level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    if let Err(e) = result {
        eprintln!("gcore-reportd: logging not initialised: {e}");
    }
}
