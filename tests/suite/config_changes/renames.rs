//! Renaming a report (and changing its format, file name and schedule) creates nothing
//! again; two reports making the same request are refused.

use crate::common::{stderr, Harness, FAST_POLLING};

use super::*;

/// Remote tasks created so far.
fn creates(h: &Harness) -> u64 {
    h.sim.request_counts().get("create").copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_a_report_and_changing_its_format_file_name_and_schedule_creates_nothing_again() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n").await;
    assert!(h.run(&["run", "--once"]).await.status.success());
    let delivered = h.output_files();
    // An older period still in flight when the config changes: the one just before the period
    // delivered (on the 1st that is two months back, from the 2nd on three), so that no gap
    // lies between them for catch-up to fill whatever the date.
    let newest = h.status().await[0]["period_from"]
        .as_str()
        .expect("period_from")
        .parse::<jiff::civil::Date>()
        .expect("a date");
    let older = newest
        .checked_sub(jiff::Span::new().months(1))
        .expect("date arithmetic")
        .to_string();
    let backfill = [
        "backfill", "--report", "expenses", "--from", &older, "--to", &older,
    ];
    run_killed_at(&h, &backfill, "create.recorded:1").await;
    assert_eq!(creates(&h), 2);

    // The schedule is written anew (a cron line, in a named zone) but fires when the default
    // does, the 2nd at 00:00 UTC: a schedule firing at other instants would leave, every month,
    // a window in which the two disagree on the newest due period.
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"costs\"\ntemplate = \"ResellerExpenses\"\nformat = \"xlsx\"\nfile_name = \"{{name}}-{{date_from}}.{{format}}\"\nschedule = \"cron: 0 0 2 * *\"\ntimezone = \"Etc/UTC\"\non_success = [\"true\"]\n"
    ));
    let check = h.run(&["check-config"]).await;
    assert!(check.status.success(), "{}", stderr(&check));
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("costs: makes the requests of report expenses; its tracked periods carry over to costs and none is created again"),
        "{said}"
    );
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 2, "nothing created again");
    let rows = h.status().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["report"] == "costs" && r["state"] == "done"),
        "{rows:?}"
    );
    let old = rows
        .iter()
        .find(|r| r["period_from"] == older.as_str())
        .expect("older");
    assert_eq!(old["format"], "xlsx", "undelivered: the new format");
    assert!(old["path"]
        .as_str()
        .unwrap_or("")
        .ends_with(&format!("costs-{older}.xlsx")));
    let kept = rows
        .iter()
        .find(|r| r["period_from"] != older.as_str())
        .expect("newer");
    assert_eq!(kept["format"], "csv", "delivered: keeps its file");
    assert!(delivered.iter().all(|f| h.output_files().contains(f)));
    let again = h.run(&["check-config"]).await;
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("costs: unchanged; 2 tracked period(s)")
    );

    // A new date_to_style is a new request: its most recent due period is created again (its
    // file named apart from the delivered one, which stays).
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"costs\"\ntemplate = \"ResellerExpenses\"\nformat = \"xlsx\"\nfile_name = \"{{name}}-{{date_from}}-{{date_to}}.{{format}}\"\ndate_to_style = \"inclusive\"\n"
    ));
    let check = h.run(&["check-config"]).await;
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("costs: the dates asked (period or date_to_style) changed since the last run; a changed request is a new request: its most recent due period is created again")
            && said.contains("2 delivered period(s) keep their files"),
        "{said}"
    );
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(creates(&h), 3, "the most recent period, asked anew");
    let rows = h.status().await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    let asked_again = rows
        .iter()
        .filter(|r| r["period_from"] == newest.to_string().as_str())
        .count();
    assert_eq!(asked_again, 2, "{rows:?}");
    assert!(delivered.iter().all(|f| h.output_files().contains(f)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reports_making_the_same_request_are_refused_by_check_config() {
    let h = Harness::start(
        "[[reports]]\nname = \"csv\"\ntemplate = \"ResellerExpenses\"\n\n[[reports]]\nname = \"xlsx\"\ntemplate = \"ResellerExpenses\"\nformat = \"xlsx\"\n",
    )
    .await;
    let out = h.run(&["check-config"]).await;
    assert_eq!(out.status.code(), Some(78));
    let said = stderr(&out);
    assert!(
        said.contains("reports[1].template") && said.contains("asks the same as report \"csv\""),
        "{said}"
    );
}
