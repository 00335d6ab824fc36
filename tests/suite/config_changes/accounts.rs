//! One database per Gcore account: another account's key is refused at start and on reload,
//! and nothing is created or marked lost there.

use crate::common;
use std::time::Duration;

use crate::common::{stderr, wait_for, Harness, TWO_REPORTS};

/// Another account: the simulator serves `other-key` as client 2000 from now on.
fn switch_to_other_account(h: &Harness) {
    h.sim.switch_account("other-key", 2000);
    std::fs::write(h.path("api-key"), "other-key\n").expect("key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_key_is_refused_clearly_and_nothing_is_marked_lost() {
    let h = Harness::start(TWO_REPORTS).await;
    assert!(h.run(&["run", "--once"]).await.status.success());
    let before = h.status().await;
    // A task still running when the key changes: created, then the process stops.
    let first = common::months_back(5).to_string();
    let out = h
        .command(&[
            "backfill", "--report", "plans-42", "--from", &first, "--to", &first,
        ])
        .env("GCORE_REPORTD_CRASH_AT", "create.recorded:1")
        .output()
        .await
        .expect("backfill");
    assert_eq!(out.status.code(), None, "stopped with a task in flight");

    switch_to_other_account(&h);
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(
        out.status.code(),
        Some(78),
        "a configuration error: {}",
        stderr(&out)
    );
    let said = stderr(&out);
    assert!(
        said.contains("not of account 1000") && said.contains("nothing was marked lost"),
        "{said}"
    );
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] != "lost"), "{rows:?}");
    assert_eq!(rows.len(), before.len() + 1);
    let table = h.run(&["status"]).await;
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("! wrong_account: the API key is"),
        "status shows why"
    );
    assert!(
        h.sim
            .tasks()
            .iter()
            .all(|t| t.parameters["client_id"] != 2000),
        "nothing was created for the other account"
    );
}

/// The simulator serves another account from now on, which has a task of its own (one that
/// lists nothing cannot be told from this database's account); its key is in the key file.
async fn switch_to_other_account_with_a_task(h: &Harness) {
    switch_to_other_account(h);
    let theirs = serde_json::json!({
        "template_code": "ResellerPlans",
        "parameters": { "date_from": "2026-01-01", "date_to": "2026-02-01" },
    });
    let answer = reqwest::Client::new()
        .post(format!("{}/billing/org/v1/reports", h.sim.base_url()))
        .header("Authorization", "apikey other-key")
        .json(&theirs)
        .send()
        .await
        .expect("create in the other account");
    assert_eq!(answer.status().as_u16(), 201);
}

fn add_third_report(h: &Harness) {
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let third = "[[reports]]\nname = \"credits\"\ntemplate = \"ResellerCredits\"\n";
    std::fs::write(h.config_path(), format!("{text}\n{third}")).expect("config");
}

/// SIGHUPs the daemon, whose key file now holds the other account's key: the reload is
/// refused, the daemon runs on, and it created nothing there (the simulator holds our two
/// tasks and the other account's one).
async fn sighup_is_refused_for_the_key(h: &Harness, child: &mut common::Spawned) {
    child.signal(libc::SIGHUP);
    wait_for("the reload's refusal", Duration::from_secs(10), || async {
        child.logged("new config refused: the API key is").is_some()
    })
    .await;
    assert!(
        child.is_running(),
        "the daemon keeps running on the previous config"
    );
    assert_eq!(
        h.sim.tasks().len(),
        3,
        "the daemon created nothing in the other account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_bringing_another_accounts_key_is_refused_and_creates_nothing_there() {
    let h = Harness::start(TWO_REPORTS).await;
    let mut child = h.spawn(h.child(&["run"]), "daemon.log");
    h.wait_for_done(2, Duration::from_secs(30)).await;
    // The other account's key arrives with a third report, by SIGHUP.
    switch_to_other_account_with_a_task(&h).await;
    add_third_report(&h);
    sighup_is_refused_for_the_key(&h, &mut child).await;
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    child.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_bringing_another_accounts_key_while_the_old_key_is_refused_is_refused_too() {
    let h = Harness::start(TWO_REPORTS).await;
    assert!(h.run(&["run", "--once"]).await.status.success());
    // The key stops working while a third report is due: its create is refused (401).
    std::fs::write(h.path("api-key"), "7$revoked-0000\n").expect("revoked key");
    add_third_report(&h);
    let mut child = h.spawn(h.child(&["run"]), "daemon.log");
    wait_for("the refusal recorded", Duration::from_secs(20), || async {
        common::status_conditions(&h)
            .await
            .iter()
            .any(|c| c.contains("auth_blocked"))
    })
    .await;
    // The replacement is another account's key: the old key's refusal does not let it in.
    switch_to_other_account_with_a_task(&h).await;
    sighup_is_refused_for_the_key(&h, &mut child).await;
    child.stop().await;
}
