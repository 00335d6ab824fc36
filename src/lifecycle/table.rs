//! The transition table: every row `decide` can answer, in the words the README uses, plus the
//! changes made outside it (said in `OUTSIDE`). Tests check each row against `decide` and the
//! README's table against `render`, so the documentation cannot drift from the code.

/// One row: a task in `from` that sees `seen` (when `when` holds) moves to `to`, with `effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub from: &'static str,
    pub seen: &'static str,
    pub when: &'static str,
    pub to: &'static str,
    pub effect: &'static str,
}

const fn row(
    from: &'static str,
    seen: &'static str,
    when: &'static str,
    to: &'static str,
    effect: &'static str,
) -> Row {
    Row {
        from,
        seen,
        when,
        to,
        effect,
    }
}

/// The rows of `decide`, in the README's order.
#[rustfmt::skip]
pub const ROWS: [Row; 18] = [
    row("creating", "created", "", "polling", "record the remote task"),
    row("creating", "create refused", "", "failed", "end, not maybe sent"),
    row("creating", "create not sent", "", "intent", "due again, not maybe sent"),
    row("creating", "ambiguous evidence", "", "held", "end"),
    row("polling", "running", "", "polling", "poll again later"),
    row("polling", "completed", "", "downloading", "download now"),
    row("polling", "failed or cancelled", "attempts left", "intent", "a new remote task"),
    row("polling", "failed or cancelled", "no attempts left", "failed", "end"),
    row("polling", "not found", "for less than lost_after", "polling", "note the 404, poll again"),
    row("polling", "not found", "for lost_after, resubmit_lost, attempts left", "intent", "a new remote task"),
    row("polling", "not found", "for lost_after, otherwise", "lost", "end"),
    row("downloading", "body rejected", "same sha256 twice, attempts left", "intent", "a new remote task"),
    row("downloading", "body rejected", "same sha256 twice, no attempts left", "failed", "end"),
    row("downloading", "body rejected", "other bytes, past the deadline", "expired", "end"),
    row("downloading", "body rejected", "other bytes, before the deadline", "downloading", "keep the sha256, download again"),
    row("polling, downloading", "deadline passed", "", "expired", "end"),
    row("intent … downloading", "fault", "", "(unchanged)", "look again later"),
    row("intent … downloading", "inconsistent row", "", "failed", "end"),
];

/// The changes made outside `decide`, each by its own store function, because each carries more
/// than the task's row; each is still one transaction, compare-and-set, with its event.
#[rustfmt::skip]
pub const OUTSIDE: [Row; 5] = [
    row("(due)", "a period falls due, is backfilled or submitted, or a refresh offset passes", "its request has no task", "intent", "the row (`insert_intents`)"),
    row("intent, creating", "creates about to be sent", "the lease outlives the create", "creating", "maybe sent, forced to disk (`begin_creates`, in bulk)"),
    row("downloading", "file verified and written", "", "done", "version, deliveries, uploads (`record_delivery`)"),
    row("failed, expired, lost, held", "operator `retry`", "no other task of the period unfinished", "intent, creating or polling", "due now (`retry_task`)"),
    row("done, failed, expired, lost", "operator `forget`", "no create maybe sent with no remote task known", "(deleted)", "the row and its events (`forget_task`)"),
];

/// The README's table: `decide`'s rows, then the changes made outside it.
pub fn render() -> String {
    let mut out = String::from("| from | sees | when | to | writes |\n|---|---|---|---|---|\n");
    for row in ROWS.iter().chain(OUTSIDE.iter()) {
        let when = if row.when.is_empty() { "—" } else { row.when };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.from, row.seen, when, row.to, row.effect
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_shows_the_transition_table_as_the_code_has_it_and_no_more() {
        let readme = include_str!("../../README.md");
        let table = super::render();
        let Some(at) = readme.find(&table) else {
            panic!(
                "README.md's transition table differs from the code's; it should read:\n{table}"
            );
        };
        let after = readme[at + table.len()..]
            .lines()
            .next()
            .unwrap_or_default();
        assert!(
            !after.starts_with('|'),
            "README.md's table has rows the code has not: {after}"
        );
    }
}
