//! A database written before destinations (every migration but 0017, which is numbered below
//! 0018 but lands after it) opens: the store applies 0017 then, and the `uploads` table is
//! there, empty, beside the ledger's deliveries (and the later migrations apply on top).

use gcore_reportd::store::Store;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[tokio::test]
async fn a_database_migrated_through_0018_without_0017_gains_the_uploads_table_when_opened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).expect("dir");
    for entry in std::fs::read_dir("migrations").expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // The SQLite migrations only (PostgreSQL's live in migrations/postgres/), those of
        // that release (through 0018).
        if path.is_file() && !name.starts_with("0017") && name < "0019" {
            std::fs::copy(&path, old.join(name)).expect("copy");
        }
    }
    let db = dir.path().join("state.db");
    let options = SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .expect("open");
    let migrator = sqlx::migrate::Migrator::new(old.as_path())
        .await
        .expect("migrator");
    migrator
        .run(&pool)
        .await
        .expect("the migrations before destinations");
    pool.close().await;

    let store = Store::open(&db).await.expect("opened with 0017 applied");
    let uploads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uploads")
        .fetch_one(store.pool())
        .await
        .expect("the uploads table");
    assert_eq!(uploads, 0);
    assert!(store
        .destination_summaries()
        .await
        .expect("summaries")
        .is_empty());
}
