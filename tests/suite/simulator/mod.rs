//! The simulated Gcore API against real HTTP on 127.0.0.1 with reqwest: authentication, the
//! task lifecycle, downloads byte for byte, DRF-style 400s, list filters and pagination, and
//! the injected faults a daemon must survive.
//!
//! The tests are grouped by family: the task lifecycle and downloads (`lifecycle`), requests
//! and their answers (`requests`) and the injected faults (`faults`); the client they share is
//! here.

mod faults;
mod lifecycle;
mod requests;

use std::time::Duration;

use gcore_reportd_sim::{self as sim, SimHandle, SimOptions};
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
