//! Each task's history: a finished task has every change of state in order, also when its
//! tasks are polled through the list.

use crate::common;
use crate::common::{stderr, wait_for, Harness, TWO_REPORTS};
use gcore_reportd::clock::Clock;
use gcore_reportd_sim::SimOptions;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_task_has_every_change_in_its_history_in_order() {
    let h = Harness::start(TWO_REPORTS).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once failed: {}", stderr(&out));

    let store = gcore_reportd::store::Store::open(&h.path("state.db"))
        .await
        .expect("database");
    let events = store.task_events(1).await.expect("history");
    let states: Vec<&str> = events.iter().map(|e| e.state.as_str()).collect();
    assert_eq!(states.first(), Some(&"intent"), "{states:?}");
    assert_eq!(states.get(1), Some(&"creating"), "{states:?}");
    assert_eq!(states.get(2), Some(&"polling"), "{states:?}");
    assert_eq!(&states[states.len() - 2..], ["downloading", "done"]);
    assert!(states[2..states.len() - 2].iter().all(|s| *s == "polling"));
    assert_eq!(
        events[0].message.as_deref(),
        Some("period due: task recorded")
    );
    let uuid = h
        .sim
        .tasks()
        .into_iter()
        .map(|t| t.uuid)
        .collect::<Vec<_>>();
    assert!(uuid.contains(events[2].uuid.as_ref().expect("created with its uuid")));
    let last = events
        .last()
        .and_then(|e| e.message.as_deref())
        .unwrap_or("");
    assert!(last.starts_with("downloaded "), "{last}");
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_polled_through_the_list_keep_each_change_in_their_history() {
    let reports: String = (0..40)
        .map(|i| {
            format!("[[reports]]\nname = \"client-{i}\"\ntemplate = \"ResellerExpenses\"\nparameters = {{ client_id = {i} }}\n")
        })
        .collect();
    let options = SimOptions {
        pending_for: Duration::from_secs(2),
        running_for: Duration::from_secs(1),
        ..SimOptions::default()
    };
    let h = Harness::with_options(options, &reports).await;
    // The engine's clock is the test's: each step is an hour later, so every task is due,
    // and the steps wait for the simulator's tasks to change, not for fixed times.
    let clock = Clock::manual(common::now().as_millisecond());
    let engine = h.engine_on(&clock).await;
    let first = engine.step(true).await.expect("first step");
    assert_eq!(first.scheduled, 40);
    assert_eq!(h.sim.tasks().len(), 40, "all created in the first step");
    // Each later step finds all 40 due and looks them up with one list instead of 40
    // retrieves: still Pending, then InProgress, then Completed and fetched.
    for status in ["Pending", "InProgress", "Completed"] {
        wait_for(status, Duration::from_secs(20), || async {
            h.sim.tasks().iter().all(|t| t.status == status)
        })
        .await;
        clock.advance(Duration::from_secs(3600));
        assert_eq!(
            engine.work_due().await.expect("batched step"),
            40,
            "{status}"
        );
    }
    let counts = h.sim.request_counts();
    assert_eq!(counts.get("retrieve"), None, "{counts:?}");
    assert_eq!(counts.get("list"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("download"), Some(&40), "{counts:?}");
    assert_eq!(h.output_files().len(), 40);

    for id in 1..=40 {
        let events = engine.store().task_events(id).await.expect("history");
        let states: Vec<&str> = events.iter().map(|e| e.state.as_str()).collect();
        let statuses: Vec<&str> = events
            .iter()
            .map(|e| e.remote_status.as_deref().unwrap_or("-"))
            .collect();
        assert_eq!(
            (states, statuses),
            (
                vec![
                    "intent",
                    "creating",
                    "polling",
                    "polling",
                    "downloading",
                    "done"
                ],
                vec!["-", "-", "Pending", "InProgress", "Completed", "Completed"]
            ),
            "task {id}: an event for each change, none for a poll that saw no change"
        );
    }
}
