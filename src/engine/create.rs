//! Creating a remote task exactly once per attempt. The intent row is committed first and the
//! state set to `creating` before the `POST`; a `creating` task found later (after a timeout, a
//! 5xx, or a crash) is first looked for on the server and adopted, and only created again when
//! the server certainly does not have it.

use serde_json::{Map, Value};

use super::{backoff, ms, now_ms, Engine, EngineError};
use crate::api::{ApiError, CreateReport, ErrorClass, FileTask, ListQuery};
use crate::crashpoint;
use crate::store::{RemoteTask, State, TaskRow};

/// How far before the intent time a matching task may have been created (clock skew).
const SKEW_MS: i64 = 10 * 60 * 1000;

impl Engine {
    /// One create step for a task in `intent` or `creating`.
    pub(super) async fn create(&self, task: &TaskRow) -> Result<(), EngineError> {
        let parameters: Map<String, Value> =
            serde_json::from_str(&task.parameters).unwrap_or_default();
        if task.state() == State::Creating {
            let candidates = match self.candidates(task, &parameters).await {
                Ok(candidates) => candidates,
                Err(err) => return self.retry_later(task, &err).await,
            };
            for remote in candidates {
                if !self.store.uuid_known(&remote.uuid).await? {
                    let how = "found after an unknown create outcome: adopted";
                    return self.adopt(task, &remote, how).await;
                }
            }
            tracing::info!("the server has no task from the earlier create: creating");
        } else {
            // `work_due` marked this task `creating`, durably, before the step began.
            crashpoint::hit("create.before_post");
        }
        let body = CreateReport {
            template_code: &task.template,
            parameters: &parameters,
        };
        match self.client.create(&body).await {
            Ok(created) => {
                crashpoint::hit("create.after_post");
                self.adopt(task, &created, "created").await
            }
            Err(err) => self.create_failed(task, err).await,
        }
    }

    /// Records a remote task as this period's current attempt.
    async fn adopt(&self, task: &TaskRow, remote: &FileTask, how: &str) -> Result<(), EngineError> {
        let now = now_ms();
        let next = now + ms(backoff::poll_delay(&self.config.polling, 0));
        let message = format!("{how}: remote task {} ({})", remote.uuid, remote.status);
        tracing::Span::current().record("task_uuid", remote.uuid.as_str());
        tracing::info!(status = %remote.status, "{how}");
        let record = RemoteTask {
            uuid: &remote.uuid,
            status: remote.status.as_str(),
            created_at: remote.created_at.as_millisecond(),
        };
        self.store
            .record_created(task.id, &record, next, now, &message)
            .await?;
        crashpoint::hit("create.recorded");
        self.note_account(remote).await
    }

    async fn create_failed(&self, task: &TaskRow, err: ApiError) -> Result<(), EngineError> {
        match err.class() {
            ErrorClass::Permanent | ErrorClass::NotFound => {
                let reason = format!("the API refused to create the report: {err}");
                tracing::error!(error = %err, "create rejected; fix the report's template or parameters");
                self.end_task(task, State::Failed, &reason).await
            }
            // The task stays `creating`: the next try looks for it on the server first, after
            // `api.create_settle` when the create may have reached the server.
            ErrorClass::Transient if err.outcome_unknown() => {
                let polling = &self.config.polling;
                let settle = self.config.api.create_settle;
                let delay = backoff::retry_delay(polling, task.tries + 1, err.retry_after());
                let message = format!(
                    "{err}; the create may have reached the server: looking for its task in {}",
                    humantime::format_duration(delay.max(settle))
                );
                self.reschedule(task, delay.max(settle), &message).await
            }
            ErrorClass::Credentials | ErrorClass::Transient => self.retry_later(task, &err).await,
        }
    }

    /// Tasks on the server that a create for `task` may have made: same template and
    /// parameters, created since shortly before the intent. The caller skips known uuids.
    async fn candidates(
        &self,
        task: &TaskRow,
        parameters: &Map<String, Value>,
    ) -> Result<Vec<FileTask>, ApiError> {
        let since = task.intent_at.unwrap_or(task.created_at) - SKEW_MS;
        let query = ListQuery {
            created_after: jiff::Timestamp::from_millisecond(since).ok(),
            template: Some(task.template.clone()),
            ordering: Some("created_at"),
            ..ListQuery::default()
        };
        self.client
            .list_kept(&query, |remote| {
                matches_request(remote, &task.template, parameters)
            })
            .await
    }
}

/// Whether a remote task is the one a create with these template and parameters made: every
/// parameter we sent is echoed with the same value, and `type`, when present, is the template.
fn matches_request(remote: &FileTask, template: &str, sent: &Map<String, Value>) -> bool {
    let Some(echoed) = &remote.parameters else {
        return false;
    };
    if let Some(kind) = echoed.get("type").and_then(Value::as_str) {
        if kind != template {
            return false;
        }
    }
    sent.iter().all(|(k, v)| echoed.get(k) == Some(v))
}
