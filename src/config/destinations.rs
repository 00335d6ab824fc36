//! `[destinations.NAME]`: object-storage buckets (S3-compatible) the reports' files are
//! delivered to besides `output_dir` (issue 22). `url = "s3://bucket/prefix"`, an optional
//! `endpoint` (https, or http for loopback hosts only) and `region`. The credentials are read
//! once, only when a destination is configured: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`,
//! else the systemd credentials `s3-access-key-id` and `s3-secret-access-key` in
//! `$CREDENTIALS_DIRECTORY`. They are held as secrets (never printed, logged or stored).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::raw::RawDestination;
use super::ConfigError;

/// One checked destination.
#[derive(Debug, Clone)]
pub struct DestinationConfig {
    pub name: String,
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
    pub endpoint: Option<reqwest::Url>,
    pub region: Option<String>,
    pub credentials: S3Credentials,
}

/// An access key pair; `Debug` shows neither half.
#[derive(Clone)]
pub struct S3Credentials {
    key_id: SecretString,
    secret: SecretString,
}

impl S3Credentials {
    /// The access key id and the secret key, for the client that signs requests.
    pub fn expose(&self) -> (&str, &str) {
        (self.key_id.expose_secret(), self.secret.expose_secret())
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S3Credentials([redacted])")
    }
}

/// Checks every `[destinations.NAME]` table; the credentials are looked for only if there is
/// one.
pub fn validate(
    raw: &BTreeMap<String, RawDestination>,
) -> Result<Vec<DestinationConfig>, ConfigError> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let mut checked = Vec::with_capacity(raw.len());
    for (name, d) in raw {
        let key = |k: &str| format!("destinations.{name}.{k}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            return Err(ConfigError::invalid(
                format!("destinations.{name}"),
                "a destination's name is letters, digits, '-' and '_'",
            ));
        }
        let url = d.url.as_deref().ok_or_else(|| {
            ConfigError::invalid(key("url"), "missing: expected \"s3://bucket/prefix\"")
        })?;
        let (bucket, prefix) = parse_s3_url(url).ok_or_else(|| {
            ConfigError::invalid(
                key("url"),
                format!("{url:?} is not an S3 URL: expected \"s3://bucket/prefix\""),
            )
        })?;
        let endpoint = match &d.endpoint {
            None => None,
            Some(e) => Some(check_endpoint(&key("endpoint"), e)?),
        };
        let region = d.region.clone().filter(|r| !r.trim().is_empty());
        checked.push(DestinationConfig {
            name: name.clone(),
            bucket,
            prefix,
            endpoint,
            region,
            credentials: S3Credentials {
                key_id: SecretString::from(String::new()),
                secret: SecretString::from(String::new()),
            },
        });
    }
    let credentials = find_credentials()?;
    for d in &mut checked {
        d.credentials = credentials.clone();
    }
    Ok(checked)
}

/// `s3://bucket/prefix` → (bucket, prefix without surrounding slashes).
fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let prefix = prefix.trim_matches('/');
    let clean = !prefix.split('/').any(|p| p == "." || p == "..") && !prefix.contains("//");
    (valid && clean).then(|| (bucket.to_string(), prefix.to_string()))
}

fn check_endpoint(key: &str, raw: &str) -> Result<reqwest::Url, ConfigError> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| ConfigError::invalid(key, format!("{raw:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if super::validate::is_loopback(&url) => Ok(url),
        "http" => Err(ConfigError::invalid(
            key,
            "http:// is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https://",
        )),
        other => Err(ConfigError::invalid(
            key,
            format!("unsupported scheme {other:?}: expected https://"),
        )),
    }
}

/// The access key pair: the environment, else the systemd credentials.
fn find_credentials() -> Result<S3Credentials, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (id, secret) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"));
    let from_dir = |file: &str| -> Option<String> {
        let dir = PathBuf::from(std::env::var_os("CREDENTIALS_DIRECTORY")?);
        let text = std::fs::read_to_string(dir.join(file)).ok()?;
        Some(text.trim().to_string()).filter(|t| !t.is_empty())
    };
    let id = id.or_else(|| from_dir("s3-access-key-id"));
    let secret = secret.or_else(|| from_dir("s3-secret-access-key"));
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(S3Credentials {
            key_id: SecretString::from(id),
            secret: SecretString::from(secret),
        }),
        (None, _) => Err(ConfigError::invalid(
            "destinations",
            "no S3 access key id: set AWS_ACCESS_KEY_ID, or a systemd credential named s3-access-key-id",
        )),
        (_, None) => Err(ConfigError::invalid(
            "destinations",
            "no S3 secret key: set AWS_SECRET_ACCESS_KEY, or a systemd credential named s3-secret-access-key",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_url_is_a_bucket_then_a_prefix() {
        assert_eq!(
            parse_s3_url("s3://reports-bucket/gcore/"),
            Some(("reports-bucket".into(), "gcore".into()))
        );
        assert_eq!(
            parse_s3_url("s3://reports"),
            Some(("reports".into(), String::new()))
        );
        assert_eq!(parse_s3_url("https://reports/x"), None);
        assert_eq!(parse_s3_url("s3://Bad_Bucket/x"), None);
        assert_eq!(parse_s3_url("s3://bucket/../x"), None);
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let c = S3Credentials {
            key_id: SecretString::from("AKIDEXAMPLE".to_string()),
            secret: SecretString::from("s3cr3t".to_string()),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("AKID") && !shown.contains("s3cr3t"));
    }
}
