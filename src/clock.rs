//! The one clock the engine reads "now" from, handed to it instead of read from the system
//! wherever a decision is made: production uses the system clock; tests use a manual clock
//! they set and advance (schedules, deadlines, backoff and DST paths without real sleeps), or,
//! for the real binary, `GCORE_REPORTD_NOW=<RFC 3339 instant>`, a system clock shifted so the
//! process starts at that instant (tests near a month boundary use a fixed date, not today's).
//! Times are Unix milliseconds, the unit of every time in the database.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A source of "now". Cheap to clone; clones read the same clock.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Source>);

#[derive(Debug)]
enum Source {
    System,
    /// The system clock plus a fixed offset (ms).
    Shifted(i64),
    /// A clock only its owner moves.
    Manual(AtomicI64),
}

/// The test hook: the instant the process's clock starts at.
pub const NOW_VARIABLE: &str = "GCORE_REPORTD_NOW";

fn system_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Clock {
    pub fn system() -> Clock {
        Clock(Arc::new(Source::System))
    }

    /// The system clock, or, with `GCORE_REPORTD_NOW` set to an RFC 3339 instant, the system
    /// clock shifted to start there. An unreadable value is an error naming the variable.
    pub fn from_env() -> Result<Clock, String> {
        let Ok(value) = std::env::var(NOW_VARIABLE) else {
            return Ok(Clock::system());
        };
        let at: jiff::Timestamp = value
            .parse()
            .map_err(|e| format!("{NOW_VARIABLE}: {value:?} is not an RFC 3339 instant ({e})"))?;
        let offset = at.as_millisecond().saturating_sub(system_ms());
        Ok(Clock(Arc::new(Source::Shifted(offset))))
    }

    /// A clock standing at `at_ms` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(at_ms: i64) -> Clock {
        Clock(Arc::new(Source::Manual(AtomicI64::new(at_ms))))
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &*self.0 {
            Source::System => system_ms(),
            Source::Shifted(offset) => system_ms().saturating_add(*offset),
            Source::Manual(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Now as a timestamp (the epoch if the clock stands outside jiff's range).
    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// Moves a manual clock to `at_ms`; other clocks ignore it.
    pub fn set(&self, at_ms: i64) {
        if let Source::Manual(at) = &*self.0 {
            at.store(at_ms, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward by `by`; other clocks ignore it.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(at) = &*self.0 {
            at.fetch_add(ms(by), Ordering::SeqCst);
        }
    }
}

/// A duration in milliseconds, saturating (a duration from the config or the network can be
/// absurdly long; it must not wrap).
pub fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `at + d`, saturating: the time something is next due, never wrapped into the past.
pub fn after(at: i64, d: Duration) -> i64 {
    at.saturating_add(ms(d))
}

/// How long from `now` until `at` (zero if it has passed).
pub fn until(now: i64, at: i64) -> Duration {
    Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now_ms(), 3_000);
        clock.set(10);
        assert_eq!(clock.clone().now_ms(), 10);
    }

    #[test]
    fn absurd_durations_saturate_instead_of_wrapping() {
        assert_eq!(after(i64::MAX - 5, Duration::from_secs(u64::MAX)), i64::MAX);
        assert_eq!(until(10, 5), Duration::ZERO);
    }
}
