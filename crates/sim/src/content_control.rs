//! What a new task's report will hold, decided at run time: its row count (settable, so a
//! test can make reports empty), its content revision (a period's content changes with each new
//! task for it until `restatements` revisions were served or the periods are closed), and how
//! many of each task's first downloads are served malformed.

use std::collections::HashMap;

use super::SimOptions;

pub(crate) struct ContentControl {
    /// Rows in reports of tasks created from now on.
    pub rows: usize,
    /// Revisions a period's content goes through before it is final.
    pub restatements: u32,
    /// Each task's first this many downloads are served malformed.
    pub malformed_first: u32,
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
            latest: HashMap::new(),
            closed: false,
        }
    }

    /// Rows and revision for the `nth` (1-based) task created of `kind`.
    pub(crate) fn for_new_task(&mut self, kind: &str, nth: u32) -> (usize, u32) {
        let open = nth.saturating_sub(1).min(self.restatements);
        let revision = match (self.closed, self.latest.get(kind)) {
            (true, Some(latest)) => *latest,
            _ => open,
        };
        self.latest.insert(kind.to_string(), revision);
        (self.rows, revision)
    }

    /// Whether a task's `nth` (1-based) download is to be served malformed.
    pub(crate) fn is_malformed(&self, nth: u32) -> bool {
        nth <= self.malformed_first
    }

    pub(crate) fn close(&mut self) {
        self.closed = true;
    }
}
