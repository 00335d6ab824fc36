//! Exactly once across restarts: one remote task per (report, period) whatever happens to the
//! daemon between a create and its answer. The simulator holds creates and commits them late,
//! echoes parameters loosely, loses tasks for a while, fails list pages and runs a clock ahead;
//! the real binary runs against it with a real SQLite file.
//!
//! The daemon's restarts and the server's odd answers are in `restarts`, the store's
//! compare-and-set and unreadable rows in `store`; the set-up they share is here.

mod evidence;
mod restarts;
mod store;

use std::time::Duration;

use crate::common::{months_back, wait_for, Harness, Spawned};
use gcore_reportd_sim::SimOptions;

fn sim_options() -> SimOptions {
    SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(100),
        seed: 10,
        ..SimOptions::default()
    }
}

/// `n` monthly reports of one template, one client each, caught up over `months` months.
pub(crate) fn per_client_reports(n: usize, months: i64) -> String {
    let from = months_back(months);
    (0..n)
        .map(|i| {
            format!("[[reports]]\nname = \"client-{i}\"\ntemplate = \"ResellerExpenses\"\ncatch_up_from = \"{from}\"\nday = 1\nparameters = {{ client_id = {i} }}\n")
        })
        .collect()
}

fn creates(h: &Harness) -> u64 {
    h.sim.request_counts().get("create").copied().unwrap_or(0)
}

/// Starts `run` and waits until it has said it is starting.
async fn start_daemon(h: &Harness, settle: &str) -> Spawned {
    let mut cmd = h.command(&["run"]);
    cmd.env("GCORE_REPORTD__API__CREATE_SETTLE", settle);
    let child = h.spawn(cmd, "daemon.log");
    wait_for("the daemon to start", Duration::from_secs(20), || async {
        child.logged("gcore-reportd starting").is_some()
    })
    .await;
    child
}

async fn kill(mut child: Spawned) {
    child.kill().await;
}
