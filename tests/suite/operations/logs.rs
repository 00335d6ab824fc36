//! Task fields (report, period, uuid) in JSON log lines and in journald entries.

use crate::common::notify::Datagrams;
use crate::common::{stderr, Harness, BIN, TWO_REPORTS};

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
