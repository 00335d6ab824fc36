//! Which puts a new version of a period's file calls for, recorded pending with the version
//! (see `upload`): for each of the report's destinations, the period's current key (the
//! version's bytes, replacing the previous version's there if there was one) and, when a
//! restatement kept the previous version under its versioned name, that name too. A key is
//! the destination's prefix, `/`, and the local file's path relative to `output_dir`. A
//! versioned period's manifest, rewritten with every outcome, is one more put per rewrite.
//! Also the destinations' clients, built from the config, and a version's object URLs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::deliver::Written;
use super::parts::Destinations;
use crate::config::Config;
use crate::objects::{Bucket, BucketSpec};
use crate::store::{NewUpload, TaskRow};

/// The version before this one: its number, bytes, sha256 and, when a restatement kept it
/// beside the current file, where.
pub(super) struct Previous<'a> {
    pub version: i64,
    pub bytes: i64,
    pub sha256: &'a str,
    pub kept_at: Option<&'a Path>,
}

/// The configured destinations' clients by name (or why one could not be built).
pub(crate) type Buckets = Arc<BTreeMap<String, Result<Bucket, String>>>;

/// Builds a client for each `[destinations.NAME]` (no request is sent).
pub(crate) fn buckets(config: &Config) -> Buckets {
    let built = config.destinations.iter().map(|d| {
        let (key_id, secret) = d.credentials.expose();
        let endpoint = d.endpoint.as_ref().map(|u| u.as_str());
        let spec = BucketSpec {
            bucket: &d.bucket,
            endpoint,
            region: d.region.as_deref(),
            key_id,
            secret,
        };
        (
            d.name.clone(),
            Bucket::new(&spec).map_err(|e| e.to_string()),
        )
    });
    Arc::new(built.collect())
}

impl Destinations {
    /// The uploads of version `version` of `task`'s period, now at `current` with `bytes` and
    /// `sha256`.
    pub(super) fn plan_uploads(
        &self,
        task: &TaskRow,
        version: i64,
        current: &Path,
        (bytes, sha256): (i64, &str),
        previous: Option<Previous<'_>>,
    ) -> Vec<NewUpload> {
        let Some(report) = self.shared.report_config(task) else {
            return Vec::new();
        };
        let mut uploads = Vec::new();
        for name in &report.destinations {
            let Some(dest) = self
                .shared
                .config
                .destinations
                .iter()
                .find(|d| &d.name == name)
            else {
                continue;
            };
            let key = |path: &Path| {
                object_key(&dest.prefix, &self.shared.config.storage.output_dir, path)
            };
            uploads.push(NewUpload {
                destination: name.clone(),
                role: "current",
                version,
                object_key: key(current),
                source_path: current.to_string_lossy().into_owned(),
                bytes,
                sha256: sha256.to_string(),
                replaces_sha256: previous.as_ref().map(|p| p.sha256.to_string()),
            });
            if let Some(p) = previous.as_ref() {
                if let Some(kept) = p.kept_at {
                    uploads.push(NewUpload {
                        destination: name.clone(),
                        role: "kept",
                        version: p.version,
                        object_key: key(kept),
                        source_path: kept.to_string_lossy().into_owned(),
                        bytes: p.bytes,
                        sha256: p.sha256.to_string(),
                        replaces_sha256: None,
                    });
                }
            }
        }
        uploads
    }
}

impl Destinations {
    /// The uploads of the period's manifest as just `written`, one per destination of
    /// `task`'s report, under the period's current version `version`.
    pub(super) fn plan_manifest_uploads(
        &self,
        task: &TaskRow,
        version: i64,
        written: &Written,
    ) -> Vec<NewUpload> {
        let Some(report) = self.shared.report_config(task) else {
            return Vec::new();
        };
        let output_dir = &self.shared.config.storage.output_dir;
        let dests = (self.shared.config.destinations.iter())
            .filter(|d| report.destinations.contains(&d.name));
        dests
            .map(|dest| NewUpload {
                destination: dest.name.clone(),
                role: "manifest",
                version,
                object_key: object_key(&dest.prefix, output_dir, &written.path),
                source_path: written.path.to_string_lossy().into_owned(),
                bytes: written.bytes,
                sha256: written.sha256.clone(),
                replaces_sha256: None,
            })
            .collect()
    }

    /// The `s3://` URLs of `task`'s delivered objects (its version's file, not the manifest),
    /// space-separated (for its hook).
    pub(super) async fn object_urls(&self, task: &crate::store::TaskRow) -> String {
        let Some(version) = task.version else {
            return String::new();
        };
        let uploads = (self
            .shared
            .store
            .version_uploads(&task.request, version)
            .await)
            .unwrap_or_default();
        let urls: Vec<String> = uploads
            .iter()
            .filter(|u| u.state == "delivered" && u.role != "manifest")
            .filter_map(|u| match self.buckets.get(&u.destination) {
                Some(Ok(bucket)) => Some(bucket.url(&u.object_key)),
                _ => None,
            })
            .collect();
        urls.join(" ")
    }
}

/// `prefix/relative`, the file's path relative to `output_dir` (its name when outside it).
pub(super) fn object_key(prefix: &str, output_dir: &Path, path: &Path) -> String {
    let relative = path
        .strip_prefix(output_dir)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    match prefix {
        "" => relative,
        p => format!("{p}/{relative}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_prefix_then_the_path_under_the_output_directory() {
        let out = Path::new("/var/lib/r");
        let file = Path::new("/var/lib/r/sub/e_2026-11.csv");
        assert_eq!(object_key("gcore", out, file), "gcore/sub/e_2026-11.csv");
        assert_eq!(object_key("", out, file), "sub/e_2026-11.csv");
    }
}
