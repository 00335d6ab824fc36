//! The API key as a type that cannot leak: held in a [`secrecy::SecretString`] (zeroed when
//! dropped), its `Debug` and `Display` print `[redacted]`, and the only way to the bytes is
//! [`ApiKey::expose`], called where the `Authorization` header is built and where a server's
//! message is scrubbed of it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A Gcore API token (`<id>$<secret>` or `<id>_<secret>`).
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a token, trimming surrounding whitespace (a key file's trailing newline).
    pub fn new(raw: &str) -> Option<ApiKey> {
        let key = raw.trim();
        (!key.is_empty()).then(|| ApiKey(SecretString::from(key)))
    }

    /// The token itself. Only the HTTP client calls this, to build the header.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// A short tag of the token that does not reveal it (the first 8 hex digits of its
    /// SHA-256), so a stored refusal can tell whether the key has been replaced since.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(&Sha256::digest(self.expose().as_bytes())[..4])
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &ApiKey) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for ApiKey {}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `url` with any password replaced by `***`, for messages and logs; a text that is not a URL
/// is shown as `(unparsable URL)`, since it might hold a password anywhere.
pub fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            // A password may also ride in the query (`?password=…`).
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| match k.as_ref() {
                    "password" => (k.into_owned(), "***".to_string()),
                    _ => (k.into_owned(), v.into_owned()),
                })
                .collect();
            if !pairs.is_empty() {
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".to_string(),
    }
}

/// `storage.database` for display: a URL redacted (see [`redacted_url`]), a path as it is.
pub fn redacted_path(database: &std::path::Path) -> String {
    let text = database.to_string_lossy();
    match text.contains("://") {
        true => redacted_url(&text),
        false => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_token() {
        let key = ApiKey::new("42$topsecret\n").expect("non-empty");
        assert_eq!(key.expose(), "42$topsecret");
        assert!(!format!("{key:?} {key}").contains("topsecret"));
    }

    #[test]
    fn the_fingerprint_tells_keys_apart_without_showing_them() {
        let a = ApiKey::new("42$topsecret").expect("key");
        let b = ApiKey::new("42$othersecret").expect("key");
        assert_eq!(a.fingerprint().len(), 8);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            ApiKey::new("42$topsecret\n").expect("key").fingerprint()
        );
        assert!(!a.fingerprint().contains("topsecret"));
    }

    #[test]
    fn an_empty_or_blank_key_is_refused() {
        assert!(ApiKey::new(" \n").is_none());
    }
}
