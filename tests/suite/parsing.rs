//! Property tests over everything the client reads from a server: status codes, `Retry-After`
//! in both forms (seconds and HTTP dates, well-formed, absurd or garbage), whole answers with
//! any status, header and body, JSON bodies shaped like the API's (tasks, pages with their
//! pagination links, templates) or not JSON at all. Whatever comes in: no panic, waits never
//! past the cap, and a task's `failure_reason` always renders.

use std::time::{Duration, SystemTime};

use gcore_reportd::api::{
    check, classify, parse_json, parse_retry_after, ApiError, FileTask, Operation, Page,
    StatusClass, Template,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names the API's objects use, so generated objects often nearly parse.
fn api_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("uuid".to_string()),
        Just("created_at".to_string()),
        Just("status".to_string()),
        Just("parameters".to_string()),
        Just("processing_notes".to_string()),
        Just("errors".to_string()),
        Just("message".to_string()),
        Just("count".to_string()),
        Just("next".to_string()),
        Just("previous".to_string()),
        Just("results".to_string()),
        Just("id".to_string()),
        ".{0,8}",
    ]
}

/// A JSON object shaped like a task or a page of them, with any values.
fn api_shaped() -> impl Strategy<Value = Value> {
    let fields = prop::collection::btree_map(api_key(), any_json(), 0..10);
    let task = fields
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed();
    let link = prop_oneof![
        Just(Value::Null),
        ".{0,60}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
    ];
    (
        prop::collection::vec(task.clone(), 0..5),
        link.clone(),
        link,
        any_json(),
    )
        .prop_map(|(results, next, previous, count)| {
            json!({"count": count, "next": next, "previous": previous, "results": results})
        })
        .boxed()
        .prop_union(task.boxed())
}

fn now_from(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs % 253_402_300_799)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_status_code_is_classified(code in any::<u16>()) {
        let class = classify(code);
        prop_assert_eq!(class == StatusClass::Success, (200..300).contains(&code));
    }

    #[test]
    fn any_retry_after_text_is_read_without_panic_and_never_past_the_cap(
        value in ".{0,64}", now in any::<u64>(), cap in 1u64..100_000,
    ) {
        let cap = Duration::from_secs(cap);
        if let Some((wait, _)) = parse_retry_after(&value, now_from(now), cap) {
            prop_assert!(wait <= cap);
        }
    }

    #[test]
    fn retry_after_seconds_of_any_size_are_obeyed_up_to_the_cap(
        digits in "[0-9]{1,40}", cap in 1u64..100_000,
    ) {
        let cap = Duration::from_secs(cap);
        let (wait, capped) = parse_retry_after(&digits, SystemTime::now(), cap).expect("digits");
        match digits.parse::<u64>() {
            Ok(secs) if Duration::from_secs(secs) <= cap => {
                prop_assert_eq!((wait, capped), (Duration::from_secs(secs), false));
            }
            _ => prop_assert_eq!((wait, capped), (cap, true)),
        }
    }

    #[test]
    fn retry_after_dates_from_1970_to_9999_wait_until_then_or_the_cap(
        now in any::<u64>(), when in any::<u64>(), cap in 1u64..100_000,
    ) {
        let (now, when, cap) = (now_from(now), now_from(when), Duration::from_secs(cap));
        let text = httpdate::fmt_http_date(when);
        let (wait, _) = parse_retry_after(&text, now, cap).expect("an HTTP date");
        let expected = when.duration_since(now).unwrap_or(Duration::ZERO).min(cap);
        prop_assert!(wait <= cap);
        prop_assert!(wait.abs_diff(expected) <= Duration::from_secs(1), "{:?} vs {:?}", wait, expected);
    }

    #[test]
    fn any_bytes_as_a_json_body_give_a_value_or_an_error(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_json::<FileTask>(Operation::Retrieve, &body);
        let _ = parse_json::<Page<FileTask>>(Operation::List, &body);
        let _ = parse_json::<Page<Template>>(Operation::Templates, &body);
    }

    #[test]
    fn api_shaped_json_of_any_content_gives_a_value_or_an_error(value in api_shaped()) {
        let body = serde_json::to_vec(&value).expect("serialise");
        if let Ok(task) = parse_json::<FileTask>(Operation::Retrieve, &body) {
            let _ = task.failure_reason();
        }
        if let Ok(page) = parse_json::<Page<FileTask>>(Operation::List, &body) {
            for task in &page.results {
                let _ = task.failure_reason();
            }
        }
        let _ = parse_json::<Page<Template>>(Operation::Templates, &body);
    }

    #[test]
    fn any_answer_is_classified_without_panic_and_never_asks_to_wait_past_the_cap(
        code in 100u16..1000,
        retry_after in prop::collection::vec(any::<u8>(), 0..48),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let mut answer = http::Response::builder().status(code);
        if let Ok(value) = http::HeaderValue::from_bytes(&retry_after) {
            answer = answer.header(http::header::RETRY_AFTER, value);
        }
        let response = reqwest::Response::from(answer.body(body).expect("response"));
        let cap = Duration::from_secs(60);
        let checked = runtime.block_on(check(Operation::Create, response, cap));
        prop_assert_eq!(checked.is_ok(), (200..300).contains(&code));
        if let Err(err) = checked {
            prop_assert!(err.retry_after().is_none_or(|w| w <= cap));
            let _ = err.to_string();
            let stopped = matches!(err, ApiError::Stopped { .. });
            prop_assert!(!stopped, "a classified answer is never a stop");
        }
    }
}
