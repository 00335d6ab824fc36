//! Object-storage destinations (issue 22) against a real S3 server on loopback (`moto_server`,
//! bucket versioning on, so a second write to a key shows): twelve reports through an outage
//! and two kills end as exactly one version of each key (`outage`); a restated period
//! replaces its current key and keeps the old version's, and its manifest follows each
//! rewrite (`restated`); a destination down for a
//! whole run leaves the rest done and the deliveries pending, delivered when it is back, and a
//! key holding other bytes is never overwritten (`down`); a large file goes multipart
//! (`large`); bad destination settings are refused (`config`); a database of the release
//! before opens with the new table (`upgrade`). The helpers they share are here.

mod config;
mod down;
mod large;
mod manifests;
mod outage;
mod restated;
mod upgrade;

use std::time::Duration;

use crate::common::{wait_for, Harness};

pub const BUCKET: &str = "reports-bucket";
/// The credentials the tests hand the daemon (moto accepts any).
pub const KEY_ID: &str = "AKIDTESTONLY0000";
pub const SECRET: &str = "test-secret-never-logged-0000";

/// The daemon (`run`), with the S3 credentials in its environment and `crash_at` armed.
pub fn daemon(h: &Harness, log: &str, crash_at: Option<&str>) -> crate::common::Spawned {
    let mut cmd = h.child(&["run"]);
    s3_env(&mut cmd);
    if let Some(point) = crash_at {
        cmd.env("GCORE_REPORTD_CRASH_AT", point);
    }
    h.spawn(cmd, log)
}

/// Sets the credentials on a command of the harness.
pub fn s3_env(cmd: &mut tokio::process::Command) {
    cmd.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
}

/// `(object key, version, state)` of every upload, by id.
pub async fn uploads(h: &Harness) -> Vec<(String, i64, String)> {
    let url = format!("sqlite://{}?mode=ro", h.path("state.db").display());
    let Ok(pool) = sqlx::SqlitePool::connect(&url).await else {
        return Vec::new();
    };
    let rows = sqlx::query_as("SELECT object_key, version, state FROM uploads ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap_or_default();
    pool.close().await;
    rows
}

/// `(state, bytes)` of every upload to `key`, by id.
pub async fn uploads_of_key(h: &Harness, key: &str) -> Vec<(String, i64)> {
    let url = format!("sqlite://{}?mode=ro", h.path("state.db").display());
    let Ok(pool) = sqlx::SqlitePool::connect(&url).await else {
        return Vec::new();
    };
    let sql = "SELECT state, bytes FROM uploads WHERE object_key = $1 ORDER BY id";
    let rows = sqlx::query_as(sql).bind(key).fetch_all(&pool).await;
    pool.close().await;
    rows.unwrap_or_default()
}

/// Waits until there are `n` uploads, all in `state`.
pub async fn wait_for_uploads(h: &Harness, n: usize, state: &str) {
    let what = format!("{n} uploads {state}");
    wait_for(&what, Duration::from_secs(120), || async {
        let rows = uploads(h).await;
        rows.len() == n && rows.iter().all(|(_, _, s)| s == state)
    })
    .await;
}
