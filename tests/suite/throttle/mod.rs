//! A throttled, slow or hostile API, with the real binary against the simulator: every create
//! answered 429 with `Retry-After: 8` while a stand-in for systemd's notify socket measures
//! the watchdog's pings, then a SIGKILL and a restart that must wait out the pause it recorded
//! (and, on the test's clock, a restarted engine that sends nothing until the clock passes it);
//! absurd `Retry-After` values (a u64's maximum, a date in year 9999) capped at
//! `api.max_retry_after`; a server that trickles a byte a second (JSON answers and downloads);
//! a refused key with many reports due (one request per `auth_retry_interval`); endless JSON
//! bodies on create and on list (the daemon's peak RSS stays under 40 MB).
//!
//! The tests are grouped by family: `Retry-After` waited out, capped and remembered across a
//! restart (`retry_after`), what holds requests back besides it — a pause recorded by an
//! earlier process, a refused key, the request budget (`held_back`) — and servers that trickle,
//! stall, send endless or oversized bodies (`hostile`), and the conditions they leave, changed
//! compare-and-set (`conditions`); the helpers several families use are here.

mod conditions;
mod held_back;
mod hostile;
mod retry_after;

use crate::common::{status_conditions, wait_for_value, Harness};
use std::time::Duration;

const ONE_REPORT: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#;

fn requests(h: &Harness) -> u64 {
    h.sim.request_counts().values().sum()
}

fn count(h: &Harness, op: &str) -> u64 {
    h.sim.request_counts().get(op).copied().unwrap_or(0)
}

fn answered(h: &Harness, status: u16) -> u64 {
    h.sim.status_counts().get(&status).copied().unwrap_or(0)
}

/// The pause `status` shows, as "HH:MM:SS", once it shows one.
async fn shown_pause(h: &Harness) -> String {
    wait_for_value(
        "status to show the API's pause",
        Duration::from_secs(15),
        || async {
            status_conditions(h).await.iter().find_map(|c| {
                c.split_once("the API asked to wait until ")
                    .map(|(_, rest)| rest.chars().take(8).collect::<String>())
            })
        },
    )
    .await
}
