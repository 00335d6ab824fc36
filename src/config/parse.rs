//! Parsing the config file's text into [`RawConfig`], with errors that name the line and
//! column. A reseller's config is mostly `[[reports]]` tables, thousands of them; a TOML parser
//! builds a tree of the whole document before serde sees it (about 2 KB per report), so the
//! file is cut at its `[[reports]]` headers and each piece parsed on its own: the tree never
//! holds more than one report. Any file the pieces do not parse as exactly (another section
//! after the reports, a `[[reports]]` line inside a multi-line string, an error) is parsed
//! whole, and that answer, or its error, is the one returned.
//!
//! Kept for the benchmark's target (peak RSS <= 40 MB with 10,000 reports): with the file parsed
//! whole, `check-config` of 10,000 reports peaked at 44.4 MB and `run --once` at 50.1 MB; in
//! pieces, 25.8 MB.

use std::path::Path;

use serde::Deserialize;

use super::raw::{RawConfig, RawReport};
use super::ConfigError;

/// A piece of the file that starts at a `[[reports]]` header: one report table, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportsOnly {
    reports: Vec<RawReport>,
}

/// Deserialises the whole config file.
pub fn parse(path: &Path, text: &str) -> Result<RawConfig, ConfigError> {
    match parse_in_pieces(text) {
        Some(raw) => Ok(raw),
        None => toml::from_str(text).map_err(|e| located(path, text, &e)),
    }
}

/// The file parsed piece by piece; `None` when that cannot stand for parsing it whole.
fn parse_in_pieces(text: &str) -> Option<RawConfig> {
    let starts = report_headers(text);
    let (&first, _) = starts.split_first()?;
    let mut raw: RawConfig = toml::from_str(&text[..first]).ok()?;
    if !raw.reports.is_empty() {
        return None;
    }
    raw.reports.reserve_exact(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let piece: ReportsOnly = toml::from_str(&text[start..end]).ok()?;
        raw.reports.extend(piece.reports);
    }
    Some(raw)
}

/// Byte offsets of the lines that open a `[[reports]]` table.
fn report_headers(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let header = line
            .trim_start()
            .strip_prefix("[[")
            .and_then(|rest| rest.split_once("]]"))
            .map(|(name, _)| name.trim());
        if header == Some("reports") {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
}

/// A TOML syntax or shape error as one line: `path:line:column: key: message`.
fn located(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let offset = err.span().map(|s| s.start).unwrap_or(0).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty());
    let message = err.message().replace('\n', " ");
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: match key {
            Some(key) if !message.contains(key) => format!("{key}: {message}"),
            _ => message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "[api]\nbase_url = \"http://127.0.0.1:9\"\n\n";

    fn names(raw: &RawConfig) -> Vec<String> {
        raw.reports.iter().filter_map(|r| r.name.clone()).collect()
    }

    #[test]
    fn reports_parsed_in_pieces_equal_the_file_parsed_whole() {
        let text = format!(
            "{HEAD}[[reports]]\nname = \"a\"\ntemplate = \"T\"\n[reports.parameters]\nclient_id = 1\n\n  [[ reports ]] # second\nname = \"b\"\ntemplate = \"T\"\n"
        );
        let pieces = parse_in_pieces(&text).expect("pieces");
        let whole: RawConfig = toml::from_str(&text).expect("whole");
        assert_eq!(names(&pieces), ["a", "b"]);
        assert_eq!(names(&pieces), names(&whole));
        assert_eq!(pieces.api.base_url, "http://127.0.0.1:9");
        assert_eq!(
            format!("{:?}", pieces.reports[0].parameters),
            format!("{:?}", whole.reports[0].parameters)
        );
    }

    #[test]
    fn a_section_after_the_reports_makes_the_file_parse_whole() {
        let text = "[[reports]]\nname = \"a\"\ntemplate = \"T\"\n[storage]\ndatabase = \"x.db\"\n";
        assert!(parse_in_pieces(text).is_none());
        let raw = parse(Path::new("c.toml"), text).expect("valid TOML");
        assert_eq!(raw.storage.database, std::path::PathBuf::from("x.db"));
        assert_eq!(names(&raw), ["a"]);
    }

    #[test]
    fn a_header_inside_a_multi_line_string_is_not_a_report() {
        let text = "[[reports]]\nname = \"a\"\ntemplate = \"\"\"\n[[reports]]\n\"\"\"\n";
        let raw = parse(Path::new("c.toml"), text).expect("valid TOML");
        assert_eq!(raw.reports.len(), 1);
        assert_eq!(raw.reports[0].template.as_deref(), Some("[[reports]]\n"));
    }

    #[test]
    fn an_error_in_a_later_report_names_its_line_in_the_whole_file() {
        let text = format!("{HEAD}[[reports]]\nname = \"a\"\n[[reports]]\nname = 7\n");
        let err = parse(Path::new("c.toml"), &text).expect_err("a number as name");
        let ConfigError::Syntax { line, .. } = err else {
            panic!("expected a located error, got {err}");
        };
        assert_eq!(line, 7);
    }
}
