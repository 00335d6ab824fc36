//! `GET /billing/org/v1/reports/templates`: the report templates the account may request,
//! read page by page (`limit`/`offset`, the API's largest page) until the listing ends, with a
//! bound on the pages so that a server whose `next` never ends cannot keep the daemon reading.

use super::{ApiError, Client, Operation, Page, Template, MAX_PAGE, REPORTS_PATH};

impl Client {
    /// `GET /billing/org/v1/reports/templates`: every template, all pages.
    pub async fn templates(&self) -> Result<Vec<Template>, ApiError> {
        let op = Operation::Templates;
        let mut offset = 0u64;
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let request = self
                .http
                .get(self.url(&format!("{REPORTS_PATH}/templates")))
                .query(&[
                    ("limit", MAX_PAGE.to_string()),
                    ("offset", offset.to_string()),
                ]);
            let page: Page<Template> = self.json(op, request).await?;
            offset = offset.saturating_add(page.results.len() as u64);
            let done = page.next.is_none() || page.results.is_empty();
            all.extend(page.results);
            if done {
                return Ok(all);
            }
        }
        Err(too_many_pages(op))
    }
}

/// More pages than any real listing has: a server whose `next` never ends.
const MAX_PAGES: usize = 100_000;

fn too_many_pages(op: Operation) -> ApiError {
    ApiError::BadResponse {
        op,
        reason: format!("more than {MAX_PAGES} pages: the listing does not end"),
    }
}
