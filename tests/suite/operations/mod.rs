//! What an operator relies on, with the real binary against the simulator: the systemd notify
//! protocol on a test `NOTIFY_SOCKET` (READY, STATUS, WATCHDOG, STOPPING); task fields in JSON
//! log lines and in journald entries; hooks with their environment, no shell, a timeout that
//! kills the whole hook and `retry-hook`; the Prometheus endpoint's values after a run;
//! `status` and `show` while the daemon holds the database; and SIGHUP re-reading the key file.
//!
//! The tests are grouped by family: systemd's protocol (`systemd`), log lines and journald
//! entries (`logs`), hooks (`hooks`), the metrics endpoint (`metrics`) and the commands an
//! operator runs beside the daemon (`commands`); the helpers several families use are here.

mod commands;
mod hooks;
mod logs;
mod metrics;
mod systemd;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::common::{stderr, wait_for, Harness};

// ---------------------------------------------------------------------------------------------
// Helpers: the daemon as a child process, waiting, signals, a notify socket, a journal socket.
// ---------------------------------------------------------------------------------------------

/// Waits until the daemon has downloaded `n` files and every task is done.
async fn wait_for_downloads(h: &Harness, n: usize) {
    wait_for(
        &format!("{n} reports are downloaded"),
        Duration::from_secs(60),
        || async {
            h.output_files().len() == n && h.status().await.iter().all(|t| t["state"] == "done")
        },
    )
    .await;
}

/// `KEY=VALUE` lines of an `env` dump.
fn read_env(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("the hook wrote {}: {e}", file.display()))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `show ID` output, asserting it succeeded.
async fn show(h: &Harness, id: &str) -> String {
    let out = h.run(&["show", id]).await;
    assert!(out.status.success(), "show {id}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
