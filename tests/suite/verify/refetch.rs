//! Malformed files are never delivered: a ragged CSV, a short JSON row and a broken workbook
//! served whole with the right Content-Type are fetched again and delivered once good; a report
//! malformed identically at every download fails with the reason after `max_attempts` remote
//! tasks.

use super::{row, THREE_FORMATS};
use crate::common::{served_as_created, show, stderr, Harness};

fn task_of(h: &Harness, template: &str) -> gcore_reportd_sim::SimTask {
    let tasks = h.sim.tasks();
    let mut of: Vec<_> = tasks
        .into_iter()
        .filter(|t| t.template == template)
        .collect();
    assert_eq!(of.len(), 1, "one remote task for {template}");
    of.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ragged_csv_a_short_json_row_and_a_broken_workbook_are_fetched_again_and_delivered_when_good(
) {
    let h = Harness::start(THREE_FORMATS).await;
    h.sim.serve_malformed(1);
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let status = h.status().await;
    for (report, template, format, problem) in [
        (
            "expenses",
            "ResellerExpenses",
            "csv",
            "record 11 has 7 fields, the header has 6",
        ),
        (
            "plans",
            "ResellerPlans",
            "json",
            "row 11 has 5 values, the headers have 6",
        ),
        (
            "credits",
            "ResellerCredits",
            "xlsx",
            "the workbook does not open",
        ),
    ] {
        let task = row(&status, report);
        assert_eq!(task["state"], "done", "{task}");
        assert_eq!(
            (task["rows"].as_u64(), task["columns"].as_u64()),
            (Some(20), Some(6)),
            "{task}"
        );
        assert_eq!(task["empty"], false);
        let want = served_as_created(&task_of(&h, template), format);
        let path = task["path"].as_str().expect("a path");
        assert_eq!(
            std::fs::read(path).expect("the file"),
            want,
            "{report}: the good bytes"
        );
        let history = show(&h, &task["id"].to_string()).await;
        assert!(
            history.contains(&format!(
                "the downloaded {format} was not delivered: {problem}"
            )),
            "{report}: the rejection is in the history:\n{history}"
        );
    }
    let downloads = h.sim.request_counts().get("download").copied();
    assert_eq!(downloads, Some(6), "each report was downloaded twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_malformed_identically_at_every_download_fails_after_max_attempts_remote_tasks_naming_it(
) {
    let h = Harness::start(&format!("[defaults]\nmax_attempts = 2\n{THREE_FORMATS}")).await;
    h.sim.serve_malformed(u32::MAX);
    let out = h.run(&["run", "--once"]).await;
    assert!(!out.status.success(), "failed tasks make the run fail");
    let status = h.status().await;
    let csv = row(&status, "expenses");
    assert_eq!(csv["state"], "failed", "{csv}");
    let reason = csv["last_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("failed after 2 remote tasks (max_attempts = 2)")
            && reason.contains("the same bytes downloaded twice")
            && reason.contains("record 11 has 7 fields, the header has 6")
            && reason.contains(
                "verify = \"strict\"; verify = \"well-formed\" accepts rows of any width"
            ),
        "{reason}"
    );
    assert_eq!(row(&status, "plans")["state"], "failed");
    assert_eq!(row(&status, "credits")["state"], "failed");
    assert!(
        h.output_files().is_empty(),
        "nothing delivered: {:?}",
        h.output_files()
    );
    assert_eq!(h.sim.tasks().len(), 6, "two remote tasks per report");
    let downloads = h.sim.request_counts().get("download").copied();
    assert_eq!(downloads, Some(12), "each remote task's file twice");
}
