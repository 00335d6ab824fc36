//! Schedules over the months: catch-up after downtime without `catch_up_from`, the cap on
//! catch-up periods, the timer firing daily, and the 2nd as the monthly due day.

use crate::common::{stderr, Harness};

use super::*;

/// The `date_from` of every remote task of `template`, sorted.
fn created_froms(h: &Harness, template: &str) -> Vec<String> {
    let mut froms: Vec<String> = h
        .sim
        .tasks()
        .into_iter()
        .filter(|t| t.template == template)
        .map(|t| t.parameters["date_from"].as_str().unwrap_or("").to_string())
        .collect();
    froms.sort();
    froms
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_report_down_for_three_days_gets_every_missed_day_without_catch_up_from() {
    let h = Harness::start(DAILY).await;
    let first = days_back(4).to_string();
    let backfill = [
        "backfill", "--report", "daily", "--from", &first, "--to", &first,
    ];
    let out = h.run(&backfill).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // The daemon was down since that task; it starts again today.
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let want: Vec<String> = (1..=4).rev().map(|n| days_back(n).to_string()).collect();
    assert_eq!(
        created_froms(&h, "ResellerExpenses"),
        want,
        "every day once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_longer_than_max_catch_up_periods_warns_and_creates_the_newest_periods() {
    let h = Harness::start(&format!("{DAILY}max_catch_up_periods = 2\n")).await;
    let first = days_back(6).to_string();
    let backfill = [
        "backfill", "--report", "daily", "--from", &first, "--to", &first,
    ];
    assert!(h.run(&backfill).await.status.success());
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let want = [days_back(6), days_back(2), days_back(1)].map(|d| d.to_string());
    assert_eq!(created_froms(&h, "ResellerExpenses"), want);
    let log = stderr(&out);
    assert!(
        log.contains("max_catch_up_periods") && log.contains("--report daily --from"),
        "the skipped periods are named with the backfill that creates them: {log}"
    );
}

/// The fire times `systemd-analyze calendar` computes for `expression`.
fn fire_times(expression: &str, n: usize) -> Vec<jiff::Timestamp> {
    let out = std::process::Command::new("systemd-analyze")
        .args(["calendar", &format!("--iterations={n}"), expression])
        .env("TZ", "UTC")
        .output()
        .expect("systemd-analyze is installed (CI checks the units with it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.trim(), v.trim())))
        .filter(|(k, _)| *k == "Next elapse" || k.starts_with("Iter."))
        .map(|(_, v)| {
            let (_, rest) = v.split_once(' ').expect("weekday, date, time, zone");
            let civil = rest.trim_end_matches(" UTC");
            let dt: jiff::civil::DateTime = civil.parse().expect("a date and time");
            dt.to_zoned(jiff::tz::TimeZone::UTC)
                .expect("UTC")
                .timestamp()
        })
        .collect()
}

#[test]
fn the_timer_fires_at_least_daily() {
    let unit = std::fs::read_to_string("systemd/gcore-reportd.timer").expect("timer unit");
    let calendar = unit
        .lines()
        .filter_map(|l| l.strip_prefix("OnCalendar="))
        .next_back()
        .expect("OnCalendar=");
    let fires = fire_times(calendar, 30);
    assert_eq!(fires.len(), 30, "{calendar}");
    for pair in fires.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap <= jiff::SignedDuration::from_hours(24),
            "OnCalendar={calendar}: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_report_without_a_day_is_due_on_the_2nd_and_one_asking_for_the_1st_still_is() {
    let h = Harness::start(
        "[[reports]]\nname = \"second\"\ntemplate = \"T\"\n\n[[reports]]\nname = \"first\"\ntemplate = \"U\"\nday = 1\n",
    )
    .await;
    let out = h.run(&["check-config"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let effective = String::from_utf8_lossy(&out.stdout);
    // The effective settings are TOML: read them back.
    let toml_text: String = effective
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let settings: toml::Table = toml_text.parse().expect("check-config prints TOML");
    let reports = settings["reports"].as_array().expect("reports");
    let schedule_of = |name: &str| {
        let report = reports
            .iter()
            .find(|r| r["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("{name} in {effective}"));
        (
            report["schedule"].as_str().map(str::to_string),
            report["day"].as_integer(),
        )
    };
    assert_eq!(schedule_of("second"), (Some("monthly".into()), Some(2)));
    assert_eq!(schedule_of("first"), (Some("monthly".into()), Some(1)));
}
