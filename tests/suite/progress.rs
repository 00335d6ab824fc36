//! The progress line: on a terminal (a pseudo-terminal from util-linux's `script`), `run --once`
//! shows live counts, ends on a line with the final ones, logs only warnings unless a level is
//! asked for, and says `interrupted:` after Ctrl-C; with pipes the output is the plain log
//! lines, without the line or its escape sequences.

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{months_back, quick_sim, stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd_sim::SimOptions;

/// What indicatif writes before each redraw of the line: back to its start, erase it.
const REDRAW: &str = "\r\x1b[2K";

/// `h.command(args)` (same binary, arguments and environment) run by `script` on a new
/// pseudo-terminal (the shell `exec`s it: a Ctrl-C reaches the binary alone); the terminal's
/// output is the child's stdout.
fn on_a_terminal(h: &Harness, args: &[&str]) -> tokio::process::Command {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("these tests need util-linux's `script` (Debian: apt-get install bsdutils)");
    let direct = h.command(args);
    let direct = direct.as_std();
    let quoted: Vec<String> = std::iter::once(direct.get_program())
        .chain(direct.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect();
    let mut cmd = tokio::process::Command::new(script);
    let line = format!("exec {}", quoted.join(" "));
    cmd.args(["-qfec", &line, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in direct.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// Runs `args` on a terminal to the end; the terminal's whole output.
async fn terminal_run(h: &Harness, args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = on_a_terminal(h, args);
    cmd.envs(env.iter().copied());
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("script did not finish within 120 s")
        .expect("spawn script");
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, screen)
}

#[tokio::test]
async fn run_once_on_a_terminal_shows_a_live_line_that_ends_with_the_final_counts() {
    let h = Harness::start(TWO_REPORTS).await;
    let (out, screen) = terminal_run(&h, &["run", "--once"], &[]).await;
    assert!(out.status.success(), "run --once failed:\n{screen}");
    assert!(
        screen.contains(REDRAW),
        "no progress line drawn:\n{screen:?}"
    );
    assert!(
        screen.contains("finished: created 2, running 0, downloaded 2, failed 0"),
        "no final counts:\n{screen:?}"
    );
    assert!(
        !screen.contains("gcore-reportd starting"),
        "info lines shown on a terminal without a level asked for:\n{screen}"
    );
}

#[tokio::test]
async fn an_explicit_log_level_or_rust_log_still_shows_info_lines_on_a_terminal() {
    let h = Harness::start(TWO_REPORTS).await;
    let (out, screen) = terminal_run(&h, &["--log-level", "info", "run", "--once"], &[]).await;
    assert!(out.status.success(), "run --once failed:\n{screen}");
    assert!(screen.contains("gcore-reportd starting"), "{screen}");
    assert!(screen.contains("downloaded 2, failed 0"), "{screen:?}");
    let (out, screen) = terminal_run(&h, &["run", "--once"], &[("RUST_LOG", "info")]).await;
    assert!(out.status.success(), "run --once failed:\n{screen}");
    assert!(screen.contains("gcore-reportd starting"), "{screen}");
}

#[tokio::test]
async fn with_pipes_run_once_and_backfill_print_plain_log_lines_and_no_progress_line() {
    let h = Harness::start(TWO_REPORTS).await;
    let once = h.run(&["run", "--once"]).await;
    // Two months older than any the run can have made (on the 1st, before the monthly
    // schedule fires on the 2nd, the run makes the period two months back).
    let (from, to) = (months_back(4).to_string(), months_back(3).to_string());
    let backfill = h
        .run(&[
            "backfill", "--report", "expenses", "--from", &from, "--to", &to,
        ])
        .await;
    for (what, out) in [("run --once", &once), ("backfill", &backfill)] {
        assert!(out.status.success(), "{what} failed: {}", stderr(out));
        let log = stderr(out);
        assert!(log.contains("INFO"), "{what}: no info lines:\n{log}");
        let all = format!("{log}{}", String::from_utf8_lossy(&out.stdout));
        for sign in ['\r', '⠋', '✔'] {
            assert!(!all.contains(sign), "{what}: {sign:?} in\n{all:?}");
        }
        for sign in ["\x1b[2K", "\x1b[1A", ", running ", "finished:"] {
            assert!(!all.contains(sign), "{what}: {sign:?} in\n{all:?}");
        }
    }
    assert!(String::from_utf8_lossy(&backfill.stdout).contains("2 downloaded, 0 failed"));
}

#[tokio::test]
async fn ctrl_c_on_a_terminal_ends_the_line_with_the_counts_so_far() {
    let slow = SimOptions {
        running_for: Duration::from_secs(600),
        ..quick_sim()
    };
    let h = Harness::with_options(slow, TWO_REPORTS).await;
    let mut child = on_a_terminal(&h, &["run", "--once"])
        .spawn()
        .expect("spawn script");
    let mut stdout = child.stdout.take().expect("stdout");
    let screen = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let screen = screen.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf).await {
                screen.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        })
    };
    let shown = || String::from_utf8_lossy(&screen.lock().expect("lock")).into_owned();
    wait_for("both tasks created", Duration::from_secs(30), || {
        let seen = shown().contains("created 2, running 2");
        async move { seen }
    })
    .await;
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"\x03").await.expect("type Ctrl-C");
    stdin.flush().await.expect("flush");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("run --once did not stop within 30 s of Ctrl-C")
        .expect("wait");
    reader.await.expect("reader");
    drop(stdin);
    let screen = shown();
    // Interrupted with both periods undelivered: exit 75, the next run resumes them.
    assert_eq!(status.code(), Some(75), "exit {status}:\n{screen}");
    assert!(
        screen.contains("interrupted: created 2, running 2, downloaded 0, failed 0"),
        "{screen:?}"
    );
    let last = screen.rsplit(REDRAW).next().unwrap_or_default();
    assert!(
        last.contains("interrupted:"),
        "drawn after the end: {last:?}"
    );
}
