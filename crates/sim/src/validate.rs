//! Validation of `POST /billing/org/v1/reports` bodies, answering bad input the way a Django
//! REST framework serializer does: a 400 whose body maps each field to its messages, nested
//! under `parameters` for the template's parameters. JSON and form-encoded bodies are read;
//! any other media type is a 415.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::query::strict_date;
use super::reply::{self, python_type, FieldErrors};
use super::templates::{self, Kind, TemplateDef, PARAMS};

/// A valid create request.
pub(crate) struct NewReport {
    pub template: &'static TemplateDef,
    pub params: Map<String, Value>,
}

pub(crate) fn parse_create(headers: &HeaderMap, body: &[u8]) -> Result<NewReport, Response> {
    let data = read_body(headers, body)?;
    let mut errors = FieldErrors::default();
    let template = template_code(data.get("template_code"), &mut errors);
    let params = parameters(data.get("parameters"), &mut errors);
    if let (Some(_), Some(params)) = (template, &params) {
        check_params(params, &mut errors);
    }
    errors.check()?;
    match (template, params) {
        (Some(template), Some(params)) => Ok(NewReport { template, params }),
        _ => Err(non_field("Invalid data.")),
    }
}

/// The body as a JSON object, from JSON (also when no Content-Type is given) or a form.
fn read_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" => json_body(body),
        "application/x-www-form-urlencoded" => form_body(body),
        _ => Err(reply::detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("Unsupported media type \"{content_type}\" in request."),
        )),
    }
}

fn json_body(body: &[u8]) -> Result<Map<String, Value>, Response> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| non_field(&format!("JSON parse error - {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(non_field(&format!(
            "Invalid data. Expected a dictionary, but got {}.",
            python_type(&other)
        ))),
    }
}

/// A form body; its `parameters` field holds JSON text.
fn form_body(body: &[u8]) -> Result<Map<String, Value>, Response> {
    let mut map = Map::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let value = if key == "parameters" {
            serde_json::from_str(&value).map_err(|_| {
                reply::json(
                    StatusCode::BAD_REQUEST,
                    json!({ "parameters": ["Value must be valid JSON."] }),
                )
            })?
        } else {
            Value::String(value.into_owned())
        };
        map.insert(key.into_owned(), value);
    }
    Ok(map)
}

fn non_field(message: &str) -> Response {
    reply::json(
        StatusCode::BAD_REQUEST,
        json!({ "non_field_errors": [message] }),
    )
}

fn template_code(value: Option<&Value>, errors: &mut FieldErrors) -> Option<&'static TemplateDef> {
    let code = match value {
        None => Err("This field is required.".to_string()),
        Some(Value::Null) => Err("This field may not be null.".to_string()),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err("Not a valid string.".to_string()),
    };
    let found = code.and_then(|code| match code.as_str() {
        "" => Err("This field may not be blank.".to_string()),
        _ => templates::find(&code).ok_or_else(|| format!("Unknown template code '{code}'.")),
    });
    found
        .map_err(|message| errors.add("template_code", message))
        .ok()
}

fn parameters(value: Option<&Value>, errors: &mut FieldErrors) -> Option<Map<String, Value>> {
    match value {
        None => Some(Map::new()),
        Some(Value::Object(map)) => Some(map.clone()),
        Some(Value::Null) => {
            errors.add("parameters", "This field may not be null.");
            None
        }
        Some(other) => {
            let kind = python_type(other);
            errors.add(
                "parameters",
                format!("Expected a dictionary of items but got type \"{kind}\"."),
            );
            None
        }
    }
}

/// The template's parameters: presence, type and format, then date_to not before date_from.
/// Keys the template does not define are kept as given.
fn check_params(params: &Map<String, Value>, errors: &mut FieldErrors) {
    let mut inner = FieldErrors::default();
    for def in &PARAMS {
        match params.get(def.name) {
            None if def.required => inner.add(def.name, "This field is required."),
            Some(Value::Null) if def.required => inner.add(def.name, "This field may not be null."),
            None | Some(Value::Null) => {}
            Some(value) => match def.kind {
                Kind::Date if value.as_str().and_then(strict_date).is_none() => inner.add(
                    def.name,
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                ),
                Kind::Integer if !(value.is_i64() || value.is_u64()) => {
                    inner.add(def.name, "A valid integer is required.")
                }
                Kind::OpenText if !value.is_string() => inner.add(def.name, "Not a valid string."),
                _ => {}
            },
        }
    }
    let date = |key: &str| {
        params
            .get(key)
            .and_then(Value::as_str)
            .and_then(strict_date)
    };
    if let (true, Some(from), Some(to)) = (inner.is_empty(), date("date_from"), date("date_to")) {
        if to < from {
            inner.add("date_to", "Ensure date_to is not earlier than date_from.");
        }
    }
    if !inner.is_empty() {
        errors.nest("parameters", inner);
    }
}
