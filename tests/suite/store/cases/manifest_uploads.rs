//! A period's manifest uploads (issue 22, migration 0020) on either backend: one per rewrite,
//! the second under the same version (a refresh that confirmed the file), the later one
//! superseding the earlier at the key, which it may replace; a pending manifest holds no hook.

use gcore_reportd::store::{Delivery, FileRecord, NewUpload, Store};

use super::{downloading, period};

fn upload(role: &'static str, key: &str, sha256: &str) -> NewUpload {
    NewUpload {
        destination: "archive".into(),
        role,
        version: 1,
        object_key: key.into(),
        source_path: format!("/reports/{key}"),
        bytes: 10,
        sha256: sha256.into(),
        replaces_sha256: None,
    }
}

fn delivery<'a>(version: Option<i64>, uploads: &'a [NewUpload]) -> Delivery<'a> {
    Delivery {
        file: FileRecord {
            path: "/reports/client-1.csv",
            bytes: 10,
            sha256: "ab",
            shape: None,
        },
        path: Some("/reports/client-1.csv"),
        version,
        hook: version.is_some(),
        next_refresh: None,
        message: "delivered",
        uploads,
    }
}

pub async fn a_manifest_is_put_once_per_rewrite_the_later_superseding_and_holds_no_hook(
    store: &Store,
) {
    let first = downloading(store, &period(1, 0), 1_000).await;
    let version_1 = [
        upload("current", "gcore/client-1.csv", "ab"),
        upload("manifest", "gcore/client-1.manifest.json", "m1"),
    ];
    let recorded = delivery(Some(1), &version_1);
    let record = store.record_delivery(first, &recorded, 1_001);
    record.await.expect("version 1");
    let due = store.due_uploads(1_001, 10).await.expect("due");
    assert_eq!(due.len(), 2);
    let file = &due[0];
    assert!(store
        .upload_delivered(file, None, "s3://b/gcore/client-1.csv", 1_002)
        .await
        .expect("file delivered"));
    let hooks = store.pending_hooks(10).await.expect("hooks");
    assert_eq!(
        hooks.iter().map(|t| t.id).collect::<Vec<_>>(),
        [first],
        "the pending manifest holds no hook"
    );

    // A refresh confirmed the file: the manifest rewritten, under the same version.
    let refresh = downloading(store, &period(1, 1), 2_000).await;
    let rewrite = [upload("manifest", "gcore/client-1.manifest.json", "m2")];
    let confirmed = delivery(None, &rewrite);
    let record = store.record_delivery(refresh, &confirmed, 2_001);
    record.await.expect("confirmed");
    let due = store.due_uploads(2_001, 10).await.expect("due");
    assert_eq!(due.len(), 2, "both manifests: {due:?}");
    let (m1, m2) = (&due[0], &due[1]);
    assert_eq!((m1.sha256.as_str(), m2.sha256.as_str()), ("m1", "m2"));
    assert_eq!((m1.version, m2.task_id), (1, refresh));
    assert!(store.newer_upload_of_key(m1).await.expect("newer"));
    assert!(!store.newer_upload_of_key(m2).await.expect("newer"));
    assert!(store
        .is_earlier_upload_of_key(m2, "M1")
        .await
        .expect("earlier"));
    assert!(!store
        .is_earlier_upload_of_key(m2, "zz")
        .await
        .expect("other"));
    assert!(!store
        .is_earlier_upload_of_key(m1, "m2")
        .await
        .expect("later"));
    assert!(store
        .upload_ended(m1, "superseded", "a later rewrite", 2_002)
        .await
        .expect("superseded"));
    assert!(store
        .upload_delivered(m2, None, "s3://b/gcore/client-1.manifest.json", 2_003)
        .await
        .expect("manifest delivered"));
    let summary = store.destination_summaries().await.expect("summaries");
    assert_eq!(summary.len(), 1);
    assert_eq!((summary[0].delivered, summary[0].pending), (2, 0));
}
