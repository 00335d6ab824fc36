//! Where a list walk is: the `created_after` in force and the offset under it. After each
//! page the bound moves up to just below the newest task read (its whole second, less one:
//! the contract says neither whether the bound is inclusive nor how precise the server's times
//! are) when that re-reads at most half a page; a burst of tasks created within the same
//! seconds is read by offset under the same bound instead (in ascending order new tasks land
//! after it). Under one bound the listing may only grow: a count that drops means a task
//! before the offset was deleted and the walk may have skipped one, so it is incomplete.

use std::collections::HashMap;

use crate::api::{ApiError, FileTask, Operation, MAX_PAGE};

pub(super) struct Cursor {
    after: Option<jiff::Timestamp>,
    offset: u64,
    /// Creation times read under this `after` (ascending): how many would be read again.
    read: Vec<jiff::Timestamp>,
    /// The `count` the first page under this `after` reported.
    count: Option<u64>,
    /// The tasks read that a later page may show again, by uuid, with their creation times.
    seen: HashMap<String, jiff::Timestamp>,
}

impl Cursor {
    pub(super) fn new(after: Option<jiff::Timestamp>) -> Cursor {
        Cursor {
            after,
            offset: 0,
            read: Vec::new(),
            count: None,
            seen: HashMap::new(),
        }
    }

    pub(super) fn after(&self) -> Option<jiff::Timestamp> {
        self.after
    }

    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// Notes a page's `count`: an error when it dropped under the same bound.
    pub(super) fn counted(&mut self, count: u64) -> Result<(), ApiError> {
        match self.count {
            Some(before) if count < before => Err(ApiError::BadResponse {
                op: Operation::List,
                reason: format!("the listing shrank from {before} to {count} tasks during the scan (a task was deleted): the scan is incomplete and will be repeated"),
            }),
            Some(_) => Ok(()),
            None => {
                self.count = Some(count);
                Ok(())
            }
        }
    }

    /// Notes a task read; whether it is the first time (not an overlap read again).
    pub(super) fn first_read(&mut self, task: &FileTask) -> bool {
        self.read.push(task.created_at);
        self.seen
            .insert(task.uuid.clone(), task.created_at)
            .is_none()
    }

    /// After a page of `got` items: a new `created_after` just below the newest task read, if
    /// that re-reads at most half a page; else the next offset under the same one.
    pub(super) fn advance(&mut self, got: u64) {
        let newest = self.read.last().copied();
        let next = newest.and_then(below);
        let again = next.map_or(usize::MAX, |n| self.read.iter().filter(|t| **t > n).count());
        let moves = next.is_some_and(|n| self.after.is_none_or(|a| n > a));
        if moves && again <= (MAX_PAGE / 2) as usize {
            self.after = next;
            self.offset = 0;
            self.read.clear();
            self.count = None;
            // Only tasks created since the new bound can be shown again.
            if let Some(n) = next {
                self.seen.retain(|_, t| *t >= n);
            }
        } else {
            self.offset = self.offset.saturating_add(got);
        }
    }
}

/// A `created_after` that keeps `t` and anything in its second, whether the server's bound is
/// inclusive or not: the whole second below `t`, less one.
fn below(t: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let second = t.as_second().checked_sub(1)?;
    jiff::Timestamp::from_second(second).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(uuid: &str, at: &str) -> FileTask {
        serde_json::from_value(serde_json::json!({
            "uuid": uuid, "created_at": at, "status": "Pending"
        }))
        .expect("task")
    }

    #[test]
    fn after_a_sparse_page_the_bound_moves_below_the_newest_task_and_the_offset_restarts() {
        let mut cursor = Cursor::new(None);
        for i in 0..100 {
            let at = format!("2026-10-01T12:{:02}:{:02}.500Z", i / 60, i % 60);
            assert!(cursor.first_read(&task(&format!("u{i}"), &at)));
        }
        cursor.advance(100);
        let expected: jiff::Timestamp = "2026-10-01T12:01:38Z".parse().expect("instant");
        assert_eq!(cursor.after(), Some(expected));
        assert_eq!(cursor.offset(), 0);
        // The newest task comes again on the next page: read once only.
        assert!(!cursor.first_read(&task("u99", "2026-10-01T12:01:39.500Z")));
    }

    #[test]
    fn after_a_page_of_one_burst_the_offset_moves_under_the_same_bound() {
        let start: jiff::Timestamp = "2026-10-01T12:00:00Z".parse().expect("instant");
        let mut cursor = Cursor::new(Some(start));
        for i in 0..100 {
            let at = format!("2026-10-01T12:00:05.{i:03}Z");
            cursor.first_read(&task(&format!("u{i}"), &at));
        }
        cursor.advance(100);
        assert_eq!((cursor.after(), cursor.offset()), (Some(start), 100));
    }

    #[test]
    fn a_count_that_drops_under_the_same_bound_makes_the_walk_incomplete() {
        let mut cursor = Cursor::new(None);
        assert!(cursor.counted(250).is_ok());
        assert!(
            cursor.counted(251).is_ok(),
            "new tasks land after the offset"
        );
        assert!(cursor.counted(249).is_err());
    }
}
