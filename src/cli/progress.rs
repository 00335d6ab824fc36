//! The live progress line of `run --once`, `backfill`, `submit` and `demo` when stderr is a
//! terminal: an `indicatif` spinner with the run's tasks, `created 4, running 1, downloaded 2,
//! failed 1`, log lines printed above it, and at the end one line that stays (`finished: …`,
//! or `interrupted: …` after Ctrl-C) above the summary the command prints. The counts come
//! from the database, not from the engine: a read-only connection (the operator commands'
//! `Store::open_existing`) counts, every [`POLL`], the tasks changed since the run began
//! (`Store::count_changed_since`, the query behind the run's own summary), so the engine is
//! untouched. It connects only once the engine has put the database in WAL mode (its `-wal`
//! file exists): from then on a reader never holds up the engine's writes. When stderr is not
//! a terminal nothing here runs and the output is the plain log lines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Cli, Command};
use crate::store::{State, Store};

/// How often the counts are read from the database.
const POLL: Duration = Duration::from_millis(250);

impl Cli {
    /// Whether this command shows the progress line: one that processes tasks to the end,
    /// with stderr a terminal. Only then does the default log level drop to `warn`.
    pub fn shows_progress(&self) -> bool {
        let processes = match &self.command {
            Command::Run { once } => *once,
            Command::Backfill(args) => !args.dry_run,
            Command::Submit(_) => true,
            #[cfg(feature = "simulator")]
            Command::Demo(_) => true,
            _ => false,
        };
        processes && std::io::stderr().is_terminal()
    }
}

/// The tasks of a run, by where they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every task the run has recorded or worked on.
    pub created: i64,
    /// Not ended yet: waiting to be created, created and polled, or downloading.
    pub running: i64,
    pub downloaded: i64,
    /// Ended without a file (failed, expired or lost), or held for an operator.
    pub failed: i64,
}

impl Counts {
    /// From `(state, count)` rows, as [`Store::count_changed_since`] returns them.
    pub fn from_rows(rows: &[(String, i64)]) -> Counts {
        let mut counts = Counts::default();
        for (state, n) in rows {
            counts.created += n;
            match state.parse::<State>() {
                Ok(State::Done) => counts.downloaded += n,
                Ok(State::Failed | State::Expired | State::Lost | State::Held) => {
                    counts.failed += n
                }
                _ => counts.running += n,
            }
        }
        counts
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "created {}, running {}, downloaded {}, failed {}",
            self.created, self.running, self.downloaded, self.failed
        )
    }
}

/// The progress line while it shows; a no-op when stderr is not a terminal.
pub struct Progress {
    live: Option<Live>,
}

struct Live {
    bar: ProgressBar,
    stop: CancellationToken,
    counter: JoinHandle<Option<Counts>>,
}

impl Progress {
    /// No line (a command or mode that shows none).
    pub fn off() -> Progress {
        Progress { live: None }
    }

    /// Starts the line for a run on `database` whose tasks are those changed from `since`
    /// (Unix ms, read from the clock the engine stamps its changes with).
    pub fn start(database: &Path, since: i64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::off();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_strings(&["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", "✔"]);
        bar.set_style(style);
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        crate::logging::show_above(Some(bar.clone()));
        let stop = CancellationToken::new();
        let counter = tokio::spawn(count(
            bar.clone(),
            database.to_path_buf(),
            since,
            stop.clone(),
        ));
        let live = Live { bar, stop, counter };
        Progress { live: Some(live) }
    }

    /// Ends the line before the command prints its summary: after a run that returned, its
    /// final counts stay on screen (`interrupted:` when `shutdown` was signalled); after an
    /// error the line is cleared for the error message.
    pub async fn finish<T, E>(mut self, result: &Result<T, E>, shutdown: &CancellationToken) {
        let Some(live) = self.live.take() else {
            return;
        };
        live.stop.cancel();
        let counts = live.counter.await.ok().flatten();
        crate::logging::show_above(None);
        match (result.is_ok(), counts) {
            (true, Some(counts)) => {
                let how = match shutdown.is_cancelled() {
                    true => "interrupted",
                    false => "finished",
                };
                live.bar.finish_with_message(format!("{how}: {counts}"));
            }
            _ => live.bar.finish_and_clear(),
        }
    }
}

impl Drop for Progress {
    /// A command that returns early (an error before [`Progress::finish`]) leaves no line.
    fn drop(&mut self) {
        if let Some(live) = self.live.take() {
            live.stop.cancel();
            live.counter.abort();
            crate::logging::show_above(None);
            live.bar.finish_and_clear();
        }
    }
}

/// Updates the line's counts until `stop`, then returns the last ones (none if the database
/// never became readable).
async fn count(
    bar: ProgressBar,
    database: PathBuf,
    since: i64,
    stop: CancellationToken,
) -> Option<Counts> {
    let mut store = None;
    let mut last = None;
    loop {
        let stopping = stop.is_cancelled();
        // At the end the engine has closed the database (and may have removed its `-wal`).
        if store.is_none() && (stopping || in_wal_mode(&database)) {
            store = Store::open_existing(&database).await.ok();
        }
        if let Some(store) = &store {
            if let Ok(rows) = store.count_changed_since(since).await {
                let counts = Counts::from_rows(&rows);
                bar.set_message(counts.to_string());
                last = Some(counts);
            }
        }
        if stopping {
            break;
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    if let Some(store) = store {
        store.close().await;
    }
    last
}

/// Whether the engine has opened `database` in WAL mode: its `-wal` file is there.
fn in_wal_mode(database: &Path) -> bool {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    Path::new(&wal).exists()
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn every_state_counts_as_created_and_in_exactly_one_other_column() {
        let rows: Vec<(String, i64)> = [
            ("intent", 1),
            ("creating", 1),
            ("polling", 2),
            ("downloading", 1),
            ("done", 3),
            ("failed", 1),
            ("expired", 1),
            ("lost", 1),
        ]
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
        let counts = Counts::from_rows(&rows);
        assert_eq!(
            counts.to_string(),
            "created 11, running 5, downloaded 3, failed 3"
        );
    }
}
