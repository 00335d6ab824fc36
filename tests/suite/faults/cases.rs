//! The transient-fault matrix's cases: what one case switches on and expects, and how each
//! fault is seen to have fired in the recorded exchanges and remote tasks.

use crate::common;
use gcore_reportd_sim::{Exchange, Faults, SimTask};
use serde_json::Value;

/// One case of the transient-fault matrix.
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) faults: Faults,
    /// `[defaults]` lines for every report.
    pub(super) defaults: &'static str,
    /// Remote tasks each period ends up with (more than one when tasks fail remotely).
    pub(super) remote_per_period: usize,
    /// Local attempts each period ends up with.
    pub(super) attempts: u64,
    /// The reports (default: 12 periods in three formats) and how many periods they make.
    pub(super) reports: Option<(String, usize)>,
    /// How many times the fault visibly fired, from the recorded exchanges and remote tasks.
    pub(super) fired: fn(&[Exchange], &[SimTask]) -> usize,
}

pub(super) fn server_errors(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter().filter(|e| e.status >= 500).count()
}

pub(super) fn cut_bodies(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter().filter(|e| e.aborted).count()
}

pub(super) fn cut_downloads(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| e.aborted && e.path.ends_with("/download"))
        .count()
}

pub(super) fn empty_bodies(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| (200..300).contains(&e.status) && e.response_body.is_empty() && !e.aborted)
        .count()
}

pub(super) fn html_downloads(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| {
            e.status == 200
                && e.path.ends_with("/download")
                && e.response_content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("text/html"))
        })
        .count()
}

pub(super) fn unparsable_json(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| {
            e.status == 200
                && e.response_content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("application/json"))
                && !e.path.ends_with("/download")
                && serde_json::from_slice::<Value>(&e.response_body).is_err()
        })
        .count()
}

pub(super) fn unknown_statuses(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| String::from_utf8_lossy(&e.response_body).contains("\"Exploded\""))
        .count()
}

pub(super) fn remote_failures(_: &[Exchange], tasks: &[SimTask]) -> usize {
    tasks.iter().filter(|t| t.status == "Failed").count()
}

pub(super) fn batched_polls(x: &[Exchange], _: &[SimTask]) -> usize {
    // Reconciliation lists filter by template; batched status polls do not.
    x.iter()
        .filter(|e| e.method == "GET" && e.path == "/billing/org/v1/reports")
        .filter(|e| !e.query.as_deref().unwrap_or("").contains("template="))
        .count()
}

pub(super) fn any_fault(x: &[Exchange], t: &[SimTask]) -> usize {
    server_errors(x, t) + cut_bodies(x, t) + unparsable_json(x, t) + unknown_statuses(x, t)
}

/// `months` months of catch-up: enough polling tasks due at once for batched status polls.
pub(super) fn many_periods(months: i64) -> String {
    let back = common::months_back(months);
    format!(
        r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
catch_up_from = "{back}"
day = 1
"#
    )
}
