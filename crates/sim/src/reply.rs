//! Response helpers shared by the simulator's handlers: JSON bodies, Django REST framework's
//! `{"detail": ...}` errors and field errors, and the answers for unknown routes and methods.

use std::collections::BTreeMap;

use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A JSON response with `status`.
pub(crate) fn json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `{"detail": message}`.
pub(crate) fn detail(status: StatusCode, message: &str) -> Response {
    json(status, json!({ "detail": message }))
}

pub(crate) fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

/// Fallback for paths the API does not have.
pub(crate) async fn no_route() -> Response {
    not_found()
}

/// Fallback for a known path with a method it does not take.
pub(crate) async fn method_not_allowed(method: Method) -> Response {
    detail(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("Method \"{method}\" not allowed."),
    )
}

/// Field errors collected while validating a request, answered as one 400.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors(BTreeMap<String, Value>);

impl FieldErrors {
    /// Adds `message` to the list of errors for `field`.
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self.0.entry(field.to_string()).or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(Value::String(message.into()));
        }
    }

    /// Sets `field` to a nested error object (DRF's shape for errors inside a dict field).
    pub(crate) fn nest(&mut self, field: &str, inner: FieldErrors) {
        self.0.insert(field.to_string(), inner.into_value());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0.into_iter().collect())
    }

    /// `Ok(())` when no error was added, else the 400 response.
    pub(crate) fn check(self) -> Result<(), Response> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(json(StatusCode::BAD_REQUEST, self.into_value()))
        }
    }
}

/// The Python type name DRF puts in its "expected a dictionary" messages.
pub(crate) fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
