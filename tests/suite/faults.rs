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

use crate::common;
use std::time::{Duration, Instant};

use crate::common::{
    assert_no_request_has_two_live_remote_tasks, assert_no_temporary_files,
    remote_tasks_per_request, sha256_file, sha256_hex, status_conditions, stderr, wait_for,
    Harness,
};
use gcore_reportd::clock::Clock;
use gcore_reportd_sim::{self as sim, Exchange, Faults, SimOptions, SimTask};
use serde_json::Value;

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

/// One case of the transient-fault matrix.
struct Case {
    name: &'static str,
    faults: Faults,
    /// `[defaults]` lines for every report.
    defaults: &'static str,
    /// Remote tasks each period ends up with (more than one when tasks fail remotely).
    remote_per_period: usize,
    /// Local attempts each period ends up with.
    attempts: u64,
    /// The reports (default: 12 periods in three formats) and how many periods they make.
    reports: Option<(String, usize)>,
    /// How many times the fault visibly fired, from the recorded exchanges and remote tasks.
    fired: fn(&[Exchange], &[SimTask]) -> usize,
}

fn server_errors(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter().filter(|e| e.status >= 500).count()
}

fn cut_bodies(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter().filter(|e| e.aborted).count()
}

fn cut_downloads(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| e.aborted && e.path.ends_with("/download"))
        .count()
}

fn empty_bodies(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| (200..300).contains(&e.status) && e.response_body.is_empty() && !e.aborted)
        .count()
}

fn html_downloads(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| {
            e.status == 200
                && e.path.ends_with("/download")
                && e.response_content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("text/html"))
        })
        .count()
}

fn unparsable_json(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| {
            e.status == 200
                && e.response_content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("application/json"))
                && !e.path.ends_with("/download")
                && serde_json::from_slice::<Value>(&e.response_body).is_err()
        })
        .count()
}

fn unknown_statuses(x: &[Exchange], _: &[SimTask]) -> usize {
    x.iter()
        .filter(|e| String::from_utf8_lossy(&e.response_body).contains("\"Exploded\""))
        .count()
}

fn remote_failures(_: &[Exchange], tasks: &[SimTask]) -> usize {
    tasks.iter().filter(|t| t.status == "Failed").count()
}

fn batched_polls(x: &[Exchange], _: &[SimTask]) -> usize {
    // Reconciliation lists filter by template; batched status polls do not.
    x.iter()
        .filter(|e| e.method == "GET" && e.path == "/billing/org/v1/reports")
        .filter(|e| !e.query.as_deref().unwrap_or("").contains("template="))
        .count()
}

fn any_fault(x: &[Exchange], t: &[SimTask]) -> usize {
    server_errors(x, t) + cut_bodies(x, t) + unparsable_json(x, t) + unknown_statuses(x, t)
}

/// `months` months of catch-up: enough polling tasks due at once for batched status polls.
fn many_periods(months: i64) -> String {
    let back = common::months_back(months);
    format!(
        r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
catch_up_from = "{back}"
day = 1
"#
    )
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_429_with_retry_after_no_request_arrives_before_it_has_passed() {
    // A slow task, so that several of its polls fall on every third request.
    let options = SimOptions {
        record: true,
        pending_for: Duration::from_millis(1500),
        running_for: Duration::from_millis(1000),
        ..sim_options(3)
    };
    let h = Harness::with_options(options, ONE_REPORT).await;
    h.sim.set_faults(Faults {
        too_many_every: 3,
        retry_after_secs: 1,
        ..Faults::default()
    });
    // Watch arrivals (counted as a request comes in) and 429s (counted as it is answered).
    let (out, seen) = watch_counters(&h, h.command(&["run", "--once"]).output()).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let exchanges = h.sim.exchanges();
    let throttled: Vec<_> = exchanges.iter().filter(|e| e.status == 429).collect();
    assert!(
        throttled.len() >= 2,
        "several requests were throttled: {} of {}",
        throttled.len(),
        exchanges.len()
    );
    for e in &throttled {
        let retry_after = e
            .response_headers
            .iter()
            .find(|(n, _)| n == "retry-after")
            .map(|(_, v)| v.as_str());
        assert_eq!(retry_after, Some("1"), "{e:?}");
    }
    // Requests are sequential (one task), so exchange k is request k+1. For each 429, the
    // next request must arrive at least Retry-After after the 429 went out (observation lag
    // is a few ms; a request arriving in the same observation would show as a zero gap).
    let first_seen =
        |pred: &dyn Fn(&(Instant, u64, u64)) -> bool| seen.iter().find(|s| pred(s)).map(|s| s.0);
    let mut gaps = Vec::new();
    let mut throttled_so_far = 0;
    for (k, e) in exchanges.iter().enumerate() {
        if e.status != 429 {
            continue;
        }
        throttled_so_far += 1;
        let answered = first_seen(&|s| s.2 >= throttled_so_far).expect("429 observed");
        let next_request = k as u64 + 2;
        if let Some(arrived) = first_seen(&|s| s.1 >= next_request) {
            gaps.push(arrived.saturating_duration_since(answered));
        }
    }
    assert!(!gaps.is_empty(), "observed the 429s: {seen:?}");
    let shortest = gaps.iter().min().copied().unwrap_or_default();
    eprintln!(
        "429s: {}, requests: {}, shortest wait after a 429: {shortest:.3?}",
        throttled.len(),
        exchanges.len()
    );
    assert!(
        shortest >= Duration::from_millis(970),
        "a request arrived {shortest:?} after a 429 with Retry-After: 1 ({gaps:?})"
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "429", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "429");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_completed_before_the_deadline_is_fetched_though_its_next_poll_is_after_it() {
    // The first poll is due 2 s after the create, the deadline 1 s after it, and the report is
    // ready after 0.25 s: the look at the deadline finds it Completed and fetches it.
    let h = Harness::with_options(sim_options(29), "").await;
    h.write_config(
        r#"
[polling]
initial_interval = "2s"
max_interval = "4s"
deadline = "1s"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#,
    );
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "last look", &[]);
    assert_eq!(h.sim.request_counts().get("retrieve"), Some(&1));
}

/// One report whose every create is answered 504 while its task appears 1 s later; the
/// daemon waits `settle` before looking for it. Returns the remote tasks made.
async fn late_creates(settle: &str) -> usize {
    let h = Harness::with_options(sim_options(31), "").await;
    h.write_config(&format!(
        "{}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n",
        common::FAST_POLLING
    ));
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let setting = format!("create_settle = \"{settle}\"");
    std::fs::write(
        h.config_path(),
        text.replace("create_settle = \"100ms\"", &setting),
    )
    .expect("config");
    h.sim.set_faults(Faults {
        late_create: Some(Duration::from_secs(1)),
        ..Faults::default()
    });
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    h.sim.tasks().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_the_backend_commits_after_a_504_is_adopted_once_create_settle_has_passed() {
    let (settled, hasty) = tokio::join!(late_creates("2s"), late_creates("0s"));
    assert_eq!(settled, 1, "waiting out create_settle finds the late task");
    assert!(
        hasty > 1,
        "without the wait the daemon creates again before the first task appears: {hasty}"
    );
}

/// A report whose remote task never finishes, under [`never_finishing_stuck`].
const STUCK: &str = r#"
[[reports]]
name = "stuck"
template = "ResellerExpenses"
parameters = { client_id = 666 }
"#;

fn never_finishing_stuck() -> Faults {
    Faults {
        never_finish_when: Some(("client_id".into(), serde_json::json!(666))),
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_never_finishes_expires_at_the_deadline_and_run_once_exits_1() {
    let h = Harness::with_options(sim_options(5), "").await;
    h.write_config(&format!(
        r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
deadline = "3s"
{STUCK}
[[reports]]
name = "fine"
template = "ResellerPlans"
format = "json"
parameters = {{ client_id = 7 }}
"#
    ));
    h.sim.set_faults(never_finishing_stuck());
    let started = Instant::now();
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        elapsed >= Duration::from_secs(3),
        "expired no earlier than the deadline: {elapsed:?}"
    );
    let rows = h.status().await;
    let stuck = rows.iter().find(|r| r["report"] == "stuck").expect("stuck");
    assert_eq!(stuck["state"], "expired", "{stuck}");
    let reason = stuck["last_error"].as_str().unwrap_or("");
    assert!(
        reason.contains("polling.deadline") && reason.contains("3s"),
        "the reason names the deadline: {reason}"
    );
    let fine = rows.iter().find(|r| r["report"] == "fine").expect("fine");
    assert_eq!(fine["state"], "done", "{fine}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "never finishes", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "never finishes");
    assert_eq!(h.sim.tasks().len(), 2, "no task was created twice");
    eprintln!("expired after {elapsed:.2?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_engines_clock_a_task_still_running_expires_at_its_first_look_past_the_deadline() {
    let h = Harness::with_options(sim_options(6), "").await;
    h.write_config(&format!(
        "[polling]\ninitial_interval = \"1m\"\nmax_interval = \"10m\"\ndeadline = \"1h\"\n{STUCK}"
    ));
    h.sim.set_faults(never_finishing_stuck());
    // The engine runs on the test's clock, moved to each poll's due time in turn.
    let start = common::now().as_millisecond();
    let deadline = start + 3_600_000;
    let clock = Clock::manual(start);
    let engine = h.engine_on(&clock).await;
    engine.step(true).await.expect("the step that creates");
    let mut polls = 0;
    let row = loop {
        let row = h.status().await.remove(0);
        if row["state"] != "polling" {
            break row;
        }
        assert!(
            clock.now_ms() <= deadline,
            "still polling past the deadline: {row}"
        );
        let due: jiff::Timestamp = row["next_attempt_at"]
            .as_str()
            .expect("a due time")
            .parse()
            .expect("RFC 3339");
        clock.set(due.as_millisecond());
        engine.step(false).await.expect("a step at the due time");
        polls += 1;
        assert!(polls < 100, "never expired: {row}");
    };
    assert_eq!(row["state"], "expired", "{row}");
    assert!(
        clock.now_ms() > deadline,
        "expired before the deadline: {row}"
    );
    let reason = row["last_error"].as_str().unwrap_or("");
    assert!(reason.contains("polling.deadline (1h)"), "{reason}");
    assert!(
        polls >= 6,
        "backoff of at most 10 m: {polls} polls in the hour"
    );
    assert_eq!(h.sim.tasks().len(), 1, "created once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_directory_that_is_unusable_for_a_while_delays_the_files_but_loses_nothing() {
    // Tasks take a while, so that the directory can be spoilt once the daemon has started (at
    // start, an output_dir that is not a directory is a configuration error: exit 78).
    let options = SimOptions {
        pending_for: Duration::from_millis(1500),
        ..sim_options(9)
    };
    let h = Harness::with_options(options, &four_periods()).await;
    // A file downloaded earlier, which must survive.
    let dir = h.output_dir();
    std::fs::create_dir_all(&dir).expect("output dir");
    std::fs::write(dir.join("earlier.csv"), b"downloaded before\n").expect("earlier file");

    let mut child = h.spawn(h.command(&["run", "--once"]), "run.log");
    wait_for(
        "the four tasks to be created",
        Duration::from_secs(20),
        || async {
            let rows = h.try_status().await.unwrap_or_default();
            rows.len() == 4 && rows.iter().all(|r| r["state"] == "polling")
        },
    )
    .await;
    // The directory is moved away and a regular file takes its name: as root, chmod would not
    // stop the daemon, but a file where a directory should be does.
    let away = h.path("reports.away");
    std::fs::rename(&dir, &away).expect("move the output dir away");
    std::fs::write(&dir, b"not a directory").expect("file in the way");
    let blocked_since = Instant::now();
    // Wait until every task is downloadable and the write failures show in `status`.
    wait_for(
        "every task to report the unusable output directory",
        Duration::from_secs(20),
        || async {
            let rows = h.try_status().await.unwrap_or_default();
            rows.len() == 4
                && rows.iter().all(|r| {
                    r["state"] == "downloading"
                        && r["last_error"]
                            .as_str()
                            .is_some_and(|e| e.contains(&*dir.to_string_lossy()))
                })
        },
    )
    .await;
    // "It does not give up": every task fails to write its file again, and the run goes on.
    wait_for(
        "every task to have met the unusable directory twice",
        Duration::from_secs(30),
        || async {
            let mut met = 0;
            for row in h.try_status().await.unwrap_or_default() {
                let id = row["id"].to_string();
                let shown = h.run(&["show", &id]).await;
                let history = String::from_utf8_lossy(&shown.stdout).into_owned();
                met += usize::from(history.matches("output directory is usable").count() >= 2);
            }
            met == 4
        },
    )
    .await;
    assert!(child.is_running(), "the daemon waits for the directory");
    let downloads_while_blocked = h.sim.request_counts().get("download").copied();
    std::fs::remove_file(&dir).expect("remove the file in the way");
    std::fs::rename(&away, &dir).expect("restore the output dir");

    let out = child.finish(RUN_LIMIT).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "unusable dir", &["earlier.csv"]);
    assert_eq!(
        std::fs::read(dir.join("earlier.csv")).expect("earlier file"),
        b"downloaded before\n"
    );
    assert_no_request_has_two_live_remote_tasks(&h, "unusable dir");
    assert_no_temporary_files(&h, "unusable dir");
    eprintln!(
        "output dir blocked for {:.2?}; downloads requested while blocked: {downloads_while_blocked:?}",
        blocked_since.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_rejected_with_400_fails_at_once_with_the_servers_field_error() {
    let h = Harness::start(
        r#"
[[reports]]
name = "typo"
template = "ResellerExpensez"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#,
    )
    .await;
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    let typo = rows.iter().find(|r| r["report"] == "typo").expect("typo");
    assert_eq!(typo["state"], "failed", "{typo}");
    let error = typo["last_error"].as_str().unwrap_or("");
    assert!(
        error.contains("400")
            && error.contains("template_code")
            && error.contains("ResellerExpensez"),
        "last_error carries the server's field error: {error}"
    );
    assert!(
        stderr(&out).contains("template_code"),
        "the log shows the field error"
    );
    let creates = h.sim.request_counts().get("create").copied().unwrap_or(0);
    assert_eq!(creates, 2, "the rejected create was not retried");
    let expenses = rows.iter().find(|r| r["report"] == "expenses").expect("ok");
    assert_eq!(expenses["state"], "done");
    assert_done_rows_have_the_served_bytes(&h, &rows, "400", &[]);
    assert_no_temporary_files(&h, "400");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_vanishes_is_marked_lost_or_resubmitted_when_resubmit_lost_is_set() {
    let options = SimOptions {
        pending_for: Duration::from_millis(1500),
        ..sim_options(13)
    };
    let h = Harness::with_options(
        options,
        r#"
[[reports]]
name = "gone"
template = "ResellerExpenses"
parameters = { client_id = 5 }

[[reports]]
name = "back"
template = "ResellerExpenses"
parameters = { client_id = 6 }
resubmit_lost = true
"#,
    )
    .await;
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env("GCORE_REPORTD__POLLING__LOST_AFTER", "300ms");
    let child = h.spawn(cmd, "run.log");
    wait_for("both tasks polling", Duration::from_secs(10), || async {
        let rows = h.try_status().await.unwrap_or_default();
        rows.len() == 2 && rows.iter().all(|r| r["state"] == "polling")
    })
    .await;
    let http = reqwest::Client::new();
    let originals = h.sim.tasks();
    for task in &originals {
        let url = format!("{}/billing/org/v1/reports/{}", h.sim.base_url(), task.uuid);
        let answer = http
            .delete(url)
            .header("Authorization", format!("apikey {}", h.key))
            .send()
            .await
            .expect("delete");
        assert_eq!(answer.status().as_u16(), 204);
    }
    let out = child.finish(RUN_LIMIT).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    let gone = rows.iter().find(|r| r["report"] == "gone").expect("gone");
    assert_eq!(gone["state"], "lost", "{gone}");
    let reason = gone["last_error"].as_str().unwrap_or("");
    assert!(reason.contains("404"), "{reason}");
    let back = rows.iter().find(|r| r["report"] == "back").expect("back");
    assert_eq!(back["state"], "done", "{back}");
    assert_eq!(back["attempts"], 2, "{back}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "404", &[]);
    assert_eq!(h.sim.tasks().len(), 1, "only `back` was created again");
    assert_no_temporary_files(&h, "404");
}

/// Sets `api.auth_retry_interval` in the harness's config file.
fn set_auth_retry_interval(h: &Harness, interval: &str) {
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let setting = format!("create_settle = \"100ms\"\nauth_retry_interval = \"{interval}\"");
    std::fs::write(
        h.config_path(),
        text.replace("create_settle = \"100ms\"", &setting),
    )
    .expect("config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_pauses_all_api_calls_for_the_interval_and_status_shows_why() {
    let h = Harness::start(ONE_REPORT).await;
    std::fs::write(h.path("api-key"), "7$wrong-secret-0000\n").expect("wrong key");
    set_auth_retry_interval(&h, "10m");
    let interval = Duration::from_secs(600);
    // The engine runs on the test's clock: the interval passes when the test says so.
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    let total = || h.sim.request_counts().values().sum::<u64>();
    let refused = || h.sim.status_counts().get(&401).copied().unwrap_or(0);

    let first = engine.step(true).await.expect("first step");
    assert_eq!((total(), refused()), (1, 1), "one request, refused");
    assert!(first.auth_refused.is_some(), "{first:?}");
    let table = String::from_utf8_lossy(&h.run(&["status"]).await.stdout).into_owned();
    assert!(
        table.contains("auth_blocked") && table.contains("401"),
        "status shows the refused credentials:\n{table}"
    );
    let rows = h.status().await;
    assert!(
        rows[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("credentials")),
        "{rows:?}"
    );

    // A millisecond before the interval has passed, nothing reaches the API.
    clock.advance(interval - Duration::from_millis(1));
    let held = engine.step(true).await.expect("step in the pause");
    assert_eq!(total(), 1, "no API call during auth_retry_interval");
    assert!(held.auth_refused.is_some(), "{held:?}");
    // Once it has, the key is tried again, once, and refused again.
    clock.advance(Duration::from_millis(1));
    let again = engine.step(true).await.expect("step after the pause");
    assert_eq!((total(), refused()), (2, 2), "one retry, refused");
    assert!(
        again.auth_refused.is_some(),
        "the pause is renewed: {again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_key_and_sighup_end_the_pause_at_once_with_one_error_logged() {
    let h = Harness::start(ONE_REPORT).await;
    let wrong = "7$wrong-secret-0000";
    std::fs::write(h.path("api-key"), format!("{wrong}\n")).expect("wrong key");
    // An interval far longer than the test: a delivery proves the pause was ended, not waited.
    set_auth_retry_interval(&h, "1h");
    let mut child = h.spawn(h.daemon(), "daemon.log");
    let refused = || h.sim.status_counts().get(&401).copied().unwrap_or(0);
    wait_for(
        "a refusal shown by status",
        Duration::from_secs(20),
        || async {
            refused() == 1
                && status_conditions(&h)
                    .await
                    .iter()
                    .any(|c| c.contains("auth_blocked"))
        },
    )
    .await;
    assert!(child.is_running(), "the daemon keeps running");

    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("right key");
    child.signal(libc::SIGHUP);
    h.wait_for_done(1, Duration::from_secs(30)).await;
    let logs = child.log();
    child.stop().await;
    let errors = logs
        .lines()
        .filter(|l| l.contains("refused the credentials") && l.contains("\"ERROR\""))
        .count();
    assert_eq!((errors, refused()), (1, 1), "one refusal, one error logged");
    let secret = wrong.split('$').nth(1).expect("secret part");
    assert!(!logs.contains(secret), "the wrong key leaked into the log");
    let rows = h.status().await;
    assert_done_rows_have_the_served_bytes(&h, &rows, "401", &[]);
    assert!(
        !status_conditions(&h)
            .await
            .iter()
            .any(|c| c.contains("auth_blocked")),
        "cleared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_keeps_failing_expires_at_the_deadline_without_leaving_a_partial_file() {
    let h = Harness::with_options(sim_options(17), "").await;
    h.write_config(
        r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
deadline = "2s"

[[reports]]
name = "expenses"
template = "ResellerExpenses"
"#,
    );
    h.sim.set_faults(Faults {
        truncate_downloads_rate: 1.0,
        ..Faults::default()
    });
    let started = Instant::now();
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        h.command(&["run", "--once"]).output(),
    )
    .await
    .expect("run --once gives up at the deadline instead of retrying forever")
    .expect("spawn");
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "expired", "{rows:?}");
    let reason = rows[0]["last_error"].as_str().unwrap_or("");
    assert!(
        reason.contains("polling.deadline") && reason.contains("download"),
        "the reason names the deadline and the failing download: {reason}"
    );
    let downloads = h.sim.request_counts().get("download").copied().unwrap_or(0);
    assert!(downloads >= 2, "the download was retried: {downloads}");
    assert!(h.output_files().is_empty(), "{:?}", h.output_files());
    assert_eq!(h.sim.tasks().len(), 1);
    eprintln!("gave up after {elapsed:.2?} and {downloads} download attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_process_for_a_while_only_delays_the_work() {
    use sqlx::Connection;
    let options = SimOptions {
        pending_for: Duration::from_millis(600),
        ..sim_options(19)
    };
    let h = Harness::with_options(options, "").await;
    // Well past the second the lock is held: the daemon waits for it, whatever it was doing.
    h.write_config(&format!(
        "busy_timeout = \"30s\"\n{}\n{}",
        common::FAST_POLLING,
        four_periods()
    ));
    let mut child = h.spawn(h.command(&["run", "--once"]), "run.log");
    wait_for(
        "the tasks to be created",
        Duration::from_secs(10),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.len() == 4 && rows.iter().all(|r| r["state"] == "polling"))
        },
    )
    .await;
    let url = format!("sqlite://{}", h.path("state.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .expect("lock");
    let locked = Instant::now();
    let before = h.sim.request_counts().get("retrieve").copied();
    // "For a while" is the point: a second, not a condition (the daemon may be waiting for the
    // lock to write what it was told, or asking the API, and neither shows from here).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let polls_while_locked = h.sim.request_counts().get("retrieve").copied();
    assert!(child.is_running(), "the daemon waits for the lock");
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .expect("unlock");
    let held = locked.elapsed();
    drop(conn);
    let out = child.finish(RUN_LIMIT).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "locked db", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "locked db");
    assert_eq!(h.sim.tasks().len(), 4);
    eprintln!("database locked for {held:.2?}; polls {before:?} before, {polls_while_locked:?} at the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_outlives_a_database_locked_past_its_busy_timeout_and_resumes() {
    use sqlx::Connection;
    let options = SimOptions {
        pending_for: Duration::from_secs(2),
        ..sim_options(23)
    };
    let h = Harness::with_options(options, "").await;
    h.write_config(&format!(
        "busy_timeout = \"300ms\"\n{}\n{}",
        common::FAST_POLLING,
        four_periods()
    ));
    let child = h.spawn(h.child(&["run"]), "daemon.log");
    wait_for(
        "the tasks to be created",
        Duration::from_secs(30),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.len() == 4 && rows.iter().all(|r| r["uuid"].is_string()))
        },
    )
    .await;
    let url = format!("sqlite://{}", h.path("state.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the database");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .expect("lock");
    // Held until a step has failed with "database is locked" (past the busy timeout).
    wait_for(
        "a step failing on the lock",
        Duration::from_secs(20),
        || async { child.logged("database is locked").is_some() },
    )
    .await;
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .expect("unlock");
    drop(conn);
    wait_for(
        "every report to be delivered after the lock is gone",
        Duration::from_secs(40),
        || async {
            h.try_status()
                .await
                .is_some_and(|rows| rows.iter().all(|r| r["state"] == "done"))
        },
    )
    .await;
    child.signal(libc::SIGTERM);
    let out = child.finish(RUN_LIMIT).await;
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("the database failed") && log.contains("database is locked"),
        "the failed steps are logged with SQLite's reason:\n{log}"
    );
    let rows = h.status().await;
    assert_done_rows_have_the_served_bytes(&h, &rows, "locked past busy_timeout", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "locked past busy_timeout");
    assert_eq!(h.sim.tasks().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_ends_run_once_with_exit_1_and_a_replaced_key_is_tried_at_once() {
    let h = Harness::start(ONE_REPORT).await;
    std::fs::write(h.path("api-key"), "7$another-wrong-secret\n").expect("wrong key");
    let total = || h.sim.request_counts().values().sum::<u64>();

    // The first run is refused: it stops at once instead of waiting out the 10 min interval.
    let first = tokio::time::timeout(
        Duration::from_secs(15),
        h.command(&["run", "--once"]).output(),
    )
    .await
    .expect("run --once with a refused key ends")
    .expect("spawn");
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("refused the credentials"),
        "{}",
        stderr(&first)
    );
    let rows = h.status().await;
    assert!(
        ["intent", "creating"].contains(&rows[0]["state"].as_str().unwrap_or("")),
        "the task keeps its state: {rows:?}"
    );
    let after_first = total();

    // A second run with the same key honours the pause: no API call at all.
    let second = run_with_env(&h, &["run", "--once"], &[]).await;
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert_eq!(total(), after_first, "no API call while the refusal holds");

    // With the key replaced, the pause no longer applies.
    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("right key");
    let started = Instant::now();
    let third = run_with_env(&h, &["run", "--once"], &[]).await;
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(started.elapsed() < Duration::from_secs(10));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "replaced key", &[]);
    let table = String::from_utf8_lossy(&h.run(&["status"]).await.stdout).into_owned();
    assert!(!table.contains("auth_blocked"), "{table}");
    assert_eq!(h.sim.tasks().len(), 1);
}

/// Watches the simulator's counters every millisecond while `run` runs: (when, requests
/// arrived, 429s answered) at each change.
async fn watch_counters<F>(h: &Harness, run: F) -> (std::process::Output, Vec<(Instant, u64, u64)>)
where
    F: std::future::Future<Output = std::io::Result<std::process::Output>>,
{
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut seen: Vec<(Instant, u64, u64)> = Vec::new();
    let counts = || {
        let requests: u64 = h.sim.request_counts().values().sum();
        let throttled = h.sim.status_counts().get(&429).copied().unwrap_or(0);
        (requests, throttled)
    };
    let run = async {
        let out = tokio::time::timeout(RUN_LIMIT, run).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        out.expect("the run finished in time").expect("spawn")
    };
    let watch = async {
        let mut last = (0, 0);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let now = counts();
            if now != last {
                seen.push((Instant::now(), now.0, now.1));
                last = now;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let (out, ()) = tokio::join!(run, watch);
    (out, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_tasks_in_flight_no_request_is_sent_after_a_429_until_retry_after_has_passed()
{
    let options = SimOptions {
        pending_for: Duration::from_millis(1200),
        running_for: Duration::from_millis(800),
        ..sim_options(23)
    };
    let h = Harness::with_options(options, &four_periods()).await;
    h.sim.set_faults(Faults {
        too_many_every: 3,
        retry_after_secs: 1,
        ..Faults::default()
    });
    // 20 requests a second: requests queue behind the budget, 50 ms apart.
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env("GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND", "20");
    let (out, seen) = watch_counters(&h, cmd.output()).await;
    assert!(out.status.success(), "{}", stderr(&out));

    // A request that arrives within a few ms of a 429 was sent before the daemon could have
    // read it; anything later and before Retry-After has passed undercuts it.
    let in_flight = Duration::from_millis(15);
    let retry_after = Duration::from_millis(1000 - 20);
    let mut violations = Vec::new();
    let mut throttled = 0;
    for (i, (at, _, count)) in seen.iter().enumerate() {
        let previous = if i == 0 { 0 } else { seen[i - 1].2 };
        if *count <= previous {
            continue;
        }
        throttled += count - previous;
        let arrived_before = seen[i].1;
        for (later, requests, _) in &seen[i + 1..] {
            let gap = later.duration_since(*at);
            if gap >= retry_after {
                break;
            }
            if *requests > arrived_before && gap > in_flight {
                violations.push(gap);
                break;
            }
        }
    }
    assert!(throttled >= 3, "several 429s: {throttled}");
    assert!(
        violations.is_empty(),
        "requests arrived this long after a 429 with Retry-After: 1: {violations:?}"
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "429 with queued requests", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "429 with queued requests");
    eprintln!("concurrent 429s: {throttled}, none undercut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn however_many_tasks_are_due_the_request_budget_caps_the_rate() {
    let h = Harness::with_options(sim_options(29), &periods_in_three_formats(10)).await;
    h.sim.set_faults(Faults {
        error_rate: 0.2,
        ..Faults::default()
    });
    let per_second = 10;
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env(
        "GCORE_REPORTD__API__MAX_REQUESTS_PER_SECOND",
        per_second.to_string(),
    );
    let started = Instant::now();
    let (out, seen) = watch_counters(&h, cmd.output()).await;
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut arrivals = Vec::new();
    let mut last = 0;
    for (at, requests, _) in &seen {
        arrivals.extend(std::iter::repeat_n(*at, (requests - last) as usize));
        last = *requests;
    }
    let busiest = arrivals
        .iter()
        .map(|from| {
            arrivals
                .iter()
                .filter(|t| **t >= *from && t.duration_since(*from) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    // One extra for the observation lag at the window's edges.
    assert!(
        busiest <= per_second + 1,
        "{busiest} requests within one second, budget {per_second}/s"
    );
    assert!(
        arrivals.len() > 2 * per_second,
        "enough requests to tell: {}",
        arrivals.len()
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "budget", &[]);
    eprintln!(
        "request budget: {} requests in {elapsed:.2?}, at most {busiest} in any second (budget {per_second}/s)",
        arrivals.len()
    );
}

/// A proxy on `listener` to `target`. While `swallow` is set, creates (`POST`) are passed on
/// but their answers are dropped: the client times out, not knowing whether the task exists.
fn swallowing_proxy(
    listener: tokio::net::TcpListener,
    target: std::net::SocketAddr,
    swallow: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let swallow = swallow.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let posted = AtomicBool::new(false);
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if buf[..n].starts_with(b"POST ") {
                            posted.store(true, Ordering::Relaxed);
                        }
                        if server_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = server_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if posted.load(Ordering::Relaxed) && swallow.load(Ordering::Relaxed) {
                            // Hold the connection open, answer nothing.
                            std::future::pending::<()>().await;
                        }
                        if client_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = client_tx.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_refused_then_answers_lost_to_timeouts_are_ridden_out_without_duplicates() {
    let h = Harness::with_options(sim_options(31), &four_periods()).await;
    // A port with nobody listening: connections are refused.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env(
        "GCORE_REPORTD__API__BASE_URL",
        format!("http://127.0.0.1:{port}"),
    )
    .env("GCORE_REPORTD__API__REQUEST_TIMEOUT", "1s");
    let child = h.spawn(cmd, "run.log");
    wait_for(
        "every create refused a connection",
        Duration::from_secs(10),
        || async {
            h.try_status().await.is_some_and(|rows| {
                rows.len() == 4 && rows.iter().all(|r| r["last_error"].is_string())
            })
        },
    )
    .await;
    let refused_phase = h.sim.request_counts().values().sum::<u64>();
    // Then the API is reachable, but the answers to creates are lost: the tasks are created,
    // the daemon times out.
    let swallow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind the refused port");
    swallowing_proxy(listener, h.sim.addr(), swallow.clone());
    wait_for(
        "creates behind the lost answers",
        Duration::from_secs(10),
        || async { h.sim.tasks().len() >= 2 },
    )
    .await;
    wait_for(
        "a create timed out, its outcome unknown",
        Duration::from_secs(10),
        || async { child.logged("create outcome unknown").is_some() },
    )
    .await;
    let created_unanswered = h.sim.tasks().len();
    swallow.store(false, std::sync::atomic::Ordering::Relaxed);

    let out = child.finish(RUN_LIMIT).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(refused_phase, 0, "nothing reached the API while refused");
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "refused then timeouts", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "refused then timeouts");
    assert_eq!(h.sim.tasks().len(), 4, "one remote task per period");
    assert_no_temporary_files(&h, "refused then timeouts");
    eprintln!("refused, then {created_unanswered} create(s) whose answers were lost: all adopted");
}
