//! Log output: `tracing` events as text or JSON lines on stderr, or straight to journald with
//! structured fields (REPORT, PERIOD, TASK_UUID, …), filtered by `RUST_LOG` or `--log-level`.
//! Without a format chosen, journald is used when `JOURNAL_STREAM` says stderr goes to the
//! journal (its `DEVICE:INODE` is stderr's, as `systemd.exec(5)` asks: a command run from a
//! hook or a shell inherits the variable but not the stream); if the journal socket cannot be
//! opened, plain text on stderr is the fallback. Every task's lines carry its span (id,
//! report, period, task_uuid): in JSON as the `span` object, in the journal as the fields ID,
//! REPORT, PERIOD and TASK_UUID.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines on stderr.
    Text,
    /// One JSON object per line on stderr, with the task's span fields.
    Json,
    /// journald's native protocol, each field its own journal field.
    Journald,
}

/// Installs the global subscriber; `level` wins over `RUST_LOG` when given.
pub fn init(format: Option<LogFormat>, level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let format = format.unwrap_or(if stderr_is_the_journal() {
        LogFormat::Journald
    } else {
        LogFormat::Text
    });
    let registry = tracing_subscriber::registry().with(filter);
    // Colours only for a person at a terminal: a file or pipe gets plain text to grep.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let text = || {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    };
    let result = match format {
        LogFormat::Text => registry.with(text()).try_init(),
        LogFormat::Json => registry
            .with(text().json().with_current_span(true).with_span_list(false))
            .try_init(),
        LogFormat::Journald => match tracing_journald::layer() {
            Ok(journald) => registry.with(journald.with_field_prefix(None)).try_init(),
            Err(e) => {
                eprintln!("gcore-reportd: journald is not reachable ({e}); logging to stderr");
                registry.with(text()).try_init()
            }
        },
    };
    if let Err(e) = result {
        eprintln!("gcore-reportd: logging not initialised: {e}");
    }
}

/// Whether `JOURNAL_STREAM` names the file stderr is connected to.
fn stderr_is_the_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let stderr = std::io::stderr().as_fd().try_clone_to_owned();
    let Ok(meta) = stderr.and_then(|fd| std::fs::File::from(fd).metadata()) else {
        return false;
    };
    names_stream(&stream.to_string_lossy(), meta.dev(), meta.ino())
}

/// Whether a `JOURNAL_STREAM` value (`DEVICE:INODE`, decimal) names the file `dev`/`ino`.
fn names_stream(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.trim().split_once(':') else {
        return false;
    };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

#[cfg(test)]
mod tests {
    use super::names_stream;

    #[test]
    fn journal_stream_must_name_stderrs_device_and_inode() {
        assert!(names_stream("8:1234", 8, 1234));
        assert!(!names_stream("8:1235", 8, 1234));
        assert!(!names_stream("9:1234", 8, 1234));
        assert!(!names_stream("garbage", 8, 1234));
        assert!(!names_stream("", 8, 1234));
    }
}
