//! The simulated Gcore API against real HTTP on 127.0.0.1 with reqwest: authentication, the
//! task lifecycle, downloads byte for byte, DRF-style 400s, list filters and pagination, and
//! the injected faults a daemon must survive.

use std::time::Duration;

use crate::common::wait_for;

use gcore_reportd_sim::{self as sim, Faults, SimHandle, SimOptions};
use serde_json::{json, Value};

const AUTH: &str = "apikey sim-key$secret";
const REPORTS: &str = "/billing/org/v1/reports";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct Api {
    sim: SimHandle,
    http: reqwest::Client,
}

impl Api {
    /// A simulator whose tasks stay Pending `pending_ms`, then InProgress `running_ms`.
    async fn start(pending_ms: u64, running_ms: u64) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let options = SimOptions {
            pending_for: Duration::from_millis(pending_ms),
            running_for: Duration::from_millis(running_ms),
            ..SimOptions::default()
        };
        let sim = sim::start(listener, options).await.expect("start");
        let http = reqwest::Client::new();
        Api { sim, http }
    }

    /// GET `path` (relative to the simulator, or an absolute URL) with `auth`, if any.
    async fn get_as(&self, path: &str, auth: Option<&str>) -> reqwest::Response {
        let url = match path.starts_with("http") {
            true => path.to_string(),
            false => format!("{}{path}", self.sim.base_url()),
        };
        let request = self.http.get(url);
        let request = match auth {
            Some(value) => request.header("Authorization", value),
            None => request,
        };
        request.send().await.expect("the simulator answers")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(path, Some(AUTH)).await
    }

    /// GET `path`: the status and the JSON body.
    async fn json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn create(&self, body: Value) -> reqwest::Response {
        let url = format!("{}{REPORTS}", self.sim.base_url());
        let request = self
            .http
            .post(url)
            .header("Authorization", "APIKey sim-key$secret");
        request
            .json(&body)
            .send()
            .await
            .expect("the simulator answers")
    }

    /// Creates a ResellerExpenses task for January 2025 (plus `extra` parameters).
    async fn create_january(&self, extra: Value) -> Value {
        let response = self.create(january("ResellerExpenses", extra)).await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("a FileTask")
    }
}

fn january(template: &str, extra: Value) -> Value {
    let mut parameters = json!({ "date_from": "2025-01-01", "date_to": "2025-02-01" });
    if let (Some(map), Some(more)) = (parameters.as_object_mut(), extra.as_object()) {
        map.extend(more.clone());
    }
    json!({ "template_code": template, "parameters": parameters })
}

fn uuid_of(task: &Value) -> String {
    task["uuid"].as_str().expect("uuid").to_string()
}

fn count(page: &Value) -> Option<usize> {
    page["results"].as_array().map(Vec::len)
}

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

#[tokio::test]
async fn bad_create_bodies_are_answered_with_drf_field_errors() {
    let api = Api::start(10, 10).await;
    let plans =
        |parameters: Value| json!({ "template_code": "ResellerPlans", "parameters": parameters });
    let cases = [
        (json!([1, 2]), "/non_field_errors"),
        (json!({ "parameters": {} }), "/template_code"),
        (json!({ "template_code": "Nope" }), "/template_code"),
        (plans(json!([])), "/parameters"),
        (
            plans(json!({ "date_to": "2025-02-01" })),
            "/parameters/date_from",
        ),
        (
            plans(json!({ "date_from": "2025-1-1", "date_to": "2025-02-01" })),
            "/parameters/date_from",
        ),
        (
            plans(json!({ "date_from": "2025-03-01", "date_to": "2025-02-01" })),
            "/parameters/date_to",
        ),
        (
            january("ResellerPlans", json!({ "client_id": "x" })),
            "/parameters/client_id",
        ),
    ];
    for (body, field) in cases {
        let response = api.create(body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let errors: Value = response.json().await.expect("json");
        assert!(errors.pointer(field).is_some(), "{body} → {errors}");
    }
    let required: Value = api
        .create(json!({ "parameters": {} }))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        required,
        json!({ "template_code": ["This field is required."] })
    );
    let unknown: Value = api
        .create(json!({ "template_code": "Nope" }))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        unknown,
        json!({ "template_code": ["Unknown template code 'Nope'."] })
    );
    let missing: Value = api
        .create(plans(json!({ "date_to": "2025-02-01" })))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        missing,
        json!({ "parameters": { "date_from": ["This field is required."] } })
    );
    let url = format!("{}{REPORTS}", api.sim.base_url());
    let garbage = api
        .http
        .post(url)
        .header("Authorization", AUTH)
        .header("Content-Type", "application/json");
    let garbage = garbage.body("{not json").send().await.expect("answers");
    assert_eq!(garbage.status(), 400);
    assert!(api.sim.tasks().is_empty(), "no task was created");
}

#[tokio::test]
async fn the_list_paginates_with_absolute_next_links_and_clamps_the_limit_to_100() {
    let api = Api::start(10, 10).await;
    for _ in 0..105 {
        api.create_january(json!({})).await;
    }
    let base = format!("{}{REPORTS}", api.sim.base_url());
    let (_, first) = api
        .json(&format!("{REPORTS}?limit=2&template=expenses"))
        .await;
    assert_eq!(
        (first["count"].as_u64(), &first["previous"]),
        (Some(105), &Value::Null)
    );
    let next = first["next"].as_str().expect("a next link");
    assert_eq!(next, format!("{base}?limit=2&offset=2&template=expenses"));
    let second: Value = api.get(next).await.json().await.expect("json");
    assert_eq!(
        second["results"][0]["uuid"],
        api.sim.tasks()[2].uuid.as_str()
    );
    assert_eq!(
        second["previous"],
        format!("{base}?limit=2&template=expenses")
    );
    let (_, clamped) = api.json(&format!("{REPORTS}?limit=500")).await;
    assert_eq!(count(&clamped), Some(100));
    assert_eq!(clamped["next"], format!("{base}?limit=100&offset=100"));
    let (_, last) = api.json(&format!("{REPORTS}?offset=100")).await;
    assert_eq!((count(&last), &last["next"]), (Some(5), &Value::Null));
    let (_, none) = api.json(&format!("{REPORTS}?template=plans")).await;
    assert_eq!(none["count"], 0);
}

#[tokio::test]
async fn the_list_filters_by_status_and_created_after_and_rejects_bad_values() {
    let api = Api::start(30, 300).await;
    let old = api.create_january(json!({})).await;
    wait_for(
        "the first task completed",
        Duration::from_secs(10),
        || async { api.sim.tasks()[0].status == "Completed" },
    )
    .await;
    let new = api.create_january(json!({ "client_id": 5 })).await;
    let (_, unfinished) = api
        .json(&format!("{REPORTS}?status=Pending&status=InProgress"))
        .await;
    let uuids: Option<Vec<String>> = unfinished["results"]
        .as_array()
        .map(|r| r.iter().map(uuid_of).collect());
    assert_eq!(uuids, Some(vec![uuid_of(&new)]));
    let (_, completed) = api.json(&format!("{REPORTS}?status=Completed")).await;
    assert_eq!(
        (count(&completed), &completed["results"][0]["uuid"]),
        (Some(1), &old["uuid"])
    );
    let after: String =
        url::form_urlencoded::byte_serialize(old["created_at"].as_str().unwrap_or("").as_bytes())
            .collect();
    let (_, later) = api
        .json(&format!(
            "{REPORTS}?created_after={after}&ordering=-created_at"
        ))
        .await;
    assert_eq!(
        (count(&later), &later["results"][0]["uuid"]),
        (Some(1), &new["uuid"])
    );
    let prefix = &uuid_of(&old)[..8];
    let (_, by_prefix) = api
        .json(&format!(
            "{REPORTS}?created_after=2000-01-01%2000:00:00&uuid={prefix}"
        ))
        .await;
    assert_eq!(by_prefix["count"], 1);
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
    let results = all["results"].as_array().expect("results");
    let codes: Vec<&str> = results.iter().filter_map(|t| t["code"].as_str()).collect();
    assert_eq!(
        codes,
        [
            "ResellerExpenses",
            "ResellerPlans",
            "ResellerCredits",
            "ResellerStatistics"
        ]
    );
    let params = &results[0]["parameters"]["parameters"];
    assert_eq!(
        (params[0]["name"].as_str(), params[0]["required"].as_bool()),
        (Some("date_from"), Some(true))
    );
    assert_eq!(
        (params[1]["format"].as_str(), params[2]["type"].as_str()),
        (Some("date"), Some("integer"))
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
