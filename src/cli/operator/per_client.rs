//! `status` for a report per client: instead of thousands of rows, one line per period saying
//! how many of its clients are done, running, failed or waiting (`--all` lists every task,
//! `--client ID` one client's).

use crate::store::{State, Store, StoreError};

/// One summary line per period of each of `reports` (fan-out reports), newest period first.
pub async fn summary(store: &Store, reports: &[String]) -> Result<String, StoreError> {
    let mut out = String::new();
    for report in reports {
        let counts = store.client_state_counts(report).await?;
        let mut periods: Vec<(String, String, [i64; 4])> = Vec::new();
        for row in counts {
            let at = match periods.last() {
                Some((from, to, _)) if *from == row.period_from && *to == row.period_to => {
                    periods.len() - 1
                }
                _ => {
                    periods.push((row.period_from.clone(), row.period_to.clone(), [0; 4]));
                    periods.len() - 1
                }
            };
            periods[at].2[bucket(&row.state)] += row.clients;
        }
        for (from, to, [done, running, failed, waiting]) in periods {
            let total = done + running + failed + waiting;
            out.push_str(&format!(
                "{report} {from}..{to}: {total} client(s): {done} done, {running} running, {failed} failed, {waiting} waiting\n"
            ));
        }
    }
    if !out.is_empty() {
        out.push_str("(reports per client summarised; --all or --client ID for their tasks)\n");
    }
    Ok(out)
}

/// done, running (created remotely), failed (failed, expired, lost), waiting (not sent yet).
fn bucket(state: &str) -> usize {
    match state.parse::<State>() {
        Ok(State::Done) => 0,
        Ok(State::Polling | State::Downloading) => 1,
        Ok(State::Intent | State::Creating) => 3,
        _ => 2,
    }
}
