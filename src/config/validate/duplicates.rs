//! Reports that would collide: the same request (template, parameters, date_to style) for
//! periods that can coincide. The database tracks one task per request (a task is its
//! request), so the second report would never get its own. Two formats of one report are two
//! reports with other parameters, or one report and a hook that converts the file.
//! [`super::unique`] finds the reports making a request; this file says what a request is.

use crate::config::*;

/// One request a report makes, apart from its dates.
pub(super) struct Request<'a> {
    template: &'a str,
    /// The parameters, serialised (names in order).
    parameters: String,
    exclusive: bool,
}

impl Request<'_> {
    /// What two requests are compared (and hashed) by.
    pub(super) fn key(&self) -> (&str, &str, bool) {
        (self.template, &self.parameters, self.exclusive)
    }
}

/// How many requests a report makes: one, or one per client of a fixed list.
pub(super) fn request_count(report: &ReportConfig) -> usize {
    match report.clients.as_ref().and_then(Clients::fixed) {
        Some(ids) => ids.len(),
        None => 1,
    }
}

/// The `k`th request a report makes (`k` < [`request_count`]). A report per client asks each
/// client's `client_id`; "all" makes the requests of no report but another "all" of the same
/// template.
pub(super) fn request_at(report: &ReportConfig, k: usize) -> Request<'_> {
    let with_client = |client: serde_json::Value| {
        let mut parameters = report.parameters.to_map();
        parameters.insert("client_id".into(), client);
        serde_json::Value::Object(parameters).to_string()
    };
    let parameters = match report.clients.as_ref().map(Clients::fixed) {
        None => serde_json::to_string(&report.parameters).unwrap_or_default(),
        Some(None) => with_client("\u{0}all".into()),
        Some(Some(ids)) => with_client(ids.get(k).copied().unwrap_or_default().into()),
    };
    Request {
        template: &report.template,
        parameters,
        exclusive: report.date_to_style == DateToStyle::Exclusive,
    }
}

/// Whether two period kinds can yield the same dates (month-to-date on the 2nd is the 1st's
/// day, on the 1st the whole previous month).
pub(super) fn can_coincide(a: PeriodKind, b: PeriodKind) -> bool {
    use PeriodKind::{MonthToDate, PreviousDay, PreviousMonth};
    a == b
        || matches!(
            (a, b),
            (MonthToDate, PreviousDay | PreviousMonth) | (PreviousDay | PreviousMonth, MonthToDate)
        )
}
