//! Supervising one hook process: `process-wrap` starts it as the leader of its own process
//! group (and kills the leader if it is dropped), its stderr is read as it comes (only the last
//! [`STDERR_KEPT`] bytes are kept, however much it writes), and it is judged by its exit status
//! as soon as it exits, even when a child it left behind keeps the stderr pipe open. Past
//! `hook_timeout`, or if the supervision is dropped (the daemon stopping), the whole group is
//! killed.

use std::process::ExitStatus;
use std::time::Duration;

use process_wrap::tokio::{ChildWrapper, CommandWrap, KillOnDrop, ProcessGroup};
use tokio::io::AsyncReadExt;
use tokio::process::ChildStderr;

/// How much of a hook's stderr is kept: the end of it.
pub(super) const STDERR_KEPT: usize = 64 * 1024;
/// After the hook exits, how long what it wrote just before may still be read from the pipe.
pub(super) const DRAIN: Duration = Duration::from_millis(200);

/// How a hook ended.
pub(super) enum Ended {
    Exited(ExitStatus, Vec<u8>),
    WaitFailed(std::io::Error),
    TimedOut,
}

/// A hook process, leader of its own group.
pub(super) struct HookChild(Box<dyn ChildWrapper>);

/// Starts `command` in a new process group whose leader it is.
pub(super) fn spawn_in_group(command: tokio::process::Command) -> std::io::Result<HookChild> {
    let mut command = CommandWrap::from(command);
    command.wrap(ProcessGroup::leader()).wrap(KillOnDrop);
    command.spawn().map(HookChild)
}

/// Waits for the hook (reading its stderr) for at most `timeout`; past it, or if this future is
/// dropped first, the hook's process group is killed.
pub(super) async fn supervise(child: HookChild, timeout: Duration) -> Ended {
    let mut group = Group {
        child: child.0,
        reaped: false,
    };
    let mut pipe = group.child.stderr().take();
    let mut tail = Tail::default();
    let run = async {
        let status = loop {
            tokio::select! {
                status = group.child.wait() => break status,
                _ = read_some(&mut pipe, &mut tail) => {}
            }
        };
        // Reaped: from now on the group id may be reused, so it is never signalled.
        group.reaped = true;
        let drain = async { while read_some(&mut pipe, &mut tail).await {} };
        let _ = tokio::time::timeout(DRAIN, drain).await;
        status
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => Ended::TimedOut,
        Ok(Err(e)) => Ended::WaitFailed(e),
        Ok(Ok(status)) => Ended::Exited(status, tail.into_bytes()),
    }
}

/// Reads what the pipe has into `tail`; false at its end (or with no pipe: then never ready).
async fn read_some(pipe: &mut Option<ChildStderr>, tail: &mut Tail) -> bool {
    let Some(stderr) = pipe.as_mut() else {
        return std::future::pending().await;
    };
    let mut buf = [0u8; 8192];
    match stderr.read(&mut buf).await {
        Ok(0) | Err(_) => {
            *pipe = None;
            false
        }
        Ok(n) => {
            tail.push(&buf[..n]);
            true
        }
    }
}

/// The last [`STDERR_KEPT`] bytes of a stream (at most twice that is ever held).
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        if self.0.len() > 2 * STDERR_KEPT {
            let cut = self.0.len() - STDERR_KEPT;
            self.0.drain(..cut);
        }
    }

    fn into_bytes(mut self) -> Vec<u8> {
        let cut = self.0.len().saturating_sub(STDERR_KEPT);
        self.0.drain(..cut);
        self.0
    }
}

/// The hook's process group, killed with SIGKILL when dropped unless its leader was reaped.
struct Group {
    child: Box<dyn ChildWrapper>,
    reaped: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        // The leader has not been reaped yet (`reaped` is set as soon as it is), so the group
        // id cannot have been reused. A group already gone (ESRCH) is what was wanted.
        if !self.reaped {
            let _ = self.child.start_kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_and_never_much_more() {
        let mut tail = Tail::default();
        for i in 0..1000u32 {
            tail.push(&[(i % 251) as u8; 1000]);
            assert!(tail.0.len() <= 2 * STDERR_KEPT + 1000);
        }
        let kept = tail.into_bytes();
        assert_eq!(kept.len(), STDERR_KEPT);
        assert_eq!(kept.last(), Some(&((999 % 251) as u8)));
    }
}
