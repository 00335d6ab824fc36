//! Several hosts on one PostgreSQL database (issue 23): three daemon processes share one
//! database and one config, killed and restarted (or stalled past their lease) under late
//! commits and creates answered 500, then one is killed for good. No leader: every due period is recorded once, each task is
//! worked under one host's lease, and a dead host's work is taken over when its lease lapses.

use std::time::{Duration, Instant};

use gcore_reportd_sim::{Faults, SimOptions};
use rand::{Rng, SeedableRng};

use crate::common::{
    assert_one_remote_task_per_request, postgres, served_as_created, sha256_file, wait_for,
    Harness, Spawned, FAST_POLLING,
};
use crate::exactly_once::per_client_reports;

const REPORTS: usize = 300;

/// Leases short enough for a test: a dead host's work is free 5 s after its last heartbeat.
const CLUSTER: &str = "[cluster]\nlease = \"5s\"\n";

fn daemon(h: &Harness, n: usize) -> Spawned {
    let mut cmd = h.daemon();
    // Creates are committed 2 s late: reconcile looks 4 s after the mark.
    // The account's budget, shared by the live hosts, spreads the work past the storm.
    cmd.env("GCORE_REPORTD__API__CREATE_SETTLE", "4s")
        .env("GCORE_REPORTD__API__REQUEST_TIMEOUT", "2s")
        .env("GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND", "8");
    h.spawn(cmd, &format!("daemon-{n}.log"))
}

/// Every task, as `status --json --all` gives it (empty while no host has migrated yet).
async fn all_rows(h: &Harness) -> Vec<serde_json::Value> {
    let out = h.run(&["status", "--json", "--all"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Whether `status` shows the host of process `pid` in `state` ("live", "lease ended").
async fn host_says(h: &Harness, pid: u32, state: &str) -> bool {
    let status = h.run(&["status"]).await;
    let said = String::from_utf8_lossy(&status.stdout).into_owned();
    let pid = format!("(pid {pid}, ");
    said.lines().any(|l| l.contains(&pid) && l.contains(state))
}

async fn done(h: &Harness) -> usize {
    let rows = all_rows(h).await;
    rows.iter().filter(|r| r["state"] == "done").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_killed_and_restarted_make_each_report_once_and_deliver_every_file() {
    let options = SimOptions {
        pending_for: Duration::from_secs(1),
        running_for: Duration::from_secs(2),
        seed: 23,
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, "").await;
    let url = postgres::database().await;
    let reports = per_client_reports(REPORTS, 1);
    h.write_config_on(&url, &format!("{FAST_POLLING}\n{CLUSTER}\n{reports}"));
    h.sim.set_faults(Faults {
        late_create: Some(Duration::from_secs(2)),
        late_create_rate: 0.3,
        hold_create: Duration::from_millis(500),
        error_after_create_rate: 0.1,
        ..Faults::default()
    });
    let mut hosts: Vec<Spawned> = (0..3).map(|n| daemon(&h, n)).collect();
    // For a minute, one host or another is SIGKILLed every 2 to 4 s (the pace, in real
    // time: the hosts are processes on the database's clock) and started again.
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let storm = Instant::now();
    let mut kills = 0;
    while storm.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(2000..4000))).await;
        let n = rng.random_range(0..3);
        kills += 1;
        if kills % 4 == 0 {
            // A host that stalls past its lease (SIGSTOP until the database shows its lease
            // ended; the lease is 5 s) and wakes: its tasks may have been taken over, and it
            // changes nothing of them.
            // A host restarted a moment ago may not have joined yet: stopped before it has a
            // lease, it would never show one ending.
            let pid = hosts[n].id();
            let live = || host_says(&h, pid, "live");
            wait_for("the host to hold a lease", Duration::from_secs(30), live).await;
            hosts[n].signal(libc::SIGSTOP);
            let ended = || host_says(&h, pid, "lease ended");
            wait_for(
                "the stalled host's lease to lapse",
                Duration::from_secs(30),
                ended,
            )
            .await;
            hosts[n].signal(libc::SIGCONT);
            continue;
        }
        hosts[n].kill().await;
        hosts[n] = daemon(&h, 10 + kills);
    }
    // One is killed for good: the other two take its work over.
    hosts[0].kill().await;
    let before = done(&h).await;
    let limit = Duration::from_secs(180);
    wait_for(
        "every report delivered within 3 minutes of the last kill",
        limit,
        || async { done(&h).await == REPORTS },
    )
    .await;
    for host in hosts.drain(1..) {
        host.stop().await;
    }
    // The last kill left work for the other two to take over.
    assert!(
        before < REPORTS,
        "all {before} were delivered before the last kill"
    );
    assert_one_remote_task_per_request(&h, REPORTS, "three hosts, killed and restarted");
    let logs: String = (0..10 + kills)
        .filter_map(|n| std::fs::read_to_string(h.path(&format!("daemon-{n}.log"))).ok())
        .collect();
    assert!(
        logs.contains("lease lapsed"),
        "a stalled host found its lease lapsed on waking"
    );
    let tasks = h.sim.tasks();
    let rows = all_rows(&h).await;
    assert_eq!(rows.len(), REPORTS);
    for row in &rows {
        let uuid = row["uuid"].as_str().expect("a done row has a uuid");
        let task = tasks
            .iter()
            .find(|t| t.uuid == uuid)
            .expect("its remote task");
        let path = std::path::Path::new(row["path"].as_str().expect("a path"));
        let want = served_as_created(task, "csv");
        assert_eq!(
            sha256_file(path),
            crate::common::sha256_hex(&want),
            "{}",
            path.display()
        );
    }
    let files: Vec<String> = h
        .output_files()
        .into_iter()
        .filter(|f| !f.starts_with('.'))
        .collect();
    assert_eq!(files.len(), REPORTS, "{files:?}");
}
