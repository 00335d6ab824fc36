//! A destination's configuration refused before anything runs (exit 78, one line naming the
//! key): a report naming an unknown destination, a URL that is not `s3://bucket/prefix`, an
//! http endpoint off loopback, no credentials. A good one is accepted, and `check-config`
//! says nothing of the credentials.

use super::{s3_env, KEY_ID, SECRET};
use crate::common::{stderr, Harness};

const REPORT: &str = "[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\n";

async fn check(h: &Harness, body: &str, credentials: bool) -> std::process::Output {
    h.write_config(body);
    let mut cmd = h.command(&["check-config"]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    if credentials {
        s3_env(&mut cmd);
    }
    cmd.output().await.expect("run check-config")
}

async fn refused(h: &Harness, body: &str, credentials: bool, key: &str) {
    let out = check(h, body, credentials).await;
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(78), "{body}: {said}");
    assert!(
        said.contains(key),
        "{body}: the refusal names {key}: {said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
}

#[tokio::test]
async fn a_bad_destination_is_refused_naming_its_key_and_credentials_never_show() {
    let h = Harness::start("").await;
    let table = "[destinations.archive]\nurl = \"s3://reports-bucket/gcore\"\n";
    let unknown = format!("{table}\n{REPORT}destinations = [\"nowhere\"]\n");
    refused(&h, &unknown, true, "reports[0].destinations").await;
    let in_defaults = format!("{table}\n[defaults]\ndestinations = [\"nowhere\"]\n\n{REPORT}");
    refused(&h, &in_defaults, true, "defaults.destinations").await;
    let bad_url = format!("[destinations.archive]\nurl = \"https://reports-bucket\"\n\n{REPORT}");
    refused(&h, &bad_url, true, "destinations.archive.url").await;
    let http = format!("{table}endpoint = \"http://s3.example.net\"\n\n{REPORT}");
    refused(&h, &http, true, "destinations.archive.endpoint").await;
    let good = format!(
        "{table}endpoint = \"http://127.0.0.1:9\"\n\n{REPORT}destinations = [\"archive\"]\n"
    );
    refused(&h, &good, false, "AWS_ACCESS_KEY_ID").await;

    let out = check(&h, &good, true).await;
    let (said, printed) = (
        stderr(&out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    );
    assert!(
        out.status.success(),
        "a good destination is accepted: {said}"
    );
    for secret in [KEY_ID, SECRET] {
        assert!(
            !said.contains(secret) && !printed.contains(secret),
            "check-config never shows the credentials:\n{printed}\n{said}"
        );
    }
}
