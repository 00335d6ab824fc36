//! The store's interface: each method runs its statement (in `queries/`) on the backend the
//! database is, SQLite or PostgreSQL. The engine and the commands call these and never learn
//! which one they have. Each method's meaning is documented on its statement in `queries/`.

use super::{AttemptRow, Backend, Store};
use super::{ClientStateCount, DestinationSummary, NewestClientRequest, UploadRow};
use super::{Condition, ConditionKind, Delivery, EventRow, FileOwner, NewCondition, NewTask};
use super::{HostRow, Rerendered, State, StoreError, TaskFilter, TaskRow};
use super::{NewestRequest, NewestTask, PollUpdate, RefreshPlan, ReportCounts};
use crate::lifecycle::Change;

/// Defines each method as a call of the backend's method of the same name and arguments.
macro_rules! delegate {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store {
            $(
                #[allow(missing_docs)]
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.backend {
                        Backend::Sqlite(s) => s.$name($($arg),*).await,
                        Backend::Postgres(s) => s.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
    fn apply(&self, id: i64, change: &Change, now: i64) -> Result<(), StoreError>;
    fn task_attempts(&self, id: i64) -> Result<Vec<AttemptRow>, StoreError>;
    fn record_polls(&self, polls: &[PollUpdate], now: i64) -> Result<usize, StoreError>;
    fn begin_downloads(&self, ids: &[i64], status: &str, now: i64) -> Result<Vec<i64>, StoreError>;
    fn record_condition(&self, kind: ConditionKind, new: &NewCondition<'_>, now: i64) -> Result<Condition, StoreError>;
    fn shorten_condition(&self, read: &Condition, reason: &str, until_at: i64, now: i64) -> Result<bool, StoreError>;
    fn clear_condition(&self, read: &Condition) -> Result<bool, StoreError>;
    fn condition(&self, kind: ConditionKind) -> Result<Option<Condition>, StoreError>;
    fn unsent_periods(&self) -> Result<(i64, Option<i64>), StoreError>;
    fn conditions(&self) -> Result<Vec<Condition>, StoreError>;
    fn record_delivery(&self, id: i64, delivery: &Delivery<'_>, now: i64) -> Result<(), StoreError>;
    fn current_version(&self, request: &str) -> Result<Option<TaskRow>, StoreError>;
    fn next_version(&self, request: &str) -> Result<i64, StoreError>;
    fn period_tasks(&self, request: &str) -> Result<Vec<TaskRow>, StoreError>;
    fn version_counts(&self, requests: &[&str]) -> Result<Vec<(String, i64)>, StoreError>;
    fn version_sha256(&self, request: &str, version: i64) -> Result<Option<String>, StoreError>;
    fn count_restated_and_empty(&self) -> Result<(i64, i64), StoreError>;
    fn claim_hook(&self, id: i64) -> Result<bool, StoreError>;
    fn finish_hook(&self, id: i64, ok: bool, message: &str, now: i64) -> Result<(), StoreError>;
    fn rearm_interrupted_hooks(&self) -> Result<u64, StoreError>;
    fn carry_over(&self, news: &[NewTask], now: i64) -> Result<usize, StoreError>;
    fn tracked_requests(&self, requests: &[&str]) -> Result<Vec<bool>, StoreError>;
    fn newest_requests(&self) -> Result<Vec<NewestRequest>, StoreError>;
    fn rerender(&self, id: i64, expected: State, new: &NewTask, now: i64) -> Result<Rerendered, StoreError>;
    fn task_settings(&self, id: i64) -> Result<Option<String>, StoreError>;
    fn skip_hook(&self, id: i64, message: &str, now: i64) -> Result<(), StoreError>;
    fn resolve_task(&self, key: &str) -> Result<TaskRow, StoreError>;
    fn file_owner(&self, path: &str, id: i64) -> Result<Option<FileOwner>, StoreError>;
    fn last_download_by_report(&self) -> Result<Vec<(String, i64)>, StoreError>;
    fn account(&self) -> Result<Option<i64>, StoreError>;
    fn remember_account(&self, client_id: i64, now: i64) -> Result<i64, StoreError>;
    fn newest_remote_uuid(&self) -> Result<Option<(String, bool)>, StoreError>;
    fn retry_task(&self, id: i64, create: bool, deadline_at: i64, now: i64) -> Result<bool, StoreError>;
    fn in_flight_beside(&self, id: i64) -> Result<Option<i64>, StoreError>;
    fn forget_task(&self, id: i64) -> Result<bool, StoreError>;
    fn rearm_hook(&self, id: i64, now: i64) -> Result<bool, StoreError>;
    fn due_tasks(&self, now: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError>;
    fn next_due_at(&self) -> Result<Option<i64>, StoreError>;
    fn count_active(&self) -> Result<i64, StoreError>;
    fn count_created_still_working(&self, now: i64, can_look: bool) -> Result<i64, StoreError>;
    fn count_by_state(&self) -> Result<Vec<(String, i64)>, StoreError>;
    fn uuid_known(&self, uuid: &str) -> Result<bool, StoreError>;
    fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRow>, StoreError>;
    fn find_task(&self, key: &str) -> Result<TaskRow, StoreError>;
    fn task(&self, id: i64) -> Result<Option<TaskRow>, StoreError>;
    fn count_changed_since(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError>;
    fn task_events(&self, id: i64) -> Result<Vec<EventRow>, StoreError>;
    fn pending_hooks(&self, limit: i64) -> Result<Vec<TaskRow>, StoreError>;
    fn due_refreshes(&self, now: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError>;
    fn next_refresh_due(&self) -> Result<Option<i64>, StoreError>;
    fn schedule_refresh(&self, plan: &RefreshPlan<'_>, now: i64) -> Result<Option<i64>, StoreError>;
    fn schedule_refresh_end(&self, anchor: i64, expected: i64) -> Result<(), StoreError>;
    fn rejected_body(&self, id: i64, uuid: &str) -> Result<Option<String>, StoreError>;
    fn task_by_request(&self, request: &str) -> Result<Option<TaskRow>, StoreError>;
    fn newest_task_of(&self, report: &str) -> Result<Option<TaskRow>, StoreError>;
    fn file_name_taken(&self, report: &str, file_name: &str, request: &str) -> Result<Option<String>, StoreError>;
    fn newest_tasks(&self) -> Result<Vec<NewestTask>, StoreError>;
    fn unfinished_periods(&self) -> Result<Vec<(i64, String, String, String, String)>, StoreError>;
    fn report_counts(&self) -> Result<Vec<(String, ReportCounts)>, StoreError>;
    fn insert_intent(&self, new: &NewTask, now: i64) -> Result<Option<i64>, StoreError>;
    fn insert_intents(&self, news: &[NewTask], now: i64) -> Result<Vec<Option<i64>>, StoreError>;
    fn begin_creates(&self, ids: &[i64], settle_ms: i64, deadline_ms: i64, now: i64) -> Result<Vec<i64>, StoreError>;
    fn clients_undelivered(&self) -> Result<Vec<(String, i64)>, StoreError>;
    fn client_state_counts(&self, report: &str) -> Result<Vec<ClientStateCount>, StoreError>;
    fn newest_client_requests(&self, report: &str) -> Result<Vec<NewestClientRequest>, StoreError>;
    fn upload_delivered(&self, upload: &UploadRow, etag: Option<&str>, location: &str, now: i64) -> Result<bool, StoreError>;
    fn upload_attempt_failed(&self, id: i64, error: &str, next_at: i64) -> Result<bool, StoreError>;
    fn upload_ended(&self, upload: &UploadRow, state: &str, message: &str, now: i64) -> Result<bool, StoreError>;
    fn uploads_due_at(&self, now: i64) -> Result<u64, StoreError>;
    fn retry_failed_uploads(&self, task_id: i64, now: i64) -> Result<u64, StoreError>;
    fn due_uploads(&self, now: i64, limit: i64) -> Result<Vec<UploadRow>, StoreError>;
    fn next_upload_at(&self) -> Result<Option<i64>, StoreError>;
    fn newer_upload_of_key(&self, upload: &UploadRow) -> Result<bool, StoreError>;
    fn is_earlier_upload_of_key(&self, upload: &UploadRow, sha256: &str) -> Result<bool, StoreError>;
    fn task_uploads(&self, task_id: i64) -> Result<Vec<UploadRow>, StoreError>;
    fn destination_summaries(&self) -> Result<Vec<DestinationSummary>, StoreError>;
    fn version_uploads(&self, request: &str, version: i64) -> Result<Vec<UploadRow>, StoreError>;
    fn still_holds(&self, id: i64) -> Result<(), StoreError>;
    fn claim_upload(&self, id: i64, seen: i64, until: i64) -> Result<bool, StoreError>;
    fn rearm_orphaned_hooks(&self) -> Result<u64, StoreError>;
    fn claim_due_tasks(&self, now: i64, limits: (i64, i64), settled: (i64, i64)) -> Result<Vec<TaskRow>, StoreError>;
    fn join_hosts(&self, id: &str, name: &str, pid: i64, lease_ms: i64) -> Result<(), StoreError>;
    fn renew_host_lease(&self, id: &str, lease_ms: i64) -> Result<bool, StoreError>;
    fn leave_hosts(&self, id: &str) -> Result<u64, StoreError>;
    fn end_host_lease(&self, id: &str) -> Result<(), StoreError>;
    fn move_running_hooks(&self, old: &str, new: &str) -> Result<u64, StoreError>;
    fn hosts(&self) -> Result<Vec<HostRow>, StoreError>;
    fn live_hosts(&self) -> Result<i64, StoreError>;
    fn is_earlier_version(&self, request: &str, version: i64, sha256: &str) -> Result<bool, StoreError>;
}
