//! Files of [`super::MULTIPART_FROM`] bytes or more: a multipart upload streamed from the file
//! (parts of [`PART_SIZE`], at most [`PARTS_IN_FLIGHT`] at once, so memory stays bounded
//! whatever the size), hashed as it goes, to a staging key beside it (`.uploads/{name}.{sha}`
//! in the key's folder); then copied to the key create-only (a multipart copy whose completion
//! carries `If-None-Match: *`: object_store completes a plain multipart upload without a
//! condition), and the staging object deleted. On a versioned bucket the staging object's
//! version stays as a noncurrent version under `.uploads/` (object_store deletes no version):
//! a lifecycle rule expiring noncurrent versions there clears them.
//! A restatement's replacement checks the ETag with a HEAD just before an unconditional copy:
//! object_store has no conditional copy, so that window is the one place a concurrent writer
//! could be overwritten (one daemon per database writes these keys, see the README). That copy
//! is never retried by the client: its answer lost, the engine's next attempt HEADs first and
//! finds the bytes there (the copy keeps the staging object's sha256 metadata).

use std::path::Path;

use object_store::{ObjectStore, PutMultipartOptions, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{check_digest, local, metadata, parse, transfer, Bucket, ObjectError, Put};

/// The size of one part (S3's least but for the last).
const PART_SIZE: usize = 5 << 20;
/// How many parts are sent at once.
const PARTS_IN_FLIGHT: usize = 2;
/// How much of the file one read takes.
const READ_SIZE: usize = 1 << 20;

pub(super) async fn put_large(
    bucket: &Bucket,
    key: &str,
    path: &Path,
    sha256: &str,
    replacing: Option<&str>,
) -> Result<Put, ObjectError> {
    let staging_name = staging_key(key, sha256);
    let staging = parse(&staging_name)?;
    let target = parse(key)?;
    let opts = PutMultipartOptions {
        attributes: metadata(sha256),
        ..Default::default()
    };
    let upload = bucket
        .store
        .put_multipart_opts(&staging, opts)
        .await
        .map_err(|e| transfer(&staging_name, e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|source| local(path, source))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = match file.read(&mut buf).await {
            Ok(n) => n,
            Err(source) => {
                let _ = writer.abort().await;
                return Err(local(path, source));
            }
        };
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            return Err(transfer(&staging_name, e));
        }
        writer.write(&buf[..n]);
    }
    if let Err(e) = check_digest(path, sha256, &hex::encode(hasher.finalize())) {
        let _ = writer.abort().await;
        return Err(e);
    }
    writer
        .finish()
        .await
        .map_err(|e| transfer(&staging_name, e))?;
    let copied = match replacing {
        None => bucket.store.copy_if_not_exists(&staging, &target).await,
        Some(etag) => match bucket.head(key).await? {
            Some(head) if head.etag.as_deref() == Some(etag) => {
                bucket.copier.copy(&staging, &target).await
            }
            _ => Err(object_store::Error::Precondition {
                path: key.to_string(),
                source: "the object no longer has the ETag it replaces".into(),
            }),
        },
    };
    let _ = bucket.store.delete(&staging).await;
    match copied {
        Ok(()) => Ok(Put::Written(bucket.head(key).await?.and_then(|h| h.etag))),
        Err(object_store::Error::AlreadyExists { .. })
        | Err(object_store::Error::Precondition { .. }) => Ok(Put::Refused),
        Err(e) => Err(transfer(key, e)),
    }
}

/// Where a large file is staged: `.uploads/{name}.{first 16 hex digits of its sha256}` in the
/// key's folder.
fn staging_key(key: &str, sha256: &str) -> String {
    let (folder, name) = key.rsplit_once('/').map_or(("", key), |(f, n)| (f, n));
    let short = sha256.get(..16).unwrap_or(sha256);
    match folder {
        "" => format!(".uploads/{name}.{short}"),
        f => format!("{f}/.uploads/{name}.{short}"),
    }
}
