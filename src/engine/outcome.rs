//! What a versioned report's staged file leads to, decided from the period's current version:
//! the first version, the same bytes again (confirmed unchanged), newer content (restated: a
//! new version, the old one kept), an empty report not delivered, or content older than the
//! current version's (superseded: a refresh whose remote task was created before the current
//! version's, finishing late, say after an operator's `retry`, never makes older bytes
//! current). Also where the file goes and the event that says so.

use std::path::{Path, PathBuf};

use super::versions;
use crate::store::{FileRecord, TaskRow};

/// What a staged file leads to.
pub(super) enum Outcome {
    /// The period's first version (or the first after empty reports that were not delivered).
    First,
    /// The same bytes as the current version.
    Unchanged(i64),
    /// Different bytes: a new version after this one.
    Restated(i64),
    /// An empty report not delivered.
    EmptyRefetched,
    /// Different bytes from a remote task created before the current version's: not delivered.
    Superseded(i64),
}

/// The period's current version: its number, its bytes' sha256 and when its remote task was
/// created (the content's age).
#[derive(Debug, Clone, Copy)]
pub(super) struct Current<'a> {
    pub version: i64,
    pub sha256: Option<&'a str>,
    pub asked_at: Option<i64>,
}

impl<'a> Current<'a> {
    /// The current version delivered by `task`, if it delivered one.
    pub fn of(task: &'a TaskRow) -> Option<Current<'a>> {
        Some(Current {
            version: task.version?,
            sha256: task.sha256.as_deref(),
            asked_at: task.remote_created_at,
        })
    }
}

/// The outcome of a file (`sha256`) whose remote task was created at `asked_at`.
pub(super) fn decide(
    refetch: bool,
    current: Option<Current<'_>>,
    asked_at: Option<i64>,
    sha256: &str,
) -> Outcome {
    match current {
        _ if refetch => Outcome::EmptyRefetched,
        None => Outcome::First,
        Some(c) if c.sha256 == Some(sha256) => Outcome::Unchanged(c.version),
        Some(c) if older(asked_at, c.asked_at) => Outcome::Superseded(c.version),
        Some(c) => Outcome::Restated(c.version),
    }
}

/// Whether content asked at `this` (a remote task's creation) is older than content asked at
/// `current`; unknown times are not compared.
fn older(this: Option<i64>, current: Option<i64>) -> bool {
    matches!((this, current), (Some(a), Some(b)) if a < b)
}

/// Moves the staged file where the outcome says (blocking work on the blocking pool).
pub(super) async fn place(
    outcome: &Outcome,
    staged: &Path,
    period_file: &Path,
) -> std::io::Result<()> {
    let (staged, period_file): (PathBuf, PathBuf) = (staged.into(), period_file.into());
    let previous = match outcome {
        Outcome::Restated(v) => Some(*v),
        _ => None,
    };
    let keep = matches!(outcome, Outcome::First | Outcome::Restated(_));
    tokio::task::spawn_blocking(move || match (keep, previous) {
        (true, Some(v)) => versions::restate(&staged, &period_file, v),
        (true, None) => versions::place(&staged, &period_file),
        (false, _) => std::fs::remove_file(&staged),
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
}

/// The version recorded, whether a hook is due, and the event's message.
pub(super) fn describe(
    outcome: &Outcome,
    record: &FileRecord<'_>,
    period_file: &Path,
    now: i64,
) -> (Option<i64>, bool, String) {
    let at = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.to_string())
        .unwrap_or_default();
    match outcome {
        Outcome::First => (Some(1), true, format!("{} (version 1)", downloaded_message(record))),
        Outcome::Unchanged(v) => (
            None,
            false,
            format!("confirmed unchanged at {at}: the same sha256 {} as version {v}", record.sha256),
        ),
        Outcome::Restated(v) => {
            let kept = versions::version_path(period_file, *v);
            let kept = kept.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let message = format!(
                "restated: {} became version {} (version {v} kept as {kept})",
                downloaded_message(record),
                v + 1
            );
            (Some(v + 1), true, message)
        }
        Outcome::Superseded(v) => (
            None,
            false,
            format!(
                "superseded: {}, asked before version {v} was, is older content; not delivered (version {v} stays current)",
                downloaded_message(record)
            ),
        ),
        Outcome::EmptyRefetched => (
            None,
            false,
            format!(
                "an empty report ({} columns, no rows) not delivered (on_empty = \"refetch\"): the period is asked again at its next refresh",
                record.shape.map_or(0, |(_, c)| c)
            ),
        ),
    }
}

/// The event of a delivery: size, digest and, when verified, the table's shape.
pub(super) fn downloaded_message(file: &FileRecord<'_>) -> String {
    let (bytes, sha256) = (file.bytes, file.sha256);
    match file.shape {
        Some((0, columns)) => format!(
            "downloaded {bytes} bytes, sha256 {sha256}: an empty report ({columns} columns, no rows)"
        ),
        Some((rows, columns)) => {
            format!("downloaded {bytes} bytes, sha256 {sha256}: {rows} rows, {columns} columns")
        }
        None => format!("downloaded {bytes} bytes, sha256 {sha256}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: Current<'static> = Current {
        version: 2,
        sha256: Some("new"),
        asked_at: Some(2_000),
    };

    #[test]
    fn older_content_finishing_late_is_superseded_never_current() {
        let decided = |asked_at, sha256| decide(false, Some(CURRENT), asked_at, sha256);
        assert!(matches!(
            decided(Some(1_000), "old"),
            Outcome::Superseded(2)
        ));
        assert!(matches!(
            decided(Some(3_000), "newer"),
            Outcome::Restated(2)
        ));
        assert!(matches!(decided(Some(1_000), "new"), Outcome::Unchanged(2)));
        assert!(matches!(decided(None, "other"), Outcome::Restated(2)));
        assert!(matches!(
            decide(false, None, Some(1), "old"),
            Outcome::First
        ));
        assert!(matches!(
            decide(true, Some(CURRENT), Some(3_000), "newer"),
            Outcome::EmptyRefetched
        ));
    }
}
