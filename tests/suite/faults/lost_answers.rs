//! Answers lost on the way back: a create the backend commits after a 504 is adopted once
//! `create_settle` has passed, and connections refused then create answers lost to timeouts
//! are ridden out without a duplicate remote task.

use super::{
    assert_done_rows_have_the_served_bytes, four_periods, run_with_env, sim_options, RUN_LIMIT,
};
use crate::common;
use crate::common::{
    assert_no_request_has_two_live_remote_tasks, assert_no_temporary_files, stderr, wait_for,
    Harness,
};
use gcore_reportd_sim::Faults;
use std::time::Duration;

/// One report whose every create is answered 504 while its task appears 1 s later; the
/// daemon waits `settle` before looking for it. Returns the remote tasks made.
async fn late_creates(settle: &str) -> usize {
    let h = Harness::with_options(sim_options(31), "").await;
    h.write_config(&format!(
        "{}\n[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n",
        common::FAST_POLLING
    ));
    let text = std::fs::read_to_string(h.config_path()).expect("config");
    let setting = format!("create_settle = \"{settle}\"");
    std::fs::write(
        h.config_path(),
        text.replace("create_settle = \"1s\"", &setting),
    )
    .expect("config");
    h.sim.set_faults(Faults {
        late_create: Some(Duration::from_secs(1)),
        late_create_rate: 1.0,
        ..Faults::default()
    });
    let out = run_with_env(&h, &["run", "--once"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = h.status().await;
    assert_eq!(rows[0]["state"], "done", "{rows:?}");
    h.sim.tasks().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_the_backend_commits_after_a_504_is_adopted_once_create_settle_has_passed() {
    // Without the wait the daemon would create again before the first task appears: a settle
    // below api.create_settle's floor (1 s) is refused by the config (see `bad_input`).
    let settled = late_creates("2s").await;
    assert_eq!(settled, 1, "waiting out create_settle finds the late task");
}

/// A proxy on `listener` to `target`. While `swallow` is set, creates (`POST`) are passed on
/// but their answers are dropped: the client times out, not knowing whether the task exists.
fn swallowing_proxy(
    listener: tokio::net::TcpListener,
    target: std::net::SocketAddr,
    swallow: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let swallow = swallow.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let posted = AtomicBool::new(false);
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if buf[..n].starts_with(b"POST ") {
                            posted.store(true, Ordering::Relaxed);
                        }
                        if server_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = server_rx.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if posted.load(Ordering::Relaxed) && swallow.load(Ordering::Relaxed) {
                            // Hold the connection open, answer nothing.
                            std::future::pending::<()>().await;
                        }
                        if client_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = client_tx.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_refused_then_answers_lost_to_timeouts_are_ridden_out_without_duplicates() {
    let h = Harness::with_options(sim_options(31), &four_periods()).await;
    // A port with nobody listening: connections are refused.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let mut cmd = h.command(&["run", "--once"]);
    cmd.env(
        "GCORE_REPORTD__API__BASE_URL",
        format!("http://127.0.0.1:{port}"),
    )
    .env("GCORE_REPORTD__API__REQUEST_TIMEOUT", "1s");
    let child = h.spawn(cmd, "run.log");
    wait_for(
        "every create refused a connection",
        Duration::from_secs(10),
        || async {
            h.try_status().await.is_some_and(|rows| {
                rows.len() == 4 && rows.iter().all(|r| r["last_error"].is_string())
            })
        },
    )
    .await;
    let refused_phase = h.sim.request_counts().values().sum::<u64>();
    // Then the API is reachable, but the answers to creates are lost: the tasks are created,
    // the daemon times out.
    let swallow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind the refused port");
    swallowing_proxy(listener, h.sim.addr(), swallow.clone());
    wait_for(
        "creates behind the lost answers",
        Duration::from_secs(10),
        || async { h.sim.tasks().len() >= 2 },
    )
    .await;
    wait_for(
        "a create timed out, its outcome unknown",
        Duration::from_secs(10),
        || async { child.logged("create outcome unknown").is_some() },
    )
    .await;
    let created_unanswered = h.sim.tasks().len();
    swallow.store(false, std::sync::atomic::Ordering::Relaxed);

    let out = child.finish(RUN_LIMIT).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(refused_phase, 0, "nothing reached the API while refused");
    let rows = h.status().await;
    assert!(rows.iter().all(|r| r["state"] == "done"), "{rows:?}");
    assert_done_rows_have_the_served_bytes(&h, &rows, "refused then timeouts", &[]);
    assert_no_request_has_two_live_remote_tasks(&h, "refused then timeouts");
    assert_eq!(h.sim.tasks().len(), 4, "one remote task per period");
    assert_no_temporary_files(&h, "refused then timeouts");
    eprintln!("refused, then {created_unanswered} create(s) whose answers were lost: all adopted");
}
