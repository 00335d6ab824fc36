//! A versioned period's manifest (`{stem}.manifest.json`, rewritten with every outcome of the
//! period) reaches each destination under its local name, with the files' rules: a refresh
//! that confirms the file unchanged rewrites it, and the bucket's manifest follows, one object
//! version per rewrite that went, the file's key untouched; a manifest key holding bytes no
//! upload of it put is never overwritten (the upload fails naming the key) while the file is
//! delivered.

use std::time::Duration;

use super::{daemon, uploads, uploads_of_key, BUCKET};
use crate::common::moto::{archive_destination, free_port, Moto};
use crate::common::{self, Harness};

fn config(port: u16, refresh: &str) -> String {
    format!(
        "{}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nformat = \"csv\"\nrefresh = [\"{refresh}\"]\ndestinations = [\"archive\"]\n",
        archive_destination(port, BUCKET)
    )
}

/// The period's file and manifest names in the output directory (once the file is there).
fn names(h: &Harness) -> (String, String) {
    let files = h.output_files();
    let current = files.iter().find(|f| f.ends_with(".csv"));
    let current = current.expect("the period's file").clone();
    let manifest = current.replace(".csv", ".manifest.json");
    (current, manifest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_confirms_the_file_rewrites_the_manifest_and_the_bucket_follows_it() {
    let port = free_port();
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let h = Harness::with_options(common::quick_sim(), &config(port, "1s")).await;
    let run = daemon(&h, "daemon.log", None);
    // Version 1's file, its manifest, then the manifest the confirming refresh rewrote.
    let what = "the file and the newest of two manifests delivered";
    common::wait_for(what, Duration::from_secs(90), || async {
        let rows = uploads(&h).await;
        rows.len() == 3
            && rows.iter().all(|(_, version, _)| *version == 1)
            && rows[0].2 == "delivered"
            && rows[1].2 != "pending"
            && rows[2].2 == "delivered"
    })
    .await;
    run.stop().await;

    let (current, manifest) = names(&h);
    let local_manifest = std::fs::read(h.output_dir().join(&manifest)).expect("manifest");
    let text = String::from_utf8_lossy(&local_manifest).into_owned();
    assert!(
        !text.contains("\"confirmed_unchanged_at\": []"),
        "the refresh confirmed the file:\n{text}"
    );
    let manifest_key = format!("gcore/{manifest}");
    let put = uploads_of_key(&h, &manifest_key).await;
    let went = put.iter().filter(|(state, _)| state == "delivered").count();
    let versions = moto.versions(BUCKET).await;
    assert_eq!(versions.get(&format!("gcore/{current}")), Some(&1));
    assert_eq!(versions.get(&manifest_key), Some(&went), "{put:?}");
    assert_eq!(versions.len(), 2, "no other key: {versions:?}");
    assert!(
        moto.get(BUCKET, &manifest_key).await == local_manifest,
        "the bucket's manifest is the local one, as rewritten"
    );
    let url = format!("sqlite://{}?mode=ro", h.path("state.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("the database");
    let sql = "SELECT location FROM deliveries WHERE destination = 'archive'";
    let ledger: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(&pool)
        .await
        .expect("rows");
    pool.close().await;
    assert_eq!(
        ledger,
        [format!("s3://{BUCKET}/gcore/{current}")],
        "the ledger's delivery is the file's, not the manifest's"
    );
    moto.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_key_holding_other_bytes_is_never_overwritten_and_the_file_is_delivered() {
    let port = free_port();
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let h = Harness::with_options(common::quick_sim(), &config(port, "1h")).await;
    // Someone else's object where the manifest of the period due (last month) is to go.
    let (from, to) = (common::months_back(1), common::months_back(0));
    let manifest_key = format!("gcore/expenses_{from}_{to}.manifest.json");
    let other = b"someone else's manifest";
    moto.put(BUCKET, &manifest_key, other).await;
    let run = daemon(&h, "daemon.log", None);
    let what = "the file delivered, the manifest failed";
    common::wait_for(what, Duration::from_secs(60), || async {
        let rows = uploads(&h).await;
        let state = |key: &str| rows.iter().find(|r| r.0 == key).map(|r| r.2.clone());
        rows.len() == 2
            && rows
                .iter()
                .any(|r| !r.0.ends_with(".manifest.json") && r.2 == "delivered")
            && state(&manifest_key).as_deref() == Some("failed")
    })
    .await;
    run.stop().await;
    assert_eq!(
        moto.get(BUCKET, &manifest_key).await,
        other,
        "never overwritten"
    );
    assert_eq!(moto.versions(BUCKET).await.get(&manifest_key), Some(&1));
    let rows = h.status().await;
    let destinations = rows[0]["destinations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let failed = destinations
        .iter()
        .find(|d| d["key"] == manifest_key.as_str());
    let failed = failed.unwrap_or_else(|| panic!("the manifest's upload in {rows:?}"));
    assert!(
        failed["state"] == "failed"
            && failed["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(&manifest_key)),
        "the failure names the key: {failed}"
    );
    moto.stop().await;
}
