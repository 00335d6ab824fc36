//! Daemon-wide conditions (`conditions`): what holds every API call back, not one task — a
//! pause the API asked for, a refused key, another account's key — kept in SQLite so `status`
//! can show them and a restart keeps honouring them. Each is a typed row with a version: a
//! clear or a rewrite applies only to the version its caller read (compare-and-set), so a
//! condition recorded meanwhile (a new `Retry-After`, a new refusal) is never lost.

use super::{Store, StoreError};

/// Which condition a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionKind {
    /// A server's `Retry-After` (on a 429 or 503): no request before `until_at`.
    ApiPaused,
    /// The API refused the key (401/403): no request before `until_at`, unless the key with
    /// `key_fingerprint` has been replaced.
    AuthBlocked,
    /// The key is another Gcore account's than the database's.
    WrongAccount,
}

impl ConditionKind {
    pub const ALL: [ConditionKind; 3] = [
        ConditionKind::ApiPaused,
        ConditionKind::AuthBlocked,
        ConditionKind::WrongAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConditionKind::ApiPaused => "api_paused",
            ConditionKind::AuthBlocked => "auth_blocked",
            ConditionKind::WrongAccount => "wrong_account",
        }
    }

    fn parse(value: &str) -> Result<ConditionKind, StoreError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| StoreError::BadCondition {
                kind: value.to_string(),
            })
    }
}

/// A daemon-wide condition as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Condition {
    pub kind: ConditionKind,
    /// What the API said (never the key).
    pub reason: String,
    /// Until when it holds the API calls back; `None`: until cleared.
    pub until_at: Option<i64>,
    /// The refused key's fingerprint (`auth_blocked`), never the key.
    pub key_fingerprint: Option<String>,
    /// When it began; a renewal keeps it.
    pub since: i64,
    pub updated_at: i64,
    /// Bumped by every change: what a compare-and-set compares.
    pub version: i64,
}

impl Condition {
    /// Why periods not yet sent are waiting while this condition is recorded, for `status`
    /// ("waiting since …: the API refused the key"). Every kind holds the creates back until
    /// the engine clears it.
    pub fn why_waiting(&self) -> String {
        match self.kind {
            ConditionKind::ApiPaused => {
                format!("the API asked us to wait (429/503): {}", self.reason)
            }
            ConditionKind::AuthBlocked => match &self.key_fingerprint {
                Some(key) => format!("the API refused the key ({key})"),
                None => "the API refused the key".to_string(),
            },
            ConditionKind::WrongAccount => "the API key is another account's".to_string(),
        }
    }
}

/// The condition that keeps unsent periods waiting at `now`, if any: of those still in force
/// (no end, or an end after `now`), the one recorded first (a refused key before the pauses it
/// brings). One whose end has passed holds nothing back: the next request tries again.
pub fn holding_back(conditions: &[Condition], now: i64) -> Option<&Condition> {
    conditions
        .iter()
        .filter(|c| c.until_at.is_none_or(|until| until > now))
        .min_by_key(|c| c.since)
}

/// What to record for a condition.
#[derive(Debug, Clone, Default)]
pub struct NewCondition<'a> {
    pub reason: &'a str,
    pub until_at: Option<i64>,
    pub key_fingerprint: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
struct RawCondition {
    kind: String,
    reason: String,
    until_at: Option<i64>,
    key_fingerprint: Option<String>,
    since: i64,
    updated_at: i64,
    version: i64,
}

impl TryFrom<RawCondition> for Condition {
    type Error = StoreError;

    fn try_from(raw: RawCondition) -> Result<Condition, StoreError> {
        Ok(Condition {
            kind: ConditionKind::parse(&raw.kind)?,
            reason: raw.reason,
            until_at: raw.until_at,
            key_fingerprint: raw.key_fingerprint,
            since: raw.since,
            updated_at: raw.updated_at,
            version: raw.version,
        })
    }
}

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
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (kind) DO UPDATE SET reason = excluded.reason,
                until_at = excluded.until_at, key_fingerprint = excluded.key_fingerprint,
                updated_at = excluded.updated_at, version = version + 1
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
            "UPDATE conditions SET reason = ?1, until_at = ?2, updated_at = ?3,
                version = version + 1
             WHERE kind = ?4 AND version = ?5",
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
        let affected = sqlx::query("DELETE FROM conditions WHERE kind = ? AND version = ?")
            .bind(read.kind.as_str())
            .bind(read.version)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(affected == 1)
    }

    /// One condition, if recorded.
    pub async fn condition(&self, kind: ConditionKind) -> Result<Option<Condition>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM conditions WHERE kind = ?");
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
