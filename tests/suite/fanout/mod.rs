//! One report per client (`clients = "all"` or a fixed list): the real binary lists the
//! simulator's clients (`GET /iam/clients`, some of them test accounts or deleted) and records
//! one task per (eligible client, due period), each create asking its client's `client_id`.
//!
//! By family: the listing and what it creates (`listing`), its requests against the IAM spec
//! (`conformance`), what a failing listing and a kill in the middle of a fan-out leave behind
//! (`faults`), the config it refuses (`config`), and what status, show, hooks and backfill say
//! of it (`operator`).

mod config;
mod conformance;
mod faults;
mod listing;
mod operator;

use std::collections::BTreeMap;

use gcore_reportd_sim::SimTask;

use crate::common::{self, sha256_file, sha256_hex, Harness};

/// A monthly report for every client the API lists, plus `extra` keys.
pub fn all_clients(extra: &str) -> String {
    format!(
        r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
clients = "all"
{extra}
"#
    )
}

/// The simulator's tasks by the `client_id` they ask (a task without an integer one under 0).
pub fn tasks_by_client(h: &Harness) -> BTreeMap<i64, Vec<SimTask>> {
    let mut by_client: BTreeMap<i64, Vec<SimTask>> = BTreeMap::new();
    for task in h.sim.tasks() {
        let client = task.parameters["client_id"].as_i64().unwrap_or(0);
        by_client.entry(client).or_default().push(task);
    }
    by_client
}

/// The (date_from, date_to) the config's first report asks now: its most recent due period.
pub fn due_dates(h: &Harness) -> (String, String) {
    let config =
        gcore_reportd::config::load(&h.config_path(), &Default::default()).expect("the config");
    let report = &config.reports[0];
    let period = *gcore_reportd::engine::periods_due(report, None, common::now())
        .last()
        .expect("a period is due");
    (
        period.from.to_string(),
        period.date_to(report.date_to_style).to_string(),
    )
}

/// Exactly one remote task for each of `clients` and none for any other, each asking the
/// report's most recent due period with its client's id as an integer; every file delivered,
/// named for its client, byte-identical to what the API serves.
pub async fn assert_one_task_per_client(h: &Harness, clients: &[i64], case: &str) {
    let (from, to) = due_dates(h);
    let by_client = tasks_by_client(h);
    let asked: Vec<i64> = by_client.keys().copied().collect();
    assert_eq!(asked, clients, "{case}: the clients asked for");
    for (client, tasks) in &by_client {
        assert_eq!(
            tasks.len(),
            1,
            "{case}: client {client} has one remote task"
        );
        let p = &tasks[0].parameters;
        assert!(
            p["client_id"].is_i64(),
            "{case}: client_id is an integer: {p}"
        );
        assert_eq!(
            (p["date_from"].as_str(), p["date_to"].as_str()),
            (Some(&*from), Some(&*to))
        );
    }
    let status = status_all(h).await;
    assert_eq!(status.len(), clients.len(), "{case}: one task per client");
    for row in &status {
        assert_eq!(row["state"], "done", "{case}: {row}");
        let client = row["client_id"].as_i64().expect("status carries client_id");
        let task = &by_client[&client][0];
        let want = common::served_bytes(task, "csv");
        let path = row["path"].as_str().expect("a path");
        assert!(
            path.ends_with(&format!("expenses_{client}_{from}_{to}.csv")),
            "{path}"
        );
        assert_eq!(
            sha256_file(std::path::Path::new(path)),
            sha256_hex(&want),
            "{case}: {path}"
        );
    }
}

/// `status --json --all`, parsed: every task, however many.
pub async fn status_all(h: &Harness) -> Vec<serde_json::Value> {
    let out = h.run(&["status", "--json", "--all"]).await;
    assert!(out.status.success(), "status: {}", common::stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("status --json line is JSON"))
        .collect()
}
