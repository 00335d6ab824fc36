//! The periods due after an outage, with and without catch-up, with a monthly schedule and a
//! frequent cron.

use gcore_reportd::period::PeriodKind;
use gcore_reportd::schedule::{due_periods, Schedule};
use jiff::civil::{date, time};

use PeriodKind::*;

use super::*;

#[test]
fn a_three_month_outage_with_catch_up_is_due_exactly_three_monthly_periods() {
    let schedule = Schedule::monthly(1, time(6, 0, 0, 0)).expect("day 1 is valid");
    let now = berlin_ts("2026-04-10T12:00");
    let due = due_periods(
        &schedule,
        PreviousMonth,
        &berlin(),
        Some(date(2026, 1, 1)),
        now,
    );
    assert_eq!(
        due,
        [
            period(date(2026, 1, 1), date(2026, 2, 1)),
            period(date(2026, 2, 1), date(2026, 3, 1)),
            period(date(2026, 3, 1), date(2026, 4, 1)),
        ]
    );
}

#[test]
fn without_catch_up_only_the_most_recent_period_is_due() {
    let schedule = Schedule::monthly(1, time(6, 0, 0, 0)).expect("day 1 is valid");
    let tz = berlin();
    #[rustfmt::skip]
    let table = [
        ("2026-04-10T12:00", period(date(2026, 3, 1), date(2026, 4, 1))),
        ("2026-04-01T06:00", period(date(2026, 3, 1), date(2026, 4, 1))),
        ("2026-04-01T05:59", period(date(2026, 2, 1), date(2026, 3, 1))),
        ("2026-01-01T07:00", period(date(2025, 12, 1), date(2026, 1, 1))),
    ];
    for (now, expected) in table {
        assert_eq!(
            due_periods(&schedule, PreviousMonth, &tz, None, berlin_ts(now)),
            [expected],
            "at {now}"
        );
    }
}

#[test]
fn catch_up_keeps_only_periods_starting_on_or_after_its_date() {
    let daily: Schedule = "cron: 0 6 * * *".parse().expect("a valid cron line");
    let tz = berlin();
    let now = berlin_ts("2026-04-10T07:00");
    let due = due_periods(&daily, PreviousDay, &tz, Some(date(2026, 4, 7)), now);
    #[rustfmt::skip]
    assert_eq!(due, [
        period(date(2026, 4, 7), date(2026, 4, 8)),
        period(date(2026, 4, 8), date(2026, 4, 9)),
        period(date(2026, 4, 9), date(2026, 4, 10)),
    ]);
    let future = due_periods(&daily, PreviousDay, &tz, Some(date(2026, 5, 1)), now);
    assert!(future.is_empty(), "{future:?}");
}

#[test]
fn catch_up_with_a_frequent_cron_reports_each_day_once() {
    let every_minute: Schedule = "cron: * * * * *".parse().expect("a valid cron line");
    let now = berlin_ts("2026-03-31T00:30");
    let due = due_periods(
        &every_minute,
        PreviousDay,
        &berlin(),
        Some(date(2026, 1, 1)),
        now,
    );
    assert_eq!(
        due.len(),
        89,
        "Jan 1 .. Mar 30 (Dec 31 starts before the catch-up date)"
    );
    assert_eq!(
        due.first(),
        Some(&period(date(2026, 1, 1), date(2026, 1, 2)))
    );
    assert_eq!(
        due.last(),
        Some(&period(date(2026, 3, 30), date(2026, 3, 31)))
    );
}

// How fast is the scale benchmark's business, not a timed test's.
#[test]
fn three_years_of_a_daily_cron_fire_once_a_day_oldest_first() {
    let daily: Schedule = "cron: 0 6 * * *".parse().expect("a valid cron line");
    let fires = daily.fire_times_between(
        &berlin(),
        ts("2024-01-01T00:00:00Z"),
        ts("2026-12-31T23:59:59Z"),
    );
    assert_eq!(fires.len(), 366 + 365 + 365);
    assert!(
        fires.windows(2).all(|w| w[0] < w[1]),
        "oldest first, no repeats"
    );
}
