//! Authentication, a task from pending to completed, and its download byte for byte (before
//! completion a 400).

use std::time::Duration;

use crate::common::wait_for;

use gcore_reportd_sim::{self as sim};
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn requests_without_a_key_or_with_a_wrong_key_are_rejected_with_401() {
    let api = Api::start(10, 10).await;
    let missing = api.get_as(REPORTS, None).await;
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(
        body["detail"],
        "Authentication credentials were not provided."
    );
    let wrong = api.get_as(REPORTS, Some("apikey wrong$key")).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.expect("json")["detail"],
        "Invalid token."
    );
    let two_spaces = api.get_as(REPORTS, Some("apikey  sim-key$secret")).await;
    assert_eq!(two_spaces.status(), 401, "exactly one space");
    let upper = api.get_as(REPORTS, Some("APIKEY sim-key$secret")).await;
    assert_eq!(upper.status(), 200, "the scheme word is case-insensitive");
}

#[tokio::test]
async fn a_created_task_goes_from_pending_to_in_progress_to_completed_over_time() {
    let api = Api::start(100, 300).await;
    let task = api.create_january(json!({ "client_id": 42 })).await;
    assert_eq!(
        (task["status"].as_str(), task["task_type"].as_str()),
        (Some("Pending"), Some("Report"))
    );
    assert_eq!(task["processing_notes"], json!({}));
    let want = json!({ "date_from": "2025-01-01", "date_to": "2025-02-01", "client_id": 42, "type": "ResellerExpenses" });
    assert_eq!(task["parameters"], want);
    let created_at = task["created_at"].as_str().expect("created_at");
    assert!(
        created_at.ends_with('Z') && created_at.len() == 27,
        "microseconds and Z: {created_at}"
    );
    let path = format!("{REPORTS}/{}", uuid_of(&task));
    wait_for("InProgress", Duration::from_secs(10), || async {
        api.json(&path).await.1["status"] == "InProgress"
    })
    .await;
    let (_, running) = api.json(&path).await;
    assert_eq!(running["status"], "InProgress");
    assert_ne!(
        running["updated_at"], task["updated_at"],
        "updated_at moves with the status"
    );
    wait_for("Completed", Duration::from_secs(10), || async {
        api.json(&path).await.1["status"] == "Completed"
    })
    .await;
    let (status, done) = api.json(&path).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("Completed")));
    assert_eq!(done["processing_notes"]["records_to_process"], 20);
    assert_eq!(api.sim.tasks()[0].status, "Completed");
    let (status, missing) = api.json(&format!("{REPORTS}/not-a-uuid")).await;
    assert_eq!((status, missing), (404, json!({ "detail": "Not found." })));
}

#[tokio::test]
async fn a_completed_report_downloads_as_the_bytes_of_report_body_with_their_content_length() {
    let api = Api::start(0, 0).await;
    let task = api.create_january(json!({})).await;
    let params = json!({ "date_from": "2025-01-01", "date_to": "2025-02-01" });
    for (format, media) in [
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("xlsx", XLSX),
    ] {
        let response = api
            .get(&format!(
                "{REPORTS}/{}/download?format={format}",
                uuid_of(&task)
            ))
            .await;
        assert_eq!(response.status(), 200, "{format}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(content_type.starts_with(media), "{format}: {content_type}");
        let declared = response.content_length();
        let bytes = response.bytes().await.expect("the whole body");
        let want = sim::report_body("ResellerExpenses", &params, format, 20);
        assert_eq!(bytes.as_ref(), want.as_slice(), "{format}");
        assert_eq!(declared, Some(want.len() as u64));
    }
    let body = sim::report_body("ResellerExpenses", &params, "json", 20);
    let parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
    assert_eq!(parsed["rows"].as_array().map(Vec::len), Some(20));
    assert!(sim::report_body("ResellerExpenses", &params, "xlsx", 3).starts_with(b"PK\x03\x04"));
}

#[tokio::test]
async fn report_len_matches_the_generated_bytes_for_every_format_size_and_key_order() {
    let a = json!({ "date_from": "2025-03-01", "date_to": "2025-04-01", "client_id": 7 });
    let b: Value = serde_json::from_str(
        r#"{"client_id":7,"date_to":"2025-04-01","date_from":"2025-03-01","type":"X"}"#,
    )
    .expect("json");
    for format in ["csv", "json", "xlsx"] {
        for rows in [0, 1, 2, 5000] {
            let body = sim::report_body("ResellerPlans", &a, format, rows);
            assert_eq!(
                sim::report_len("ResellerPlans", &a, format, rows),
                body.len() as u64
            );
            assert_eq!(
                body,
                sim::report_body("ResellerPlans", &b, format, rows),
                "order and type ignored"
            );
        }
    }
    let credits = sim::report_body("ResellerCredits", &a, "csv", 5);
    assert_ne!(sim::report_body("ResellerPlans", &a, "csv", 5), credits);
    let stream = sim::report_stream("ResellerPlans", &a, "csv", 300_000);
    let streamed = futures_util::StreamExt::fold(stream, 0u64, |n, chunk| async move {
        n + chunk.expect("chunk").len() as u64
    });
    assert_eq!(
        streamed.await,
        sim::report_len("ResellerPlans", &a, "csv", 300_000)
    );
}

#[tokio::test]
async fn a_download_before_completion_is_a_400_naming_the_status() {
    let api = Api::start(5_000, 10).await;
    let task = api.create_january(json!({})).await;
    let (status, body) = api
        .json(&format!("{REPORTS}/{}/download?format=csv", uuid_of(&task)))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "error": "Report is not ready: status Pending" })
        )
    );
    let (status, _) = api
        .json(&format!("{REPORTS}/{}/download", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
}
