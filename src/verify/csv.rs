//! The CSV check, pushed the body a block at a time. A run of plain lines (no quote, no CR)
//! is counted 64 bytes at a time (`csv_lines`); another line with no quote and no stray CR is
//! counted directly (its fields are its commas plus one); a record with quotes (which may hold
//! commas and line breaks) goes through the csv crate's own parser (csv-core) until that record
//! ends. UTF-8 is checked over the raw bytes, carrying a character cut by a block boundary.
//! Memory: one partial line, bounded. Why the fast paths stay: see `csv_lines`.

use std::io::BufRead;

use super::{grouped, Rejection, Shape, Strictness};

/// A line longer than this goes to the exact parser instead of being gathered.
const MAX_LINE: usize = 1 << 20;

/// Reads the whole CSV from `reader`'s buffer, as it fills; the header is record 0, data
/// records count from 1.
pub(super) fn check(mut reader: impl BufRead, level: Strictness) -> Result<Shape, Rejection> {
    let mut checker = Checker::new(level);
    loop {
        let n = match reader.fill_buf() {
            Ok([]) => break,
            Ok(block) => {
                checker.feed(block)?;
                block.len()
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Rejection::malformed(format!(
                    "the CSV could not be read: {e}"
                )))
            }
        };
        reader.consume(n);
    }
    checker.finish()
}

struct Checker {
    level: Strictness,
    header: Option<u64>,
    rows: u64,
    /// The start of a line not ended yet (line mode).
    partial: Vec<u8>,
    /// The exact parser, while it is inside a record, and the fields it ended so far.
    exact: Option<(csv_core::Reader, u64)>,
    /// Bytes of a UTF-8 character cut by the end of the last block.
    utf8_tail: Vec<u8>,
}

impl Checker {
    fn new(level: Strictness) -> Checker {
        Checker {
            level,
            header: None,
            rows: 0,
            partial: Vec::new(),
            exact: None,
            utf8_tail: Vec::new(),
        }
    }

    fn feed(&mut self, block: &[u8]) -> Result<(), Rejection> {
        self.utf8(block)?;
        let mut input = block;
        while !input.is_empty() {
            input = match self.exact.is_some() {
                true => self.exact_step(input)?,
                false => self.line_step(input)?,
            };
        }
        Ok(())
    }

    /// Counts the complete lines at the start of `input`; returns what is left (a record the
    /// exact parser takes from its start, or nothing once a partial line is kept).
    fn line_step<'a>(&mut self, mut input: &'a [u8]) -> Result<&'a [u8], Rejection> {
        if !self.partial.is_empty() {
            let Some(end) = memchr::memchr(b'\n', input) else {
                return self.keep_partial(input);
            };
            self.partial.extend_from_slice(&input[..end]);
            let mut line = std::mem::take(&mut self.partial);
            input = &input[end + 1..];
            if !plain(&line) {
                // The exact parser takes the gathered line, then whatever follows.
                line.push(b'\n');
                self.exact = Some((csv_core::Reader::new(), 0));
                let rest = self.exact_step(&line)?.to_vec();
                self.feed_parsed(&rest)?;
                return Ok(input);
            }
            self.record(fields(&line))?;
        }
        let counted = super::csv_lines::plain_prefix(input, |width| self.record(width))?;
        input = &input[counted..];
        while let Some(end) = memchr::memchr(b'\n', input) {
            if !plain(&input[..end]) {
                return Ok(self.start_exact(input));
            }
            self.record(fields(&input[..end]))?;
            input = &input[end + 1..];
        }
        self.keep_partial(input)
    }

    /// Keeps the start of a line the next block ends, or hands a line too long to gather to
    /// the exact parser.
    fn keep_partial<'a>(&mut self, input: &[u8]) -> Result<&'a [u8], Rejection> {
        if self.partial.len() + input.len() > MAX_LINE {
            let mut pending = std::mem::take(&mut self.partial);
            pending.extend_from_slice(input);
            self.exact = Some((csv_core::Reader::new(), 0));
            self.feed_parsed(&pending)?;
        } else {
            self.partial.extend_from_slice(input);
        }
        Ok(&[])
    }

    /// Feeds bytes already UTF-8-checked.
    fn feed_parsed(&mut self, mut input: &[u8]) -> Result<(), Rejection> {
        while !input.is_empty() {
            input = match self.exact.is_some() {
                true => self.exact_step(input)?,
                false => self.line_step(input)?,
            };
        }
        Ok(())
    }

    fn start_exact<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        self.exact = Some((csv_core::Reader::new(), 0));
        input
    }

    /// Runs the exact parser over `input` until its record ends; returns the rest.
    fn exact_step<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], Rejection> {
        let mut out = [0u8; 4096];
        let mut ends = [0usize; 256];
        let mut at = 0;
        loop {
            let Some((reader, fields)) = self.exact.as_mut() else {
                return Ok(&input[at..]);
            };
            let (result, nin, _, nend) = reader.read_record(&input[at..], &mut out, &mut ends);
            at += nin;
            *fields += nend as u64;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return Ok(&input[at..]),
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::Record => {
                    let width = *fields;
                    self.exact = None;
                    self.record(width)?;
                }
                csv_core::ReadRecordResult::End => {
                    self.exact = None;
                    return Ok(&[]);
                }
            }
        }
    }

    /// One record of `width` fields: the header, or a data record checked against it.
    fn record(&mut self, width: u64) -> Result<(), Rejection> {
        let Some(header) = self.header else {
            self.header = Some(width);
            return Ok(());
        };
        self.rows += 1;
        if self.level == Strictness::Strict && width != header {
            return Err(Rejection::width(format!(
                "record {} has {width} fields, the header has {header}",
                grouped(self.rows)
            )));
        }
        Ok(())
    }

    /// Checks `block` is UTF-8, a character cut at its end completed by the next block.
    fn utf8(&mut self, block: &[u8]) -> Result<(), Rejection> {
        let joined;
        let bytes = if self.utf8_tail.is_empty() {
            block
        } else {
            joined = [std::mem::take(&mut self.utf8_tail).as_slice(), block].concat();
            &joined
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.utf8_tail = bytes[e.valid_up_to()..].to_vec();
                Ok(())
            }
            Err(_) => Err(Rejection::malformed(format!(
                "record {} is not UTF-8 text",
                grouped(self.rows + 1)
            ))),
        }
    }

    fn finish(mut self) -> Result<Shape, Rejection> {
        if !self.utf8_tail.is_empty() {
            return Err(Rejection::malformed(
                "the CSV ends inside a UTF-8 character",
            ));
        }
        let last = std::mem::take(&mut self.partial);
        if !last.is_empty() {
            if plain(&last) {
                self.record(fields(&last))?;
            } else {
                // Every record in it (a bare CR ends one too), each by the exact parser.
                let mut rest = last.as_slice();
                while !rest.is_empty() {
                    if self.exact.is_none() {
                        self.exact = Some((csv_core::Reader::new(), 0));
                    }
                    rest = self.exact_step(rest)?;
                }
            }
        }
        if self.exact.is_some() {
            self.exact_step(&[])?; // no more input: the parser ends the last record
        }
        let columns = self
            .header
            .ok_or_else(|| Rejection::malformed("the CSV has no header row"))?;
        Ok(Shape {
            rows: self.rows,
            columns,
        })
    }
}

/// A line (without its `\n`) the fast path can count: no quote, no CR but a final one, not
/// empty (the csv crate skips empty lines).
fn plain(line: &[u8]) -> bool {
    let body = line.strip_suffix(b"\r").unwrap_or(line);
    !body.is_empty() && memchr::memchr2(b'"', b'\r', body).is_none()
}

fn fields(line: &[u8]) -> u64 {
    line.iter().filter(|b| **b == b',').count() as u64 + 1
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
