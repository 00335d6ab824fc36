//! `check-config [--online]`: the offline checks (the config loads and validates; the effective
//! settings printed as TOML by `effective`), and with `--online` every report checked
//! against the live templates operation: the template code exists, every required parameter is
//! set (`date_from`/`date_to` are the daemon's), no parameter is unknown to the template, and
//! each value has the template's type or one of its allowed values. A mismatch exits 78 (a
//! configuration error) before any report is created with it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Map, Value};

use super::{load_config, EXIT_CONFIG};
use crate::api::{Template, TemplateParameter};
use crate::config::Overrides;
use crate::engine;

/// The parameters the daemon sets itself from each period.
const PERIOD_PARAMETERS: [&str; 2] = ["date_from", "date_to"];

pub async fn check_config(config_path: &Path, online: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(config_path, &Overrides::default())?;
    println!(
        "# config {} is valid; effective settings:",
        config_path.display()
    );
    print!("{}", super::effective::render(&config));
    print_changes(&config).await?;
    if !online {
        return Ok(ExitCode::SUCCESS);
    }
    super::operator::refuse_during_api_pause(&config).await?;
    let client = engine::build_client(&config)?;
    let templates = client
        .templates()
        .await
        .context("check-config --online: cannot list the report templates")?;
    let problems: Vec<String> = config
        .reports
        .iter()
        .flat_map(|r| report_problems(&r.name, &r.template, &asked(r), &templates))
        .collect();
    if problems.is_empty() {
        println!(
            "online: {} report(s) match the {} template(s) the API offers",
            config.reports.len(),
            templates.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        eprintln!("gcore-reportd: config error: {problem}");
    }
    Ok(ExitCode::from(EXIT_CONFIG))
}

/// One line per report: what the config means for the periods the database tracks.
async fn print_changes(config: &crate::config::Config) -> anyhow::Result<()> {
    let location = crate::engine::store_location(&config.storage.database)?;
    let store = match crate::store::Store::open_existing_at(&location).await {
        Ok(store) => store,
        Err(crate::store::StoreError::Missing { .. }) => {
            println!("# no database yet: every report starts afresh");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let now = crate::clock::Clock::from_env()
        .map_err(super::UsageError)?
        .now_ms();
    let changes = engine::describe_changes(&store, config, now).await;
    store.close().await;
    println!("# what the config means for the tracked periods:");
    for change in changes? {
        println!("{}", change.line);
    }
    Ok(())
}

/// The parameters a report sends besides the dates: a report per client's with a `client_id`
/// (its first fixed client, or 1), so that the template is checked to declare one, an integer.
fn asked(report: &crate::config::ReportConfig) -> Map<String, Value> {
    let mut parameters = report.parameters.to_map();
    if let Some(clients) = &report.clients {
        let sample = clients.fixed().and_then(|ids| ids.first()).copied();
        parameters.insert("client_id".into(), sample.unwrap_or(1).into());
    }
    parameters
}

/// What is wrong with one report's template and parameters, given the live templates.
fn report_problems(
    report: &str,
    code: &str,
    parameters: &Map<String, Value>,
    templates: &[Template],
) -> Vec<String> {
    let Some(template) = templates.iter().find(|t| t.code == code) else {
        let offered: Vec<&str> = templates.iter().map(|t| t.code.as_str()).collect();
        return vec![format!(
            "report {report}: template {code:?} is not offered by the API (offered: {})",
            offered.join(", ")
        )];
    };
    let declared = template.parameters.clone().unwrap_or_default().parameters;
    let mut problems = Vec::new();
    for p in &declared {
        let set_by_daemon = PERIOD_PARAMETERS.contains(&p.name.as_str());
        if p.required == Some(true) && !set_by_daemon && !parameters.contains_key(&p.name) {
            problems.push(format!(
                "report {report}: template {code} requires parameter {:?}, which is not set",
                p.name
            ));
        }
    }
    for (name, value) in parameters {
        match declared.iter().find(|p| &p.name == name) {
            None => {
                let known: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
                problems.push(format!(
                    "report {report}: parameter {name:?} is not one of template {code}'s ({})",
                    known.join(", ")
                ));
            }
            Some(p) => problems.extend(
                value_problem(p, value).map(|why| format!("report {report}: parameter {why}")),
            ),
        }
    }
    problems
}

/// Why `value` does not fit the declared parameter, if it does not.
fn value_problem(p: &TemplateParameter, value: &Value) -> Option<String> {
    // The published schema allows `enum: []`: an empty list restricts nothing.
    if let Some(choices) = p.choices.as_ref().filter(|c| !c.is_empty()) {
        let fits = value
            .as_str()
            .is_some_and(|v| choices.iter().any(|c| c == v));
        return (!fits).then(|| format!("{:?} = {value} is not one of {choices:?}", p.name));
    }
    let fits = match p.kind.as_deref() {
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        _ => true,
    };
    let kind = p.kind.as_deref().unwrap_or("any");
    (!fits).then(|| format!("{:?} = {value} is not of type {kind}", p.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates() -> Vec<Template> {
        serde_json::from_value(json!([{
            "id": 1,
            "code": "ResellerExpenses",
            "parameters": { "parameters": [
                { "name": "date_from", "required": true, "type": "string", "format": "date" },
                { "name": "date_to", "required": true, "type": "string", "format": "date" },
                { "name": "client_id", "required": true, "type": "integer" },
                { "name": "grouping", "required": false, "type": "string", "enum": ["day", "month"] }
            ]}
        }]))
        .expect("templates")
    }

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_report_that_sets_what_the_template_requires_passes() {
        let p = params(json!({ "client_id": 42, "grouping": "month" }));
        assert!(report_problems("r", "ResellerExpenses", &p, &templates()).is_empty());
    }

    #[test]
    fn an_unknown_template_is_named_with_the_offered_ones() {
        let problems = report_problems("r", "ResellerExpences", &Map::new(), &templates());
        assert_eq!(
            problems,
            ["report r: template \"ResellerExpences\" is not offered by the API (offered: ResellerExpenses)"]
        );
    }

    #[test]
    fn a_missing_required_parameter_an_unknown_one_and_wrong_values_are_each_reported() {
        let p = params(json!({ "clientid": 42, "grouping": "year" }));
        let problems = report_problems("r", "ResellerExpenses", &p, &templates());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("requires parameter \"client_id\""));
        assert!(problems[1].contains("\"clientid\" is not one of template"));
        assert!(problems[2].contains("\"grouping\" = \"year\" is not one of"));
        let p = params(json!({ "client_id": "42" }));
        let problems = report_problems("r", "ResellerExpenses", &p, &templates());
        assert_eq!(
            problems,
            ["report r: parameter \"client_id\" = \"42\" is not of type integer"]
        );
    }
}
