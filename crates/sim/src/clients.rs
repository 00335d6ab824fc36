//! `GET /iam/clients` of the IAM reseller API: the reseller's clients, filtered by `deleted`
//! (`true`, `false`, anything else: all) and `is_test` (`true`/`false`, else a 400), ordered by
//! `ordering` (`id`, `-id`), paged by `limit`/`offset` (at most [`MAX_CLIENT_LIMIT`]), answered
//! as the enveloped page or, switched at run time, as a bare array of the same page (the spec's
//! `oneOf`). The population is made at start ([`crate::SimOptions::clients`]: ids from 1001,
//! every 7th a test account, every 11th deleted) and changed by tests through [`SimHandle`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::query::{Page, Query};
use super::reply::{self, FieldErrors};
use super::state::Shared;
use super::SimHandle;

/// The largest page of clients served.
pub(crate) const MAX_CLIENT_LIMIT: usize = 1_000;
/// The first client id of a made population.
const FIRST_ID: i64 = 1_001;

/// One client of the reseller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimClient {
    pub id: i64,
    pub deleted: bool,
    pub is_test: bool,
}

/// The reseller's clients and how their listing answers.
#[derive(Debug, Default)]
pub(crate) struct ClientBook {
    clients: Vec<SimClient>,
    /// Answer with a bare array instead of the envelope.
    bare: bool,
    /// Listing requests answered so far (for `Faults::fail_clients_request`).
    pub requests: u32,
    /// A parameter the templates list leaves out (a template that takes no `client_id`).
    pub hidden_parameter: Option<String>,
}

impl ClientBook {
    /// `count` clients from id 1001: every 7th a test account, every 11th deleted.
    pub(crate) fn made(count: u32) -> ClientBook {
        let clients = (0..i64::from(count))
            .map(|n| SimClient {
                id: FIRST_ID + n,
                is_test: n % 7 == 6,
                deleted: n % 11 == 10,
            })
            .collect();
        ClientBook {
            clients,
            ..ClientBook::default()
        }
    }
}

impl SimHandle {
    /// Every client, deleted and test ones included, by id.
    pub fn clients(&self) -> Vec<SimClient> {
        self.shared.lock().clients.clients.clone()
    }

    /// The ids a listing with `deleted=false&is_test=false` shows.
    pub fn eligible_clients(&self) -> Vec<i64> {
        let book = &self.shared.lock().clients;
        (book.clients.iter())
            .filter(|c| !c.deleted && !c.is_test)
            .map(|c| c.id)
            .collect()
    }

    /// Adds `count` ordinary clients after the highest id; returns their ids.
    pub fn add_clients(&self, count: u32) -> Vec<i64> {
        let mut inner = self.shared.lock();
        let book = &mut inner.clients;
        let next = book
            .clients
            .iter()
            .map(|c| c.id + 1)
            .max()
            .unwrap_or(FIRST_ID);
        let ids: Vec<i64> = (0..i64::from(count)).map(|n| next + n).collect();
        book.clients.extend(ids.iter().map(|&id| SimClient {
            id,
            deleted: false,
            is_test: false,
        }));
        ids
    }

    /// Marks a client deleted (it stays, as the API keeps deleted accounts).
    pub fn delete_client(&self, id: i64) {
        let mut inner = self.shared.lock();
        if let Some(c) = inner.clients.clients.iter_mut().find(|c| c.id == id) {
            c.deleted = true;
        }
    }

    /// The templates list declares no parameter `name` from now on (`None`: all of them).
    pub fn hide_template_parameter(&self, name: Option<&str>) {
        self.shared.lock().clients.hidden_parameter = name.map(str::to_string);
    }

    /// Answers client listings with a bare array (`true`) or the envelope (`false`, the start).
    pub fn answer_clients_bare(&self, bare: bool) {
        self.shared.lock().clients.bare = bare;
    }
}

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let query = Query::parse(&uri);
    let mut errors = FieldErrors::default();
    let deleted = match query.get("deleted") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let is_test = match query.get("is_test") {
        None => None,
        Some("true" | "True" | "1") => Some(true),
        Some("false" | "False" | "0") => Some(false),
        Some(_) => {
            errors.add("is_test", "Must be a valid boolean.");
            None
        }
    };
    if let Err(response) = errors.check() {
        return response;
    }
    let descending = query.get("ordering").is_some_and(|o| o.starts_with("-id"));
    let page = Page::from_query(&query);
    let page = Page {
        limit: query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0)
            .map_or(page.limit, |l| l.min(MAX_CLIENT_LIMIT)),
        ..page
    };
    let (failed, bare, count, results) = {
        let mut inner = shared.lock();
        let n = inner.clients.requests;
        inner.clients.requests = n.saturating_add(1);
        let failed = (inner.faults.fail_clients_request)
            .is_some_and(|(from, times)| n >= from && n - from < times);
        let mut matching: Vec<SimClient> = (inner.clients.clients.iter())
            .filter(|c| deleted.is_none_or(|d| d == c.deleted))
            .filter(|c| is_test.is_none_or(|t| t == c.is_test))
            .copied()
            .collect();
        if descending {
            matching.reverse();
        }
        let results: Vec<Value> = page.slice(&matching).iter().map(shown).collect();
        (failed, inner.clients.bare, matching.len(), results)
    };
    if failed {
        return super::broken::server_error(StatusCode::SERVICE_UNAVAILABLE);
    }
    let body = match bare {
        true => Value::Array(results),
        false => page.envelope(count, results, &query, &headers, &uri),
    };
    reply::json(StatusCode::OK, body)
}

/// A client as the API shows it (the spec's required fields).
fn shown(c: &SimClient) -> Value {
    json!({
        "id": c.id,
        "email": format!("billing+{}@example.com", c.id),
        "name": format!("Client {}", c.id),
        "status": if c.deleted { "deleted" } else { "active" },
        "companyName": format!("Company {}", c.id),
        "deleted": c.deleted,
        "is_test": c.is_test,
        "has_active_admin": true,
        "currentUser": 1,
        "capabilities": ["CDN", "STORAGE"],
        "serviceStatuses": {},
        "paidFeatures": {},
        "freeFeatures": {},
        "entryBaseDomain": "gcore.com",
        "bill_type": "postpay",
        "country_code": "LU",
    })
}
