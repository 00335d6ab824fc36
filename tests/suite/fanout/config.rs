//! The config a report per client refuses, before anything is touched: `parameters.client_id`
//! beside `clients` (also from `[defaults]`), a `file_name` that does not name `{client_id}`,
//! a `clients` value that is neither "all" nor a list of distinct client ids, and a listed client
//! another report already asks for. Each exits 78 with one line naming the key. Online,
//! `check-config --online` refuses a template that declares no `client_id`.

use crate::common::{stderr, Harness};

fn cases() -> Vec<(&'static str, String, &'static str)> {
    let report = |clients: &str, extra: &str| {
        format!("[[reports]]\nname = \"expenses\"\ntemplate = \"ResellerExpenses\"\nclients = {clients}\n{extra}\n")
    };
    vec![
        (
            "client_id in parameters beside clients",
            report("\"all\"", "parameters = { client_id = 7 }"),
            "reports[0].parameters.client_id",
        ),
        (
            "client_id in the defaults' parameters, clients on the report",
            format!(
                "[defaults]\nparameters = {{ client_id = 7 }}\n{}",
                report("[1, 2]", "")
            ),
            "reports[0].parameters.client_id",
        ),
        (
            "a file name without {client_id}",
            report("\"all\"", "file_name = \"{name}_{date_from}.csv\""),
            "reports[0].file_name",
        ),
        (
            "clients neither all nor a list",
            report("\"some\"", ""),
            "reports[0].clients",
        ),
        (
            "an empty list of clients",
            report("[]", ""),
            "reports[0].clients",
        ),
        (
            "a client listed twice",
            report("[5, 5]", ""),
            "reports[0].clients",
        ),
        (
            "a client id that is not positive",
            report("[0]", ""),
            "reports[0].clients",
        ),
        (
            "a listed client another report already asks for",
            format!(
                "[[reports]]\nname = \"one\"\ntemplate = \"ResellerExpenses\"\nparameters = {{ client_id = 42 }}\n{}",
                report("[7, 42]", "")
            ),
            "reports[1].template",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_per_client_with_a_wrong_key_exits_78_with_one_line_naming_it() {
    let h = Harness::start("").await;
    for (case, body, key) in cases() {
        h.write_config(&body);
        for args in [&["check-config"][..], &["run", "--once"][..]] {
            let out = h.run(args).await;
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(78), "{case} ({args:?}): {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{case}: one line: {err}");
            assert!(err.contains(key), "{case}: names {key}: {err}");
        }
    }
    assert!(!h.path("state.db").exists(), "no database was made");
    assert!(
        h.sim.request_counts().is_empty(),
        "nothing was asked of the API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_refuses_a_report_per_client_whose_template_takes_no_client_id() {
    let h = Harness::start(&super::all_clients("")).await;
    let out = h.run(&["check-config", "--online"]).await;
    assert!(
        out.status.success(),
        "the template declares client_id: {}",
        stderr(&out)
    );
    h.sim.hide_template_parameter(Some("client_id"));
    let out = h.run(&["check-config", "--online"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("report expenses") && err.contains("\"client_id\""),
        "{err}"
    );
}
