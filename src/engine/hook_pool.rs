//! The hooks running in an engine (shared by its clones and reloads): at most [`HOOK_SLOTS`]
//! at once, the tasks whose hook runs (a watch channel, so the end of the last one wakes
//! whoever waits for it), a wake-up for each end, and the order to kill those still running
//! past the shutdown's grace (their process groups die as their supervision is dropped).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How many hooks run at once.
pub const HOOK_SLOTS: usize = 4;
/// After the hooks still running at the end of the grace are killed, how long their tasks get
/// to notice.
const KILLED_SETTLE: Duration = Duration::from_secs(5);

/// The running hooks of an engine (shared by its clones and reloads): their slots, the tasks
/// whose hook runs, a wake-up for each end, and the order to kill those still running.
#[derive(Debug)]
pub(crate) struct HookPool {
    slots: Arc<Semaphore>,
    running: watch::Sender<BTreeSet<i64>>,
    ended: Notify,
    kill: CancellationToken,
}

impl Default for HookPool {
    fn default() -> HookPool {
        HookPool {
            slots: Arc::new(Semaphore::new(HOOK_SLOTS)),
            running: watch::Sender::new(BTreeSet::new()),
            ended: Notify::new(),
            kill: CancellationToken::new(),
        }
    }
}

impl HookPool {
    pub(super) fn is_running(&self, task: i64) -> bool {
        self.running.borrow().contains(&task)
    }

    /// How many hooks run now.
    pub(super) fn running(&self) -> usize {
        self.running.borrow().len()
    }

    pub(super) fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// A slot for one more hook, if one is free.
    pub(super) fn take_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// `task`'s hook started.
    pub(super) fn started(&self, task: i64) {
        self.running.send_modify(|running| {
            running.insert(task);
        });
    }

    /// `task`'s hook ended (or was killed): its slot is free, and the loop is woken.
    pub(super) fn finished(&self, task: i64, slot: OwnedSemaphorePermit) {
        self.running.send_modify(|running| {
            running.remove(&task);
        });
        drop(slot);
        self.ended.notify_one();
    }

    /// Resolves when the hooks still running are to be killed.
    pub(super) async fn killed(&self) {
        self.kill.cancelled().await
    }

    /// Wakes the loop as a hook's end does (an upload ended).
    pub(super) fn wake(&self) {
        self.ended.notify_one();
    }

    /// Resolves when a hook ends: a slot is free, or a one-shot run may be over.
    pub(super) async fn ended(&self) {
        self.ended.notified().await
    }

    /// Lets running hooks end until `deadline` (the end of the shutdown's grace, or of the
    /// grace after a one-shot run); past it they are killed, and run again at the next start.
    pub(super) async fn wait_until(&self, deadline: Instant) {
        let mut running = self.running.subscribe();
        let idle = running.wait_for(BTreeSet::is_empty);
        if tokio::time::timeout_at(deadline, idle).await.is_ok() {
            return;
        }
        tracing::warn!("a hook did not end within daemon.shutdown_timeout: killed (it runs again at the next start)");
        self.kill.cancel();
        let killed = running.wait_for(BTreeSet::is_empty);
        let _ = tokio::time::timeout(KILLED_SETTLE, killed).await;
    }
}
