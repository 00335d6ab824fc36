//! `config/example.toml` is the annotated reference the README promises shows every key: the real
//! binary's `check-config` accepts it, and every table and key the config structs know appears in
//! it (set, or commented out as `# key = …`). The tables and keys are not listed here: they come
//! from the binary itself, whose strict parsing names what it expects when it meets an unknown
//! key, so a key added to the structs and not to the example fails this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{stderr, BIN};

const UNKNOWN: &str = "zz_not_a_key";

fn example() -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let text = std::fs::read_to_string(&path).expect("read config/example.toml");
    (path, text)
}

/// `check-config` on `config`, the storage paths in `dir`.
fn check_config(dir: &Path, config: &Path) -> Output {
    Command::new(BIN)
        .args(["--log-level", "error", "--config"])
        .arg(config)
        .arg("check-config")
        .env("GCORE_API_KEY", "example-check")
        .env("GCORE_REPORTD__STORAGE__DATABASE", dir.join("state.db"))
        .env("GCORE_REPORTD__STORAGE__OUTPUT_DIR", dir.join("reports"))
        .output()
        .expect("run gcore-reportd check-config")
}

/// The keys the binary expects where `body` puts an unknown one: the backquoted names after
/// "expected" in its refusal (serde's "expected one of `a`, `b`" or "expected `a`").
fn expected_keys(dir: &Path, body: &str) -> Vec<String> {
    let config = dir.join("probe.toml");
    std::fs::write(&config, body).expect("write the probe config");
    let out = check_config(dir, &config);
    assert_eq!(
        out.status.code(),
        Some(78),
        "{body:?} is refused: {}",
        stderr(&out)
    );
    let message = stderr(&out);
    let (_, expected) = message
        .split_once("expected")
        .unwrap_or_else(|| panic!("the refusal of {UNKNOWN} names what is expected: {message}"));
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(!keys.is_empty(), "no key named in: {message}");
    keys
}

/// The keys of a `[destinations.NAME]` table that the example's commented-out one does not
/// show (or the table itself, if it has none).
fn commented_destination(dir: &Path, text: &str) -> Vec<String> {
    let uncommented = |l: &str| l.trim_start_matches('#').trim().to_string();
    let Some(start) = text
        .lines()
        .position(|l| l.starts_with('#') && uncommented(l).starts_with("[destinations."))
    else {
        return vec!["# [destinations.NAME]".into()];
    };
    let lines: Vec<&str> = text
        .lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with('[') && !uncommented(l).starts_with('['))
        .collect();
    expected_keys(dir, &format!("[destinations.probe]\n{UNKNOWN} = 1\n"))
        .into_iter()
        .filter(|key| !shows_key(&lines, key))
        .map(|key| format!("[destinations.NAME] {key}"))
        .collect()
}

/// The lines of every table headed `header` in the example, up to the next table.
fn tables<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            inside = line.trim() == header;
        } else if inside {
            lines.push(line);
        }
    }
    lines
}

fn shows_key(lines: &[&str], key: &str) -> bool {
    lines.iter().any(|line| {
        let line = line.trim_start_matches('#').trim_start();
        line.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })
}

#[test]
fn the_example_config_is_valid_and_shows_every_table_and_key_the_config_knows() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, text) = example();
    let out = check_config(dir.path(), &path);
    assert!(
        out.status.success(),
        "check-config refuses the example: {}",
        stderr(&out)
    );

    let sections = expected_keys(dir.path(), &format!("{UNKNOWN} = 1\n"));
    for wanted in ["api", "metrics", "reports"] {
        assert!(
            sections.iter().any(|s| s == wanted),
            "{wanted} in {sections:?}"
        );
    }
    let mut missing = Vec::new();
    for section in &sections {
        // [destinations.NAME] tables need credentials: the example shows one commented out.
        if section == "destinations" {
            missing.extend(commented_destination(dir.path(), &text));
            continue;
        }
        let header = match section.as_str() {
            "reports" => "[[reports]]".to_owned(),
            other => format!("[{other}]"),
        };
        if !text.lines().any(|l| l.trim() == header) {
            missing.push(header.clone());
            continue;
        }
        // [defaults] takes any [[reports]] key: a report key may be shown in either.
        let mut lines = tables(&text, &header);
        match section.as_str() {
            "defaults" => continue,
            "reports" => lines.extend(tables(&text, "[defaults]")),
            _ => {}
        }
        for key in expected_keys(dir.path(), &format!("{header}\n{UNKNOWN} = 1\n")) {
            if !shows_key(&lines, &key) {
                missing.push(format!("{header} {key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "config/example.toml does not show {missing:?}"
    );
}

#[test]
fn the_example_metrics_address_is_one_check_config_accepts() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_, text) = example();
    let commented = "# listen = ";
    assert!(
        text.contains(commented),
        "[metrics] shows listen commented out"
    );
    let config = dir.path().join("metrics.toml");
    std::fs::write(&config, text.replacen(commented, "listen = ", 1)).expect("write the config");
    let out = check_config(dir.path(), &config);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("[metrics]") && printed.contains("listen = \"127.0.0.1:9464\""),
        "check-config shows the metrics address it will serve on: {printed}"
    );
}
