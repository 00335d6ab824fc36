//! `rows`: 100,000 task rows in the database: how long `status` and a start-up take.

use gcore_reportd_sim::SimOptions;

use super::*;

pub(crate) async fn rows(n: i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("state.db");
    let store = gcore_reportd::store::Store::open(&db).await.expect("open");
    let mut tx = store.pool().begin().await.expect("begin");
    for i in 0..n {
        sqlx::query(
            "INSERT INTO tasks (report, period_from, period_to, template, format, parameters, file_name,
                state, uuid, next_attempt_at, deadline_at, created_at, updated_at, request)
             VALUES (?, '2025-01-01', '2025-02-01', 'ResellerExpenses', 'csv', '{}', 'f.csv', 'done', ?, ?, 0, 0, ?, ?)",
        )
        .bind(format!("client-{i}"))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(i)
        .bind(i)
        .bind(format!("{{\"parameters\":{{\"client_id\":{i}}},\"template\":\"ResellerExpenses\"}}"))
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    store.close().await;
    let sim = start_sim(SimOptions::default()).await;
    let config = write_config(dir.path(), &sim, "sim-key$secret", "");
    let d = dir.path().to_path_buf();
    let (status, status_all, startup) = tokio::task::spawn_blocking(move || {
        (
            run_measured(&["--config", &config, "status"], &d),
            run_measured(&["--config", &config, "status", "--all"], &d),
            run_measured(&["--config", &config, "run", "--once"], &d),
        )
    })
    .await
    .expect("join");
    println!("\n== {n} task rows in the database");
    println!(
        "  status (newest 200, the default): {:.0} ms  (target < 200 ms)",
        status.wall.as_secs_f64() * 1000.0
    );
    println!(
        "  status --all (every row as a table): {:.0} ms, peak RSS {:.0} MB",
        status_all.wall.as_secs_f64() * 1000.0,
        status_all.max_rss_mb
    );
    println!(
        "  start-up + run --once with nothing due: {:.0} ms (ok: {})  (target < 1 s)",
        startup.wall.as_secs_f64() * 1000.0,
        startup.success
    );
}
