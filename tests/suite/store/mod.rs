//! The store's conformance suite: each case in `cases` is a function over a [`Store`], run
//! once on SQLite (a real file) and once on PostgreSQL (a fresh database on the run's private
//! server, see `common::postgres`), so both backends keep the ledger's promises alike:
//! intents recorded once per request, compare-and-set changes refusing a wrong expected state,
//! one live task per period, one delivery per (request, version, destination), conditions
//! changed only as read, the batched changes touching only rows in the expected state, and
//! leases: a host whose lease lapsed changes nothing.

mod cases;
mod daemon;

use std::time::Duration;

use gcore_reportd::store::{Location, Store};

/// A store on a fresh SQLite file; the directory lives as long as the returned guard.
pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open SQLite");
    (store, dir)
}

/// A store on a fresh PostgreSQL database of the run's server.
pub async fn postgres_store() -> Store {
    let url = crate::common::postgres::database().await;
    let location = Location::Postgres {
        url,
        password: None,
    };
    Store::open_at(&location, Duration::from_secs(10))
        .await
        .expect("open PostgreSQL")
}

/// Instantiates each case of `cases` for both backends, as `store::sqlite::<case>` and
/// `store::postgres::<case>`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::cases::$case(&store).await;
                    store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = super::postgres_store().await;
                    super::cases::$case(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

conformance! {
    an_intent_is_recorded_once_per_request,
    a_change_expecting_another_state_is_refused_and_leaves_no_event,
    a_period_has_one_live_task_at_a_time,
    a_version_is_delivered_once_per_period,
    a_condition_changes_only_as_it_was_read,
    batched_changes_touch_only_rows_in_the_expected_state,
    requests_renamed_or_tracked_are_found_by_their_canonical_text,
    the_operator_views_read_the_same_rows,
    a_hook_is_claimed_once_and_rearmed_only_when_its_task_is_finished,
    a_refresh_is_recorded_once_and_only_for_an_idle_period,
    the_remaining_changes_apply_only_from_the_state_they_expect,
    a_report_per_client_is_read_per_client_from_its_parameters,
    an_upload_is_delivered_once_and_a_failed_one_is_retried_only_by_an_operator,
    hosts_claiming_at_once_take_different_tasks,
    a_host_whose_lease_was_taken_over_changes_nothing,
    a_lapsed_lease_writes_nothing_even_before_another_host_takes_over,
    a_create_is_marked_only_under_a_lease_that_outlives_its_deadline,
    a_hook_a_dead_host_left_running_is_armed_again,
    a_create_taken_over_from_a_lapsed_lease_waits_out_the_settle_again,
    a_create_left_by_a_host_that_stopped_cleanly_waits_only_the_settle,
    a_host_back_under_a_new_lease_is_fenced_from_the_task_another_took,
    a_manifest_is_put_once_per_rewrite_the_later_superseding_and_holds_no_hook,
    each_remote_task_of_a_period_is_one_attempt_row_ended_by_the_change_that_ends_it,
    a_held_task_keeps_its_attempt_live_and_a_retry_resumes_or_abandons_it,
}
