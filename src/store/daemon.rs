//! Daemon-wide state rows (`daemon_state`): conditions that are not about one task, such as the
//! API refusing the credentials, kept in SQLite so `status` can show them and a restart keeps
//! honouring them.

use super::{Store, StoreError};

/// A daemon-wide condition and until when it holds.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Condition {
    pub key: String,
    pub value: String,
    pub until_at: Option<i64>,
    pub updated_at: i64,
}

/// The key under which a credentials refusal is recorded.
pub const AUTH_BLOCKED: &str = "auth_blocked";

/// The key under which an API-wide pause (a server's `Retry-After`) is recorded.
pub const API_PAUSED: &str = "api_paused";

impl Store {
    /// Records (or replaces) a condition.
    pub async fn set_condition(
        &self,
        key: &str,
        value: &str,
        until_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO daemon_state (key, value, until_at, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, until_at = excluded.until_at,
                updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(until_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a condition (it no longer holds).
    pub async fn clear_condition(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM daemon_state WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One condition, if recorded.
    pub async fn condition(&self, key: &str) -> Result<Option<Condition>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT key, value, until_at, updated_at FROM daemon_state WHERE key = ?",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every recorded condition.
    pub async fn conditions(&self) -> Result<Vec<Condition>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT key, value, until_at, updated_at FROM daemon_state ORDER BY key",
            )
            .fetch_all(&self.pool)
            .await?,
        )
    }
}
