//! What a new task's report will hold, decided at run time: its row count (settable, so a
//! test can make reports empty), its content revision (a period's content changes with each new
//! task for it until `restatements` revisions were served or the periods are closed), and which
//! of its downloads are served malformed: a task's first few (the same bad bytes each time),
//! every download of a task created with a bad file, or every other download with bytes broken
//! differently each time (a transfer that corrupts, not a bad file).

use std::collections::HashMap;

use super::SimOptions;

/// How one download is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Served {
    Good,
    /// Malformed in the given variant (see [`super::malformed`]): 0 is the same bad file every
    /// time, others differ from download to download.
    Malformed(u32),
}

pub(crate) struct ContentControl {
    /// Rows in reports of tasks created from now on.
    pub rows: usize,
    /// Revisions a period's content goes through before it is final.
    pub restatements: u32,
    /// Each task's first this many downloads are served malformed.
    pub malformed_first: u32,
    /// Each task's odd-numbered downloads (the 1st, 3rd, ...) are served malformed, each
    /// differently.
    pub malformed_every_other: bool,
    /// The next this many tasks created serve the same malformed file at every download.
    pub bad_files: u32,
    /// The latest revision served per kind (template and canonical parameters).
    latest: HashMap<String, u32>,
    /// Closed: every kind stays at its latest revision.
    closed: bool,
}

impl ContentControl {
    pub(crate) fn new(options: &SimOptions) -> ContentControl {
        ContentControl {
            rows: options.report_rows,
            restatements: options.restatements,
            malformed_first: 0,
            malformed_every_other: false,
            bad_files: 0,
            latest: HashMap::new(),
            closed: false,
        }
    }

    /// Rows, revision and whether its file is bad, for the `nth` (1-based) task created of
    /// `kind`.
    pub(crate) fn for_new_task(&mut self, kind: &str, nth: u32) -> (usize, u32, bool) {
        let open = nth.saturating_sub(1).min(self.restatements);
        let revision = match (self.closed, self.latest.get(kind)) {
            (true, Some(latest)) => *latest,
            _ => open,
        };
        self.latest.insert(kind.to_string(), revision);
        let bad = self.bad_files > 0;
        self.bad_files = self.bad_files.saturating_sub(1);
        (self.rows, revision, bad)
    }

    /// How a task's `nth` (1-based) download is served; `bad`: the task's file is bad.
    pub(crate) fn serve(&self, bad: bool, nth: u32) -> Served {
        if bad || nth <= self.malformed_first {
            Served::Malformed(0)
        } else if self.malformed_every_other && nth % 2 == 1 {
            Served::Malformed(nth)
        } else {
            Served::Good
        }
    }

    pub(crate) fn close(&mut self) {
        self.closed = true;
    }
}
