//! Placing wall-clock times in a time zone across daylight-saving changes: a time in a gap
//! fires when the gap ends, a time in a fold at its first pass; and the wall-time bounds a
//! search must start from so that it misses no instant.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// The instant at which wall-clock time `wall` fires in `tz`: in a gap (spring forward) the
/// first instant after the gap, in a fold (fall back) the earlier of the two.
pub(super) fn instant_of(tz: &TimeZone, wall: DateTime) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(wall);
    let earlier = ambiguous.earlier().ok()?;
    match ambiguous.offset() {
        // `earlier` lies before the transition that opened the gap; it ends the gap.
        AmbiguousOffset::Gap { .. } => tz.following(earlier).next().map(|t| t.timestamp()),
        _ => Some(earlier),
    }
}

/// The first instant of local day `date` in `tz` (after the gap if midnight is skipped).
pub(super) fn start_of_day(tz: &TimeZone, date: Date) -> Option<Timestamp> {
    instant_of(tz, date.to_datetime(Time::midnight()))
}

/// The earliest wall time whose instant can be at or after `t`: every earlier wall time fires
/// before `t`. (It is `t`'s own wall time except when `t` ends a gap.)
pub(super) fn first_civil_reaching(tz: &TimeZone, t: Timestamp) -> DateTime {
    match t.checked_sub(1.nanosecond()) {
        Ok(before) => tz.to_datetime(before).saturating_add(1.nanosecond()),
        Err(_) => tz.to_datetime(t),
    }
}

/// The latest wall time whose instant can be at or before `t`: every later wall time fires
/// after `t`. (It is `t`'s own wall time except in the second pass through a fold.)
pub(super) fn last_civil_reaching(tz: &TimeZone, t: Timestamp) -> DateTime {
    let wall = tz.to_datetime(t);
    match tz.to_ambiguous_timestamp(wall).offset() {
        AmbiguousOffset::Fold { before, after } => {
            wall.saturating_add(before.duration_since(after))
        }
        _ => wall,
    }
}
