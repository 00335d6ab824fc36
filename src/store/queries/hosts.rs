//! The hosts sharing the database and their leases (see `leases`): joining (a fresh lease
//! id), the heartbeat's renewal, leaving at a clean stop (its tasks free for the others at
//! once), and the list `status` shows. All on the database's clock, so hosts whose clocks
//! disagree still agree on whose lease is live.

use super::leases::{db_now, on_db_clock};
use super::{HostRow, Store, StoreError};

const JOIN: &str = on_db_clock!(
    "INSERT INTO hosts (id, name, pid, started_at, last_seen, lease_until)
     VALUES ($1, $2, $3, ",
    NOW,
    ", ",
    NOW,
    ", ",
    NOW,
    " + $4)
     ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen,
        lease_until = excluded.lease_until"
);

/// Hosts gone for a week with no unfinished task leased are forgotten.
const FORGET_GONE: &str = on_db_clock!(
    "DELETE FROM hosts WHERE lease_until < ",
    NOW,
    " - 604800000
        AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.lease_owner = hosts.id
            AND t.state IN ('intent', 'creating', 'polling', 'downloading'))"
);

const RENEW: &str = on_db_clock!(
    "UPDATE hosts SET last_seen = ",
    NOW,
    ", lease_until = ",
    NOW,
    " + $2 WHERE id = $1 AND lease_until > ",
    NOW
);

const END_LEASE: &str = on_db_clock!("UPDATE hosts SET lease_until = ", NOW, " WHERE id = $1");

const HOSTS: &str = on_db_clock!(
    "SELECT h.id, h.name, h.pid, h.started_at, h.last_seen, h.lease_until, ",
    NOW,
    " AS db_now, (SELECT COUNT(*) FROM tasks t WHERE t.lease_owner = h.id
        AND t.state IN ('intent', 'creating', 'polling', 'downloading')) AS leased
     FROM hosts h ORDER BY h.last_seen DESC, h.id"
);

const LIVE_HOSTS: &str = on_db_clock!("SELECT COUNT(*) FROM hosts WHERE lease_until > ", NOW);

impl Store {
    /// Records this host's lease (`id`, held by process `pid` on `name`) for `lease_ms`, and
    /// forgets hosts long gone.
    pub async fn join_hosts(
        &self,
        id: &str,
        name: &str,
        pid: i64,
        lease_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(JOIN)
            .bind(id)
            .bind(name)
            .bind(pid)
            .bind(lease_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(FORGET_GONE).execute(&mut *tx).await?;
        Ok(tx.commit().await?)
    }

    /// Renews lease `id` for `lease_ms` from the database's now; false if it had lapsed (it
    /// stays lapsed: the host must join again under a new id).
    pub async fn renew_host_lease(&self, id: &str, lease_ms: i64) -> Result<bool, StoreError> {
        let renewed = sqlx::query(RENEW)
            .bind(id)
            .bind(lease_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(renewed > 0)
    }

    /// Ends lease `id` now (a clean stop): its unfinished tasks are free for the other hosts
    /// at once, each left in the state its last change recorded. How many were leased.
    pub async fn leave_hosts(&self, id: &str) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let released = sqlx::query("UPDATE tasks SET lease_owner = NULL WHERE lease_owner = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(END_LEASE).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// Ends lease `id` now, its tasks left carrying it: to the other hosts it is a host that
    /// died. (Tests backdate a lease with it.)
    pub async fn end_host_lease(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(END_LEASE).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Hands the hooks lease `old` is running to lease `new` (the same process, joined again
    /// after a lapse), unless another host re-armed them meanwhile; how many.
    pub async fn move_running_hooks(&self, old: &str, new: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE tasks SET hook_owner = $2 WHERE hook_owner = $1 AND hook_state = 'running'",
        )
        .bind(old)
        .bind(new)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Every host known to the database, most recently seen first.
    pub async fn hosts(&self) -> Result<Vec<HostRow>, StoreError> {
        Ok(sqlx::query_as::<_, HostRow>(HOSTS)
            .fetch_all(&self.pool)
            .await?)
    }

    /// How many hosts hold a live lease now.
    pub async fn live_hosts(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(LIVE_HOSTS).fetch_one(&self.pool).await?)
    }
}
