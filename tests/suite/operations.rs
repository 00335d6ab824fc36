//! What an operator relies on, with the real binary against the simulator: the systemd notify
//! protocol on a test `NOTIFY_SOCKET` (READY, STATUS, WATCHDOG, STOPPING); task fields in JSON
//! log lines and in journald entries; hooks with their environment, no shell, a timeout that
//! kills the whole hook and `retry-hook`; the Prometheus endpoint's values after a run;
//! `status` and `show` while the daemon holds the database; and SIGHUP re-reading the key file.

use crate::common;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::notify::{notify_lines, Datagrams};
use crate::common::{sha256_file, stderr, wait_for, Harness, BIN, TWO_REPORTS};
use gcore_reportd_sim::{Faults, SimOptions};

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

/// When the two reports (`monthly`: day 1 at 00:00 UTC) are next due, as a STATUS line says it.
/// The next 00:00 UTC on the 2nd of a month: the default monthly due day.
fn next_monthly_run() -> String {
    let now = common::now().to_zoned(jiff::tz::TimeZone::UTC);
    let this_month = now
        .date()
        .first_of_month()
        .tomorrow()
        .expect("the 2nd")
        .at(0, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("midnight UTC exists");
    let next = if this_month > now {
        this_month
    } else {
        this_month
            .checked_add(jiff::Span::new().months(1))
            .expect("next month")
    };
    next.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// A hook argv that writes its environment to `file` (the shell is the hook's, not the daemon's).
fn env_dump_hook(file: &Path) -> String {
    format!("['/bin/sh', '-c', 'env > \"$0\"', '{}']", file.display())
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

// ---------------------------------------------------------------------------------------------
// systemd notify protocol
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_systemd_the_daemon_says_ready_reports_status_pings_the_watchdog_and_says_stopping() {
    let h = Harness::start("").await;
    let hook_env = h.path("hook.env");
    // The hook sleeps for two and a half watchdog periods: the daemon must keep pinging for it.
    h.write_config(&format!(
        "{}\n{TWO_REPORTS}\non_success = ['/bin/sh', '-c', 'sleep 2.5; env > \"$0\"', '{}']\n",
        common::FAST_POLLING,
        hook_env.display()
    ));
    let socket = h.path("notify.sock");
    let datagrams = Datagrams::bind(&socket);
    let started = Instant::now();
    let mut cmd = h.child(&["run"]);
    cmd.env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "1000000");
    let daemon = h.spawn(cmd, "daemon.log");
    wait_for_downloads(&h, 2).await;
    wait_for("the hook has run", Duration::from_secs(30), || async {
        hook_env.exists()
    })
    .await;
    wait_for(
        "the status with nothing in flight, and five pings",
        Duration::from_secs(30),
        || async {
            let lines = datagrams.lines();
            lines
                .iter()
                .any(|l| l.starts_with("STATUS=0 task(s) in flight"))
                && lines.iter().filter(|l| *l == "WATCHDOG=1").count() >= 5
        },
    )
    .await;
    daemon.stop().await;
    let received = datagrams.finish();

    let messages: Vec<Vec<String>> = received.iter().map(|(_, d)| notify_lines(d)).collect();
    eprintln!(
        "{} datagrams in {:?}: first {:?}, last {:?}",
        messages.len(),
        started.elapsed(),
        messages.first(),
        messages.last()
    );
    assert!(
        messages
            .first()
            .is_some_and(|m| m.contains(&"READY=1".into())),
        "READY=1 comes first: {messages:?}"
    );
    assert_eq!(
        messages
            .iter()
            .flatten()
            .filter(|l| *l == "READY=1")
            .count(),
        1,
        "READY=1 once"
    );
    assert!(
        messages
            .last()
            .is_some_and(|m| m.contains(&"STOPPING=1".into())),
        "STOPPING=1 comes last: {:?}",
        messages.last()
    );

    let statuses: Vec<&str> = messages
        .iter()
        .flatten()
        .filter_map(|l| l.strip_prefix("STATUS="))
        .collect();
    let due = next_monthly_run();
    for in_flight in ["2 task(s) in flight", "0 task(s) in flight"] {
        let (a, b) = (
            format!("{in_flight}, next due expenses {due}"),
            format!("{in_flight}, next due plans-42 {due}"),
        );
        assert!(
            statuses.iter().any(|s| *s == a || *s == b),
            "a STATUS says \"{a}\" (or plans-42): {statuses:?}"
        );
    }

    let pings: Vec<Instant> = received
        .iter()
        .filter(|(_, d)| notify_lines(d).contains(&"WATCHDOG=1".into()))
        .map(|(at, _)| *at)
        .collect();
    assert!(pings.len() >= 5, "several WATCHDOG=1: {}", pings.len());
    let longest = pings
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    eprintln!(
        "{} WATCHDOG=1 pings, longest gap {longest:?} (WatchdogSec 1s)",
        pings.len()
    );
    assert!(
        longest < Duration::from_millis(1000),
        "no gap of a whole watchdog period, even during the 2.5 s hook: {longest:?}"
    );

    let env = read_env(&hook_env);
    for inherited in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
        assert!(
            !env.contains_key(inherited),
            "the hook does not inherit {inherited}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_not_pinged_when_watchdog_pid_names_another_process() {
    let h = Harness::start(TWO_REPORTS).await;
    let socket = h.path("notify.sock");
    let datagrams = Datagrams::bind(&socket);
    let mut cmd = h.child(&["run", "--once"]);
    cmd.env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "400000")
        .env("WATCHDOG_PID", "1");
    let out = h
        .spawn(cmd, "daemon.log")
        .finish(Duration::from_secs(120))
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = datagrams
        .finish()
        .iter()
        .flat_map(|(_, d)| notify_lines(d))
        .collect();
    assert!(lines.contains(&"READY=1".into()), "{lines:?}");
    assert!(lines.contains(&"STOPPING=1".into()), "{lines:?}");
    assert!(
        !lines.contains(&"WATCHDOG=1".into()),
        "the watchdog belongs to pid 1: {lines:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_about_a_task_carry_its_report_period_and_uuid() {
    let h = Harness::start(&format!("[defaults]\non_success = ['true']\n{TWO_REPORTS}")).await;
    let out = h.run(&["--log-format", "json", "run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let tasks = h.status().await;
    assert_eq!(tasks.len(), 2);
    for task in &tasks {
        let uuid = task["uuid"].as_str().expect("uuid");
        let about: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|l| l["span"]["task_uuid"] == uuid)
            .collect();
        for wanted in ["report downloaded", "on_success hook"] {
            let line = about
                .iter()
                .find(|l| {
                    l["fields"]["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(wanted))
                })
                .unwrap_or_else(|| panic!("a \"{wanted}\" line for {uuid}: {about:?}"));
            assert_eq!(line["span"]["report"], task["report"], "{line}");
            assert_eq!(line["span"]["period"], task["period_from"], "{line}");
            assert_eq!(line["span"]["id"], task["id"], "{line}");
        }
    }
    let in_task_span = lines.iter().filter(|l| l["span"]["name"] == "task");
    for line in in_task_span {
        assert!(
            line["span"]["report"].is_string() && line["span"]["period"].is_string(),
            "every line in a task's span names its report and period: {line}"
        );
    }
}

/// One journald native-protocol datagram: `KEY=VALUE\n`, or `KEY\n<u64 LE length><bytes>\n`.
fn journal_fields(mut data: &[u8]) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    while let Some(nl) = data.iter().position(|b| *b == b'\n') {
        let line = &data[..nl];
        if let Some(eq) = line.iter().position(|b| *b == b'=') {
            let key = String::from_utf8_lossy(&line[..eq]).into_owned();
            fields.push((key, String::from_utf8_lossy(&line[eq + 1..]).into_owned()));
            data = &data[nl + 1..];
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let rest = &data[nl + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().expect("length")) as usize;
            let value = String::from_utf8_lossy(&rest[8..8 + len]).into_owned();
            fields.push((key, value));
            data = &rest[8 + len + 1..];
        }
    }
    fields
}

fn field<'a>(entry: &'a [(String, String)], key: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journald_entries_carry_report_period_and_task_uuid_fields() {
    let h = Harness::start(TWO_REPORTS).await;
    let journal = h.path("journal.sock");
    let datagrams = Datagrams::bind(&journal);
    // journald's socket path is fixed: give the daemon a private /run whose
    // systemd/journal/socket is the test's socket (an unprivileged user+mount namespace).
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && \
         touch /run/systemd/journal/socket && \
         mount --bind '{}' /run/systemd/journal/socket && exec \"$0\" \"$@\"",
        journal.display()
    );
    let probe = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "this test needs `unshare --user --map-root-user --mount` (util-linux, with user \
         namespaces enabled in the kernel) to give the daemon a private journald socket"
    );
    let out = tokio::process::Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &script,
            BIN,
        ])
        .arg("--config")
        .arg(h.config_path())
        .args(["--log-format", "journald", "run", "--once"])
        .env_remove("GCORE_API_KEY")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run under unshare");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("journald is not reachable"),
        "{}",
        stderr(&out)
    );
    let entries: Vec<Vec<(String, String)>> = datagrams
        .finish()
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(_, d)| journal_fields(d))
        .collect();
    assert!(entries.len() > 5, "journal entries: {}", entries.len());
    for task in h.status().await {
        let uuid = task["uuid"].as_str().expect("uuid");
        let entry = entries
            .iter()
            .find(|e| {
                field(e, "MESSAGE") == Some("report downloaded")
                    && field(e, "TASK_UUID") == Some(uuid)
            })
            .unwrap_or_else(|| panic!("a journal entry for {uuid}'s download: {entries:?}"));
        assert_eq!(field(entry, "REPORT"), task["report"].as_str());
        assert_eq!(field(entry, "PERIOD"), task["period_from"].as_str());
        assert_eq!(field(entry, "PRIORITY"), Some("5"), "info is notice");
        assert_eq!(field(entry, "SYSLOG_IDENTIFIER"), Some("gcore-reportd"));
        assert_eq!(field(entry, "SHA256"), task["sha256"].as_str());
    }
}

// ---------------------------------------------------------------------------------------------
// Hooks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_hook_gets_the_report_in_its_environment_and_no_shell_runs_it() {
    let h = Harness::start("").await;
    let env_file = h.path("expenses.env");
    let literal = h.path("$REPORT_NAME;$(id)");
    h.write_config(&format!(
        "{}\n{TWO_REPORTS}\non_success = ['touch', '{}']\n",
        common::FAST_POLLING,
        literal.display()
    ));
    let config = std::fs::read_to_string(h.config_path()).expect("config");
    let config = config.replacen(
        "format = \"csv\"\n",
        &format!(
            "format = \"csv\"\non_success = {}\n",
            env_dump_hook(&env_file)
        ),
        1,
    );
    std::fs::write(h.config_path(), config).expect("config with two hooks");

    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let tasks = h.status().await;
    let expenses = tasks
        .iter()
        .find(|t| t["report"] == "expenses")
        .expect("expenses task");
    let path = PathBuf::from(expenses["path"].as_str().expect("path"));
    let env = read_env(&env_file);
    let expect = [
        ("REPORT_NAME", "expenses".to_string()),
        ("REPORT_PATH", path.display().to_string()),
        (
            "REPORT_UUID",
            expenses["uuid"].as_str().expect("uuid").into(),
        ),
        (
            "PERIOD_FROM",
            expenses["period_from"].as_str().expect("from").into(),
        ),
        (
            "PERIOD_TO",
            expenses["period_to"].as_str().expect("to").into(),
        ),
        ("REPORT_SHA256", sha256_file(&path)),
        ("REPORT_STATUS", "done".into()),
    ];
    for (key, want) in expect {
        assert_eq!(env.get(key), Some(&want), "{key} in the hook's environment");
    }
    assert!(
        literal.exists(),
        "the argv reached `touch` untouched (no shell expanded $REPORT_NAME or $(id))"
    );
    let history = show(&h, &expenses["id"].to_string()).await;
    assert!(
        history.contains("on_success hook \"/bin/sh\" exited with exit status: 0"),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_past_its_timeout_is_killed_with_its_children_recorded_failed_and_rerun_by_retry_hook(
) {
    let h = Harness::start("").await;
    let dir = h.dir.path().display().to_string();
    // The hook leaves a grandchild (sleep) behind and waits for it, unless `fast` exists.
    h.write_config(&format!(
        r#"{}
[[reports]]
name = "expenses"
template = "ResellerExpenses"
hook_timeout = "300ms"
on_success = ['/bin/sh', '-c', 'echo run >> "$0/hook.runs"; [ -e "$0/fast" ] && exit 0; sleep 30 & echo $! > "$0/sleeper.pid"; wait', '{dir}']
"#,
        common::FAST_POLLING
    ));
    let started = Instant::now();
    let out = h.run(&["run", "--once"]).await;
    assert!(
        out.status.success(),
        "the report itself is done: {}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the run did not wait for the hook's 30 s sleep: {:?}",
        started.elapsed()
    );
    let history = show(&h, "1").await;
    assert!(
        history.contains("on_success hook \"/bin/sh\" timed out after 300ms and was killed"),
        "{history}"
    );
    assert!(
        stderr(&out).contains("retry-hook 1"),
        "the log says how to rerun it"
    );
    let sleeper = std::fs::read_to_string(h.path("sleeper.pid")).expect("sleeper pid");
    let sleeper = sleeper.trim();
    wait_for(
        "the hook's grandchild is gone",
        Duration::from_secs(5),
        || async {
            match std::fs::read_to_string(format!("/proc/{sleeper}/stat")) {
                Err(_) => true,
                Ok(stat) => stat.contains(") Z "),
            }
        },
    )
    .await;

    let again = h.run(&["run", "--once"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    let runs = || {
        std::fs::read_to_string(h.path("hook.runs"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(runs(), 1, "a failed hook waits for retry-hook");

    std::fs::write(h.path("fast"), "").expect("fast");
    let retry = h.run(&["retry-hook", "1"]).await;
    assert!(retry.status.success(), "{}", stderr(&retry));
    let rerun = h.run(&["run", "--once"]).await;
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(runs(), 2, "retry-hook ran the hook once more");
    let history = show(&h, "1").await;
    let timed_out = history.find("timed out after 300ms").expect("first run");
    let rearmed = history
        .find("operator: run the hook again")
        .expect("retry-hook in the history");
    let succeeded = history
        .find("on_success hook \"/bin/sh\" exited with exit status: 0")
        .expect("second run succeeded");
    assert!(timed_out < rearmed && rearmed < succeeded, "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_report_runs_the_global_on_failure_hook_with_status_failed() {
    let h = Harness::start("").await;
    let env_file = h.path("failure.env");
    h.write_config(&format!(
        r#"{}
[defaults]
on_failure = {}

[[reports]]
name = "doomed"
template = "ResellerExpenses"
max_attempts = 1
parameters = {{ client_id = 13 }}
"#,
        common::FAST_POLLING,
        env_dump_hook(&env_file)
    ));
    h.sim.set_faults(Faults {
        fail_when: Some(("client_id".into(), serde_json::json!(13))),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let task = h.status().await.remove(0);
    assert_eq!(task["state"], "failed");
    let env = read_env(&env_file);
    assert_eq!(env.get("REPORT_NAME").map(String::as_str), Some("doomed"));
    assert_eq!(env.get("REPORT_STATUS").map(String::as_str), Some("failed"));
    assert_eq!(env.get("REPORT_PATH").map(String::as_str), Some(""));
    assert_eq!(
        env.get("REPORT_UUID").map(String::as_str),
        task["uuid"].as_str()
    );
    assert_eq!(
        env.get("PERIOD_FROM").map(String::as_str),
        task["period_from"].as_str()
    );
    let history = show(&h, "1").await;
    assert!(
        history.contains("on_failure hook \"/bin/sh\" exited with exit status: 0"),
        "{history}"
    );
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/// `series{labels} value` lines of a Prometheus text page, by series.
fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn sample(all: &BTreeMap<String, f64>, series: &str) -> f64 {
    *all.get(series)
        .unwrap_or_else(|| panic!("{series} is served: {all:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_serves_values_that_match_the_run() {
    let h = Harness::start("").await;
    h.write_config(&format!(
        "{}\n[metrics]\nlisten = \"127.0.0.1:0\"\n{TWO_REPORTS}",
        common::FAST_POLLING
    ));
    let started = common::now().as_second();
    let daemon = h.spawn(h.child(&["run"]), "daemon.log");
    let port = daemon.metrics_port().await;
    wait_for_downloads(&h, 2).await;
    let url = format!("http://127.0.0.1:{port}/metrics");
    let response = reqwest::get(&url).await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let page = response.text().await.expect("metrics body");
    let finished = common::now().as_second();
    let all = samples(&page);

    for (state, n) in [
        ("done", 2.0),
        ("polling", 0.0),
        ("failed", 0.0),
        ("intent", 0.0),
    ] {
        assert_eq!(
            sample(&all, &format!("gcore_reportd_tasks{{state=\"{state}\"}}")),
            n
        );
    }

    let sent = h.sim.request_counts();
    let answered = h.sim.status_counts();
    let mut by_op: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_status: BTreeMap<u16, f64> = BTreeMap::new();
    for (series, n) in &all {
        let Some(labels) = series.strip_prefix("gcore_reportd_api_requests_total{") else {
            continue;
        };
        let op = labels.split('"').nth(1).expect("operation").to_string();
        let status: u16 = labels
            .split('"')
            .nth(3)
            .expect("status")
            .parse()
            .expect("code");
        *by_op.entry(op).or_default() += n;
        *by_status.entry(status).or_default() += n;
    }
    eprintln!("requests by operation: daemon {by_op:?}, simulator {sent:?}");
    for (op, n) in &sent {
        assert_eq!(
            by_op.get(op).copied().unwrap_or(0.0),
            *n as f64,
            "{op} requests"
        );
    }
    assert_eq!(by_op.get("create"), Some(&2.0), "two creates");
    assert_eq!(by_op.get("download"), Some(&2.0), "two downloads");
    for (status, n) in &answered {
        assert_eq!(
            by_status.get(status).copied(),
            Some(*n as f64),
            "status {status}"
        );
    }

    for (op, n) in &by_op {
        let count = sample(
            &all,
            &format!("gcore_reportd_api_request_duration_seconds_count{{operation=\"{op}\"}}"),
        );
        assert_eq!(count, *n, "{op}: one latency sample per request");
        let inf = sample(&all, &format!("gcore_reportd_api_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}}"));
        assert_eq!(inf, *n);
        let sum = sample(
            &all,
            &format!("gcore_reportd_api_request_duration_seconds_sum{{operation=\"{op}\"}}"),
        );
        assert!(sum > 0.0 && sum < 10.0 * n, "{op} latency sum {sum}");
        let ten_seconds = sample(
            &all,
            &format!(
                "gcore_reportd_api_request_duration_seconds_bucket{{operation=\"{op}\",le=\"10\"}}"
            ),
        );
        assert_eq!(ten_seconds, *n, "every request took under 10 s");
    }

    let tasks = h.status().await;
    let bytes: u64 = tasks
        .iter()
        .map(|t| t["bytes"].as_u64().expect("bytes"))
        .sum();
    assert_eq!(
        sample(&all, "gcore_reportd_downloaded_bytes_total"),
        bytes as f64
    );
    for report in ["expenses", "plans-42"] {
        let at = sample(
            &all,
            &format!("gcore_reportd_last_success_timestamp_seconds{{report=\"{report}\"}}"),
        ) as i64;
        assert!(
            (started..=finished).contains(&at),
            "{report} succeeded during the run: {started} <= {at} <= {finished}"
        );
    }
    eprintln!("metrics page:\n{page}");
    daemon.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Operator commands next to a running daemon
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_show_work_while_the_daemon_holds_the_database() {
    let options = SimOptions {
        pending_for: Duration::from_millis(1500),
        running_for: Duration::from_millis(1500),
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, TWO_REPORTS).await;
    let mut daemon = h.spawn(h.child(&["run"]), "daemon.log");
    // Until the daemon has migrated a new database, `status` says to try again in a moment.
    wait_for(
        "the daemon has created its database",
        Duration::from_secs(30),
        || async { h.run(&["status"]).await.status.success() },
    )
    .await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut calls = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the reports never finished: {seen:?}"
        );
        // `show` after `status`: a task `status` saw must be there for `show`.
        let status = h.run(&["status", "--json"]).await;
        let shown = h.run(&["show", "1"]).await;
        calls += 1;
        assert!(status.status.success(), "status: {}", stderr(&status));
        let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&status.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        for row in &rows {
            *seen
                .entry(row["state"].as_str().unwrap_or("?").into())
                .or_default() += 1;
        }
        if !rows.is_empty() {
            assert!(shown.status.success(), "show 1: {}", stderr(&shown));
            assert!(String::from_utf8_lossy(&shown.stdout).contains("history:"));
        }
        if rows.len() == 2 && rows.iter().all(|r| r["state"] == "done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("{calls} status+show pairs while the daemon ran; states seen: {seen:?}");
    assert!(
        seen.contains_key("polling"),
        "seen while the task was in flight: {seen:?}"
    );
    assert!(daemon.is_running(), "the daemon was running all along");
    let table = h.run(&["status"]).await;
    assert!(table.status.success(), "{}", stderr(&table));
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(
        widest <= 120,
        "the table fits a terminal ({widest} columns):\n{table}"
    );
    let first = h.status().await.remove(0);
    let short = &first["uuid"].as_str().expect("uuid")[..8];
    assert!(
        table.contains(short),
        "the table shows the uuid's start:\n{table}"
    );
    let by_uuid = show(&h, short).await;
    assert!(
        by_uuid.contains(first["path"].as_str().expect("path")),
        "{by_uuid}"
    );
    daemon.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Key rotation outside systemd
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_makes_the_running_daemon_read_a_replaced_key_file() {
    let h = Harness::start(TWO_REPORTS).await;
    std::fs::write(h.path("api-key"), "1$revoked\n").expect("write the old key");
    let mut cmd = h.child(&["run"]);
    cmd.env("GCORE_REPORTD__API__AUTH_RETRY_INTERVAL", "300ms");
    let daemon = h.spawn(cmd, "daemon.log");
    let refused = || h.sim.status_counts().get(&401).copied().unwrap_or(0);
    wait_for(
        "the API refused the old key",
        Duration::from_secs(30),
        || async { refused() >= 2 },
    )
    .await;
    std::fs::write(h.path("api-key"), format!("{}\n", h.key)).expect("write the new key");
    // Two more probes after the file changed, both refused: the daemon still sends the key
    // it read at start.
    let written = refused();
    wait_for(
        "two more refusals after the key file changed",
        Duration::from_secs(30),
        || async { refused() >= written + 2 },
    )
    .await;
    assert!(
        h.output_files().is_empty(),
        "the old key is still in use before SIGHUP"
    );
    daemon.signal(libc::SIGHUP);
    wait_for_downloads(&h, 2).await;
    let log = daemon.log();
    daemon.stop().await;
    assert!(log.contains("configuration reloaded"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// What the package ships besides the binary
// ---------------------------------------------------------------------------------------------

/// The names of the binary's visible subcommands, as clap defines them.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    gcore_reportd::cli::Cli::command()
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| sub.get_name().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn man_pages_and_completions_cover_every_subcommand() {
    let h = Harness::start("").await;
    let dir = h.path("man");
    let out = h
        .run(&["man", "--dir", dir.to_str().expect("utf-8 path")])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let main = std::fs::read_to_string(dir.join("gcore-reportd.1")).expect("main page");
    let subs = subcommands();
    assert!(subs.len() >= 10, "clap defines the subcommands: {subs:?}");
    for sub in &subs {
        let page = dir.join(format!("gcore-reportd-{sub}.1"));
        assert!(page.exists(), "{} is written", page.display());
        assert!(
            main.contains(&format!("gcore-reportd-{sub}(1)").replace('-', "\\-")),
            "the main page refers to gcore-reportd-{sub}(1)"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = h.run(&["completions", shell]).await;
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell} completes {sub}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_checks_each_template_and_its_parameters_against_the_api() {
    let h = Harness::start(TWO_REPORTS).await;
    let good = h.run(&["check-config", "--online"]).await;
    assert!(good.status.success(), "{}", stderr(&good));
    let said = String::from_utf8_lossy(&good.stdout);
    assert!(
        said.contains("online: 2 report(s) match the 4 template(s) the API offers"),
        "{said}"
    );

    h.write_config(&format!(
        r#"{}
[[reports]]
name = "typo"
template = "ResellerExpences"

[[reports]]
name = "bad-client"
template = "ResellerPlans"
parameters = {{ client_id = "forty-two", colour = "blue" }}
"#,
        common::FAST_POLLING
    ));
    let offline = h.run(&["check-config"]).await;
    assert!(offline.status.success(), "offline, the config is valid");
    let bad = h.run(&["check-config", "--online"]).await;
    assert_eq!(bad.status.code(), Some(78), "{}", stderr(&bad));
    let errors = stderr(&bad);
    for expected in [
        "report typo: template \"ResellerExpences\" is not offered by the API",
        "report bad-client: parameter \"client_id\" = \"forty-two\" is not of type integer",
        "report bad-client: parameter \"colour\" is not one of template ResellerPlans's",
    ] {
        assert!(errors.contains(expected), "{expected:?} in:\n{errors}");
    }
    assert!(h.sim.tasks().is_empty(), "nothing was created");
}
