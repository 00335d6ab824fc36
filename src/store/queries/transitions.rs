//! The two changes of a task made before the state machine takes over (`apply`): a due period
//! recorded as an intent, and intents marked "maybe sent" in bulk right before their creates
//! leave. Each follows the rule of `events`: one transaction, compare-and-set on the state the
//! caller read the task in, the event appended in the same transaction.

use super::events::{append, append_many, id_list};
use super::{canonical_request, NewTask, Store, StoreError};

/// Marks the rows of ?3 (an id array) still `intent` or `creating` as `creating` at ?1, to be
/// reconciled from ?2 on, their `polling.deadline` running from this mark (?4). `NOT INDEXED`:
/// each row is looked up by id (see `bulk`), not found by walking every intent.
pub(super) const BEGIN_CREATES: &str = if super::POSTGRES {
    "UPDATE tasks SET state = 'creating', intent_at = $1, next_attempt_at = $2,
        deadline_at = $4, updated_at = $1
     WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text($3::jsonb) AS j(value))
        AND state IN ('intent', 'creating')
     RETURNING id"
} else {
    "UPDATE tasks NOT INDEXED SET state = 'creating', intent_at = $1, next_attempt_at = $2,
        deadline_at = $4, updated_at = $1
     WHERE id IN (SELECT value FROM json_each($3)) AND state IN ('intent', 'creating')
     RETURNING id"
};

impl Store {
    /// Records a due period as an intent; `None` if its request already has a task.
    pub async fn insert_intent(&self, new: &NewTask, now: i64) -> Result<Option<i64>, StoreError> {
        let ids = self.insert_intents(std::slice::from_ref(new), now).await?;
        Ok(ids.into_iter().next().flatten())
    }

    /// Records many due periods in one transaction (one fsync); `None` for each whose request
    /// (with its refresh number) already had a task.
    pub async fn insert_intents(
        &self,
        news: &[NewTask],
        now: i64,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut tx = self.write().await?;
        let mut ids = Vec::with_capacity(news.len());
        for new in news {
            let id = insert_intent_in(&mut tx, new, now).await?;
            if let Some(id) = id {
                append(&mut tx, id, now, Some("period due: task recorded")).await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Marks that creates are about to be sent for `ids` (each in `intent`, or `creating` when
    /// the server certainly has no task from the earlier try): from now on their outcome must
    /// be reconciled, and not before `now + settle` (the settle window counts from this durable
    /// mark, whichever process looks next). The attempt's `polling.deadline` (`deadline_ms`)
    /// counts from this mark too: a period never sent has no deadline, however long the API
    /// keeps it waiting. Returns the ids marked; a row another process changed meanwhile (or
    /// whose lease this host no longer holds long enough, see `leases`) is left out. This commit is forced to disk (`synchronous = FULL`,
    /// which also flushes every earlier commit of the WAL): after a power loss the daemon must
    /// still know that a create may have been sent. Other commits use `NORMAL`.
    pub async fn begin_creates(
        &self,
        ids: &[i64],
        settle_ms: i64,
        deadline_ms: i64,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        let windows = (settle_ms, deadline_ms);
        if super::POSTGRES {
            // Every PostgreSQL commit is durable (`synchronous_commit`, on by default).
            return self.begin_creates_on(&mut conn, ids, windows, now).await;
        }
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await?;
        let result = self.begin_creates_on(&mut conn, ids, windows, now).await;
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await?;
        result
    }

    /// Marks the creates of `ids` this host may send: under a lease that outlives a create's
    /// deadline (see `leases`), so no other host reconciles one still in flight.
    async fn begin_creates_on(
        &self,
        conn: &mut super::Conn,
        ids: &[i64],
        (settle_ms, deadline_ms): (i64, i64),
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = sqlx::Connection::begin_with(&mut *conn, super::BEGIN_WRITE).await?;
        let margin = self.holder().map_or(0, |h| h.create_margin_ms);
        let ids = self.held(&mut tx, ids, margin).await?;
        let marked: Vec<i64> = sqlx::query_scalar(BEGIN_CREATES)
            .bind(now)
            .bind(now.saturating_add(settle_ms))
            .bind(id_list(&ids))
            .bind(now.saturating_add(deadline_ms))
            .fetch_all(&mut *tx)
            .await?;
        let deadline_at = now.saturating_add(deadline_ms);
        super::attempts::begin(&mut tx, &marked, now, deadline_at).await?;
        append_many(&mut tx, &marked, now, Some("creating the remote task")).await?;
        tx.commit().await?;
        Ok(marked)
    }
}

/// Records one due period (in the caller's transaction); `None` if it already has a task.
pub(super) async fn insert_intent_in(
    conn: &mut super::Conn,
    new: &NewTask,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let parameters = serde_json::Value::Object(new.parameters.clone()).to_string();
    Ok(sqlx::query_scalar(
        "INSERT INTO tasks (report, period_from, period_to, template, format, parameters,
            file_name, state, next_attempt_at, deadline_at, created_at, updated_at, request,
            refresh, settings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', $8, $9, $8, $8, $10, $11, $12)
         ON CONFLICT (request, refresh) DO NOTHING
         RETURNING id",
    )
    .bind(&new.report)
    .bind(&new.period_from)
    .bind(&new.period_to)
    .bind(&new.template)
    .bind(new.format.as_str())
    .bind(parameters)
    .bind(&new.file_name)
    .bind(now)
    .bind(new.deadline_at)
    .bind(canonical_request(&new.template, &new.parameters))
    .bind(new.refresh)
    .bind(new.settings.as_deref())
    .fetch_optional(&mut *conn)
    .await?)
}
