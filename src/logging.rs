//! Log output: `tracing` events as text or JSON lines on stderr, or straight to journald with
//! structured fields (REPORT, PERIOD, TASK_UUID, …), filtered by `RUST_LOG` or `--log-level`.
//! Without a format chosen, journald is used when `JOURNAL_STREAM` says stderr goes to the
//! journal (its `DEVICE:INODE` is stderr's, as `systemd.exec(5)` asks: a command run from a
//! hook or a shell inherits the variable but not the stream); if the journal socket cannot be
//! opened, plain text on stderr is the fallback. Every task's lines carry its span (id,
//! report, period, task_uuid): in JSON as the `span` object, in the journal as the fields ID,
//! REPORT, PERIOD and TASK_UUID. On a terminal, a command showing its progress line
//! (`cli::progress`) logs at `warn` unless a level is asked for, and each log line is written
//! above the line instead of through it; elsewhere stderr gets the lines as they are.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::ProgressBar;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::MakeWriter;
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

/// Installs the global subscriber; `level` wins over `RUST_LOG` when given, and without
/// either the level is `info`, or `warn` when the command shows a progress line (`progress`).
pub fn init(format: Option<LogFormat>, level: Option<&str>, progress: bool) {
    let default = if progress { "warn" } else { "info" };
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
    };
    let format = format.unwrap_or(if stderr_is_the_journal() {
        LogFormat::Journald
    } else {
        LogFormat::Text
    });
    let registry = tracing_subscriber::registry().with(filter);
    // Colours and the progress bar only for a person at a terminal: a file or pipe gets plain
    // text to grep.
    let terminal = std::io::stderr().is_terminal();
    let text = || {
        let writer = match terminal {
            true => BoxMakeWriter::new(AboveBar),
            false => BoxMakeWriter::new(std::io::stderr),
        };
        tracing_subscriber::fmt::layer()
            .with_ansi(terminal)
            .with_writer(writer)
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

/// The progress line log lines are written above, while one shows.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Log lines go above `bar` from now on (`None`: straight to stderr again).
pub fn show_above(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// On a terminal: stderr, or, while a progress line shows, a buffer of one log line written
/// above it.
struct AboveBar;

impl<'a> MakeWriter<'a> for AboveBar {
    type Writer = Box<dyn Write>;

    fn make_writer(&'a self) -> Self::Writer {
        let bar = BAR.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bar {
            Some(bar) => Box::new(LineAbove(bar, Vec::new())),
            None => Box::new(std::io::stderr()),
        }
    }
}

/// One event's text, written when the subscriber is done with it (drop), with the progress
/// line lifted out of the way.
struct LineAbove(ProgressBar, Vec<u8>);

impl Write for LineAbove {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineAbove {
    fn drop(&mut self) {
        let text = std::mem::take(&mut self.1);
        self.0.suspend(|| {
            let _ = std::io::stderr().write_all(&text);
        });
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
