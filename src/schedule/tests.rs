//! Unit tests of the schedule internals: croner's value round trip, sub-second cron searches,
//! wall times in gaps and folds, and fire searches starting inside them.

use jiff::civil::{date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::cron::{from_chrono, to_chrono};
use super::wall::instant_of;
use super::Schedule;

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
