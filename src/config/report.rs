//! One configured report ([`ReportConfig`]) as the engine reads it: the request it makes, its
//! schedule and period, what is done with its files, and the commands run when its tasks end.
//! The commands live behind one optional box ([`Hooks`]), so the many reports without any cost
//! a pointer each.

use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{Clients, Parameters};
use crate::format::ReportFormat;
use crate::period::{DateToStyle, PeriodKind};
use crate::schedule::Schedule;

/// One configured report request, with `[defaults]` and built-in defaults applied. Kept small,
/// as a config may hold 10,000: with its hooks and their timeout inline and its lists as
/// `Vec`s it was 312 bytes, now 216 (the scale benchmark's peak RSS at N = 10,000 fell by about
/// 1 MB with it).
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub name: String,
    pub template: String,
    pub format: ReportFormat,
    pub period: PeriodKind,
    pub date_to_style: DateToStyle,
    pub schedule: Schedule,
    pub timezone: TimeZone,
    pub catch_up_from: Option<Date>,
    pub file_name: String,
    pub max_attempts: u32,
    pub resubmit_lost: bool,
    pub parameters: Parameters,
    /// Its commands, if any is set (most reports have none); see the accessors below.
    pub hooks: Option<Box<Hooks>>,
    /// Without `catch_up_from`, the most periods created after the report's newest task in one
    /// pass (a longer gap warns, and its newest periods are created).
    pub max_catch_up_periods: u32,
    /// How the downloaded bytes are checked before they are delivered.
    pub verify: crate::verify::Strictness,
    /// What an empty report (a header, no data rows) leads to.
    pub on_empty: OnEmpty,
    /// Offsets after the period's first delivery at which it is requested again, ascending.
    pub refresh: Box<[Duration]>,
    /// Fan-out: one task per (client, period) for these clients (`None`: one per period).
    pub clients: Option<Clients>,
    /// The `[destinations.NAME]` its files are also delivered to.
    pub destinations: Box<[String]>,
}

/// A report's `on_empty` policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnEmpty {
    /// Deliver it, marked empty.
    #[default]
    Deliver,
    /// Do not deliver it; the period is asked again at its next refresh.
    Refetch,
}

impl OnEmpty {
    pub fn as_str(self) -> &'static str {
        match self {
            OnEmpty::Deliver => "deliver",
            OnEmpty::Refetch => "refetch",
        }
    }
}

/// A report's commands (argv, no shell) and how long each may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooks {
    /// Run after the file is downloaded.
    pub on_success: Box<[String]>,
    /// Run when the task ends failed, expired or lost.
    pub on_failure: Box<[String]>,
    /// Run when a refresh brought a file that differs from the current one.
    pub on_restated: Box<[String]>,
    pub timeout: Duration,
}

/// How long a command may run unless `hook_timeout` says otherwise.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

impl Hooks {
    /// The hooks as a report holds them: `None` when no command is set and the timeout is the
    /// default (nothing would tell it from one that has none).
    pub fn boxed(self) -> Option<Box<Hooks>> {
        let none = self.on_success.is_empty()
            && self.on_failure.is_empty()
            && self.on_restated.is_empty()
            && self.timeout == DEFAULT_HOOK_TIMEOUT;
        (!none).then(|| Box::new(self))
    }
}

impl ReportConfig {
    /// The command run after the file is downloaded (empty: none).
    pub fn on_success(&self) -> &[String] {
        self.hooks.as_deref().map_or(&[], |h| &h.on_success)
    }

    /// The command run when a task ends failed, expired or lost (empty: none).
    pub fn on_failure(&self) -> &[String] {
        self.hooks.as_deref().map_or(&[], |h| &h.on_failure)
    }

    /// The command run when a refresh brought a different file (empty: none).
    pub fn on_restated(&self) -> &[String] {
        self.hooks.as_deref().map_or(&[], |h| &h.on_restated)
    }

    /// How long each of its commands may run.
    pub fn hook_timeout(&self) -> Duration {
        self.hooks
            .as_deref()
            .map_or(DEFAULT_HOOK_TIMEOUT, |h| h.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_report_configs_fit_in_about_two_megabytes() {
        let size = std::mem::size_of::<ReportConfig>();
        assert!(size <= 216, "ReportConfig is {size} bytes");
    }
}
