//! The SQLite store's own checks: its bulk statements find their rows by id.

use super::bulk::{BEGIN_DOWNLOADS, RECORD_POLLS};
use super::transitions::BEGIN_CREATES;

#[tokio::test]
async fn bulk_changes_look_their_rows_up_by_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::store::Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    for sql in [RECORD_POLLS, BEGIN_DOWNLOADS, BEGIN_CREATES] {
        let plan = store.query_plan(sql).await.expect("explain");
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH tasks USING INTEGER PRIMARY KEY")),
            "{sql}\nis not a lookup by id: {plan:?}"
        );
    }
    store.close().await;
}
