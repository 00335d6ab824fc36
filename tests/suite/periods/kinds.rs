//! Every period kind across month, leap-year, quarter and year boundaries, `date_to` styles,
//! backfill ranges and the kinds' names.

use gcore_reportd::period::{DateToStyle, Period, PeriodKind};
use jiff::civil::{date, Date};

use PeriodKind::*;

use super::*;

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
