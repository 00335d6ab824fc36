//! Verification before delivery and empty reports (issue 13, items 1, 2 and 4), with the real
//! binary, a real SQLite file and the simulator: a malformed file served whole with the right
//! Content-Type is never delivered, it is fetched again and delivered once good, the task
//! fails with the reason when it never is; the `verify` levels relax the check; an empty
//! report is delivered marked empty; the demo's workbook is a real one.
//!
//! The tests are grouped by family: malformed files fetched again or failed (`refetch`), what
//! a malformed download costs (`budgets`: a bad transfer nothing, a bad file a remote task), the
//! `verify` levels and their config values (`levels`), and what is delivered for an empty
//! report and by the demo (`delivered`); the helpers several families use are here.

mod budgets;
mod delivered;
mod levels;
mod refetch;

/// One report per format, retried quickly.
const THREE_FORMATS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"

[[reports]]
name = "plans"
template = "ResellerPlans"
format = "json"

[[reports]]
name = "credits"
template = "ResellerCredits"
format = "xlsx"
"#;

fn row<'a>(status: &'a [serde_json::Value], report: &str) -> &'a serde_json::Value {
    status
        .iter()
        .find(|r| r["report"] == report)
        .unwrap_or_else(|| panic!("no task for {report}: {status:?}"))
}
