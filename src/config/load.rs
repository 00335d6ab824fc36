//! Reading the configuration: the file (checked for TOML syntax first, so an error names its line
//! and column), the `GCORE_REPORTD__SECTION__KEY` environment overrides through the `config`
//! crate, and the API key from the first source that has one.

use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat};

use super::raw::RawConfig;
use super::{validate, Config, ConfigError};
use crate::secret::ApiKey;

/// Where the config is read from when neither `--config` nor `GCORE_REPORTD_CONFIG` is given.
pub const DEFAULT_PATH: &str = "/etc/gcore-reportd/config.toml";

/// Values that replace what the file says (used by `demo`, which starts its own simulator).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub base_url: Option<String>,
    pub api_key: Option<ApiKey>,
}

/// Reads, merges and validates the configuration at `path`.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    let raw = load_file_only(path, overrides)?;
    let mut warnings = Vec::new();
    let key = match &overrides.api_key {
        Some(key) => key.clone(),
        None => find_key(raw.api.api_key_file.as_deref(), &mut warnings)?,
    };
    let mut config = validate::validate(raw, key)?;
    super::storage::check_storage(&config.storage)?;
    warnings.extend(super::shared_dir::warning(&config));
    config.warnings = warnings;
    Ok(config)
}

/// Notes a secret-holding file that users other than its owner and group can read. (Only the
/// key file: the config file names it but holds no secret, and stays 0644 for the service's
/// dynamic user.)
fn warn_if_shared(path: &Path, what: &str, warnings: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o004 != 0 {
            warnings.push(format!(
                "{what} {} is readable by all users: chmod o-r it (it holds the API key)",
                path.display()
            ));
        }
    }
}

/// The database and output directory the config names, without needing the API key: what the
/// operator commands (`status`, `show`) need.
pub fn storage_paths(
    path: &Path,
    overrides: &Overrides,
) -> Result<(PathBuf, PathBuf), ConfigError> {
    let raw = load_file_only(path, overrides)?;
    Ok((raw.storage.database, raw.storage.output_dir))
}

/// The names of the configured reports, without validation or the API key (for `status`,
/// which marks the tasks of reports removed from the config).
pub fn report_names(path: &Path, overrides: &Overrides) -> Result<Vec<String>, ConfigError> {
    let raw = load_file_only(path, overrides)?;
    Ok(raw.reports.into_iter().filter_map(|r| r.name).collect())
}

/// The names of the configured reports per client (`clients`, on the report or in
/// `[defaults]`), without validation or the API key (for `status`, which summarises them).
pub fn fan_out_names(path: &Path, overrides: &Overrides) -> Result<Vec<String>, ConfigError> {
    let raw = load_file_only(path, overrides)?;
    let all = raw.defaults.clients.is_some();
    Ok((raw.reports.into_iter())
        .filter(|r| all || r.clients.is_some())
        .filter_map(|r| r.name)
        .collect())
}

/// Reads and merges the file and environment, without validation or the API key.
///
/// The file is deserialised into [`RawConfig`] (see `parse`: a config with 10,000 reports stays
/// small in memory); then its sections other than `[[reports]]` go through
/// the `config` crate once more, with the `GCORE_REPORTD__SECTION__KEY` environment layered on
/// top. (Environment variables cannot address array tables, so reports are never overridden.)
fn load_file_only(path: &Path, overrides: &Overrides) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut file = super::parse::parse(path, &text)?;
    let reports = std::mem::take(&mut file.reports);
    let sections = toml::to_string(&file).map_err(|e| ConfigError::Shape {
        path: path.to_path_buf(),
        message: format!("cannot merge the environment overrides: {e}"),
    })?;
    let mut builder = config::Config::builder()
        .add_source(File::from_str(&sections, FileFormat::Toml))
        .add_source(
            Environment::with_prefix("GCORE_REPORTD")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
    if let Some(url) = &overrides.base_url {
        builder = builder
            .set_override("api.base_url", url.as_str())
            .map_err(|e| shape(path, e))?;
    }
    let merged = builder.build().map_err(|e| shape(path, e))?;
    let mut raw: RawConfig = merged.try_deserialize().map_err(|e| shape(path, e))?;
    raw.reports = reports;
    Ok(raw)
}

fn shape(path: &Path, err: config::ConfigError) -> ConfigError {
    ConfigError::Shape {
        path: path.to_path_buf(),
        message: err.to_string().replace('\n', " "),
    }
}

/// The API key: `GCORE_API_KEY`, else the systemd credential `gcore-api-key`, else the file
/// named by `api.api_key_file`.
fn find_key(key_file: Option<&Path>, warnings: &mut Vec<String>) -> Result<ApiKey, ConfigError> {
    if let Ok(value) = std::env::var("GCORE_API_KEY") {
        return ApiKey::new(&value).ok_or_else(|| {
            ConfigError::invalid("GCORE_API_KEY", "the environment variable is empty")
        });
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let path = PathBuf::from(dir).join("gcore-api-key");
        if path.exists() {
            return read_key_file(&path);
        }
    }
    match key_file {
        Some(path) => {
            warn_if_shared(path, "API key file", warnings);
            read_key_file(path)
        }
        None => Err(ConfigError::NoKey),
    }
}

fn read_key_file(path: &Path) -> Result<ApiKey, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::KeyFile {
        path: path.to_path_buf(),
        source,
    })?;
    ApiKey::new(&text).ok_or_else(|| {
        ConfigError::invalid(
            "api.api_key_file",
            format!("{} is empty: put the API token in it", path.display()),
        )
    })
}
