//! The injected faults a daemon must survive: failed tasks, 500s after a create, truncated
//! downloads, throttling, errors, dropped bodies, tasks that never finish, unknown statuses,
//! invalid JSON and delays.

use std::time::Duration;

use crate::common::wait_for;

use gcore_reportd_sim::Faults;
use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn fail_first_fails_the_first_task_of_a_kind_with_a_reason_then_lets_the_next_complete() {
    let api = Api::start(0, 0).await;
    api.sim.set_faults(Faults {
        fail_first: 1,
        ..Faults::default()
    });
    let first = api.create_january(json!({})).await;
    let second = api.create_january(json!({})).await;
    let (_, failed) = api.json(&format!("{REPORTS}/{}", uuid_of(&first))).await;
    assert_eq!(failed["status"], "Failed");
    let reason = failed["processing_notes"]["errors"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(!reason.is_empty(), "a Failed task says why: {failed}");
    let (status, _) = api
        .json(&format!("{REPORTS}/{}/download", uuid_of(&first)))
        .await;
    assert_eq!(status, 400, "a failed report has no file");
    let (_, ok) = api.json(&format!("{REPORTS}/{}", uuid_of(&second))).await;
    assert_eq!(ok["status"], "Completed");
}

#[tokio::test]
async fn error_after_create_creates_the_task_yet_answers_500() {
    let api = Api::start(10, 10).await;
    api.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        ..Faults::default()
    });
    let response = api.create(january("ResellerCredits", json!({}))).await;
    assert_eq!(response.status(), 500);
    let tasks = api.sim.tasks();
    assert_eq!(
        tasks.len(),
        1,
        "the task exists although the answer was 500"
    );
    assert_eq!(tasks[0].template, "ResellerCredits");
    assert_eq!(api.sim.request_counts().get("create"), Some(&1));
}

#[tokio::test]
async fn a_truncated_download_is_shorter_than_its_content_length() {
    let api = Api::start(0, 0).await;
    let task = api.create_january(json!({})).await;
    api.sim.set_faults(Faults {
        truncate_downloads_rate: 1.0,
        ..Faults::default()
    });
    let mut response = api
        .get(&format!("{REPORTS}/{}/download?format=csv", uuid_of(&task)))
        .await;
    assert_eq!(response.status(), 200);
    let declared = response.content_length().expect("Content-Length");
    let mut received = 0u64;
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len() as u64,
            Ok(None) => break "cleanly",
            Err(_) => break "with a connection error",
        }
    };
    assert_eq!(ended, "with a connection error");
    assert!(
        0 < received && received < declared,
        "received {received} of {declared} bytes"
    );
}

#[tokio::test]
async fn every_nth_request_is_throttled_and_errors_and_dropped_bodies_can_be_forced() {
    let api = Api::start(10, 10).await;
    api.sim.set_faults(Faults {
        too_many_every: 2,
        retry_after_secs: 7,
        ..Faults::default()
    });
    let (first, second) = (api.get(REPORTS).await, api.get(REPORTS).await);
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 429)
    );
    assert_eq!(second.headers()["retry-after"], "7");
    api.sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let broken = api.get(REPORTS).await;
    assert!(broken.status().is_server_error(), "{}", broken.status());
    api.sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let dropped = api.get(REPORTS).await;
    assert_eq!(dropped.status(), 200, "the headers arrive");
    assert!(dropped.bytes().await.is_err(), "then the body fails");
    let statuses = api.sim.status_counts();
    assert_eq!(
        (statuses.get(&429), statuses.get(&200)),
        (Some(&1), Some(&2))
    );
}

#[tokio::test]
async fn fail_when_never_finish_when_unknown_status_invalid_json_and_delay_shape_the_answers() {
    let api = Api::start(0, 0).await;
    let rule = |id: i64| Some(("client_id".to_string(), json!(id)));
    api.sim.set_faults(Faults {
        fail_when: rule(13),
        never_finish_when: rule(14),
        ..Faults::default()
    });
    let doomed = api.create_january(json!({ "client_id": 13 })).await;
    let stuck = api.create_january(json!({ "client_id": 14 })).await;
    wait_for(
        "the doomed task failed",
        Duration::from_secs(10),
        || async { api.sim.tasks().iter().any(|t| t.status == "Failed") },
    )
    .await;
    let (_, failed) = api.json(&format!("{REPORTS}/{}", uuid_of(&doomed))).await;
    assert_eq!(failed["status"], "Failed");
    let (_, running) = api.json(&format!("{REPORTS}/{}", uuid_of(&stuck))).await;
    assert_eq!(running["status"], "InProgress");
    api.sim.set_faults(Faults {
        unknown_status_rate: 1.0,
        ..Faults::default()
    });
    let (_, exploded) = api.json(&format!("{REPORTS}/{}", uuid_of(&stuck))).await;
    assert_eq!(exploded["status"], "Exploded");
    assert_eq!(
        api.sim.tasks()[1].status,
        "Completed",
        "released once the rule is gone"
    );
    let delay = Duration::from_millis(150);
    api.sim.set_faults(Faults {
        invalid_json_rate: 1.0,
        delay,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    let garbled = api.get(REPORTS).await;
    assert_eq!(garbled.status(), 200);
    let text = garbled.text().await.expect("a body");
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "not JSON: {text}"
    );
    assert!(started.elapsed() >= delay, "the answer was delayed");
}
