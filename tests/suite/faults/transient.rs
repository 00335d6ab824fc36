//! Every report completes once with the served bytes under each transient fault, the cases
//! run concurrently: server errors, creates answered 500 after creating, dropped connections,
//! truncated downloads, invalid JSON, empty bodies, HTML instead of a file, unknown statuses,
//! tasks that fail twice then succeed, everything at once, and batched polls under faults.

use super::cases::{
    any_fault, batched_polls, cut_bodies, cut_downloads, empty_bodies, html_downloads,
    many_periods, remote_failures, server_errors, unknown_statuses, unparsable_json, Case,
};
use super::{
    assert_done_rows_have_the_served_bytes, periods_in_three_formats, run_with_env, sim_options,
};
use crate::common;
use crate::common::{
    assert_no_request_has_two_live_remote_tasks, assert_no_temporary_files,
    remote_tasks_per_request, stderr, Harness,
};
use gcore_reportd_sim::{Faults, SimOptions};
use std::time::{Duration, Instant};

/// Every report completes with the served bytes despite the fault; returns the run's duration.
async fn run_transient_case(case: Case, seed: u64) -> (&'static str, Duration, usize, usize) {
    let name = case.name;
    let options = SimOptions {
        record: true,
        ..sim_options(seed)
    };
    let h = Harness::with_options(options, "").await;
    let (reports, periods) = case
        .reports
        .clone()
        .unwrap_or((periods_in_three_formats(10), 12));
    h.write_config(&format!(
        "{}\n[defaults]\n{}\n{}",
        common::FAST_POLLING,
        case.defaults,
        reports
    ));
    h.sim.set_faults(case.faults.clone());
    let started = Instant::now();
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{name}: run --once failed ({:?}): {}",
        out.status.code(),
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("panicked"),
        "{name}: {}",
        stderr(&out)
    );
    h.sim.set_faults(Faults::default());
    let rows = h.status().await;
    assert_eq!(rows.len(), periods, "{name}: {periods} periods: {rows:?}");
    for row in &rows {
        assert_eq!(row["state"], "done", "{name}: {row}");
        assert_eq!(
            row["attempts"].as_u64(),
            Some(case.attempts),
            "{name}: {row}"
        );
    }
    assert_done_rows_have_the_served_bytes(&h, &rows, name, &[]);
    assert_no_request_has_two_live_remote_tasks(&h, name);
    assert_no_temporary_files(&h, name);
    let per = remote_tasks_per_request(&h);
    assert_eq!(per.len(), periods, "{name}: {per:?}");
    assert!(
        per.values().all(|all| *all == case.remote_per_period),
        "{name}: expected {} remote task(s) per period: {per:?}",
        case.remote_per_period
    );
    let fired = (case.fired)(&h.sim.exchanges(), &h.sim.tasks());
    assert!(fired > 0, "{name}: the fault never fired");
    let requests: u64 = h.sim.request_counts().values().sum();
    (name, elapsed, requests as usize, fired)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_completes_once_with_the_right_bytes_under_each_transient_fault() {
    let cases = vec![
        Case {
            name: "30 % server errors (500/502/503/504, HTML bodies)",
            faults: Faults {
                error_rate: 0.3,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: server_errors,
        },
        Case {
            name: "30 % of creates answered 500 after creating the task",
            faults: Faults {
                error_after_create_rate: 0.3,
                error_rate: 0.1,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: server_errors,
        },
        Case {
            name: "25 % dropped connections (body cut after the headers)",
            faults: Faults {
                drop_rate: 0.25,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: cut_bodies,
        },
        Case {
            name: "half the downloads truncated short of Content-Length",
            faults: Faults {
                truncate_downloads_rate: 0.5,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: cut_downloads,
        },
        Case {
            name: "30 % invalid JSON with status 200",
            faults: Faults {
                invalid_json_rate: 0.3,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: unparsable_json,
        },
        Case {
            name: "25 % of successful answers with an empty body (creates too)",
            faults: Faults {
                empty_body_rate: 0.25,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: empty_bodies,
        },
        Case {
            name: "30 % of downloads answered 200 with an HTML page instead of the file",
            faults: Faults {
                html_download_rate: 0.3,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: html_downloads,
        },
        Case {
            name: "40 % of task objects with an unknown status",
            faults: Faults {
                unknown_status_rate: 0.4,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: unknown_statuses,
        },
        Case {
            name: "every task fails twice remotely, then succeeds (max_attempts 3)",
            faults: Faults {
                fail_first: 2,
                ..Faults::default()
            },
            defaults: "max_attempts = 3",
            remote_per_period: 3,
            attempts: 3,
            reports: None,
            fired: remote_failures,
        },
        Case {
            name: "everything at once, at lower rates, with latency",
            faults: Faults {
                error_rate: 0.1,
                error_after_create_rate: 0.1,
                drop_rate: 0.1,
                truncate_downloads_rate: 0.2,
                invalid_json_rate: 0.1,
                unknown_status_rate: 0.2,
                delay: Duration::from_millis(15),
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: None,
            fired: any_fault,
        },
        Case {
            name: "two dozen periods polled in batches, with 10 % server errors and drops",
            faults: Faults {
                error_rate: 0.1,
                drop_rate: 0.1,
                ..Faults::default()
            },
            defaults: "",
            remote_per_period: 1,
            attempts: 1,
            reports: Some((many_periods(24), 24)),
            fired: |x, t| batched_polls(x, t).min(server_errors(x, t) + cut_bodies(x, t)),
        },
    ];
    let started = Instant::now();
    let handles: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let name = case.name;
            (name, tokio::spawn(run_transient_case(case, 11 + i as u64)))
        })
        .collect();
    let mut failures = Vec::new();
    for (name, handle) in handles {
        match handle.await {
            Ok((name, elapsed, requests, fired)) => eprintln!(
                "fault case \"{name}\": done in {elapsed:.2?}, {requests} requests, fault fired {fired} times"
            ),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    eprintln!("fault matrix: {:.2?} in all", started.elapsed());
    assert!(
        failures.is_empty(),
        "failed cases:\n{}",
        failures.join("\n")
    );
}
