//! What a failing listing and a kill in the middle of a fan-out leave behind: a client page
//! that fails creates nothing (not even for the clients of the pages that were read) and the
//! listing is tried again until it succeeds (a one-shot run exits 75 and leaves it to the next
//! run); a run killed after recording part of the clients'
//! intents, or after sending part of their creates, still makes exactly one create per client.

use std::time::Duration;

use super::{all_clients, assert_one_task_per_client};
use crate::common::{quick_sim, stderr, wait_for, Harness};
use gcore_reportd_sim::{Faults, SimOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_client_page_creates_nothing_and_the_listing_is_tried_again() {
    let options = SimOptions {
        clients: 1_500,
        ..quick_sim()
    };
    let h = Harness::with_options(options, &all_clients("")).await;
    // Every listing's second page fails: the first page's clients are seen, and still get
    // nothing while the listing is incomplete.
    h.sim.set_faults(Faults {
        fail_clients_request: Some((1, 1_000)),
        ..Faults::default()
    });
    let daemon = h.spawn(h.daemon(), "daemon.log");
    let listed = || h.sim.request_counts().get("clients").copied().unwrap_or(0);
    wait_for("two failed listings", Duration::from_secs(30), || async {
        listed() >= 4
    })
    .await;
    assert!(h.sim.tasks().is_empty(), "a failed listing created nothing");
    h.sim.set_faults(Faults::default());
    let eligible = h.sim.eligible_clients();
    wait_for(
        "every client's report delivered",
        Duration::from_secs(180),
        || async {
            let rows = super::status_all(&h).await;
            rows.len() == eligible.len() && rows.iter().all(|r| r["state"] == "done")
        },
    )
    .await;
    daemon.stop().await;
    assert_one_task_per_client(&h, &eligible, "after the listing succeeded").await;
    assert!(
        daemon_logged_the_failure(&h),
        "the failed listing is logged"
    );
}

fn daemon_logged_the_failure(h: &Harness) -> bool {
    std::fs::read_to_string(h.path("daemon.log"))
        .unwrap_or_default()
        .contains("cannot list the clients")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_in_the_middle_of_a_fan_out_still_creates_once_per_client() {
    for point in ["schedule.recorded:2", "create.after_post:40"] {
        let options = SimOptions {
            clients: 1_300,
            ..quick_sim()
        };
        let h = Harness::with_options(options, &all_clients("")).await;
        let first = h
            .command(&["run", "--once"])
            .env("GCORE_REPORTD_CRASH_AT", point)
            .output()
            .await
            .expect("run");
        assert_eq!(
            first.status.code(),
            None,
            "{point}: killed there: {}",
            stderr(&first)
        );
        let second = h.run(&["run", "--once"]).await;
        assert!(
            second.status.success(),
            "{point}: restarted: {}",
            stderr(&second)
        );
        let eligible = h.sim.eligible_clients();
        assert_one_task_per_client(&h, &eligible, point).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_run_whose_listing_fails_exits_75_and_the_next_run_lists_again() {
    let options = SimOptions {
        clients: 40,
        ..quick_sim()
    };
    let h = Harness::with_options(options, &all_clients("")).await;
    h.sim.set_faults(Faults {
        fail_clients_request: Some((0, 1)),
        ..Faults::default()
    });
    let first = h.run(&["run", "--once"]).await;
    assert_eq!(first.status.code(), Some(75), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("could not be listed"),
        "{}",
        stderr(&first)
    );
    assert!(h.sim.tasks().is_empty(), "nothing created without the list");
    let second = h.run(&["run", "--once"]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    let eligible = h.sim.eligible_clients();
    assert_one_task_per_client(&h, &eligible, "the next run").await;
}
