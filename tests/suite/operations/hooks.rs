//! Hooks: their environment, no shell, a timeout that kills the whole hook, `retry-hook`, and
//! the global `on_failure` hook.

use crate::common;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{sha256_file, stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd_sim::Faults;

use super::*;

/// A hook argv that writes its environment to `file` (the shell is the hook's, not the daemon's).
fn env_dump_hook(file: &Path) -> String {
    format!("['/bin/sh', '-c', 'env > \"$0\"', '{}']", file.display())
}

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
