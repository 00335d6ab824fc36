//! Configuration changes and schedules over the months (issue 12), with the real binary, the
//! simulator and a real SQLite file: catch-up after downtime without `catch_up_from`, the timer
//! firing daily, the 2nd as monthly due day, file names that cannot collide, storage paths that
//! cannot work refused with exit 78, one database per Gcore account, the operator commands'
//! edge cases, metrics for configured reports only, and the demo's layout.
//!
//! The tests are grouped by family: schedules over the months (`schedules`), files and paths
//! on disk (`files`), one database per account (`accounts`), the operator commands' edge cases
//! (`commands`), renames (`renames`) and removed or fixed reports (`removed`); the helpers
//! several families use are here.

mod accounts;
mod commands;
mod files;
mod removed;
mod renames;
mod requests;
mod schedules;

use crate::common;

use crate::common::{stderr, Harness};

/// The UTC date `n` days before today.
fn days_back(n: i64) -> jiff::civil::Date {
    let today = common::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    today
        .checked_sub(jiff::Span::new().days(n))
        .expect("date arithmetic")
}

const DAILY: &str = r#"
[[reports]]
name = "daily"
template = "ResellerExpenses"
period = "previous-day"
schedule = "cron: 0 0 * * *"
"#;

/// Runs `args` with the process killed at `point` (a crash point): a task is left in flight.
async fn run_killed_at(h: &Harness, args: &[&str], point: &str) {
    let out = h
        .command(args)
        .env("GCORE_REPORTD_CRASH_AT", point)
        .output()
        .await
        .expect("run");
    assert_eq!(
        out.status.code(),
        None,
        "killed at {point}: {}",
        stderr(&out)
    );
}
