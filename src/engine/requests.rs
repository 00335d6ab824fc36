//! What the config asks for one period of a report (of one client, for a report per client):
//! the intent row recorded for it and its canonical request, its identity. The `parameters`
//! sent are the report's own, the period's `date_from` and `date_to`, and a fan-out report's
//! `client_id`; the file name is the report's `file_name` filled in for them.

use std::time::Duration;

use crate::config::ReportConfig;
use crate::format::ReportFormat;
use crate::naming::{self, NameParts};
use crate::period::Period;
use crate::store::{canonical_request, NewTask, Parameters};

/// The intent row for one period of a report: what the config asks for it.
pub fn new_task(report: &ReportConfig, period: &Period, deadline: Duration, now: i64) -> NewTask {
    new_client_task(report, None, period, deadline, now)
}

/// The intent row for one period of a report for `client` (a fan-out report's), or for the
/// report itself (`None`).
pub fn new_client_task(
    report: &ReportConfig,
    client: Option<i64>,
    period: &Period,
    deadline: Duration,
    now: i64,
) -> NewTask {
    let from = period.from.to_string();
    let to = period.date_to(report.date_to_style).to_string();
    let parameters = period_parameters(report, client, &from, &to);
    let mut new = intent(
        &report.name,
        &report.template,
        report.format,
        &report.file_name,
        parameters,
        (from, to),
        deadline,
        now,
    );
    new.settings = Some(super::carry::TaskSettings::of(report).to_json());
    new
}

/// The canonical request the config makes for one period of a report: its identity.
pub fn request_of(report: &ReportConfig, period: &Period) -> String {
    client_request_of(report, None, period)
}

/// The canonical request for one period of a report for `client` (see [`new_client_task`]).
pub fn client_request_of(report: &ReportConfig, client: Option<i64>, period: &Period) -> String {
    let from = period.from.to_string();
    let to = period.date_to(report.date_to_style).to_string();
    canonical_request(
        &report.template,
        &period_parameters(report, client, &from, &to),
    )
}

/// The `parameters` sent on create: the report's own, plus `date_from` and `date_to`, and a
/// fan-out report's `client_id` (an integer, as the template declares it).
fn period_parameters(
    report: &ReportConfig,
    client: Option<i64>,
    from: &str,
    to: &str,
) -> Parameters {
    let mut parameters = report.parameters.to_map();
    if let Some(client) = client {
        parameters.insert("client_id".into(), client.into());
    }
    parameters.insert("date_from".into(), from.into());
    parameters.insert("date_to".into(), to.into());
    parameters
}

/// Builds an intent row: file name rendered, parameters serialised, a placeholder deadline (the
/// create's mark sets the attempt's; see `Store::begin_creates`).
#[allow(clippy::too_many_arguments)]
pub(super) fn intent(
    name: &str,
    template: &str,
    format: ReportFormat,
    file_template: &str,
    parameters: serde_json::Map<String, serde_json::Value>,
    (from, to): (String, String),
    deadline: Duration,
    now: i64,
) -> NewTask {
    let client_id = parameters
        .get("client_id")
        .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string))
        .unwrap_or_default();
    let file_name = naming::render(
        file_template,
        &NameParts {
            name,
            template,
            client_id: &client_id,
            date_from: &from,
            date_to: &to,
            format: format.as_str(),
        },
    );
    NewTask {
        report: name.to_string(),
        period_from: from,
        period_to: to,
        template: template.to_string(),
        format,
        parameters,
        file_name,
        deadline_at: crate::clock::after(now, deadline),
        refresh: 0,
        settings: Some(super::carry::TaskSettings::DEFAULT.to_json()),
    }
}
