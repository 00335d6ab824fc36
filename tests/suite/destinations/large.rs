//! A file past the multipart threshold (16 MiB) is uploaded in parts, streamed from the file,
//! then copied to its key create-only: one version of the key, the file's bytes (the staging
//! object's version stays under `.uploads/`, as on any versioned bucket).

use super::{daemon, wait_for_uploads, BUCKET};
use crate::common;
use crate::common::moto::{archive_destination, free_port, Moto};
use crate::common::Harness;
use gcore_reportd_sim::SimOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_past_the_multipart_threshold_arrives_whole_as_one_version() {
    let port = free_port();
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let params = serde_json::json!({});
    let base = gcore_reportd_sim::report_len("ResellerExpenses", &params, "csv", 0);
    let per_1000 = gcore_reportd_sim::report_len("ResellerExpenses", &params, "csv", 1000) - base;
    let rows = (20u64 << 20) * 1000 / per_1000;
    let options = SimOptions {
        report_rows: rows as usize,
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
