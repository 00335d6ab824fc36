//! The whole path, with the real binary, a real SQLite file and the simulator on 127.0.0.1:
//! a report is created once, polled, downloaded with the right bytes; a restart resumes; a
//! remote failure is recorded with its reason.
//!
//! The tests are grouped by family: the path from create to file, across a restart and a
//! remote failure, with the key kept out of the logs (`path`), and each task's history of
//! changes (`history`).

mod history;
mod path;
