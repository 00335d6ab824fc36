//! A destination down for a whole `run --once`: every report is done locally and its delivery
//! to the bucket pending (with the error in `status`); the next run, with the bucket back,
//! delivers it. And an object already at a key with other bytes is never overwritten: the
//! delivery fails naming the key, and `retry` delivers it once the way is clear.

use std::time::Duration;

use super::{s3_env, uploads, wait_for_uploads, BUCKET, KEY_ID, SECRET};
use crate::common::moto::{archive_destination, free_port, Moto};
use crate::common::{stderr, Harness};

fn config(port: u16) -> String {
    format!(
        "{}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nformat = \"csv\"\ndestinations = [\"archive\"]\n\n[[reports]]\nname = \"plans\"\ntemplate = \"ResellerPlans\"\nformat = \"json\"\n",
        archive_destination(port, BUCKET)
    )
}

async fn run_once(h: &Harness) -> std::process::Output {
    let mut cmd = h.command(&["run", "--once"]);
    s3_env(&mut cmd);
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("run --once finished within 120 s")
        .expect("spawn gcore-reportd")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_down_for_a_whole_run_leaves_the_rest_done_and_delivers_when_it_is_back() {
    let port = free_port();
    let h = Harness::start(&config(port)).await;
    let out = run_once(&h).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    assert!(
        !stderr(&out).contains(SECRET) && !stderr(&out).contains(KEY_ID),
        "the credentials never reach a log line"
    );
    for file in ["state.db", "state.db-wal"] {
        let bytes = std::fs::read(h.path(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(SECRET) && !text.contains(KEY_ID),
            "the credentials never reach the database ({file})"
        );
    }
    let rows = h.status().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_eq!(h.output_files().len(), 2);
    let pending = uploads(&h).await;
    assert_eq!(
        pending.len(),
        1,
        "only the report with a destination: {pending:?}"
    );
    assert_eq!(pending[0].2, "pending");
    let text = h.run(&["status"]).await;
    let said = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        said.contains("destination archive: 0 delivered")
            && said.contains("1 pending since")
            && said.contains("last error: "),
        "status names the destination, its pending delivery since when and the error:\n{said}"
    );
    let json = h.status().await;
    let pending_json = destinations_of(&json, "expenses");
    assert!(
        pending_json.len() == 1
            && pending_json[0]["destination"] == "archive"
            && pending_json[0]["key"] == pending[0].0.as_str()
            && pending_json[0]["state"] == "pending"
            && pending_json[0]["pending_since"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
            && pending_json[0]["delivered_at"].is_null()
            && pending_json[0]["last_error"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
        "status --json gives the destination's state, since when and the error: {json:?}"
    );
    assert_eq!(
        destinations_of(&json, "plans"),
        Vec::<serde_json::Value>::new()
    );
    let id = json
        .iter()
        .find(|r| r["report"] == "expenses")
        .expect("expenses")["id"]
        .to_string();
    let show = crate::common::show(&h, &id).await;
    assert!(
        show.contains("archive") && show.contains("pending") && show.contains("since "),
        "show gives the destination's state and since when:\n{show}"
    );

    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    let out = run_once(&h).await;
    assert!(out.status.success(), "second run --once: {}", stderr(&out));
    wait_for_uploads(&h, 1, "delivered").await;
    let key = pending[0].0.clone();
    let local =
        std::fs::read(h.output_dir().join(key.trim_start_matches("gcore/"))).expect("local");
    assert!(moto.get(BUCKET, &key).await == local);
    assert_eq!(moto.versions(BUCKET).await.get(&key), Some(&1));
    let json = h.status().await;
    let delivered = destinations_of(&json, "expenses");
    assert!(
        delivered.len() == 1
            && delivered[0]["state"] == "delivered"
            && delivered[0]["delivered_at"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
            && delivered[0]["last_error"].is_null(),
        "status --json says delivered, and when: {json:?}"
    );
    let text = h.run(&["status"]).await;
    let said = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        said.contains("destination archive: 1 delivered") && said.contains("0 pending,"),
        "status says delivered:\n{said}"
    );
    moto.stop().await;
}

/// The `destinations` of `report`'s row in `status --json`.
fn destinations_of(rows: &[serde_json::Value], report: &str) -> Vec<serde_json::Value> {
    let row = rows.iter().find(|r| r["report"] == report);
    let row = row.unwrap_or_else(|| panic!("no {report} in {rows:?}"));
    let list = row["destinations"].as_array();
    list.unwrap_or_else(|| panic!("no destinations in {row}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_with_other_bytes_at_the_key_is_never_overwritten_the_delivery_fails_naming_it_and_retry_delivers(
) {
    let port = free_port();
    let h = Harness::start(&config(port)).await;
    let out = run_once(&h).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let key = uploads(&h).await.first().expect("an upload").0.clone();
    // Someone else's object where the period's file is to go.
    let moto = Moto::start(port).await;
    moto.versioned_bucket(BUCKET).await;
    moto.put(BUCKET, &key, b"not the report").await;
    let out = run_once(&h).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let rows = uploads(&h).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2.as_str()),
        (key.as_str(), "failed")
    );
    assert_eq!(
        moto.get(BUCKET, &key).await,
        b"not the report",
        "never overwritten"
    );
    assert_eq!(moto.versions(BUCKET).await.get(&key), Some(&1));
    let id = h
        .status()
        .await
        .iter()
        .find(|r| r["report"] == "expenses")
        .expect("expenses")["id"]
        .to_string();
    let show = crate::common::show(&h, &id).await;
    assert!(show.contains(&key), "show names the key:\n{show}");

    // The operator moves the other object away and retries: delivered.
    moto.delete(BUCKET, &key).await;
    let retried = h.run(&["retry", &id]).await;
    assert!(retried.status.success(), "retry: {}", stderr(&retried));
    let out = run_once(&h).await;
    assert!(
        out.status.success(),
        "run --once after retry: {}",
        stderr(&out)
    );
    wait_for_uploads(&h, 1, "delivered").await;
    let local =
        std::fs::read(h.output_dir().join(key.trim_start_matches("gcore/"))).expect("local");
    assert!(
        moto.get(BUCKET, &key).await == local,
        "the report is there now"
    );
    moto.stop().await;
}
