//! The run-time controls of what the simulator's reports hold: their row count, malformed
//! downloads (a task's first few, every other one, or a task whose file is bad), and closing
//! the periods seen so far.

use super::SimHandle;

impl SimHandle {
    /// Rows in the reports of tasks created from now on (0: empty reports, a header only).
    pub fn set_report_rows(&self, rows: usize) {
        self.shared.lock().content.rows = rows;
    }

    /// Each task's first `count` downloads are served malformed, whole and with the right
    /// Content-Type: a CSV with a ragged record, a JSON row one value short, an XLSX that is
    /// not a workbook. They are the same bytes each time.
    pub fn serve_malformed(&self, count: u32) {
        self.shared.lock().content.malformed_first = count;
    }

    /// Every task's odd-numbered downloads (the 1st, 3rd, ...) are served malformed, broken
    /// differently each time, as by a transfer that corrupts: half of all downloads, and no two
    /// malformed ones alike. Off again with `false`.
    pub fn serve_malformed_every_other(&self, on: bool) {
        self.shared.lock().content.malformed_every_other = on;
    }

    /// The next `count` tasks created have a bad file: every download of one is the same
    /// malformed bytes (see [`SimHandle::serve_malformed`]). Tasks created after them are good.
    pub fn serve_bad_files(&self, count: u32) {
        self.shared.lock().content.bad_files = count;
    }

    /// Closes every period seen so far (the admin call): tasks created from now on serve the
    /// content of the latest revision already served for their period, whatever
    /// [`crate::SimOptions::restatements`] says.
    pub fn close_periods(&self) {
        self.shared.lock().content.close();
    }
}
