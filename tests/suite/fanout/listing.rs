//! The listing and what it creates: 2,000 clients with test and deleted accounts among them
//! give one task per eligible client and none for the others, in two pages of the listing;
//! clients added and deleted between runs change only the new clients' periods (the second
//! listing answered as a bare array); a fixed list asks exactly its clients and lists nothing.

use super::{all_clients, assert_one_task_per_client, tasks_by_client};
use crate::common::{quick_sim, stderr, Harness};
use gcore_reportd_sim::SimOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_clients_give_one_task_per_eligible_client_and_none_for_test_or_deleted_ones()
{
    let options = SimOptions {
        clients: 2_000,
        ..quick_sim()
    };
    let h = Harness::with_options(options, &all_clients("")).await;
    let eligible = h.sim.eligible_clients();
    assert!(
        eligible.len() > 1_000 && eligible.len() < 2_000,
        "{}",
        eligible.len()
    );
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once failed: {}", stderr(&out));
    assert_one_task_per_client(&h, &eligible, "2,000 clients").await;
    let pages = h.sim.request_counts().get("clients").copied();
    assert_eq!(
        pages,
        Some(2),
        "the listing is read once, in pages of 1,000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_added_and_deleted_between_runs_change_only_the_new_clients_periods() {
    let options = SimOptions {
        clients: 30,
        ..quick_sim()
    };
    let h = Harness::with_options(options, &all_clients("")).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "first run: {}", stderr(&out));
    let before = h.sim.eligible_clients();
    assert_one_task_per_client(&h, &before, "first run").await;

    let added = h.sim.add_clients(3);
    for gone in &before[..2] {
        h.sim.delete_client(*gone);
    }
    h.sim.answer_clients_bare(true);
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "second run: {}", stderr(&out));
    let mut asked: Vec<i64> = before.iter().chain(&added).copied().collect();
    asked.sort_unstable();
    assert_one_task_per_client(&h, &asked, "after 3 added and 2 deleted").await;
    let new: Vec<i64> = tasks_by_client(&h)
        .into_iter()
        .filter(|(c, _)| !before.contains(c))
        .map(|(c, _)| c)
        .collect();
    assert_eq!(new, added, "the second run asked for the new clients only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_list_of_clients_asks_exactly_those_and_lists_nothing() {
    let h = Harness::start(&super::all_clients("").replace(r#""all""#, "[17, 5, 230]")).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once failed: {}", stderr(&out));
    assert_one_task_per_client(&h, &[5, 17, 230], "a fixed list").await;
    assert_eq!(h.sim.request_counts().get("clients"), None, "no listing");
}
