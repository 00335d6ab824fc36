//! When the clients of the fan-out reports are listed, and what a failed listing leads to.
//! `GET /iam/clients` is read once for every `clients = "all"` report that needs it, when a
//! scheduling pass finds one of their periods newly due (and at the first pass of a process),
//! and again every [`RELIST_EVERY`] so a client added between periods gets its most recent due
//! period without waiting for the next one. A fixed list needs no listing. A failed listing
//! records nothing for those reports (an error never means "no clients") and is tried again
//! after a backoff; the request itself goes through the client's budget and `Retry-After`.
//! What was listed and when is kept in memory only: a new process lists again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;

use super::fanout::ClientLists;
use super::parts::FanOut;
use super::EngineError;
use crate::api::ErrorClass;
use crate::clock::after;
use crate::config::{Clients, ReportConfig};

/// How long a listing is good for: a client added since is seen at most this late.
const RELIST_EVERY: Duration = Duration::from_secs(3600);
/// The wait after a first failed listing; it doubles with each failure in a row.
const RETRY_FIRST: Duration = Duration::from_secs(2);
/// The longest wait between failed listings.
const RETRY_MAX: Duration = Duration::from_secs(600);

/// What this process listed and recorded, per fan-out report.
#[derive(Debug, Default)]
pub(super) struct Listings {
    /// A scheduling pass ran (a draining run, which records nothing new, never lists).
    scheduled: bool,
    /// Per report: the first day of its most recent due period when its clients' periods
    /// were last recorded, and when (Unix ms).
    recorded: HashMap<String, (Option<Date>, i64)>,
    /// Failed listings in a row, and when the next one may be tried.
    failures: u32,
    retry_at: Option<i64>,
}

impl FanOut {
    /// The clients of each fan-out report whose periods are to be recorded now. `schedule`:
    /// this step is a scheduling pass. A listing that fails is logged and tried again later;
    /// its reports are left out.
    pub(super) async fn fan_out_lists(
        &self,
        schedule: bool,
        now: i64,
    ) -> Result<ClientLists, EngineError> {
        let mut lists = ClientLists::default();
        let wanted: Vec<&ReportConfig> = {
            let mut listings = self.listings();
            listings.scheduled |= schedule;
            if !listings.scheduled {
                return Ok(lists);
            }
            let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            (self.shared.config.reports.iter())
                .filter(|r| r.clients.is_some())
                .filter(|r| {
                    let latest = super::periods_due(r, None, at).last().map(|p| p.from);
                    listings.recorded.get(&r.name).is_none_or(|(seen, when)| {
                        *seen != latest || now >= after(*when, RELIST_EVERY)
                    })
                })
                .collect()
        };
        let mut all = wanted.iter().filter(|r| r.clients == Some(Clients::All));
        let listed = match all.next() {
            Some(_) if self.listings().retry_at.is_some_and(|at| now < at) => None,
            Some(_) => self.list_all(now).await?,
            None => None,
        };
        for report in wanted {
            match report.clients.as_ref().and_then(Clients::fixed) {
                Some(ids) => lists.insert(&report.name, ids.into()),
                None => {
                    if let Some(ids) = &listed {
                        lists.insert(&report.name, ids.clone());
                    }
                }
            }
        }
        Ok(lists)
    }

    /// Notes that the periods of the reports in `lists` were recorded at `now`.
    pub(super) fn fan_out_recorded(&self, lists: &ClientLists, now: i64) {
        let at = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let mut listings = self.listings();
        for (name, _) in lists.iter() {
            if let Some(report) = self.shared.config.report(name) {
                let latest = super::periods_due(report, None, at).last().map(|p| p.from);
                listings.recorded.insert(name.clone(), (latest, now));
            }
        }
    }

    /// When the fan-out reports next need a listing (a retry, or a listing grown old).
    pub(super) fn fan_out_wake(&self) -> Option<i64> {
        let listings = self.listings();
        let relist = (listings.recorded.values())
            .map(|(_, when)| after(*when, RELIST_EVERY))
            .min();
        match (listings.retry_at, relist) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many `clients = "all"` reports wait for a listing that failed at its last try.
    pub(super) fn fan_out_unlisted(&self) -> usize {
        let failing = self.listings().retry_at.is_some();
        (self.shared.config.reports.iter())
            .filter(|r| failing && r.clients == Some(Clients::All))
            .count()
    }

    /// Lists the clients; `None` (and a retry later) when the listing fails.
    async fn list_all(&self, now: i64) -> Result<Option<Arc<[i64]>>, EngineError> {
        match self.client.list_clients().await {
            Ok(ids) => {
                let mut listings = self.listings();
                (listings.failures, listings.retry_at) = (0, None);
                tracing::info!(
                    clients = ids.len(),
                    "clients listed for the reports per client"
                );
                Ok(Some(ids.into()))
            }
            Err(err) => {
                if err.class() == ErrorClass::Credentials {
                    self.remote.credentials_refused(&err).await?;
                }
                let mut listings = self.listings();
                listings.failures = listings.failures.saturating_add(1);
                let doubled =
                    RETRY_FIRST.saturating_mul(1 << listings.failures.min(16).saturating_sub(1));
                let wait = doubled
                    .min(RETRY_MAX)
                    .max(err.retry_after().unwrap_or_default());
                listings.retry_at = Some(after(now, wait));
                tracing::warn!(error = %err, retry_in = %humantime::format_duration(wait),
                    "cannot list the clients: no period is recorded for the reports per client until a listing succeeds");
                Ok(None)
            }
        }
    }

    fn listings(&self) -> std::sync::MutexGuard<'_, Listings> {
        self.listings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
