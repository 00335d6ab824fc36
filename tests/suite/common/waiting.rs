//! Waiting on conditions instead of sleeping: poll until a check holds or yields a value,
//! failing the test with what was awaited after a limit.

use std::time::Duration;

use super::Harness;

/// Polls `check` every 20 ms until it holds, failing the test after `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = std::time::Instant::now() + limit;
    while !check().await {
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` until it yields a value, and returns it; panics naming `what` after `limit`.
pub async fn wait_for_value<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
impl Harness {
    /// Waits until there are `n` tasks, every one done.
    pub async fn wait_for_done(&self, n: usize, limit: Duration) {
        wait_for("every report delivered", limit, || async {
            self.try_status()
                .await
                .is_some_and(|rows| rows.len() == n && rows.iter().all(|r| r["state"] == "done"))
        })
        .await;
    }
}
