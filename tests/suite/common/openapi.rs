//! A small validator for the subset of OpenAPI 3.1 / JSON Schema that Gcore's reports spec
//! uses: `$ref`, `type`, `required`, `properties`, `additionalProperties`, `enum`, `items`,
//! `minLength`/`maxLength`, `format` (date, date-time, uuid, uri) and the 3.0-style
//! `nullable: true`, which the published document uses and which is honoured here as its
//! authors meant it. It matches recorded requests to operations and checks their parameters,
//! bodies and answers.

use serde_json::Value;

/// An operation matching a path: the operation, its path parameters, its literal segments.
type Candidate<'a> = (&'a Value, Vec<(String, String)>, usize);

/// The spec, loaded from `tests/fixtures/gcore-billing-reports.openapi.yaml`.
pub struct Spec {
    root: Value,
}

impl Spec {
    pub fn load() -> Spec {
        Spec::load_fixture("gcore-billing-reports.openapi.yaml")
    }

    /// Another spec of `tests/fixtures/` (e.g. the IAM clients excerpt).
    pub fn load_fixture(name: &str) -> Spec {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("read the OpenAPI fixture");
        let root: Value = serde_yaml::from_str(&text).expect("the fixture is YAML");
        Spec { root }
    }

    /// The operation object for `method` on a concrete `path`, and the path parameters.
    pub fn operation(&self, method: &str, path: &str) -> Option<(&Value, Vec<(String, String)>)> {
        let paths = self.root.get("paths")?.as_object()?;
        let mut best: Option<Candidate<'_>> = None;
        for (template, item) in paths {
            let Some(params) = match_path(template, path) else {
                continue;
            };
            let Some(op) = item.get(method.to_ascii_lowercase()) else {
                continue;
            };
            let literal = template.split('/').filter(|s| !s.starts_with('{')).count();
            if best.as_ref().is_none_or(|(_, _, l)| literal > *l) {
                best = Some((op, params, literal));
            }
        }
        best.map(|(op, params, _)| (op, params))
    }

    /// `schema`, or what its `$ref` points to.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                self.root.pointer(pointer).unwrap_or(&Value::Null)
            }
            None => schema,
        }
    }

    /// Checks `value` against `schema`; returns every violation with its JSON path.
    pub fn validate(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let schema = self.resolve(schema);
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return vec![];
        }
        let mut errors = Vec::new();
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            if !choices.contains(value) {
                errors.push(format!("{at}: {value} is not one of {choices:?}"));
            }
        }
        match schema.get("type").and_then(Value::as_str) {
            Some(kind) if !has_type(value, kind) => {
                errors.push(format!("{at}: expected {kind}, got {value}"))
            }
            _ => {}
        }
        if let Value::String(s) = value {
            errors.extend(check_string(schema, s, at));
        }
        if let Value::Object(map) = value {
            errors.extend(self.check_object(schema, map, at));
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                errors.extend(self.validate(item_schema, item, &format!("{at}[{i}]")));
            }
        }
        errors
    }

    fn check_object(
        &self,
        schema: &Value,
        map: &serde_json::Map<String, Value>,
        at: &str,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str() {
                if !map.contains_key(name) {
                    errors.push(format!("{at}: required field {name:?} is missing"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (key, field) in map {
            let path = format!("{at}.{key}");
            match (
                props.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(prop), _) => errors.extend(self.validate(prop, field, &path)),
                (None, Some(Value::Bool(false))) => errors.push(format!("{path}: not allowed")),
                (None, Some(extra)) if extra.is_object() => {
                    errors.extend(self.validate(extra, field, &path))
                }
                _ => {}
            }
        }
        errors
    }

    /// Checks one query or path parameter value (as sent on the wire) against its declaration.
    pub fn validate_param(&self, param: &Value, raw_values: &[String], at: &str) -> Vec<String> {
        let schema = self.resolve(param.get("schema").unwrap_or(&Value::Null));
        let explode = param
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let kind = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string");
        if kind == "array" {
            if !explode && raw_values.len() > 1 {
                return vec![format!(
                    "{at}: explode=false array sent as repeated parameters"
                )];
            }
            let items: Vec<String> = if explode {
                raw_values.to_vec()
            } else {
                raw_values
                    .iter()
                    .flat_map(|v| v.split(',').map(str::to_string))
                    .collect()
            };
            let item_schema = schema.get("items").cloned().unwrap_or(Value::Null);
            return items
                .iter()
                .flat_map(|v| self.validate(&item_schema, &typed(&item_schema, v), at))
                .collect();
        }
        if raw_values.len() > 1 {
            return vec![format!(
                "{at}: a scalar parameter was sent {} times",
                raw_values.len()
            )];
        }
        raw_values
            .iter()
            .flat_map(|v| self.validate(schema, &typed(schema, v), at))
            .collect()
    }
}

/// A query string value read as the type its schema declares.
fn typed(schema: &Value, raw: &str) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(raw)),
        Some("boolean") => raw
            .parse::<bool>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(raw)),
        _ => Value::from(raw),
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn check_string(schema: &Value, s: &str, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let len = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if len < min {
            errors.push(format!("{at}: shorter than {min}"));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if len > max {
            errors.push(format!("{at}: longer than {max}"));
        }
    }
    let ok = match schema.get("format").and_then(Value::as_str) {
        Some("date") => s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10,
        Some("date-time") => s.parse::<jiff::Timestamp>().is_ok(),
        Some("uuid") => uuid::Uuid::parse_str(s).is_ok() && s.len() == 36,
        Some("uri") => reqwest::Url::parse(s).is_ok(),
        _ => true,
    };
    if !ok {
        errors.push(format!("{at}: {s:?} is not a valid {}", schema["format"]));
    }
    errors
}

/// Matches `/a/{id}/b` against `/a/123/b`, returning the path parameters.
fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ts, ps) in t.iter().zip(&p) {
        if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.push((name.to_string(), ps.to_string()));
        } else if ts != ps {
            return None;
        }
    }
    Some(params)
}
