//! Requests the server rejects: a create answered 400 fails at once with the server's field
//! error; a task that vanishes (404) is marked lost, or resubmitted when `resubmit_lost` is set.

use super::{assert_done_rows_have_the_served_bytes, run_with_env, sim_options, RUN_LIMIT};
use crate::common::{assert_no_temporary_files, stderr, wait_for, Harness};
use gcore_reportd_sim::SimOptions;
use std::time::Duration;

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
    // A refused create made no task: forgetting it is safe, and allowed.
    let id = typo["id"].to_string();
    let out = h.run(&["forget", &id, "--yes"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
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
