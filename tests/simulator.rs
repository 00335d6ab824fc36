//! The simulated Gcore API against real HTTP on 127.0.0.1 with reqwest: authentication, the
//! task lifecycle, downloads byte for byte, DRF-style 400s, list filters and pagination, and
//! the injected faults a daemon must survive.

use std::time::Duration;

use gcore_reportd::sim::{self, Faults, SimHandle, SimOptions};
use serde_json::{json, Value};

const KEY: &str = "sim-key$secret";
const REPORTS: &str = "/billing/org/v1/reports";

struct Api {
    sim: SimHandle,
    http: reqwest::Client,
}

impl Api {
    /// A simulator whose tasks stay Pending `pending_ms`, then InProgress `running_ms`.
    async fn start(pending_ms: u64, running_ms: u64) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let options = SimOptions {
            pending_for: Duration::from_millis(pending_ms),
            running_for: Duration::from_millis(running_ms),
            ..SimOptions::default()
        };
        let sim = sim::start(listener, options)
            .await
            .expect("start the simulator");
        Api {
            sim,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let request = self
            .http
            .get(self.url(path))
            .header("Authorization", format!("apikey {KEY}"));
        request.send().await.expect("GET reaches the simulator")
    }

    async fn create(&self, body: Value) -> reqwest::Response {
        let request = self
            .http
            .post(self.url(REPORTS))
            .header("Authorization", format!("APIKey {KEY}"));
        request
            .json(&body)
            .send()
            .await
            .expect("POST reaches the simulator")
    }

    /// Creates a ResellerExpenses task for January 2025 and returns it.
    async fn create_january(&self, extra: Value) -> Value {
        let mut parameters = json!({ "date_from": "2025-01-01", "date_to": "2025-02-01" });
        if let (Some(map), Some(more)) = (parameters.as_object_mut(), extra.as_object()) {
            map.extend(more.clone());
        }
        let response = self
            .create(json!({ "template_code": "ResellerExpenses", "parameters": parameters }))
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("a FileTask")
    }

    async fn json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }
}

fn uuid_of(task: &Value) -> String {
    task["uuid"].as_str().expect("uuid").to_string()
}

#[tokio::test]
async fn requests_without_a_key_or_with_a_wrong_key_are_rejected_with_401() {
    let api = Api::start(10, 10).await;
    let missing = api
        .http
        .get(api.url(REPORTS))
        .send()
        .await
        .expect("reaches");
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(
        body,
        json!({ "detail": "Authentication credentials were not provided." })
    );
    for header in ["apikey wrong$key", "apikey  sim-key$secret"] {
        let wrong = api
            .http
            .get(api.url(REPORTS))
            .header("Authorization", header)
            .send()
            .await
            .expect("reaches");
        assert_eq!(wrong.status(), 401, "{header}");
    }
    let wrong = api
        .http
        .get(api.url(REPORTS))
        .header("Authorization", "apikey wrong$key")
        .send()
        .await
        .expect("reaches");
    assert_eq!(
        wrong.json::<Value>().await.expect("json"),
        json!({ "detail": "Invalid token." })
    );
    let (status, _) = api.json(REPORTS).await;
    assert_eq!(status, 200, "the scheme word is case-insensitive");
}

#[tokio::test]
async fn a_created_task_goes_from_pending_to_in_progress_to_completed_over_time() {
    let api = Api::start(60, 60).await;
    let task = api.create_january(json!({ "client_id": 42 })).await;
    assert_eq!(task["status"], "Pending");
    assert_eq!(task["task_type"], "Report");
    assert_eq!(task["processing_notes"], json!({}));
    assert_eq!(
        task["parameters"],
        json!({ "date_from": "2025-01-01", "date_to": "2025-02-01", "client_id": 42, "type": "ResellerExpenses" })
    );
    let created_at = task["created_at"].as_str().expect("created_at");
    assert!(
        created_at.ends_with('Z') && created_at.len() == 27,
        "microseconds and Z: {created_at}"
    );
    let path = format!("{REPORTS}/{}", uuid_of(&task));
    tokio::time::sleep(Duration::from_millis(80)).await;
    let (_, running) = api.json(&path).await;
    assert_eq!(running["status"], "InProgress");
    assert_ne!(
        running["updated_at"], task["updated_at"],
        "updated_at moves with the status"
    );
    tokio::time::sleep(Duration::from_millis(60)).await;
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
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
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
        assert_eq!(
            sim::report_len("ResellerExpenses", &params, format, 20),
            want.len() as u64
        );
    }
    let json_body: Value =
        serde_json::from_slice(&sim::report_body("ResellerExpenses", &params, "json", 20))
            .expect("valid JSON");
    assert_eq!(json_body["rows"].as_array().map(Vec::len), Some(20));
    assert!(sim::report_body("ResellerExpenses", &params, "xlsx", 3).starts_with(b"PK\x03\x04"));
}

#[tokio::test]
async fn report_len_matches_the_generated_bytes_for_every_format_size_and_key_order() {
    let a = json!({ "date_from": "2025-03-01", "date_to": "2025-04-01", "client_id": 7 });
    let b: Value =
        serde_json::from_str(r#"{"client_id":7,"date_to":"2025-04-01","date_from":"2025-03-01"}"#)
            .expect("json");
    for format in ["csv", "json", "xlsx"] {
        for rows in [0, 1, 2, 5000] {
            let body = sim::report_body("ResellerPlans", &a, format, rows);
            assert_eq!(
                sim::report_len("ResellerPlans", &a, format, rows),
                body.len() as u64,
                "{format} {rows}"
            );
            assert_eq!(
                body,
                sim::report_body("ResellerPlans", &b, format, rows),
                "key order does not matter"
            );
        }
    }
    assert_ne!(
        sim::report_body("ResellerPlans", &a, "csv", 5),
        sim::report_body("ResellerCredits", &a, "csv", 5)
    );
    let big = futures_util::StreamExt::fold(
        sim::report_stream("ResellerPlans", &a, "csv", 300_000),
        0u64,
        |n, chunk| async move { n + chunk.expect("chunk").len() as u64 },
    );
    assert_eq!(
        big.await,
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

#[tokio::test]
async fn bad_create_bodies_are_answered_with_drf_field_errors() {
    let api = Api::start(10, 10).await;
    let cases = [
        (json!([1, 2]), "non_field_errors", Value::Null),
        (
            json!({ "parameters": {} }),
            "template_code",
            json!(["This field is required."]),
        ),
        (
            json!({ "template_code": "Nope", "parameters": {} }),
            "template_code",
            json!(["Unknown template code 'Nope'."]),
        ),
        (
            json!({ "template_code": "ResellerPlans", "parameters": [] }),
            "parameters",
            Value::Null,
        ),
        (
            json!({ "template_code": "ResellerPlans", "parameters": { "date_to": "2025-02-01" } }),
            "parameters",
            json!({ "date_from": ["This field is required."] }),
        ),
        (
            json!({ "template_code": "ResellerPlans", "parameters": { "date_from": "2025-1-1", "date_to": "2025-02-01" } }),
            "parameters",
            Value::Null,
        ),
        (
            json!({ "template_code": "ResellerPlans", "parameters": { "date_from": "2025-03-01", "date_to": "2025-02-01" } }),
            "parameters",
            Value::Null,
        ),
        (
            json!({ "template_code": "ResellerPlans", "parameters": { "date_from": "2025-01-01", "date_to": "2025-02-01", "client_id": "x" } }),
            "parameters",
            Value::Null,
        ),
    ];
    for (body, field, want) in cases {
        let response = api.create(body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let errors: Value = response.json().await.expect("json");
        assert!(errors.get(field).is_some(), "{body} → {errors}");
        if !want.is_null() {
            assert_eq!(errors[field], want, "{body}");
        }
    }
    let garbage = api
        .http
        .post(api.url(REPORTS))
        .header("Authorization", format!("apikey {KEY}"));
    let garbage = garbage
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("reaches");
    assert_eq!(garbage.status(), 400);
    assert!(api.sim.tasks().is_empty(), "no task was created");
}

#[tokio::test]
async fn the_list_paginates_with_absolute_next_links_and_clamps_the_limit_to_100() {
    let api = Api::start(10, 10).await;
    for _ in 0..105 {
        api.create_january(json!({})).await;
    }
    let (_, first) = api
        .json(&format!("{REPORTS}?limit=2&template=expenses"))
        .await;
    assert_eq!(first["count"], 105);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().expect("a next link");
    assert_eq!(
        next,
        format!(
            "{}{REPORTS}?limit=2&offset=2&template=expenses",
            api.sim.base_url()
        )
    );
    let second: Value = api
        .http
        .get(next)
        .header("Authorization", format!("apikey {KEY}"))
        .send()
        .await
        .expect("reaches")
        .json()
        .await
        .expect("json");
    assert_eq!(
        second["results"][0]["uuid"],
        api.sim.tasks()[2].uuid.as_str()
    );
    assert_eq!(
        second["previous"],
        format!("{}{REPORTS}?limit=2&template=expenses", api.sim.base_url())
    );
    let (_, clamped) = api.json(&format!("{REPORTS}?limit=500")).await;
    assert_eq!(clamped["results"].as_array().map(Vec::len), Some(100));
    assert!(clamped["next"]
        .as_str()
        .is_some_and(|n| n.contains("limit=100") && n.contains("offset=100")));
    let (_, last) = api.json(&format!("{REPORTS}?offset=100")).await;
    assert_eq!(
        (last["results"].as_array().map(Vec::len), &last["next"]),
        (Some(5), &Value::Null)
    );
    let (_, none) = api.json(&format!("{REPORTS}?template=plans")).await;
    assert_eq!(none["count"], 0);
}

#[tokio::test]
async fn the_list_filters_by_status_and_created_after_and_rejects_bad_values() {
    let api = Api::start(40, 40).await;
    let old = api.create_january(json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let new = api.create_january(json!({ "client_id": 5 })).await;
    let (_, pending) = api
        .json(&format!("{REPORTS}?status=Pending&status=InProgress"))
        .await;
    assert_eq!(
        pending["results"]
            .as_array()
            .map(|r| r.iter().map(uuid_of).collect()),
        Some(vec![uuid_of(&new)])
    );
    let (_, completed) = api.json(&format!("{REPORTS}?status=Completed")).await;
    assert_eq!(completed["results"][0]["uuid"], old["uuid"]);
    let after = urlencode(old["created_at"].as_str().expect("created_at"));
    let (_, later) = api
        .json(&format!(
            "{REPORTS}?created_after={after}&ordering=-created_at"
        ))
        .await;
    assert_eq!(
        (
            later["count"].as_u64(),
            later["results"][0]["uuid"].as_str()
        ),
        (Some(1), new["uuid"].as_str())
    );
    let (_, by_day) = api
        .json(&format!(
            "{REPORTS}?created_after=2000-01-01&uuid={}",
            &uuid_of(&old)[..8]
        ))
        .await;
    assert_eq!(by_day["count"], 1);
    let (status, errors) = api
        .json(&format!(
            "{REPORTS}?status=Done&created_before=yesterday&ordering=size"
        ))
        .await;
    assert_eq!(status, 400);
    for field in ["status", "created_before", "ordering"] {
        assert!(errors.get(field).is_some(), "{errors}");
    }
}

#[tokio::test]
async fn the_templates_list_offers_four_templates_with_date_parameters_and_filters_by_code() {
    let api = Api::start(10, 10).await;
    let (_, all) = api.json(&format!("{REPORTS}/templates")).await;
    let codes: Vec<&str> = all["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|t| t["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "ResellerExpenses",
            "ResellerPlans",
            "ResellerCredits",
            "ResellerStatistics"
        ]
    );
    let params = &all["results"][0]["parameters"]["parameters"];
    assert_eq!(params[0]["name"], "date_from");
    assert_eq!(
        (
            params[0]["required"].as_bool(),
            params[0]["format"].as_str()
        ),
        (Some(true), Some("date"))
    );
    assert_eq!(
        (params[2]["name"].as_str(), params[2]["type"].as_str()),
        (Some("client_id"), Some("integer"))
    );
    let (_, one) = api
        .json(&format!("{REPORTS}/templates?code=ResellerPlans"))
        .await;
    assert_eq!(
        (one["count"].as_u64(), one["results"][0]["id"].as_u64()),
        (Some(1), Some(2))
    );
    let (_, two) = api
        .json(&format!(
            "{REPORTS}/templates?code__in=ResellerCredits,ResellerExpenses"
        ))
        .await;
    assert_eq!(two["count"], 2);
    assert_eq!(api.sim.request_counts().get("templates"), Some(&3));
}

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
    let message = failed["processing_notes"]["errors"][0]["message"]
        .as_str()
        .expect("a reason");
    assert!(!message.is_empty());
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
    let body = json!({ "template_code": "ResellerCredits", "parameters": { "date_from": "2025-01-01", "date_to": "2025-02-01" } });
    let response = api.create(body).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        api.sim.tasks().len(),
        1,
        "the task exists although the answer was 500"
    );
    assert_eq!(api.sim.tasks()[0].template, "ResellerCredits");
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
    let (mut got, mut failed) = (0u64, false);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => got += chunk.len() as u64,
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body ends in a connection error");
    assert!(got < declared, "received {got} of {declared} bytes");
}

#[tokio::test]
async fn every_nth_request_is_throttled_with_retry_after_and_server_errors_can_be_forced() {
    let api = Api::start(10, 10).await;
    api.sim.set_faults(Faults {
        too_many_every: 2,
        retry_after_secs: 7,
        ..Faults::default()
    });
    let statuses = [api.get(REPORTS).await, api.get(REPORTS).await];
    assert_eq!(statuses[1].status(), 429);
    assert_eq!(statuses[1].headers()["retry-after"], "7");
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
    let dropped = api
        .http
        .get(api.url(REPORTS))
        .header("Authorization", format!("apikey {KEY}"))
        .send()
        .await;
    let body = match dropped {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(body.is_err(), "a dropped body is a connection error");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
