//! Conformance with Gcore's own OpenAPI description (`tests/fixtures/…openapi.yaml`): every
//! request the daemon sends during a full run (create, list, retrieve, download, templates) is
//! an operation of the spec, with declared parameters of the right types and enums and a body
//! matching `OrgReportTaskRequest`; every answer the simulator gives is a declared status with a
//! body matching its schema (`FileTask`, `PaginatedFileTaskList`, `PaginatedTemplateList`, …).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::openapi::Spec;
use crate::common::{stderr, Harness};
use gcore_reportd_sim::{Exchange, Faults, SimOptions};
use serde_json::Value;

const REPORTS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"

[[reports]]
name = "plans"
template = "ResellerPlans"
format = "json"
parameters = { client_id = 42 }

[[reports]]
name = "credits"
template = "ResellerCredits"
format = "xlsx"
"#;

/// Runs the daemon and `templates` against a recording simulator; returns what crossed the wire.
async fn recorded_run() -> (Harness, Vec<Exchange>) {
    let options = SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(100),
        record: true,
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, REPORTS).await;
    // Half the creates answer 500 after creating: the daemon must then look the task up (list).
    h.sim.set_faults(Faults {
        error_after_create_rate: 0.5,
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run(&["templates", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let exchanges = h.sim.exchanges();
    (h, exchanges)
}

fn query_pairs(query: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut pairs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        pairs
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    pairs
}

fn check_request(
    spec: &Spec,
    op: &Value,
    path_params: &[(String, String)],
    ex: &Exchange,
    key: &str,
) -> Vec<String> {
    let at = format!("{} {}", ex.method, ex.path);
    let mut errors = Vec::new();
    let declared: Vec<&Value> = op["parameters"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    for (name, values) in query_pairs(ex.query.as_deref()) {
        match declared
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name.as_str())
        {
            Some(param) => {
                errors.extend(spec.validate_param(param, &values, &format!("{at} ?{name}")))
            }
            None => errors.push(format!("{at}: query parameter {name:?} is not in the spec")),
        }
    }
    for (name, value) in path_params {
        if let Some(param) = declared
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
        {
            errors.extend(spec.validate_param(
                param,
                std::slice::from_ref(value),
                &format!("{at} {{{name}}}"),
            ));
        }
    }
    let auth = ex.header("authorization").unwrap_or_default();
    if auth != format!("apikey {key}") {
        errors.push(format!("{at}: Authorization is not `apikey <token>`"));
    }
    if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
        if ex.header("content-type").as_deref() != Some("application/json") {
            errors.push(format!("{at}: body is not sent as application/json"));
        }
        match serde_json::from_slice::<Value>(&ex.request_body) {
            Ok(body) => errors.extend(spec.validate(schema, &body, &format!("{at} body"))),
            Err(e) => errors.push(format!("{at}: body is not JSON: {e}")),
        }
    }
    errors
}

fn check_response(spec: &Spec, op: &Value, ex: &Exchange) -> Vec<String> {
    let at = format!("{} {} -> {}", ex.method, ex.path, ex.status);
    let Some(response) = op["responses"].get(ex.status.to_string()) else {
        return vec![format!("{at}: status not declared for this operation")];
    };
    let media = ex.response_content_type.clone().unwrap_or_default();
    let media = media.split(';').next().unwrap_or("").trim().to_string();
    let Some(content) = response.get("content") else {
        return vec![];
    };
    let Some(declared) = content.get(&media) else {
        return vec![format!("{at}: content type {media:?} not declared")];
    };
    if media != "application/json" {
        return vec![];
    }
    match serde_json::from_slice::<Value>(&ex.response_body) {
        Ok(body) => spec.validate(&declared["schema"], &body, &format!("{at} body")),
        Err(e) => vec![format!("{at}: body is not JSON: {e}")],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_daemon_sends_conforms_to_the_openapi_spec() {
    let (h, exchanges) = recorded_run().await;
    let spec = Spec::load();
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for ex in &exchanges {
        let Some((op, path_params)) = spec.operation(&ex.method, &ex.path) else {
            errors.push(format!(
                "{} {}: no such operation in the spec",
                ex.method, ex.path
            ));
            continue;
        };
        seen.insert(op["operationId"].as_str().unwrap_or("?").to_string());
        errors.extend(check_request(&spec, op, &path_params, ex, &h.key));
    }
    assert!(
        errors.is_empty(),
        "non-conforming requests:\n{}",
        errors.join("\n")
    );
    let want = [
        "v1_reports_create",
        "v1_reports_list",
        "v1_reports_retrieve",
        "v1_reports_download_retrieve",
        "v1_reports_templates_list",
    ];
    for op in want {
        assert!(seen.contains(op), "the run exercised {op}: saw {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_the_simulator_conforms_to_the_openapi_spec() {
    let (_h, exchanges) = recorded_run().await;
    let spec = Spec::load();
    let mut errors = Vec::new();
    let mut checked = 0;
    for ex in &exchanges {
        // 500s here are the injected "created, then failed" fault, outside the contract on purpose.
        if ex.status == 500 {
            continue;
        }
        if let Some((op, _)) = spec.operation(&ex.method, &ex.path) {
            errors.extend(check_response(&spec, op, ex));
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked {checked} answers");
    assert!(
        errors.is_empty(),
        "non-conforming answers:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_validator_catches_what_the_spec_forbids() {
    let spec = Spec::load();
    let (create, _) = spec
        .operation("POST", "/billing/org/v1/reports")
        .expect("create");
    let schema = create
        .pointer("/requestBody/content/application~1json/schema")
        .expect("schema");
    assert!(spec
        .validate(schema, &serde_json::json!({"parameters": {}}), "body")
        .iter()
        .any(|e| e.contains("template_code")));
    assert!(!spec
        .validate(schema, &serde_json::json!({"template_code": ""}), "body")
        .is_empty());
    let (list, _) = spec
        .operation("GET", "/billing/org/v1/reports")
        .expect("list");
    let status = list["parameters"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "status"))
        .expect("status param");
    assert!(!spec
        .validate_param(status, &["Done".into()], "status")
        .is_empty());
    let (task, params) = spec
        .operation("GET", "/billing/org/v1/reports/templates")
        .expect("templates");
    assert_eq!(task["operationId"], "v1_reports_templates_list");
    assert!(params.is_empty());
}
