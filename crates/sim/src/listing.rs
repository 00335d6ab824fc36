//! `GET /billing/org/v1/reports`: the task list with the spec's filters (`created_after`,
//! `created_before`, `created_on`, `status` repeated, `template` partial, `uuid` prefix,
//! `client_id`), `ordering` (comma-separated keys from the spec's enum, `-` for descending,
//! then created_at and uuid) and limit/offset pagination. A bad filter value is a 400.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::query::{Page, Query};
use super::reply::{self, FieldErrors};
use super::state::Shared;
use super::task::TaskRecord;

const STATUSES: [&str; 5] = ["Cancelled", "Completed", "Failed", "InProgress", "Pending"];

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = Query::parse(&uri);
    let mut errors = FieldErrors::default();
    let filter = TaskFilter::parse(&query, &mut errors);
    let ordering = parse_ordering(&query, &mut errors);
    if let Err(response) = errors.check() {
        return response;
    }
    let page = Page::from_query(&query);
    if shared.with_tasks(fail_this_request) {
        return super::broken::server_error(StatusCode::SERVICE_UNAVAILABLE);
    }
    let rows = shared.options.report_rows;
    let (count, results) = shared.with_tasks(|inner| {
        let account = inner.account.1;
        let mut matching: Vec<TaskRecord> = inner
            .tasks
            .iter()
            .filter(|t| t.client_id == account && filter.matches(t))
            .cloned()
            .collect();
        matching.sort_by(|a, b| compare(a, b, &ordering));
        let shown = page
            .slice(&matching)
            .iter()
            .map(|t| {
                let mut shown = inner.show(t, rows);
                if super::task::matches_rule(&t.params, &inner.faults.odd_listed_when) {
                    shown["status"] = serde_json::json!(7);
                }
                shown
            })
            .collect();
        (matching.len(), shown)
    });
    reply::json(
        StatusCode::OK,
        page.envelope(count, results, &query, &headers, &uri),
    )
}

#[derive(Default)]
struct TaskFilter {
    after: Option<Timestamp>,
    before: Option<Timestamp>,
    on: Option<Date>,
    statuses: Vec<String>,
    template: Option<String>,
    uuid: Option<String>,
    client_id: Option<i64>,
}

impl TaskFilter {
    fn parse(query: &Query, errors: &mut FieldErrors) -> TaskFilter {
        let statuses: Vec<String> = query.all("status").into_iter().map(String::from).collect();
        for status in statuses.iter().filter(|s| !STATUSES.contains(&s.as_str())) {
            errors.add(
                "status",
                format!("Select a valid choice. {status} is not one of the available choices."),
            );
        }
        TaskFilter {
            after: query.moment("created_after", errors),
            before: query.moment("created_before", errors),
            on: query.date("created_on", errors),
            statuses,
            template: query.get("template").map(str::to_lowercase),
            uuid: query.get("uuid").map(str::to_lowercase),
            client_id: query.int("client_id", errors),
        }
    }

    fn matches(&self, task: &TaskRecord) -> bool {
        self.after.is_none_or(|t| task.created_at > t)
            && self.before.is_none_or(|t| task.created_at < t)
            && self
                .on
                .is_none_or(|d| task.created_at.to_zoned(TimeZone::UTC).date() == d)
            && (self.statuses.is_empty() || self.statuses.iter().any(|s| s == task.status.as_str()))
            && self
                .template
                .as_ref()
                .is_none_or(|t| task.template.to_lowercase().contains(t.as_str()))
            && self
                .uuid
                .as_ref()
                .is_none_or(|u| task.uuid.to_lowercase().starts_with(u.as_str()))
            && self.client_id.is_none_or(|c| c == task.client_id)
    }
}

#[derive(Clone, Copy)]
enum Key {
    Uuid,
    CreatedAt,
    ClientId,
    TaskType,
    Status,
    Template,
}

/// `ordering=-created_at,uuid` as keys with a descending flag; unknown keys are field errors.
fn parse_ordering(query: &Query, errors: &mut FieldErrors) -> Vec<(Key, bool)> {
    let Some(raw) = query.get("ordering") else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for term in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (descending, name) = term.strip_prefix('-').map_or((false, term), |n| (true, n));
        let key = match name {
            "uuid" => Key::Uuid,
            "created_at" => Key::CreatedAt,
            "client_id" => Key::ClientId,
            "task_type" => Key::TaskType,
            "status" => Key::Status,
            "template" => Key::Template,
            _ => {
                errors.add(
                    "ordering",
                    format!("Select a valid choice. {term} is not one of the available choices."),
                );
                continue;
            }
        };
        keys.push((key, descending));
    }
    keys
}

/// The requested keys in turn, then created_at and uuid (the default order).
fn compare(a: &TaskRecord, b: &TaskRecord, keys: &[(Key, bool)]) -> Ordering {
    for &(key, descending) in keys {
        let order = match key {
            Key::Uuid => a.uuid.cmp(&b.uuid),
            Key::CreatedAt => a.created_at.cmp(&b.created_at),
            // Every task is the reseller's own report task: these never differ.
            Key::ClientId | Key::TaskType => Ordering::Equal,
            Key::Status => a.status.as_str().cmp(b.status.as_str()),
            Key::Template => a.template.cmp(&b.template),
        };
        let order = if descending { order.reverse() } else { order };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.created_at
        .cmp(&b.created_at)
        .then_with(|| a.uuid.cmp(&b.uuid))
}

/// Whether `fail_list_request` fails this list request (counting it).
fn fail_this_request(inner: &mut super::state::Inner) -> bool {
    let n = inner.list_requests;
    inner.list_requests = n.saturating_add(1);
    inner
        .faults
        .fail_list_request
        .is_some_and(|(from, times)| n >= from && n - from < times)
}
