//! Walking a paginated list of remote tasks: pages of [`MAX_PAGE`] in creation order, each
//! filtered as it arrives (memory holds one page and what is kept). A page that fails for a
//! transient reason is asked for again, at the same offset, a few times with a short backoff:
//! with small pages and a few per cent of faults, restarting a long scan from offset 0 would
//! never finish.

use std::time::Duration;

use super::Engine;
use crate::api::{ApiError, ErrorClass, FileTask, ListQuery, MAX_PAGE};

/// More pages than any real listing has (10 million tasks): a server whose `next` never ends.
const MAX_PAGES: u32 = 100_000;
/// How many times one page is asked for before the scan fails.
const PAGE_TRIES: u32 = 5;
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
        let mut wait = PAGE_RETRY;
        let mut tries = 1;
        loop {
            match self.client.list(query).await {
                Ok(page) => return Ok(page),
                Err(e) if retryable(&e) && tries < PAGE_TRIES => {
                    tracing::debug!(offset = query.offset, error = %e, "list page failed; asking for it again");
                    // A Retry-After pauses the client's budget itself; this only spaces tries.
                    let _spacing = self.owner.liveness.wait("list page retry", wait);
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn retryable(err: &ApiError) -> bool {
    err.class() == ErrorClass::Transient && !matches!(err, ApiError::Stopped { .. })
}
