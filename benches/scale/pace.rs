//! The download-speed scenarios of `cargo bench --bench scale`: what verification costs on the
//! fast 1 GiB CSV (`verified`), and a slow server (`slow`): the simulator sends a 174 MB CSV at
//! 20 MB/s in 16 KiB writes, as a server generating its report while it sends it does, and the
//! daemon with `verify = "off"` and `"strict"` and curl download it in turn, for `rounds`
//! rounds; each round's times and the medians are printed side by side.

use std::process::Command;
use std::time::Instant;

use gcore_reportd_sim::{Pace, SimHandle};

use super::{download_timing, report_server, run_measured, write_config, Usage};

/// One daemon run downloading the report with `verify = level`: its usage, the file's bytes
/// and the seconds between the "downloading" and "downloaded" events.
async fn daemon_download(sim: &SimHandle, level: &str) -> (Usage, u64, f64) {
    let key = "sim-key$secret";
    let dir = tempfile::tempdir_in(".").expect("temp dir on the project's disk");
    let body = format!("[polling]\ninitial_interval = \"100ms\"\n\n[[reports]]\nname = \"big\"\ntemplate = \"ResellerExpenses\"\nverify = \"{level}\"\n");
    let config = write_config(dir.path(), sim, key, &body);
    let d = dir.path().to_path_buf();
    let usage = tokio::task::spawn_blocking(move || {
        run_measured(&["--config", &config, "run", "--once"], &d)
    })
    .await
    .expect("join");
    let (bytes, secs) = download_timing(&dir.path().join("state.db")).await;
    (usage, bytes, secs)
}

/// `curl -o` of the newest task's CSV: whether it succeeded, its seconds, its seconds with the
/// file then fsynced (what the daemon does before it calls a file delivered), and its bytes.
async fn curl(sim: &SimHandle) -> (bool, f64, f64, u64) {
    let uuid = sim.tasks().last().map(|t| t.uuid.clone()).expect("a task");
    let url = format!(
        "{}/billing/org/v1/reports/{uuid}/download?format=csv",
        sim.base_url()
    );
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir_in(".").expect("temp dir on the project's disk");
        let target = dir.path().join("curl.csv");
        let started = Instant::now();
        let ok = Command::new("curl")
            .args(["-sS", "-o"])
            .arg(&target)
            .args(["-H", "Authorization: apikey sim-key$secret", &url])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let secs = started.elapsed().as_secs_f64();
        let synced = std::fs::File::open(&target)
            .and_then(|f| f.sync_all())
            .is_ok();
        let durable = started.elapsed().as_secs_f64();
        (
            ok && synced,
            secs,
            durable,
            std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0),
        )
    })
    .await
    .expect("join")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The slow server: daemon (off, strict) and curl times, round by round, then the medians.
pub async fn slow(rounds: usize) {
    let pace = Pace::SLOW;
    let sim = report_server(174_000_000, Some(pace)).await;
    println!(
        "\n== A slow server: 174 MB CSV at {} MB/s in {} KiB writes, {rounds} round(s)",
        pace.bytes_per_second / 1_000_000,
        pace.write_size / 1024
    );
    let (mut off, mut strict, mut by_curl) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds.max(1) {
        let (off_usage, bytes, off_secs) = daemon_download(&sim, "off").await;
        let (strict_usage, _, strict_secs) = daemon_download(&sim, "strict").await;
        let (ok, curl_secs, _, curl_bytes) = curl(&sim).await;
        println!(
            "  round {round}: off {off_secs:.2} s (ok: {}, RSS {:.1} MB), strict {strict_secs:.2} s (ok: {}, RSS {:.1} MB), curl {curl_secs:.2} s (ok: {ok}, {curl_bytes} of {bytes} bytes)",
            off_usage.success, off_usage.max_rss_mb, strict_usage.success, strict_usage.max_rss_mb
        );
        off.push(off_secs);
        strict.push(strict_secs);
        by_curl.push(curl_secs);
    }
    let (off, strict, by_curl) = (median(off), median(strict), median(by_curl));
    println!(
        "  medians: curl {by_curl:.2} s, verify = \"off\" {off:.2} s ({:.2}x curl), verify = \"strict\" {strict:.2} s ({:.2}x curl; target <= 1.05x)",
        off / by_curl,
        strict / by_curl
    );
}

/// Verification's cost on the 1 GiB CSV, `rounds` times in turn (off and strict, then curl;
/// every other round strict first: on 2026-12-05 whichever daemon ran first in a round, right
/// after the previous round's 1 GiB curl file was removed, was often the slower, and `off`
/// came out slower than `strict` in 5 runs of 5), each round printed, and then the medians:
/// throughput without and with it, beside curl's with and without an fsync, and peak RSS. The daemon's time includes its fsync; `curl -o`'s does not, so the durable figure
/// is the like-for-like one (this disk: 1 GiB in 0.5 s to the page cache, 1.6-2.3 s fsynced).
pub async fn verified(rounds: usize) {
    let sim = report_server(1 << 30, None).await;
    let (mut off, mut strict, mut curls, mut durables) = (vec![], vec![], vec![], vec![]);
    let (mut bytes, mut peak, mut cpu, mut all_ok) = (0, 0f64, (0f64, 0f64), true);
    for round in 1..=rounds.max(1) {
        let ((off_usage, b, off_secs), (strict_usage, _, strict_secs)) = if round % 2 == 1 {
            let off = daemon_download(&sim, "off").await;
            (off, daemon_download(&sim, "strict").await)
        } else {
            let strict = daemon_download(&sim, "strict").await;
            (daemon_download(&sim, "off").await, strict)
        };
        let (curl_ok, curl_secs, durable_secs, _) = curl(&sim).await;
        println!("  round {round}: off {off_secs:.2} s, strict {strict_secs:.2} s, curl {curl_secs:.2} s, curl then fsynced {durable_secs:.2} s");
        all_ok &= off_usage.success && strict_usage.success && curl_ok;
        bytes = b;
        peak = peak.max(strict_usage.max_rss_mb).max(off_usage.max_rss_mb);
        cpu = (off_usage.cpu.as_secs_f64(), strict_usage.cpu.as_secs_f64());
        off.push(off_secs);
        strict.push(strict_secs);
        curls.push(curl_secs);
        durables.push(durable_secs);
    }
    let (off, strict) = (median(off), median(strict));
    let (curl_secs, durable_secs) = (median(curls), median(durables));
    let rate = |secs: f64| bytes as f64 / 1e6 / secs;
    println!(
        "\n== Verification of one {:.2} GiB CSV, medians of {} round(s) (all ok: {all_ok})",
        bytes as f64 / (1u64 << 30) as f64,
        rounds.max(1)
    );
    println!(
        "  verify = \"off\":    {off:.2} s = {:.0} MB/s (CPU {:.2} s, last round)",
        rate(off),
        cpu.0
    );
    println!(
        "  verify = \"strict\": {strict:.2} s = {:.0} MB/s (CPU {:.2} s, last round)",
        rate(strict),
        cpu.1
    );
    println!("  curl -o same URL: {curl_secs:.2} s = {:.0} MB/s; then fsynced: {durable_secs:.2} s = {:.0} MB/s", rate(curl_secs), rate(durable_secs));
    println!(
        "  throughput lost to verification: {:.1} %  (target <= 10 %); strict / curl: {:.0} %, strict / curl fsynced: {:.0} %  (target >= 90 %); peak RSS {peak:.1} MB  (target <= 30 MB)",
        (1.0 - off / strict) * 100.0,
        curl_secs / strict * 100.0,
        durable_secs / strict * 100.0,
    );
}
