//! Deterministic report files. A report's bytes depend only on its template, its creation
//! parameters (a top-level `type` key, which the API adds, is ignored), the format and the
//! row count: the values come from a SHA-256 of the template and the canonical parameters, so
//! two processes serve the same bytes. Every row of a report has the same width (see
//! [`super::layout`]), so the length is known without generating anything, and a large report
//! (the benchmark asks for ~1 GiB) is streamed in 64 KiB chunks, never held in memory. The
//! xlsx form is a real workbook (see [`super::workbook`]), built in memory. A content revision
//! (a restated period, see [`super::SimOptions::restatements`]) changes the seed, so every
//! value changes; revision 0 is the original. [`super::malformed`] breaks a report on purpose.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::layout::Layout;

/// Reports are generated and sent in chunks of about this many bytes.
const CHUNK: usize = 64 * 1024;

/// A download format: `csv`, `json` or `xlsx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
    Xlsx,
}

impl Format {
    pub(crate) fn parse(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub(crate) fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The exact bytes served for a report (small sizes: this builds them in memory).
/// An unknown `format` is treated as `json`, the API's default.
pub fn report_body(template: &str, parameters: &Value, format: &str, rows: usize) -> Vec<u8> {
    report_body_at(template, parameters, format, rows, 0)
}

/// [`report_body`] at content revision `revision`.
pub fn report_body_at(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
    revision: u32,
) -> Vec<u8> {
    let layout = layout(template, parameters, format, rows, revision);
    if layout.format == Format::Xlsx {
        return super::workbook::build(&layout);
    }
    let mut out = Vec::with_capacity(layout.len() as usize);
    Chunks::new(layout).for_each(|chunk| out.extend_from_slice(&chunk));
    out
}

/// The length of [`report_body`], computed without generating the report (a workbook is
/// built to be measured).
pub fn report_len(template: &str, parameters: &Value, format: &str, rows: usize) -> u64 {
    len_at(template, parameters, format, rows, 0)
}

pub(crate) fn len_at(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
    revision: u32,
) -> u64 {
    let layout = layout(template, parameters, format, rows, revision);
    match layout.format {
        Format::Xlsx => super::workbook::build(&layout).len() as u64,
        _ => layout.len(),
    }
}

/// The bytes of [`report_body`] as a stream of chunks of about 64 KiB, generated lazily.
pub fn report_stream(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    stream_at(template, parameters, format, rows, 0)
}

pub(crate) fn stream_at(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
    revision: u32,
) -> futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>> {
    use futures_util::StreamExt;
    let layout = layout(template, parameters, format, rows, revision);
    if layout.format == Format::Xlsx {
        let book = Bytes::from(super::workbook::build(&layout));
        let pieces: Vec<Bytes> = (0..book.len())
            .step_by(CHUNK)
            .map(|at| book.slice(at..(at + CHUNK).min(book.len())))
            .collect();
        return futures_util::stream::iter(pieces.into_iter().map(Ok)).boxed();
    }
    futures_util::stream::iter(Chunks::new(layout).map(Ok)).boxed()
}

/// The layout of a report; an unknown format is JSON. A top-level `type` key (the one the API
/// adds to a task's parameters) is ignored, so a task's shown parameters give the same bytes.
pub(crate) fn layout(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
    revision: u32,
) -> Layout {
    let format = Format::parse(format).unwrap_or(Format::Json);
    let mut parameters = parameters.clone();
    if let Some(map) = parameters.as_object_mut() {
        map.remove("type");
    }
    let mut seed = seed(template, &parameters);
    if revision > 0 {
        seed ^= u64::from(revision).wrapping_mul(0xA24B_AED4_963E_E407);
    }
    Layout::new(template, &parameters, format, rows, seed)
}

/// The report as an iterator of chunks: the head, rows, then the tail.
struct Chunks {
    layout: Layout,
    next_row: u64,
    started: bool,
    done: bool,
}

impl Chunks {
    fn new(layout: Layout) -> Chunks {
        Chunks {
            layout,
            next_row: 0,
            started: false,
            done: false,
        }
    }
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let l = &self.layout;
        let mut buf = Vec::with_capacity(CHUNK + l.row_len() + l.head.len() + l.tail.len());
        if !self.started {
            buf.extend_from_slice(&l.head);
            self.started = true;
        }
        while buf.len() < CHUNK && self.next_row < l.rows {
            if self.next_row > 0 {
                buf.extend_from_slice(l.sep);
            }
            l.push_row(self.next_row, &mut buf);
            self.next_row += 1;
        }
        if self.next_row == l.rows {
            buf.extend_from_slice(l.tail);
            self.done = true;
        }
        Some(Bytes::from(buf))
    }
}

/// The first 8 bytes of SHA-256 over the template and the canonical parameters.
fn seed(template: &str, parameters: &Value) -> u64 {
    let digest = Sha256::digest(format!("{template}\n{}", canonical(parameters)).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// JSON text with object keys sorted at every level, whatever order they were given in.
pub(crate) fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}
