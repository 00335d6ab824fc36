//! Broken configs and command lines: each one stops the program before it touches anything,
//! with exit code 78 (config) or 2 (usage) and a one-line message naming the key or argument.

use std::path::Path;
use std::process::Command;

use crate::common::BIN;

const GOOD_API: &str = "[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\n";
const STORAGE: &str = "[storage]\ndatabase = \"DIR/state.db\"\noutput_dir = \"DIR/reports\"\n";
const REPORT: &str = "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n";

/// (case, config text, words the message must contain)
fn broken_configs() -> Vec<(&'static str, String, &'static str)> {
    let base = |extra: &str| format!("{GOOD_API}{STORAGE}{REPORT}{extra}");
    let report = |extra: &str| format!("{GOOD_API}{STORAGE}{REPORT}{extra}\n");
    vec![
        ("toml syntax error", format!("{GOOD_API}{STORAGE}[[reports]\nname = 1\n"), ":7:"),
        ("unknown top-level key", base("[nonsense]\nx = 1\n"), "nonsense"),
        ("unknown api key", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\ntimeout = \"5s\"\n{STORAGE}{REPORT}"), "timeout"),
        ("unknown report key", report("colour = \"red\""), "colour"),
        ("bad duration", base("[polling]\ninitial_interval = \"ten seconds\"\n"), "initial_interval"),
        ("wrong type for duration", base("[polling]\nmax_interval = 10\n"), "max_interval"),
        ("wrong type for multiplier", base("[polling]\nmultiplier = \"fast\"\n"), "multiplier"),
        ("max below initial", base("[polling]\ninitial_interval = \"10m\"\nmax_interval = \"1m\"\n"), "polling.max_interval"),
        ("unknown format", report("format = \"pdf\""), "format"),
        ("unknown period", report("period = \"fortnight\""), "period"),
        ("bad date_to_style", report("date_to_style = \"sideways\""), "date_to_style"),
        ("bad timezone", report("timezone = \"Mars/Olympus\""), "timezone"),
        ("bad catch_up_from date", report("catch_up_from = \"2025-13-01\""), "catch_up_from"),
        ("bad cron line", report("schedule = \"cron: 99 * * * *\""), "schedule"),
        ("bad schedule word", report("schedule = \"fortnightly\""), "schedule"),
        ("day out of range", report("day = 31"), "day"),
        ("bad time of day", report("at = \"25:00\""), "at"),
        ("duplicate report name", format!("{GOOD_API}{STORAGE}{REPORT}{REPORT}"), "unique"),
        ("report name with a slash", format!("{GOOD_API}{STORAGE}[[reports]]\nname = \"a/b\"\ntemplate = \"T\"\n"), "name"),
        ("report without template", format!("{GOOD_API}{STORAGE}[[reports]]\nname = \"x\"\n"), "template"),
        ("file name escaping the output dir", report("file_name = \"../{name}.csv\""), "file_name"),
        ("absolute file name", report("file_name = \"/etc/{name}\""), "file_name"),
        ("unknown file name placeholder", report("file_name = \"{client}.csv\""), "file_name"),
        ("file name without dates", report("file_name = \"{name}.{format}\""), "file_name"),
        ("two reports writing the same files", format!("{GOOD_API}{STORAGE}{REPORT}file_name = \"x-{{date_from}}.csv\"\n[[reports]]\nname = \"plan\"\ntemplate = \"T\"\nfile_name = \"x-{{date_from}}.csv\"\n"), "reports[1].file_name"),
        ("date_from in parameters", report("parameters = { date_from = \"2025-01-01\" }"), "date_from"),
        ("zero max_attempts", report("max_attempts = 0"), "max_attempts"),
        ("non-loopback http url", format!("[api]\nbase_url = \"http://api.gcore.com\"\napi_key_file = \"KEY\"\n{STORAGE}{REPORT}"), "api.base_url"),
        ("not a url", format!("[api]\nbase_url = \"::nope\"\napi_key_file = \"KEY\"\n{STORAGE}{REPORT}"), "api.base_url"),
        ("missing api key", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\n{STORAGE}{REPORT}"), "api_key"),
        ("unreadable api key file", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"DIR/missing-key\"\n{STORAGE}{REPORT}"), "missing-key"),
        ("zero request rate", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nmax_requests_per_second = 0\n{STORAGE}{REPORT}"), "max_requests_per_second"),
        ("zero download slots", base("[downloads]\nmax_concurrent = 0\n"), "max_concurrent"),
        ("a request budget of 1e-20", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nmax_requests_per_second = 1e-20\n{STORAGE}{REPORT}"), "api.max_requests_per_second"),
        ("a negative request budget", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nmax_requests_per_second = -3\n{STORAGE}{REPORT}"), "api.max_requests_per_second"),
        ("a huge request budget", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nmax_requests_per_second = 1e300\n{STORAGE}{REPORT}"), "api.max_requests_per_second"),
        ("a tiny request timeout", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nrequest_timeout = \"1ns\"\n{STORAGE}{REPORT}"), "api.request_timeout"),
        ("a huge request timeout", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nrequest_timeout = \"100years\"\n{STORAGE}{REPORT}"), "api.request_timeout"),
        ("a zero auth retry interval", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nauth_retry_interval = \"0s\"\n{STORAGE}{REPORT}"), "api.auth_retry_interval"),
        ("a zero max_retry_after", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nmax_retry_after = \"0s\"\n{STORAGE}{REPORT}"), "api.max_retry_after"),
        ("a huge create_settle", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\ncreate_settle = \"10days\"\n{STORAGE}{REPORT}"), "api.create_settle"),
        ("a zero create_settle", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\ncreate_settle = \"0s\"\n{STORAGE}{REPORT}"), "api.create_settle"),
        ("a create_settle below a second", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\ncreate_settle = \"100ms\"\n{STORAGE}{REPORT}"), "api.create_settle"),
        ("a zero clock_skew", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nclock_skew = \"0s\"\n{STORAGE}{REPORT}"), "api.clock_skew"),
        ("a negative duration", format!("[api]\nbase_url = \"http://127.0.0.1:9\"\napi_key_file = \"KEY\"\nrequest_timeout = \"-5s\"\n{STORAGE}{REPORT}"), "request_timeout"),
        ("a zero busy timeout", format!("{GOOD_API}[storage]\ndatabase = \"DIR/state.db\"\noutput_dir = \"DIR/reports\"\nbusy_timeout = \"0s\"\n{REPORT}"), "storage.busy_timeout"),
        ("a tiny initial interval", base("[polling]\ninitial_interval = \"1ns\"\n"), "polling.initial_interval"),
        ("a deadline of a million years", base("[polling]\ndeadline = \"1000000years\"\n"), "polling.deadline"),
        ("zero download bytes", base("[downloads]\nmax_bytes = 0\n"), "downloads.max_bytes"),
        ("a negative download size", base("[downloads]\nmax_bytes = -1\n"), "max_bytes"),
        ("too many download slots", base("[downloads]\nmax_concurrent = 100000\n"), "downloads.max_concurrent"),
        ("a huge shutdown timeout", base("[daemon]\nshutdown_timeout = \"100days\"\n"), "daemon.shutdown_timeout"),
        ("a zero hook timeout", report("hook_timeout = \"0s\""), "hook_timeout"),
        ("a huge max_attempts", report("max_attempts = 1000000"), "max_attempts"),
    ]
}

fn run_in(dir: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("GCORE_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .current_dir(dir)
        .output()
        .expect("run gcore-reportd")
}

fn assert_untouched(dir: &Path, case: &str) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["api-key", "config.toml"],
        "{case}: files were created"
    );
}

#[test]
fn every_broken_config_exits_78_with_one_line_naming_the_key_and_creates_nothing() {
    let cases = broken_configs();
    assert!(cases.len() >= 25, "the matrix keeps at least 25 cases");
    for (case, text, needle) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        let key_path = format!("{d}/api-key");
        std::fs::write(&key_path, "1$secret\n").expect("key");
        let text = text
            .replace("DIR", &d)
            .replace("\"KEY\"", &format!("\"{key_path}\""));
        let config = dir.path().join("config.toml");
        std::fs::write(&config, text).expect("config");
        for args in [&["run", "--once"][..], &["check-config"][..]] {
            let out = run_in(dir.path(), &config, args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(78),
                "{case} ({args:?}): exit code; stderr: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{case}: one line: {err}");
            assert!(
                err.contains(needle),
                "{case}: message names {needle:?}: {err}"
            );
        }
        assert_untouched(dir.path(), case);
    }
}

#[test]
fn a_missing_config_file_exits_78_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("nowhere.toml");
    let out = run_in(dir.path(), &config, &["run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("nowhere.toml") && err.contains("GCORE_REPORTD_CONFIG"),
        "{err}"
    );
}

#[test]
fn bad_command_lines_exit_2_naming_the_argument() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    let cases: [(&[&str], &str); 5] = [
        (&["frobnicate"], "frobnicate"),
        (&["run", "--twice"], "--twice"),
        (&["status", "--state", "sleeping"], "sleeping"),
        (&["show"], "<TASK>"),
        (&["simulate", "--listen", "not-an-address"], "--listen"),
    ];
    for (args, needle) in cases {
        let out = run_in(dir.path(), &config, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?} names {needle}: {err}");
    }
}
