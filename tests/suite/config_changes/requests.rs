//! A changed request is a new request: switching a monthly report to quarterly creates the most
//! recent quarter although its first day is a tracked month's, and the next quarter when it
//! falls due, so every month ends up in a file. The commands run at instants of the year before
//! the tests' clock (`GCORE_REPORTD_NOW`), so the test holds on any date.

use crate::common::{self, stderr, Harness, FAST_POLLING};

/// Runs the binary with `args` as if now were `at`; it must succeed.
async fn run_at(h: &Harness, at: &str, args: &[&str]) -> String {
    let out = h
        .command(args)
        .env(gcore_reportd::clock::NOW_VARIABLE, at)
        .output()
        .await
        .expect("run gcore-reportd");
    assert!(out.status.success(), "{args:?} at {at}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every (first day, date_to, state) the database tracks, sorted.
async fn periods(h: &Harness) -> Vec<(String, String, String)> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let mut rows: Vec<_> = h
        .status()
        .await
        .iter()
        .map(|r| {
            (
                text(&r["period_from"]),
                text(&r["period_to"]),
                text(&r["state"]),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The row of a delivered period.
fn done(from: String, to: String) -> (String, String, String) {
    (from, to, "done".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_switched_from_monthly_to_quarterly_delivers_this_quarter_and_the_next() {
    let year = common::now().to_zoned(jiff::tz::TimeZone::UTC).year() - 1;
    let next = year + 1;
    let report = "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n";
    let h = Harness::start(report).await;
    let december = format!("{year}-12-10T12:00:00Z");
    let (july, november) = (format!("{year}-07-01"), format!("{year}-11-01"));
    let backfill = [
        "backfill", "--report", "expenses", "--from", &july, "--to", &november,
    ];
    run_at(&h, &december, &backfill).await;
    run_at(&h, &december, &["run", "--once"]).await;
    let month = |m: i16| {
        let from = jiff::civil::date(year, m as i8, 1);
        let until = from
            .checked_add(jiff::Span::new().months(1))
            .expect("a date");
        done(from.to_string(), until.to_string())
    };
    let monthly: Vec<_> = (7..=11).map(month).collect();
    assert_eq!(periods(&h).await, monthly, "July to November, monthly");

    h.write_config(&format!(
        "{FAST_POLLING}\n{report}period = \"previous-quarter\"\n"
    ));
    let said = run_at(&h, &december, &["check-config"]).await;
    assert!(
        said.contains("expenses: period changed to previous-quarter since the last run; a changed request is a new request: its most recent due period is created again"),
        "{said}"
    );
    run_at(&h, &december, &["run", "--once"]).await;
    let q3 = done(july.clone(), format!("{year}-10-01"));
    let mut want = monthly.clone();
    want.push(q3.clone());
    want.sort();
    assert_eq!(
        periods(&h).await,
        want,
        "Q3 created although July is tracked"
    );
    let said = run_at(&h, &december, &["check-config"]).await;
    assert!(
        said.contains("expenses: unchanged; 6 tracked period(s)"),
        "{said}"
    );

    run_at(&h, &format!("{next}-01-02T00:00:00Z"), &["run", "--once"]).await;
    want.push(done(format!("{year}-10-01"), format!("{next}-01-01")));
    want.sort();
    assert_eq!(
        periods(&h).await,
        want,
        "Q4 created although October is tracked"
    );
    let q4_file = format!("expenses_{year}-10-01_{next}-01-01.csv");
    assert!(
        h.output_files().contains(&q4_file),
        "{:?}",
        h.output_files()
    );
    assert_eq!(h.sim.request_counts().get("create").copied(), Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_says_when_a_changed_request_would_wait_for_the_old_requests_file() {
    let report = "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nparameters = { client_id = 1 }\n";
    let h = Harness::start(report).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let changed = report.replace("client_id = 1", "client_id = 2");
    h.write_config(&format!("{FAST_POLLING}\n{changed}"));
    let out = h.run(&["check-config"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("expenses: parameters changed since the last run; a changed request is a new request: its most recent due period is created again; 1 delivered period(s) keep their files; but expenses_")
            && said.contains("under the old request: the new one waits until file_name tells them apart"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_switched_to_quarterly_then_down_for_two_quarters_catches_both_up() {
    let year = common::now().to_zoned(jiff::tz::TimeZone::UTC).year() - 1;
    let next = year + 1;
    let report = "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n";
    let h = Harness::start(report).await;
    let december = format!("{year}-12-10T12:00:00Z");
    let (october, november) = (format!("{year}-10-01"), format!("{year}-11-01"));
    let backfill = [
        "backfill", "--report", "expenses", "--from", &october, "--to", &november,
    ];
    run_at(&h, &december, &backfill).await;
    h.write_config(&format!(
        "{FAST_POLLING}\n{report}period = \"previous-quarter\"\n"
    ));
    run_at(&h, &december, &["run", "--once"]).await;
    // Down from December to April: the newest period of the report's name is still November's
    // monthly one; the quarterly request's newest is Q3, so Q4 and Q1 are both due.
    run_at(&h, &format!("{next}-04-02T00:00:00Z"), &["run", "--once"]).await;
    let want = vec![
        done(format!("{year}-07-01"), format!("{year}-10-01")),
        done(october.clone(), format!("{year}-11-01")),
        done(october, format!("{next}-01-01")),
        done(november, format!("{year}-12-01")),
        done(format!("{next}-01-01"), format!("{next}-04-01")),
    ];
    assert_eq!(periods(&h).await, want);
}
