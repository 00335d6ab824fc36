//! The operator commands that change state: `retry-hook` runs a task's hook again; `forget`
//! drops a task (after confirmation) so its period can be created again, and says whether it
//! will be; one whose create may have reached the server (no uuid known) is refused, pointing
//! to `retry`, which searches the server for its task first. Both are single transactions, safe while the daemon runs. (`retry` is in `retry`.)

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use super::operator::open_store;
use super::UsageError;
use crate::clock::Clock;
use crate::config::{self, Overrides};

pub async fn retry_hook(config_path: &Path, key: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let task = store.find_task(key).await?;
    let now = Clock::from_env().map_err(UsageError)?.now_ms();
    if !store.rearm_hook(task.id, now).await? {
        let msg = format!(
            "task {} is {}: its hook runs when it ends",
            task.id, task.state
        );
        return Err(UsageError(msg).into());
    }
    println!(
        "task {}'s hook will run again at the daemon's next step (or `run --once`)",
        task.id
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn forget(config_path: &Path, key: &str, yes: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let task = store.find_task(key).await?;
    let what = format!(
        "task {} ({} {}..{}, {})",
        task.id, task.report, task.period_from, task.period_to, task.state
    );
    if let Some(refusal) = uncertain(&task) {
        return Err(UsageError(refusal).into());
    }
    if !yes && !confirm(&what)? {
        println!("nothing forgotten");
        return Ok(ExitCode::FAILURE);
    }
    if !store.forget_task(task.id).await? {
        let now = store.find_task(key).await.ok();
        let msg = now.as_ref().and_then(uncertain).unwrap_or_else(|| {
            format!(
                "task {} is {}: only done, failed, expired or lost tasks can be forgotten",
                task.id,
                now.as_ref().map_or(task.state, |t| t.state)
            )
        });
        return Err(UsageError(msg).into());
    }
    let again = created_again(config_path, &store, &task).await?;
    println!("forgot {what}; {again} (the file, if any, stays)");
    Ok(ExitCode::SUCCESS)
}

/// Why a task cannot be forgotten, when its create may have reached the server and no task of
/// it is known: forgetting it would let its period be created again without a search.
fn uncertain(task: &crate::store::TaskRow) -> Option<String> {
    if task.uuid.is_some() || task.intent_at.is_none() {
        return None;
    }
    Some(format!(
        "task {} is {} and its create may have reached the server, though no task of it is known: forgetting it would create its period again without looking for that task (a second remote task). `gcore-reportd retry {}` searches the server first and creates a task only if there is certainly none",
        task.id, task.state, task.id
    ))
}

/// Whether the scheduler will record a forgotten task's period again, in words: only when its
/// report is configured and the period is among those it creates (see `engine::periods_due`).
async fn created_again(
    config_path: &Path,
    store: &crate::store::Store,
    task: &crate::store::TaskRow,
) -> anyhow::Result<String> {
    let config = match config::load(config_path, &Overrides::default()) {
        Ok(config) => config,
        Err(e) => {
            return Ok(format!(
            "whether its period is created again depends on the config, which does not load ({e})"
        ))
        }
    };
    let Some(report) = config.report(&task.report) else {
        return Ok(format!(
            "report {} is not in the config: nothing creates its period again",
            task.report
        ));
    };
    let clock = Clock::from_env().map_err(UsageError)?;
    let reports = std::slice::from_ref(report);
    let starts = crate::engine::catch_up_starts(store, reports, clock.now()).await?;
    let newest = starts.get(&report.name).copied();
    let due = crate::engine::periods_due(report, newest, clock.now());
    if due.iter().any(|p| p.from.to_string() == task.period_from) {
        return Ok("its period will be created again at the next scheduling pass (the daemon's next due report or restart, or `run --once`)".into());
    }
    let client = match (&report.clients, task.client_id()) {
        (Some(_), Some(id)) => format!(" --client {id}"),
        _ => String::new(),
    };
    Ok(format!(
        "its period will not be created again by the schedule: `gcore-reportd backfill --report {}{client} --from {} --to {}` creates it",
        report.name, task.period_from, task.period_from
    ))
}

fn confirm(what: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(UsageError(format!(
            "forget {what}: not a terminal; pass --yes to confirm"
        ))
        .into());
    }
    print!("forget {what}? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
