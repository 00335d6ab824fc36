//! A period refreshed twice whose content changed once has two versions on disk, a manifest
//! listing both and one `on_restated` run; the second refresh is recorded unchanged.

use super::{all_done, by_refresh, start_daemon, status_when, stop};
use crate::common;
use crate::common::{served_as_created, sha256_file, sha256_hex, show, Harness};
use gcore_reportd_sim::SimOptions;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_refreshed_twice_that_changed_once_has_two_versions_a_manifest_and_one_restated_hook(
) {
    let options = SimOptions {
        restatements: 1,
        ..common::quick_sim()
    };
    let hook_log = tempfile::NamedTempFile::new().expect("temp file");
    let reports = format!(
        r#"
[metrics]
listen = "127.0.0.1:0"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
refresh = ["1s", "2s"]
on_restated = ['/bin/sh', '-c', 'echo "$REPORT_VERSION $REPORT_PREVIOUS_SHA256 $REPORT_SHA256 $REPORT_ROWS" >> "$0"', '{}']
"#,
        hook_log.path().display(),
    );
    let h = Harness::with_options(options, &reports).await;
    let daemon = start_daemon(&h);
    let rows = status_when(&h, "the first delivery and both refreshes", |r| {
        all_done(r, 3)
    })
    .await;
    stop(daemon).await;

    let remote = h.sim.tasks();
    assert_eq!(remote.len(), 3, "one remote task per refresh: {remote:?}");
    assert_eq!(
        remote.iter().map(|t| t.revision).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    let (first, second) = (by_refresh(&rows, 0), by_refresh(&rows, 1));
    let third = by_refresh(&rows, 2);
    assert_eq!(
        (first["version"].as_i64(), second["version"].as_i64()),
        (Some(1), Some(2))
    );
    assert!(
        third["version"].is_null(),
        "the second refresh delivered nothing new: {third}"
    );
    assert!(
        rows.iter().all(|r| r["versions"] == 2),
        "status shows two versions: {rows:?}"
    );

    let current = std::path::PathBuf::from(first["path"].as_str().expect("a path"));
    let stem = current
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("stem")
        .to_string();
    let (v1, manifest_path) = (
        h.output_dir().join(format!("{stem}.v1.csv")),
        h.output_dir().join(format!("{stem}.manifest.json")),
    );
    let mut expected = vec![
        format!("{stem}.csv"),
        format!("{stem}.manifest.json"),
        format!("{stem}.v1.csv"),
    ];
    expected.sort();
    assert_eq!(h.output_files(), expected);
    let (old, new) = (
        served_as_created(&remote[0], "csv"),
        served_as_created(&remote[1], "csv"),
    );
    assert_ne!(old, new, "the content changed once");
    assert_eq!(
        std::fs::read(&v1).expect("v1"),
        old,
        "version 1 kept beside the file"
    );
    assert_eq!(
        std::fs::read(&current).expect("current"),
        new,
        "version 2 is the period's file"
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("JSON");
    let versions = manifest["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2, "{manifest:#}");
    let (m1, m2) = (&versions[0], &versions[1]);
    assert_eq!(
        (m1["version"].as_i64(), m1["current"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(
        (m2["version"].as_i64(), m2["current"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(m1["file"], format!("{stem}.v1.csv"));
    assert_eq!(m2["file"], format!("{stem}.csv"));
    assert_eq!(m1["sha256"].as_str(), Some(sha256_hex(&old).as_str()));
    assert_eq!(m2["sha256"].as_str(), Some(sha256_file(&current).as_str()));
    assert_eq!(
        (m1["uuid"].as_str(), m2["uuid"].as_str()),
        (Some(remote[0].uuid.as_str()), Some(remote[1].uuid.as_str()))
    );
    assert_eq!(
        (m2["bytes"].as_u64(), m2["rows"].as_u64()),
        (Some(new.len() as u64), Some(20))
    );
    assert!(m1["downloaded_at"].is_string());
    assert_eq!(
        m2["confirmed_unchanged_at"].as_array().map(Vec::len),
        Some(1),
        "{m2}"
    );

    let hooks = std::fs::read_to_string(hook_log.path()).expect("hook log");
    let lines: Vec<&str> = hooks.lines().collect();
    assert_eq!(
        lines,
        [format!("2 {} {} 20", sha256_hex(&old), sha256_hex(&new))],
        "on_restated ran once, for version 2"
    );
    let history = show(&h, &third["id"].to_string()).await;
    assert!(history.contains("confirmed unchanged at"), "{history}");
    assert!(
        history.contains("version 2 (current)"),
        "show lists the versions:\n{history}"
    );
}
