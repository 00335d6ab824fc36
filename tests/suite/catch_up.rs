//! Schedules and catch-up with the real binary: a host that was down for three months delivers
//! exactly three monthly reports on boot; backfilling a year creates twelve tasks and a second
//! backfill creates none; `submit` tracks a one-off task to the end.

use crate::common::{months_back, stderr, wait_for, Harness};

fn expenses_tasks(h: &Harness) -> Vec<String> {
    let mut froms: Vec<String> = h
        .sim
        .tasks()
        .into_iter()
        .filter(|t| t.template == "ResellerExpenses")
        .map(|t| t.parameters["date_from"].as_str().unwrap_or("").to_string())
        .collect();
    froms.sort();
    froms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_three_month_outage_catch_up_creates_exactly_three_monthly_tasks() {
    let h = Harness::start(&format!(
        "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nday = 1\ncatch_up_from = \"{}\"\n",
        months_back(3)
    ))
    .await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let want: Vec<String> = (1..=3).rev().map(|n| months_back(n).to_string()).collect();
    assert_eq!(
        expenses_tasks(&h),
        want,
        "the three missed months, each once"
    );
    assert_eq!(h.output_files().len(), 3);

    let again = h.run(&["run", "--once"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        expenses_tasks(&h).len(),
        3,
        "a second start creates nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_catch_up_only_the_most_recent_period_is_created() {
    let h = Harness::start(
        "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nday = 1\n",
    )
    .await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(expenses_tasks(&h), vec![months_back(1).to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfilling_a_year_creates_twelve_tasks_and_a_second_backfill_creates_none() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n").await;
    let args = [
        "backfill",
        "--report",
        "expenses",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
    ];

    let dry = h.run(&[&args[..], &["--dry-run"]].concat()).await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    let listed = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.starts_with("expenses "))
            .count(),
        12,
        "{listed}"
    );
    assert!(
        h.sim.tasks().is_empty() && !h.path("state.db").exists(),
        "--dry-run touches nothing"
    );

    let first = h.run(&args).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let want: Vec<String> = (1..=12).map(|m| format!("2025-{m:02}-01")).collect();
    assert_eq!(expenses_tasks(&h), want);
    assert_eq!(h.output_files().len(), 12);
    assert!(h.status().await.iter().all(|t| t["state"] == "done"));

    let second = h.run(&args).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("0 new period(s)"));
    assert_eq!(
        expenses_tasks(&h).len(),
        12,
        "the second backfill creates none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_one_off_task_is_tracked_to_its_file() {
    let h = Harness::start("").await;
    let out = h
        .run(&[
            "submit",
            "--template",
            "ResellerCredits",
            "--param",
            "date_from=2025-03-01",
            "--param",
            "date_to=2025-04-01",
            "--param",
            "client_id=9",
            "--format",
            "json",
        ])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let tasks = h.sim.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].parameters["client_id"], 9,
        "integers are sent as integers"
    );
    let status = h.status().await;
    assert_eq!(status[0]["state"], "done");
    assert!(status[0]["path"]
        .as_str()
        .unwrap_or("")
        .ends_with("_2025-03-01_2025-04-01.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_of_an_unknown_report_is_a_usage_error() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n").await;
    let out = h
        .run(&[
            "backfill",
            "--report",
            "nope",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--report nope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_task_that_ended_while_its_create_was_unanswered_adopts_the_created_task() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n").await;
    // The create reaches the server, then the process dies before recording its answer...
    let killed = h
        .command(&["run", "--once"])
        .env("GCORE_REPORTD_CRASH_AT", "create.after_post:1")
        .output()
        .await
        .expect("run");
    assert_eq!(killed.status.code(), None, "killed at the crash point");
    assert_eq!(h.sim.tasks().len(), 1);
    // ...and the task is given up in that state (as past its deadline).
    let store = gcore_reportd::store::Store::open(&h.path("state.db"))
        .await
        .expect("db");
    sqlx::query("UPDATE tasks SET state = 'expired' WHERE id = 1")
        .execute(store.pool())
        .await
        .expect("update");
    store.close().await;

    let retry = h.run(&["retry", "1"]).await;
    assert!(retry.status.success(), "{}", stderr(&retry));
    let again = h.run(&["run", "--once"]).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        h.sim.tasks().len(),
        1,
        "the retry adopted the task already on the server"
    );
    assert_eq!(h.status().await[0]["state"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_daemon_runs_a_second_engine_is_refused_and_a_backfill_is_left_to_the_daemon() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n").await;
    let mut daemon = h.spawn(h.daemon(), "daemon.log");
    wait_for(
        "the daemon to start work",
        std::time::Duration::from_secs(30),
        || async { !h.sim.tasks().is_empty() },
    )
    .await;

    let second = h.run(&["run", "--once"]).await;
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another gcore-reportd"),
        "{}",
        stderr(&second)
    );

    let args = [
        "backfill",
        "--report",
        "expenses",
        "--from",
        "2025-01-01",
        "--to",
        "2025-03-31",
    ];
    let backfill = h.run(&args).await;
    assert!(backfill.status.success(), "{}", stderr(&backfill));
    assert!(String::from_utf8_lossy(&backfill.stdout).contains("it will process them"));
    wait_for(
        "the daemon to process the backfill",
        std::time::Duration::from_secs(30),
        || async { h.output_files().len() >= 4 },
    )
    .await;
    daemon.kill().await;
    assert_eq!(
        h.sim.tasks().len(),
        4,
        "one task per period, created by the daemon alone"
    );
}
