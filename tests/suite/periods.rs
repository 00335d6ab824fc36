//! Report periods and schedules, end to end through the public API: every period kind across
//! month, leap-year, quarter and year boundaries; `date_to` styles; backfill ranges; monthly
//! and cron schedules in Europe/Berlin across both 2026 daylight-saving changes; and the
//! periods due after an outage.

use gcore_reportd::period::{DateToStyle, Period, PeriodKind};
use gcore_reportd::schedule::{due_periods, Schedule, ScheduleError};
use jiff::civil::{date, time, Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use PeriodKind::*;

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

#[test]
fn previous_day_and_week_cross_month_ends_leap_days_and_iso_year_ends() {
    #[rustfmt::skip]
    check_period_for(&[
        // kind, reference, from, until
        (PreviousDay, date(2024, 3, 1), date(2024, 2, 29), date(2024, 3, 1)),
        (PreviousDay, date(2023, 3, 1), date(2023, 2, 28), date(2023, 3, 1)),
        (PreviousDay, date(2100, 3, 1), date(2100, 2, 28), date(2100, 3, 1)),
        (PreviousDay, date(2000, 3, 1), date(2000, 2, 29), date(2000, 3, 1)),
        (PreviousDay, date(2025, 1, 1), date(2024, 12, 31), date(2025, 1, 1)),
        (PreviousDay, date(2024, 5, 1), date(2024, 4, 30), date(2024, 5, 1)),
        (PreviousWeek, date(2021, 1, 4), date(2020, 12, 28), date(2021, 1, 4)),
        (PreviousWeek, date(2021, 1, 3), date(2020, 12, 21), date(2020, 12, 28)),
        (PreviousWeek, date(2026, 1, 1), date(2025, 12, 22), date(2025, 12, 29)),
        (PreviousWeek, date(2024, 3, 6), date(2024, 2, 26), date(2024, 3, 4)),
        (PreviousWeek, date(2024, 3, 10), date(2024, 2, 26), date(2024, 3, 4)),
    ]);
}

#[test]
fn previous_month_quarter_and_month_to_date_cross_leap_years_quarters_and_year_ends() {
    #[rustfmt::skip]
    check_period_for(&[
        // kind, reference, from, until
        (PreviousMonth, date(2024, 3, 15), date(2024, 2, 1), date(2024, 3, 1)),
        (PreviousMonth, date(2024, 3, 31), date(2024, 2, 1), date(2024, 3, 1)),
        (PreviousMonth, date(2024, 1, 1), date(2023, 12, 1), date(2024, 1, 1)),
        (PreviousMonth, date(2024, 1, 31), date(2023, 12, 1), date(2024, 1, 1)),
        (PreviousMonth, date(2100, 3, 1), date(2100, 2, 1), date(2100, 3, 1)),
        (PreviousMonth, date(9999, 12, 31), date(9999, 11, 1), date(9999, 12, 1)),
        (PreviousQuarter, date(2024, 1, 15), date(2023, 10, 1), date(2024, 1, 1)),
        (PreviousQuarter, date(2024, 4, 1), date(2024, 1, 1), date(2024, 4, 1)),
        (PreviousQuarter, date(2024, 6, 30), date(2024, 1, 1), date(2024, 4, 1)),
        (PreviousQuarter, date(2024, 7, 1), date(2024, 4, 1), date(2024, 7, 1)),
        (PreviousQuarter, date(2024, 12, 31), date(2024, 7, 1), date(2024, 10, 1)),
        (PreviousQuarter, date(2025, 3, 31), date(2024, 10, 1), date(2025, 1, 1)),
        (MonthToDate, date(2024, 3, 1), date(2024, 2, 1), date(2024, 3, 1)),
        (MonthToDate, date(2024, 3, 2), date(2024, 3, 1), date(2024, 3, 2)),
        (MonthToDate, date(2024, 3, 15), date(2024, 3, 1), date(2024, 3, 15)),
        (MonthToDate, date(2024, 2, 29), date(2024, 2, 1), date(2024, 2, 29)),
        (MonthToDate, date(2025, 1, 1), date(2024, 12, 1), date(2025, 1, 1)),
        (MonthToDate, date(2100, 3, 1), date(2100, 2, 1), date(2100, 3, 1)),
    ]);
}

#[test]
fn date_to_is_the_day_after_the_period_when_exclusive_and_its_last_day_when_inclusive() {
    #[rustfmt::skip]
    let table = [
        // period, exclusive date_to, inclusive date_to
        (period(date(2024, 2, 1), date(2024, 3, 1)), date(2024, 3, 1), date(2024, 2, 29)),
        (period(date(2100, 2, 1), date(2100, 3, 1)), date(2100, 3, 1), date(2100, 2, 28)),
        (period(date(2024, 12, 1), date(2025, 1, 1)), date(2025, 1, 1), date(2024, 12, 31)),
        (period(date(2024, 10, 1), date(2025, 1, 1)), date(2025, 1, 1), date(2024, 12, 31)),
        (period(date(2024, 3, 1), date(2024, 3, 15)), date(2024, 3, 15), date(2024, 3, 14)),
    ];
    for (p, exclusive, inclusive) in table {
        assert_eq!(p.date_to(DateToStyle::Exclusive), exclusive, "{p:?}");
        assert_eq!(p.date_to(DateToStyle::Inclusive), inclusive, "{p:?}");
    }
    assert_eq!(DateToStyle::default(), DateToStyle::Exclusive);
}

#[test]
fn backfilling_a_year_of_previous_month_gives_its_twelve_months() {
    let months = PreviousMonth.periods_starting_between(date(2024, 1, 1), date(2024, 12, 31));
    let expected: Vec<Period> = (1..=12)
        .map(|m| {
            let from = date(2024, m, 1);
            let until = if m == 12 {
                date(2025, 1, 1)
            } else {
                date(2024, m + 1, 1)
            };
            period(from, until)
        })
        .collect();
    assert_eq!(months, expected);
}

#[test]
fn backfilling_a_year_of_previous_quarter_gives_its_four_quarters() {
    let quarters = PreviousQuarter.periods_starting_between(date(2024, 1, 1), date(2024, 12, 31));
    assert_eq!(
        quarters,
        [
            period(date(2024, 1, 1), date(2024, 4, 1)),
            period(date(2024, 4, 1), date(2024, 7, 1)),
            period(date(2024, 7, 1), date(2024, 10, 1)),
            period(date(2024, 10, 1), date(2025, 1, 1)),
        ]
    );
}

#[test]
fn backfill_ranges_keep_only_periods_that_start_inside_them() {
    #[rustfmt::skip]
    let table: [(PeriodKind, Date, Date, Periods<'_>); 6] = [
        (PreviousMonth, date(2024, 1, 15), date(2024, 3, 1), &[
            (date(2024, 2, 1), date(2024, 3, 1)), (date(2024, 3, 1), date(2024, 4, 1))]),
        (PreviousQuarter, date(2024, 2, 1), date(2024, 9, 30), &[
            (date(2024, 4, 1), date(2024, 7, 1)), (date(2024, 7, 1), date(2024, 10, 1))]),
        (PreviousWeek, date(2020, 12, 28), date(2021, 1, 10), &[
            (date(2020, 12, 28), date(2021, 1, 4)), (date(2021, 1, 4), date(2021, 1, 11))]),
        (PreviousWeek, date(2020, 12, 30), date(2021, 1, 4), &[
            (date(2021, 1, 4), date(2021, 1, 11))]),
        (PreviousDay, date(2024, 2, 28), date(2024, 3, 1), &[
            (date(2024, 2, 28), date(2024, 2, 29)), (date(2024, 2, 29), date(2024, 3, 1)),
            (date(2024, 3, 1), date(2024, 3, 2))]),
        (MonthToDate, date(2024, 1, 15), date(2024, 2, 2), &[
            (date(2024, 2, 1), date(2024, 2, 2)), (date(2024, 2, 1), date(2024, 2, 3))]),
    ];
    for (kind, start, end, expected) in table {
        let expected: Vec<Period> = expected.iter().map(|&(f, u)| period(f, u)).collect();
        assert_eq!(
            kind.periods_starting_between(start, end),
            expected,
            "{kind} {start}..={end}"
        );
    }
}

#[test]
fn backfilling_january_month_to_date_gives_one_growing_period_per_day() {
    let periods = MonthToDate.periods_starting_between(date(2024, 1, 1), date(2024, 1, 31));
    assert_eq!(periods.len(), 31);
    assert_eq!(periods[0], period(date(2024, 1, 1), date(2024, 1, 2)));
    assert_eq!(periods[30], period(date(2024, 1, 1), date(2024, 2, 1)));
    assert!(periods.iter().all(|p| p.from == date(2024, 1, 1)));
}

#[test]
fn period_kinds_parse_from_and_display_as_kebab_case_names() {
    let table = [
        ("previous-day", PreviousDay),
        ("previous-week", PreviousWeek),
        ("previous-month", PreviousMonth),
        ("previous-quarter", PreviousQuarter),
        ("month-to-date", MonthToDate),
    ];
    for (name, kind) in table {
        assert_eq!(name.parse::<PeriodKind>(), Ok(kind));
        assert_eq!(kind.to_string(), name);
    }
    let err = "monthly".parse::<PeriodKind>().unwrap_err().to_string();
    assert!(
        err.contains("previous-month") && err.contains("month-to-date"),
        "{err}"
    );
}

#[test]
fn a_monthly_schedule_follows_berlin_wall_time_through_both_dst_changes_of_2026() {
    let schedule = Schedule::monthly(1, time(6, 0, 0, 0)).expect("day 1 is valid");
    let fires = schedule.fire_times_between(
        &berlin(),
        ts("2026-01-01T00:00:00Z"),
        ts("2026-12-31T23:59:59Z"),
    );
    #[rustfmt::skip]
    let expected = stamps(&[
        "2026-01-01T05:00:00Z", "2026-02-01T05:00:00Z", "2026-03-01T05:00:00Z",
        "2026-04-01T04:00:00Z", "2026-05-01T04:00:00Z", "2026-06-01T04:00:00Z",
        "2026-07-01T04:00:00Z", "2026-08-01T04:00:00Z", "2026-09-01T04:00:00Z",
        "2026-10-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-12-01T05:00:00Z",
    ]);
    assert_eq!(fires, expected);
}

#[test]
fn a_monthly_time_inside_the_skipped_hour_fires_when_the_gap_ends() {
    // 2027-03-28 is Berlin's spring-forward day: 02:00 CET jumps to 03:00 CEST.
    let schedule = Schedule::monthly(28, time(2, 30, 0, 0)).expect("day 28 is valid");
    let fires = schedule.fire_times_between(
        &berlin(),
        ts("2027-02-01T00:00:00Z"),
        ts("2027-04-30T00:00:00Z"),
    );
    let expected = stamps(&[
        "2027-02-28T01:30:00Z",
        "2027-03-28T01:00:00Z",
        "2027-04-28T00:30:00Z",
    ]);
    assert_eq!(fires, expected);
}

#[test]
fn a_monthly_time_inside_the_repeated_hour_fires_once_at_its_first_occurrence() {
    // 2026-10-25 is Berlin's fall-back day: 02:00..03:00 happens in CEST, then again in CET.
    let schedule = Schedule::monthly(25, time(2, 30, 0, 0)).expect("day 25 is valid");
    let fires = schedule.fire_times_between(
        &berlin(),
        ts("2026-09-01T00:00:00Z"),
        ts("2026-11-30T00:00:00Z"),
    );
    let expected = stamps(&[
        "2026-09-25T00:30:00Z",
        "2026-10-25T00:30:00Z",
        "2026-11-25T01:30:00Z",
    ]);
    assert_eq!(fires, expected);
}

#[test]
fn a_daily_cron_fires_after_the_gap_on_spring_forward_and_once_on_fall_back() {
    let schedule: Schedule = "cron: 30 2 * * *".parse().expect("a valid cron line");
    let tz = berlin();
    #[rustfmt::skip]
    let table = [
        ("2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z",
         &["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
        ("2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z",
         &["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
    ];
    for (start, end, expected) in table {
        let fires = schedule.fire_times_between(&tz, ts(start), ts(end));
        assert_eq!(fires, stamps(expected), "{start}..{end}");
    }
}

#[test]
fn a_half_hourly_cron_fires_each_instant_once_across_both_dst_changes() {
    let schedule: Schedule = "cron: */30 * * * *".parse().expect("a valid cron line");
    let tz = berlin();
    // Spring forward: 02:00, 02:30 and 03:00 wall time all fire at 03:00 CEST (01:00Z).
    let spring =
        schedule.fire_times_between(&tz, ts("2026-03-29T00:00:00Z"), ts("2026-03-29T02:00:00Z"));
    #[rustfmt::skip]
    assert_eq!(spring, stamps(&["2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z",
        "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z"]));
    // Fall back: 02:00 and 02:30 fire only in CEST; the CET repeat (01:00Z, 01:30Z) is skipped.
    let autumn =
        schedule.fire_times_between(&tz, ts("2026-10-25T00:00:00Z"), ts("2026-10-25T02:30:00Z"));
    #[rustfmt::skip]
    assert_eq!(autumn, stamps(&["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
        "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"]));
}

#[test]
fn a_cron_line_fires_on_its_days_in_wall_clock_time() {
    let schedule: Schedule = "cron: 0 6 1 * *".parse().expect("a valid cron line");
    let fires = schedule.fire_times_between(
        &berlin(),
        ts("2026-02-15T00:00:00Z"),
        ts("2026-05-01T04:00:00Z"),
    );
    let expected = stamps(&[
        "2026-03-01T05:00:00Z",
        "2026-04-01T04:00:00Z",
        "2026-05-01T04:00:00Z",
    ]);
    assert_eq!(fires, expected);
    assert_eq!(schedule.to_string(), "cron: 0 6 1 * *");
    assert_eq!(
        schedule.to_string().parse::<Schedule>().ok(),
        Some(schedule)
    );
}

#[test]
fn the_last_and_next_fire_times_bracket_now() {
    let tz = berlin();
    let monthly = Schedule::monthly(1, time(6, 0, 0, 0)).expect("day 1 is valid");
    let weekdays: Schedule = "cron: 0 7 * * MON-FRI".parse().expect("a valid cron line");
    #[rustfmt::skip]
    let table = [
        // schedule, now, last fire at or before now, next fire after now
        (&monthly, "2026-04-10T12:00:00Z", "2026-04-01T04:00:00Z", "2026-05-01T04:00:00Z"),
        (&monthly, "2026-04-01T04:00:00Z", "2026-04-01T04:00:00Z", "2026-05-01T04:00:00Z"),
        (&monthly, "2026-04-01T03:59:59Z", "2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"),
        (&monthly, "2026-12-31T23:00:00Z", "2026-12-01T05:00:00Z", "2027-01-01T05:00:00Z"),
        (&weekdays, "2026-03-28T12:00:00Z", "2026-03-27T06:00:00Z", "2026-03-30T05:00:00Z"),
        (&weekdays, "2026-10-25T12:00:00Z", "2026-10-23T05:00:00Z", "2026-10-26T06:00:00Z"),
    ];
    for (schedule, now, last, next) in table {
        assert_eq!(
            schedule.last_fire_at_or_before(&tz, ts(now)),
            Some(ts(last)),
            "{schedule} last at {now}"
        );
        assert_eq!(
            schedule.next_fire_after(&tz, ts(now)),
            Some(ts(next)),
            "{schedule} next at {now}"
        );
    }
}

#[test]
fn a_cron_that_last_fired_over_the_lookback_window_ago_has_no_last_fire() {
    let leap_day: Schedule = "cron: 0 6 29 2 *".parse().expect("a valid cron line");
    let tz = berlin();
    assert_eq!(
        leap_day.last_fire_at_or_before(&tz, ts("2026-04-10T12:00:00Z")),
        None
    );
    assert_eq!(
        leap_day.next_fire_after(&tz, ts("2026-04-10T12:00:00Z")),
        Some(ts("2028-02-29T05:00:00Z"))
    );
    let recent = leap_day.last_fire_at_or_before(&tz, ts("2024-03-10T12:00:00Z"));
    assert_eq!(recent, Some(ts("2024-02-29T05:00:00Z")));
}

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

#[test]
fn schedules_parse_from_monthly_and_cron_lines() {
    let monthly: Schedule = " monthly ".parse().expect("monthly is valid");
    assert_eq!(
        monthly,
        Schedule::Monthly {
            day: 2,
            at: Time::midnight()
        }
    );
    assert!(matches!(
        "cron: 0 6 1 * *".parse::<Schedule>(),
        Ok(Schedule::Cron(_))
    ));
    assert!(matches!(
        "cron:@daily".parse::<Schedule>(),
        Ok(Schedule::Cron(_))
    ));
    for day in [1, 28] {
        assert!(
            Schedule::monthly(day, Time::midnight()).is_ok(),
            "day {day}"
        );
    }
}

#[test]
fn bad_schedules_are_refused_with_messages_saying_what_is_expected() {
    #[rustfmt::skip]
    let table = [
        ("weekly", "expected \"monthly\" or \"cron:"),
        ("0 6 1 * *", "expected \"monthly\" or \"cron:"),
        ("cron: 0 0 6 1 * *", "has 6 field(s): expected exactly 5"),
        ("cron: 0 6 1 *", "has 4 field(s): expected exactly 5"),
        ("cron:", "has 0 field(s): expected exactly 5"),
        ("cron: 61 6 1 * *", "is not valid"),
        ("cron: 0 6 30 2 *", "never fires"),
    ];
    for (text, message) in table {
        let err = text.parse::<Schedule>().expect_err(text).to_string();
        assert!(err.contains(message), "{text:?}: {err}");
    }
    for day in [0, 29, 31] {
        let err = Schedule::monthly(day, Time::midnight()).expect_err("out of range");
        assert_eq!(err, ScheduleError::DayOutOfRange { day });
        assert!(err.to_string().contains("expected 1..=28"), "{err}");
    }
}
