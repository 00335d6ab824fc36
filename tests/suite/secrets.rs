//! The API key never leaves the `Authorization` header: a full daemon run at trace level with
//! JSON logs (creates, faults, retries, a rejected create, a remote failure, downloads,
//! shutdown), a refused key, and the operator commands (`status`, `status --json`, `show`,
//! `check-config`, `templates`) are searched for it, and so are the database, its WAL and its
//! shared-memory file, read while the daemon still has them open (all three mode 0600) and
//! again after it stopped.

use std::path::Path;
use std::time::Duration;

use crate::common::{stderr, wait_for, Harness};
use gcore_reportd_sim::{Faults, SimOptions};

/// A key whose secret part appears nowhere else.
const KEY: &str = "4217$Zq9vXk3TpL0sWm8RaeY2";
const SECRET: &str = "Zq9vXk3TpL0sWm8RaeY2";
const WRONG_KEY: &str = "4217$Wr0ngWr0ngQ7uIo55";
const WRONG_SECRET: &str = "Wr0ngWr0ngQ7uIo55";

const REPORTS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"

[[reports]]
name = "plans-42"
template = "ResellerPlans"
format = "json"
parameters = { client_id = 42 }

[[reports]]
name = "doomed"
template = "ResellerCredits"
max_attempts = 2
parameters = { client_id = 13 }

[[reports]]
name = "typo"
template = "ResellerExpensez"
"#;

/// Fails with `what` when `haystack` holds either secret, in any form a log could give it.
fn assert_no_secret(what: &str, haystack: &[u8]) {
    for secret in [SECRET, WRONG_SECRET] {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{what} contains the API key's secret"
        );
    }
}

fn assert_file_has_no_secret(path: &Path) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => {
            assert_no_secret(&path.display().to_string(), &bytes);
            true
        }
        Err(_) => false,
    }
}

/// The database and its companions; returns which of them existed.
fn assert_database_has_no_secret(h: &Harness) -> Vec<&'static str> {
    let mut present = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = h.path(&format!("state.db{suffix}"));
        if assert_file_has_no_secret(&path) {
            present.push(if suffix.is_empty() { "db" } else { suffix });
        }
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_appears_in_no_json_log_line_at_trace_level_nor_in_any_output_or_database_file()
{
    let options = SimOptions {
        api_key: KEY.to_string(),
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(150),
        seed: 21,
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, REPORTS).await;
    h.sim.set_faults(Faults {
        error_rate: 0.2,
        invalid_json_rate: 0.1,
        drop_rate: 0.1,
        fail_when: Some(("client_id".into(), serde_json::json!(13))),
        ..Faults::default()
    });

    let mut child = h.spawn(
        h.child(&["--log-format", "json", "--log-level", "trace", "run"]),
        "daemon.log",
    );
    wait_for("every task to end", Duration::from_secs(30), || async {
        let out = h.run(&["status", "--json"]).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let ended = ["\"done\"", "\"failed\""];
        out.status.success()
            && text.lines().count() == 4
            && text.lines().all(|l| ended.iter().any(|s| l.contains(s)))
    })
    .await;
    // While the daemon still holds the database open, its WAL is there to be read.
    // It, and its WAL and shared memory, are readable by the daemon's user only.
    for suffix in ["", "-wal", "-shm"] {
        let path = h.path(&format!("state.db{suffix}"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path)
                .expect("database file")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "mode of {}", path.display());
    }
    let live = assert_database_has_no_secret(&h);
    assert!(live.contains(&"-wal"), "the WAL was read: {live:?}");

    child.signal(libc::SIGTERM);
    let status = child.wait(Duration::from_secs(10)).await;
    assert!(status.success());
    let text = child.log();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 200, "trace logging: {} lines", lines.len());
    for (i, line) in lines.iter().enumerate() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "log line {i} is JSON: {line}"
        );
        assert_no_secret(&format!("log line {i}"), line.as_bytes());
    }
    for needle in ["TRACE", "hyper", "will retry", "template_code", "SIGTERM"] {
        assert!(text.contains(needle), "the log covers {needle}");
    }

    // The operator commands (no more injected faults: each must succeed, or be refused 401).
    h.sim.set_faults(Faults::default());
    let mut outputs = vec![
        h.run(&["status"]).await,
        h.run(&["status", "--json"]).await,
        h.run(&["--log-level", "trace", "check-config"]).await,
        h.run(&["--log-level", "trace", "templates"]).await,
    ];
    for id in 1..=4 {
        outputs.push(h.run(&["show", &id.to_string()]).await);
    }
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr(out));
    }
    let mut check = h.command(&["check-config"]);
    check.env("GCORE_API_KEY", KEY);
    outputs.push(check.output().await.expect("check-config"));
    for (i, out) in outputs.iter().enumerate() {
        assert_no_secret(&format!("stdout of command {i}"), &out.stdout);
        assert_no_secret(&format!("stderr of command {i}"), &out.stderr);
    }

    // A refused key: its errors name the condition, never the key.
    std::fs::write(h.path("api-key"), format!("{WRONG_KEY}\n")).expect("wrong key");
    let refused = h
        .run(&["--log-format", "json", "--log-level", "trace", "templates"])
        .await;
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("401"), "{}", stderr(&refused));
    assert_no_secret("a refused key's output", &refused.stderr);
    assert_no_secret("a refused key's output", &refused.stdout);

    let after = assert_database_has_no_secret(&h);
    eprintln!(
        "{} JSON log lines at trace level, {} command outputs and the database ({live:?} live, {after:?} after) are free of the key",
        lines.len(),
        outputs.len() + 1
    );
}
