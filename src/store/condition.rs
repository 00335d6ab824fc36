//! Daemon-wide conditions as the store records them (see `queries/conditions` for the
//! statements): their kinds, a typed row with the version a compare-and-set compares, and which
//! one holds the unsent periods back.

use super::StoreError;

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

    pub(super) fn parse(value: &str) -> Result<ConditionKind, StoreError> {
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
pub(super) struct RawCondition {
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
