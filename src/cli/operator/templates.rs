//! `templates`: the report templates the API offers, and the guard every command that asks
//! the API directly goes through first (no request while a pause the API asked for lasts).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{load_config, table};
use crate::config::{self, Overrides};
use crate::engine;
use crate::store::Store;

/// The commands that ask the API directly (`templates`, `check-config --online`) send nothing
/// while a pause the API asked for (a `Retry-After` the daemon recorded) lasts.
pub(in crate::cli) async fn refuse_during_api_pause(config: &config::Config) -> anyhow::Result<()> {
    let location = engine::store_location(&config.storage.database)?;
    let store = match Store::open_existing_at(&location).await {
        Ok(store) => store,
        Err(crate::store::StoreError::Missing { .. }) => return Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the database for a pause the API asked for; asking the API anyway");
            return Ok(());
        }
    };
    let paused = store
        .condition(crate::store::ConditionKind::ApiPaused)
        .await;
    store.close().await;
    let now = crate::clock::Clock::from_env()
        .map_err(crate::cli::UsageError)?
        .now_ms();
    match paused? {
        Some(pause) if pause.until_at.is_some_and(|until| until > now) => Err(anyhow::anyhow!(
            "{}, and this command would ask it something: try again after that",
            pause.reason
        )),
        _ => Ok(()),
    }
}
pub async fn templates(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = load_config(config_path, &Overrides::default())?;
    refuse_during_api_pause(&config).await?;
    let client = engine::build_client(&config)?;
    let templates = client
        .templates()
        .await
        .context("cannot list the report templates")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&templates)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = templates
        .iter()
        .map(|t| {
            let params = t.parameters.clone().unwrap_or_default().parameters;
            let params: Vec<String> = params
                .iter()
                .map(|p| {
                    let req = if p.required == Some(true) { "" } else { "?" };
                    format!("{}{req}:{}", p.name, p.kind.as_deref().unwrap_or("any"))
                })
                .collect();
            vec![
                t.code.clone(),
                t.name_en.clone().unwrap_or_default(),
                params.join(", "),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["CODE", "NAME", "PARAMETERS (? = optional)"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}
