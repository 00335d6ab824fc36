//! The operator commands that change state: `retry` gives a failed, expired or lost task a new
//! attempt; `forget` drops a task (after confirmation) so its period can be created again.
//! Both are single transactions, safe while the daemon runs.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use super::operator::open_store;
use super::UsageError;
use crate::clock::{after, Clock};
use crate::config::{self, Overrides};

pub async fn retry(config_path: &Path, key: &str) -> anyhow::Result<ExitCode> {
    let store = open_store(config_path).await?;
    let task = store.find_task(key).await?;
    let deadline = config::load(config_path, &Overrides::default())
        .map(|c| c.polling.deadline)
        .unwrap_or(std::time::Duration::from_secs(48 * 3600));
    let now = Clock::from_env().map_err(UsageError)?.now_ms();
    let deadline_at = after(now, deadline);
    if !store.retry_task(task.id, deadline_at, now).await? {
        let msg = format!(
            "task {} is {}: only failed, expired or lost tasks can be retried",
            task.id, task.state
        );
        return Err(UsageError(msg).into());
    }
    println!(
        "task {} ({} {}..{}) will be attempted again by the running daemon (or `run --once`)",
        task.id, task.report, task.period_from, task.period_to
    );
    Ok(ExitCode::SUCCESS)
}

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
    if !yes && !confirm(&what)? {
        println!("nothing forgotten");
        return Ok(ExitCode::FAILURE);
    }
    if !store.forget_task(task.id).await? {
        let msg = format!(
            "task {} is {}: only done, failed, expired or lost tasks can be forgotten",
            task.id, task.state
        );
        return Err(UsageError(msg).into());
    }
    println!("forgot {what}; its period will be created again when due (the file, if any, stays)");
    Ok(ExitCode::SUCCESS)
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
