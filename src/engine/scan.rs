//! Walking a paginated list of remote tasks: pages of [`MAX_PAGE`] in creation order, each
//! filtered as it arrives (memory holds one page and what is kept). A page that fails for a
//! transient reason is asked for again, at the same offset, a few times with a short backoff:
//! with small pages and a few per cent of faults, restarting a long scan from offset 0 would
//! never finish.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::Engine;
use crate::api::{ApiError, ErrorClass, FileTask, ListQuery, MAX_PAGE};

/// More pages than any real listing has (10 million tasks): a server whose `next` never ends.
const MAX_PAGES: u32 = 100_000;
/// How many times one page is asked for again before the scan fails (five tries in all).
const PAGE_RETRIES: usize = 4;
/// The first wait before a page is asked again; it doubles.
const PAGE_RETRY: Duration = Duration::from_millis(200);

impl Engine {
    /// The tasks matching `query` that `keep` accepts, every page.
    pub(super) async fn scan(
        &self,
        query: &ListQuery,
        mut keep: impl FnMut(&FileTask) -> bool,
    ) -> Result<Vec<FileTask>, ApiError> {
        let mut query = ListQuery {
            limit: MAX_PAGE,
            offset: 0,
            ..query.clone()
        };
        let mut kept = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.page(&query).await?;
            let got = u64::try_from(page.results.len()).unwrap_or(u64::MAX);
            kept.extend(page.results.into_iter().filter(|task| keep(task)));
            if page.next.is_none() || got == 0 {
                return Ok(kept);
            }
            query.offset = query.offset.saturating_add(got);
        }
        Err(ApiError::BadResponse {
            op: crate::api::Operation::List,
            reason: format!("more than {MAX_PAGES} pages: the listing does not end"),
        })
    }

    /// One page, asked for again after a transient failure.
    async fn page(&self, query: &ListQuery) -> Result<crate::api::Page<FileTask>, ApiError> {
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
