//! A restated period: its current key is replaced, on condition that it still holds the
//! first version, and so has two versions in the bucket, the second the new file's bytes; the
//! first version keeps its own versioned key, written once; the `on_restated` hook runs once
//! both are there, with its version's object URL in its environment; the metrics count the
//! bytes. The period's manifest reaches the bucket under its local name, one object version
//! per rewrite that went. A destination away across two restatements gets the newest version
//! (and manifest) at the current key, replacing the oldest it still holds.

use super::{daemon, BUCKET};
use crate::common;
use crate::common::moto::{archive_destination, free_port, Moto};
use crate::common::Harness;
use gcore_reportd_sim::SimOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restated_version_replaces_the_current_key_and_keeps_the_old_version_under_its_own_key() {
    let port = free_port();
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let hook_log = tempfile::NamedTempFile::new().expect("temp file");
    let reports = format!(
        r#"{}
[metrics]
listen = "127.0.0.1:0"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
refresh = ["1s"]
destinations = ["archive"]
on_restated = ['/bin/sh', '-c', 'echo "$REPORT_OBJECT_URLS" >> "$0"', '{}']
"#,
        archive_destination(port, BUCKET),
        hook_log.path().display(),
    );
    let options = SimOptions {
        restatements: 1,
        ..common::quick_sim()
    };
    let h = Harness::with_options(options, &reports).await;
    let run = daemon(&h, "daemon.log", None);
    // Version 1 at the current key, then version 2 there and version 1 at its own key; the
    // manifest as written with version 1, then with version 2 (the first superseded if the
    // second was recorded before it went).
    let what = "three files delivered, the newest manifest delivered";
    common::wait_for(what, std::time::Duration::from_secs(90), || async {
        let rows = super::uploads(&h).await;
        let (manifests, files): (Vec<_>, Vec<_>) = rows
            .iter()
            .partition(|(key, _, _)| key.ends_with(".manifest.json"));
        files.len() == 3
            && files.iter().all(|(_, _, s)| s == "delivered")
            && manifests.len() == 2
            && manifests[0].2 != "pending"
            && manifests[1].2 == "delivered"
    })
    .await;
    common::wait_for(
        "the restated hook",
        std::time::Duration::from_secs(60),
        || async { std::fs::read_to_string(hook_log.path()).is_ok_and(|t| !t.trim().is_empty()) },
    )
    .await;
    let port = run.metrics_port().await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let page = reqwest::get(&url).await.expect("GET /metrics");
    let page = page.text().await.expect("the page");
    run.stop().await;

    let files = h.output_files();
    let current = files
        .iter()
        .find(|f| f.ends_with(".csv") && !f.contains(".v1."))
        .expect("the period's file");
    let kept = files
        .iter()
        .find(|f| f.contains(".v1."))
        .expect("version 1");
    let versions = moto.versions(BUCKET).await;
    let current_key = format!("gcore/{current}");
    let kept_key = format!("gcore/{kept}");
    let manifest = current.replace(".csv", ".manifest.json");
    let manifest_key = format!("gcore/{manifest}");
    assert_eq!(versions.get(&current_key), Some(&2), "{versions:?}");
    assert_eq!(versions.get(&kept_key), Some(&1), "{versions:?}");
    // One object version per manifest upload that went (the first may have been superseded).
    let manifest_uploads = super::uploads_of_key(&h, &manifest_key).await;
    let manifests_put = manifest_uploads
        .iter()
        .filter(|(state, _)| state == "delivered")
        .count();
    assert_eq!(
        versions.get(&manifest_key),
        Some(&manifests_put),
        "{versions:?} {manifest_uploads:?}"
    );
    assert_eq!(versions.len(), 3, "no other key: {versions:?}");
    let local_manifest = std::fs::read(h.output_dir().join(&manifest)).expect("manifest");
    assert!(
        moto.get(BUCKET, &manifest_key).await == local_manifest,
        "the manifest's object is the local manifest"
    );
    let local_current = std::fs::read(h.output_dir().join(current)).expect("current");
    let local_kept = std::fs::read(h.output_dir().join(kept)).expect("kept");
    assert_ne!(local_current, local_kept, "the content changed");
    assert!(moto.get(BUCKET, &current_key).await == local_current);
    assert!(moto.get(BUCKET, &kept_key).await == local_kept);
    // The bytes delivered are the file versions' (the manifests' are left out).
    let delivered = local_current.len() + 2 * local_kept.len();
    for line in [
        "gcore_reportd_destination_deliveries_pending{destination=\"archive\"} 0".to_string(),
        "gcore_reportd_destination_deliveries_failed{destination=\"archive\"} 0".to_string(),
        format!("gcore_reportd_destination_delivered_bytes{{destination=\"archive\"}} {delivered}"),
    ] {
        assert!(
            page.lines().any(|l| l == line),
            "the metrics show {line}:\n{page}"
        );
    }
    let said = std::fs::read_to_string(hook_log.path()).expect("hook log");
    assert_eq!(
        said.trim(),
        format!("s3://{BUCKET}/{current_key}"),
        "the restated hook ran once, naming its own version's object (version 1's kept key is \
         version 1's, and holds back version 1's hooks)"
    );
    moto.stop().await;
}

/// The reviewers' case: version 1 reached the current key, then the destination was away
/// while the period was restated twice. Version 2's put to the current key is superseded
/// by version 3, which finds version 1 there: it replaces it (an older version of its period),
/// never ends `failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_away_across_two_restatements_gets_the_newest_version_at_the_current_key() {
    let port = free_port();
    let reports = format!(
        "{}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nformat = \"csv\"\nrefresh = [\"1s\", \"2s\"]\ndestinations = [\"archive\"]\n",
        archive_destination(port, BUCKET),
    );
    let options = SimOptions {
        restatements: 2,
        ..common::quick_sim()
    };
    let h = Harness::with_options(options, &reports).await;
    let away = daemon(&h, "away.log", None);
    // Three versions at the current key, two kept under their own names, three manifests:
    // none delivered (the older ones at the current key may already be superseded).
    common::wait_for(
        "8 uploads, none delivered",
        std::time::Duration::from_secs(60),
        || async {
            let rows = super::uploads(&h).await;
            rows.len() == 8 && rows.iter().all(|(_, _, state)| state != "delivered")
        },
    )
    .await;
    away.stop().await;
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let files = h.output_files();
    let current = (files.iter())
        .find(|f| f.ends_with(".csv") && !f.contains(".v"))
        .expect("the period's file");
    let first = std::fs::read(h.output_dir().join(current.replace(".csv", ".v1.csv")))
        .expect("version 1 kept locally");
    let current_key = format!("gcore/{current}");
    // What reached the bucket before it went away.
    moto.put(BUCKET, &current_key, &first).await;

    let back = daemon(&h, "back.log", None);
    let what = "version 3 delivered at the current key, the others kept or superseded";
    common::wait_for(what, std::time::Duration::from_secs(90), || async {
        let mut states: Vec<(i64, String)> = (super::uploads(&h).await.into_iter())
            .map(|(_, version, state)| (version, state))
            .collect();
        states.sort();
        states
            == [
                (1, "delivered".to_string()),
                (1, "superseded".to_string()),
                (1, "superseded".to_string()),
                (2, "delivered".to_string()),
                (2, "superseded".to_string()),
                (2, "superseded".to_string()),
                (3, "delivered".to_string()),
                (3, "delivered".to_string()),
            ]
    })
    .await;
    back.stop().await;
    let newest = std::fs::read(h.output_dir().join(current)).expect("version 3");
    assert!(moto.get(BUCKET, &current_key).await == newest);
    assert_eq!(moto.versions(BUCKET).await.get(&current_key), Some(&2));
    let manifest = current.replace(".csv", ".manifest.json");
    let local_manifest = std::fs::read(h.output_dir().join(&manifest)).expect("manifest");
    let manifest_key = format!("gcore/{manifest}");
    assert!(moto.get(BUCKET, &manifest_key).await == local_manifest);
    assert_eq!(moto.versions(BUCKET).await.get(&manifest_key), Some(&1));
    moto.stop().await;
}
