//! What is delivered besides a good report: an empty report is delivered marked empty, with
//! `REPORT_ROWS=0` for its hook; the demo writes a real workbook that calamine opens.

use super::{row, THREE_FORMATS};
use crate::common;
use crate::common::{show, stderr, Harness};
use gcore_reportd_sim::SimOptions;

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
