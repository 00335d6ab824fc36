//! The reads a report per client needs: each client's newest tracked period of a fan-out report
//! (where its catch-up starts), from the `client_id` column migration 0016 computes from a
//! task's parameters (a generated column on both backends).

use super::{ClientStateCount, NewestClientRequest};
use super::{Store, StoreError};

/// Every first delivery of each client's newest tracked period of report `$1`.
const NEWEST_CLIENT_REQUESTS: &str = "SELECT t.client_id, t.period_from, t.period_to, t.request
    FROM tasks AS t JOIN (
        SELECT client_id, MAX(period_from) AS newest FROM tasks
        WHERE report = $1 AND client_id IS NOT NULL GROUP BY client_id
    ) AS n ON t.client_id = n.client_id AND t.period_from = n.newest
    WHERE t.report = $1 AND t.refresh = 0";

/// Tasks of per-client reports counted per report, period and state: each client's first
/// delivery of the period (its refreshes are not more clients).
const CLIENT_STATE_COUNTS: &str = "SELECT report, period_from, period_to, state,
        COUNT(*) AS clients
    FROM tasks WHERE report = $1 AND client_id IS NOT NULL AND refresh = 0
    GROUP BY report, period_from, period_to, state
    ORDER BY period_from DESC, period_to DESC, state";

/// Per report, the tasks of its newest period that ask a `client_id` and are not done.
const CLIENTS_UNDELIVERED: &str = "SELECT t.report, COUNT(*) FROM tasks AS t JOIN (
        SELECT report, MAX(period_from) AS newest FROM tasks
        WHERE client_id IS NOT NULL GROUP BY report
    ) AS n ON t.report = n.report AND t.period_from = n.newest
    WHERE t.client_id IS NOT NULL AND t.refresh = 0 AND t.state <> 'done'
    GROUP BY t.report";

impl Store {
    /// For the metrics: per report, how many clients' tasks of its newest period are not
    /// delivered (reports whose clients all are, absent).
    pub async fn clients_undelivered(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(CLIENTS_UNDELIVERED)
            .fetch_all(&self.pool)
            .await?)
    }

    /// For `status`: the tasks of report `report` that ask a `client_id`, counted per period
    /// and state, newest period first.
    pub async fn client_state_counts(
        &self,
        report: &str,
    ) -> Result<Vec<ClientStateCount>, StoreError> {
        Ok(sqlx::query_as(CLIENT_STATE_COUNTS)
            .bind(report)
            .fetch_all(&self.pool)
            .await?)
    }

    /// For each client with a task of `report`: the first deliveries of its newest tracked
    /// period (several when the request changed, or month-to-date periods share the day).
    pub async fn newest_client_requests(
        &self,
        report: &str,
    ) -> Result<Vec<NewestClientRequest>, StoreError> {
        Ok(sqlx::query_as(NEWEST_CLIENT_REQUESTS)
            .bind(report)
            .fetch_all(&self.pool)
            .await?)
    }
}
