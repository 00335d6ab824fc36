//! The real daemon restarted while creates are held and committed late, against a server that
//! echoes parameters loosely, answers 404 for a while, fails a list page or runs its clock
//! ahead: never a period created twice.

use std::time::Duration;

use crate::common::{
    assert_no_temporary_files, assert_one_remote_task_per_request, stderr, wait_for, Harness,
};
use gcore_reportd_sim::Faults;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_while_creates_are_held_and_committed_late_never_create_a_period_twice() {
    // 3 clients x 4 months = 12 periods. Every create is held for 1 s, answered 504, and its
    // task committed 3 s after it arrived.
    let h = Harness::with_options(sim_options(), &per_client_reports(3, 4)).await;
    h.sim.set_faults(Faults {
        late_create: Some(Duration::from_secs(3)),
        late_create_rate: 1.0,
        hold_create: Duration::from_secs(1),
        ..Faults::default()
    });
    // The default api.create_settle (the harness config sets a short one).
    let settle = "30s";
    let first = start_daemon(&h, settle).await;
    wait_for("every create sent", Duration::from_secs(20), || async {
        creates(&h) == 12
    })
    .await;
    kill(first).await;
    // Six quick restarts, each killed as soon as it has started.
    for _ in 0..6 {
        kill(start_daemon(&h, settle).await).await;
    }
    let out = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD__API__CREATE_SETTLE", settle)
        .output()
        .await
        .expect("run --once");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 12, "no create was sent again");
    assert_one_remote_task_per_request(&h, 12, "late commits");
    let rows = h.status().await;
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_eq!(h.output_files().len(), 12);
    assert_no_temporary_files(&h, "late commits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_echoing_its_parameters_as_strings_and_date_times_is_adopted_not_created_again() {
    let h = Harness::with_options(sim_options(), &per_client_reports(2, 1)).await;
    // Every create makes its task, then answers 500; the task echoes `"0"` for 0 and
    // `2026-…T00:00:00Z` for each date.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        echo_loosely: true,
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_one_remote_task_per_request(&h, 2, "loose echo");
    assert_eq!(creates(&h), 2);
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_that_clears_within_the_grace_period_does_not_lose_the_task() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    // Read-after-write lag: for its first second the task answers 404 (several polls).
    h.sim.set_faults(Faults {
        not_found_for: Duration::from_secs(1),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    assert_eq!(rows[0]["attempts"], 1, "not resubmitted");
    assert_eq!(h.sim.tasks().len(), 1);
    let show = h.run(&["show", "1"]).await;
    let history = String::from_utf8_lossy(&show.stdout);
    assert!(history.contains("answered 404"), "{history}");
    assert!(h.sim.status_counts().get(&404).copied().unwrap_or(0) >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_fails_on_one_page_asks_for_that_page_again_not_for_the_first() {
    let options = SimOptions {
        record: true,
        ..sim_options()
    };
    let h = Harness::with_options(options, &per_client_reports(1, 1)).await;
    // 250 other tasks of the template on the server: the search for the unanswered create
    // reads at least three pages.
    let http = reqwest::Client::new();
    for i in 0..250 {
        let body = serde_json::json!({
            "template_code": "ResellerExpenses",
            "parameters": { "client_id": 1000 + i, "date_from": "2025-01-01", "date_to": "2025-02-01" },
        });
        let answer = http
            .post(format!("{}/billing/org/v1/reports", h.sim.base_url()))
            .header("Authorization", format!("apikey {}", h.key))
            .json(&body)
            .send()
            .await
            .expect("create");
        assert_eq!(answer.status().as_u16(), 201);
    }
    // The create is answered 500 after creating; the second list request fails twice.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        fail_list_request: Some((1, 2)),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 251, "adopted, not created again");
    let lists: Vec<(Option<String>, u16)> = h
        .sim
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == "/billing/org/v1/reports")
        .filter(|e| e.query.as_deref().is_some_and(|q| q.contains("template=")))
        .map(|e| (e.query, e.status))
        .collect();
    assert!(lists.len() >= 5, "{lists:?}");
    assert_eq!(
        (lists[1].1, lists[2].1, lists[3].1),
        (503, 503, 200),
        "{lists:?}"
    );
    assert_eq!(lists[1].0, lists[3].0, "the failed page is asked for again");
    assert_eq!(lists[2].0, lists[3].0, "the failed page is asked for again");
    let first = lists.iter().filter(|(q, _)| *q == lists[0].0).count();
    assert_eq!(first, 1, "the first page is not asked for again: {lists:?}");
    assert_eq!(h.status().await[0]["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_clock_five_minutes_ahead_is_warned_about_and_still_reconciled() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    h.sim.set_faults(Faults {
        server_clock_ahead: Duration::from_secs(300),
        error_after_create_rate: 1.0,
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        creates(&h),
        1,
        "the unanswered create was found despite the skew"
    );
    assert!(
        stderr(&out).contains("disagree by 300s"),
        "{}",
        stderr(&out)
    );
}
