//! A report per client: which periods fall due for which client. Each client catches up on
//! its own, exactly as a report does (see `scheduler::periods_due`): from its newest period
//! tracked under the request the config makes now for it, else (a client new to the list, or
//! a changed request) its most recent due period only, or every one since `catch_up_from`. A
//! client absent from the list gets nothing new; its unfinished tasks finish as they are.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::Timestamp;

use super::catch_up::period_covering;
use super::scheduler::{client_request_of, periods_due};
use crate::config::ReportConfig;
use crate::period::Period;
use crate::store::{NewestClientRequest, Store, StoreError};

/// The clients to record due periods for, per fan-out report (by name), as listed this pass.
#[derive(Debug, Clone, Default)]
pub struct ClientLists(HashMap<String, Arc<[i64]>>);

impl ClientLists {
    pub fn insert(&mut self, report: &str, clients: Arc<[i64]>) {
        self.0.insert(report.to_string(), clients);
    }

    /// (report name, its clients).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<[i64]>)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every (client, period) of `report` due at `at` for `clients`, oldest period first per
/// client. The periods depend on a client only through where it catches up from, so they are
/// worked out once per distinct start, not once per client.
pub(super) async fn client_periods(
    store: &Store,
    report: &ReportConfig,
    clients: &[i64],
    at: Timestamp,
) -> Result<Vec<(i64, Period)>, StoreError> {
    let mut newest: HashMap<i64, Vec<NewestClientRequest>> = HashMap::new();
    for row in store.newest_client_requests(&report.name).await? {
        newest.entry(row.client_id).or_default().push(row);
    }
    let mut by_start: HashMap<Option<Date>, Vec<Period>> = HashMap::new();
    let mut due = Vec::new();
    for &client in clients {
        let start = newest.get(&client).and_then(|rows| {
            let row = rows.iter().find(|row| asks_the_same(report, client, row))?;
            row.period_from.parse::<Date>().ok()
        });
        let periods = by_start
            .entry(start)
            .or_insert_with(|| periods_due(report, start, at));
        due.extend(periods.iter().map(|p| (client, *p)));
    }
    Ok(due)
}

/// Whether the config asks for `client` exactly what `row`'s task asks (see
/// `catch_up::asks_the_same`). A client whose newest task asks otherwise starts again from its
/// most recent due period, as a changed report does.
fn asks_the_same(report: &ReportConfig, client: i64, row: &NewestClientRequest) -> bool {
    period_covering(report, &row.period_from, &row.period_to).is_some_and(|period| {
        period.date_to(report.date_to_style).to_string() == row.period_to
            && client_request_of(report, Some(client), &period) == row.request
    })
}

/// For a fan-out report, the `client_id` a task's canonical request asks (to hold the config
/// against that client's request); `None` for any other report.
pub(super) fn fan_out_client(report: &ReportConfig, request: &str) -> Option<i64> {
    report.clients.as_ref()?;
    let request: serde_json::Value = serde_json::from_str(request).ok()?;
    request["parameters"]["client_id"].as_i64()
}
