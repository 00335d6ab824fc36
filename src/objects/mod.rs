//! Object storage (issue 22): an S3-compatible bucket through the `object_store` crate, and
//! only what delivery needs of it. A put is create-only (`If-None-Match: *`) or replaces an
//! object on condition that it still has a given ETag (`If-Match`); each one carries the
//! file's SHA-256 (`x-amz-checksum-sha256`, which the service checks) and the same digest in
//! hex as the object's metadata `sha256`, which a HEAD returns, so an object found at a key
//! (after a crash, or a 412) is compared by checksum without reading it. Files larger than
//! [`MULTIPART_FROM`] go multipart (see `large`), streamed from the file. This layer knows
//! nothing of the config or the database: the engine hands it plain values.

mod large;
mod redact;

use std::path::Path;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum, S3CopyIfNotExists};
use object_store::path::Path as Key;
use object_store::{
    Attribute, Attributes, ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use sha2::{Digest, Sha256};

/// Files of at least this many bytes are uploaded in parts, never held whole in memory.
pub const MULTIPART_FROM: u64 = 16 << 20;
/// The metadata key that holds the object's SHA-256 in hex.
const SHA256_METADATA: &str = "sha256";

/// Where a bucket is and how to sign for it (plain values; secrets only in passing).
pub struct BucketSpec<'a> {
    pub bucket: &'a str,
    pub endpoint: Option<&'a str>,
    pub region: Option<&'a str>,
    pub key_id: &'a str,
    pub secret: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the destination's client cannot be built: {0}")]
    Setup(String),
    #[error("{key}: {message}")]
    Transfer { key: String, message: String },
    #[error("cannot read the local file {path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
    #[error("the local file {path} no longer has sha256 {expected} (it has {found})")]
    SourceChanged {
        path: String,
        expected: String,
        found: String,
    },
}

/// What a conditional put found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Written: the new object's ETag.
    Written(Option<String>),
    /// The condition did not hold (the key exists, or no longer has the ETag).
    Refused,
}

/// An object as a HEAD sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub etag: Option<String>,
    /// The SHA-256 in the object's metadata, if it was written with one.
    pub sha256: Option<String>,
    pub size: u64,
}

/// One bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: AmazonS3,
    /// The same, never retrying a request itself: for the one unconditional write (a large
    /// restatement's copy), which a blind retry after a lost answer would write twice.
    copier: AmazonS3,
    bucket: String,
}

impl Bucket {
    pub fn new(spec: &BucketSpec<'_>) -> Result<Bucket, ObjectError> {
        Ok(Bucket {
            store: client(spec, 2)?,
            copier: client(spec, 0)?,
            bucket: spec.bucket.to_string(),
        })
    }

    /// `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The object at `key`, if there is one.
    pub async fn head(&self, key: &str) -> Result<Option<Head>, ObjectError> {
        let opts = object_store::GetOptions {
            head: true,
            ..Default::default()
        };
        match self.store.get_opts(&parse(key)?, opts).await {
            Ok(got) => Ok(Some(Head {
                etag: got.meta.e_tag.clone(),
                sha256: got
                    .attributes
                    .get(&Attribute::Metadata(SHA256_METADATA.into()))
                    .map(|v| v.to_string()),
                size: got.meta.size,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(transfer(key, e)),
        }
    }

    /// The SHA-256 of the object's bytes, read whole (for an object written without the
    /// metadata), or `None` when there is no object.
    pub async fn hash_object(&self, key: &str) -> Result<Option<String>, ObjectError> {
        use futures_util::StreamExt;
        let got = match self.store.get(&parse(key)?).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(transfer(key, e)),
        };
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            hasher.update(chunk.map_err(|e| transfer(key, e))?);
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }

    /// Puts the file at `path` (whose bytes must hash to `sha256`) at `key`: create-only, or
    /// (`replacing` an ETag) only if the object there still has it.
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        sha256: &str,
        replacing: Option<&str>,
    ) -> Result<Put, ObjectError> {
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|source| local(path, source))?
            .len();
        if size >= MULTIPART_FROM {
            return large::put_large(self, key, path, sha256, replacing).await;
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| local(path, source))?;
        check_digest(path, sha256, &hex::encode(Sha256::digest(&bytes)))?;
        let mode = match replacing {
            None => PutMode::Create,
            Some(etag) => PutMode::Update(UpdateVersion {
                e_tag: Some(etag.to_string()),
                version: None,
            }),
        };
        let opts = PutOptions {
            mode,
            attributes: metadata(sha256),
            ..Default::default()
        };
        let key_path = parse(key)?;
        match self
            .store
            .put_opts(&key_path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(result) => Ok(Put::Written(result.e_tag)),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotModified { .. }) => Ok(Put::Refused),
            Err(e) => Err(transfer(key, e)),
        }
    }
}

/// A client of the bucket whose requests are retried (transport faults, 5xx) `retries` times.
fn client(spec: &BucketSpec<'_>, retries: usize) -> Result<AmazonS3, ObjectError> {
    let retry = object_store::RetryConfig {
        max_retries: retries,
        retry_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let options = object_store::ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(300))
        .with_allow_http(spec.endpoint.is_some_and(|e| e.starts_with("http://")));
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(spec.bucket)
        .with_region(spec.region.unwrap_or("us-east-1"))
        .with_access_key_id(spec.key_id)
        .with_secret_access_key(spec.secret)
        .with_checksum_algorithm(Checksum::SHA256)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        .with_retry(retry)
        .with_client_options(options);
    if let Some(endpoint) = spec.endpoint {
        builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
    }
    (builder.build()).map_err(|e| ObjectError::Setup(e.to_string()))
}

fn metadata(sha256: &str) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert(
        Attribute::Metadata(SHA256_METADATA.into()),
        sha256.to_string().into(),
    );
    attributes
}

fn check_digest(path: &Path, expected: &str, found: &str) -> Result<(), ObjectError> {
    if expected.eq_ignore_ascii_case(found) {
        return Ok(());
    }
    Err(ObjectError::SourceChanged {
        path: path.display().to_string(),
        expected: expected.to_string(),
        found: found.to_string(),
    })
}

fn parse(key: &str) -> Result<Key, ObjectError> {
    Key::parse(key).map_err(|e| ObjectError::Transfer {
        key: key.to_string(),
        message: format!("not a valid object key: {e}"),
    })
}

fn transfer(key: &str, e: object_store::Error) -> ObjectError {
    ObjectError::Transfer {
        key: key.to_string(),
        message: redact::without_body(&e.to_string()),
    }
}

fn local(path: &Path, source: std::io::Error) -> ObjectError {
    ObjectError::Local {
        path: path.display().to_string(),
        source,
    }
}
