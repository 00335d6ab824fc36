//! A period's versions on disk. The current file keeps the period's name; when a refresh
//! brings different bytes, the current file is first hard-linked as `{stem}.v{N}.{ext}` (N its
//! version number), then the new file is renamed over the period's name, so a reader sees
//! either the old or the new file, never neither. `{stem}.manifest.json` lists every version.
//!
//! Every step can be repeated after a crash: a version link that exists is kept (never
//! overwritten), and the manifest is rewritten whole (temporary file + rename) from the
//! database and the version being recorded.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::store::{State, TaskRow};

/// `{stem}.v{n}.{ext}` beside `current` (`name.v2` when the name has no extension).
pub(super) fn version_path(current: &Path, n: i64) -> PathBuf {
    let (stem, ext) = split_name(current);
    let name = match ext {
        Some(ext) => format!("{stem}.v{n}.{ext}"),
        None => format!("{stem}.v{n}"),
    };
    current.with_file_name(name)
}

/// `{stem}.manifest.json` beside `current`.
pub(super) fn manifest_path(current: &Path) -> PathBuf {
    let (stem, _) = split_name(current);
    current.with_file_name(format!("{stem}.manifest.json"))
}

fn split_name(path: &Path) -> (String, Option<String>) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_string(), Some(ext.to_string())),
        _ => (name, None),
    }
}

/// The manifest of a period from its tasks (first delivery and refreshes): every version with
/// its file, sha256, bytes, rows, columns, remote uuid, when it was downloaded, whether it is
/// current, and when later refreshes confirmed it unchanged.
pub(super) fn manifest(tasks: &[TaskRow], current: &Path) -> Value {
    let latest = tasks.iter().filter_map(|t| t.version).max();
    let name = |p: PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let versions: Vec<Value> = tasks
        .iter()
        .filter_map(|t| t.version.map(|v| (t, v)))
        .map(|(t, v)| {
            let is_current = Some(v) == latest;
            let file = if is_current {
                name(current.to_path_buf())
            } else {
                name(version_path(current, v))
            };
            let confirmed: Vec<String> = tasks
                .iter()
                .filter(|c| c.state == State::Done && c.version.is_none() && c.sha256 == t.sha256)
                .filter_map(|c| c.delivered_at.map(rfc3339))
                .collect();
            json!({
                "version": v,
                "file": file,
                "current": is_current,
                "sha256": t.sha256,
                "bytes": t.bytes,
                "rows": t.data_rows,
                "columns": t.data_columns,
                "uuid": t.uuid,
                "refresh": t.refresh,
                "downloaded_at": t.delivered_at.map(rfc3339),
                "confirmed_unchanged_at": confirmed,
            })
        })
        .collect();
    let first = tasks.first();
    json!({
        "report": first.map(|t| t.report.as_str()),
        "period_from": first.map(|t| t.period_from.as_str()),
        "period_to": first.map(|t| t.period_to.as_str()),
        "versions": versions,
    })
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Makes `staged` the period's file at `current`, keeping the file now there (version
/// `previous`) as its version file first. Blocking.
pub(super) fn restate(staged: &Path, current: &Path, previous: i64) -> std::io::Result<()> {
    let kept = version_path(current, previous);
    match std::fs::hard_link(current, &kept) {
        Ok(()) => {}
        // Kept already (a restatement interrupted after this step), or the current file was
        // removed by hand: there is nothing to keep.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotFound
            ) => {}
        Err(e) => return Err(e),
    }
    place(staged, current)
}

/// Renames `staged` to `current` and makes the rename durable. Blocking.
pub(super) fn place(staged: &Path, current: &Path) -> std::io::Result<()> {
    std::fs::rename(staged, current)?;
    sync_dir(current);
    Ok(())
}

/// The bytes of `manifest` as its file holds them.
pub(super) fn manifest_bytes(manifest: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` (see [`manifest_bytes`]) as `current`'s manifest, atomically. Blocking.
pub(super) fn write_manifest(current: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = manifest_path(current);
    let part = path.with_file_name(format!(
        ".gcore-reportd-manifest-{}.part",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&part)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&part, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    sync_dir(current);
    result
}

fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_the_manifest_sit_beside_the_current_file() {
        let current = Path::new("/r/expenses_2026-01-01_2026-02-01.csv");
        assert_eq!(
            version_path(current, 1),
            Path::new("/r/expenses_2026-01-01_2026-02-01.v1.csv")
        );
        assert_eq!(
            manifest_path(current),
            Path::new("/r/expenses_2026-01-01_2026-02-01.manifest.json")
        );
        assert_eq!(
            version_path(Path::new("/r/plain"), 3),
            Path::new("/r/plain.v3")
        );
    }

    #[test]
    fn a_restatement_keeps_the_old_file_and_can_be_repeated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let current = dir.path().join("p.csv");
        std::fs::write(&current, "old").expect("write");
        let staged = dir.path().join(".staged");
        std::fs::write(&staged, "new").expect("write");
        restate(&staged, &current, 1).expect("restate");
        std::fs::write(&staged, "new").expect("write");
        restate(&staged, &current, 1).expect("repeated");
        let read = |p: &Path| std::fs::read_to_string(p).expect("read");
        assert_eq!(read(&current), "new");
        assert_eq!(read(&dir.path().join("p.v1.csv")), "old");
    }
}
