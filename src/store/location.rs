//! Where the database is: an SQLite file, or a PostgreSQL server named by a URL whose password
//! (if any) is kept apart as a secret, so a location can be shown and logged safely.

use std::path::PathBuf;

use secrecy::SecretString;

use crate::secret::redacted_url as redacted;

/// The database to open.
#[derive(Clone)]
pub enum Location {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server: `url` without a password; `password` from wherever it came.
    Postgres {
        url: String,
        password: Option<SecretString>,
    },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Location::Postgres { url, password } => f
                .debug_struct("Postgres")
                .field("url", &redacted(url))
                .field("password", &password.as_ref().map(|_| "[redacted]"))
                .finish(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres { url, .. } => f.write_str(&redacted(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::secret::redacted_url as redacted;

    #[test]
    fn a_password_never_shows_in_a_redacted_url() {
        let shown = redacted("postgres://u:hunter2@db:5432/r?sslmode=require&password=hunter2");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db:5432/r") && shown.contains("sslmode=require"));
    }
}
