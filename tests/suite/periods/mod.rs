//! Report periods and schedules, end to end through the public API: every period kind across
//! month, leap-year, quarter and year boundaries; `date_to` styles; backfill ranges; monthly
//! and cron schedules in Europe/Berlin across both 2026 daylight-saving changes; and the
//! periods due after an outage.
//!
//! The tests are grouped by family: period kinds, `date_to` and backfill ranges (`kinds`),
//! schedules across daylight-saving changes and their parsing (`schedules`) and the periods due
//! after an outage (`due`); the helpers they share are here.

mod due;
mod kinds;
mod schedules;

use gcore_reportd::period::{Period, PeriodKind};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

fn berlin() -> TimeZone {
    TimeZone::get("Europe/Berlin").expect("Europe/Berlin in the system tz database")
}

fn ts(text: &str) -> Timestamp {
    text.parse()
        .expect("a valid RFC 3339 timestamp in the test table")
}

/// The instant of wall-clock `text` (e.g. "2026-04-10T12:00") in Berlin.
fn berlin_ts(text: &str) -> Timestamp {
    let wall: jiff::civil::DateTime = text
        .parse()
        .expect("a valid civil datetime in the test table");
    berlin()
        .to_timestamp(wall)
        .expect("an unambiguous wall time in the test table")
}

/// Expected periods in a table row, as (from, until).
type Periods<'a> = &'a [(Date, Date)];

fn period(from: Date, until: Date) -> Period {
    Period { from, until }
}

fn stamps(texts: &[&str]) -> Vec<Timestamp> {
    texts.iter().map(|t| ts(t)).collect()
}

/// Checks `period_for` against rows of (kind, reference, expected from, expected until).
fn check_period_for(table: &[(PeriodKind, Date, Date, Date)]) {
    for &(kind, reference, from, until) in table {
        let actual = kind.period_for(reference);
        assert_eq!(actual, period(from, until), "{kind} at {reference}");
    }
}
