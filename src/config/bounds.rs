//! The range every numeric and duration key must fall in: values that cannot work (a zero
//! timeout, a request budget of 1e-20 per second, a deadline of a million years that no clock
//! arithmetic survives) are refused with the key's name and the range, rather than discovered
//! by the running daemon.

use std::time::Duration;

use super::ConfigError;

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);
/// The least `api.create_settle`: a backend may commit a task a moment after its gateway gave
/// up, and at 0 an unanswered create is searched for (and, not found, sent again) at once.
pub const SETTLE_FLOOR: Duration = SECOND;
/// The least `api.clock_skew`: the list's `created_after` is sent in whole seconds (rounded
/// down) and the server stamps tasks by its own clock, so a window that starts exactly at the
/// intent could miss a task the server stamped a moment earlier.
pub const SKEW_FLOOR: Duration = SECOND;

/// (key, least, most) for each duration key outside `[[reports]]`.
pub const DURATIONS: [(&str, Duration, Duration); 13] = [
    ("api.request_timeout", Duration::from_millis(100), HOUR),
    (
        "api.auth_retry_interval",
        Duration::from_millis(100),
        Duration::from_secs(7 * 24 * 3600),
    ),
    ("api.create_settle", SETTLE_FLOOR, HOUR),
    ("api.max_retry_after", SECOND, DAY),
    ("storage.busy_timeout", Duration::from_millis(10), HOUR),
    ("polling.initial_interval", Duration::from_millis(10), DAY),
    (
        "polling.max_interval",
        Duration::from_millis(10),
        Duration::from_secs(30 * 24 * 3600),
    ),
    (
        "polling.deadline",
        SECOND,
        Duration::from_secs(366 * 24 * 3600),
    ),
    ("daemon.shutdown_timeout", Duration::ZERO, HOUR),
    ("cluster.lease", Duration::from_secs(2), HOUR),
    ("hook_timeout", MS, DAY),
    ("api.clock_skew", SKEW_FLOOR, DAY),
    (
        "polling.lost_after",
        Duration::ZERO,
        Duration::from_secs(30 * 24 * 3600),
    ),
];

/// The request budget, in requests per second.
pub const RATE: (f64, f64) = (0.001, 10_000.0);
/// Parallel downloads.
pub const DOWNLOAD_SLOTS: (usize, usize) = (1, 256);
/// The largest download, in bytes.
pub const DOWNLOAD_BYTES: (u64, u64) = (1024, u64::MAX / 2);
/// Attempts per period.
pub const ATTEMPTS: (u32, u32) = (1, 100);

/// `value` for `key` (named as in the file; `field` picks the range) if it is in range.
pub fn duration(key: &str, field: &str, value: Duration) -> Result<Duration, ConfigError> {
    let Some((_, least, most)) = DURATIONS.iter().find(|(k, _, _)| *k == field) else {
        return Ok(value);
    };
    if value < *least || value > *most {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is out of range: expected between {} and {}",
                humantime::format_duration(value),
                humantime::format_duration(*least),
                humantime::format_duration(*most)
            ),
        ));
    }
    Ok(value)
}

/// The request budget, if finite and in [`RATE`].
pub fn rate(key: &str, value: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value >= RATE.0 && value <= RATE.1 {
        return Ok(value);
    }
    Err(ConfigError::invalid(
        key,
        format!(
            "{value} is out of range: expected between {} and {} requests per second",
            RATE.0, RATE.1
        ),
    ))
}

/// An integer in `range`.
pub fn count<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: T,
    range: (T, T),
) -> Result<T, ConfigError> {
    if value >= range.0 && value <= range.1 {
        return Ok(value);
    }
    Err(ConfigError::invalid(
        key,
        format!(
            "{value} is out of range: expected between {} and {}",
            range.0, range.1
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_budget_of_1e_minus_20_is_refused_naming_the_key() {
        let err = rate("api.max_requests_per_second", 1e-20).expect_err("refused");
        assert!(err.to_string().starts_with("api.max_requests_per_second: "));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            assert!(rate("k", bad).is_err(), "{bad}");
        }
        assert!(rate("k", 20.0).is_ok());
    }

    #[test]
    fn durations_outside_their_range_are_refused_and_the_defaults_pass() {
        let huge = Duration::from_secs(u64::MAX);
        for (key, least, most) in DURATIONS {
            assert!(duration(key, key, least).is_ok(), "{key}");
            assert!(duration(key, key, most).is_ok(), "{key}");
            assert!(duration(key, key, huge).is_err(), "{key}");
            if !least.is_zero() {
                assert!(duration(key, key, Duration::ZERO).is_err(), "{key}");
            }
        }
    }
}
