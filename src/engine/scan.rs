//! Walking a paginated list of remote tasks in creation order (`ordering=created_at,uuid`, a
//! key the contract enumerates), each page filtered as it arrives (memory holds one page and
//! what is kept). The walk is keyed on creation time, not on offsets that shift: after each
//! page `created_after` moves up to just below the newest task seen (whole seconds, rounded
//! down, less a second, since the contract does not say whether the bound is inclusive or how
//! precise the server's times are); the few tasks read twice are told apart by uuid. A burst of
//! tasks created within the same seconds, more than half a page, is read by offset under the
//! same `created_after` instead: new tasks land after it (ascending order), and a count that
//! drops meanwhile (a task deleted before the offset) makes the scan incomplete, an error,
//! never a silent gap. A listed item that does not decode is skipped, counted and kept aside
//! ([`Odd`]) for the caller to weigh. A page that fails for a transient reason is asked for
//! again a few times with a short backoff: restarting a long scan would never finish.

use std::collections::HashSet;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::parts::Scanner;
use super::walk::Cursor;
use crate::api::{ApiError, ErrorClass, FileTask, ListQuery, Listed, Odd, Operation, MAX_PAGE};

/// More pages than any real listing has (10 million tasks): a server whose `next` never ends.
const MAX_PAGES: u32 = 100_000;
/// How many times one page is asked for again before the scan fails (five tries in all).
const PAGE_RETRIES: usize = 4;
/// The first wait before a page is asked again; it doubles.
const PAGE_RETRY: Duration = Duration::from_millis(200);
/// Undecodable items kept for the caller; more are only counted (the scan is then ambiguous
/// for every search anyway).
const ODD_KEPT: usize = 1_000;

/// What a complete scan found: the tasks `keep` accepted, and the items that did not decode.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub tasks: Vec<FileTask>,
    pub odd: Vec<Odd>,
    /// Undecodable items seen, kept or not.
    pub odd_seen: u64,
    /// Undecodable items seen past [`ODD_KEPT`]: counted only, so each is doubt for every search.
    pub odd_unkept: u64,
}

impl Scanner {
    /// The tasks matching `query` that `keep` accepts, every page, and the odd items.
    pub(super) async fn scan(
        &self,
        query: &ListQuery,
        mut keep: impl FnMut(&FileTask) -> bool,
    ) -> Result<Listing, ApiError> {
        let mut cursor = Cursor::new(query.created_after);
        let mut odd_seen = HashSet::new();
        let mut listing = Listing::default();
        for _ in 0..MAX_PAGES {
            let ask = ListQuery {
                created_after: cursor.after(),
                ordering: Some("created_at,uuid"),
                limit: MAX_PAGE,
                offset: cursor.offset(),
                ..query.clone()
            };
            let page = self.page(&ask).await?;
            cursor.counted(page.count)?;
            let got = u64::try_from(page.results.len()).unwrap_or(u64::MAX);
            for item in page.results {
                match item {
                    Listed::Task(task) => {
                        if cursor.first_read(&task) && keep(&task) {
                            listing.tasks.push(task);
                        }
                    }
                    Listed::Odd(odd) => listing.note_odd(odd, &mut odd_seen),
                }
            }
            if page.next.is_none() || got == 0 {
                return Ok(listing);
            }
            cursor.advance(got);
        }
        Err(ApiError::BadResponse {
            op: Operation::List,
            reason: format!("more than {MAX_PAGES} pages: the listing does not end"),
        })
    }

    /// One page, asked for again after a transient failure.
    async fn page(&self, query: &ListQuery) -> Result<crate::api::Page<Listed>, ApiError> {
        let liveness = self.owner.liveness.clone();
        (|| self.client.list(query))
            .retry(page_backoff())
            .sleep(move |wait| {
                // A Retry-After pauses the client's budget itself; this only spaces tries.
                let spacing = liveness.wait("list page retry", wait);
                async move {
                    tokio::time::sleep(wait).await;
                    drop(spacing);
                }
            })
            .when(retryable)
            .notify(|e, _| {
                tracing::debug!(offset = query.offset, error = %e, "list page failed; asking for it again");
            })
            .await
    }
}

impl Listing {
    fn note_odd(&mut self, odd: Odd, seen: &mut HashSet<String>) {
        if odd.uuid.as_ref().is_some_and(|u| !seen.insert(u.clone())) {
            return; // read twice across an overlap
        }
        tracing::warn!(uuid = ?odd.uuid, reason = %odd.reason, "a listed task does not decode: skipped");
        crate::metrics::global().add_odd_listed();
        self.odd_seen += 1;
        if self.odd.len() < ODD_KEPT {
            self.odd.push(odd);
        } else {
            self.odd_unkept += 1;
        }
    }
}

/// The waits before each new ask for a page: 200 ms, doubling, no jitter, four of them.
fn page_backoff() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(PAGE_RETRY)
        .with_factor(2.0)
        .with_max_times(PAGE_RETRIES)
}

fn retryable(err: &ApiError) -> bool {
    err.class() == ErrorClass::Transient && !matches!(err, ApiError::Stopped { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    #[test]
    fn a_failed_page_is_asked_for_four_more_times_200_ms_apart_doubling() {
        // backon multiplies by an f32: a few ns more than the exact doubling.
        let waits: Vec<_> = page_backoff().build().map(|w| w.as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600]);
    }

    #[test]
    fn undecodable_items_past_those_kept_are_counted_apart_and_an_overlap_counts_once() {
        let mut listing = Listing::default();
        let mut seen = HashSet::new();
        let odd = |i: usize| Odd {
            uuid: Some(format!("u{i}")),
            created_at: None,
            parameters: None,
            reason: "invalid type".into(),
        };
        for i in 0..=ODD_KEPT {
            listing.note_odd(odd(i), &mut seen);
        }
        listing.note_odd(odd(0), &mut seen);
        assert_eq!(listing.odd.len(), ODD_KEPT);
        assert_eq!(
            (listing.odd_seen, listing.odd_unkept),
            (ODD_KEPT as u64 + 1, 1)
        );
    }

    #[test]
    fn a_stop_is_never_retried_but_a_transient_failure_is() {
        let op = crate::api::Operation::List;
        assert!(!retryable(&ApiError::Stopped { op }));
        let dropped = ApiError::Transport {
            op,
            message: "connection reset".into(),
            maybe_sent: false,
        };
        assert!(retryable(&dropped));
    }
}
