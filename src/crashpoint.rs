//! Test hook for crash-safety tests: `GCORE_REPORTD_CRASH_AT=NAME:N` makes the process kill
//! itself with SIGKILL the N-th time it passes the point NAME (e.g. `download.rename:2`), so a
//! test can stop the real daemon at an exact instruction. Without the variable, a point costs
//! one relaxed atomic load.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

struct Target {
    name: String,
    nth: u64,
    seen: Mutex<HashMap<String, u64>>,
}

fn target() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<Target>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let spec = std::env::var("GCORE_REPORTD_CRASH_AT").ok()?;
            let (name, nth) = spec.split_once(':').unwrap_or((spec.as_str(), "1"));
            Some(Target {
                name: name.to_string(),
                nth: nth.parse().unwrap_or(1),
                seen: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
}

/// Marks a point where the process may be killed in tests.
pub fn hit(name: &str) {
    let Some(target) = target() else { return };
    if target.name != name {
        return;
    }
    let count = {
        let mut seen = target.seen.lock().unwrap_or_else(|e| e.into_inner());
        let count = seen.entry(name.to_string()).or_insert(0);
        *count += 1;
        *count
    };
    if count == target.nth {
        eprintln!("crashpoint {name}:{count} reached: killing the process");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
