//! The hot queries stay fast at scale: with 100,000 task rows in a real SQLite file, SQLite
//! answers each of them from an index (no full-table scan), as `EXPLAIN QUERY PLAN` shows. (A
//! sort of the rows an index search found, e.g. the few unfinished tasks, is fine.) The plans
//! are printed, so `cargo test --test query_plans -- --nocapture` documents them.

use gcore_reportd::store::{Store, HOT_QUERIES};

/// Fills the database with `n` finished tasks and a few unfinished ones, in one transaction.
async fn fill(store: &Store, n: i64) {
    let mut tx = store.pool().begin().await.expect("begin");
    for i in 0..n {
        let state = if i % 1000 == 0 { "polling" } else { "done" };
        sqlx::query(
            "INSERT INTO tasks (report, period_from, period_to, template, format, parameters, file_name,
                state, uuid, next_attempt_at, deadline_at, created_at, updated_at, request)
             VALUES (?, '2025-01-01', '2025-02-01', 'ResellerExpenses', 'csv', '{}', 'f.csv', ?, ?, ?, 0, 0, ?, ?)",
        )
        .bind(format!("r{i}"))
        .bind(state)
        .bind(format!("{:08x}-0000-4000-8000-000000000000", i))
        .bind(i)
        .bind(i)
        .bind(format!("{{\"parameters\":{{\"client_id\":{i}}},\"template\":\"ResellerExpenses\"}}"))
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE")
        .execute(store.pool())
        .await
        .expect("analyze");
}

#[tokio::test]
async fn every_hot_query_is_answered_from_an_index_at_100k_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("state.db"))
        .await
        .expect("open");
    fill(&store, 100_000).await;
    for (name, sql) in HOT_QUERIES {
        let plan = store.query_plan(sql).await.expect("explain");
        println!("{name}:\n  {}", plan.join("\n  "));
        let scans_table = plan
            .iter()
            .any(|step| step.starts_with("SCAN tasks") && !step.contains("INDEX"));
        assert!(!scans_table, "{name} scans the whole table: {plan:?}");
    }
}
