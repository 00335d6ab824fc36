//! Daemon-wide conditions are typed rows changed compare-and-set: a pause recorded while an
//! older one is being cleared is not lost, and a refusal keeps its key's fingerprint (never
//! the key) in a column of its own, with the time it began kept through its renewals.

use gcore_reportd::store::{ConditionKind, NewCondition, Store};

fn pause(until_at: i64) -> NewCondition<'static> {
    NewCondition {
        reason: "the API asked to wait",
        until_at: Some(until_at),
        key_fingerprint: None,
    }
}

#[tokio::test]
async fn a_pause_written_while_another_is_being_cleared_is_not_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.db");
    let engine = Store::open(&path).await.expect("open");
    let recorder = Store::open_existing(&path).await.expect("open again");
    let kind = ConditionKind::ApiPaused;
    engine
        .record_condition(kind, &pause(1_000), 500)
        .await
        .expect("first pause");
    // The engine reads the first pause, passed at 2_000 ...
    let passed = engine
        .condition(kind)
        .await
        .expect("read")
        .expect("recorded");
    // ... the client meets a new 429 meanwhile ...
    recorder
        .record_condition(kind, &pause(5_000), 1_900)
        .await
        .expect("second pause");
    // ... and the engine's clear of the pause it read leaves the new one in force.
    assert!(
        !engine.clear_condition(&passed).await.expect("clear"),
        "refused"
    );
    assert!(!engine
        .shorten_condition(&passed, "capped", 1_500, 2_000)
        .await
        .expect("cap"));
    let kept = engine.condition(kind).await.expect("read").expect("kept");
    assert_eq!(kept.until_at, Some(5_000), "{kept:?}");
    assert_eq!(
        kept.since, 500,
        "a renewal keeps when the pause began: {kept:?}"
    );
    assert!(
        engine.clear_condition(&kept).await.expect("clear"),
        "cleared as read"
    );
    assert_eq!(engine.condition(kind).await.expect("read"), None);
    engine.close().await;
    recorder.close().await;
}

#[tokio::test]
async fn a_refusal_keeps_the_refused_keys_fingerprint_in_its_own_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    let refusal = NewCondition {
        reason: "the API refused the credentials (401): key: abc",
        until_at: Some(9_000),
        key_fingerprint: Some("1a2b3c4d"),
    };
    let kind = ConditionKind::AuthBlocked;
    let recorded = store
        .record_condition(kind, &refusal, 3_000)
        .await
        .expect("record");
    assert_eq!(recorded.key_fingerprint.as_deref(), Some("1a2b3c4d"));
    assert_eq!(
        recorded.reason, refusal.reason,
        "the reason is kept as it came"
    );
    assert_eq!((recorded.since, recorded.version), (3_000, 1));
    let again = store
        .record_condition(kind, &refusal, 4_000)
        .await
        .expect("renew");
    assert_eq!(
        (again.since, again.updated_at, again.version),
        (3_000, 4_000, 2)
    );
    store.close().await;
}
