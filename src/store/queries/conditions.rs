//! Daemon-wide conditions (`conditions`): what holds every API call back, not one task — a
//! pause the API asked for, a refused key, another account's key — kept in the database so
//! `status` can show them and a restart keeps honouring them. Each is a typed row with a
//! version: a clear or a rewrite applies only to the version its caller read (compare-and-set),
//! so a condition recorded meanwhile (a new `Retry-After`, a new refusal) is never lost.

use super::{Condition, ConditionKind, NewCondition, RawCondition};
use super::{Store, StoreError};

const COLUMNS: &str = "kind, reason, until_at, key_fingerprint, since, updated_at, version";

impl Store {
    /// Records a condition, or renews one in force (its `since` kept, its version bumped);
    /// returns the row as recorded.
    pub async fn record_condition(
        &self,
        kind: ConditionKind,
        new: &NewCondition<'_>,
        now: i64,
    ) -> Result<Condition, StoreError> {
        let sql = format!(
            "INSERT INTO conditions (kind, reason, until_at, key_fingerprint, since, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (kind) DO UPDATE SET reason = excluded.reason,
                until_at = excluded.until_at, key_fingerprint = excluded.key_fingerprint,
                updated_at = excluded.updated_at, version = conditions.version + 1
             RETURNING {COLUMNS}"
        );
        let raw: RawCondition = sqlx::query_as(&sql)
            .bind(kind.as_str())
            .bind(new.reason)
            .bind(new.until_at)
            .bind(new.key_fingerprint)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        raw.try_into()
    }

    /// Moves the end of the condition `read` to `until_at` (with `reason`), if it is still as
    /// read; false if it changed or was cleared meanwhile (then it is left as it is).
    pub async fn shorten_condition(
        &self,
        read: &Condition,
        reason: &str,
        until_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let affected = sqlx::query(
            "UPDATE conditions SET reason = $1, until_at = $2, updated_at = $3,
                version = version + 1
             WHERE kind = $4 AND version = $5",
        )
        .bind(reason)
        .bind(until_at)
        .bind(now)
        .bind(read.kind.as_str())
        .bind(read.version)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(affected == 1)
    }

    /// Clears the condition `read` (it no longer holds), if it is still as read; false if it
    /// was renewed or cleared meanwhile (a renewal stays in force).
    pub async fn clear_condition(&self, read: &Condition) -> Result<bool, StoreError> {
        let affected = sqlx::query("DELETE FROM conditions WHERE kind = $1 AND version = $2")
            .bind(read.kind.as_str())
            .bind(read.version)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(affected == 1)
    }

    /// One condition, if recorded.
    pub async fn condition(&self, kind: ConditionKind) -> Result<Option<Condition>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM conditions WHERE kind = $1");
        let raw: Option<RawCondition> = sqlx::query_as(&sql)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?;
        raw.map(Condition::try_from).transpose()
    }

    /// How many periods are not sent yet (`intent`, or `creating` awaiting their reconcile),
    /// and when the oldest of them was recorded.
    pub async fn unsent_periods(&self) -> Result<(i64, Option<i64>), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM tasks WHERE state IN ('intent', 'creating')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every recorded condition.
    pub async fn conditions(&self) -> Result<Vec<Condition>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM conditions ORDER BY kind");
        let raws: Vec<RawCondition> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        raws.into_iter().map(Condition::try_from).collect()
    }
}
