//! Reports that would collide: the same request (template, parameters, date_to style) for
//! periods that can coincide. The database tracks one task per request, so the second report
//! would never get its own.

use std::collections::HashMap;

use crate::config::*;

/// Reports already seen, by what they ask apart from the dates: (template, parameters,
/// date_to style) → (name, period kind) of each.
type Requests = HashMap<(String, String, bool), Vec<(String, PeriodKind)>>;

/// Refuses a report that makes the same request as an earlier one for some period: the
/// database tracks one task per request (a task is its request), so the second report would
/// never get its own. Two formats of one report are two reports with other parameters, or one
/// report and a hook that converts the file.
pub(super) fn check_same_request(
    i: usize,
    report: &ReportConfig,
    seen: &mut Requests,
) -> Result<(), ConfigError> {
    // A report per client asks each client's `client_id`: a fixed list makes the requests of
    // one-client reports, "all" those of no report but another "all" of the same template.
    let with_client = |client: serde_json::Value| {
        let mut parameters = report.parameters.to_map();
        parameters.insert("client_id".into(), client);
        serde_json::Value::Object(parameters).to_string()
    };
    match report.clients.as_ref().map(Clients::fixed) {
        None => {
            let parameters = serde_json::to_string(&report.parameters).unwrap_or_default();
            check_request(i, report, parameters, seen)
        }
        Some(None) => check_request(i, report, with_client("\u{0}all".into()), seen),
        Some(Some(ids)) => (ids.iter())
            .try_for_each(|id| check_request(i, report, with_client((*id).into()), seen)),
    }
}

/// Refuses `report` if an earlier report makes the request of `parameters` (serialised) for
/// a period that can coincide.
fn check_request(
    i: usize,
    report: &ReportConfig,
    parameters: String,
    seen: &mut Requests,
) -> Result<(), ConfigError> {
    let exclusive = report.date_to_style == DateToStyle::Exclusive;
    let key = (report.template.clone(), parameters, exclusive);
    // Nearly every request is made by one report: room for one (a default Vec grows to four,
    // 1.3 MB with 10,000 reports, at the start's peak).
    let same = seen.entry(key).or_insert_with(|| Vec::with_capacity(1));
    if let Some((other, _)) = same
        .iter()
        .find(|(_, kind)| can_coincide(*kind, report.period))
    {
        return Err(ConfigError::invalid(
            format!("reports[{i}].template"),
            format!(
                "report {:?} asks the same as report {other:?} (template, parameters and period): a task is its request, so only one of them would get it; merge them (a hook can convert the file into another format)",
                report.name
            ),
        ));
    }
    same.push((report.name.clone(), report.period));
    Ok(())
}

/// Whether two period kinds can yield the same dates (month-to-date on the 2nd is the 1st's
/// day, on the 1st the whole previous month).
fn can_coincide(a: PeriodKind, b: PeriodKind) -> bool {
    use PeriodKind::{MonthToDate, PreviousDay, PreviousMonth};
    a == b
        || matches!(
            (a, b),
            (MonthToDate, PreviousDay | PreviousMonth) | (PreviousDay | PreviousMonth, MonthToDate)
        )
}
