//! When report periods become due. This module owns the report schedules (`monthly` on a day
//! at a wall-clock time, or a 5-field cron line), their fire times in a time zone, and
//! [`due_periods`], which turns fire times into the [`Period`]s a report must cover.
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

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike as _, Timelike as _};
use croner::parser::{CronParser, Seconds, Year};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

use crate::period::{Period, PeriodKind};

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

/// A parsed 5-field cron line (minute hour day-of-month month day-of-week), as accepted by
/// `croner`: names (`MON`, `JAN`), ranges, steps, `L`, `W`, `#` and `@daily`-style nicknames.
/// When both day fields are restricted, a day matching either fires (classic cron).
#[derive(Debug, Clone, PartialEq)]
pub struct CronLine {
    text: String,
    cron: Box<croner::Cron>,
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
    fn first_at_or_after(&self, from: DateTime) -> Option<DateTime> {
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
    fn last_at_or_before(&self, until: DateTime) -> Option<DateTime> {
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
fn to_chrono(dt: DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
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
fn from_chrono(dt: chrono::DateTime<chrono::Utc>) -> Option<DateTime> {
    let n = dt.naive_utc();
    let small = |v: u32| i8::try_from(v).ok();
    let year = i16::try_from(n.year()).ok()?;
    let (month, day) = (small(n.month())?, small(n.day())?);
    let (hour, minute, second) = (small(n.hour())?, small(n.minute())?, small(n.second())?);
    DateTime::new(year, month, day, hour, minute, second, 0).ok()
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

    /// Fire times in `[start, end]`, oldest first, evaluated in time zone `tz` (see the module
    /// documentation for daylight-saving changes). Empty when `end < start`.
    pub fn fire_times_between(
        &self,
        tz: &TimeZone,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<Timestamp> {
        let mut fires = Vec::new();
        let mut civil = self.first_civil_at_or_after(first_civil_reaching(tz, start));
        while let Some(wall) = civil {
            let Some(at) = instant_of(tz, wall) else {
                break;
            };
            if at > end {
                break;
            }
            if at >= start && fires.last() != Some(&at) {
                fires.push(at);
            }
            civil = self.first_civil_after(wall);
        }
        fires
    }

    /// The most recent fire time at or before `now`, if there is one within the last
    /// [`LOOKBACK_DAYS`] days.
    pub fn last_fire_at_or_before(&self, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
        let horizon = tz.to_datetime(now).saturating_sub(LOOKBACK_DAYS.days());
        let mut civil = self.last_civil_at_or_before(last_civil_reaching(tz, now));
        while let Some(wall) = civil {
            if wall < horizon {
                return None;
            }
            match instant_of(tz, wall) {
                Some(at) if at <= now => return Some(at),
                _ => civil = self.last_civil_at_or_before(wall.checked_sub(1.nanosecond()).ok()?),
            }
        }
        None
    }

    /// The next fire time strictly after `now`; `None` only at the end of the date range.
    pub fn next_fire_after(&self, tz: &TimeZone, now: Timestamp) -> Option<Timestamp> {
        // Every wall time up to now's own maps to an instant at or before now.
        let mut civil = self.first_civil_after(tz.to_datetime(now));
        while let Some(wall) = civil {
            let at = instant_of(tz, wall)?;
            if at > now {
                return Some(at);
            }
            civil = self.first_civil_after(wall);
        }
        None
    }

    /// The local dates (in `tz`) on which the schedule fires within `[start, end]`, oldest
    /// first. Visits one fire time per local day, so a frequent cron stays cheap.
    fn fire_dates_between(&self, tz: &TimeZone, start: Timestamp, end: Timestamp) -> Vec<Date> {
        let mut dates: Vec<Date> = Vec::new();
        let mut civil = self.first_civil_at_or_after(first_civil_reaching(tz, start));
        while let Some(wall) = civil {
            let Some(at) = instant_of(tz, wall) else {
                break;
            };
            if at > end {
                break;
            }
            if at < start {
                civil = self.first_civil_after(wall);
                continue;
            }
            let date = tz.to_datetime(at).date();
            if dates.last() != Some(&date) {
                dates.push(date);
            }
            civil = self.first_civil_on_a_later_day(tz, date, wall);
        }
        dates
    }

    /// The first wall-clock fire time after `wall` whose instant can fall on a local day after
    /// `date` (the local date `wall` fired on); skips the rest of that day's fire times.
    fn first_civil_on_a_later_day(
        &self,
        tz: &TimeZone,
        date: Date,
        wall: DateTime,
    ) -> Option<DateTime> {
        let next_day = date.tomorrow().ok().and_then(|d| start_of_day(tz, d));
        match next_day.map(|t| first_civil_reaching(tz, t)) {
            Some(resume) if resume > wall => self.first_civil_at_or_after(resume),
            _ => self.first_civil_after(wall),
        }
    }

    /// The first wall-clock fire time at or after `from`.
    fn first_civil_at_or_after(&self, from: DateTime) -> Option<DateTime> {
        match self {
            Schedule::Monthly { day, at } => monthly_first_at_or_after(*day, *at, from),
            Schedule::Cron(line) => line.first_at_or_after(from),
        }
    }

    /// The first wall-clock fire time strictly after `wall`.
    fn first_civil_after(&self, wall: DateTime) -> Option<DateTime> {
        self.first_civil_at_or_after(wall.checked_add(1.nanosecond()).ok()?)
    }

    /// The last wall-clock fire time at or before `until`.
    fn last_civil_at_or_before(&self, until: DateTime) -> Option<DateTime> {
        match self {
            Schedule::Monthly { day, at } => monthly_last_at_or_before(*day, *at, until),
            Schedule::Cron(line) => line.last_at_or_before(until),
        }
    }
}

/// Months searched before giving up on a monthly day (only a hand-built day > 31 needs it).
const MONTHS_SEARCHED: usize = 13;

fn monthly_first_at_or_after(day: u8, at: Time, from: DateTime) -> Option<DateTime> {
    let mut month = from.date().first_of_month();
    for _ in 0..MONTHS_SEARCHED {
        match monthly_fire_in(month, day, at) {
            Some(wall) if wall >= from => return Some(wall),
            _ => month = month.checked_add(1.month()).ok()?,
        }
    }
    None
}

fn monthly_last_at_or_before(day: u8, at: Time, until: DateTime) -> Option<DateTime> {
    let mut month = until.date().first_of_month();
    for _ in 0..MONTHS_SEARCHED {
        match monthly_fire_in(month, day, at) {
            Some(wall) if wall <= until => return Some(wall),
            _ => month = month.checked_sub(1.month()).ok()?,
        }
    }
    None
}

/// The monthly fire time in the month starting on `first`, if that month has `day`.
fn monthly_fire_in(first: Date, day: u8, at: Time) -> Option<DateTime> {
    let day = i8::try_from(day).ok()?;
    let date = Date::new(first.year(), first.month(), day).ok()?;
    Some(date.to_datetime(at))
}

/// The instant at which wall-clock time `wall` fires in `tz`: in a gap (spring forward) the
/// first instant after the gap, in a fold (fall back) the earlier of the two.
fn instant_of(tz: &TimeZone, wall: DateTime) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(wall);
    let earlier = ambiguous.earlier().ok()?;
    match ambiguous.offset() {
        // `earlier` lies before the transition that opened the gap; it ends the gap.
        AmbiguousOffset::Gap { .. } => tz.following(earlier).next().map(|t| t.timestamp()),
        _ => Some(earlier),
    }
}

/// The first instant of local day `date` in `tz` (after the gap if midnight is skipped).
fn start_of_day(tz: &TimeZone, date: Date) -> Option<Timestamp> {
    instant_of(tz, date.to_datetime(Time::midnight()))
}

/// The earliest wall time whose instant can be at or after `t`: every earlier wall time fires
/// before `t`. (It is `t`'s own wall time except when `t` ends a gap.)
fn first_civil_reaching(tz: &TimeZone, t: Timestamp) -> DateTime {
    match t.checked_sub(1.nanosecond()) {
        Ok(before) => tz.to_datetime(before).saturating_add(1.nanosecond()),
        Err(_) => tz.to_datetime(t),
    }
}

/// The latest wall time whose instant can be at or before `t`: every later wall time fires
/// after `t`. (It is `t`'s own wall time except in the second pass through a fold.)
fn last_civil_reaching(tz: &TimeZone, t: Timestamp) -> DateTime {
    let wall = tz.to_datetime(t);
    match tz.to_ambiguous_timestamp(wall).offset() {
        AmbiguousOffset::Fold { before, after } => {
            wall.saturating_add(before.duration_since(after))
        }
        _ => wall,
    }
}

/// Periods that are due at `now` for a report. For each fire time `f` in `[window_start, now]`
/// the period `kind.period_for(local date of f in tz)`, deduplicated, oldest first:
///
/// * `catch_up_from == None`: only the period of the most recent fire time at or before `now`
///   (none if the schedule has not fired within [`LOOKBACK_DAYS`] days);
/// * `catch_up_from == Some(d)`: every fire time from the start of day `d` (in `tz`) to `now`,
///   keeping the periods with `from >= d` (none if `d` is after `now`).
pub fn due_periods(
    schedule: &Schedule,
    kind: PeriodKind,
    tz: &TimeZone,
    catch_up_from: Option<Date>,
    now: Timestamp,
) -> Vec<Period> {
    let Some(first) = catch_up_from else {
        let last = schedule.last_fire_at_or_before(tz, now);
        return last
            .map(|at| kind.period_for(tz.to_datetime(at).date()))
            .into_iter()
            .collect();
    };
    let Some(window_start) = start_of_day(tz, first) else {
        return Vec::new();
    };
    let periods: BTreeSet<Period> = schedule
        .fire_dates_between(tz, window_start, now)
        .into_iter()
        .map(|date| kind.period_for(date))
        .filter(|period| period.from >= first)
        .collect();
    periods.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").expect("Europe/Berlin in the system tz database")
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("a valid timestamp in the test")
    }

    fn cron(line: &str) -> Schedule {
        line.parse().expect("a valid cron line in the test")
    }

    #[test]
    fn wall_times_survive_the_round_trip_through_croner_values() {
        for wall in [
            date(2024, 2, 29).at(23, 59, 59, 0),
            date(1, 1, 1).at(0, 0, 0, 0),
            date(9999, 12, 31).at(23, 59, 59, 0),
        ] {
            let there = to_chrono(wall).expect("in chrono's range");
            assert_eq!(from_chrono(there), Some(wall));
        }
    }

    #[test]
    fn a_cron_search_from_a_fraction_of_a_second_rounds_up_to_the_next_whole_second() {
        let Schedule::Cron(line) = cron("cron: 0 6 * * *") else {
            panic!("a cron schedule")
        };
        let just_after = date(2026, 1, 1).at(6, 0, 0, 1);
        assert_eq!(
            line.first_at_or_after(just_after),
            Some(date(2026, 1, 2).at(6, 0, 0, 0))
        );
        assert_eq!(
            line.last_at_or_before(just_after),
            Some(date(2026, 1, 1).at(6, 0, 0, 0))
        );
    }

    #[test]
    fn wall_times_in_a_gap_fire_at_its_end_and_in_a_fold_at_the_first_pass() {
        let tz = berlin();
        #[rustfmt::skip]
        let table = [
            (date(2026, 3, 29).at(1, 59, 59, 0), "2026-03-29T00:59:59Z"),
            (date(2026, 3, 29).at(2, 0, 0, 0), "2026-03-29T01:00:00Z"),
            (date(2026, 3, 29).at(2, 59, 0, 0), "2026-03-29T01:00:00Z"),
            (date(2026, 3, 29).at(3, 0, 0, 0), "2026-03-29T01:00:00Z"),
            (date(2026, 10, 25).at(2, 0, 0, 0), "2026-10-25T00:00:00Z"),
            (date(2026, 10, 25).at(2, 59, 0, 0), "2026-10-25T00:59:00Z"),
            (date(2026, 10, 25).at(3, 0, 0, 0), "2026-10-25T02:00:00Z"),
        ];
        for (wall, expected) in table {
            assert_eq!(instant_of(&tz, wall), Some(ts(expected)), "{wall}");
        }
    }

    #[test]
    fn a_range_starting_where_a_gap_ends_includes_the_fire_time_moved_there() {
        let fires = cron("cron: 30 2 29 3 *").fire_times_between(
            &berlin(),
            ts("2026-03-29T01:00:00Z"),
            ts("2026-03-29T01:00:00Z"),
        );
        assert_eq!(fires, [ts("2026-03-29T01:00:00Z")]);
    }

    #[test]
    fn during_the_second_pass_of_a_fold_the_first_pass_fire_is_the_last_one() {
        let tz = berlin();
        let schedule = cron("cron: 45 2 * * *");
        // 01:30Z is 02:30 CET, the second pass; 02:45 fired in the first pass at 00:45Z.
        let now = ts("2026-10-25T01:30:00Z");
        assert_eq!(
            schedule.last_fire_at_or_before(&tz, now),
            Some(ts("2026-10-25T00:45:00Z"))
        );
        assert_eq!(
            schedule.next_fire_after(&tz, now),
            Some(ts("2026-10-26T01:45:00Z"))
        );
    }

    #[test]
    fn catching_up_from_the_second_pass_of_a_fold_still_sees_that_days_later_fires() {
        let schedule = cron("cron: 45 2,12 * * *");
        // 01:30Z is 02:30 CET (second pass): 02:45 fired before it, 12:45 CET comes after.
        let dates = schedule.fire_dates_between(
            &berlin(),
            ts("2026-10-25T01:30:00Z"),
            ts("2026-10-25T22:00:00Z"),
        );
        assert_eq!(dates, [date(2026, 10, 25)]);
    }

    #[test]
    fn a_hand_built_monthly_day_31_skips_the_months_without_it() {
        let schedule = Schedule::Monthly {
            day: 31,
            at: Time::midnight(),
        };
        let fires = schedule.fire_times_between(
            &TimeZone::UTC,
            ts("2026-01-01T00:00:00Z"),
            ts("2026-06-30T00:00:00Z"),
        );
        let expected = [
            "2026-01-31T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-05-31T00:00:00Z",
        ];
        assert_eq!(fires, expected.map(ts));
    }
}
