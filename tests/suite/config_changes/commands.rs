//! The operator commands' edge cases: ambiguous uuid prefixes, `forget` saying whether the
//! period comes back, `status` into a reader that stops early, and empty template enums.

use crate::common;

use crate::common::{stderr, Harness, TWO_REPORTS};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_uuid_prefix_is_refused_with_its_candidates_and_eight_digits_are_a_prefix() {
    let h = Harness::start(TWO_REPORTS).await;
    assert!(h.run(&["run", "--once"]).await.status.success());
    let store = gcore_reportd::store::Store::open(&h.path("state.db"))
        .await
        .expect("db");
    for (id, uuid) in [
        (1, "deadbeef-0000-4000-8000-000000000001"),
        (2, "00000001-0000-4000-8000-000000000002"),
    ] {
        sqlx::query("UPDATE tasks SET uuid = ? WHERE id = ?")
            .bind(uuid)
            .bind(id)
            .execute(store.pool())
            .await
            .expect("update");
    }
    sqlx::query(
        "INSERT INTO tasks (report, period_from, period_to, template, format, parameters,
            file_name, state, uuid, next_attempt_at, deadline_at, created_at, updated_at, request)
         SELECT report, '2001-01-01', '2001-02-01', template, format, parameters, 'x.csv',
            'failed', 'deadbeef-0000-4000-8000-000000000003', 0, 0, 0, 0, request || 'x'
         FROM tasks WHERE id = 1",
    )
    .execute(store.pool())
    .await
    .expect("a third task");
    store.close().await;

    for args in [
        &["show", "deadbeef"][..],
        &["forget", "deadbeef-0000", "--yes"],
    ] {
        let out = h.run(args).await;
        assert!(!out.status.success(), "{args:?}");
        let said = stderr(&out);
        assert!(
            said.contains("several tasks (ids 1, 3)"),
            "{args:?}: {said}"
        );
    }
    assert_eq!(h.status().await.len(), 3, "nothing forgotten");
    let out = h
        .run(&["show", "deadbeef-0000-4000-8000-000000000003"])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2001-01-01"));
    // Eight digits are a uuid prefix (task 2's), not task id 1.
    let out = h.run(&["show", "00000001"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("00000001-0000-4000-8000-000000000002"),
        "{shown}"
    );
    assert!(shown.contains(&format!("{:>16}: 2", "id")), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_says_truthfully_whether_the_period_will_be_created_again() {
    let h = Harness::start(TWO_REPORTS).await;
    let old = common::months_back(4).to_string();
    let backfill = [
        "backfill", "--report", "expenses", "--from", &old, "--to", &old,
    ];
    assert!(h.run(&backfill).await.status.success());
    assert!(h.run(&["run", "--once"]).await.status.success());
    let rows = h.status().await;
    let id_of = |from: &str| {
        rows.iter()
            .find(|r| r["report"] == "expenses" && r["period_from"] == from)
            .map(|r| r["id"].to_string())
            .unwrap_or_else(|| panic!("expenses {from} in {rows:?}"))
    };
    let newest = rows
        .iter()
        .filter(|r| r["report"] == "expenses")
        .map(|r| r["period_from"].as_str().unwrap_or("").to_string())
        .max()
        .expect("expenses rows");
    let out = h.run(&["forget", &id_of(&old), "--yes"]).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("will not be created again") && said.contains("backfill --report expenses"),
        "{said}"
    );
    let out = h.run(&["forget", &id_of(&newest), "--yes"]).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("will be created again"), "{said}");
    assert!(h.run(&["run", "--once"]).await.status.success());
    let again = h.status().await;
    assert!(again
        .iter()
        .any(|r| r["report"] == "expenses" && r["period_from"] == newest.as_str()));
    assert!(
        !again.iter().any(|r| r["period_from"] == old.as_str()),
        "as said"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_piped_into_a_reader_that_stops_early_exits_quietly() {
    let h = Harness::start(DAILY).await;
    let from = days_back(400).to_string();
    let to = days_back(2).to_string();
    let out = h
        .run(&[
            "backfill", "--report", "daily", "--from", &from, "--to", &to,
        ])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    use tokio::io::AsyncBufReadExt;
    let mut child = h
        .command(&["status", "--json", "--all"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = lines.next_line().await.expect("read").expect("a line");
    assert!(first.starts_with('{'));
    drop(lines); // like `head -1`
    let out = child.wait_with_output().await.expect("wait");
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert_eq!(stderr(&out), "", "no Broken pipe message or panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_parameter_with_an_empty_enum_restricts_nothing_online() {
    let h = Harness::start(
        "[[reports]]\nname = \"labelled\"\ntemplate = \"ResellerExpenses\"\nparameters = { label = \"Q4 board pack\" }\n",
    )
    .await;
    let templates = h.run(&["templates", "--json"]).await;
    assert!(String::from_utf8_lossy(&templates.stdout).contains("\"enum\": []"));
    let out = h.run(&["check-config", "--online"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
}
