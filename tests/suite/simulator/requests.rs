//! What the simulator answers to requests: DRF-style 400s for bad creates, the list's
//! pagination and filters, and the templates list.

use std::time::Duration;

use crate::common::wait_for;

use serde_json::{json, Value};

use super::*;

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
