//! Restated months kept as versions (issue 13, items 2 and 3), with the real daemon, the
//! simulator (whose period content changes with each new task until it closes) and SQLite: a
//! period refreshed twice whose content changed once has two versions on disk, a manifest
//! listing both, one `on_restated` run, and a second refresh recorded unchanged; an empty
//! report under `on_empty = "refetch"` is asked again at the next refresh; a daemon killed
//! during a refresh creates no second remote task for it.
//!
//! The tests are grouped by family: a restated period kept as versions (`restated`), what a
//! refresh does with an empty report or a daemon killed during it (`refresh`), two refreshes
//! due at once after downtime (`downtime`), one task of a period in flight (`in_flight`) and
//! unique version numbers (`unique`); the helpers
//! they share are here.

mod downtime;
mod in_flight;
mod ledger;
mod refresh;
mod restated;
mod unique;

use crate::common;
use crate::common::{wait_for, Harness};
use serde_json::Value;
use std::time::Duration;

/// Waits until `status --json` satisfies `done`, then returns it.
async fn status_when(h: &Harness, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    wait_for(what, Duration::from_secs(90), || async {
        h.try_status().await.is_some_and(|rows| done(&rows))
    })
    .await;
    h.status().await
}

fn all_done(rows: &[Value], n: usize) -> bool {
    rows.len() == n && rows.iter().all(|r| r["state"] == "done")
}

fn by_refresh(rows: &[Value], refresh: i64) -> &Value {
    rows.iter()
        .find(|r| r["refresh"] == refresh)
        .unwrap_or_else(|| panic!("no refresh {refresh}: {rows:?}"))
}

/// Starts the daemon, its log in the harness directory.
fn start_daemon(h: &Harness) -> common::Spawned {
    h.spawn(h.child(&["run"]), "daemon.log")
}

/// Stops a daemon with SIGTERM and waits for it.
async fn stop(daemon: common::Spawned) {
    daemon.stop().await;
}
