//! Configuration changes at scheduling time: the unfinished tasks of a renamed report are
//! carried over to its new name (the same request), a due period is asked unless its exact
//! request is tracked (a changed request is a new request), and the report settings a task
//! keeps so that it finishes under them once its report is removed from the config.

use super::scheduler::new_task;
use crate::config::{Config, ReportConfig};
use crate::store::{canonical_request, NewTask, Store, StoreError};

/// The report settings a task keeps (JSON in its row), so that it finishes under them when its
/// report is removed from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskSettings {
    pub max_attempts: u32,
    pub resubmit_lost: bool,
}

impl TaskSettings {
    /// The built-in defaults, for a task recorded before settings were kept.
    pub const DEFAULT: TaskSettings = TaskSettings {
        max_attempts: 3,
        resubmit_lost: false,
    };

    pub fn of(report: &ReportConfig) -> TaskSettings {
        TaskSettings {
            max_attempts: report.max_attempts,
            resubmit_lost: report.resubmit_lost,
        }
    }

    pub fn to_json(self) -> String {
        serde_json::to_string(&self).unwrap_or_default()
    }

    /// Settings as stored; `None` for a missing or unreadable value.
    pub fn parse(json: Option<&str>) -> Option<TaskSettings> {
        serde_json::from_str(json?).ok()
    }
}

/// Unfinished tasks of a report that is no longer configured, whose request a configured report
/// makes (a renamed report): carried over to that report's name, format and file name.
pub(super) async fn carry_over_unfinished(
    store: &Store,
    config: &Config,
    now: i64,
) -> Result<(), StoreError> {
    let mut news = Vec::new();
    for (_, report, from, to, template) in store.unfinished_periods().await? {
        if config.report(&report).is_some() {
            continue;
        }
        let candidates = config.reports.iter().filter(|r| r.template == template);
        for candidate in candidates {
            if let Some(period) = super::period_covering(candidate, &from, &to) {
                news.push(new_task(candidate, &period, config.polling.deadline, now));
            }
        }
    }
    if news.is_empty() {
        return Ok(());
    }
    let moved = store.carry_over(&news, now).await?;
    if moved > 0 {
        tracing::info!(
            moved,
            "unfinished tasks of a renamed report carried over to its new name"
        );
    }
    Ok(())
}

/// The due periods whose exact request has no task yet. A changed request (template,
/// parameters, period kind, `date_to_style`) is a new request, asked even for a period its
/// report tracks under the old one; a month-to-date period is tracked only with its own
/// `date_to` (the request carries it), as before.
pub(super) async fn untracked(store: &Store, news: &[NewTask]) -> Result<Vec<NewTask>, StoreError> {
    let requests: Vec<String> = news
        .iter()
        .map(|n| canonical_request(&n.template, &n.parameters))
        .collect();
    let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
    let tracked = store.tracked_requests(&requests).await?;
    Ok(news
        .iter()
        .zip(tracked)
        .filter(|(_, tracked)| !tracked)
        .map(|(n, _)| n.clone())
        .collect())
}
