//! When report periods become due. This module owns the report schedules (`monthly` on a day
//! at a wall-clock time, or a 5-field cron line), their fire times in a time zone, and
//! [`due_periods`], which turns fire times into the [`Period`](crate::period::Period)s a
//! report must cover.
//!
//! Schedules are evaluated on wall-clock (civil) time, then each civil fire time is placed in
//! the report's time zone. Across daylight-saving changes:
//!
//! * a wall time that does not exist (spring forward, e.g. 02:30 on 2026-03-29 in
//!   Europe/Berlin) fires at the first instant after the gap (03:00 local);
//! * a wall time that exists twice (fall back) fires once, at the earlier of the two.
//!
//! Fire times that land on the same instant are reported once. Mapping wall time to instants
//! this way never reorders fire times, which the searches below rely on.

mod cron;
mod due;
mod fire;
#[cfg(test)]
mod tests;
mod wall;

use std::fmt;
use std::str::FromStr;

use jiff::civil::Time;

pub use cron::CronLine;
pub use due::due_periods;

/// How far back [`Schedule::last_fire_at_or_before`] looks for a fire time, in days.
pub const LOOKBACK_DAYS: i64 = 400;

/// The day of the month a `monthly` schedule fires on unless it names one: Gcore collects the
/// previous month's consumption on the 2nd and advises generating monthly reports from then.
pub const DEFAULT_MONTHLY_DAY: u8 = 2;

/// When a report is created: its schedule, in local wall-clock time.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Once a month on `day` (1..=28, see [`Schedule::monthly`]) at wall-clock time `at`. A
    /// value built directly with a larger day skips the months that lack it.
    Monthly { day: u8, at: Time },
    /// A standard 5-field cron line: minute hour day-of-month month day-of-week.
    Cron(CronLine),
}

/// Why a schedule was refused. Every message says what is expected instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "{given:?} is not a schedule: expected \"monthly\" or \"cron: MINUTE HOUR DAY-OF-MONTH \
         MONTH DAY-OF-WEEK\", e.g. \"cron: 0 6 1 * *\""
    )]
    Unrecognized { given: String },
    #[error(
        "day {day} is out of range for a monthly schedule: expected 1..=28 so that every month \
         has it (for the last day of the month use schedule = \"cron: 0 6 L * *\")"
    )]
    DayOutOfRange { day: u8 },
    #[error(
        "cron line {line:?} has {fields} field(s): expected exactly 5 (minute hour day-of-month \
         month day-of-week); seconds and years are not supported"
    )]
    CronFieldCount { line: String, fields: usize },
    #[error(
        "cron line {line:?} is not valid ({reason}): expected 5 fields, minute hour \
         day-of-month month day-of-week, e.g. \"0 6 1 * *\""
    )]
    CronInvalid { line: String, reason: String },
    #[error(
        "cron line {line:?} never fires (it names a day no month has, such as February 30th): \
         pick a day that exists in the chosen months"
    )]
    CronNeverFires { line: String },
}
impl FromStr for Schedule {
    type Err = ScheduleError;

    /// Accepts `monthly` ([`DEFAULT_MONTHLY_DAY`] at 00:00; apply a configured day and time with
    /// [`Schedule::monthly`]) and `cron: <5 fields>`, e.g. `cron: 0 6 1 * *`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text == "monthly" {
            return Ok(Schedule::Monthly {
                day: DEFAULT_MONTHLY_DAY,
                at: Time::midnight(),
            });
        }
        match text.strip_prefix("cron:") {
            Some(line) => Ok(Schedule::Cron(CronLine::parse(line)?)),
            None => Err(ScheduleError::Unrecognized {
                given: s.to_string(),
            }),
        }
    }
}

impl fmt::Display for Schedule {
    /// `monthly on day 1 at 06:00:00`, or `cron: 0 6 1 * *` (which parses back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Monthly { day, at } => write!(f, "monthly on day {day} at {at}"),
            Schedule::Cron(line) => write!(f, "cron: {line}"),
        }
    }
}

impl Schedule {
    /// A monthly schedule on `day` (1..=28, so that every month has it) at wall-clock `at`.
    pub fn monthly(day: u8, at: Time) -> Result<Schedule, ScheduleError> {
        if (1..=28).contains(&day) {
            Ok(Schedule::Monthly { day, at })
        } else {
            Err(ScheduleError::DayOutOfRange { day })
        }
    }
}
