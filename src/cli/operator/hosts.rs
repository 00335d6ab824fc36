//! What `status` says of the hosts sharing a PostgreSQL database (issue 23): above the table,
//! one line per host seen in the last day or still holding tasks: whether its lease is live,
//! when it was last seen (by the database's clock), and how many unfinished tasks it holds.
//! Nothing is printed on SQLite, whose one host holds no lease.

use crate::store::{HostRow, Store, StoreError};

/// Hosts gone longer than this and holding nothing are not listed.
const SHOWN_FOR_MS: i64 = 24 * 3600 * 1000;

/// One line per host for `status`, empty when there are none.
pub async fn status_lines(store: &Store) -> Result<String, StoreError> {
    if !store.is_postgres() {
        return Ok(String::new());
    }
    let mut out = String::new();
    for host in store.hosts().await? {
        if host.leased == 0 && host.db_now - host.last_seen > SHOWN_FOR_MS {
            continue;
        }
        out.push_str(&line(&host));
    }
    Ok(out)
}

fn line(host: &HostRow) -> String {
    let ago = |ms: i64| {
        humantime::format_duration(std::time::Duration::from_secs((ms / 1000).max(0) as u64))
    };
    let state = if host.lease_until > host.db_now {
        "live".to_string()
    } else {
        format!("lease ended {} ago", ago(host.db_now - host.lease_until))
    };
    format!(
        "@ host {} (pid {}, lease {}): {state}, last seen {} ago, {} unfinished task(s) leased\n",
        host.name,
        host.pid,
        host.id,
        ago(host.db_now - host.last_seen),
        host.leased
    )
}
