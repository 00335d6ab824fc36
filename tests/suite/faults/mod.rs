//! The fault matrix: the real binary (`run --once` or the daemon) against the simulator with
//! each fault switched on — a 30 % storm of server errors, creates answered 500 after creating,
//! dropped connections, truncated downloads, invalid JSON, empty bodies, HTML instead of a file,
//! unknown statuses, tasks that fail twice then succeed, everything at once, batched polls
//! under faults (run concurrently, one case each); 429 every third request with `Retry-After` (never undercut, also with requests
//! queued behind the budget); the request budget; connections refused, then create answers
//! lost to timeouts; tasks that never finish and downloads that keep failing (both `expired`
//! at the deadline); an output directory that is unusable for a while; a database locked by
//! another process; a create rejected with 400; a task that vanishes (404); a refused key
//! (401), in the daemon and in `run --once`. Every case checks
//! that each report that can complete does, with the served bytes (sha256), that no period got
//! two live remote tasks, that no temporary file is left in the output directory, and that the
//! reports that cannot complete end in the right state.
//!
//! The tests are grouped by family: the transient-fault matrix (`transient`, its cases in
//! `cases`), 429s and the request budget (`rate_limits`), the deadline (`deadlines`), answers
//! lost on the way back (`lost_answers`), requests the server rejects (`rejected`), a refused key
//! (`refused_key`), outages longer than the deadline (`outage`) and local resources unusable
//! for a while (`local_resources`); the helpers several families use are here.

mod cases;
mod deadlines;
mod local_resources;
mod lost_answers;
mod outage;
mod rate_limits;
mod refused_key;
mod rejected;
mod transient;

use crate::common;
use crate::common::{sha256_file, sha256_hex, Harness};
use gcore_reportd_sim::{self as sim, SimOptions};
use serde_json::Value;
use std::time::Duration;

/// How long one `run --once` may take before the case counts as hung.
/// The smallest config body: one monthly report.
const ONE_REPORT: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#;

const RUN_LIMIT: Duration = Duration::from_secs(40);

/// Quick simulated task lifecycles (the harness default), seeded per case.
fn sim_options(seed: u64) -> SimOptions {
    SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(150),
        seed,
        ..SimOptions::default()
    }
}

/// `months` months of catch-up for `expenses` plus two more reports, one per format:
/// `months + 2` periods.
fn periods_in_three_formats(months: i64) -> String {
    let back = common::months_back(months);
    format!(
        r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"
catch_up_from = "{back}"
day = 1

[[reports]]
name = "plans-42"
template = "ResellerPlans"
format = "json"
parameters = {{ client_id = 42 }}

[[reports]]
name = "stats"
template = "ResellerStatistics"
format = "xlsx"
"#
    )
}

/// Four periods: two months of `expenses`, one of each other report.
fn four_periods() -> String {
    periods_in_three_formats(2)
}

/// Every `done` row's file holds the bytes the simulator serves for its remote task, and the
/// row's sha256 and size say so; the output directory holds those files and nothing else
/// (except `extra`).
fn assert_done_rows_have_the_served_bytes(h: &Harness, rows: &[Value], case: &str, extra: &[&str]) {
    let tasks = h.sim.tasks();
    let mut expected_files: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    for row in rows.iter().filter(|r| r["state"] == "done") {
        let uuid = row["uuid"].as_str().expect("a done row has a uuid");
        let task = tasks
            .iter()
            .find(|t| t.uuid == uuid)
            .unwrap_or_else(|| panic!("{case}: the simulator has no task {uuid}"));
        assert_eq!(task.status, "Completed", "{case}: {row}");
        let mut params = task.parameters.clone();
        if let Some(map) = params.as_object_mut() {
            map.remove("type");
        }
        let format = row["format"].as_str().expect("format");
        let want = sim::report_body(
            &task.template,
            &params,
            format,
            SimOptions::default().report_rows,
        );
        let want_sha = sha256_hex(&want);
        let path = std::path::PathBuf::from(row["path"].as_str().expect("path"));
        assert_eq!(
            sha256_file(&path),
            want_sha,
            "{case}: {} has the served bytes",
            path.display()
        );
        assert_eq!(row["sha256"].as_str(), Some(want_sha.as_str()), "{case}");
        assert_eq!(row["bytes"].as_u64(), Some(want.len() as u64), "{case}");
        assert!(
            path.starts_with(h.output_dir()),
            "{case}: {}",
            path.display()
        );
        let name = path.file_name().expect("file name").to_string_lossy();
        expected_files.push(name.into_owned());
    }
    expected_files.sort();
    assert_eq!(h.output_files(), expected_files, "{case}: output directory");
}

/// Runs the binary to completion within [`RUN_LIMIT`], with `env` set.
async fn run_with_env(h: &Harness, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = h.command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(RUN_LIMIT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{args:?} did not finish within {RUN_LIMIT:?}"))
        .expect("spawn gcore-reportd")
}
