//! Monthly and cron schedules in Europe/Berlin across both 2026 daylight-saving changes, the
//! last and next fire times, the lookback window, and parsing schedules (with the messages of
//! the refused ones).

use gcore_reportd::schedule::{Schedule, ScheduleError};
use jiff::civil::{time, Time};

use super::*;

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
