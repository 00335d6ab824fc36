//! Several hosts on one PostgreSQL database read each other's report files (a restated
//! period's current file, the source of an upload, a hook's `REPORT_PATH`), so their
//! `storage.output_dir` must be one directory they all share, at the same path. A config on
//! PostgreSQL whose `output_dir` is on a local filesystem is sound only for one host: it gets a
//! warning (`check-config`, and at each start), not a refusal, since one host on PostgreSQL is
//! a sound setup too.

use std::path::Path;

use super::{Config, Database};

/// Network and cluster filesystems (statfs(2) `f_type`): NFS, SMB/CIFS (three), CephFS, FUSE
/// (e.g. a bucket mounted), GFS2, OCFS2, Lustre, AFS, 9P, GPFS, BeeGFS.
const SHARED: [i64; 13] = [
    0x6969,
    0x517B,
    0xFF53_4D42,
    0xFE53_4D42,
    0x00C3_6400,
    0x6573_5546,
    0x0116_1970,
    0x7461_636F,
    0x0BD0_0BD0,
    0x5346_414F,
    0x0102_1997,
    0x4750_4653,
    0x1983_0326,
];

/// The warning for a PostgreSQL config whose `output_dir` is on a local filesystem, if so.
pub(super) fn warning(config: &Config) -> Option<String> {
    let Ok(Database::Postgres { .. }) = super::database(&config.storage.database) else {
        return None;
    };
    let dir = &config.storage.output_dir;
    if is_shared(dir)? {
        return None;
    }
    Some(format!(
        "storage.output_dir {} is on a local filesystem: with several hosts on this PostgreSQL database, one host cannot read another's files (restated versions, uploads to destinations, hooks); give every host one shared directory at the same path (NFS, CephFS), or run one host (README: Several hosts)",
        dir.display()
    ))
}

/// Whether `dir` (or, not there yet, its nearest existing parent) is on a shared filesystem;
/// `None` when nothing of it can be looked at.
fn is_shared(dir: &Path) -> Option<bool> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    let stat = nix::sys::statfs::statfs(existing).ok()?;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let kind = i64::from(stat.filesystem_type().0 as i64);
    Some(SHARED.contains(&kind))
}
