//! A file past the multipart threshold (16 MiB) is uploaded in parts, streamed from the file,
//! then copied to its key create-only: one version of the key, the file's bytes (the staging
//! object's version stays under `.uploads/`, as on any versioned bucket). A large restatement
//! whose replacing copy's answer is lost makes no second version.

use super::{daemon, wait_for_uploads, BUCKET};
use crate::common;
use crate::common::kill_proxy::KillProxy;
use crate::common::moto::{archive_destination, free_port, Moto};
use crate::common::Harness;
use gcore_reportd_sim::SimOptions;

/// How many rows make a csv report of about 20 MiB.
fn large_rows() -> usize {
    let params = serde_json::json!({});
    let base = gcore_reportd_sim::report_len("ResellerExpenses", &params, "csv", 0);
    let per_1000 = gcore_reportd_sim::report_len("ResellerExpenses", &params, "csv", 1000) - base;
    ((20u64 << 20) * 1000 / per_1000) as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_past_the_multipart_threshold_arrives_whole_as_one_version() {
    let port = free_port();
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let options = SimOptions {
        report_rows: large_rows(),
        ..common::quick_sim()
    };
    let reports = format!(
        "{}\n[[reports]]\nname = \"big\"\ntemplate = \"ResellerExpenses\"\nverify = \"off\"\ndestinations = [\"archive\"]\n",
        archive_destination(port, BUCKET)
    );
    let h = Harness::with_options(options, &reports).await;
    let run = daemon(&h, "daemon.log", None);
    wait_for_uploads(&h, 1, "delivered").await;
    run.stop().await;

    let name = h.output_files().into_iter().next().expect("the file");
    let local = std::fs::read(h.output_dir().join(&name)).expect("local");
    assert!(
        local.len() > 16 << 20,
        "past the threshold: {}",
        local.len()
    );
    let key = format!("gcore/{name}");
    let versions = moto.versions(BUCKET).await;
    assert_eq!(versions.get(&key), Some(&1), "{versions:?}");
    assert!(
        versions.keys().any(|k| k.starts_with("gcore/.uploads/")),
        "it went through the multipart staging key: {versions:?}"
    );
    assert!(moto.get(BUCKET, &key).await == local, "the file's bytes");
    moto.stop().await;
}

/// A large restatement replaces the current key by a copy from its staging object; when the
/// copy is done but its answer lost (the proxy closes the connection), no second copy is sent
/// blind: the next attempt's HEAD finds the new bytes, so the key has one version per version
/// of the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_restatement_whose_copy_answer_is_lost_makes_no_second_version() {
    let moto = Moto::start(free_port()).await;
    moto.versioned_bucket(BUCKET).await;
    let port = free_port();
    let proxy = KillProxy::start(port, moto.port).await;
    proxy.lose_copy_answer();
    let options = SimOptions {
        report_rows: large_rows(),
        restatements: 1,
        ..common::quick_sim()
    };
    // The refresh waits long enough for version 1 to reach the current key first.
    let reports = format!(
        "{}\n[[reports]]\nname = \"big\"\ntemplate = \"ResellerExpenses\"\nverify = \"off\"\nrefresh = [\"8s\"]\ndestinations = [\"archive\"]\n",
        archive_destination(port, BUCKET)
    );
    let h = Harness::with_options(options, &reports).await;
    let run = daemon(&h, "daemon.log", None);
    let what = "versions 1 and 2 at the current key, version 1 at its own";
    common::wait_for(what, std::time::Duration::from_secs(120), || async {
        let rows = super::uploads(&h).await;
        let files: Vec<_> = (rows.iter())
            .filter(|(key, _, _)| !key.ends_with(".manifest.json"))
            .collect();
        files.len() == 3 && files.iter().all(|(_, _, state)| state == "delivered")
    })
    .await;
    run.stop().await;
    let held = proxy.held_put().unwrap_or_default();
    let files = h.output_files();
    let current = (files.iter())
        .find(|f| f.ends_with(".csv") && !f.contains(".v1."))
        .expect("the period's file");
    let key = format!("gcore/{current}");
    assert!(
        held.contains(&key),
        "the answer lost was the current key's copy: {held:?}"
    );
    let versions = moto.versions(BUCKET).await;
    assert_eq!(versions.get(&key), Some(&2), "{versions:?}");
    let local = std::fs::read(h.output_dir().join(current)).expect("local");
    assert!(moto.get(BUCKET, &key).await == local, "version 2's bytes");
    moto.stop().await;
}
