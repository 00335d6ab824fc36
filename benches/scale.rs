//! Reseller-scale benchmark (`cargo bench --bench scale`): the real `gcore-reportd` binary
//! against the simulated API on loopback, printing figures beside the targets of issue 6.
//!
//! - N = 1,000 and N = 10,000 reports due at once, tasks finishing after ~2 s: wall time to all
//!   downloaded, API requests per completed report by operation, peak RSS and CPU time.
//! - One 1 GiB report: the daemon's download rate beside `curl -o` of the same URL, peak RSS.
//! - 100,000 task rows: `status` and start-up time.
//! - The 1 GiB CSV with `verify = "off"` and `verify = "strict"`: what verification costs in
//!   download throughput (issue 13: at most 10 %) and peak RSS (at most 30 MB), beside curl's
//!   rate with and without an fsync; `--rounds R` (default 3), medians.
//! - A slow server (`slow`): 174 MB sent at 20 MB/s in 16 KiB writes, downloaded by the daemon
//!   with `verify = "off"` and `"strict"` and by curl, side by side (issue 20: strict within 5 %
//!   of curl's time); `--rounds R` repeats it (default 3) and prints the medians.
//!
//! - A create burst of N per-client reports killed three times (`crash`), beside the same
//!   burst uncrashed: duplicates, API requests per report over all runs, wall times.
//!
//! - One report per client (`fanout`): `clients = "all"` over 5,000 eligible clients: all
//!   delivered, API requests per report counting the client pages, peak RSS (issue 21).
//!
//! - One 1 GiB report delivered to an S3 destination (`upload`, a `moto_server` it starts):
//!   the upload's rate and the daemon's peak RSS (issue 22: at most 40 MB).
//!
//! - Three hosts on one PostgreSQL database (`hosts`, a private server it starts): 10,000
//!   reports, API requests per report in all (issue 23: at most 2.3), none made twice.
//!
//! Arguments select scenarios: `many`, `crash`, `fanout`, `hosts`, `big`, `rows`, `verified`,
//! `slow`, `upload` (default: all); `--n N` overrides the report counts of `many`, `crash`,
//! `fanout` and `hosts`.

#[path = "scale/big.rs"]
mod big;
#[path = "scale/crash.rs"]
mod crash;
#[path = "scale/fanout.rs"]
mod fanout;
#[path = "scale/harness.rs"]
mod harness;
#[path = "scale/hosts.rs"]
mod hosts;
#[path = "scale/many.rs"]
mod many;
#[path = "scale/pace.rs"]
mod pace;
#[path = "../tests/suite/common/postgres.rs"]
mod postgres;
#[path = "scale/rows.rs"]
mod rows;
#[path = "scale/upload.rs"]
mod upload;

use big::*;
use harness::*;
use many::*;
use rows::*;

const BIN: &str = env!("CARGO_BIN_EXE_gcore-reportd");

/// The daemon binary to measure: `GCORE_REPORTD_BIN` if set (e.g. a previous release's build, to
/// compare it with this benchmark), else the one cargo built with the benchmark.
fn daemon_bin() -> String {
    std::env::var("GCORE_REPORTD_BIN").unwrap_or_else(|_| BIN.to_string())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let wants = |name: &str| {
        args.iter()
            .all(|a| a.starts_with("--") || a.parse::<usize>().is_ok())
            || args.iter().any(|a| a == name)
    };
    let custom_n = args
        .iter()
        .position(|a| a == "--n")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    println!("gcore-reportd scale benchmark (binary {})", daemon_bin());
    let mut finished_runs = Vec::new();
    if wants("many") {
        for n in custom_n
            .map(|n| vec![n])
            .unwrap_or_else(|| vec![1_000, 10_000])
        {
            finished_runs.push(many(n).await);
        }
    }
    if wants("crash") {
        for n in custom_n
            .map(|n| vec![n])
            .unwrap_or_else(|| vec![2_000, 10_000])
        {
            finished_runs.extend(crash::crash(n).await);
        }
    }
    if wants("fanout") {
        finished_runs.push(fanout::fanout(custom_n.unwrap_or(5_000)).await);
    }
    if wants("hosts") {
        finished_runs.push(hosts::hosts(custom_n.unwrap_or(10_000)).await);
    }
    if wants("big") {
        big().await;
    }
    if wants("rows") {
        rows(100_000).await;
    }
    if wants("upload") {
        upload::upload().await;
    }
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    if wants("verified") {
        pace::verified(rounds).await;
    }
    if wants("slow") {
        pace::slow(rounds).await;
    }
    drop(finished_runs);
}
