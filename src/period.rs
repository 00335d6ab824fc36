//! Report periods: which calendar days a report covers. This module owns the pure date
//! arithmetic (no clocks, no time zones): the period a schedule reports on a given local date
//! ([`PeriodKind::period_for`]), the periods a backfill covers
//! ([`PeriodKind::periods_starting_between`]) and the `date_to` value sent to the API
//! ([`Period::date_to`]).
//!
//! Internally a period is always half-open, `[from, until)`. Dates live in jiff's range
//! (-9999-01-01 ..= 9999-12-31); the rare results that would leave that range saturate at its
//! ends, as documented on each function, instead of panicking.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{Span, ToSpan};

/// What a report covers, relative to the local date on which its schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeriodKind {
    PreviousDay,
    PreviousWeek,
    PreviousMonth,
    PreviousQuarter,
    MonthToDate,
}

/// How the API's `date_to` is expressed: the first day after the period (exclusive) or the
/// period's last day (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateToStyle {
    #[default]
    Exclusive,
    Inclusive,
}

/// A report period: `from` is the first day, `until` the first day AFTER the period (always
/// exclusive internally).
///
/// The period reported at reference date `r` ends at `kind.period_for(r).until`; a period is
/// complete — every one of its days is over — from local date `period.until` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub from: Date,
    pub until: Date,
}

/// Why a period name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "{given:?} is not a report period: expected one of {}",
        PeriodKind::names()
    )]
    UnknownKind { given: String },
}

impl Period {
    /// The `date_to` value sent to the API: `until` for Exclusive, `until - 1 day` for
    /// Inclusive (the period's last day). Saturates at -9999-01-01.
    pub fn date_to(&self, style: DateToStyle) -> Date {
        match style {
            DateToStyle::Exclusive => self.until,
            DateToStyle::Inclusive => self.until.saturating_sub(1.day()),
        }
    }
}

impl PeriodKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [PeriodKind; 5] = [
        PeriodKind::PreviousDay,
        PeriodKind::PreviousWeek,
        PeriodKind::PreviousMonth,
        PeriodKind::PreviousQuarter,
        PeriodKind::MonthToDate,
    ];

    /// The kebab-case name used in configuration files, e.g. `previous-month`.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::PreviousDay => "previous-day",
            PeriodKind::PreviousWeek => "previous-week",
            PeriodKind::PreviousMonth => "previous-month",
            PeriodKind::PreviousQuarter => "previous-quarter",
            PeriodKind::MonthToDate => "month-to-date",
        }
    }

    /// The period reported on a day `reference` (the local date at which the schedule fires):
    ///
    /// * `PreviousDay`: `[reference - 1 day, reference)`;
    /// * `PreviousWeek`: the ISO week (Monday to Sunday) before the week containing `reference`;
    /// * `PreviousMonth`: `[first of the previous month, first of reference's month)`;
    /// * `PreviousQuarter`: the calendar quarter before the one containing `reference`;
    /// * `MonthToDate`: `[first of the month containing reference - 1 day, reference)`, so on
    ///   the 1st it is the whole previous month and on the 15th it is the 1st..15th exclusive.
    ///
    /// In the first period of jiff's range `from` saturates at -9999-01-01.
    pub fn period_for(self, reference: Date) -> Period {
        match self.length() {
            Some(length) => {
                let until = self.start_of_containing(reference);
                Period {
                    from: until.saturating_sub(length),
                    until,
                }
            }
            None => Period {
                from: reference.saturating_sub(1.day()).first_of_month(),
                until: reference,
            },
        }
    }

    /// Every period of this kind whose `from` lies in `[start, end]` (both inclusive), oldest
    /// first; empty when `end < start`.
    ///
    /// * The contiguous kinds (day, week, month, quarter) step period by period: the first is
    ///   the earliest period starting on or after `start`, the last the latest starting on or
    ///   before `end` (its `until` may lie after `end`).
    /// * `MonthToDate` yields one period per day `d` in `[start, end]`:
    ///   `period_for(d + 1 day)` = `[first of d's month, d + 1 day)`, kept when its `from` is
    ///   on or after `start`. In other words: every month-to-date period whose first *and*
    ///   last day both lie in `[start, end]`.
    ///
    /// Periods whose `until` would lie after 9999-12-31 are left out.
    pub fn periods_starting_between(self, start: Date, end: Date) -> Vec<Period> {
        match self.length() {
            Some(length) => self.contiguous_between(length, start, end),
            None => month_to_date_between(start, end),
        }
    }

    /// The comma-separated list of valid names, for error messages.
    fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }

    /// The length of one period of a contiguous kind; `None` for month-to-date.
    fn length(self) -> Option<Span> {
        match self {
            PeriodKind::PreviousDay => Some(1.day()),
            PeriodKind::PreviousWeek => Some(1.week()),
            PeriodKind::PreviousMonth => Some(1.month()),
            PeriodKind::PreviousQuarter => Some(3.months()),
            PeriodKind::MonthToDate => None,
        }
    }

    /// The first day of the day, ISO week, month or quarter containing `date` (for
    /// month-to-date, which has no fixed grid, `date` itself).
    fn start_of_containing(self, date: Date) -> Date {
        match self {
            PeriodKind::PreviousDay | PeriodKind::MonthToDate => date,
            PeriodKind::PreviousWeek => {
                let since_monday = i64::from(date.weekday().to_monday_zero_offset());
                date.saturating_sub(since_monday.days())
            }
            PeriodKind::PreviousMonth => date.first_of_month(),
            PeriodKind::PreviousQuarter => {
                let into_quarter = i64::from((date.month() - 1) % 3);
                date.first_of_month().saturating_sub(into_quarter.months())
            }
        }
    }

    /// [`PeriodKind::periods_starting_between`] for the kinds with a fixed grid.
    fn contiguous_between(self, length: Span, start: Date, end: Date) -> Vec<Period> {
        let mut from = self.start_of_containing(start);
        if from < start {
            match from.checked_add(length) {
                Ok(next) => from = next,
                Err(_) => return Vec::new(),
            }
        }
        let mut periods = Vec::new();
        while from <= end {
            let Ok(until) = from.checked_add(length) else {
                break;
            };
            periods.push(Period { from, until });
            from = until;
        }
        periods
    }
}

/// [`PeriodKind::periods_starting_between`] for month-to-date: one period per day `d` in
/// `[start, end]`, `[first of d's month, d + 1 day)`, kept when it starts on or after `start`.
fn month_to_date_between(start: Date, end: Date) -> Vec<Period> {
    let mut periods = Vec::new();
    let mut day = start;
    while day <= end {
        let Ok(next) = day.tomorrow() else {
            break;
        };
        let from = day.first_of_month();
        if from >= start {
            periods.push(Period { from, until: next });
        }
        day = next;
    }
    periods
}

impl FromStr for PeriodKind {
    type Err = PeriodError;

    /// Parses the kebab-case name (`previous-month`, ...), ignoring surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| PeriodError::UnknownKind {
                given: s.to_string(),
            })
    }
}

impl fmt::Display for PeriodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn period_kind_names_round_trip_through_display_from_str_and_serde() {
        for kind in PeriodKind::ALL {
            let name = kind.to_string();
            assert_eq!(name.parse::<PeriodKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).expect("a unit variant serializes");
            assert_eq!(json, format!("\"{name}\""));
        }
    }

    #[test]
    fn unknown_period_name_error_lists_every_valid_name() {
        let err = "last-month".parse::<PeriodKind>().unwrap_err().to_string();
        assert!(err.contains("\"last-month\""), "{err}");
        for kind in PeriodKind::ALL {
            assert!(err.contains(kind.as_str()), "{err} lacks {kind}");
        }
    }

    #[test]
    fn date_to_style_serde_names_are_exclusive_and_inclusive() {
        let styles: Vec<DateToStyle> =
            serde_json::from_str(r#"["exclusive", "inclusive"]"#).expect("valid names");
        assert_eq!(styles, [DateToStyle::Exclusive, DateToStyle::Inclusive]);
        assert_eq!(DateToStyle::default(), DateToStyle::Exclusive);
    }

    #[test]
    fn periods_at_the_start_of_the_date_range_saturate_instead_of_panicking() {
        let first = Date::MIN;
        for kind in PeriodKind::ALL {
            let period = kind.period_for(first);
            assert_eq!(period.from, first, "{kind}");
            assert!(period.until <= first.saturating_add(3.months()), "{kind}");
        }
        let empty = Period {
            from: first,
            until: first,
        };
        assert_eq!(empty.date_to(DateToStyle::Inclusive), first);
    }

    #[test]
    fn periods_ending_after_the_date_range_are_left_out() {
        let months =
            PeriodKind::PreviousMonth.periods_starting_between(date(9999, 11, 1), Date::MAX);
        assert_eq!(
            months,
            [Period {
                from: date(9999, 11, 1),
                until: date(9999, 12, 1)
            }]
        );
        let days = PeriodKind::MonthToDate.periods_starting_between(date(9999, 12, 30), Date::MAX);
        assert!(days.is_empty(), "{days:?}");
    }

    #[test]
    fn an_inverted_range_has_no_periods() {
        for kind in PeriodKind::ALL {
            let periods = kind.periods_starting_between(date(2024, 2, 1), date(2024, 1, 1));
            assert!(periods.is_empty(), "{kind}: {periods:?}");
        }
    }
}
