//! The object-storage deliveries (issue 22) on either backend: pending with the version that
//! calls for them, holding its hook back until every destination has the file, delivered once,
//! a failed one pending again only by an operator's retry, and each destination's summary.

use gcore_reportd::store::{Delivery, FileRecord, NewUpload, Store};

use super::{downloading, period};

fn upload(destination: &str) -> NewUpload {
    NewUpload {
        destination: destination.into(),
        role: "current",
        version: 1,
        object_key: "gcore/client-1.csv".into(),
        source_path: "/reports/client-1.csv".into(),
        bytes: 10,
        sha256: "ab".into(),
        replaces_sha256: None,
    }
}

pub async fn an_upload_is_delivered_once_and_a_failed_one_is_retried_only_by_an_operator(
    store: &Store,
) {
    let id = downloading(store, &period(1, 0), 1_000).await;
    let uploads = [upload("archive"), upload("backup")];
    let delivery = Delivery {
        file: FileRecord {
            path: "/reports/client-1.csv",
            bytes: 10,
            sha256: "ab",
            shape: None,
        },
        path: Some("/reports/client-1.csv"),
        version: Some(1),
        hook: true,
        next_refresh: None,
        message: "delivered",
        uploads: &uploads,
    };
    store
        .record_delivery(id, &delivery, 1_001)
        .await
        .expect("deliver");
    assert!(store.pending_hooks(10).await.expect("hooks").is_empty());
    assert_eq!(store.next_upload_at().await.expect("next"), Some(1_001));
    let due = store.due_uploads(1_001, 10).await.expect("due");
    assert_eq!(due.len(), 2);
    let (archive, backup) = (&due[0], &due[1]);
    assert_eq!(
        (archive.destination.as_str(), archive.task_id),
        ("archive", id)
    );
    assert!(store
        .upload_attempt_failed(archive.id, "connection refused", 9_000)
        .await
        .expect("failed attempt"));
    assert_eq!(store.due_uploads(1_002, 10).await.expect("due").len(), 1);
    assert_eq!(store.uploads_due_at(1_002).await.expect("due now"), 1);
    assert!(store
        .upload_delivered(archive, Some("\"e1\""), "s3://b/gcore/client-1.csv", 1_003)
        .await
        .expect("delivered"));
    assert!(!store
        .upload_delivered(archive, Some("\"e1\""), "s3://b/gcore/client-1.csv", 1_004)
        .await
        .expect("delivered twice"));
    assert!(store
        .upload_ended(backup, "failed", "backup: other bytes at the key", 1_005)
        .await
        .expect("failed"));
    assert!(store.pending_hooks(10).await.expect("hooks").is_empty());
    assert!(!store.newer_upload_of_key(archive).await.expect("newer"));
    assert_eq!(
        store.retry_failed_uploads(id, 1_006).await.expect("retry"),
        1
    );
    assert!(store
        .upload_delivered(backup, None, "s3://c/gcore/client-1.csv", 1_007)
        .await
        .expect("delivered after the retry"));
    let hooks = store.pending_hooks(10).await.expect("hooks");
    assert_eq!(hooks.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
    let states: Vec<String> = (store.task_uploads(id).await.expect("uploads").iter())
        .map(|u| u.state.clone())
        .collect();
    assert_eq!(states, ["delivered", "delivered"]);
    let summaries = store.destination_summaries().await.expect("summaries");
    assert_eq!(summaries.len(), 2);
    assert!(summaries
        .iter()
        .all(|s| s.delivered == 1 && s.bytes == 10 && s.pending == 0));
}
