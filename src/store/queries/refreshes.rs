//! The refresh schedule (issue 13, serialised by issue 19): a period's first task (refresh 0)
//! carries when the period is next asked again (`next_refresh_at`) and that refresh's number
//! (`next_refresh`). Turning it into the refresh's task moves the schedule on in the same
//! transaction, so each refresh is recorded at most once (the refresh number is part of the
//! task's identity).
//!
//! One task of a period is in flight at a time: a period with an unfinished task (its first
//! delivery, an earlier refresh, an operator's retry) is not due for a refresh, and the
//! transaction that records one checks it again (compare-and-set), whichever process looks.
//! After downtime only the latest due refresh is recorded; the ones it skips are named in an
//! event of the period's first task.

use super::events::{append, expect_changed};
use super::reads::task_columns;
use super::rows::typed;
use super::transitions::insert_intent_in;
use super::RefreshPlan;
use super::{State, Store, StoreError, TaskRow};

/// No task of the period of the outer row `tasks` is unfinished.
macro_rules! period_idle {
    () => {
        "NOT EXISTS (SELECT 1 FROM tasks a WHERE a.request = tasks.request
            AND a.state IN ('intent', 'creating', 'polling', 'downloading', 'held'))"
    };
}

pub(super) const DUE_REFRESHES: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks WHERE next_refresh_at <= $1 AND ",
    period_idle!(),
    " ORDER BY next_refresh_at LIMIT $2"
);
// The index walked in order, stopping at the first idle period (MIN() with the NOT EXISTS
// would look at every scheduled period).
pub(super) const NEXT_REFRESH_DUE: &str = concat!(
    "SELECT next_refresh_at FROM tasks WHERE next_refresh_at IS NOT NULL AND ",
    period_idle!(),
    " ORDER BY next_refresh_at LIMIT 1"
);
const MOVE_SCHEDULE: &str = concat!(
    "UPDATE tasks SET next_refresh_at = $1, next_refresh = $2
     WHERE id = $3 AND next_refresh = $4 AND ",
    period_idle!()
);

impl Store {
    /// Periods whose next refresh is due by `now` and that have no unfinished task, at most
    /// `limit`, most overdue first.
    pub async fn due_refreshes(&self, now: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
        let rows = sqlx::query_as(DUE_REFRESHES)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        typed(rows)
    }

    /// When the next refresh of a period without an unfinished task is due (a period waiting
    /// for its task is looked at again when that task ends, by the step that ends it).
    pub async fn next_refresh_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(NEXT_REFRESH_DUE)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Records the refresh `plan.new.refresh` of the period and moves its schedule to
    /// `plan.next`, in one transaction, naming the refreshes skipped in an event of the first
    /// task. `Ok(None)` when the refresh had a task already; [`StoreError::Conflict`] when the
    /// schedule moved meanwhile or the period has an unfinished task.
    pub async fn schedule_refresh(
        &self,
        plan: &RefreshPlan<'_>,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.write().await?;
        let (next_at, next_n) = plan.next.unzip();
        let affected = sqlx::query(MOVE_SCHEDULE)
            .bind(next_at)
            .bind(next_n)
            .bind(plan.anchor)
            .bind(plan.expected)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        expect_changed(affected, plan.anchor, State::Done)?;
        if !plan.skipped.is_empty() {
            let message = skipped_message(plan.skipped.clone(), plan.new.refresh);
            append(&mut tx, plan.anchor, now, Some(&message)).await?;
        }
        let id = insert_intent_in(&mut tx, plan.new, now).await?;
        if let Some(id) = id {
            let message = format!(
                "refresh {} of the period due: task recorded",
                plan.new.refresh
            );
            append(&mut tx, id, now, Some(&message)).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The period's refreshes end (its report's list no longer has refresh `expected`).
    pub async fn schedule_refresh_end(&self, anchor: i64, expected: i64) -> Result<(), StoreError> {
        let affected = sqlx::query(
            "UPDATE tasks SET next_refresh_at = NULL, next_refresh = NULL
             WHERE id = $1 AND next_refresh = $2",
        )
        .bind(anchor)
        .bind(expected)
        .execute(&self.pool)
        .await?
        .rows_affected();
        expect_changed(affected, anchor, State::Done)
    }
}

/// "refreshes 1, 2 skipped: refresh 3 was due as well …".
fn skipped_message(skipped: std::ops::Range<i64>, latest: i64) -> String {
    let numbers: Vec<String> = skipped.map(|n| n.to_string()).collect();
    let noun = if numbers.len() == 1 {
        "refresh"
    } else {
        "refreshes"
    };
    format!(
        "{noun} {} skipped: refresh {latest} was due as well (the daemon was not running at \
         their offsets); only the latest due refresh is asked",
        numbers.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::skipped_message;

    #[test]
    fn the_skipped_refreshes_are_named() {
        assert!(skipped_message(1..2, 2).starts_with("refresh 1 skipped: refresh 2 was due"));
        assert!(skipped_message(1..3, 3).starts_with("refreshes 1, 2 skipped: refresh 3"));
    }
}
