//! What the binary and the simulator produced: a command's stderr, files' checksums, the bytes
//! the simulator serves for a task, `status`'s conditions, `show`'s output and the harness
//! directory's files.

use std::path::Path;
use std::process::Output;

use gcore_reportd_sim::{self as sim, SimOptions, SimTask};
use sha2::{Digest, Sha256};

use super::Harness;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read file"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
/// The bytes the simulator serves for `task` in `format` (default row count).
pub fn served_bytes(task: &SimTask, format: &str) -> Vec<u8> {
    sim::report_body(
        &task.template,
        &task.parameters,
        format,
        SimOptions::default().report_rows,
    )
}
/// The bytes the simulator serves for `task` in `format`, at the task's own row count and
/// content revision.
pub fn served_as_created(task: &SimTask, format: &str) -> Vec<u8> {
    sim::report_body_at(
        &task.template,
        &task.parameters,
        format,
        task.rows,
        task.revision,
    )
}

/// `show KEY`'s output (it must succeed).
pub async fn show(h: &Harness, key: &str) -> String {
    let out = h.run(&["show", key]).await;
    assert!(out.status.success(), "show {key}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
/// The daemon-wide conditions `status` prints above its table (`! key: value (until …)`).
pub async fn status_conditions(h: &Harness) -> Vec<String> {
    let out = h.run(&["status"]).await;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("! "))
        .map(str::to_string)
        .collect()
}
impl Harness {
    /// What a file in the harness directory holds ("" if nothing).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}
