//! Reconcile fails safe: a listed task that does not decode is skipped, not fatal to the
//! search; a task whose echo drops a parameter holds its period for an operator rather than
//! risk a second remote task; `forget` of a task whose create may have reached the server is
//! refused, and `retry` searches for its task before creating anything.

use std::time::Duration;

use crate::common::{assert_one_remote_task_per_request, stderr, wait_for, Harness};
use gcore_reportd::store::Store;
use gcore_reportd_sim::Faults;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_task_that_does_not_decode_is_skipped_and_every_period_is_reconciled_once() {
    let h = Harness::with_options(sim_options(), &per_client_reports(2, 1)).await;
    // Every create makes its task, then answers 500; client 1's task is listed with a status
    // that is a number (it does not decode), on the same page as client 0's.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        odd_listed_when: Some(("client_id".into(), serde_json::json!(1))),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 2, "each period created once");
    assert_one_remote_task_per_request(&h, 2, "an undecodable listed task");
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert!(
        stderr(&out).contains("does not decode"),
        "the odd item is logged: {}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_echo_drops_a_parameter_holds_its_period_for_an_operator() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    // The create makes its task, then answers 500; the task echoes no client_id.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        echo_drops: Some("client_id".into()),
        ..Faults::default()
    });
    let out = h.run(&["run", "--once"]).await;
    assert!(!out.status.success(), "a held period is not delivered");
    assert_eq!(creates(&h), 1, "not created again on partial evidence");
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "held", "{rows:?}");
    let why = rows[0]["last_error"].as_str().unwrap_or_default();
    assert!(why.starts_with("held for an operator"), "{why}");
    assert!(
        why.contains("retry --create 1"),
        "the way out is named: {why}"
    );
    let again = h.run(&["run", "--once"]).await;
    assert_eq!(
        again.status.code(),
        Some(1),
        "still held, still not delivered"
    );
    assert!(
        stderr(&again).contains("failed=1"),
        "the held period is the failure counted: {}",
        stderr(&again)
    );
    assert_eq!(creates(&h), 1, "a held period is left to its operator");

    // The operator has looked in Gcore's portal and asks for a new task.
    h.sim.set_faults(Faults::default());
    let out = h.run(&["retry", "--create", "1"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        creates(&h),
        2,
        "created once more, by the operator's decision"
    );
    assert_eq!(h.status().await[0]["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_of_a_task_whose_create_may_have_been_sent_is_refused_and_retry_adopts_its_task() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    // The create makes its task, then answers 500; every list is throttled, so the search
    // for it never runs: the period waits (`creating`, no uuid) and the run gives up after
    // the 3 s deadline. The release before this one expired such a task; it is set so here,
    // as a database of that release holds it.
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        throttle_ops: vec!["list".into()],
        retry_after_secs: 1,
        ..Faults::default()
    });
    let mut run = h.command(&["run", "--once"]);
    run.env("GCORE_REPORTD__POLLING__DEADLINE", "3s");
    let out = tokio::time::timeout(Duration::from_secs(60), run.output())
        .await
        .expect("run --once ends")
        .expect("run");
    assert_eq!(out.status.code(), Some(75), "the period waits for the API");
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "creating", "{rows:?}");
    assert!(rows[0]["uuid"].is_null(), "{rows:?}");
    assert_eq!(creates(&h), 1);
    let out = h.run(&["forget", "--yes", "1"]).await;
    assert!(!out.status.success(), "forget of a waiting task is refused");
    let store = Store::open(&h.path("state.db")).await.expect("open");
    sqlx::query("UPDATE tasks SET state = 'expired' WHERE id = 1 AND state = 'creating'")
        .execute(store.pool())
        .await
        .expect("expired as the release left it");
    store.close().await;

    h.sim.set_faults(Faults::default());
    let out = h.run(&["forget", "--yes", "1"]).await;
    assert!(!out.status.success(), "forget is refused");
    assert!(stderr(&out).contains("retry 1"), "{}", stderr(&out));
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(creates(&h), 1, "nothing created again: {}", stderr(&out));

    let out = h.run(&["retry", "1"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 1, "the earlier task is found and adopted");
    assert_eq!(h.status().await[0]["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_just_after_holding_a_period_the_restarted_run_keeps_it_held_and_creates_nothing() {
    let h = Harness::with_options(sim_options(), &per_client_reports(1, 1)).await;
    h.sim.set_faults(Faults {
        error_after_create_rate: 1.0,
        echo_drops: Some("client_id".into()),
        ..Faults::default()
    });
    let first = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD_CRASH_AT", "reconcile.held:1")
        .output()
        .await
        .expect("run");
    assert_eq!(first.status.code(), None, "killed at the crash point");
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(creates(&h), 1, "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "held", "{rows:?}");
    let why = rows[0]["last_error"].as_str().unwrap_or_default();
    assert!(why.starts_with("held for an operator"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_of_another_request_echoing_more_parameters_is_never_adopted() {
    // The all-clients request's parameters are a subset of the client's: both creates went
    // unanswered, only the client's reached the server, and the all-clients request is looked
    // at first. It must not adopt the client's task (its file would hold one client's data).
    let reports = "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n\n\
        [[reports]]\nname = \"expenses-42\"\ntemplate = \"ResellerExpenses\"\n\
        parameters = { client_id = 42 }\n";
    let h = Harness::with_options(sim_options(), reports).await;
    h.sim.set_faults(Faults {
        late_create: Some(Duration::from_secs(3600)),
        late_create_rate: 1.0,
        ..Faults::default()
    });
    let first = start_daemon(&h, "30s").await;
    wait_for("both creates sent", Duration::from_secs(20), || async {
        creates(&h) >= 2
    })
    .await;
    kill(first).await;
    h.sim.set_faults(Faults::default());
    let store = Store::open(&h.path("state.db")).await.expect("open");
    let client = store.find_task("2").await.expect("task 2");
    assert_eq!(client.report, "expenses-42");
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/billing/org/v1/reports", h.sim.base_url()))
        .header("Authorization", format!("apikey {}", h.key))
        .json(&serde_json::json!({"template_code": "ResellerExpenses", "parameters": client.parameters}))
        .send()
        .await
        .expect("create on the server")
        .json()
        .await
        .expect("its task");
    // Both creates settled (1 s below), the all-clients one marked first.
    sqlx::query(
        "UPDATE tasks SET next_attempt_at = 0,
            intent_at = intent_at - CASE report WHEN 'expenses' THEN 3000 ELSE 2000 END",
    )
    .execute(store.pool())
    .await
    .expect("settled");
    store.close().await;

    let out = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD__API__CREATE_SETTLE", "1s")
        .output()
        .await
        .expect("run --once");
    assert!(out.status.success(), "{}", stderr(&out));
    let tasks = h.sim.tasks();
    for row in h.status().await {
        assert_eq!(row["state"], "done", "{row}");
        let uuid = row["uuid"].as_str().expect("uuid");
        let task = tasks.iter().find(|t| t.uuid == uuid).expect("its task");
        if row["report"] == "expenses-42" {
            assert_eq!(uuid, created["uuid"], "the client's task adopted: {row}");
        } else {
            assert!(
                task.parameters.get("client_id").is_none(),
                "{row}: {task:?}"
            );
        }
    }
}
