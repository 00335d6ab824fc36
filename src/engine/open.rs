//! Building an engine: the database's lock (SQLite) or this host's lease (PostgreSQL), the
//! store (migrated), the API client, and the engine again with a reloaded configuration (same
//! database, lock, lease, owner and account).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::account::KeyCheck;
use super::{files::remove_partial_files, Engine, EngineError, Owner};
use crate::api::{Client, ClientOptions};
use crate::clock::Clock;
use crate::config::{Config, ConfigError, Database};
use crate::store::{Location, Store};

/// Opens the database (migrating it), removes stale temporary files, builds the client; the
/// engine owns its own tasks (see [`open_owned_engine`] for the daemon's).
pub async fn open_engine(config: Config, clock: Clock) -> Result<Engine, EngineError> {
    open_owned_engine(config, clock, Owner::default()).await
}

/// [`open_engine`], with every task and wait of the engine belonging to `owner`.
pub async fn open_owned_engine(
    config: impl Into<Arc<Config>>,
    clock: Clock,
    owner: Owner,
) -> Result<Engine, EngineError> {
    let config = config.into();
    let location = store_location(&config.storage.database)?;
    let lock = match &location {
        Location::Sqlite(path) => Some(lock_database(path)?),
        Location::Postgres { .. } => None,
    };
    let store = Store::open_at(&location, config.storage.busy_timeout).await?;
    let lease = super::lease::join(&store, &config, owner.tasks()).await?;
    let lock = Arc::new(lock);
    // Hosts sharing the output directory leave each other's downloads in flight alone.
    let removed = match lease {
        None => remove_partial_files(&config.storage.output_dir, None),
        Some(_) => remove_partial_files(&config.storage.output_dir, Some(STALE_PARTIAL)),
    };
    if removed > 0 {
        tracing::info!(
            removed,
            "removed temporary files left by an interrupted run"
        );
    }
    let client = build_client(&config).map_err(EngineError::Client)?;
    let engine = Engine::owned(config, store, client, clock, lock, owner);
    Ok(engine.joined(lease))
}

/// With several hosts, a temporary file untouched this long was left by a host that died.
const STALE_PARTIAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Where the store is, for the configured `storage.database` (checked when the config was
/// loaded; an error here names the key all the same).
pub fn store_location(database: &std::path::Path) -> Result<Location, ConfigError> {
    Ok(match crate::config::database(database)? {
        Database::File(path) => Location::Sqlite(path),
        Database::Postgres { url, password } => Location::Postgres { url, password },
    })
}

/// Takes `<database>.lock` exclusively (`File::try_lock`, an flock on Linux): one process at a
/// time works on a database, so two engines never race for the same task or clean up each
/// other's downloads. The kernel releases it when the process ends, however it ends.
fn lock_database(database: &std::path::Path) -> Result<std::fs::File, EngineError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| EngineError::Lock {
            path: path.clone(),
            source,
        })?;
    crate::ownership::match_parent_owner(&path);
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(EngineError::Busy { path }),
        Err(std::fs::TryLockError::Error(source)) => Err(EngineError::Lock { path, source }),
    }
}

/// The engine with a reloaded config: same database, owner and account, new client, new
/// settings.
pub(super) fn reconfigure(
    engine: &Engine,
    config: Arc<Config>,
    shutdown: &CancellationToken,
) -> Result<Engine, EngineError> {
    // The reloaded config is shared with the reloader's channel, copied only to keep the
    // database: a copy of 10,000 reports is 10 MB (see `Supervisor::run_engine`).
    let config = if config.storage.database != engine.config().storage.database {
        tracing::warn!("storage.database changed: this takes effect at the next restart");
        let mut kept = (*config).clone();
        kept.storage.database = engine.config().storage.database.clone();
        Arc::new(kept)
    } else {
        config
    };
    // A host's lease was sized for its request deadline when it joined: both stay until then.
    let (old, new) = (engine.config(), &config);
    let config = if engine.base.lease.is_some()
        && (new.cluster.lease != old.cluster.lease
            || new.api.request_timeout != old.api.request_timeout)
    {
        tracing::warn!("cluster.lease or api.request_timeout changed: with hosts sharing the database this takes effect at the next restart");
        let mut kept = (*config).clone();
        kept.cluster.lease = old.cluster.lease;
        kept.api.request_timeout = old.api.request_timeout;
        Arc::new(kept)
    } else {
        config
    };
    let client = build_client(&config)
        .map_err(EngineError::Client)?
        .stopping_on(shutdown.clone());
    let base = &engine.base;
    let mut reloaded = Engine::owned(
        config,
        base.shared.store.clone(),
        client,
        base.shared.clock.clone(),
        base.lock.clone(),
        base.owner.clone(),
    );
    // Set before `joined`, which builds every part again from the base.
    reloaded.base.account = base.account.clone();
    Ok(reloaded.joined(base.lease.clone()))
}

/// Whether a reload may replace `engine` by `reloaded`: yes when the key is the same; else
/// the new key's account decides (see `account`). A database error leaves it for later.
pub(super) async fn key_check(engine: &Engine, reloaded: &Engine) -> Result<KeyCheck, EngineError> {
    if reloaded.config().api.key == engine.config().api.key {
        return Ok(KeyCheck::Accepted);
    }
    match reloaded.parts.remote.check_new_key().await {
        Err(EngineError::Store(e)) => {
            tracing::warn!(error = %e, "cannot check the new API key's account: the reload waits for the next wake-up");
            Ok(KeyCheck::Later)
        }
        other => other,
    }
}

/// The API client for a configuration.
pub fn build_client(config: &Config) -> Result<Client, crate::api::ApiError> {
    Client::new(ClientOptions {
        base_url: config.api.base_url.clone(),
        key: config.api.key.clone(),
        timeout: config.api.request_timeout,
        max_requests_per_second: config.api.max_requests_per_second,
        max_retry_after: config.api.max_retry_after,
        max_download_bytes: config.downloads.max_bytes,
    })
}
