//! `GET /iam/clients` of Gcore's IAM reseller API: the reseller's clients that are neither
//! deleted nor test accounts (`deleted=false&is_test=false`), ordered by id and paged with
//! `limit`/`offset`, through the same budget, `Retry-After` and error handling as every call.
//! The answer is an envelope `{count, next, previous, results}` or a bare array (the spec's
//! `oneOf`); both are read. Each item is decoded on its own, for its `id` only: an item without
//! an integer id fails the whole listing, since a partial listing must never pass for the list.

use serde::Deserialize;
use serde_json::Value;

use super::{ApiError, Client, Operation};

const CLIENTS_PATH: &str = "iam/clients";
/// Clients asked per page.
pub const CLIENTS_PAGE: u32 = 1_000;
/// More pages than any reseller has: a server whose pages never end.
const MAX_CLIENT_PAGES: usize = 10_000;

/// One listed client, as far as the daemon reads it.
#[derive(Debug, Deserialize)]
struct Item {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    deleted: Option<Value>,
    #[serde(default)]
    is_test: Option<Value>,
}

/// The enveloped answer (`ClientsPaginatedArray`).
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    next: Option<String>,
    results: Vec<Item>,
}

/// One page: its items, and whether the server says there are more.
struct ClientPage {
    items: Vec<Item>,
    /// `Some(false)` when an envelope says this is the last page; `None` for a bare array
    /// (the listing ends at the first empty page).
    more: Option<bool>,
}

impl Client {
    /// The ids of every client listed with `deleted=false&is_test=false`, ascending, each once.
    /// Any error (a failed page, an undecodable body, an item without an id) fails the whole
    /// listing: it never means "no clients".
    pub async fn list_clients(&self) -> Result<Vec<i64>, ApiError> {
        let op = Operation::Clients;
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut offset = 0u64;
        for _ in 0..MAX_CLIENT_PAGES {
            let request = self.http.get(self.url(CLIENTS_PATH)).query(&[
                ("deleted", "false".to_string()),
                ("is_test", "false".to_string()),
                ("ordering", "id".to_string()),
                ("limit", CLIENTS_PAGE.to_string()),
                ("offset", offset.to_string()),
            ]);
            let page = self.client_page(op, request).await?;
            let listed = page.items.len() as u64;
            let mut new = false;
            for item in page.items {
                let (id, shown) = eligible(op, item)?;
                new |= seen.insert(id);
                if shown {
                    ids.push(id);
                }
            }
            // An envelope says where the list ends: an empty page or one of ids seen already
            // before that (offsets shifted by a change while it was read) is an error, so the
            // whole listing is read again, never taken as complete. A bare array ends at an
            // empty page, or at one that repeats what came before (a server that does not
            // page it).
            if page.more == Some(true) && (listed == 0 || !new) {
                return Err(ApiError::BadResponse {
                    op,
                    reason: format!(
                        "the page of clients at offset {offset} brought no new client though the list says more follow: it changed while it was read"
                    ),
                });
            }
            if listed == 0 || page.more == Some(false) || !new {
                ids.sort_unstable();
                ids.dedup();
                return Ok(ids);
            }
            offset = offset.saturating_add(listed);
        }
        Err(ApiError::BadResponse {
            op,
            reason: format!(
                "more than {MAX_CLIENT_PAGES} pages of clients: the listing does not end"
            ),
        })
    }

    async fn client_page(
        &self,
        op: Operation,
        request: reqwest::RequestBuilder,
    ) -> Result<ClientPage, ApiError> {
        let response = self.send(op, request.timeout(self.timeout)).await?;
        let bytes =
            super::body::read_capped(op, response, super::MAX_JSON_BODY, &self.body_budget).await?;
        decode_page(op, &bytes)
    }
}

/// A page in either shape the spec allows.
fn decode_page(op: Operation, bytes: &[u8]) -> Result<ClientPage, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<Item> = super::parse_json(op, bytes)?;
        return Ok(ClientPage { items, more: None });
    }
    let envelope: Envelope = super::parse_json(op, bytes)?;
    let more = envelope.next.is_some_and(|next| !next.is_empty());
    Ok(ClientPage {
        items: envelope.results,
        more: Some(more),
    })
}

/// The item's id, and whether it is shown: not if the item says it is deleted or a test account
/// (the query asked for neither: such an item is left out, whatever the server meant).
fn eligible(op: Operation, item: Item) -> Result<(i64, bool), ApiError> {
    let id = item
        .id
        .as_ref()
        .and_then(Value::as_i64)
        .filter(|id| *id > 0);
    let Some(id) = id else {
        return Err(ApiError::BadResponse {
            op,
            reason: "a listed client has no integer id: the listing is incomplete".to_string(),
        });
    };
    let flagged = |v: &Option<Value>| v.as_ref().and_then(Value::as_bool) == Some(true);
    Ok((id, !flagged(&item.deleted) && !flagged(&item.is_test)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_answer_shapes_decode_and_an_item_without_an_id_fails_the_listing() {
        let op = Operation::Clients;
        let bare = decode_page(
            op,
            br#" [{"id": 7, "name": "a"}, {"id": 8, "is_test": true}]"#,
        )
        .expect("array");
        assert_eq!((bare.items.len(), bare.more), (2, None));
        let enveloped = br#"{"count": 3, "next": "http://x/iam/clients?offset=2", "previous": null,
            "results": [{"id": 9}]}"#;
        let page = decode_page(op, enveloped).expect("envelope");
        assert_eq!((page.items.len(), page.more), (1, Some(true)));
        let ids: Vec<(i64, bool)> = bare
            .items
            .into_iter()
            .map(|i| eligible(op, i).expect("id"))
            .collect();
        assert_eq!(ids, vec![(7, true), (8, false)]);
        let no_id = decode_page(op, br#"[{"name": "x"}]"#).expect("array");
        let item = no_id.items.into_iter().next().expect("item");
        assert!(eligible(op, item).is_err());
    }
}
