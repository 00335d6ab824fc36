//! What `storage.database` names: an SQLite file (a path, or `sqlite://path`) or a PostgreSQL
//! server (`postgres://user@host:port/db`, TLS as its `sslmode` says). The password is never
//! kept in the URL: it comes from the systemd credential `database-password`, else
//! `PGPASSWORD`, else the URL itself, and is held apart as a secret, so the URL can be shown.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::ConfigError;
use crate::secret::redacted_url;

const KEY: &str = "storage.database";

/// The database the configuration names.
#[derive(Clone)]
pub enum Database {
    File(PathBuf),
    Postgres {
        /// The URL without its password.
        url: String,
        password: Option<SecretString>,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(path) => f.debug_tuple("File").field(path).finish(),
            Database::Postgres { url, password } => f
                .debug_struct("Postgres")
                .field("url", &redacted_url(url))
                .field("password", &password.as_ref().map(|_| "[redacted]"))
                .finish(),
        }
    }
}

/// Reads `storage.database`: a bad URL is a configuration error naming the key, its text
/// shown without any password.
pub fn database(text: &Path) -> Result<Database, ConfigError> {
    let Some(raw) = text.to_str().filter(|t| t.contains("://")) else {
        return Ok(Database::File(text.to_path_buf()));
    };
    if let Some(path) = raw.strip_prefix("sqlite://") {
        return Ok(Database::File(PathBuf::from(path)));
    }
    let shown = redacted_url(raw);
    let mut url = url::Url::parse(raw)
        .map_err(|e| ConfigError::invalid(KEY, format!("{shown} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(ConfigError::invalid(
            KEY,
            format!("{shown}: expected a file path, sqlite://<path> or postgres://user@host:port/database"),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid(KEY, format!("{shown} names no host")));
    }
    for (key, value) in url.query_pairs() {
        let known = [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ];
        if key == "sslmode" && !known.contains(&value.as_ref()) {
            return Err(ConfigError::invalid(
                KEY,
                format!(
                    "{shown}: sslmode={value} is not one of {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let in_url = url.password().map(percent_decoded);
    let _ = url.set_password(None);
    let password = credential()?
        .or_else(|| std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()))
        .or(in_url)
        .map(SecretString::from);
    Ok(Database::Postgres {
        url: url.to_string(),
        password,
    })
}

/// The systemd credential `database-password`, if there is one (trailing newline trimmed).
fn credential() -> Result<Option<String>, ConfigError> {
    let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
        return Ok(None);
    };
    let path = PathBuf::from(dir).join("database-password");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ConfigError::invalid(
            KEY,
            format!("cannot read the credential {}: {e}", path.display()),
        )
    })?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()).filter(|p| !p.is_empty()))
}

/// A URL's percent-encoded part as written (a `+` stays a `+`: this is not a form).
fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_postgres_and_a_path_is_sqlite() {
        let db = database(Path::new("postgres://u:s3cret@db:5432/r?sslmode=require")).unwrap();
        let Database::Postgres { url, password } = &db else {
            panic!("{db:?}")
        };
        assert!(
            !url.contains("s3cret") && url.contains("sslmode=require"),
            "{url}"
        );
        assert!(password.is_some());
        assert!(!format!("{db:?}").contains("s3cret"));
        let file = database(Path::new("sqlite:///var/lib/x.db")).unwrap();
        assert!(matches!(file, Database::File(p) if p == Path::new("/var/lib/x.db")));
        assert!(matches!(
            database(Path::new("state.db")).unwrap(),
            Database::File(_)
        ));
    }

    #[test]
    fn a_password_in_the_url_is_percent_decoded_and_a_plus_stays_a_plus() {
        let db = database(Path::new("postgres://u:a+b%40c@db/r")).unwrap();
        let Database::Postgres { password, .. } = &db else {
            panic!("{db:?}")
        };
        let password = password.as_ref().expect("a password");
        assert_eq!(secrecy::ExposeSecret::expose_secret(password), "a+b@c");
    }

    #[test]
    fn the_storage_settings_show_no_password() {
        let storage = crate::config::StorageConfig {
            database: "postgres://u:s3cret@db/r".into(),
            output_dir: "/reports".into(),
            busy_timeout: std::time::Duration::from_secs(1),
        };
        assert!(!format!("{storage:?}").contains("s3cret"));
    }

    #[test]
    fn a_bad_url_names_the_key_without_its_password() {
        for bad in [
            "mysql://u:s3cret@h/d",
            "postgres://u:s3cret@h/d?sslmode=sometimes",
        ] {
            let err = database(Path::new(bad)).unwrap_err().to_string();
            assert!(
                err.contains("storage.database") && !err.contains("s3cret"),
                "{err}"
            );
        }
    }
}
