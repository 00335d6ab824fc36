//! Configuration changes and schedules over the months (issue 12), with the real binary, the
//! simulator and a real SQLite file: catch-up after downtime without `catch_up_from`, the timer
//! firing daily, the 2nd as monthly due day, file names that cannot collide, storage paths that
//! cannot work refused with exit 78, one database per Gcore account, the operator commands'
//! edge cases, metrics for configured reports only, and the demo's layout.

use crate::common;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use crate::common::{stderr, wait_for, Harness, FAST_POLLING, TWO_REPORTS};

/// The UTC date `n` days before today.
fn days_back(n: i64) -> jiff::civil::Date {
    let today = common::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    today
        .checked_sub(jiff::Span::new().days(n))
        .expect("date arithmetic")
}

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

const DAILY: &str = r#"
[[reports]]
name = "daily"
template = "ResellerExpenses"
period = "previous-day"
schedule = "cron: 0 0 * * *"
"#;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_name_that_cannot_tell_a_reports_periods_apart_is_refused_with_exit_78() {
    let h = Harness::start(
        "[[reports]]\nname = \"mtd\"\ntemplate = \"ResellerExpenses\"\nperiod = \"month-to-date\"\nschedule = \"cron: 0 6 * * *\"\nfile_name = \"{name}_{date_from}.csv\"\n",
    )
    .await;
    for args in [&["check-config"][..], &["run", "--once"]] {
        let out = h.run(args).await;
        assert_eq!(out.status.code(), Some(78), "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains("reports[0].file_name") && said.contains("{date_to}"),
            "{said}"
        );
    }
    assert!(!h.path("state.db").exists(), "nothing written");
    assert!(h.sim.tasks().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_dir_that_is_a_file_or_a_database_dir_that_cannot_be_made_exits_78() {
    let h = Harness::start(TWO_REPORTS).await;
    std::fs::write(h.output_dir(), b"a file where the directory should be").expect("file");
    for args in [&["check-config"][..], &["run", "--once"], &["run"]] {
        let out = h.run(args).await;
        assert_eq!(out.status.code(), Some(78), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("storage.output_dir"),
            "{}",
            stderr(&out)
        );
    }
    assert!(!h.path("state.db").exists(), "nothing written");

    std::fs::remove_file(h.output_dir()).expect("remove the file");
    std::fs::write(h.path("blocker"), b"not a directory").expect("file");
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let db = h.path("state.db").display().to_string();
    let moved = h.path("blocker/state.db").display().to_string();
    std::fs::write(h.config_path(), text.replace(&db, &moved)).expect("config");
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("storage.database"),
        "{}",
        stderr(&out)
    );
    assert!(h.sim.tasks().is_empty(), "nothing created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_never_replaces_a_file_recorded_for_another_task() {
    let h = Harness::start(
        "[[reports]]\nname = \"a\"\ntemplate = \"ResellerExpenses\"\nfile_name = \"shared_{date_from}.csv\"\n",
    )
    .await;
    assert!(h.run(&["run", "--once"]).await.status.success());
    let path = h.output_dir().join(&h.output_files()[0]);
    let first = std::fs::read(&path).expect("a's file");
    // Report a is gone; report b, another request, renders the same name.
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"b\"\ntemplate = \"ResellerPlans\"\nfile_name = \"shared_{{date_from}}.csv\"\n"
    ));
    let daemon = h.spawn(h.child(&["run"]), "daemon.log");
    wait_for(
        "b's download to be refused",
        Duration::from_secs(30),
        || async {
            h.try_status().await.unwrap_or_default().iter().any(|r| {
                r["report"] == "b"
                    && r["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("not replacing it"))
            })
        },
    )
    .await;
    daemon.stop().await;
    assert_eq!(
        std::fs::read(&path).expect("a's file"),
        first,
        "a's file is intact"
    );
}

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

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readable_by_all_warning_is_only_for_a_file_that_holds_the_key() {
    let h = Harness::start(TWO_REPORTS).await;
    chmod(&h.config_path(), 0o644);
    chmod(&h.path("api-key"), 0o600);
    let out = h.run(&["check-config"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("readable by all users"),
        "{}",
        stderr(&out)
    );
    chmod(&h.path("api-key"), 0o644);
    let out = h.run(&["check-config"]).await;
    let said = stderr(&out);
    assert!(
        said.contains("API key file") && said.contains("readable by all users"),
        "{said}"
    );
    assert!(!said.contains("config file"), "{said}");
}

/// Every file under `dir` (recursively), but the test's own config and key.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        }
        let name = entry.file_name();
        if name != "config.toml" && name != "api-key" {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_and_submit_run_by_root_leave_files_owned_by_the_state_directorys_owner() {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // only root can create files for another user
    }
    let h = Harness::start(TWO_REPORTS).await;
    let service = 65534; // nobody: the service's user
    std::os::unix::fs::chown(h.dir.path(), Some(service), Some(service)).expect("chown");
    let from = common::months_back(3).to_string();
    let out = h
        .run(&[
            "backfill", "--report", "expenses", "--from", &from, "--to", &from,
        ])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h
        .run(&[
            "submit",
            "--template",
            "ResellerPlans",
            "--param",
            "date_from=2026-01-01",
            "--param",
            "date_to=2026-02-01",
        ])
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let files = files_under(h.dir.path());
    assert!(
        files.len() >= 4,
        "database, lock, reports/ and files: {files:?}"
    );
    for file in files {
        let meta = std::fs::metadata(&file).expect("stat");
        assert_eq!(
            (meta.uid(), meta.gid()),
            (service, service),
            "{}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_file_that_is_not_sqlite_gets_one_line_saying_what_to_do() {
    let h = Harness::start(TWO_REPORTS).await;
    std::fs::write(h.path("state.db"), vec![0x5a; 8192]).expect("garbage");
    chmod(&h.path("api-key"), 0o600);
    for args in [&["status"][..], &["run", "--once"]] {
        let out = h.run(args).await;
        assert!(!out.status.success(), "{args:?}");
        let log = stderr(&out);
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with("gcore-reportd:"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {log}");
        let said = errors[0];
        assert!(
            said.contains("is not an SQLite database, or it is damaged")
                && said.contains("restore the backup"),
            "{said}"
        );
        assert_eq!(said.matches("not a database").count(), 0, "{said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_its_database_and_lock_beside_its_reports_directory() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path().join("demo-reports");
    let out = tokio::process::Command::new(common::BIN)
        .args(["demo", "--dir"])
        .arg(&dir)
        .env_remove("GCORE_API_KEY")
        .output()
        .await
        .expect("demo");
    assert!(out.status.success(), "{}", stderr(&out));
    let inside: Vec<String> = std::fs::read_dir(&dir)
        .expect("demo dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!inside.is_empty());
    for name in &inside {
        assert!(
            name.ends_with(".csv") || name.ends_with(".json") || name.ends_with(".xlsx"),
            "only reports in the directory: {inside:?}"
        );
    }
    assert!(scratch.path().join("demo-reports.state.db").exists());
    assert!(scratch.path().join("demo-reports.state.db.lock").exists());
}

/// Remote tasks created so far.
fn creates(h: &Harness) -> u64 {
    h.sim.request_counts().get("create").copied().unwrap_or(0)
}

/// Runs `args` with the process killed at `point` (a crash point): a task is left in flight.
async fn run_killed_at(h: &Harness, args: &[&str], point: &str) {
    let out = h
        .command(args)
        .env("GCORE_REPORTD_CRASH_AT", point)
        .output()
        .await
        .expect("run");
    assert_eq!(
        out.status.code(),
        None,
        "killed at {point}: {}",
        stderr(&out)
    );
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

    // A new date_to_style is a new request: from the next period on.
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"costs\"\ntemplate = \"ResellerExpenses\"\nformat = \"xlsx\"\nfile_name = \"{{name}}-{{date_from}}.{{format}}\"\ndate_to_style = \"inclusive\"\n"
    ));
    let check = h.run(&["check-config"]).await;
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("costs: the dates asked (period or date_to_style) changed since the last run; periods after")
            && said.contains("2 delivered period(s) keep their files"),
        "{said}"
    );
    assert!(h.run(&["run", "--once"]).await.status.success());
    assert_eq!(creates(&h), 2, "the tracked periods are not asked again");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_rejected_with_400_is_fixed_in_the_config_then_retry_delivers_the_fixed_request() {
    let h =
        Harness::start("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpensez\"\n").await;
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "failed");
    let id = rows[0]["id"].to_string();

    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n"
    ));
    let retry = h.run(&["retry", &id]).await;
    assert!(retry.status.success(), "{}", stderr(&retry));
    assert!(String::from_utf8_lossy(&retry.stdout).contains("with the config's current template"));
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["state"], "done");
    assert_eq!(rows[0]["template"], "ResellerExpenses");
    let made: Vec<String> = h.sim.tasks().iter().map(|t| t.template.clone()).collect();
    assert_eq!(made, ["ResellerExpenses"], "the fixed template was sent");

    // A task whose report is gone cannot be re-rendered: refused.
    h.sim.set_faults(gcore_reportd_sim::Faults {
        fail_first: 5,
        ..Default::default()
    });
    let older = common::months_back(4).to_string();
    let backfill = [
        "backfill", "--report", "expenses", "--from", &older, "--to", &older,
    ];
    assert_eq!(h.run(&backfill).await.status.code(), Some(1));
    let failed = h
        .status()
        .await
        .into_iter()
        .find(|r| r["state"] == "failed")
        .expect("failed");
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"other\"\ntemplate = \"ResellerPlans\"\n"
    ));
    let retry = h.run(&["retry", &failed["id"].to_string()]).await;
    assert!(!retry.status.success());
    assert!(
        stderr(&retry).contains("report expenses is no longer in the config"),
        "{}",
        stderr(&retry)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_reports_task_finishes_with_its_own_max_attempts_and_no_hook_runs() {
    let h = Harness::start("").await;
    let marker = h.path("hook-ran");
    let hook = format!(
        "on_failure = [\"/bin/sh\", \"-c\", \"touch {}\"]",
        marker.display()
    );
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"flaky\"\ntemplate = \"ResellerExpenses\"\nmax_attempts = 5\n{hook}\n"
    ));
    // Every attempt fails remotely; the report leaves the config with its task in flight.
    h.sim.set_faults(gcore_reportd_sim::Faults {
        fail_first: 10,
        ..Default::default()
    });
    run_killed_at(&h, &["run", "--once"], "create.recorded:1").await;
    h.write_config(&format!(
        "{FAST_POLLING}\n[[reports]]\nname = \"other\"\ntemplate = \"ResellerPlans\"\n"
    ));
    let table = h.run(&["status"]).await;
    assert!(String::from_utf8_lossy(&table.stdout).contains("flaky (removed)"));
    let check = h.run(&["check-config"]).await;
    assert!(String::from_utf8_lossy(&check.stdout).contains(
        "flaky: removed from the config; its 1 unfinished task(s) finish under the settings they were created with"
    ));
    let out = h.run(&["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = h.status().await;
    let flaky = rows.iter().find(|r| r["report"] == "flaky").expect("flaky");
    assert_eq!(flaky["state"], "failed", "{flaky}");
    assert_eq!(
        flaky["attempts"], 5,
        "its own max_attempts, not the default 3"
    );
    assert_eq!(flaky["report_removed"], true);
    let expenses_tasks = h
        .sim
        .tasks()
        .iter()
        .filter(|t| t.template == "ResellerExpenses")
        .count();
    assert_eq!(expenses_tasks, 5, "no new period of the removed report");
    assert!(!marker.exists(), "its hook did not run");
    let show = h.run(&["show", &flaky["id"].to_string()]).await;
    assert!(!String::from_utf8_lossy(&show.stdout).contains("hook ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_success_metrics_cover_configured_reports_with_their_download_time_after_a_rename_and_a_submit(
) {
    let h = Harness::start("").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = |name: &str| {
        format!(
            "{FAST_POLLING}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n[[reports]]\nname = \"{name}\"\ntemplate = \"ResellerExpenses\"\non_success = [\"true\"]\n"
        )
    };
    h.write_config(&config("expenses"));
    assert!(h.run(&["run", "--once"]).await.status.success());
    let submit = [
        "submit",
        "--template",
        "ResellerPlans",
        "--param",
        "date_from=2026-01-01",
        "--param",
        "date_to=2026-02-01",
    ];
    assert!(h.run(&submit).await.status.success());
    let downloaded_at = h
        .status()
        .await
        .iter()
        .find(|r| r["report"] == "expenses")
        .map(|r| r["updated_at"].clone())
        .expect("row");
    // The hook runs again an hour later (the commands' clock is moved, not waited for): the
    // row changes, the download time does not.
    let at: jiff::Timestamp = downloaded_at
        .as_str()
        .expect("time")
        .parse()
        .expect("rfc3339");
    let later = (at + jiff::SignedDuration::from_hours(1)).to_string();
    let rearm = h
        .child(&["retry-hook", "1"])
        .env("GCORE_REPORTD_NOW", &later)
        .output()
        .await
        .expect("retry-hook");
    assert!(rearm.status.success(), "{}", stderr(&rearm));
    h.write_config(&config("costs"));
    let mut run = h.child(&["run"]);
    run.env("GCORE_REPORTD_NOW", &later);
    let daemon = h.spawn(run, "daemon.log");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let fetch = || async {
        match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    };
    wait_for(
        "the renamed report's series",
        Duration::from_secs(20),
        || async {
            fetch()
                .await
                .contains("last_success_timestamp_seconds{report=\"costs\"}")
                && h.try_status()
                    .await
                    .unwrap_or_default()
                    .iter()
                    .all(|r| r["report"] != "expenses")
        },
    )
    .await;
    let page = fetch().await;
    daemon.stop().await;
    let series: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("gcore_reportd_last_success_timestamp_seconds{"))
        .collect();
    assert_eq!(series.len(), 1, "only the configured report: {series:?}");
    let value: i64 = series[0]
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("value");
    assert!(
        (value - at.as_second()).abs() <= 1,
        "{value} vs the download at {at}"
    );
}
