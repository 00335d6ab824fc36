//! The four report templates the simulator offers (`ResellerExpenses`, `ResellerPlans`,
//! `ResellerCredits`, `ResellerStatistics`, ids 1–4), the parameters each takes, and the
//! templates list operation with its django-filter lookups, ordering and pagination.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::query::{Page, Query};
use super::reply::{self, FieldErrors};
use super::state::Shared;

pub(crate) struct TemplateDef {
    pub id: i64,
    pub code: &'static str,
    pub name_en: &'static str,
    pub description: &'static str,
}

pub(crate) const TEMPLATES: [TemplateDef; 4] = [
    TemplateDef {
        id: 1,
        code: "ResellerExpenses",
        name_en: "Reseller expenses",
        description: "Expenses of the reseller's clients per product over a period.",
    },
    TemplateDef {
        id: 2,
        code: "ResellerPlans",
        name_en: "Reseller plans",
        description: "Tariff plans of the reseller's clients and their prices over a period.",
    },
    TemplateDef {
        id: 3,
        code: "ResellerCredits",
        name_en: "Reseller credits",
        description: "Credits granted to and used by the reseller's clients over a period.",
    },
    TemplateDef {
        id: 4,
        code: "ResellerStatistics",
        name_en: "Reseller statistics",
        description: "Usage statistics of the reseller's clients per product over a period.",
    },
];

/// The kind of value a template parameter takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Date,
    Integer,
    /// A string whose schema carries `enum: []` (the published schema allows it; it restricts
    /// nothing).
    OpenText,
}

pub(crate) struct ParamDef {
    pub name: &'static str,
    pub required: bool,
    pub kind: Kind,
    pub description: &'static str,
}

/// Every template takes the same parameters.
pub(crate) const PARAMS: [ParamDef; 4] = [
    ParamDef {
        name: "date_from",
        required: true,
        kind: Kind::Date,
        description: "Start of the report period (YYYY-MM-DD), inclusive.",
    },
    ParamDef {
        name: "date_to",
        required: true,
        kind: Kind::Date,
        description: "End of the report period (YYYY-MM-DD), exclusive.",
    },
    ParamDef {
        name: "client_id",
        required: false,
        kind: Kind::Integer,
        description: "Restrict the report to this client.",
    },
    ParamDef {
        name: "label",
        required: false,
        kind: Kind::OpenText,
        description: "A free label for the report.",
    },
];

pub(crate) fn find(code: &str) -> Option<&'static TemplateDef> {
    TEMPLATES.iter().find(|t| t.code == code)
}

impl TemplateDef {
    /// The template as listed, without the parameter named `hidden` (see
    /// `SimHandle::hide_template_parameter`).
    fn to_json_without(&self, hidden: Option<&str>) -> Value {
        let params: Vec<Value> = (PARAMS.iter())
            .filter(|p| Some(p.name) != hidden)
            .map(|p| match p.kind {
                Kind::Date => json!({ "name": p.name, "required": p.required, "type": "string", "format": "date", "description": p.description }),
                Kind::Integer => json!({ "name": p.name, "required": p.required, "type": "integer", "description": p.description }),
                Kind::OpenText => json!({ "name": p.name, "required": p.required, "type": "string", "enum": [], "description": p.description }),
            })
            .collect();
        json!({
            "id": self.id,
            "code": self.code,
            "name_en": self.name_en,
            "description": self.description,
            "parameters": { "parameters": params },
        })
    }
}

/// `GET /billing/org/v1/reports/templates`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = Query::parse(&uri);
    let keep = match TemplateFilter::parse(&query) {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    let mut matching: Vec<&TemplateDef> = TEMPLATES.iter().filter(|t| keep.matches(t)).collect();
    order(&mut matching, query.get("ordering"));
    let page = Page::from_query(&query);
    let hidden = shared.lock().clients.hidden_parameter.clone();
    let results = (page.slice(&matching).iter())
        .map(|t| t.to_json_without(hidden.as_deref()))
        .collect();
    let body = page.envelope(matching.len(), results, &query, &headers, &uri);
    reply::json(StatusCode::OK, body)
}

/// DRF's OrderingFilter: known fields only, unknown ones ignored, default by id.
fn order(templates: &mut [&TemplateDef], ordering: Option<&str>) {
    for term in ordering.unwrap_or("").split(',').rev() {
        let (desc, field) = term
            .trim()
            .strip_prefix('-')
            .map_or((false, term.trim()), |f| (true, f));
        let key = |t: &&TemplateDef| -> (i64, &'static str) {
            match field {
                "id" => (t.id, ""),
                "code" => (0, t.code),
                "name_en" => (0, t.name_en),
                _ => (0, ""),
            }
        };
        templates.sort_by(|a, b| {
            if desc {
                key(b).cmp(&key(a))
            } else {
                key(a).cmp(&key(b))
            }
        });
    }
}

#[derive(Default)]
struct TemplateFilter {
    code: Option<String>,
    code_in: Option<Vec<String>>,
    contains: Vec<(&'static str, String)>,
    id: Option<i64>,
    id_gt: Option<i64>,
    id_lt: Option<i64>,
    id_in: Option<Vec<i64>>,
}

impl TemplateFilter {
    fn parse(query: &Query) -> Result<TemplateFilter, Response> {
        let mut errors = FieldErrors::default();
        let mut filter = TemplateFilter {
            code: query.get("code").map(String::from),
            code_in: query.list("code__in"),
            id: query.int("id", &mut errors),
            id_gt: query.int("id__gt", &mut errors),
            id_lt: query.int("id__lt", &mut errors),
            ..TemplateFilter::default()
        };
        for field in ["code", "name_en", "description", "comment"] {
            let key = format!("{field}__icontains");
            if let Some(v) = query.get(&key) {
                filter.contains.push((field, v.to_lowercase()));
            }
        }
        if let Some(items) = query.list("id__in") {
            let ids: Result<Vec<i64>, _> = items.iter().map(|s| s.parse::<i64>()).collect();
            match ids {
                Ok(ids) => filter.id_in = Some(ids),
                Err(_) => errors.add("id__in", "Enter a number."),
            }
        }
        errors.check().map(|()| filter)
    }

    fn matches(&self, t: &TemplateDef) -> bool {
        self.code.as_deref().is_none_or(|c| c == t.code)
            && self
                .code_in
                .as_ref()
                .is_none_or(|codes| codes.iter().any(|c| c == t.code))
            && self.id.is_none_or(|id| id == t.id)
            && self.id_gt.is_none_or(|id| t.id > id)
            && self.id_lt.is_none_or(|id| t.id < id)
            && self.id_in.as_ref().is_none_or(|ids| ids.contains(&t.id))
            && self.contains.iter().all(|(field, needle)| {
                let hay = match *field {
                    "code" => t.code,
                    "name_en" => t.name_en,
                    "description" => t.description,
                    _ => "",
                };
                hay.to_lowercase().contains(needle.as_str())
            })
    }
}
