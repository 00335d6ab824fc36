//! Verification before delivery and empty reports (issue 13, items 1, 2 and 4), with the real
//! binary, a real SQLite file and the simulator: a malformed file served whole with the right
//! Content-Type is never delivered, it is fetched again and delivered once good, the task
//! fails with the reason when it never is; the `verify` levels relax the check; an empty
//! report is delivered marked empty; the demo's workbook is a real one.

use crate::common;
use crate::common::{served_as_created, show, stderr, Harness};
use gcore_reportd_sim::SimOptions;

/// One report per format, retried quickly.
const THREE_FORMATS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"

[[reports]]
name = "plans"
template = "ResellerPlans"
format = "json"

[[reports]]
name = "credits"
template = "ResellerCredits"
format = "xlsx"
"#;

fn row<'a>(status: &'a [serde_json::Value], report: &str) -> &'a serde_json::Value {
    status
        .iter()
        .find(|r| r["report"] == report)
        .unwrap_or_else(|| panic!("no task for {report}: {status:?}"))
}

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
async fn a_report_malformed_at_every_download_fails_with_the_reason_after_max_attempts() {
    let h = Harness::start(&format!("[defaults]\nmax_attempts = 2\n{THREE_FORMATS}")).await;
    h.sim.serve_malformed(u32::MAX);
    let out = h.run(&["run", "--once"]).await;
    assert!(!out.status.success(), "failed tasks make the run fail");
    let status = h.status().await;
    let csv = row(&status, "expenses");
    assert_eq!(csv["state"], "failed", "{csv}");
    let reason = csv["last_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("failed after 2 downloads (max_attempts = 2)")
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
    assert_eq!(h.sim.request_counts().get("download").copied(), Some(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_well_formed_accepts_any_widths_and_verify_off_accepts_any_bytes() {
    let reports = r#"
[[reports]]
name = "portal"
template = "ResellerExpenses"
format = "csv"
verify = "well-formed"

[[reports]]
name = "unchecked"
template = "ResellerCredits"
format = "xlsx"
verify = "off"
"#;
    let h = Harness::start(reports).await;
    h.sim.serve_malformed(1);
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let status = h.status().await;
    let portal = row(&status, "portal");
    assert_eq!(portal["state"], "done");
    assert_eq!(
        portal["rows"].as_u64(),
        Some(20),
        "the ragged file was counted"
    );
    let unchecked = row(&status, "unchecked");
    assert_eq!(unchecked["state"], "done");
    assert!(
        unchecked["rows"].is_null(),
        "an unchecked file has no shape: {unchecked}"
    );
    assert_eq!(h.sim.request_counts().get("download").copied(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_report_is_delivered_marked_empty_with_report_rows_0_for_its_hook() {
    let options = SimOptions {
        report_rows: 0,
        ..common::quick_sim()
    };
    let seen = tempfile::NamedTempFile::new().expect("temp file");
    let reports = format!(
        "{THREE_FORMATS}\non_success = ['/bin/sh', '-c', 'echo \"$REPORT_ROWS/$REPORT_COLUMNS\" > \"$0\"', '{}']\n",
        seen.path().display()
    );
    let h = Harness::with_options(options, &reports).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let status = h.status().await;
    for report in ["expenses", "plans", "credits"] {
        let task = row(&status, report);
        assert_eq!(task["state"], "done", "{task}");
        assert_eq!(
            (task["empty"].as_bool(), task["rows"].as_u64()),
            (Some(true), Some(0)),
            "{task}"
        );
    }
    let said = std::fs::read_to_string(seen.path()).expect("the hook ran");
    assert_eq!(
        said.trim(),
        "0/6",
        "REPORT_ROWS and REPORT_COLUMNS of the last report's hook"
    );
    let history = show(&h, &row(&status, "expenses")["id"].to_string()).await;
    assert!(
        history.contains("an empty report (6 columns, no rows)"),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_a_real_workbook_that_calamine_opens_and_file_calls_excel_2007() {
    use calamine::Reader;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = tokio::process::Command::new(common::BIN)
        .args(["demo", "--dir"])
        .arg(dir.path())
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("run demo");
    assert!(out.status.success(), "demo: {}", stderr(&out));
    let workbook = std::fs::read_dir(dir.path())
        .expect("demo dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .expect("the demo wrote an .xlsx");
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(&workbook).expect("calamine opens it");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("it reads");
    assert_eq!(
        sheet.get_size(),
        (21, 6),
        "a header and 20 rows of 6 columns"
    );
    assert_eq!(
        sheet.get_value((0, 0)).map(|c| c.to_string()).as_deref(),
        Some("client_id")
    );
    let file = std::process::Command::new("file")
        .arg(&workbook)
        .output()
        .expect("run file");
    let said = String::from_utf8_lossy(&file.stdout);
    assert!(said.contains("Microsoft Excel 2007+"), "file says: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_verify_on_empty_or_refresh_value_exits_78_naming_the_key() {
    let h = Harness::start("").await;
    for (line, key) in [
        ("verify = \"lenient\"", "reports[0].verify"),
        ("on_empty = \"refetch\"", "reports[0].on_empty"),
        ("on_empty = \"skip\"", "reports[0].on_empty"),
        ("refresh = [\"7d\", \"2d\"]", "reports[0].refresh"),
        ("refresh = [\"soon\"]", "reports[0].refresh"),
        ("on_restated = [\" \"]", "reports[0].on_restated"),
    ] {
        h.write_config(&format!(
            "[[reports]]\nname = \"r\"\ntemplate = \"ResellerExpenses\"\n{line}\n"
        ));
        let out = h.run(&["check-config"]).await;
        assert_eq!(out.status.code(), Some(78), "{line}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains(key) && said.lines().count() == 1,
            "{line}: {said}"
        );
    }
}
