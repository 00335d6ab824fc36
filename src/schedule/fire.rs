//! Fire times: the searches over a schedule's wall-clock fire times (monthly or cron) and
//! their instants in a time zone, forwards and backwards from an instant.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::wall::{first_civil_reaching, instant_of, last_civil_reaching};
use super::{Schedule, LOOKBACK_DAYS};

impl Schedule {
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
    /// The first wall-clock fire time at or after `from`.
    pub(super) fn first_civil_at_or_after(&self, from: DateTime) -> Option<DateTime> {
        match self {
            Schedule::Monthly { day, at } => monthly_first_at_or_after(*day, *at, from),
            Schedule::Cron(line) => line.first_at_or_after(from),
        }
    }

    /// The first wall-clock fire time strictly after `wall`.
    pub(super) fn first_civil_after(&self, wall: DateTime) -> Option<DateTime> {
        self.first_civil_at_or_after(wall.checked_add(1.nanosecond()).ok()?)
    }

    /// The last wall-clock fire time at or before `until`.
    pub(super) fn last_civil_at_or_before(&self, until: DateTime) -> Option<DateTime> {
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
