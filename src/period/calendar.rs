//! The calendar arithmetic of periods: the period a schedule reports on a local date, and the
//! periods a backfill covers, on the day, ISO week, month and quarter grids (month-to-date
//! has none). Results that would leave jiff's date range saturate or are left out.

use jiff::civil::Date;
use jiff::{Span, ToSpan};

use super::{Period, PeriodKind};

impl PeriodKind {
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
    /// The periods of this kind starting on or before `end` and at most `n` periods' lengths
    /// (month-to-date: `n` months) before it, oldest first: where the newest period a request
    /// tracks is looked for. A span or date out of jiff's range saturates.
    pub fn periods_reaching_back(self, end: Date, n: u32) -> Vec<Period> {
        let step = self.length().unwrap_or(1.month());
        let back = step.checked_mul(i64::from(n)).unwrap_or(step);
        let start = end.checked_sub(back).unwrap_or(Date::MIN);
        self.periods_starting_between(start, end)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::DateToStyle;
    use jiff::civil::date;

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
