//! `upload`: one 1 GiB report delivered to an S3 destination (a real `moto_server` on
//! loopback, started here): `run --once` downloads it, then puts it multipart, streamed from
//! the file. Printed: the upload's time and rate, and the daemon's peak RSS over the whole
//! run (issue 22: at most 40 MB).

use std::time::Duration;

use gcore_reportd_sim::SimOptions;

use super::*;

pub(crate) async fn upload() {
    let rows = rows_for(1 << 30, &previous_month());
    let sim = report_server(1 << 30, None).await;
    let key = SimOptions::default().api_key;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut moto = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("moto_server ({e}): pip install 'moto[server]'"));
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if http
            .put(format!("{endpoint}/bench-bucket"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "moto_server did not answer");
    let dir = tempfile::tempdir_in(".").expect("temp dir on the project's disk");
    let body = format!(
        "[polling]\ninitial_interval = \"100ms\"\n\n[destinations.bench]\nurl = \"s3://bench-bucket/gcore\"\nendpoint = \"{endpoint}\"\n\n[[reports]]\nname = \"big\"\ntemplate = \"ResellerExpenses\"\nverify = \"off\"\ndestinations = [\"bench\"]\n"
    );
    let config = write_config(dir.path(), &sim, &key, &body);
    let d = dir.path().to_path_buf();
    let envs = [
        ("AWS_ACCESS_KEY_ID", "bench".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret".to_string()),
    ];
    let usage = tokio::task::spawn_blocking(move || {
        run_measured_with(&["--config", &config, "run", "--once"], &d, &envs)
    })
    .await
    .expect("join");
    let url = format!("sqlite://{}?mode=ro", dir.path().join("state.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("the database");
    let row: Option<(String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT state, bytes, pending_since, delivered_at FROM uploads ORDER BY id LIMIT 1",
    )
    .fetch_optional(&pool)
    .await
    .expect("uploads");
    let _ = moto.kill();
    let _ = moto.wait();
    println!(
        "\n== One report of 1 GiB ({rows} rows) uploaded to moto_server (multipart, streamed)"
    );
    println!(
        "  run --once succeeded: {}, wall {:.2} s",
        usage.success,
        usage.wall.as_secs_f64()
    );
    match row {
        Some((state, bytes, since, Some(at))) => {
            let secs = ((at - since) as f64 / 1000.0).max(0.001);
            println!(
                "  upload {state}: {:.2} GiB in {secs:.2} s = {:.0} MB/s (download to delivered)",
                bytes as f64 / (1u64 << 30) as f64,
                bytes as f64 / 1e6 / secs
            );
        }
        other => println!("  upload not delivered: {other:?}"),
    }
    println!(
        "  peak RSS (download and upload): {:.1} MB  (target <= 40 MB)",
        usage.max_rss_mb
    );
}
