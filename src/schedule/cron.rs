//! Cron lines: parsing a 5-field line with `croner` (seconds and years refused, lines that
//! never fire refused) and searching its wall-clock fire times, which croner evaluates as
//! naive-as-UTC values (UTC has no gaps or folds).

use std::fmt;

use chrono::{Datelike as _, Timelike as _};
use croner::parser::{CronParser, Seconds, Year};
use jiff::civil::{DateTime, Time};
use jiff::ToSpan;

use super::ScheduleError;

/// A parsed 5-field cron line (minute hour day-of-month month day-of-week), as accepted by
/// `croner`: names (`MON`, `JAN`), ranges, steps, `L`, `W`, `#` and `@daily`-style nicknames.
/// When both day fields are restricted, a day matching either fires (classic cron).
#[derive(Debug, Clone, PartialEq)]
pub struct CronLine {
    text: String,
    cron: Box<croner::Cron>,
}
impl CronLine {
    /// Parses a 5-field cron line; rejects 6- and 7-field lines (seconds, years) and lines
    /// that can never fire.
    pub fn parse(line: &str) -> Result<CronLine, ScheduleError> {
        let text = line.trim();
        let fields = text.split_whitespace().count();
        if !text.starts_with('@') && fields != 5 {
            let line = text.to_string();
            return Err(ScheduleError::CronFieldCount { line, fields });
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(text).map_err(|e| ScheduleError::CronInvalid {
            line: text.to_string(),
            reason: e.to_string(),
        })?;
        let parsed = CronLine {
            text: text.to_string(),
            cron: Box::new(cron),
        };
        let probe = jiff::civil::date(2000, 1, 1).to_datetime(Time::midnight());
        match parsed.first_at_or_after(probe) {
            Some(_) => Ok(parsed),
            None => Err(ScheduleError::CronNeverFires {
                line: text.to_string(),
            }),
        }
    }

    /// The line as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first wall-clock time at or after `from` matching the line.
    pub(super) fn first_at_or_after(&self, from: DateTime) -> Option<DateTime> {
        let whole = from.with().subsec_nanosecond(0).build().ok()?;
        // Cron times are whole seconds: the first one at or after `from` is at or after ceil(from).
        let from = if whole < from {
            whole.checked_add(1.second()).ok()?
        } else {
            whole
        };
        let next = self.cron.find_next_occurrence(&to_chrono(from)?, true);
        from_chrono(next.ok()?)
    }

    /// The last wall-clock time at or before `until` matching the line.
    pub(super) fn last_at_or_before(&self, until: DateTime) -> Option<DateTime> {
        let until = to_chrono(until.with().subsec_nanosecond(0).build().ok()?)?;
        from_chrono(self.cron.find_previous_occurrence(&until, true).ok()?)
    }
}

impl fmt::Display for CronLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A wall-clock time as the naive-as-UTC value croner evaluates (UTC has no gaps or folds).
pub(super) fn to_chrono(dt: DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    let month = u32::try_from(dt.month()).ok()?;
    let day = u32::try_from(dt.day()).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(i32::from(dt.year()), month, day)?;
    let (hour, minute) = (
        u32::try_from(dt.hour()).ok()?,
        u32::try_from(dt.minute()).ok()?,
    );
    let second = u32::try_from(dt.second()).ok()?;
    Some(date.and_hms_opt(hour, minute, second)?.and_utc())
}

/// The inverse of [`to_chrono`]; `None` outside jiff's range.
pub(super) fn from_chrono(dt: chrono::DateTime<chrono::Utc>) -> Option<DateTime> {
    let n = dt.naive_utc();
    let small = |v: u32| i8::try_from(v).ok();
    let year = i16::try_from(n.year()).ok()?;
    let (month, day) = (small(n.month())?, small(n.day())?);
    let (hour, minute, second) = (small(n.hour())?, small(n.minute())?, small(n.second())?);
    DateTime::new(year, month, day, hour, minute, second, 0).ok()
}
