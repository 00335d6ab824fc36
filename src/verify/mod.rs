//! Checking that a downloaded report is the format asked for, before it is delivered: CSV is
//! UTF-8 (an optional BOM) with a header row and, strictly, every record as wide as the header;
//! JSON is the documented `{"headers": [...], "rows": [[...], ...]}` with, strictly, every row
//! as long as the headers; XLSX is a workbook that opens with at least one sheet. Every check
//! streams (a report is never held in memory) and yields the report's [`Shape`]: its data rows
//! and columns. The module knows only the formats; the engine decides what a rejection means.

mod csv;
mod csv_lines;
mod json;
mod xlsx;

use std::fmt;
use std::io::{BufRead, Read, Seek};
use std::str::FromStr;

use crate::format::ReportFormat;

/// How strictly a report is checked (a report's `verify` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strictness {
    /// Parses, and every row is as wide as the header.
    #[default]
    Strict,
    /// Parses; rows may have any width.
    WellFormed,
    /// Not checked at all (no rows or columns are recorded).
    Off,
}

impl Strictness {
    pub fn as_str(self) -> &'static str {
        match self {
            Strictness::Strict => "strict",
            Strictness::WellFormed => "well-formed",
            Strictness::Off => "off",
        }
    }
}

impl fmt::Display for Strictness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strictness {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Strictness::Strict),
            "well-formed" => Ok(Strictness::WellFormed),
            "off" => Ok(Strictness::Off),
            other => Err(format!(
                "{other:?} is not a verification level: expected \"strict\", \"well-formed\" or \"off\""
            )),
        }
    }
}

/// What a verified report holds: data rows (the header not counted) and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub rows: u64,
    pub columns: u64,
}

/// Why a report was rejected, in words an operator can check against the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct Rejection {
    pub problem: String,
    /// The problem is only a width mismatch: `verify = "well-formed"` would accept the file.
    pub width_only: bool,
}

impl Rejection {
    pub(crate) fn malformed(problem: impl Into<String>) -> Rejection {
        Rejection {
            problem: problem.into(),
            width_only: false,
        }
    }

    fn width(problem: impl Into<String>) -> Rejection {
        Rejection {
            problem: problem.into(),
            width_only: true,
        }
    }
}

/// Checks a CSV or JSON report read from `reader` (an XLSX needs [`check_seekable`]).
/// `Ok(None)` when the level is `off` or the format is XLSX. The CSV check reads the reader's
/// own buffer (no copy); the JSON parser, which reads a byte at a time, gets a buffer of its own.
pub fn check_stream(
    format: ReportFormat,
    level: Strictness,
    reader: impl BufRead,
) -> Result<Option<Shape>, Rejection> {
    match (level, format) {
        (Strictness::Off, _) | (_, ReportFormat::Xlsx) => Ok(None),
        (_, ReportFormat::Csv) => csv::check(reader, level).map(Some),
        (_, ReportFormat::Json) => {
            json::check(std::io::BufReader::with_capacity(BUFFER, reader), level).map(Some)
        }
    }
}

/// The read buffer of a check that needs one of its own.
const BUFFER: usize = 64 * 1024;

/// Checks a report of any format that can be re-read from the start (a file, a buffer).
pub fn check_seekable(
    format: ReportFormat,
    level: Strictness,
    reader: impl Read + Seek,
) -> Result<Option<Shape>, Rejection> {
    match (level, format) {
        (Strictness::Off, _) => Ok(None),
        (_, ReportFormat::Xlsx) => xlsx::check(reader).map(Some),
        _ => check_stream(
            format,
            level,
            std::io::BufReader::with_capacity(BUFFER, reader),
        ),
    }
}

/// `1204` as `1,204`: row numbers as an operator reads them.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(1204), "1,204");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn verification_levels_parse_from_their_names() {
        for level in [Strictness::Strict, Strictness::WellFormed, Strictness::Off] {
            assert_eq!(level.as_str().parse::<Strictness>(), Ok(level));
        }
        assert!("lenient".parse::<Strictness>().is_err());
    }
}
