//! Twelve reports in csv, json and xlsx delivered to a bucket that refuses connections for
//! the first 15 s (the proxy in front of moto listens only then, on the port the config
//! names), with the daemon killed twice during the uploads: once by the proxy between a put
//! landing and its answer (moto has stored the object, the daemon never hears so), once after
//! an upload's record: every key ends with exactly one version, its bytes the API's file and
//! the local one.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use super::{daemon, wait_for_uploads, BUCKET};
use crate::common::kill_proxy::KillProxy;
use crate::common::moto::{archive_destination, free_port, Moto};
use crate::common::{served_as_created, Harness};

const TEMPLATES: [&str; 4] = [
    "ResellerExpenses",
    "ResellerPlans",
    "ResellerStatistics",
    "ResellerCredits",
];
const FORMATS: [&str; 3] = ["csv", "json", "xlsx"];
/// How long the destination refuses connections.
const OUTAGE: Duration = Duration::from_secs(15);

/// `(report name, template, format, client)` of the twelve reports: each template in each
/// format, for a client of its own (a request is its template and parameters).
fn reports() -> Vec<(String, &'static str, &'static str, i64)> {
    let mut all = Vec::new();
    for template in TEMPLATES {
        for format in FORMATS {
            let name = format!("{}-{format}", template.to_lowercase());
            let client = all.len() as i64 + 1;
            all.push((name, template, format, client));
        }
    }
    all
}

fn config(port: u16) -> String {
    let mut text = format!(
        "[defaults]\ndestinations = [\"archive\"]\n\n{}\n",
        archive_destination(port, BUCKET)
    );
    for (name, template, format, client) in reports() {
        text.push_str(&format!(
            "[[reports]]\nname = \"{name}\"\ntemplate = \"{template}\"\nformat = \"{format}\"\nparameters = {{ client_id = {client} }}\n\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_reports_reach_a_bucket_down_for_15s_through_two_kills_as_one_version_of_each_key() {
    // The daemon's endpoint is a proxy to moto, listening only once the outage is over.
    let port = free_port();
    let h = Harness::start(&config(port)).await;
    let outage_ends = tokio::time::Instant::now() + OUTAGE;
    let mut first = daemon(&h, "daemon1.log", None);
    let moto = Moto::start(free_port()).await;
    moto.versioned_bucket(BUCKET).await;
    wait_for_uploads(&h, 12, "pending").await;
    // The outage is the scenario itself: the destination comes up only after it.
    tokio::time::sleep_until(outage_ends).await;
    let proxy = KillProxy::start_killing(port, moto.port, first.id()).await;

    let status = first.wait(Duration::from_secs(120)).await;
    let held = proxy.held_put();
    assert!(
        status.signal() == Some(libc::SIGKILL) && held.is_some(),
        "the first daemon was killed between a put landing and its answer ({status}, {held:?}):\n{}",
        first.log()
    );
    let mut second = daemon(&h, "daemon2.log", Some("upload.recorded:4"));
    second.wait(Duration::from_secs(120)).await;
    assert!(
        second
            .log()
            .contains("crashpoint upload.recorded:4 reached"),
        "the second daemon was killed during the uploads:\n{}",
        second.log()
    );
    let third = daemon(&h, "daemon3.log", None);
    wait_for_uploads(&h, 12, "delivered").await;
    third.stop().await;

    let versions = moto.versions(BUCKET).await;
    assert_eq!(versions.len(), 12, "one key per report: {versions:?}");
    assert!(
        versions.values().all(|&n| n == 1),
        "exactly one version of each key: {versions:?}"
    );
    let held = held.unwrap_or_default();
    let held_key = held
        .split(' ')
        .nth(1)
        .and_then(|t| t.strip_prefix(&format!("/{BUCKET}/")))
        .unwrap_or_else(|| panic!("a key in {held:?}"));
    assert_eq!(
        versions.get(held_key),
        Some(&1),
        "the put whose answer was lost: {held}"
    );
    let remote = h.sim.tasks();
    assert_eq!(remote.len(), 12, "one remote task per report");
    for (name, template, format, client) in reports() {
        let local_name = h
            .output_files()
            .into_iter()
            .find(|f| f.starts_with(&format!("{name}_")))
            .unwrap_or_else(|| panic!("no local file of {name}"));
        let local = std::fs::read(h.output_dir().join(&local_name)).expect("local file");
        let task = remote
            .iter()
            .find(|t| t.template == template && t.parameters["client_id"] == client)
            .expect("the report's remote task");
        assert_eq!(
            local,
            served_as_created(task, format),
            "{name}: the API's file"
        );
        let object = moto.get(BUCKET, &format!("gcore/{local_name}")).await;
        assert!(
            object == local,
            "{name}: the object's bytes are the local file's"
        );
    }
    moto.stop().await;
}
