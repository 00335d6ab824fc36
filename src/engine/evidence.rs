//! What a reconciling scan says about one uncertain create: its task (an unknown listed task
//! that echoes the request in full, created since the intent), or doubt (an unknown listed task
//! whose echo drops or re-zones a parameter, an item that does not decode and could be it), or
//! certain absence; a listed task echoing exactly another tracked request is that request's,
//! never this one's nor doubt about it. Only certain absence lets the period be created again; doubt holds it for
//! an operator. [`Wanted`] is the scan's filter: it keeps every listed task that could be
//! evidence for one of the uncertain requests, comparing each only with the requests of its
//! own period when its dates are echoed.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::matching::{echo_of, normalised, Echo};
use super::parts::Reconciler;
use super::EngineError;
use crate::api::{FileTask, Odd};
use crate::store::{canonical_request, TaskRow};

/// The uncertain requests by their normalised dates.
pub(super) struct Wanted<'a> {
    by_period: HashMap<String, Vec<&'a TaskRow>>,
    all: &'a [TaskRow],
}

impl<'a> Wanted<'a> {
    pub(super) fn new(group: &'a [TaskRow]) -> Wanted<'a> {
        let mut by_period: HashMap<String, Vec<&TaskRow>> = HashMap::new();
        for task in group {
            by_period
                .entry(period_key(&task.parameters))
                .or_default()
                .push(task);
        }
        Wanted {
            by_period,
            all: group,
        }
    }

    /// Whether a listed task is evidence for some uncertain request (full or partial echo).
    pub(super) fn may_match(&self, remote: &FileTask) -> bool {
        self.may_be(remote.parameters.as_ref())
    }

    /// Whether an item with these echoed parameters could be some uncertain request's task.
    pub(super) fn may_be(&self, echoed: Option<&Map<String, Value>>) -> bool {
        let of = |t: &&TaskRow| echo_of(echoed, &t.template, &t.parameters) != Echo::Other;
        if let Some(tasks) = echoed.and_then(|e| self.by_period.get(&period_key(e))) {
            if tasks.iter().any(of) {
                return true;
            }
        }
        // Dates dropped or re-zoned: only a comparison with every request can tell. Echoed
        // as plain dates, they are the period's, and its requests were compared above.
        !echoed.is_some_and(plain_dates) && self.all.iter().any(|t| of(&t))
    }
}

/// Whether `date_from` and `date_to` are both echoed as plain dates (once normalised).
fn plain_dates(echoed: &Map<String, Value>) -> bool {
    ["date_from", "date_to"].iter().all(|k| {
        echoed.get(*k).map(normalised).is_some_and(|v| {
            v.as_str()
                .is_some_and(|s| s.len() == 10 && s.parse::<jiff::civil::Date>().is_ok())
        })
    })
}

fn period_key(parameters: &Map<String, Value>) -> String {
    let part = |k: &str| parameters.get(k).map(normalised).unwrap_or(Value::Null);
    format!("{}|{}", part("date_from"), part("date_to"))
}

/// Why a request's task may exist on the server though no listed task echoes it in full.
pub(super) struct Doubt(pub Vec<String>);

impl Doubt {
    /// The doubt about `task` (created since `earliest`): unknown listed tasks whose echo is
    /// partial, and undecodable items that could be it. `unknown` says whether a listed uuid
    /// is not tracked by any task.
    pub(super) fn about(
        task: &TaskRow,
        earliest: i64,
        partial: &[&FileTask],
        odd: &[Odd],
        odd_unkept: u64,
    ) -> Doubt {
        let mut why = Vec::new();
        for remote in partial {
            if remote.created_at.as_millisecond() >= earliest
                && echo_of(remote.parameters.as_ref(), &task.template, &task.parameters)
                    == Echo::Partial
            {
                why.push(format!(
                    "listed task {} echoes this request only in part (a parameter dropped or a date in another zone)",
                    remote.uuid
                ));
            }
        }
        for item in odd {
            let recent = item
                .created_at
                .is_none_or(|t| t.as_millisecond() >= earliest);
            let echo = echo_of(item.parameters.as_ref(), &task.template, &task.parameters);
            if recent && echo != Echo::Other {
                let uuid = item.uuid.as_deref().unwrap_or("without a uuid");
                why.push(format!(
                    "listed item {uuid} does not decode ({}) and may be this request's task",
                    item.reason
                ));
            }
        }
        if odd_unkept > 0 {
            why.push(format!("{odd_unkept} more listed items did not decode"));
        }
        Doubt(why)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The operator's message: why the period waits, and the ways out.
    pub(super) fn message(&self, id: i64) -> String {
        let shown: Vec<&str> = self.0.iter().take(3).map(String::as_str).collect();
        let more = self.0.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        format!(
            "held for an operator: an earlier create may have made this period's task, and the server's list cannot tell: {}{more}. Nothing is created for the period until an operator decides: `gcore-reportd retry {id}` searches the server again; `gcore-reportd retry --create {id}` creates a new task (when Gcore's own list shows none for this period)",
            shown.join("; ")
        )
    }
}

impl Reconciler {
    /// The listed tasks whose echo is exactly a request this database tracks, with that
    /// request: such a task is that request's (adopted by its own reconcile, perhaps in a later
    /// step), never another request's task nor doubt about one. An echo with a parameter the
    /// server adds by default matches no tracked request and is judged by [`echo_of`] alone.
    pub(super) async fn tracked_echoes<'r>(
        &self,
        template: &str,
        listed: &[&'r FileTask],
    ) -> Result<HashMap<&'r str, String>, EngineError> {
        let requests: Vec<String> = listed
            .iter()
            .map(|remote| {
                let mut echoed = remote.parameters.clone().unwrap_or_default();
                echoed.remove("type");
                canonical_request(template, &echoed)
            })
            .collect();
        let keys: Vec<&str> = requests.iter().map(String::as_str).collect();
        let tracked = self.shared.store.tracked_requests(&keys).await?;
        Ok(listed
            .iter()
            .zip(requests)
            .zip(tracked)
            .filter(|(_, tracked)| *tracked)
            .map(|((remote, request), _)| (remote.uuid.as_str(), request))
            .collect())
    }
}
