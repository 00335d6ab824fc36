//! The tests' clock: the system's, or shifted to `GCORE_REPORTD_TEST_NOW`, and kept out of
//! the last minutes before a UTC midnight; what the binaries the harness starts take as now.

/// Set in the test process to run the tests (and every binary they start) as if the system
/// clock said this RFC 3339 instant, e.g. to check them near a month boundary.
pub const TEST_NOW_VARIABLE: &str = "GCORE_REPORTD_TEST_NOW";

/// How far the tests' clock is from the system's (ms), fixed for the test process: zero,
/// unless [`TEST_NOW_VARIABLE`] says otherwise (the suite then runs from that instant) or the
/// start is in the last [`BEFORE_MIDNIGHT`] of a UTC day (see [`not_straddling_midnight`]).
pub fn clock_offset_ms() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        let real = jiff::Timestamp::now();
        let system = match std::env::var(TEST_NOW_VARIABLE) {
            Ok(at) => at
                .parse()
                .expect("GCORE_REPORTD_TEST_NOW is an RFC 3339 instant"),
            Err(_) => real,
        };
        not_straddling_midnight(system).as_millisecond() - real.as_millisecond()
    })
}

/// How long before a UTC midnight the suite does not start: longer than a whole run takes.
const BEFORE_MIDNIGHT: jiff::SignedDuration = jiff::SignedDuration::from_mins(20);

/// `at`, or, in the last [`BEFORE_MIDNIGHT`] of a UTC day, an hour before that midnight. A
/// test on the real clock cannot stop it: one that straddled midnight (the daily reports' fire
/// time, on the 1st a new month, on the 2nd the default monthly schedule's) would compare the
/// periods due when it started with those due when its daemon ran. The boundaries themselves
/// are met by `month_ends`, which drives a manual clock through them; the suite is run at such
/// instants by `.ci/run`.
fn not_straddling_midnight(at: jiff::Timestamp) -> jiff::Timestamp {
    let midnight = at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .and_then(|d| d.checked_add(jiff::Span::new().days(1)))
        .expect("the next midnight")
        .timestamp();
    if at.duration_until(midnight) <= BEFORE_MIDNIGHT {
        let hour = jiff::SignedDuration::from_hours(1);
        return midnight.checked_sub(hour).expect("in range");
    }
    at
}

/// Now, by the tests' clock (see [`clock_offset_ms`]): what the binaries the harness starts
/// take as now.
pub fn now() -> jiff::Timestamp {
    let real = jiff::Timestamp::now().as_millisecond();
    jiff::Timestamp::from_millisecond(real + clock_offset_ms()).expect("in range")
}
/// The first day of the month `n` months before the current one (UTC, by [`now`]).
pub fn months_back(n: i64) -> jiff::civil::Date {
    let today = now().to_zoned(jiff::tz::TimeZone::UTC).date();
    today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(n))
        .expect("date arithmetic")
}
