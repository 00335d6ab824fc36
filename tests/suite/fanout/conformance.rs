//! Every client listing conforms to the IAM reseller spec (`tests/fixtures/
//! gcore-iam-clients.openapi.yaml`, Gcore's published description excerpted unchanged): each
//! query parameter is one the operation declares, with a value its schema takes, and the
//! listing asks for clients neither deleted nor test accounts, with the API key.

use super::all_clients;
use crate::common::openapi::Spec;
use crate::common::{quick_sim, stderr, Harness};
use gcore_reportd_sim::SimOptions;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_listing_request_conforms_to_the_iam_spec() {
    let options = SimOptions {
        clients: 1_300,
        record: true,
        ..quick_sim()
    };
    let h = Harness::with_options(options, &all_clients("")).await;
    let out = h.run(&["run", "--once"]).await;
    assert!(out.status.success(), "run --once: {}", stderr(&out));
    let spec = Spec::load_fixture("gcore-iam-clients.openapi.yaml");
    let (op, _) = spec
        .operation("GET", "/iam/clients")
        .expect("the spec lists clients");
    let declared: Vec<&Value> = (op["parameters"].as_array().expect("parameters").iter())
        .map(|p| spec.resolve(p))
        .collect();
    let listings: Vec<_> = (h.sim.exchanges().into_iter())
        .filter(|e| e.path == "/iam/clients")
        .collect();
    assert_eq!(
        listings.len(),
        2,
        "1,300 clients (1,013 eligible) in two pages"
    );
    let mut errors = Vec::new();
    for ex in &listings {
        assert_eq!(ex.method, "GET");
        let query = ex.query.clone().unwrap_or_default();
        let pairs: Vec<(&str, &str)> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        for (name, value) in &pairs {
            match declared
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == *name)
            {
                Some(param) => errors.extend(spec.validate_param(
                    param,
                    &[value.to_string()],
                    &format!("?{name}"),
                )),
                None => errors.push(format!("query parameter {name:?} is not in the spec")),
            }
        }
        for wanted in [("deleted", "false"), ("is_test", "false")] {
            assert!(pairs.contains(&wanted), "{query} asks {wanted:?}");
        }
        let auth = ex
            .request_headers
            .iter()
            .find(|(k, _)| k == "authorization");
        assert_eq!(
            auth.map(|(_, v)| v.as_str()),
            Some(format!("apikey {}", h.key).as_str())
        );
    }
    assert!(errors.is_empty(), "{errors:?}");
}
