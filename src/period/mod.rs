//! Report periods: which calendar days a report covers. This module owns the pure date
//! arithmetic (no clocks, no time zones): the period a schedule reports on a given local date
//! ([`PeriodKind::period_for`]), the periods a backfill covers
//! ([`PeriodKind::periods_starting_between`]) and the `date_to` value sent to the API
//! ([`Period::date_to`]).
//!
//! Internally a period is always half-open, `[from, until)`. Dates live in jiff's range
//! (-9999-01-01 ..= 9999-12-31); the rare results that would leave that range saturate at its
//! ends, as documented on each function, instead of panicking.

mod calendar;

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::ToSpan;

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

    /// The comma-separated list of valid names, for error messages.
    fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }
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
    fn periods_reaching_back_n_quarters_end_with_the_one_starting_on_the_end() {
        let end = jiff::civil::date(2026, 1, 1);
        let froms: Vec<String> = PeriodKind::PreviousQuarter
            .periods_reaching_back(end, 2)
            .iter()
            .map(|p| p.from.to_string())
            .collect();
        assert_eq!(froms, ["2025-07-01", "2025-10-01", "2026-01-01"]);
        let far = PeriodKind::PreviousDay.periods_reaching_back(jiff::civil::Date::MIN, 3);
        assert_eq!(far.len(), 1, "saturates at the start of the range: {far:?}");
    }

    #[test]
    fn date_to_style_serde_names_are_exclusive_and_inclusive() {
        let styles: Vec<DateToStyle> =
            serde_json::from_str(r#"["exclusive", "inclusive"]"#).expect("valid names");
        assert_eq!(styles, [DateToStyle::Exclusive, DateToStyle::Inclusive]);
        assert_eq!(DateToStyle::default(), DateToStyle::Exclusive);
    }
}
