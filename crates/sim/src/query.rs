//! Query strings for the list operations: repeated keys, django-filter style value parsing
//! (numbers, dates, the three accepted date-time forms) and Django REST framework's
//! limit/offset pagination, whose `next`/`previous` links are absolute URLs built from the
//! request's Host header and path with the other query parameters kept.

use axum::http::{header, HeaderMap, Uri};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::reply::FieldErrors;

/// The default page size, and the largest one served (DRF's `max_limit`).
pub(crate) const MAX_LIMIT: usize = 100;

/// A parsed query string, keys in the order given, repeated keys kept.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(uri: &Uri) -> Query {
        let raw = uri.query().unwrap_or("");
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The last non-empty value of `key` (Django's `QueryDict.get`, empty meaning unset).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`, in order.
    pub(crate) fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer filter; a value that is not a number is a field error.
    pub(crate) fn int(&self, key: &str, errors: &mut FieldErrors) -> Option<i64> {
        let raw = self.get(key)?;
        let parsed = raw.trim().parse::<i64>().ok();
        if parsed.is_none() {
            errors.add(key, "Enter a number.");
        }
        parsed
    }

    /// A comma-separated list filter (`code__in=a,b`), empty items dropped.
    pub(crate) fn list(&self, key: &str) -> Option<Vec<String>> {
        let raw = self.get(key)?;
        Some(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    /// A moment filter: RFC 3339, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`, naive forms in UTC.
    pub(crate) fn moment(&self, key: &str, errors: &mut FieldErrors) -> Option<Timestamp> {
        let raw = self.get(key)?;
        let parsed = parse_moment(raw.trim());
        if parsed.is_none() {
            errors.add(key, "Enter a valid date/time.");
        }
        parsed
    }

    /// A `YYYY-MM-DD` filter.
    pub(crate) fn date(&self, key: &str, errors: &mut FieldErrors) -> Option<Date> {
        let raw = self.get(key)?;
        let parsed = strict_date(raw.trim());
        if parsed.is_none() {
            errors.add(key, "Enter a valid date.");
        }
        parsed
    }
}

fn parse_moment(raw: &str) -> Option<Timestamp> {
    if let Ok(t) = raw.parse::<Timestamp>() {
        return Some(t);
    }
    let civil = raw
        .parse::<DateTime>()
        .ok()
        .or_else(|| strict_date(raw).map(|d| d.to_datetime(jiff::civil::time(0, 0, 0, 0))))?;
    TimeZone::UTC.to_timestamp(civil).ok()
}

/// A date written exactly `YYYY-MM-DD` (jiff alone would also take `+002025-…` or a date-time).
pub(crate) fn strict_date(raw: &str) -> Option<Date> {
    let b = raw.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if shape {
        raw.parse::<Date>().ok()
    } else {
        None
    }
}

/// A page request: DRF falls back to the default for a limit that is not a positive integer,
/// clamps it to [`MAX_LIMIT`], and takes a bad offset as 0.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Page {
    pub limit: usize,
    pub offset: usize,
}

impl Page {
    pub(crate) fn from_query(query: &Query) -> Page {
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0);
        let offset = query
            .get("offset")
            .and_then(|o| o.parse::<usize>().ok())
            .unwrap_or(0);
        Page {
            limit: limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
            offset,
        }
    }

    /// The part of `all` this page covers.
    pub(crate) fn slice<T>(self, all: &[T]) -> &[T] {
        let start = self.offset.min(all.len());
        &all[start..(start + self.limit).min(all.len())]
    }

    /// `{count, next, previous, results}`, `results` being this page of `count` items.
    pub(crate) fn envelope(
        self,
        count: usize,
        results: Vec<Value>,
        query: &Query,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Value {
        let base = base_url(headers, uri);
        let next = (self.offset + self.limit < count)
            .then(|| link(&base, query, self.limit, Some(self.offset + self.limit)));
        let previous = (self.offset > 0).then(|| {
            let back = self.offset.saturating_sub(self.limit);
            link(&base, query, self.limit, (back > 0).then_some(back))
        });
        json!({ "count": count, "next": next, "previous": previous, "results": results })
    }
}

fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{}", uri.path())
}

/// The request's URL with `limit` and `offset` replaced (offset removed when `None`), keys
/// sorted as DRF's `replace_query_param` leaves them.
fn link(base: &str, query: &Query, limit: usize, offset: Option<usize>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .0
        .iter()
        .filter(|(k, _)| k != "limit" && k != "offset")
        .cloned()
        .collect();
    pairs.push(("limit".into(), limit.to_string()));
    if let Some(offset) = offset {
        pairs.push(("offset".into(), offset.to_string()));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{encoded}")
}
