//! One database, one Gcore account. The database remembers the `client_id` the API puts on
//! its tasks (never the key, nor anything derived from it) from the first task it adopts. A
//! key for another account cannot see the database's tasks: every poll would answer 404 and
//! each tracked task would turn `lost`. So the account is checked when the engine starts and
//! again before a 404 is believed; another account's key is refused with a clear error (the
//! condition also shows in `status`) and nothing is marked lost.

use std::sync::atomic::Ordering;

use super::parts::Remote;
use super::EngineError;
use crate::api::{ApiError, ErrorClass, FileTask, ListQuery, Listed};
use crate::store::{ConditionKind, NewCondition};

/// What a reload's new key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyCheck {
    Accepted,
    Refused,
    /// Not known yet (the API paused or did not answer): the reload waits.
    Later,
}

/// What the key's account is, as far as the API shows it.
enum Seen {
    /// The database's own account (or nothing to compare with).
    Ours,
    /// Another account: its `client_id`, when a task showed it.
    Other(Option<i64>),
}

impl Remote {
    /// At start: refuses a key that is another account's than the database's.
    pub(super) async fn check_account(&self) -> Result<(), EngineError> {
        // A refused key or a pause the API asked for holds back every request, this one too;
        // the check before a 404 is believed still applies.
        let now = self.shared.now();
        for kind in [ConditionKind::AuthBlocked, ConditionKind::ApiPaused] {
            let condition = self.shared.store.condition(kind).await?;
            if condition
                .and_then(|c| c.until_at)
                .is_some_and(|until| until > now)
            {
                return Ok(());
            }
        }
        match self.seen_account(true).await? {
            Some(Seen::Ours) => {
                let recorded = self
                    .shared
                    .store
                    .condition(ConditionKind::WrongAccount)
                    .await?;
                if let Some(wrong) = recorded {
                    self.shared.store.clear_condition(&wrong).await?;
                }
                Ok(())
            }
            Some(Seen::Other(found)) => self.refuse_account(found).await,
            // No answer now (a transient fault, refused credentials): the work goes on under
            // its own handling, and a 404 is checked again before it is believed.
            None => Ok(()),
        }
    }

    /// After a reload that brought a new key: whether it is the database's account's. The
    /// gates of [`Remote::check_account`] do not apply: a recorded refusal was the old key's.
    /// Another account's key refuses the reload as a whole (the previous key and configuration
    /// keep working; nothing is created in the other account). While the API asks to wait, or
    /// when it does not answer, the check is left for later and the reload waits with it.
    pub(super) async fn check_new_key(&self) -> Result<KeyCheck, EngineError> {
        if self.api_pause(self.shared.now()).await?.is_some() {
            return Ok(KeyCheck::Later);
        }
        match self.seen_account(true).await? {
            Some(Seen::Ours) => Ok(KeyCheck::Accepted),
            Some(Seen::Other(found)) => {
                let expected = self.account.load(Ordering::Relaxed);
                let err = EngineError::WrongAccount { expected, found };
                tracing::error!(
                    "new config refused: {err}; the previous key and config stay in force"
                );
                Ok(KeyCheck::Refused)
            }
            None => {
                tracing::warn!("the new API key's account cannot be checked now (no answer): the reload waits for the next wake-up");
                Ok(KeyCheck::Later)
            }
        }
    }

    /// Before a 404 turns a task `lost`: Ok unless the key is another account's.
    pub(super) async fn confirm_account_before_lost(&self) -> Result<(), EngineError> {
        match self.seen_account(false).await? {
            Some(Seen::Other(found)) => self.refuse_account(found).await,
            _ => Ok(()),
        }
    }

    /// Remembers the account a remote task shows; refuses one that is not the database's.
    pub(super) async fn note_account(&self, remote: &FileTask) -> Result<(), EngineError> {
        let Some(client_id) = remote.client_id else {
            return Ok(());
        };
        let known = match self.account.load(Ordering::Relaxed) {
            0 => {
                self.shared
                    .store
                    .remember_account(client_id, self.shared.now())
                    .await?
            }
            known => known,
        };
        self.account.store(known, Ordering::Relaxed);
        if known == client_id {
            return Ok(());
        }
        self.refuse_account(Some(client_id)).await
    }

    /// Whether the key sees the database's account (`None`: the API did not answer). The
    /// newest tracked task (an unfinished one first) is retrieved; if the API does not know
    /// it, the key's own newest task, if any, shows the key's account. A key that lists no
    /// task at all cannot be told apart from the database's account whose tasks were deleted:
    /// at start (`strict`) it is refused when the task it does not know is unfinished (such a
    /// task must exist); before a 404 is believed it is given the benefit of the doubt.
    async fn seen_account(&self, strict: bool) -> Result<Option<Seen>, EngineError> {
        let Some(known) = self.shared.store.account().await? else {
            self.learn_account().await?;
            return Ok(Some(Seen::Ours));
        };
        self.account.store(known, Ordering::Relaxed);
        let unknown_active = match self.shared.store.newest_remote_uuid().await? {
            None => false,
            Some((uuid, active)) => match self.client.retrieve(&uuid).await {
                Ok(task) => return Ok(Some(compare(known, task.client_id))),
                Err(e) if e.class() == ErrorClass::NotFound => active,
                Err(e) => return Ok(unanswered(&e)),
            },
        };
        let query = ListQuery {
            ordering: Some("-created_at"),
            limit: 1,
            ..ListQuery::default()
        };
        let page = match self.client.list(&query).await {
            Ok(page) => page,
            Err(e) => return Ok(unanswered(&e)),
        };
        Ok(Some(
            match page
                .results
                .first()
                .and_then(Listed::task)
                .and_then(|t| t.client_id)
            {
                Some(shown) => compare(known, Some(shown)),
                None if strict && unknown_active => Seen::Other(None),
                None => Seen::Ours,
            },
        ))
    }

    /// A database from before accounts were remembered learns its account from its newest
    /// tracked task, if the API still has it.
    async fn learn_account(&self) -> Result<(), EngineError> {
        let Some((uuid, _)) = self.shared.store.newest_remote_uuid().await? else {
            return Ok(());
        };
        match self.client.retrieve(&uuid).await {
            Ok(task) => self.note_account(&task).await,
            Err(e) => {
                unanswered(&e);
                Ok(())
            }
        }
    }

    async fn refuse_account(&self, found: Option<i64>) -> Result<(), EngineError> {
        let expected = self.account.load(Ordering::Relaxed);
        let err = EngineError::WrongAccount { expected, found };
        tracing::error!("{err}");
        let reason = err.to_string();
        let wrong = NewCondition {
            reason: &reason,
            ..NewCondition::default()
        };
        self.shared
            .store
            .record_condition(ConditionKind::WrongAccount, &wrong, self.shared.now())
            .await?;
        Err(err)
    }
}

fn compare(known: i64, shown: Option<i64>) -> Seen {
    match shown {
        Some(c) if c != known => Seen::Other(Some(c)),
        _ => Seen::Ours,
    }
}

fn unanswered(e: &ApiError) -> Option<Seen> {
    tracing::debug!(error = %e, "cannot check the account now");
    None
}
