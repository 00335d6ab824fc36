//! What the application lends the engine so that nothing the engine starts outlives the
//! process's owner: the [`TaskTracker`] every task it spawns is on (hooks, the recorder of API
//! pauses), the [`Liveness`] registry its long waits register in (the application's watchdog
//! reads it), and the hook pool those tasks share across reloads. The engine says how it is
//! doing through [`Progress`] events; the application turns them into systemd's READY, STATUS
//! and STOPPING (the engine knows nothing of systemd).

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::hook_pool::HookPool;
use crate::liveness::Liveness;

/// How the engine is doing, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The database is migrated and the account checked: work starts.
    Ready(String),
    /// What it is doing now (tasks in flight, the next due report, a database error).
    Status(String),
    /// A shutdown began: in-flight work gets its grace.
    Stopping,
}

/// The tracker, liveness registry and hook pool an engine and all its clones (and reloads)
/// share. `Owner::default()` owns itself: for tools and tests that drive the engine directly.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub(super) tasks: TaskTracker,
    pub(super) liveness: Liveness,
    pub(super) hooks: Arc<HookPool>,
    /// The uploads running now, by id (see `upload`).
    pub(super) uploads: Arc<std::sync::Mutex<std::collections::BTreeSet<i64>>>,
}

impl Owner {
    /// An owner whose tasks are on `tasks` and whose waits register in `liveness`.
    pub fn new(tasks: TaskTracker, liveness: Liveness) -> Owner {
        Owner {
            tasks,
            liveness,
            hooks: Arc::default(),
            uploads: Arc::default(),
        }
    }

    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }
}

/// Where the runner says how it is doing; a closed or absent channel is ignored.
#[derive(Debug, Default)]
pub(super) struct Reporter(Option<mpsc::UnboundedSender<Progress>>);

impl Reporter {
    pub(super) fn new(events: Option<mpsc::UnboundedSender<Progress>>) -> Reporter {
        Reporter(events)
    }

    pub(super) fn say(&self, progress: Progress) {
        if let Some(events) = &self.0 {
            let _ = events.send(progress);
        }
    }
}
