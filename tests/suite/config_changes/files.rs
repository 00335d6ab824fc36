//! Files and paths on disk: file names that cannot collide, storage paths that cannot work
//! (exit 78), files never replaced, the key file's mode, files made by root handed to the
//! state directory's owner, a database that is not SQLite, and the demo's layout.

use crate::common;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use crate::common::{stderr, wait_for, Harness, FAST_POLLING, TWO_REPORTS};

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
#[ignore = "needs root (only root creates files for another user): `cargo test -- --ignored` as root, which .ci/run does"]
async fn backfill_and_submit_run_by_root_leave_files_owned_by_the_state_directorys_owner() {
    // SAFETY: geteuid(2) has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "run as root: only root creates files for another user"
    );
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
