//! Hooks never hold up the engine, with the real binary against the simulator: a 10 s hook
//! while another report completes (its download is not delayed), a hook writing 100 MB to
//! stderr (the daemon's peak RSS stays under 40 MB, the history keeps the end), a hook that
//! leaves a child holding its stderr (recorded by its exit status), and a `retry-hook` issued
//! while the hook runs (it runs again).

use crate::common;
use std::time::{Duration, Instant};

use crate::common::{peak_rss_kib, stderr, wait_for, wait_for_value, Harness};
use gcore_reportd_sim::Faults;

/// A report with `on_success` set to `hook` (TOML array), and `extra` more TOML.
fn hooked(hook: &str, extra: &str) -> String {
    format!(
        "[[reports]]\nname = \"hooked\"\ntemplate = \"ResellerExpenses\"\non_success = {hook}\n{extra}\n"
    )
}

/// `show 1`: the first task with its history ("" while it is not recorded yet).
async fn history(h: &Harness) -> String {
    let out = h.run(&["show", "1"]).await;
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the first task's history says its hook `exited with`, `times` times.
async fn wait_for_hook_runs(h: &Harness, times: usize, limit: Duration) -> String {
    let what = format!("the hook to end {times} time(s)");
    wait_for_value(&what, limit, || async {
        let shown = history(h).await;
        (shown.matches("exited with").count() >= times).then_some(shown)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_hook_does_not_delay_another_reports_download() {
    let other = "[[reports]]\nname = \"other\"\ntemplate = \"ResellerPlans\"\nparameters = { client_id = 7 }\n";
    let h = Harness::start("").await;
    let started = h.path("hook.started");
    h.write_config(&format!(
        "{}\n{}",
        common::FAST_POLLING,
        hooked(
            &format!(
                r#"["/bin/sh", "-c", "touch \"$0\"; sleep 10", "{}"]"#,
                started.display()
            ),
            other
        )
    ));
    h.sim.set_faults(Faults {
        never_finish_when: Some(("client_id".into(), serde_json::json!(7))),
        ..Faults::default()
    });
    let child = h.spawn(h.daemon(), "daemon.log");
    wait_for(
        "the 10 s hook has started",
        Duration::from_secs(30),
        || async { started.exists() },
    )
    .await;
    // The other report completes now, while the hook sleeps.
    let released = Instant::now();
    h.sim.set_faults(Faults::default());
    h.wait_for_done(2, Duration::from_secs(30)).await;
    let delivered = released.elapsed();
    wait_for_hook_runs(&h, 1, Duration::from_secs(30)).await;
    child.stop().await;
    assert!(
        delivered < Duration::from_secs(5),
        "the other report was delivered {delivered:?} after it completed, during a 10 s hook"
    );
    eprintln!("during a 10 s hook, another report was delivered {delivered:?} after it completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_writing_100_mb_to_stderr_leaves_the_daemon_small_and_its_history_keeps_the_end() {
    let hook =
        r#"["/bin/sh", "-c", "head -c 100000000 /dev/zero | tr '\\000' x >&2; echo THE-END >&2"]"#;
    let h = Harness::start(&hooked(hook, "")).await;
    let child = h.spawn(h.daemon(), "daemon.log");
    let shown = wait_for_hook_runs(&h, 1, Duration::from_secs(60)).await;
    let peak = peak_rss_kib(&child);
    child.stop().await;
    assert!(shown.contains("exited with exit status: 0"), "{shown}");
    assert!(shown.contains("THE-END"), "the end of stderr is kept");
    assert!(
        shown.len() < 70 * 1024,
        "the history keeps 64 KiB of it: {} bytes",
        shown.len()
    );
    assert!(peak < 40 * 1024, "peak RSS {peak} KiB");
    eprintln!(
        "100 MB of hook stderr: daemon peak RSS {peak} KiB, history {} bytes",
        shown.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_leaves_a_child_holding_its_stderr_is_recorded_by_its_exit_status() {
    let hook = r#"["/bin/sh", "-c", "sleep 6 & echo left a child behind >&2; exit 0"]"#;
    let h = Harness::start(&hooked(hook, "hook_timeout = \"4s\"")).await;
    let child = h.spawn(h.daemon(), "daemon.log");
    h.wait_for_done(1, Duration::from_secs(30)).await;
    let done = Instant::now();
    let shown = wait_for_hook_runs(&h, 1, Duration::from_secs(30)).await;
    let recorded = done.elapsed();
    child.stop().await;
    assert!(shown.contains("exited with exit status: 0"), "{shown}");
    assert!(shown.contains("left a child behind"), "{shown}");
    assert!(!shown.contains("timed out"), "{shown}");
    assert!(
        recorded < Duration::from_secs(3),
        "recorded {recorded:?} after the download"
    );
    eprintln!(
        "a hook leaving a child on its stderr was recorded ok {recorded:?} after the download"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_hook_issued_while_the_hook_runs_runs_it_again() {
    let h = Harness::start("").await;
    let runs = h.path("runs");
    let hook = format!(
        r#"["/bin/sh", "-c", "echo run >> \"$0\"; sleep 2", "{}"]"#,
        runs.display()
    );
    h.write_config(&format!("{}\n{}", common::FAST_POLLING, hooked(&hook, "")));
    let child = h.spawn(h.daemon(), "daemon.log");
    let lines = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    wait_for("the hook runs", Duration::from_secs(30), || async {
        lines() == 1
    })
    .await;
    let out = h.run(&["retry-hook", "1"]).await;
    assert!(out.status.success(), "retry-hook: {}", stderr(&out));
    let shown = wait_for_hook_runs(&h, 2, Duration::from_secs(30)).await;
    child.stop().await;
    assert_eq!(
        lines(),
        2,
        "the hook ran again after the retry-hook: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_issued_while_the_failure_hook_runs_is_kept() {
    let h = Harness::start("").await;
    let started = h.path("hook.started");
    let report = format!(
        "[[reports]]\nname = \"doomed\"\ntemplate = \"ResellerPlans\"\nparameters = {{ client_id = 5 }}\nmax_attempts = 1\non_failure = [\"/bin/sh\", \"-c\", \"touch \\\"$0\\\"; sleep 2\", \"{}\"]\n",
        started.display()
    );
    h.write_config(&format!("{}\n{report}", common::FAST_POLLING));
    h.sim.set_faults(Faults {
        fail_when: Some(("client_id".into(), serde_json::json!(5))),
        ..Faults::default()
    });
    let child = h.spawn(h.daemon(), "daemon.log");
    wait_for("the failure hook runs", Duration::from_secs(30), || async {
        started.exists()
    })
    .await;
    h.sim.set_faults(Faults::default());
    let out = h.run(&["retry", "1"]).await;
    assert!(out.status.success(), "retry: {}", stderr(&out));
    h.wait_for_done(1, Duration::from_secs(30)).await;
    let shown = wait_for_hook_runs(&h, 1, Duration::from_secs(30)).await;
    child.stop().await;
    assert!(shown.contains("operator: retry"), "{shown}");
    assert_eq!(h.sim.tasks().len(), 2, "the retry made a new remote task");
}
