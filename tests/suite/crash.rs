//! Crash safety: the real `gcore-reportd run` is killed with SIGKILL at many moments (exact
//! points inside intent, create, poll, download and rename, plus kills at arbitrary times),
//! while the simulator answers some creates with 500 *after* creating the task. After each
//! restart the run completes, the simulator holds exactly one task per (report, period), and
//! the output directory holds exactly one correct file per period and no temporary files.

use crate::common;
use std::time::Duration;

use crate::common::{
    assert_no_temporary_files, assert_one_remote_task_per_request, sha256_file, stderr, Harness,
};
use gcore_reportd_sim::{Faults, SimOptions};

/// Three months of catch-up for one report, the latest month for another: four periods.
fn reports() -> String {
    let three_back = common::months_back(3);
    format!(
        r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
catch_up_from = "{three_back}"
day = 1

[[reports]]
name = "stats-7"
template = "ResellerStatistics"
format = "json"
parameters = {{ client_id = 7 }}
"#
    )
}

const EXPECTED_PERIODS: usize = 4;

/// The instrumented points, each with the hits at which the process dies.
fn kill_points() -> Vec<String> {
    let points: [(&str, &[u32]); 10] = [
        ("schedule.recorded", &[1]),
        ("create.marked", &[1, 2]),
        ("create.before_post", &[1, 2, 3, 4]),
        ("create.after_post", &[1, 2]),
        ("create.recorded", &[1, 2, 3, 4]),
        ("poll.answered", &[1, 3, 5]),
        ("poll.completed", &[1, 2, 4]),
        ("download.chunk", &[1, 3]),
        ("download.before_rename", &[1, 2, 4]),
        ("download.renamed", &[1, 2, 4]),
    ];
    points
        .iter()
        .flat_map(|(name, hits)| hits.iter().map(move |n| format!("{name}:{n}")))
        .collect()
}

async fn harness() -> Harness {
    let options = SimOptions {
        pending_for: Duration::from_millis(60),
        running_for: Duration::from_millis(60),
        seed: 7,
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, &reports()).await;
    h.sim.set_faults(Faults {
        error_after_create_rate: 0.3,
        ..Faults::default()
    });
    h
}

/// One remote task per (template, period, client), and one correct file per period.
fn assert_exactly_once(h: &Harness, case: &str) {
    assert_one_remote_task_per_request(h, EXPECTED_PERIODS, case);
    assert_no_temporary_files(h, case);
    let files = h.output_files();
    assert_eq!(files.len(), EXPECTED_PERIODS, "{case}: files {files:?}");
    for task in h.sim.tasks() {
        let params = &task.parameters;
        let (report, format) = match task.template.as_str() {
            "ResellerExpenses" => ("expenses", "csv"),
            _ => ("stats-7", "json"),
        };
        let name = format!(
            "{report}_{}_{}.{format}",
            params["date_from"].as_str().unwrap_or(""),
            params["date_to"].as_str().unwrap_or("")
        );
        let want = common::served_bytes(&task, format);
        assert_eq!(
            sha256_file(&h.output_dir().join(&name)),
            common::sha256_hex(&want),
            "{case}: {name} has the served bytes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_kill_point_the_run_resumes_and_creates_each_period_exactly_once() {
    let points = kill_points();
    let mut killed = Vec::new();
    for point in &points {
        let h = harness().await;
        let first = h
            .command(&["run", "--once"])
            .env("GCORE_REPORTD_CRASH_AT", point)
            .output()
            .await
            .expect("run");
        // Killed by the signal: no exit code. (A point the random faults made unreachable lets
        // the run finish; exactly-once must hold all the same.)
        if first.status.code().is_none() {
            killed.push(point.clone());
            let second = h.run(&["run", "--once"]).await;
            assert!(
                second.status.success(),
                "{point}: the restarted run failed: {}",
                stderr(&second)
            );
        }
        assert_exactly_once(&h, point);
    }
    eprintln!(
        "kill points exercised: {} of {}: {killed:?}",
        killed.len(),
        points.len()
    );
    assert!(
        killed.len() >= 20,
        "at least 20 kill points were hit: {killed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_arbitrary_moments_again_and_again_the_daemon_still_delivers_each_period_once() {
    let h = harness().await;
    let mut kills = 0;
    for delay_ms in [40u64, 90, 15, 150, 60, 250, 30, 120] {
        let mut child = h.spawn(h.command(&["run", "--once"]), "run.log");
        // The arbitrary moment is the point of this test: a fixed delay, not a condition.
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if child.is_running() {
            child.kill().await;
            kills += 1;
        }
    }
    let last = h.run(&["run", "--once"]).await;
    assert!(last.status.success(), "{}", stderr(&last));
    eprintln!("arbitrary-moment kills: {kills}");
    assert_exactly_once(&h, "repeated kills");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_just_after_a_create_is_refused_the_period_stays_failed_and_its_hook_runs_once() {
    let h = Harness::start("").await;
    let runs = h.path("failure-hook.runs");
    h.write_config(&format!(
        "{}\n[[reports]]\nname = \"refused\"\ntemplate = \"NoSuchTemplate\"\non_failure = [\"/bin/sh\", \"-c\", \"echo ran >> \\\"$0\\\"\", \"{}\"]\n",
        common::FAST_POLLING,
        runs.display()
    ));
    let first = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD_CRASH_AT", "create.refused:1")
        .output()
        .await
        .expect("run");
    assert_eq!(first.status.code(), None, "killed: {}", stderr(&first));
    assert!(!runs.exists(), "the hook ran before the kill");
    let second = h.run(&["run", "--once"]).await;
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let tasks = h.status().await;
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert_eq!(tasks[0]["state"], "failed", "{tasks:#?}");
    assert!(h.sim.tasks().is_empty(), "nothing was created remotely");
    let ran = std::fs::read_to_string(&runs).expect("the failure hook ran after the restart");
    assert_eq!(ran, "ran\n", "the failure hook ran exactly once");
}
