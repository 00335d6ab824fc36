//! The `verify` levels: `well-formed` accepts any widths and `off` any bytes; a bad `verify`,
//! `on_empty`, `refresh` or `on_restated` value exits 78 naming the key.

use super::row;
use crate::common::{stderr, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_well_formed_accepts_any_widths_and_verify_off_accepts_any_bytes() {
    let reports = r#"
[[reports]]
name = "portal"
template = "ResellerExpenses"
format = "csv"
verify = "well-formed"

[[reports]]
name = "unchecked"
template = "ResellerCredits"
format = "xlsx"
verify = "off"
"#;
    let h = Harness::start(reports).await;
    h.sim.serve_malformed(1);
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let status = h.status().await;
    let portal = row(&status, "portal");
    assert_eq!(portal["state"], "done");
    assert_eq!(
        portal["rows"].as_u64(),
        Some(20),
        "the ragged file was counted"
    );
    let unchecked = row(&status, "unchecked");
    assert_eq!(unchecked["state"], "done");
    assert!(
        unchecked["rows"].is_null(),
        "an unchecked file has no shape: {unchecked}"
    );
    assert_eq!(h.sim.request_counts().get("download").copied(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_verify_on_empty_or_refresh_value_exits_78_naming_the_key() {
    let h = Harness::start("").await;
    for (line, key) in [
        ("verify = \"lenient\"", "reports[0].verify"),
        ("on_empty = \"refetch\"", "reports[0].on_empty"),
        ("on_empty = \"skip\"", "reports[0].on_empty"),
        ("refresh = [\"7d\", \"2d\"]", "reports[0].refresh"),
        ("refresh = [\"soon\"]", "reports[0].refresh"),
        ("on_restated = [\" \"]", "reports[0].on_restated"),
    ] {
        h.write_config(&format!(
            "[[reports]]\nname = \"r\"\ntemplate = \"ResellerExpenses\"\n{line}\n"
        ));
        let out = h.run(&["check-config"]).await;
        assert_eq!(out.status.code(), Some(78), "{line}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains(key) && said.lines().count() == 1,
            "{line}: {said}"
        );
    }
}
