//! The operator's view of a report per client: `status` summarises it per period (clients
//! done, running, failed, waiting) unless `--all`; `--client ID` shows one client's tasks;
//! `status --json` and `show` carry `client_id`; a hook sees `REPORT_CLIENT_ID`; `backfill
//! --client ID` records older periods for that client only; the metrics count the clients not
//! delivered per report, with no client label.

use std::time::Duration;

use super::tasks_by_client;
use crate::common::{months_back, show, stderr, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_summarises_a_report_per_client_and_show_hooks_and_backfill_name_the_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seen = dir.path().join("clients.txt");
    let hook = format!(
        r#"["sh", "-c", "echo \"$REPORT_CLIENT_ID\" >> {}"]"#,
        seen.display()
    );
    let config = format!(
        "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nclients = [17, 5]\non_success = {hook}\n"
    );
    let h = Harness::start(&config).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));

    let table = h.run(&["status"]).await;
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains(": 2 client(s): 2 done, 0 running, 0 failed, 0 waiting"),
        "{table}"
    );
    assert!(
        !table.contains(".csv"),
        "no row per client without --all: {table}"
    );
    let all = h.run(&["status", "--all"]).await;
    let all = String::from_utf8_lossy(&all.stdout).into_owned();
    assert_eq!(
        all.matches(".csv").count(),
        2,
        "--all lists every task: {all}"
    );

    let one = h.run(&["status", "--json", "--client", "17"]).await;
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&one.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(rows.len(), 1, "--client 17: {rows:?}");
    assert_eq!(rows[0]["client_id"], 17);
    let shown = show(&h, &rows[0]["id"].to_string()).await;
    assert!(shown.contains("client_id: 17"), "{shown}");

    let mut hooked: Vec<String> = std::fs::read_to_string(&seen)
        .expect("the hooks ran")
        .lines()
        .map(str::to_string)
        .collect();
    hooked.sort();
    assert_eq!(hooked, ["17", "5"], "each hook saw its client");

    let (from, to) = (months_back(3).to_string(), months_back(2).to_string());
    let args = [
        "backfill", "--report", "expenses", "--client", "5", "--from", &from, "--to", &to,
    ];
    let out = h.run(&args).await;
    assert!(out.status.success(), "backfill: {}", stderr(&out));
    let by_client = tasks_by_client(&h);
    assert_eq!(by_client[&5].len(), 3, "two older periods for client 5");
    assert_eq!(by_client[&17].len(), 1, "none for client 17");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_undelivered_clients_per_report_with_no_client_label() {
    let h = Harness::start("").await;
    h.write_config(&format!(
        "{}\n[metrics]\nlisten = \"127.0.0.1:0\"\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nclients = [5, 17, 23]\n",
        crate::common::FAST_POLLING
    ));
    h.sim.set_faults(gcore_reportd_sim::Faults {
        never_finish_when: Some(("client_id".into(), 17.into())),
        ..Default::default()
    });
    let daemon = h.spawn(h.child(&["run"]), "daemon.log");
    let port = daemon.metrics_port().await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let series = "gcore_reportd_clients_undelivered{report=\"expenses\"} 1";
    let page = crate::common::wait_for_value(
        "one client undelivered",
        Duration::from_secs(60),
        || async {
            let page = reqwest::get(&url).await.ok()?.text().await.ok()?;
            page.lines().any(|l| l == series).then_some(page)
        },
    )
    .await;
    assert!(!page.contains("client_id"), "no client label: {page}");
    daemon.stop().await;
}
