//! Due periods: the local dates a schedule fires on within a window, and [`due_periods`],
//! which turns them into the [`Period`]s a report must cover (with or without catch-up).

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::wall::{first_civil_reaching, instant_of, start_of_day};
use super::Schedule;
use crate::period::{Period, PeriodKind};

impl Schedule {
    /// The local dates (in `tz`) on which the schedule fires within `[start, end]`, oldest
    /// first. Visits one fire time per local day, so a frequent cron stays cheap.
    pub(super) fn fire_dates_between(
        &self,
        tz: &TimeZone,
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<Date> {
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
